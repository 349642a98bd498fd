"""What the operator commands need from the library: streaming, counting, forgetting, guilds."""

from __future__ import annotations

import pytest

from monitoring_cog import Database, ManualClock, MonitoringSystem
from monitoring_cog.collectors import command_logger as command_logger_module

DAY = 86400.0


async def log(
    system: MonitoringSystem, user: str, command: str, at: float, guild: str = "1"
) -> None:
    assert await system.cmd_logger.log_command(
        guild, f"guild {guild}", user, f"user {user}", command, {"n": at}, 0.5, executed_at=at
    )


@pytest.fixture
async def five_rows(system: MonitoringSystem, clock: ManualClock) -> list[float]:
    now = clock.time()
    times = [now - 40 * DAY, now - 31 * DAY, now - 2 * DAY, now - 60, now - 30]
    for n, at in enumerate(times):
        await log(system, str(n % 2), f"cmd{n}", at, guild=str(1 + n % 2))
    return times


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
async def test_iter_audit_logs_streams_oldest_first(
    system: MonitoringSystem, five_rows: list[float], batch_size: int
) -> None:
    rows = [row async for row in system.cmd_logger.iter_audit_logs(batch_size=batch_size)]
    assert [row["command"] for row in rows] == [f"cmd{n}" for n in range(5)]
    assert [row["executed_at"].timestamp() for row in rows] == five_rows
    assert rows[0]["parameters"] == {"n": five_rows[0]}


async def test_iter_audit_logs_since_and_stopping_early(
    system: MonitoringSystem, five_rows: list[float]
) -> None:
    since = five_rows[2]
    rows = [row["command"] async for row in system.cmd_logger.iter_audit_logs(since)]
    assert rows == ["cmd2", "cmd3", "cmd4"]
    async for row in system.cmd_logger.iter_audit_logs(batch_size=1):
        assert row["command"] == "cmd0"
        break
    # The database is still usable after a consumer walked away.
    assert await system.cmd_logger.count_audit_logs() == 5


async def test_iter_audit_logs_raises_on_a_closed_database(system: MonitoringSystem) -> None:
    await system.db.close()
    with pytest.raises(Exception, match="closed"):
        async for _ in system.cmd_logger.iter_audit_logs():
            pass


async def test_count_audit_logs(system: MonitoringSystem, five_rows: list[float]) -> None:
    logger = system.cmd_logger
    assert await logger.count_audit_logs() == 5
    assert await logger.count_audit_logs(older_than_days=30) == 2
    assert await logger.count_audit_logs(since=five_rows[3]) == 2
    assert await logger.count_audit_logs(since=five_rows[1], older_than_days=1) == 2


async def test_clear_old_logs_reports_progress_per_batch(
    system: MonitoringSystem, five_rows: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command_logger_module, "PRUNE_BATCH", 1)
    steps: list[int] = []
    assert await system.cmd_logger.clear_old_logs(1, progress=steps.append) == 3
    assert steps == [1, 1, 1]


async def test_forget_user_includes_queued_rows(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    now = clock.time()
    await log(system, "7", "play", now - DAY)
    await system.stats_collector.record_song_played("1", 200, user_id="7")
    await log(system, "8", "play", now)
    # Nothing flushed yet: forgetting writes the queue first, so the queued rows go too.
    assert system.db.recorder.pending > 0
    assert await system.cmd_logger.forget_user(7) == {
        "audit_logs": 1,
        "daily_users": 2,
        "component_users": 0,
        "event_users": 0,
    }
    remaining = await system.cmd_logger.get_recent_commands()
    assert [row["user_id"] for row in remaining] == ["8"]
    report = await system.stats_collector.generate_weekly_report("1")
    assert (report["total_commands"], report["total_songs"], report["peak_users"]) == (2, 1, 1)


async def test_forget_user_on_a_failing_database_returns_empty(system: MonitoringSystem) -> None:
    await system.db.close()
    assert await system.cmd_logger.forget_user("7") == {}
    assert system.db.errors.errors == 1


async def test_get_servers(system: MonitoringSystem, five_rows: list[float], db: Database) -> None:
    servers = await system.stats_collector.get_servers()
    assert [(s.guild_id, s.guild_name) for s in servers] == [("1", "guild 1"), ("2", "guild 2")]
    assert servers[0].last_seen == five_rows[4]
    assert servers[0].first_seen <= servers[0].last_seen
