"""Report maths (``monitoring_cog.analysis.reports``) on hand-made rollup rows, no database.

``build_report`` (weekly/monthly), ``build_daily_stats`` and ``build_performance_stats`` are pure
functions, so every figure is checked exactly against values worked out by hand.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from monitoring_cog.analysis.latency import bucket_index, percentile
from monitoring_cog.analysis.reports import (
    build_daily_stats,
    build_performance_stats,
    build_report,
    period_days,
)
from monitoring_cog.analysis.totals import CommandTotals, DayTotals

TODAY = date(2026, 3, 15)


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def weekly(totals: list[DayTotals], commands: list[CommandTotals] | None = None) -> dict[str, Any]:
    return build_report("weekly", 7, TODAY, totals, commands or [])


def command(name: str, durations: list[float], failures: int = 0) -> CommandTotals:
    """A command's totals as the storage returns them, histogram included."""
    buckets = Counter(bucket_index(d) for d in durations)
    return CommandTotals(
        command=name,
        count=len(durations),
        failures=failures,
        duration_sum=sum(durations),
        duration_min=min(durations),
        duration_max=max(durations),
        buckets=dict(buckets),
    )


def counted(name: str, count: int) -> CommandTotals:
    """A command with only a use count (what top_commands looks at)."""
    return CommandTotals(name, count, 0, count * 0.5, 0.5, 0.5)


# A week with three active days, an all-zero row, and rows outside the period on both sides.
WEEK = [
    DayTotals(
        TODAY,
        songs_played=4,
        playtime=5400.4,
        skips=1,
        pauses=2,
        commands=10,
        failed_commands=1,
        unique_users=3,
    ),
    DayTotals(days_ago(2), songs_played=2, playtime=3600.3, commands=5, unique_users=5),
    DayTotals(days_ago(3)),  # a row with nothing in it: not an active day
    DayTotals(days_ago(6), commands=1, unique_users=1),  # first day of the period
    DayTotals(
        days_ago(7),
        songs_played=100,
        playtime=1e6,
        skips=9,
        pauses=9,
        commands=100,
        failed_commands=50,
        unique_users=50,
    ),  # the day before the period
    DayTotals(TODAY + timedelta(days=1), songs_played=50, commands=50, unique_users=40),
]


# --- period -----------------------------------------------------------------------------------


def test_period_days_ends_today_inclusive() -> None:
    assert period_days(TODAY, 7) == (date(2026, 3, 9), TODAY)
    assert period_days(TODAY, 30) == (date(2026, 2, 14), TODAY)
    assert period_days(TODAY, 1) == (TODAY, TODAY)


def test_report_header() -> None:
    report = weekly(WEEK)
    assert report["period"] == "weekly"
    assert report["days"] == 7
    assert report["start_date"] == "2026-03-09"
    assert report["end_date"] == "2026-03-15"


# --- totals -----------------------------------------------------------------------------------


def test_totals_sum_only_days_inside_the_period() -> None:
    report = weekly(WEEK)
    assert report["total_songs"] == 6
    assert report["total_skips"] == 1
    assert report["total_pauses"] == 2
    assert report["total_commands"] == 16
    assert report["failed_commands"] == 1


def test_playtime_is_whole_seconds_and_hours() -> None:
    report = weekly(WEEK)
    assert report["total_playtime"] == 9001  # 9000.7 rounded
    assert isinstance(report["total_playtime"], int)
    assert report["total_playtime_hours"] == 2.5  # 9000.7 / 3600 = 2.50019...
    assert report["avg_song_duration"] == 1500.12  # 9000.7 / 6 = 1500.1166...


def test_rates() -> None:
    report = weekly(WEEK)
    assert report["skip_rate"] == pytest.approx(1 / 6)
    assert report["error_rate"] == pytest.approx(1 / 16)


def test_rates_are_zero_without_songs_or_commands() -> None:
    report = weekly([DayTotals(TODAY, skips=3, pauses=1, unique_users=1)])
    assert report["skip_rate"] == 0.0
    assert report["error_rate"] == 0.0
    assert report["avg_song_duration"] == 0.0


