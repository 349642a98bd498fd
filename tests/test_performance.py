"""``PerformanceMonitor``: in-memory timing, slow warnings, bottlenecks, persisted latency stats.

Durations are produced with the ``ManualClock`` (advanced inside the timed block), so every
recorded duration is known exactly; nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from backends import Reopen
from fakes import NOW

from monitoring_cog import (
    Database,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    PerformanceMonitor,
)
from monitoring_cog.analysis.latency import bucket_index, percentile
from monitoring_cog.config import ThresholdsConfig

GUILD = "111"
OTHER_GUILD = "222"
DEFAULT_THRESHOLDS = {"command_slow": 2.0, "voice_connect_slow": 5.0, "response_slow": 1.0}


@pytest.fixture
def perf(system: MonitoringSystem) -> PerformanceMonitor:
    return system.perf_monitor


@pytest.fixture
def slow_warnings(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The WARNING messages logged under ``monitoring_cog`` so far."""
    caplog.set_level(logging.WARNING, logger="monitoring_cog")

    def _slow_warnings() -> list[str]:
        return [
            record.getMessage()
            for record in caplog.records
            if record.name.startswith("monitoring_cog") and record.levelno == logging.WARNING
        ]

    return _slow_warnings


async def run_command(
    perf: PerformanceMonitor, clock: ManualClock, seconds: float, name: str = "play"
) -> float | None:
    """Run ``name`` under ``track_command`` for exactly ``seconds`` of manual-clock time."""
    async with perf.track_command(name, GUILD, "u1") as timer:
        clock.advance(seconds)
    return timer.duration


async def log(
    system: MonitoringSystem,
    command: str,
    duration: float,
    *,
    guild: str = GUILD,
    success: bool = True,
) -> None:
    assert await system.cmd_logger.log_command(
        guild_id=guild,
        guild_name="Guild",
        user_id="u1",
        username="someone",
        command=command,
        parameters={},
        duration=duration,
        success=success,
    )


def slowest(stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["command"]: entry for entry in stats["slowest_commands"]}


def exact_nearest_rank(durations: list[float], q: float) -> float:
    ordered = sorted(durations)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


# --- track_command ----------------------------------------------------------------------------


async def test_track_command_records_the_blocks_duration(
    perf: PerformanceMonitor, clock: ManualClock
) -> None:
    assert await run_command(perf, clock, 0.75) == 0.75
    assert await run_command(perf, clock, 1.5) == 1.5

    assert list(perf.metrics["command:play"]) == [0.75, 1.5]
    summary = perf.get_metrics()["command:play"]
    assert (summary["count"], summary["avg_duration"], summary["failures"]) == (2, 1.125, 0)


async def test_track_command_records_and_reraises_on_error(
    perf: PerformanceMonitor, clock: ManualClock
) -> None:
    error = RuntimeError("voice client gone")

    with pytest.raises(RuntimeError) as raised:
        async with perf.track_command("play", GUILD, "u1"):
            clock.advance(0.5)
            raise error

    assert raised.value is error
    assert list(perf.metrics["command:play"]) == [0.5]
    assert perf.get_metrics()["command:play"]["failures"] == 1


async def test_track_command_lets_cancellation_through(
    perf: PerformanceMonitor, clock: ManualClock
) -> None:
    with pytest.raises(asyncio.CancelledError):
        async with perf.track_command("play"):
            clock.advance(0.25)
            raise asyncio.CancelledError
    assert list(perf.metrics["command:play"]) == [0.25]


async def test_slow_command_logs_a_warning(
    perf: PerformanceMonitor, clock: ManualClock, slow_warnings: Callable[[], list[str]]
) -> None:
    await run_command(perf, clock, 2.25)

    (message,) = slow_warnings()
    assert "play" in message
    assert "2.250" in message
    assert perf.get_metrics()["command:play"]["slow"] == 1


@pytest.mark.parametrize("seconds", [0.0, 1.75, 2.0])
async def test_command_at_or_below_threshold_does_not_warn(
    perf: PerformanceMonitor,
    clock: ManualClock,
    slow_warnings: Callable[[], list[str]],
    seconds: float,
) -> None:
    await run_command(perf, clock, seconds)

    assert slow_warnings() == []
    assert perf.get_metrics()["command:play"]["slow"] == 0


async def test_track_command_writes_no_audit_row(
    system: MonitoringSystem, perf: PerformanceMonitor, clock: ManualClock
) -> None:
    await run_command(perf, clock, 3.0)

    assert await system.cmd_logger.get_recent_commands() == []
    assert (await perf.get_performance_stats(GUILD))["slowest_commands"] == []
    assert (await system.stats_collector.generate_weekly_report(GUILD))["total_commands"] == 0


# --- thresholds -------------------------------------------------------------------------------


def test_default_thresholds(perf: PerformanceMonitor) -> None:
    assert perf.thresholds == DEFAULT_THRESHOLDS


