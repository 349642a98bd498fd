"""Every snippet of the user's quick reference, run as written against monitoring_cog.

``utils.monitoring`` and ``utils.database`` read as ``monitoring_cog``. There is no Discord here,
so a small fake ``ctx`` (``ctx.guild.id``, ``ctx.guild.name``, ``ctx.author``) stands in for a
command context. After each snippet the returned dicts are checked against the quick reference's
"Available Data Fields": every listed key present, with the documented type.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from backends import Backend
from data_fields import (
    BOTTLENECK_SEVERITIES,
    COMMAND_LOG_ENTRY,
    COMPONENT_STATUSES,
    CPU,
    DATABASE,
    ERROR_RATE,
    MEMORY,
    PERFORMANCE_STATS,
    REPORT,
    SLOW_COMMAND,
    assert_health_report,
    assert_shape,
)
from fakes import NOW, FakeProcess

from monitoring_cog import (
    CommandLogger,
    Database,
    HealthCheck,
    ManualClock,
    MonitoringSystem,
    PerformanceMonitor,
    StatisticsCollector,
    clear_old_audit_logs,
    create_monitoring_system,
    get_current_system,
    get_health_report,
    get_performance_stats,
    get_statistics_report,
    log_command_execution,
)
from monitoring_cog.config import CONFIG_ENV_VAR

GUILD_ID = 123456789012345678
AUTHOR_ID = 987654321098765432
DAY = 86_400.0

QUICK_REFERENCE_THRESHOLDS = {
    "command_slow": 2.0,
    "voice_connect_slow": 5.0,
    "response_slow": 1.0,
}


class FakeAuthor:
    """``ctx.author``: an id, and ``str()`` giving the user name as discord.py does."""

    def __init__(self, user_id: int, name: str) -> None:
        self.id = user_id
        self.name = name

    def __str__(self) -> str:
        return self.name


def make_ctx(user_id: int = AUTHOR_ID, name: str = "tester") -> Any:
    """A command context with just what the quick reference reads."""
    return SimpleNamespace(
        guild=SimpleNamespace(id=GUILD_ID, name="Test Guild"), author=FakeAuthor(user_id, name)
    )


@pytest.fixture
def ctx() -> Any:
    return make_ctx()


# The quick start's four names, from the ``system`` fixture (a real database of each backend,
# manual clock).


@pytest.fixture
def cmd_logger(system: MonitoringSystem) -> CommandLogger:
    return system.cmd_logger


@pytest.fixture
def perf_monitor(system: MonitoringSystem) -> PerformanceMonitor:
    return system.perf_monitor


@pytest.fixture
def stats_collector(system: MonitoringSystem) -> StatisticsCollector:
    return system.stats_collector


@pytest.fixture
def health_check(system: MonitoringSystem) -> HealthCheck:
    return system.health_check


async def log_as(
    cmd_logger: CommandLogger, command: str, user_id: int, success: bool = True
) -> None:
    """Log one command for the test guild by another user (for multi-user reports)."""
    ctx = make_ctx(user_id, f"user{user_id}")
    assert await cmd_logger.log_command(
        guild_id=str(ctx.guild.id),
        guild_name=ctx.guild.name,
        user_id=str(ctx.author.id),
        username=str(ctx.author),
        command=command,
        parameters={},
        duration=0.1,
        success=success,
        error_message=None if success else "failed",
    )


# Quick start


async def test_quick_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)

    db = Database("data/bot.db")
    cmd_logger, perf_monitor, stats_collector, health_check = create_monitoring_system(db)

    try:
        assert isinstance(cmd_logger, CommandLogger)
        assert isinstance(perf_monitor, PerformanceMonitor)
        assert isinstance(stats_collector, StatisticsCollector)
        assert isinstance(health_check, HealthCheck)
        assert {c.db for c in (cmd_logger, perf_monitor, stats_collector, health_check)} == {db}
        assert get_current_system() == (cmd_logger, perf_monitor, stats_collector, health_check)
        await db.connect()
        assert (tmp_path / "data" / "bot.db").is_file()
    finally:
        await db.close()


# 1. Log a command


async def test_log_a_command(cmd_logger: CommandLogger, ctx: Any) -> None:
    song_name = "Never Gonna Give You Up"

    logged = await cmd_logger.log_command(
        guild_id=str(ctx.guild.id),
        guild_name=ctx.guild.name,
        user_id=str(ctx.author.id),
        username=str(ctx.author),
        command="play",
        parameters={"song": song_name},
        duration=0.456,
        success=True,
    )

    assert logged is True
    [entry] = await cmd_logger.get_recent_commands(str(ctx.guild.id))
    # A successful command has no error message: None rather than a str.
    assert_shape(entry, COMMAND_LOG_ENTRY, nullable=("error_message",))
    assert {key: entry[key] for key in COMMAND_LOG_ENTRY if key != "id"} == {
        "guild_id": str(GUILD_ID),
        "guild_name": "Test Guild",
        "user_id": str(AUTHOR_ID),
        "username": "tester",
        "command": "play",
        "parameters": {"song": song_name},
        "duration": 0.456,
        "success": True,
        "error_message": None,
        "executed_at": NOW - timedelta(seconds=0.456),
    }


# 2. Track performance


async def test_track_performance(
    perf_monitor: PerformanceMonitor, ctx: Any, clock: ManualClock
) -> None:
    async def your_command_logic() -> None:
        clock.advance(0.25)

    async with perf_monitor.track_command("play", str(ctx.guild.id), str(ctx.author.id)):
        await your_command_logic()

    metric = perf_monitor.get_metrics()["command:play"]
    assert (metric["count"], metric["avg_duration"], metric["slow"]) == (1, 0.25, 0)
    assert perf_monitor.get_bottlenecks() == []


async def test_track_performance_lets_the_error_through_and_counts_it(
    perf_monitor: PerformanceMonitor, ctx: Any
) -> None:
    with pytest.raises(LookupError, match="no such song"):
        async with perf_monitor.track_command("play", str(ctx.guild.id), str(ctx.author.id)):
            raise LookupError("no such song")

    assert perf_monitor.get_metrics()["command:play"]["failures"] == 1


async def test_slow_command_is_a_high_severity_bottleneck(
    perf_monitor: PerformanceMonitor,
    ctx: Any,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with perf_monitor.track_command("play", str(ctx.guild.id), str(ctx.author.id)):
        clock.advance(3.0)

    [bottleneck] = perf_monitor.get_bottlenecks()
    assert bottleneck["metric"] == "command:play"
    assert bottleneck["severity"] == "high"
    assert bottleneck["severity"] in BOTTLENECK_SEVERITIES
    assert any("slow command play" in r.getMessage() for r in caplog.records)


# 3. Record statistics


async def test_record_statistics(stats_collector: StatisticsCollector, ctx: Any) -> None:
    # Record song played
    played = await stats_collector.record_song_played(
        str(ctx.guild.id), duration=180, user_id=str(ctx.author.id)
    )
    # Record skip
    skipped = await stats_collector.record_skip(str(ctx.guild.id))
    # Record pause
    paused = await stats_collector.record_pause(str(ctx.guild.id))
    # Record command
    commanded = await stats_collector.record_command(str(ctx.guild.id), str(ctx.author.id))

    assert [played, skipped, paused, commanded] == [True, True, True, True]
    assert await stats_collector.get_daily_stats(str(ctx.guild.id)) == {
        "date": "2026-03-15",
        "songs_played": 1,
        "total_playtime": 180,
        "skips": 1,
        "pauses": 1,
        "commands": 1,
        "failed_commands": 0,
        "unique_users": 1,
    }


# 4. Get reports


async def record_two_days(system: MonitoringSystem, clock: ManualClock) -> None:
    """Yesterday: 2 songs by 2 users, a skip. Today: a song, a pause, 4 commands by 3 users."""
    cmd_logger, stats_collector = system.cmd_logger, system.stats_collector
    guild = str(GUILD_ID)
    await stats_collector.record_song_played(guild, duration=180, user_id="1")
    await stats_collector.record_song_played(guild, duration=240, user_id="2")
    await stats_collector.record_skip(guild)
    clock.advance(DAY)
    await stats_collector.record_song_played(guild, duration=300, user_id="1")
    await stats_collector.record_pause(guild)
    await stats_collector.record_command(guild, "1")
    await log_as(cmd_logger, "play", 3)
    await log_as(cmd_logger, "play", 1)
    await log_as(cmd_logger, "queue", 4, success=False)


def expected_report(period: str, days: int) -> dict[str, Any]:
    """The quick reference's report fields for :func:`record_two_days`."""
    return {
        "period": period,
        "days": days,
        "active_days": 2,
        "total_songs": 3,
        "total_playtime": 720,
        "total_playtime_hours": 0.2,
        "total_skips": 1,
        "total_pauses": 1,
        "total_commands": 4,
        "avg_daily_users": 2.5,
        "peak_users": 3,
        "avg_song_duration": 240.0,
        "skip_rate": 1 / 3,
        "top_commands": [{"command": "play", "count": 2}, {"command": "queue", "count": 1}],
    }