def test_rates_are_clamped_to_one() -> None:
    report = weekly(
        [DayTotals(TODAY, songs_played=2, playtime=10, skips=5, commands=1, failed_commands=3)]
    )
    assert report["skip_rate"] == 1.0
    assert report["error_rate"] == 1.0


def test_empty_period() -> None:
    report = weekly([])
    assert report["active_days"] == 0
    assert report["total_songs"] == 0
    assert report["total_playtime"] == 0
    assert report["total_playtime_hours"] == 0.0
    assert report["avg_daily_users"] == 0.0
    assert report["peak_users"] == 0
    assert report["skip_rate"] == 0.0
    assert report["error_rate"] == 0.0
    assert report["top_commands"] == []
    assert [entry["songs"] for entry in report["daily"]] == [0] * 7


# --- users and active days --------------------------------------------------------------------


def test_active_days_exclude_empty_rows_and_days_outside() -> None:
    assert weekly(WEEK)["active_days"] == 3


def test_avg_daily_users_averages_active_days_only() -> None:
    # Active days have 3, 5 and 1 users; the empty row and the four days with no row don't count.
    assert weekly(WEEK)["avg_daily_users"] == 3.0


def test_avg_daily_users_is_rounded_to_two_decimals() -> None:
    totals = [
        DayTotals(days_ago(n), commands=1, unique_users=u) for n, u in ((0, 1), (1, 1), (2, 2))
    ]
    assert weekly(totals)["avg_daily_users"] == 1.33


def test_peak_users_is_the_busiest_day_in_the_period() -> None:
    assert weekly(WEEK)["peak_users"] == 5  # not the 50 or 40 outside the period


# --- top commands -----------------------------------------------------------------------------


def test_top_commands_most_used_first_ties_by_name() -> None:
    commands = [counted("volume", 4), counted("play", 9), counted("skip", 4), counted("queue", 7)]
    assert weekly(WEEK, commands)["top_commands"] == [
        {"command": "play", "count": 9},
        {"command": "queue", "count": 7},
        {"command": "skip", "count": 4},
        {"command": "volume", "count": 4},
    ]


def test_top_commands_keeps_at_most_ten() -> None:
    commands = [counted(f"cmd{n:02d}", 20 - n) for n in range(12)]
    top = weekly(WEEK, list(reversed(commands)))["top_commands"]
    assert [entry["command"] for entry in top] == [f"cmd{n:02d}" for n in range(10)]
    assert [entry["count"] for entry in top] == list(range(20, 10, -1))


# --- daily series -----------------------------------------------------------------------------


def test_daily_has_one_entry_per_day_oldest_first() -> None:
    daily = weekly(WEEK)["daily"]
    assert [entry["date"] for entry in daily] == [days_ago(n).isoformat() for n in range(6, -1, -1)]


def test_daily_entries_carry_the_days_figures_and_zeros() -> None:
    daily = {entry["date"]: entry for entry in weekly(WEEK)["daily"]}
    assert daily["2026-03-15"] == {
        "date": "2026-03-15",
        "songs": 4,
        "playtime": 5400,
        "skips": 1,
        "pauses": 2,
        "commands": 10,
        "users": 3,
    }
    assert daily["2026-03-13"]["playtime"] == 3600
    assert daily["2026-03-14"] == {
        "date": "2026-03-14",
        "songs": 0,
        "playtime": 0,
        "skips": 0,
        "pauses": 0,
        "commands": 0,
        "users": 0,
    }
    assert daily["2026-03-09"]["commands"] == 1


def test_monthly_daily_has_thirty_entries() -> None:
    report = build_report("monthly", 30, TODAY, WEEK, [])
    assert len(report["daily"]) == 30
    assert report["daily"][0]["date"] == "2026-02-14"
    # The day before the weekly period is inside the month.
    assert report["total_songs"] == 106
    assert report["active_days"] == 4
    assert report["peak_users"] == 50


