"""Stall monitor: what watching the event loop costs an idle bot, in CPU.

An idle bot's event loop has nothing to do between commands: it sleeps in the selector. The stall
monitor wakes it every ``stall_interval`` (its beat, a callback re-armed with ``call_later``) and
wakes its watchdog thread about every ``stall_threshold``. That is its whole cost, paid per
second rather than per command, so it is measured here on an idle process: a child process runs
an event loop with nothing to do for ``--seconds``, without the monitor or with it at a given
interval, and its CPU time (all threads: the loop's and the watchdog's) is read before and after.

Each round runs one child per configuration, in an order that rotates, so the machine's load
falls on every configuration alike; medians over rounds are reported, in % of one core, and the
monitor's cost as the median of the per-round differences to the child without it. The target is
0.1 % of one core at the defaults.

Run: ``benchmarks/.venv/bin/python benchmarks/stall_monitor.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from _common import Table, emit, median, parser

from monitoring_cog import Database, MonitoringConfig
from monitoring_cog.vitals import StallMonitor

CONFIGS: dict[str, tuple[float, float] | None] = {
    "without": None,
    "0.05 s / 0.2 s": (0.05, 0.2),
    "0.1 s / 0.2 s": (0.1, 0.2),
    "0.2 s / 0.4 s": (0.2, 0.4),
    "0.25 s / 0.5 s": (0.25, 0.5),
}
"""Configuration name -> the monitor's (stall_interval, stall_threshold); None: no monitor.
The beat runs every interval; the watchdog wakes about every threshold while the loop is fine."""
DEFAULT = "0.1 s / 0.2 s"
"""The ``[health]`` defaults."""
WARMUP = 1.0
TARGET_PERCENT = 0.1


async def child(interval: float, threshold: float, seconds: float) -> dict[str, Any]:
    db = Database(":memory:", config=MonitoringConfig())
    monitor = None
    if interval:
        monitor = StallMonitor(
            db, threshold=threshold, interval=interval, warning=max(1.0, threshold)
        ).start()
    await asyncio.sleep(WARMUP)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    beats = stalls = 0
    if monitor is not None:
        counts, _ = monitor.lag_histogram()
        beats, stalls = sum(counts), monitor.stalls_total
        monitor.stop()
    await db.close()
    return {"cpu": cpu, "wall": wall, "beats": beats, "stalls": stalls}


def run_child(name: str, seconds: float) -> dict[str, Any]:
    interval, threshold = CONFIGS[name] or (0.0, 0.0)
    command = [sys.executable, __file__, "--child", str(interval), str(threshold), str(seconds)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(rounds: int, seconds: float) -> None:
    names = list(CONFIGS)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            runs[name].append(run_child(name, seconds))
    table = Table(
        f"Stall monitor on an idle event loop: CPU of the whole process (all threads), median"
        f" of {rounds} rounds x {seconds:.0f} s",
        ["configuration", "% of a core", "added", "beats/s", "stalls"],
    )
    results: dict[str, Any] = {"rounds": rounds, "seconds": seconds, "configs": {}}
    base = [r["cpu"] / r["wall"] * 100 for r in runs["without"]]
    for name in names:
        percents = [r["cpu"] / r["wall"] * 100 for r in runs[name]]
        added = median(p - b for p, b in zip(percents, base, strict=True))
        beats = median(r["beats"] / r["wall"] for r in runs[name])
        stalls = sum(r["stalls"] for r in runs[name])
        results["configs"][name] = {
            "interval_and_threshold": CONFIGS[name],
            "percent": round(median(percents), 4),
            "added_percent": round(added, 4),
            "beats_per_second": round(beats, 1),
            "stalls": stalls,
            "per_round_percent": [round(p, 4) for p in percents],
        }
        table.add(
            name,
            f"{median(percents):.3f}",
            "-" if name == "without" else f"{added:+.3f}",
            f"{beats:.1f}",
            str(stalls),
        )
    default = results["configs"][DEFAULT]["added_percent"]
    results["target"] = {
        "added_percent": default,
        "limit_percent": TARGET_PERCENT,
        "met": default <= TARGET_PERCENT,
    }
    emit("stall_monitor", results, table)


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--rounds", type=int, help="rounds of every configuration (default 5)")
    cli.add_argument("--seconds", type=float, help="seconds each child idles (default 20)")
    cli.add_argument("--child", nargs=3, metavar=("INTERVAL", "THRESHOLD", "SECONDS"))
    args = cli.parse_args()
    if args.child:
        interval, threshold, seconds = (float(value) for value in args.child)
        print(json.dumps(asyncio.run(child(interval, threshold, seconds))))
    else:
        rounds, seconds = (2, 3.0) if args.quick else (5, 20.0)
        main(args.rounds or rounds, args.seconds or seconds)