async def test_get_reports(
    system: MonitoringSystem, stats_collector: StatisticsCollector, ctx: Any, clock: ManualClock
) -> None:
    await record_two_days(system, clock)

    # Weekly report
    weekly = await stats_collector.generate_weekly_report(str(ctx.guild.id))
    # Monthly report
    monthly = await stats_collector.generate_monthly_report(str(ctx.guild.id))
    # Daily stats
    daily = await stats_collector.get_daily_stats(str(ctx.guild.id))

    for report, period, days in ((weekly, "weekly", 7), (monthly, "monthly", 30)):
        assert_shape(report, REPORT)
        assert {key: report[key] for key in REPORT} == expected_report(period, days)
    assert daily == {
        "date": "2026-03-16",
        "songs_played": 1,
        "total_playtime": 300,
        "skips": 0,
        "pauses": 1,
        "commands": 4,
        "failed_commands": 1,
        "unique_users": 3,
    }


# 5. Health check


async def test_full_health_report(
    cmd_logger: CommandLogger,
    health_check: HealthCheck,
    ctx: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await log_as(cmd_logger, "play", 1)
    await log_as(cmd_logger, "skip", 2, success=False)

    # Full health report
    health = await health_check.get_full_health_report(str(ctx.guild.id))
    print(f"Status: {health['overall_status']}")

    assert capsys.readouterr().out == "Status: healthy\n"
    assert_health_report(health)
    assert health["error_rate"]["total_commands"] == 2
    assert health["error_rate"]["failed_commands"] == 1
    assert health["database"]["server_count"] == 1


async def test_individual_health_checks(
    cmd_logger: CommandLogger, health_check: HealthCheck, ctx: Any
) -> None:
    for user in (1, 2):
        await log_as(cmd_logger, "play", user)
    await log_as(cmd_logger, "play", 3, success=False)

    # Individual checks
    memory = await health_check.check_memory()
    database = await health_check.check_database()
    cpu = await health_check.check_cpu()
    errors = await health_check.check_error_rate(str(ctx.guild.id))

    for result, shape in ((memory, MEMORY), (database, DATABASE), (cpu, CPU), (errors, ERROR_RATE)):
        assert_shape(result, shape)
        assert result["status"] in COMPONENT_STATUSES
    assert memory == {"rss_mb": 100.0, "vms_mb": 400.0, "percent": 1.0, "status": "healthy"}
    assert cpu == {
        "percent": 5.0,
        "window_seconds": 0.0,  # The manual clock has not moved since start-up.
        "user_time": 1.5,
        "system_time": 0.5,
        "status": "healthy",
    }
    assert (database["connected"], database["server_count"], database["status"]) == (
        True,
        1,
        "healthy",
    )
    assert database["database_size_mb"] > 0
    assert {key: errors[key] for key in ERROR_RATE} == {
        "total_commands": 3,
        "failed_commands": 1,
        "error_rate": 0.3333,
        "status": "healthy",  # below health.error_rate_min_commands
    }


@pytest.mark.parametrize(
    ("rss_mb", "memory_status", "overall"),
    [
        (100.0, "healthy", "healthy"),
        (600.0, "warning", "degraded"),
        (2048.0, "critical", "unhealthy"),
    ],
)
async def test_overall_status_follows_the_worst_component(
    system: MonitoringSystem, process: FakeProcess, rss_mb: float, memory_status: str, overall: str
) -> None:
    process.rss_mb = rss_mb

    health = await system.health_check.get_full_health_report()

    assert (health["memory"]["status"], health["overall_status"]) == (memory_status, overall)


async def test_unreachable_database_makes_the_report_unhealthy(system: MonitoringSystem) -> None:
    await system.db.close()

    health = await system.health_check.get_full_health_report()

    assert health["database"]["status"] == "error"
    assert health["database"]["connected"] is False
    assert health["overall_status"] == "unhealthy"


# Helper functions (no class initialisation)


async def test_helper_functions(system: MonitoringSystem, ctx: Any) -> None:
    # Quick command logging
    logged = await log_command_execution(
        guild_id=str(ctx.guild.id),
        guild_name=ctx.guild.name,
        user_id=str(ctx.author.id),
        username=str(ctx.author),
        command="volume",
        duration=0.234,
        success=True,
        details={"volume": 75},
    )

    # Quick stats
    stats = await get_performance_stats(str(ctx.guild.id), days=7)

    # Quick health check
    health = await get_health_report(str(ctx.guild.id))

    # Quick reports
    weekly = await get_statistics_report(str(ctx.guild.id), period="weekly")
    monthly = await get_statistics_report(str(ctx.guild.id), period="monthly")

    assert logged is True
    [entry] = await system.cmd_logger.get_recent_commands(str(ctx.guild.id))
    assert (entry["command"], entry["parameters"], entry["duration"]) == (
        "volume",
        {"volume": 75},
        0.234,
    )
    assert_shape(stats, PERFORMANCE_STATS)
    [volume] = stats["slowest_commands"]
    assert_shape(volume, SLOW_COMMAND)
    assert {key: volume[key] for key in SLOW_COMMAND} == {
        "command": "volume",
        "avg_duration": 0.234,
        "min_duration": 0.234,
        "max_duration": 0.234,
        "count": 1,
    }
    assert_health_report(health)
    assert health["error_rate"]["total_commands"] == 1
    for report, period, days in ((weekly, "weekly", 7), (monthly, "monthly", 30)):
        assert_shape(report, REPORT)
        assert (report["period"], report["days"], report["total_commands"]) == (period, days, 1)
        assert report["top_commands"] == [{"command": "volume", "count": 1}]


# Integration pattern


class MusicCog:
    """The quick reference's ``play`` command, as a method of a plain class (no Discord here)."""

    def __init__(self, system: MonitoringSystem, failure: Exception | None = None) -> None:
        self.cmd_logger, self.perf_monitor, self.stats_collector, _ = system
        self.failure = failure

    async def play_song(self, ctx: Any, song: str) -> dict[str, Any]:
        if self.failure is not None:
            raise self.failure
        return {"duration": 200}

    async def play(self, ctx: Any, song: str) -> None:
        start_time = time.perf_counter()
        success = True
        error_msg = None

        try:
            async with self.perf_monitor.track_command(
                "play", str(ctx.guild.id), str(ctx.author.id)
            ):
                # Your command logic
                result = await self.play_song(ctx, song)

                # Record stats
                await self.stats_collector.record_song_played(
                    str(ctx.guild.id), result["duration"], str(ctx.author.id)
                )
        except Exception as e:
            success = False
            error_msg = str(e)
            raise
        finally:
            # Always log
            await self.cmd_logger.log_command(
                guild_id=str(ctx.guild.id),
                guild_name=ctx.guild.name,
                user_id=str(ctx.author.id),
                username=str(ctx.author),
                command="play",
                parameters={"song": song},
                duration=time.perf_counter() - start_time,
                success=success,
                error_message=error_msg,
            )


async def test_integration_pattern_success(system: MonitoringSystem, ctx: Any) -> None:
    await MusicCog(system).play(ctx, "Bohemian Rhapsody")

    [entry] = await system.cmd_logger.get_recent_commands(str(GUILD_ID))
    assert_shape(entry, COMMAND_LOG_ENTRY, nullable=("error_message",))
    assert (entry["command"], entry["parameters"], entry["success"], entry["error_message"]) == (
        "play",
        {"song": "Bohemian Rhapsody"},
        True,
        None,
    )
    assert entry["duration"] > 0
    daily = await system.stats_collector.get_daily_stats(str(GUILD_ID))
    assert (daily["songs_played"], daily["total_playtime"]) == (1, 200)


async def test_integration_pattern_failure(system: MonitoringSystem, ctx: Any) -> None:
    cog = MusicCog(system, failure=RuntimeError("not connected to a voice channel"))

    with pytest.raises(RuntimeError, match="not connected to a voice channel"):
        await cog.play(ctx, "Bohemian Rhapsody")

    [entry] = await system.cmd_logger.get_recent_commands(str(GUILD_ID))
    assert_shape(entry, COMMAND_LOG_ENTRY)
    assert (entry["success"], entry["error_message"]) == (False, "not connected to a voice channel")
    assert entry["duration"] > 0
    assert system.perf_monitor.get_metrics()["command:play"]["failures"] == 1
    daily = await system.stats_collector.get_daily_stats(str(GUILD_ID))
    assert (daily["songs_played"], daily["commands"], daily["failed_commands"]) == (0, 1, 1)


# Performance thresholds, memory management, tables


def test_default_thresholds_match_the_quick_reference(perf_monitor: PerformanceMonitor) -> None:
    assert perf_monitor.thresholds == QUICK_REFERENCE_THRESHOLDS


async def test_health_history_keeps_the_last_100_reports(
    health_check: HealthCheck, clock: ManualClock
) -> None:
    timestamps = []
    for _ in range(105):
        timestamps.append((await health_check.get_full_health_report())["timestamp"])
        clock.advance(1)

    history = health_check.get_health_history()

    assert len(health_check.history) == 100
    assert [report["timestamp"] for report in history] == timestamps[5:]


def test_metrics_keep_at_most_1000_entries_per_type(perf_monitor: PerformanceMonitor) -> None:
    for i in range(1005):
        perf_monitor.record_metric("command", "play", i / 1000)

    assert len(perf_monitor.metrics["command:play"]) == 1000
    assert perf_monitor.metrics["command:play"][0] == 0.005
    assert perf_monitor.cache_metrics()["entries"] == {"command:play": 1000}


async def test_clear_old_audit_logs_deletes_only_rows_older_than_30_days(
    cmd_logger: CommandLogger,
    perf_monitor: PerformanceMonitor,
    stats_collector: StatisticsCollector,
    clock: ManualClock,
) -> None:
    await log_as(cmd_logger, "play", 1)
    await log_as(cmd_logger, "skip", 2, success=False)
    clock.advance(6 * DAY)
    await log_as(cmd_logger, "queue", 3)
    clock.advance(29 * DAY)  # the first two are 35 days old, the last 29
    report_before = await stats_collector.generate_report(str(GUILD_ID), 60, "custom")
    stats_before = await perf_monitor.get_performance_stats(str(GUILD_ID), days=60)

    deleted = await clear_old_audit_logs(days=30)

    assert deleted == 2
    assert [e["command"] for e in await cmd_logger.get_recent_commands(str(GUILD_ID))] == ["queue"]
    report_after = await stats_collector.generate_report(str(GUILD_ID), 60, "custom")
    stats_after = await perf_monitor.get_performance_stats(str(GUILD_ID), days=60)
    assert report_after == report_before
    assert report_after["total_commands"] == 3
    assert stats_after["slowest_commands"] == stats_before["slowest_commands"]
    assert {c["command"] for c in stats_after["slowest_commands"]} == {"play", "skip", "queue"}


async def test_data_lands_in_the_tables_the_quick_reference_names(
    system: MonitoringSystem, backend: Backend
) -> None:
    await log_as(system.cmd_logger, "play", 1)
    await system.stats_collector.record_skip(str(GUILD_ID))
    await system.db.flush()

    audit = backend.rows("SELECT guild_id, command FROM audit_logs")
    stats = backend.rows("SELECT guild_id, commands, skips FROM bot_stats")
    servers = backend.rows("SELECT guild_id, guild_name FROM servers")

    assert audit == [(str(GUILD_ID), "play")]
    assert stats == [(str(GUILD_ID), 1, 1)]
    assert servers == [(str(GUILD_ID), "Test Guild")]


async def test_methods_return_their_defaults_instead_of_raising(
    system: MonitoringSystem,
    cmd_logger: CommandLogger,
    perf_monitor: PerformanceMonitor,
    stats_collector: StatisticsCollector,
) -> None:
    await system.db.close()

    assert await cmd_logger.get_recent_commands() == []
    assert await stats_collector.generate_weekly_report(str(GUILD_ID)) == {}
    assert await perf_monitor.get_performance_stats(str(GUILD_ID)) == {}
    assert await stats_collector.record_skip(str(GUILD_ID)) is False
    assert await cmd_logger.log_command("1", "g", "2", "u", "play") is False
