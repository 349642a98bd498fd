"""Tests for ``HealthCheck``: the Health Report shape, each component check and the overall rule.

Process readings come from :class:`FakeProcess` and time from a :class:`ManualClock`; the
database is real: each test that uses it runs on SQLite (a file under ``tmp_path``) and on
PostgreSQL (see ``backends.py``). Configuration is injected by parametrizing the ``config``
fixture (see :func:`configured`), which ``db`` and ``system`` use.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from backends import Backend
from data_fields import COMPONENT_STATUSES, assert_health_report
from fakes import NOW, FakeProcess

from monitoring_cog import (
    CommandLogger,
    Database,
    HealthCheck,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
)
from monitoring_cog.collectors.health import overall_status
from monitoring_cog.config import HealthConfig, RecordingConfig

REPORT_KEYS = {
    "timestamp",
    "overall_status",
    "memory",
    "database",
    "cpu",
    "error_rate",
    "recording",
    "internal_errors",
    "uptime_seconds",
}
RECORDING_KEYS = {
    "pending",
    "max_queue",
    "written",
    "dropped",
    "write_errors",
    "failing",
    "last_error",
    "last_flush_at",
    "dropped_since_last_check",
    "status",
}
INTERNAL_ERROR_KEYS = {"count", "by_operation", "last_error", "rejected_inputs"}


def configured(
    *, health: HealthConfig | None = None, recording: RecordingConfig | None = None
) -> pytest.MarkDecorator:
    """Run a test with this config in the ``config`` fixture (and so in ``db`` and ``system``)."""
    config = MonitoringConfig(
        health=health or HealthConfig(), recording=recording or RecordingConfig()
    )
    return pytest.mark.parametrize("config", [config], ids=["config"])


def health_of(system: MonitoringSystem) -> HealthCheck:
    return system.health_check


async def log(
    logger: CommandLogger,
    count: int,
    *,
    failed: int = 0,
    guild_id: str = "111",
    command: str = "play",
) -> None:
    """Log ``count`` commands in ``guild_id``, the first ``failed`` of them failures."""
    for i in range(count):
        ok = await logger.log_command(
            guild_id=guild_id,
            guild_name=f"guild {guild_id}",
            user_id="42",
            username="tester",
            command=command,
            duration=0.0,
            success=i >= failed,
            error_message=None if i >= failed else "boom",
        )
        assert ok is True


# --- report shape -------------------------------------------------------------------------------


async def test_full_report_has_every_quick_reference_key(system: MonitoringSystem) -> None:
    report = await health_of(system).get_full_health_report()

    assert set(report) == REPORT_KEYS
    assert report["timestamp"] == NOW.isoformat()
    assert report["overall_status"] == "healthy"
    assert_health_report(report)  # Types and statuses of memory, database, cpu and error_rate.
    assert report["recording"]["status"] in COMPONENT_STATUSES


async def test_full_report_recording_and_internal_errors_sections(
    system: MonitoringSystem,
) -> None:
    report = await health_of(system).get_full_health_report()

    assert set(report["recording"]) == RECORDING_KEYS
    assert report["recording"]["status"] == "healthy"
    assert report["internal_errors"] == {
        "count": 0,
        "by_operation": {},
        "last_error": None,
        "rejected_inputs": 0,
    }
    assert set(report["internal_errors"]) == INTERNAL_ERROR_KEYS


async def test_timestamp_is_iso_utc_of_the_injected_clock(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    clock.advance(3723.0)
    report = await health_of(system).get_full_health_report()

    assert report["timestamp"] == (NOW + timedelta(seconds=3723)).isoformat()
    assert report["timestamp"] == "2026-03-15T13:02:03+00:00"


# --- memory -------------------------------------------------------------------------------------

MEMORY_LIMITS = HealthConfig(memory_warning_mb=200.0, memory_critical_mb=400.0)


@configured(health=MEMORY_LIMITS)
@pytest.mark.parametrize(
    ("rss_mb", "expected"),
    [
        (0.0, "healthy"),
        (199.99, "healthy"),
        (200.0, "warning"),
        (200.01, "warning"),
        (399.99, "warning"),
        (400.0, "critical"),
        (400.01, "critical"),
        (4096.0, "critical"),
    ],
)
async def test_memory_status_by_configured_thresholds(
    system: MonitoringSystem, process: FakeProcess, rss_mb: float, expected: str
) -> None:
    process.rss_mb = rss_mb
    memory = await health_of(system).check_memory()

    assert memory["status"] == expected
    assert memory["rss_mb"] == rss_mb


async def test_memory_figures_converted_to_mb(
    system: MonitoringSystem, process: FakeProcess
) -> None:
    process.rss_mb = 256.5
    process.vms_mb = 1024.25
    process.memory_percent_value = 3.14159

    memory = await health_of(system).check_memory()

    assert memory == {"rss_mb": 256.5, "vms_mb": 1024.25, "percent": 3.14, "status": "healthy"}


async def test_memory_default_thresholds_are_512_and_1024_mb(
    system: MonitoringSystem, process: FakeProcess
) -> None:
    statuses = []
    for rss in (511.0, 512.0, 1023.0, 1024.0):
        process.rss_mb = rss
        statuses.append((await health_of(system).check_memory())["status"])

    assert statuses == ["healthy", "warning", "warning", "critical"]


# --- CPU ----------------------------------------------------------------------------------------

CPU_HEALTH = {"cpu_warning_percent": 50.0, "cpu_critical_percent": 80.0}
CPU_LIMITS = HealthConfig(**CPU_HEALTH)
CPU_WINDOW = HealthConfig().cpu_window
"""A CPU reading is judged once it covers this many seconds (60 by default)."""


@configured(health=CPU_LIMITS)
@pytest.mark.parametrize(
    ("percent", "expected"),
    [
        (0.0, "healthy"),
        (49.99, "healthy"),
        (50.0, "warning"),
        (79.99, "warning"),
        (80.0, "critical"),
        (250.0, "critical"),  # several cores: more than 100 %
    ],
)
async def test_cpu_status_by_configured_thresholds(
    system: MonitoringSystem,
    process: FakeProcess,
    clock: ManualClock,
    percent: float,
    expected: str,
) -> None:
    process.cpu_percent_value = percent
    clock.advance(CPU_WINDOW)
    cpu = await health_of(system).check_cpu()

    assert cpu == {
        "percent": percent,
        "window_seconds": CPU_WINDOW,
        "user_time": 1.5,
        "system_time": 0.5,
        "status": expected,
    }


async def test_cpu_sampler_is_primed_at_construction(
    system: MonitoringSystem, process: FakeProcess
) -> None:
    assert process.cpu_percent_calls == 1

    process.cpu_percent_value = 33.3
    cpu = await health_of(system).check_cpu()

    assert process.cpu_percent_calls == 2
    assert cpu["percent"] == 33.3


async def test_cpu_default_thresholds_are_70_and_90_percent(
    system: MonitoringSystem, process: FakeProcess, clock: ManualClock
) -> None:
    statuses = []
    for percent in (69.9, 70.0, 89.9, 90.0):
        process.cpu_percent_value = percent
        clock.advance(CPU_WINDOW)
        statuses.append((await health_of(system).check_cpu())["status"])

    assert statuses == ["healthy", "warning", "warning", "critical"]


async def test_cpu_right_after_start_up_is_shown_but_not_judged(
    system: MonitoringSystem, process: FakeProcess, clock: ManualClock
) -> None:
    process.cpu_percent_value = 100.0  # The start-up: connecting, migrating, registering.
    clock.advance(0.125)

    report = await health_of(system).get_full_health_report()

    assert {k: report["cpu"][k] for k in ("percent", "window_seconds", "status")} == {
        "percent": 100.0,
        "window_seconds": 0.125,
        "status": "healthy",
    }
    assert report["overall_status"] == "healthy"


async def test_cpu_start_up_leaves_the_window_as_samples_come_in(
    system: MonitoringSystem, process: FakeProcess, clock: ManualClock
) -> None:
    health = health_of(system)
    process.cpu_percent_value = 100.0
    clock.advance(2.0)  # Two busy seconds of start-up...
    assert (await health.check_cpu())["status"] == "healthy"
    process.cpu_percent_value = 5.0
    for _ in range(6):  # ...then a quiet bot, sampled every 10 s as the cog does.
        clock.advance(10.0)
        health.cpu.sample()

    cpu = await health.check_cpu()

    assert (cpu["percent"], cpu["window_seconds"], cpu["status"]) == (5.0, CPU_WINDOW, "healthy")


@configured(health=HealthConfig(cpu_window=40.0, **CPU_HEALTH))
async def test_cpu_is_the_average_over_the_window_weighted_by_time(
    system: MonitoringSystem, process: FakeProcess, clock: ManualClock
) -> None:
    health = health_of(system)
    for percent, seconds in ((100.0, 10.0), (0.0, 10.0), (100.0, 10.0), (20.0, 10.0)):
        process.cpu_percent_value = percent
        clock.advance(seconds)
        health.cpu.sample()
    process.cpu_percent_value = 80.0
    clock.advance(10.0)

    # The last 40 s: 0 % for 10 s, 100 % for 10, 20 % for 10, then 80 % for 10.
    cpu = await health.check_cpu()

    assert (cpu["percent"], cpu["window_seconds"], cpu["status"]) == (50.0, 40.0, "warning")


async def test_cpu_between_rare_checks_covers_the_time_since_the_previous_check(
    system: MonitoringSystem, process: FakeProcess, clock: ManualClock
) -> None:
    # Without samples between checks (a library user's checks, no cog), the spans are theirs.
    health = health_of(system)
    process.cpu_percent_value = 95.0
    clock.advance(300.0)
    first = await health.check_cpu()
    process.cpu_percent_value = 10.0
    clock.advance(300.0)
    second = await health.check_cpu()

    assert (first["percent"], first["window_seconds"], first["status"]) == (95.0, 300.0, "critical")
    assert (second["percent"], second["window_seconds"]) == (10.0, 300.0)


# --- database -----------------------------------------------------------------------------------


def delay_ping(
    monkeypatch: pytest.MonkeyPatch, storage: Any, clock: ManualClock, by: float
) -> None:
    """Make ``storage.ping`` take ``by`` seconds on the manual clock."""
    real_ping = storage.ping

    async def slow_ping() -> None:
        clock.advance(by)
        await real_ping()

    monkeypatch.setattr(storage, "ping", slow_ping)


@pytest.fixture
def unusable_database(backend: Backend) -> Iterator[None]:
    """Make the database impossible to open before its first use (see ``Backend.unusable``)."""
    with backend.unusable():
        yield


def file_size_bytes(path: Path) -> int:
    """The SQLite file plus its write-ahead log."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def test_database_connected_and_counts_distinct_guilds(system: MonitoringSystem) -> None:
    for guild in ("111", "222", "333"):
        await log(system.cmd_logger, 2, guild_id=guild)
    await log(system.cmd_logger, 1, guild_id="222")  # a known guild again: not a new server

    database = await health_of(system).check_database()

    assert database["connected"] is True
    assert database["status"] == "healthy"
    assert database["response_time"] >= 0
    assert database["server_count"] == 3
    assert database["database_size_mb"] > 0