async def test_thresholds_come_from_config(
    tmp_path: Path, clock: ManualClock, slow_warnings: Callable[[], list[str]]
) -> None:
    config = MonitoringConfig(thresholds=ThresholdsConfig(command_slow=0.5, response_slow=0.1))
    async with Database(tmp_path / "tuned.db", config=config, clock=clock) as database:
        perf = PerformanceMonitor(database)
        assert perf.thresholds == {**DEFAULT_THRESHOLDS, "command_slow": 0.5, "response_slow": 0.1}

        await run_command(perf, clock, 0.75)

    assert len(slow_warnings()) == 1


async def test_thresholds_can_be_retuned_at_run_time(
    perf: PerformanceMonitor, clock: ManualClock, slow_warnings: Callable[[], list[str]]
) -> None:
    perf.thresholds["command_slow"] = 10.0
    await run_command(perf, clock, 5.0)
    assert slow_warnings() == []


async def test_voice_connect_threshold(
    perf: PerformanceMonitor, clock: ManualClock, slow_warnings: Callable[[], list[str]]
) -> None:
    for seconds in (4.5, 5.0):
        async with perf.track_voice_connect(GUILD):
            clock.advance(seconds)
    assert slow_warnings() == []

    async with perf.track_voice_connect(GUILD):
        clock.advance(5.5)

    assert len(slow_warnings()) == 1
    assert list(perf.metrics["voice_connect"]) == [4.5, 5.0, 5.5]
    assert perf.get_metrics()["voice_connect"]["threshold"] == 5.0


async def test_response_threshold(
    perf: PerformanceMonitor, clock: ManualClock, slow_warnings: Callable[[], list[str]]
) -> None:
    async with perf.track_response("api"):
        clock.advance(0.75)
    assert slow_warnings() == []

    async with perf.track_response("api"):
        clock.advance(1.25)

    assert len(slow_warnings()) == 1
    assert list(perf.metrics["response:api"]) == [0.75, 1.25]
    assert perf.get_metrics()["response:api"]["slow"] == 1


# --- in-memory bound and cache metrics --------------------------------------------------------


def test_metrics_keep_the_newest_thousand(perf: PerformanceMonitor) -> None:
    durations = [n / 1000 for n in range(1500)]  # all below the threshold
    for duration in durations:
        perf.record_metric("command", "play", duration)

    assert list(perf.metrics["command:play"]) == durations[500:]
    summary = perf.get_metrics()["command:play"]
    assert (summary["count"], summary["min_duration"], summary["max_duration"]) == (
        1000,
        0.5,
        1.499,
    )


def test_cache_metrics_shape(perf: PerformanceMonitor) -> None:
    for _ in range(1200):
        perf.record_metric("command", "play", 0.1)
    for _ in range(3):
        perf.record_metric("voice_connect", "voice_connect", 1.0)

    cache = perf.cache_metrics()

    assert cache["metric_types"] == 2
    assert cache["total_entries"] == 1003
    assert cache["max_entries_per_type"] == 1000
    assert cache["entries"] == {"command:play": 1000, "voice_connect": 3}
    assert set(cache["recording"]) >= {"pending", "written", "dropped"}


# --- bottlenecks ------------------------------------------------------------------------------


def record(perf: PerformanceMonitor, name: str, durations: list[float]) -> None:
    for duration in durations:
        perf.record_metric("command", name, duration)


def test_no_bottleneck_when_fast(perf: PerformanceMonitor) -> None:
    record(perf, "fast", [0.5] * 20)
    record(perf, "rare_spike", [0.5] * 19 + [9.0])  # 1 in 20: the p95 (rank 19) is still 0.5
    assert perf.get_bottlenecks() == []


def test_p95_equal_to_threshold_is_not_a_bottleneck(perf: PerformanceMonitor) -> None:
    record(perf, "edge", [2.0] * 20)
    assert perf.get_bottlenecks() == []


def test_slow_median_is_a_high_bottleneck(perf: PerformanceMonitor) -> None:
    record(perf, "search", [3.0] * 20)

    assert perf.get_bottlenecks() == [
        {
            "metric": "command:search",
            "severity": "high",
            "count": 20,
            "p50": 3.0,
            "p95": 3.0,
            "avg_duration": 3.0,
            "threshold": 2.0,
        }
    ]


def test_slow_tail_only_is_a_medium_bottleneck(perf: PerformanceMonitor) -> None:
    record(perf, "play", [0.5] * 18 + [5.0] * 2)  # p95 is rank 19: 5.0

    (bottleneck,) = perf.get_bottlenecks()

    assert (bottleneck["metric"], bottleneck["severity"]) == ("command:play", "medium")
    assert (bottleneck["p50"], bottleneck["p95"]) == (0.5, 5.0)


def test_bottlenecks_high_first_then_slowest_p95(perf: PerformanceMonitor) -> None:
    record(perf, "medium_tail", [0.5] * 10 + [20.0] * 10)  # p50 0.5, p95 20
    record(perf, "high_a", [3.0] * 20)
    record(perf, "high_b", [4.0] * 20)
    record(perf, "medium_small", [1.0] * 18 + [6.0] * 2)
    perf.record_metric("voice_connect", "voice_connect", 4.0)  # under its own 5 s threshold
    perf.record_metric("response", "api", 1.5)  # over its 1 s threshold

    found = [(b["metric"], b["severity"]) for b in perf.get_bottlenecks()]

    assert found == [
        ("command:high_b", "high"),
        ("command:high_a", "high"),
        ("response:api", "high"),
        ("command:medium_tail", "medium"),
        ("command:medium_small", "medium"),
    ]