# --- daily stats ------------------------------------------------------------------------------


def test_daily_stats_of_a_day() -> None:
    stats = build_daily_stats(TODAY, WEEK[0])
    assert stats == {
        "date": "2026-03-15",
        "songs_played": 4,
        "total_playtime": 5400,
        "skips": 1,
        "pauses": 2,
        "commands": 10,
        "failed_commands": 1,
        "unique_users": 3,
    }


def test_daily_stats_without_data_are_zero() -> None:
    stats = build_daily_stats(TODAY, None)
    assert stats["date"] == "2026-03-15"
    assert [stats[key] for key in stats if key != "date"] == [0] * 7


# --- performance stats ------------------------------------------------------------------------


def test_performance_entry_figures() -> None:
    play = command("play", [1.0, 2.0, 3.0, 4.0], failures=1)
    stats = build_performance_stats(7, [play], {})
    (entry,) = stats["slowest_commands"]
    assert entry["command"] == "play"
    assert entry["avg_duration"] == 2.5
    assert entry["min_duration"] == 1.0
    assert entry["max_duration"] == 4.0
    assert entry["count"] == 4
    assert entry["failures"] == 1
    assert entry["error_rate"] == 0.25


def test_performance_percentiles_follow_the_histogram_and_clamp() -> None:
    play = command("play", [1.0, 2.0, 3.0, 4.0])
    (entry,) = build_performance_stats(7, [play], {})["slowest_commands"]
    for key, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        expected = percentile(play.buckets, q, low=1.0, high=4.0)
        assert entry[key] == expected
        assert 1.0 <= entry[key] <= 4.0
    assert entry["p50"] == pytest.approx(2.0, rel=0.05)  # nearest rank 2 of 4
    assert entry["p99"] == pytest.approx(4.0, rel=0.05)


def test_constant_command_reports_its_duration_exactly() -> None:
    (entry,) = build_performance_stats(7, [command("ping", [0.3] * 5)], {})["slowest_commands"]
    assert (entry["p50"], entry["p95"], entry["p99"]) == (0.3, 0.3, 0.3)


def test_performance_slowest_average_first_ties_by_name() -> None:
    commands = [
        command("skip", [0.25, 0.25]),
        command("search", [3.0]),
        command("queue", [1.0, 1.5]),
        command("play", [0.5, 2.0]),
    ]
    stats = build_performance_stats(30, commands, {})
    assert [e["command"] for e in stats["slowest_commands"]] == ["search", "play", "queue", "skip"]
    assert stats["days"] == 30
    assert stats["total_commands"] == 7


def test_performance_skips_commands_without_runs_and_passes_cache_metrics() -> None:
    cache = {"metric_types": 0}
    empty = CommandTotals("never", 0, 0, 0.0, 0.0, 0.0)
    stats = build_performance_stats(7, [empty, command("play", [1.0])], cache)
    assert [e["command"] for e in stats["slowest_commands"]] == ["play"]
    assert stats["total_commands"] == 1
    assert stats["cache_metrics"] is cache


def test_performance_stats_without_commands() -> None:
    stats = build_performance_stats(7, [], {})
    assert stats["slowest_commands"] == []
    assert stats["total_commands"] == 0


def test_performance_error_rate_clamped() -> None:
    (entry,) = build_performance_stats(7, [command("play", [1.0], failures=3)], {})[
        "slowest_commands"
    ]
    assert entry["error_rate"] == 1.0


def test_avg_daily_users_ignores_active_days_without_identified_users() -> None:
    """A day with only anonymous skips is active but does not drag the user average down."""
    today = date(2026, 3, 15)
    totals = [
        DayTotals(day=today, commands=4, unique_users=4),
        DayTotals(day=today - timedelta(days=1), skips=3),
    ]
    report = build_report("weekly", 7, today, totals, [])
    assert report["active_days"] == 2
    assert report["avg_daily_users"] == 4.0
    assert report["peak_users"] == 4
