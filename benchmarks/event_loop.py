"""Event loop: the longest stretch the loop is blocked during ingest, reports and pruning.

A lag probe runs beside each operation: a task that sleeps 1 ms and records by how much it woke
late. Its largest overshoot is the longest time anything kept the loop from running other
callbacks (to within a fraction of a millisecond). Garbage collection pauses count: they block
the loop too.

- Ingest: a million ``log_command`` calls, one per loop iteration (as commands arrive from the
  gateway), with the writer running, then ``db.flush()``. Whenever more than 10,000 records are
  queued the loop idles until the writer catches up (see ``BACKLOG``).
- Report: weekly, monthly and performance reports, repeatedly, over 10 million audit rows (the
  database ``reports.py`` generates).
- Prune: ``clear_old_audit_logs(days=30)`` on a copy of that database, deleting the 5 million
  rows older than 30 days.
- Idle, first: the probe alone over an idle loop for a minute, the machine's own floor (timer
  slack, the system running other work); no operation can measure below it.

Run: ``benchmarks/.venv/bin/python benchmarks/event_loop.py`` (``--quick``: 100 thousand commands,
1 million rows, half of them pruned; ``--stall-monitor``: with the stall monitor watching the loop
during each operation, to compare with a run without it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shutil
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import DATA_DIR, Table, emit, now, parser, wait_for_writer, workdir, workload
from _data import dataset

from monitoring_cog import Database, ManualClock, MonitoringConfig, create_monitoring_system
from monitoring_cog.vitals import StallMonitor

PROBE_INTERVAL = 0.001
BACKLOG = 10_000
"""Queued records past which the ingest lets the loop idle until the writer catches up.