# --- persisted performance stats --------------------------------------------------------------


async def test_performance_stats_from_logged_commands(system: MonitoringSystem) -> None:
    for duration in (0.5, 1.0, 1.5, 2.0):
        await log(system, "play", duration, success=duration != 1.0)
    for duration in (0.25, 0.25):
        await log(system, "skip", duration)
    await log(system, "search", 3.0)

    stats = await system.perf_monitor.get_performance_stats(GUILD, days=7)

    assert [e["command"] for e in stats["slowest_commands"]] == ["search", "play", "skip"]
    play = slowest(stats)["play"]
    assert (play["avg_duration"], play["min_duration"], play["max_duration"]) == (1.25, 0.5, 2.0)
    assert (play["count"], play["failures"], play["error_rate"]) == (4, 1, 0.25)
    skip = slowest(stats)["skip"]
    assert (skip["count"], skip["p50"], skip["p95"], skip["p99"]) == (2, 0.25, 0.25, 0.25)
    assert stats["days"] == 7
    assert stats["total_commands"] == 7


async def test_performance_percentiles_from_the_histogram(system: MonitoringSystem) -> None:
    durations = [k * 0.005 for k in range(1, 201)]  # 5 ms .. 1 s
    for duration in durations:
        await log(system, "play", duration)
    buckets = Counter(bucket_index(d) for d in durations)

    play = slowest(await system.perf_monitor.get_performance_stats(GUILD))["play"]

    assert play["count"] == 200
    assert play["avg_duration"] == pytest.approx(sum(durations) / 200, rel=1e-12)
    assert (play["min_duration"], play["max_duration"]) == (0.005, 1.0)
    for key, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert play[key] == percentile(buckets, q, low=0.005, high=1.0)
        exact = exact_nearest_rank(durations, q)
        assert abs(play[key] - exact) / exact <= 0.05


async def test_performance_stats_carry_cache_metrics_and_bottlenecks(
    system: MonitoringSystem,
) -> None:
    record(system.perf_monitor, "search", [3.0] * 5)

    stats = await system.perf_monitor.get_performance_stats(GUILD)

    assert stats["cache_metrics"]["entries"] == {"command:search": 5}
    assert stats["cache_metrics"]["max_entries_per_type"] == 1000
    assert [b["metric"] for b in stats["bottlenecks"]] == ["command:search"]


async def test_performance_stats_survive_reopening(
    system: MonitoringSystem, reopen: Reopen
) -> None:
    for duration in (0.5, 1.5):
        await log(system, "play", duration)
    before = slowest(await system.perf_monitor.get_performance_stats(GUILD))["play"]

    reopened = await reopen(system)
    after = slowest(await reopened.perf_monitor.get_performance_stats(GUILD))["play"]

    assert after == before
    assert (after["count"], after["avg_duration"], after["max_duration"]) == (2, 1.0, 1.5)


async def test_performance_stats_exclude_older_days(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    for days_ago, duration in ((7, 8.0), (6, 4.0), (0, 2.0)):
        clock.set(NOW - timedelta(days=days_ago))
        await log(system, "play", duration)
    clock.set(NOW)
    perf = system.perf_monitor

    week = slowest(await perf.get_performance_stats(GUILD, days=7))["play"]
    today = slowest(await perf.get_performance_stats(GUILD, days=1))["play"]
    month = slowest(await perf.get_performance_stats(GUILD, days=30))["play"]

    assert (week["count"], week["avg_duration"], week["max_duration"]) == (2, 3.0, 4.0)
    assert (today["count"], today["max_duration"]) == (1, 2.0)
    assert (month["count"], month["max_duration"]) == (3, 8.0)


async def test_performance_stats_per_guild_and_all_guilds(system: MonitoringSystem) -> None:
    await log(system, "play", 1.0, guild=GUILD)
    await log(system, "play", 2.0, guild=GUILD)
    await log(system, "play", 6.0, guild=OTHER_GUILD, success=False)
    await log(system, "queue", 0.5, guild=OTHER_GUILD)
    perf = system.perf_monitor

    mine = slowest(await perf.get_performance_stats(GUILD))
    theirs = slowest(await perf.get_performance_stats(OTHER_GUILD))
    everyone = slowest(await perf.get_performance_stats(None))

    assert set(mine) == {"play"}
    assert (mine["play"]["count"], mine["play"]["avg_duration"], mine["play"]["failures"]) == (
        2,
        1.5,
        0,
    )
    assert (theirs["play"]["count"], theirs["play"]["max_duration"]) == (1, 6.0)
    assert set(everyone) == {"play", "queue"}
    assert (everyone["play"]["count"], everyone["play"]["avg_duration"]) == (3, 3.0)
    assert (everyone["play"]["min_duration"], everyone["play"]["max_duration"]) == (1.0, 6.0)
    assert everyone["play"]["failures"] == 1