async def test_database_server_count_is_zero_before_any_command(
    system: MonitoringSystem,
) -> None:
    database = await health_of(system).check_database()

    assert database["connected"] is True
    assert database["server_count"] == 0


@pytest.mark.sqlite_only  # The size of a file; PostgreSQL's is the tables' (test_postgres.py).
async def test_database_size_matches_the_file(system: MonitoringSystem, db_path: Path) -> None:
    await log(system.cmd_logger, 50)
    database = await health_of(system).check_database()

    size = file_size_bytes(db_path)
    assert size > 0
    assert database["database_size_mb"] == round(size / (1024 * 1024), 3)


@configured(health=HealthConfig(database_slow_seconds=0.25))
@pytest.mark.parametrize(
    ("round_trip", "expected"),
    [(0.0, "healthy"), (0.125, "healthy"), (0.25, "healthy"), (0.5, "slow"), (2.0, "slow")],
)
async def test_database_slow_when_round_trip_exceeds_threshold(
    system: MonitoringSystem,
    db: Database,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    round_trip: float,
    expected: str,
) -> None:
    delay_ping(monkeypatch, await db.storage(), clock, round_trip)

    database = await health_of(system).check_database()

    assert database["connected"] is True
    assert database["response_time"] == round_trip
    assert database["status"] == expected


