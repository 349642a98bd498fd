"""The stall monitor used as a library, without the cog or a bot: only a running event loop.

Tests that take ``db`` run on both backends. Stalls are real ``time.sleep`` calls on the loop;
bounds on durations are generous (see tests/cog/test_cog_stalls.py).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from monitoring_cog import (
    CommandLogger,
    Database,
    ManualClock,
    MonitoringConfig,
    create_monitoring_system,
)
from monitoring_cog.config import config_from_mapping
from monitoring_cog.errors import ConfigError
from monitoring_cog.vitals import StallMonitor, VitalEvent, VitalEvents

HERE = Path(__file__)
INTERVAL = 0.025
THRESHOLD = 0.1
SLACK = 0.25


def line_of(marker: str) -> int:
    lines = HERE.read_text(encoding="utf-8").splitlines()
    (found,) = [n for n, text in enumerate(lines, 1) if text.rstrip().endswith(f"# {marker}")]
    return found


def hold_the_loop(seconds: float) -> float:
    started = time.perf_counter()
    time.sleep(seconds)  # hold-line
    return time.perf_counter() - started


async def stall_once(monitor: StallMonitor, seconds: float) -> float:
    """Block the loop for ``seconds``; wait for the monitor to record it; the time blocked."""
    before = monitor.stalls_total
    await asyncio.sleep(INTERVAL * 2)  # Start from a fresh beat.
    slept = hold_the_loop(seconds)
    async with asyncio.timeout(10):  # A hang guard only.
        # Polling: the stall is recorded by the monitor's next beat, which signals nothing.
        while monitor.stalls_total == before:  # noqa: ASYNC110
            await asyncio.sleep(INTERVAL)
    return slept


async def test_a_library_user_watches_the_loop_and_stores_stalls(db: Database) -> None:
    events = VitalEvents()
    said: list[VitalEvent] = []
    events.subscribe(said.append)
    system = create_monitoring_system(db)
    async with StallMonitor(db, events, threshold=THRESHOLD, interval=INTERVAL) as monitor:
        system.health_check.add_section("event_loop", monitor)
        slept = await stall_once(monitor, 0.25)
        report = await system.health_check.get_full_health_report()
    section = report["event_loop"]
    assert set(section) == {
        "status",
        "lag_ms",
        "stalls",
        "worst",
        "window_seconds",
        "threshold_ms",
        "stalls_total",
    }
    assert (section["status"], section["stalls"], section["stalls_total"]) == ("healthy", 1, 1)
    worst = section["worst"]
    assert set(worst) == {"duration_ms", "command", "command_kind", "guild_id", "location", "at"}
    assert worst["command"] is None
    assert worst["location"] == f"{HERE.name}:{line_of('hold-line')} in hold_the_loop"
    assert slept * 1000 <= worst["duration_ms"] <= (slept + INTERVAL + SLACK) * 1000
    assert said == []  # Far below stall_critical.

    await db.flush()
    (row,) = await (await db.storage()).loop_stalls()
    assert row["location"] == worst["location"]
    assert (row["command"], row["command_kind"], row["guild_id"]) == (None, None, None)
    assert row["stack"].splitlines()[-1] == "    time.sleep(seconds)  # hold-line"
    assert slept <= row["duration"] <= slept + INTERVAL + SLACK
    assert not monitor.running


async def test_stalls_are_pruned_with_the_audit_log(db: Database, clock: ManualClock) -> None:
    async with StallMonitor(db, threshold=THRESHOLD, interval=INTERVAL) as monitor:
        await stall_once(monitor, 0.15)
        clock.advance(31 * 86400)
        await stall_once(monitor, 0.15)
    logger = CommandLogger(db)
    storage = await db.storage()
    await db.flush()
    assert len(await storage.loop_stalls()) == 2
    await logger.clear_old_logs(30)
    (kept,) = await storage.loop_stalls()
    assert kept["started_at"].timestamp() > clock.time() - 60


async def test_a_monitor_not_started_shows_unknown(db: Database) -> None:
    monitor = StallMonitor(db)
    section = monitor.health_section()
    assert (section["status"], section["stalls"], section["worst"]) == ("unknown", 0, None)
    monitor.stop()  # Never started: nothing to stop, no error.


def test_outside_a_running_loop_start_refuses(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        StallMonitor(Database(":memory:", config=MonitoringConfig())).start()


def test_a_loop_ended_without_stop_lets_the_watchdog_end() -> None:
    monitor: StallMonitor | None = None

    async def forgotten() -> None:
        nonlocal monitor
        db = Database(":memory:")
        monitor = StallMonitor(db, threshold=THRESHOLD, interval=INTERVAL).start()
        await asyncio.sleep(INTERVAL * 4)
        await db.close()

    asyncio.run(forgotten())
    deadline = time.monotonic() + 10  # A hang guard only.
    while any(t.name == "monitoring_cog-stalls" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the watchdog outlived its event loop"
        time.sleep(0.01)
    assert monitor is not None and monitor.stalls_total == 0  # The loop's end was no stall.


def test_a_process_that_never_stops_its_monitor_still_exits(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from monitoring_cog import Database
        from monitoring_cog.vitals import StallMonitor

        async def main():
            db = Database(":memory:")
            StallMonitor(db, threshold=0.1, interval=0.025).start()
            await asyncio.sleep(0.2)
            await db.close()
            print("done")

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "done"), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("health", "key"),
    [
        ({"stall_interval": 0}, "health.stall_interval"),
        ({"stall_threshold": 0.05, "stall_interval": 0.05}, "health.stall_threshold"),
        ({"stall_warning": 0.1}, "health.stall_warning"),
        ({"stall_critical": 0.5}, "health.stall_critical"),
        ({"stall_monitor": "yes"}, "health.stall_monitor"),
    ],
)
def test_bad_stall_settings_fail_at_start_up_naming_the_key(
    health: dict[str, object], key: str
) -> None:
    with pytest.raises(ConfigError, match=rf"^{key}: expected "):
        config_from_mapping({"health": health})


def test_bad_overrides_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="interval"):
        StallMonitor(Database(":memory:", config=MonitoringConfig()), threshold=0.01, interval=0.05)
