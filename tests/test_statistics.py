"""``StatisticsCollector`` end to end: real collectors, a real database (SQLite and
PostgreSQL), a manual clock.

Events are placed on UTC days by moving the ``ManualClock`` (the fixture starts it at
2026-03-15 12:00 UTC), recorded through the public API (``record_*`` and
``cmd_logger.log_command``), and read back through the weekly, monthly and daily reports.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from backends import Reopen
from fakes import NOW

from monitoring_cog import (
    ManualClock,
    MonitoringSystem,
)

GUILD = "111"
OTHER_GUILD = "222"


def days_ago(n: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """A UTC moment ``n`` days before the fixture's today."""
    return (NOW - timedelta(days=n)).replace(hour=hour, minute=minute, second=second)


async def log(
    system: MonitoringSystem,
    command: str,
    *,
    guild: str | int = GUILD,
    user: str | int = "u1",
    success: bool = True,
    duration: float = 0.0,
) -> None:
    queued = await system.cmd_logger.log_command(
        guild_id=guild,
        guild_name="Guild",
        user_id=user,
        username="someone",
        command=command,
        parameters={},
        duration=duration,
        success=success,
        error_message=None if success else "boom",
    )
    assert queued is True


async def weekly(system: MonitoringSystem, guild: str | int | None = GUILD) -> dict:
    return await system.stats_collector.generate_weekly_report(guild)


async def monthly(system: MonitoringSystem, guild: str | int | None = GUILD) -> dict:
    return await system.stats_collector.generate_monthly_report(guild)


def daily_entry(report: dict, day: datetime) -> dict:
    (entry,) = [e for e in report["daily"] if e["date"] == day.date().isoformat()]
    return entry


# --- songs, skips, pauses ---------------------------------------------------------------------


async def test_song_skip_pause_totals(system: MonitoringSystem) -> None:
    stats = system.stats_collector
    for duration in (180, 200, 220.4):
        assert await stats.record_song_played(GUILD, duration=duration, user_id="u1") is True
    assert await stats.record_skip(GUILD) is True
    assert await stats.record_pause(GUILD) is True
    assert await stats.record_pause(GUILD) is True

    report = await weekly(system)

    assert report["total_songs"] == 3
    assert report["total_playtime"] == 600
    assert report["total_playtime_hours"] == 0.17
    assert report["avg_song_duration"] == 200.13
    assert report["total_skips"] == 1
    assert report["total_pauses"] == 2
    assert report["skip_rate"] == pytest.approx(1 / 3)
    assert report["active_days"] == 1


async def test_report_shape(system: MonitoringSystem) -> None:
    week, month = await weekly(system), await monthly(system)
    assert (week["period"], week["days"], len(week["daily"])) == ("weekly", 7, 7)
    assert (month["period"], month["days"], len(month["daily"])) == ("monthly", 30, 30)
    assert (week["start_date"], week["end_date"]) == ("2026-03-09", "2026-03-15")
    assert month["start_date"] == "2026-02-14"


async def test_empty_report_is_zero(system: MonitoringSystem) -> None:
    report = await weekly(system)
    assert report["total_songs"] == 0
    assert report["total_commands"] == 0
    assert report["skip_rate"] == 0.0
    assert report["error_rate"] == 0.0
    assert report["avg_daily_users"] == 0.0
    assert report["top_commands"] == []


# --- periods ----------------------------------------------------------------------------------