Commands run back to back come faster than the writer stores them on a slow machine (see
``ingest.py``) and the queue would fill until records are dropped. Pausing keeps every command
recorded; the pauses are reported.
"""
POOL = 20_000
"""Distinct commands the ingest cycles through (1,000 guilds, 50 members each)."""
TARGET_MS = 10.0


@dataclass
class Probe:
    """Sleeps ``PROBE_INTERVAL`` over and over, noting how late each wake-up is."""

    lags: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + PROBE_INTERVAL
            await asyncio.sleep(PROBE_INTERVAL)
            self.lags.append(max(0.0, loop.time() - due))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.lags) or [0.0]
        return {
            "max_ms": round(ordered[-1] * 1e3, 2),
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1e3, 2),
            "median_ms": round(statistics.median(ordered) * 1e3, 3),
            "samples": len(ordered),
        }


class Callbacks:
    """Times every callback the loop runs, keeping the longest and what it was.

    Set beside the probe, it tells a stretch the loop spent in one of its own callbacks (a
    task's step) from time the loop's thread lost otherwise: waiting for the interpreter lock
    another thread held, or not scheduled by the system. Garbage collections are timed too:
    a collection runs inside whichever callback allocated the object that triggered it, and
    walks every object of the process, so its length is the process's, not that callback's.
    """

    def __init__(self) -> None:
        self.longest = 0.0
        self.longest_cpu = 0.0
        """CPU time the loop's thread spent in the longest callback: less than its length when
        the thread waited for the interpreter lock or for a processor meanwhile."""
        self.longest_gc = 0.0
        self.longest_without_gc = 0.0
        self.what = "-"
        self.collections = 0
        self.longest_collection = 0.0
        self._gc_time = 0.0
        self._gc_started = 0.0
        self._original = asyncio.events.Handle._run

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            took = time.perf_counter() - self._gc_started
            self._gc_time += took
            self.collections += 1
            self.longest_collection = max(self.longest_collection, took)

    def __enter__(self) -> Callbacks:
        original = self._original
        timer = self

        def _run(handle: asyncio.events.Handle) -> None:
            gc_before = timer._gc_time
            cpu = time.thread_time()
            started = time.perf_counter()
            original(handle)
            took = time.perf_counter() - started
            collecting = timer._gc_time - gc_before
            if took > timer.longest:
                timer.longest = took
                timer.longest_cpu = time.thread_time() - cpu
                timer.longest_gc = collecting
                timer.what = _describe(handle)
            timer.longest_without_gc = max(timer.longest_without_gc, took - collecting)

        asyncio.events.Handle._run = _run  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]
        gc.callbacks.remove(self._on_gc)


def _describe(handle: asyncio.events.Handle) -> str:
    callback = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return f"task {owner.get_name()}"
    return str(getattr(callback, "__qualname__", callback))


WITH_STALL_MONITOR = False
"""``--stall-monitor``: a StallMonitor (the [health] defaults) watches the loop during every
operation, so its effect on the longest stretch shows side by side with a run without it."""


async def probed(operation: Callable[[], Awaitable[str]]) -> dict[str, Any]:
    """Run ``operation`` with the probe beside it; its lags, duration and description."""
    monitor_db = Database(":memory:", config=MonitoringConfig())
    monitor = StallMonitor(monitor_db).start() if WITH_STALL_MONITOR else None
    probe = Probe()
    probe.start()
    started = now()
    try:
        with Callbacks() as callbacks:
            what = await operation()
    finally:
        if monitor is not None:
            monitor.stop()
        await monitor_db.close()
    elapsed = now() - started
    await probe.stop()
    if monitor is not None:
        what += f"; {monitor.stalls_total} stalls seen by the stall monitor"
    return {
        **probe.summary(),
        "longest_callback_ms": round(callbacks.longest * 1e3, 2),
        "longest_callback": callbacks.what,
        "longest_callback_cpu_ms": round(callbacks.longest_cpu * 1e3, 2),
        "gc_in_longest_callback_ms": round(callbacks.longest_gc * 1e3, 2),
        "longest_callback_without_gc_ms": round(callbacks.longest_without_gc * 1e3, 2),
        "longest_collection_ms": round(callbacks.longest_collection * 1e3, 2),
        "collections": callbacks.collections,
        "seconds": round(elapsed, 1),
        "what": what,
    }


async def ingest(folder: Path, count: int) -> dict[str, Any]:
    db = Database(folder / "ingest.db", config=MonitoringConfig())
    try:
        await db.connect()
        log = create_monitoring_system(db, make_current=False).cmd_logger.log_command
        calls = workload(POOL)
        # The benchmark's own inputs stay out of the collector's way: a full collection walks
        # every live object, and a pause it causes here would be the benchmark's, not the bot's.
        gc.collect()
        gc.freeze()

        async def run() -> str:
            sleep = asyncio.sleep
            recorder = db.recorder
            waited = 0.0
            for index in range(count):
                await calls[index % POOL].log(log)
                await sleep(0)  # The next command comes in the next loop iteration.
                if recorder.pending > BACKLOG:
                    waited += await wait_for_writer(recorder, BACKLOG // 5)
            await db.flush()
            stats = recorder.stats()
            return (
                f"{stats['written']:,} commands written, {stats['dropped']} dropped;"
                f" paused {waited:.0f}s for the writer"
            )

        return await probed(run)
    finally:
        gc.unfreeze()
        await db.close()


async def reports(rows: int, repeats: int) -> dict[str, Any]:
    data = dataset(rows)
    db = Database(data.path, config=MonitoringConfig(), clock=ManualClock(data.at))
    try:
        await db.connect()
        system = create_monitoring_system(db, make_current=False)

        async def run() -> str:
            for index in range(repeats):
                guild = data.guild(index * 37)
                await system.stats_collector.generate_weekly_report(guild)
                await system.stats_collector.generate_monthly_report(guild)
                await system.perf_monitor.get_performance_stats(guild, 7)
            return f"{repeats * 3} reports over {rows:,} audit rows"

        return await probed(run)
    finally:
        await db.close()


async def prune(folder: Path, rows: int) -> dict[str, Any]:
    data = dataset(rows)
    copy = folder / "prune.db"
    # A copy, made before the probe starts: pruning must not eat the cached database.
    await asyncio.to_thread(shutil.copyfile, data.path, copy)
    db = Database(copy, config=MonitoringConfig(), clock=ManualClock(data.at))
    try:
        await db.connect()
        logger = create_monitoring_system(db, make_current=False).cmd_logger

        async def run() -> str:
            deleted = await logger.clear_old_logs(30)
            return f"{deleted:,} expired audit rows deleted out of {rows:,}"

        return await probed(run)
    finally:
        await db.close()


async def idle(seconds: float) -> dict[str, Any]:
    """The probe over an idle loop: the floor set by the machine (timer slack, the system
    scheduling other work), below which no operation's figure can go."""

    async def run() -> str:
        await asyncio.sleep(seconds)
        return f"nothing running for {seconds:.0f}s"

    return await probed(run)


async def main(commands: int, rows: int, repeats: int, idle_seconds: float) -> None:
    dataset(rows)  # Generated (or found) before anything is timed.
    # The pruned copy is as large as the cached database: it goes beside it, not in /tmp.
    with workdir("event-loop-") as scratch, workdir("prune-", DATA_DIR) as big:
        results = {
            "idle loop (floor)": await idle(idle_seconds),
            "ingest": await ingest(Path(scratch), commands),
            "report": await reports(rows, repeats),
            "prune": await prune(Path(big), rows),
        }
    report(results)


def report(results: dict[str, dict[str, Any]]) -> None:
    table = Table(
        "Event loop: longest blocking stretch (1 ms lag probe)",
        [
            "operation",
            "max ms",
            "p99 ms",
            "longest callback ms",
            "its CPU ms",
            "of it GC",
            "longest w/o GC",
            "seconds",
            "what",
        ],
    )
    for name, r in results.items():
        table.add(
            name,
            f"{r['max_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['longest_callback_ms']:.2f} ({r['longest_callback']})",
            f"{r['longest_callback_cpu_ms']:.2f}",
            f"{r['gc_in_longest_callback_ms']:.2f}",
            f"{r['longest_callback_without_gc_ms']:.2f}",
            f"{r['seconds']:.1f}",
            r["what"],
        )
    targets = {
        name: {"max_ms": r["max_ms"], "limit_ms": TARGET_MS, "met": r["max_ms"] <= TARGET_MS}
        for name, r in results.items()
        if not name.startswith("idle")
    }
    emit("event_loop", {"operations": results, "targets": targets}, table)


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument(
        "--stall-monitor", action="store_true", help="watch the loop with a StallMonitor meanwhile"
    )
    args = cli.parse_args()
    WITH_STALL_MONITOR = args.stall_monitor
    if args.quick:
        asyncio.run(main(commands=100_000, rows=1_000_000, repeats=10, idle_seconds=10))
    else:
        asyncio.run(main(commands=1_000_000, rows=10_000_000, repeats=30, idle_seconds=60))