@configured(health=HealthConfig(database_slow_seconds=1e-9))
async def test_slow_database_degrades_the_full_report(
    system: MonitoringSystem, db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    delay_ping(monkeypatch, await db.storage(), clock, 0.001)

    report = await health_of(system).get_full_health_report()

    assert report["database"]["status"] == "slow"
    assert report["database"]["response_time"] == 0.001
    assert report["overall_status"] == "degraded"


async def test_database_error_when_file_is_not_a_database(
    system: MonitoringSystem, unusable_database: None
) -> None:
    database = await health_of(system).check_database()

    assert database["connected"] is False
    assert database["status"] == "error"
    assert database["server_count"] == 0
    assert database["database_size_mb"] == 0.0
    assert database["error"]


async def test_unusable_database_makes_report_unhealthy_without_raising(
    system: MonitoringSystem, unusable_database: None
) -> None:
    report = await health_of(system).get_full_health_report()

    assert report["overall_status"] == "unhealthy"
    assert report["database"]["connected"] is False
    assert report["database"]["status"] == "error"
    assert report["error_rate"]["status"] == "error"
    assert report["internal_errors"]["by_operation"] == {"HealthCheck.check_error_rate": 1}
    assert len(health_of(system).get_health_history()) == 1


# --- error rate ---------------------------------------------------------------------------------

WINDOW = 600.0


@configured(health=HealthConfig(error_rate_window=WINDOW))
async def test_error_rate_counts_only_commands_in_window(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    await log(system.cmd_logger, 15, failed=15)
    # Rollups are per minute: leave the old commands' minute well behind the window's start.
    clock.advance(WINDOW + 120)
    await log(system.cmd_logger, 12, failed=1)

    errors = await health_of(system).check_error_rate()

    assert errors["total_commands"] == 12
    assert errors["failed_commands"] == 1
    assert errors["error_rate"] == round(1 / 12, 4)
    assert errors["window_seconds"] == WINDOW


@configured(health=HealthConfig(error_rate_window=WINDOW))
async def test_error_rate_commands_inside_window_still_count(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    await log(system.cmd_logger, 4, failed=2)
    clock.advance(WINDOW - 120)
    await log(system.cmd_logger, 6, failed=1)

    errors = await health_of(system).check_error_rate()

    assert (errors["total_commands"], errors["failed_commands"]) == (10, 3)


@configured(health=HealthConfig(error_rate_window=WINDOW))
async def test_error_rate_is_zero_once_everything_left_the_window(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    await log(system.cmd_logger, 20, failed=20)
    clock.advance(WINDOW + 120)

    errors = await health_of(system).check_error_rate()

    assert errors["total_commands"] == 0
    assert errors["failed_commands"] == 0
    assert errors["error_rate"] == 0.0
    assert errors["status"] == "healthy"


async def test_error_rate_narrowed_to_one_guild(system: MonitoringSystem) -> None:
    await log(system.cmd_logger, 10, failed=5, guild_id="111")
    await log(system.cmd_logger, 30, failed=0, guild_id="222")
    health = health_of(system)

    guild_a = await health.check_error_rate("111")
    guild_b = await health.check_error_rate(222)  # ids may be ints
    everyone = await health.check_error_rate()

    assert (guild_a["total_commands"], guild_a["failed_commands"]) == (10, 5)
    assert guild_a["error_rate"] == 0.5
    assert guild_a["status"] == "critical"
    assert (guild_b["total_commands"], guild_b["failed_commands"]) == (30, 0)
    assert guild_b["status"] == "healthy"
    assert (everyone["total_commands"], everyone["failed_commands"]) == (40, 5)
    assert everyone["error_rate"] == 0.125
    assert everyone["status"] == "warning"


async def test_full_report_error_rate_uses_guild_id(system: MonitoringSystem) -> None:
    await log(system.cmd_logger, 10, failed=10, guild_id="111")
    await log(system.cmd_logger, 10, failed=0, guild_id="222")

    report = await health_of(system).get_full_health_report("222")

    assert report["error_rate"]["total_commands"] == 10
    assert report["error_rate"]["failed_commands"] == 0
    assert report["overall_status"] == "healthy"


@configured(health=HealthConfig(error_rate_min_commands=10))
@pytest.mark.parametrize("count", [1, 5, 9])
async def test_error_rate_healthy_below_min_commands_regardless_of_rate(
    system: MonitoringSystem, count: int
) -> None:
    await log(system.cmd_logger, count, failed=count)

    errors = await health_of(system).check_error_rate()

    assert errors["total_commands"] == count
    assert errors["failed_commands"] == count
    assert errors["error_rate"] == 1.0
    assert errors["status"] == "healthy"


@configured(health=HealthConfig(error_rate_min_commands=10))
async def test_error_rate_judged_from_min_commands(system: MonitoringSystem) -> None:
    await log(system.cmd_logger, 10, failed=10)

    errors = await health_of(system).check_error_rate()

    assert errors["status"] == "critical"


@configured(
    health=HealthConfig(
        error_rate_min_commands=20, error_rate_warning=0.10, error_rate_critical=0.25
    )
)
@pytest.mark.parametrize(
    ("failed", "expected"),
    [(0, "healthy"), (1, "healthy"), (2, "warning"), (4, "warning"), (5, "critical")],
)
async def test_error_rate_status_at_configured_thresholds(
    system: MonitoringSystem, failed: int, expected: str
) -> None:
    await log(system.cmd_logger, 20, failed=failed)

    errors = await health_of(system).check_error_rate()

    assert errors["total_commands"] == 20
    assert errors["failed_commands"] == failed
    assert errors["error_rate"] == failed / 20
    assert errors["status"] == expected


async def test_error_rate_with_no_commands(system: MonitoringSystem) -> None:
    errors = await health_of(system).check_error_rate()

    assert errors == {
        "total_commands": 0,
        "failed_commands": 0,
        "error_rate": 0.0,
        "window_seconds": 3600.0,
        "status": "healthy",
    }


# --- overall status -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "healthy"),
        (["healthy"] * 5, "healthy"),
        (["healthy", "warning", "healthy"], "degraded"),
        (["slow", "healthy"], "degraded"),
        (["warning", "slow"], "degraded"),
        (["healthy", "critical"], "unhealthy"),
        (["error", "healthy"], "unhealthy"),
        (["warning", "critical", "slow"], "unhealthy"),
        (["slow", "error"], "unhealthy"),
    ],
)
def test_overall_status_rule(statuses: list[str], expected: str) -> None:
    assert overall_status(statuses) == expected


@pytest.mark.parametrize(
    ("rss_mb", "cpu_percent", "expected"),
    [
        (100.0, 5.0, "healthy"),
        (600.0, 5.0, "degraded"),  # memory warning
        (100.0, 75.0, "degraded"),  # CPU warning
        (600.0, 75.0, "degraded"),
        (2048.0, 5.0, "unhealthy"),  # memory critical
        (100.0, 95.0, "unhealthy"),  # CPU critical
        (600.0, 95.0, "unhealthy"),
    ],
)
async def test_full_report_overall_status_from_process_readings(
    system: MonitoringSystem,
    process: FakeProcess,
    clock: ManualClock,
    rss_mb: float,
    cpu_percent: float,
    expected: str,
) -> None:
    process.rss_mb = rss_mb
    process.cpu_percent_value = cpu_percent
    clock.advance(CPU_WINDOW)

    report = await health_of(system).get_full_health_report()

    assert report["overall_status"] == expected


async def test_full_report_unhealthy_from_error_rate(system: MonitoringSystem) -> None:
    await log(system.cmd_logger, 10, failed=3)

    report = await health_of(system).get_full_health_report()

    assert report["error_rate"]["status"] == "critical"
    assert report["memory"]["status"] == "healthy"
    assert report["overall_status"] == "unhealthy"


# --- recording ----------------------------------------------------------------------------------


@configured(recording=RecordingConfig(max_queue=2, flush_interval=3600.0))
async def test_dropped_records_warn_once(system: MonitoringSystem) -> None:
    logger = system.cmd_logger
    queued = [logger.log_command_nowait("111", "guild", "42", "tester", "play") for _ in range(5)]
    assert queued == [True, True, False, False, False]
    health = health_of(system)

    first = await health.get_full_health_report()
    second = await health.get_full_health_report()

    assert first["recording"]["dropped"] == 3
    assert first["recording"]["dropped_since_last_check"] == 3
    assert first["recording"]["status"] == "warning"
    assert first["overall_status"] == "degraded"
    assert second["recording"]["dropped"] == 3
    assert second["recording"]["dropped_since_last_check"] == 0
    assert second["recording"]["status"] == "healthy"
    assert second["overall_status"] == "healthy"


@configured(recording=RecordingConfig(max_queue=2, flush_interval=3600.0))
async def test_check_recording_counts_drops_since_previous_check(
    system: MonitoringSystem,
) -> None:
    logger = system.cmd_logger
    health = health_of(system)
    for _ in range(5):
        logger.log_command_nowait("111", "guild", "42", "tester", "play")

    first = health.check_recording()
    logger.log_command_nowait("111", "guild", "42", "tester", "play")  # still full: dropped
    second = health.check_recording()
    third = health.check_recording()

    assert (first["pending"], first["dropped_since_last_check"], first["status"]) == (
        2,
        3,
        "warning",
    )
    assert (second["dropped"], second["dropped_since_last_check"], second["status"]) == (
        4,
        1,
        "warning",
    )
    assert (third["dropped_since_last_check"], third["status"]) == (0, "healthy")


async def test_failing_writes_make_recording_critical(
    system: MonitoringSystem, unusable_database: None
) -> None:
    system.cmd_logger.log_command_nowait("111", "guild", "42", "tester", "play")

    report = await health_of(system).get_full_health_report()

    assert report["recording"]["failing"] is True
    assert report["recording"]["pending"] == 1
    assert report["recording"]["status"] == "critical"
    assert report["overall_status"] == "unhealthy"


# --- history and uptime -------------------------------------------------------------------------


async def test_history_keeps_the_last_100_reports(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    health = health_of(system)
    for _ in range(105):
        await health.get_full_health_report()
        clock.advance(1.0)

    history = health.get_health_history()

    assert len(history) == 100
    # Report i was taken i seconds after start: reports 0-4 are gone, 104 is last.
    assert [r["uptime_seconds"] for r in history] == [float(i) for i in range(5, 105)]
    assert history[0]["timestamp"] == (NOW + timedelta(seconds=5)).isoformat()
    assert history[-1]["timestamp"] == (NOW + timedelta(seconds=104)).isoformat()


@configured(health=HealthConfig(history_size=3))
async def test_history_size_is_configurable(system: MonitoringSystem, clock: ManualClock) -> None:
    health = health_of(system)
    for _ in range(5):
        await health.get_full_health_report()
        clock.advance(10.0)

    assert [r["uptime_seconds"] for r in health.get_health_history()] == [20.0, 30.0, 40.0]


async def test_history_limit_returns_newest_oldest_first(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    health = health_of(system)
    reports = []
    for _ in range(6):
        reports.append(await health.get_full_health_report())
        clock.advance(1.0)

    assert health.get_health_history(limit=3) == reports[-3:]
    assert health.get_health_history(limit=100) == reports
    assert health.get_health_history() == reports


async def test_history_empty_before_first_report(system: MonitoringSystem) -> None:
    assert health_of(system).get_health_history() == []


async def test_uptime_follows_injected_clock(system: MonitoringSystem, clock: ManualClock) -> None:
    health = health_of(system)
    assert (await health.get_full_health_report())["uptime_seconds"] == 0.0

    clock.advance(90.0)

    assert (await health.get_full_health_report())["uptime_seconds"] == 90.0


# --- safe_execute -------------------------------------------------------------------------------


class BrokenMemoryProcess(FakeProcess):
    """A sampler whose memory reading fails (as psutil can, e.g. AccessDenied)."""

    def memory_info(self) -> Any:
        raise RuntimeError("memory sampler exploded")


async def test_failing_memory_sampler_returns_error_status(db: Database) -> None:
    health = HealthCheck(db, process=BrokenMemoryProcess())

    memory = await health.check_memory()

    assert memory == {"status": "error"}
    assert db.errors.errors == 1
    assert db.errors.by_operation == {"HealthCheck.check_memory": 1}
    assert "memory sampler exploded" in (db.errors.last_error or "")


async def test_failing_memory_sampler_makes_report_unhealthy(db: Database) -> None:
    health = HealthCheck(db, process=BrokenMemoryProcess())

    report = await health.get_full_health_report()

    assert report["memory"]["status"] == "error"
    assert report["overall_status"] == "unhealthy"
    assert report["internal_errors"]["count"] == 1
    assert report["internal_errors"]["by_operation"] == {"HealthCheck.check_memory": 1}
    # The other checks still ran normally.
    assert report["cpu"]["status"] == "healthy"
    assert report["database"]["connected"] is True


# --- sections added beside the built-in checks --------------------------------------------------


class Section:
    """A section whose content the test sets; counts how often it was asked."""

    def __init__(self, status: str, **figures: Any) -> None:
        self.content: dict[str, Any] = {"status": status, **figures}
        self.calls = 0

    def health_section(self) -> dict[str, Any]:
        self.calls += 1
        return self.content


class BrokenSection:
    def health_section(self) -> dict[str, Any]:
        raise RuntimeError("gateway gone")


async def test_an_added_section_is_in_every_report_and_its_status_counts(
    system: MonitoringSystem,
) -> None:
    health = health_of(system)
    section = Section("healthy", shards=2)
    health.add_section("gateway", section)

    report = await health.get_full_health_report()
    assert report["gateway"] == {"status": "healthy", "shards": 2}
    assert report["overall_status"] == "healthy"
    assert set(report) == REPORT_KEYS | {"gateway"}

    section.content["status"] = "critical"
    assert (await health.get_full_health_report())["overall_status"] == "unhealthy"
    section.content["status"] = "warning"
    assert (await health.get_full_health_report())["overall_status"] == "degraded"
    # Unknown (a bot not ready yet) does not make the bot unhealthy.
    section.content["status"] = "unknown"
    assert (await health.get_full_health_report())["overall_status"] == "healthy"
    assert section.calls == 4

    health.remove_section("gateway", Section("healthy"))  # Another object: not removed.
    assert "gateway" in await health.get_full_health_report()
    health.remove_section("gateway", section)
    assert "gateway" not in await health.get_full_health_report()


async def test_a_failing_section_is_an_error_in_its_place_and_counted(
    system: MonitoringSystem,
) -> None:
    health = health_of(system)
    health.add_section("gateway", BrokenSection())
    health.add_section("event_loop", Section("healthy"))

    report = await health.get_full_health_report()
    assert report["gateway"] == {"status": "error", "error": "RuntimeError: gateway gone"}
    assert report["event_loop"] == {"status": "healthy"}
    assert report["overall_status"] == "unhealthy"
    assert health.errors.by_operation == {"HealthCheck.section[gateway]": 1}


def test_a_section_cannot_replace_a_quick_reference_key(system: MonitoringSystem) -> None:
    with pytest.raises(ValueError, match="'memory' is a built-in key"):
        health_of(system).add_section("memory", Section("healthy"))