async def test_weekly_covers_seven_utc_days_ending_today(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    for n, songs in ((7, 1), (6, 2), (0, 4)):
        clock.set(days_ago(n))
        for _ in range(songs):
            await system.stats_collector.record_song_played(GUILD, 100)
    clock.set(NOW)

    report = await weekly(system)

    assert report["total_songs"] == 6  # 7 days ago is outside, 6 days ago inside
    assert report["active_days"] == 2
    assert daily_entry(report, days_ago(6))["songs"] == 2


async def test_weekly_starts_at_midnight_utc_six_days_ago(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    clock.set(days_ago(7, 23, 59, 59))
    await system.stats_collector.record_skip(GUILD)
    clock.set(days_ago(6, 0, 0, 0))
    await system.stats_collector.record_pause(GUILD)
    clock.set(NOW)

    report = await weekly(system)

    assert report["total_skips"] == 0
    assert report["total_pauses"] == 1


async def test_monthly_covers_thirty_days(system: MonitoringSystem, clock: ManualClock) -> None:
    for n in (30, 29, 7, 0):
        clock.set(days_ago(n))
        await system.stats_collector.record_song_played(GUILD, 60)
    clock.set(NOW)

    assert (await monthly(system))["total_songs"] == 3
    assert (await monthly(system))["active_days"] == 3
    assert (await weekly(system))["total_songs"] == 1


async def test_utc_day_boundary(system: MonitoringSystem, clock: ManualClock) -> None:
    clock.set(days_ago(1, 23, 59, 59))
    await system.stats_collector.record_song_played(GUILD, 100)
    clock.set(days_ago(0, 0, 0, 0))
    await system.stats_collector.record_song_played(GUILD, 200)
    clock.set(NOW)

    daily = await system.stats_collector.get_daily_stats(GUILD)
    report = await weekly(system)

    assert (daily["songs_played"], daily["total_playtime"]) == (1, 200)
    assert daily_entry(report, days_ago(1))["playtime"] == 100
    assert daily_entry(report, days_ago(0))["playtime"] == 200


async def test_logged_command_counts_on_the_day_it_started(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    # Logged half a second after midnight, it took a second: it started yesterday.
    clock.set(days_ago(0, 0, 0, 0) + timedelta(seconds=0.5))
    await log(system, "play", duration=1.0)
    clock.set(NOW)

    report = await weekly(system)

    assert daily_entry(report, days_ago(1))["commands"] == 1
    assert daily_entry(report, days_ago(0))["commands"] == 0


# --- commands, users, rates -------------------------------------------------------------------


async def test_logged_commands_error_rate_and_top_commands(system: MonitoringSystem) -> None:
    for command, runs, failures in (
        ("play", 3, 1),
        ("volume", 2, 0),
        ("skip", 2, 1),
        ("queue", 1, 0),
    ):
        for run in range(runs):
            await log(system, command, success=run >= failures)

    report = await weekly(system)

    assert report["total_commands"] == 8
    assert report["failed_commands"] == 2
    assert report["error_rate"] == 0.25
    assert report["top_commands"] == [
        {"command": "play", "count": 3},
        {"command": "skip", "count": 2},
        {"command": "volume", "count": 2},
        {"command": "queue", "count": 1},
    ]


async def test_record_command_counts_without_an_audit_row(system: MonitoringSystem) -> None:
    await system.stats_collector.record_command(GUILD, "u1")
    await system.stats_collector.record_command(GUILD, "u2")
    await log(system, "play", user="u3")

    report = await weekly(system)

    assert report["total_commands"] == 3
    assert report["top_commands"] == [{"command": "play", "count": 1}]  # logged commands only
    assert len(await system.cmd_logger.get_recent_commands(GUILD)) == 1


async def test_distinct_users_per_day(system: MonitoringSystem, clock: ManualClock) -> None:
    stats = system.stats_collector
    clock.set(days_ago(2))
    await stats.record_command(GUILD, "u1")
    clock.set(NOW)
    await stats.record_command(GUILD, "u1")
    await stats.record_command(GUILD, "u1")  # same user twice: still one
    await log(system, "play", user="u2")
    await log(system, "play", user="u1")
    await stats.record_song_played(GUILD, 120, user_id="u3")  # a requester is active
    await stats.record_song_played(GUILD, 120)  # no requester: nobody new

    report = await weekly(system)

    assert daily_entry(report, days_ago(0))["users"] == 3
    assert daily_entry(report, days_ago(2))["users"] == 1
    assert report["peak_users"] == 3
    assert report["avg_daily_users"] == 2.0  # (3 + 1) / 2 active days
    assert (await stats.get_daily_stats(GUILD))["unique_users"] == 3


async def test_avg_daily_users_ignores_days_without_activity(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    for n, users in ((5, ("a", "b", "c", "d")), (1, ("a", "b"))):
        clock.set(days_ago(n))
        for user in users:
            await system.stats_collector.record_command(GUILD, user)
    clock.set(NOW)

    report = await weekly(system)

    assert report["active_days"] == 2
    assert report["avg_daily_users"] == 3.0
    assert report["peak_users"] == 4


async def test_skip_rate_clamped_when_skips_exceed_songs(system: MonitoringSystem) -> None:
    await system.stats_collector.record_song_played(GUILD, 100)
    for _ in range(3):
        await system.stats_collector.record_skip(GUILD)

    assert (await weekly(system))["skip_rate"] == 1.0


# --- daily stats ------------------------------------------------------------------------------


async def test_get_daily_stats_returns_todays_figures(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    stats = system.stats_collector
    clock.set(days_ago(1))
    await stats.record_song_played(GUILD, 999, user_id="old")
    await log(system, "play", user="old", success=False)
    clock.set(NOW)
    await stats.record_song_played(GUILD, 150.2, user_id="u1")
    await stats.record_song_played(GUILD, 100, user_id="u2")
    await stats.record_skip(GUILD)
    await stats.record_pause(GUILD)
    await log(system, "skip", user="u1", success=False)
    await stats.record_command(GUILD, "u1")

    assert await stats.get_daily_stats(GUILD) == {
        "date": "2026-03-15",
        "songs_played": 2,
        "total_playtime": 250,
        "skips": 1,
        "pauses": 1,
        "commands": 2,
        "failed_commands": 1,
        "unique_users": 2,
    }


# --- guilds and ids ---------------------------------------------------------------------------


async def test_guilds_are_isolated(system: MonitoringSystem) -> None:
    stats = system.stats_collector
    await stats.record_song_played(GUILD, 100, user_id="u1")
    await log(system, "play", guild=GUILD, user="u1")
    for user in ("x", "y", "z"):
        await stats.record_song_played(OTHER_GUILD, 300, user_id=user)
        await stats.record_skip(OTHER_GUILD)
        await log(system, "queue", guild=OTHER_GUILD, user=user, success=False)

    mine, theirs = await weekly(system, GUILD), await weekly(system, OTHER_GUILD)

    assert (mine["total_songs"], mine["total_playtime"], mine["total_skips"]) == (1, 100, 0)
    assert (mine["total_commands"], mine["failed_commands"], mine["peak_users"]) == (1, 0, 1)
    assert mine["top_commands"] == [{"command": "play", "count": 1}]
    assert (theirs["total_songs"], theirs["total_skips"], theirs["peak_users"]) == (3, 3, 3)
    assert theirs["top_commands"] == [{"command": "queue", "count": 3}]
    assert (await stats.get_daily_stats(GUILD))["songs_played"] == 1


async def test_report_for_all_guilds(system: MonitoringSystem) -> None:
    await system.stats_collector.record_song_played(GUILD, 100)
    await system.stats_collector.record_song_played(OTHER_GUILD, 200)
    await log(system, "play", guild=GUILD)
    await log(system, "play", guild=OTHER_GUILD)

    report = await weekly(system, None)

    assert (report["total_songs"], report["total_playtime"]) == (2, 300)
    assert report["top_commands"] == [{"command": "play", "count": 2}]


async def test_int_and_str_ids_are_the_same(system: MonitoringSystem) -> None:
    stats = system.stats_collector
    await stats.record_song_played(111, 100, user_id=42)
    await stats.record_song_played("111", 100, user_id="42")
    await stats.record_command(111, "42")
    await log(system, "play", guild=111, user=42)

    by_int, by_str = await weekly(system, 111), await weekly(system, "111")

    assert by_int == by_str
    assert by_int["total_songs"] == 2
    assert by_int["total_commands"] == 2
    assert by_int["peak_users"] == 1


# --- persistence and freshness ----------------------------------------------------------------


async def test_data_survives_reopening_the_database(
    system: MonitoringSystem, clock: ManualClock, reopen: Reopen
) -> None:
    clock.set(days_ago(3))
    await system.stats_collector.record_song_played(GUILD, 240, user_id="u1")
    clock.set(NOW)
    await system.stats_collector.record_skip(GUILD)
    await log(system, "play", user="u2", success=False)
    before = await weekly(system)

    reopened = await reopen(system)
    after = await weekly(reopened)

    assert after == before
    assert (after["total_songs"], after["total_playtime"], after["total_skips"]) == (1, 240, 1)
    assert (after["total_commands"], after["error_rate"], after["peak_users"]) == (1, 1.0, 1)


async def test_records_queued_before_close_are_written(
    system: MonitoringSystem, reopen: Reopen
) -> None:
    await system.stats_collector.record_pause(GUILD)
    await system.stats_collector.record_pause(GUILD)

    reopened = await reopen(system)  # no report read in between: close must flush

    assert (await weekly(reopened))["total_pauses"] == 2


async def test_report_reads_what_was_just_recorded(system: MonitoringSystem) -> None:
    await system.stats_collector.record_song_played(GUILD, 100, user_id="u1")
    await log(system, "play")
    assert system.db.recorder.pending == 2  # still only queued

    report = await weekly(system)

    assert (report["total_songs"], report["total_commands"]) == (1, 1)
    assert system.db.recorder.pending == 0
