"""Memory: resident memory after a million audited commands, this project beside its peers.

Each configuration runs in a process of its own, so resident memory (RSS) is its alone: a bot
(see ``hot_path.py``) with 100 guilds of 10 members, monitored as its documentation says, runs a
million commands through discord.py's real dispatch, three prefix commands (one with arguments)
to every slash command, from every member in turn. This project records into a SQLite file with
its writer running; whenever more than 10,000 records are queued the driver lets the loop idle
until the writer catches up (see ``BACKLOG``; the pauses are reported). RSS is read after set-up
and a short warm-up, and again after the commands (and, for this project, after its queue is
written); both after a full garbage collection.

Run: ``benchmarks/.venv/bin/python benchmarks/memory.py`` (``--quick``: 100 thousand commands).
Two configurations run at a time; timing does not matter here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import (
    CONFIGS,
    Table,
    add_fixture,
    build_bot,
    close_bot,
    drain_ready,
    emit,
    parser,
    patch_webhooks,
    recorded,
    wait_for_writer,
    workdir,
)
from discord.ext import commands

GUILDS = 100
MEMBERS = 10
WARMUP = 20_000
TARGET_MIB = 20.0
BACKLOG = 10_000
"""Queued records past which the driver lets the loop idle until the writer catches up.

Commands run back to back come faster than the writer stores them on a slow machine (see
``ingest.py``): the queue would fill and records be dropped (counted), which would measure a full
queue, not this project's memory. The pauses are reported.
"""
MIB = 2**20


def rss() -> int:
    """Resident memory of this process, in bytes, after a full collection."""
    import psutil

    gc.collect()
    return int(psutil.Process().memory_info().rss)


async def run_one(kind: str, count: int) -> dict[str, Any]:
    """Set up ``kind``, run ``count`` commands, return RSS figures (in this process)."""
    logging.getLogger("discord").setLevel(logging.WARNING)
    patch_webhooks()
    with workdir("memory-") as scratch:
        bot, monitor = await build_bot(kind, Path(scratch))

        @bot.command(name="echo")
        async def echo(ctx: commands.Context[Any], word: str, times: int = 1) -> None:
            """A command with arguments."""

        inputs: list[tuple[str, Any]] = []
        for _ in range(GUILDS):
            fixture = add_fixture(bot, members=MEMBERS)
            for member in range(MEMBERS):
                inputs.append(("prefix", fixture.message(bot, "!ping", member)))
                inputs.append(("prefix", fixture.message(bot, "!echo hello 3", member)))
                inputs.append(("prefix", fixture.message(bot, "!ping", member)))
                inputs.append(("slash", fixture.interaction_payload("ping", member)))
        try:
            await drive(bot, inputs, WARMUP, monitor)
            await settle(monitor)
            start = rss()
            waited = await drive(bot, inputs, count, monitor)
            await settle(monitor)
            end = rss()
            counted = recorded(kind, monitor)
        finally:
            await close_bot(bot)
    return {"kind": kind, "start": start, "end": end, "recorded": counted, "waited": waited}


async def drive(
    bot: commands.Bot, inputs: list[tuple[str, Any]], count: int, monitor: Any
) -> float:
    """Run ``count`` commands; return the seconds spent waiting for this project's writer."""
    recorder = getattr(getattr(monitor, "db", None), "recorder", None)
    waited = 0.0
    drain = drain_ready()
    process = bot.process_commands
    parse = bot._connection.parse_interaction_create
    size = len(inputs)
    for index in range(count):
        kind, item = inputs[index % size]
        if kind == "prefix":
            await process(item)
        else:
            parse(item)
        await asyncio.sleep(0)
        await drain()
        if recorder is not None and recorder.pending > BACKLOG:
            waited += await wait_for_writer(recorder, BACKLOG // 5)
    return waited


async def settle(monitor: Any) -> None:
    db = getattr(monitor, "db", None)
    if db is not None:
        await db.flush()
    await asyncio.sleep(0.05)


def child(kind: str, count: int) -> None:
    """Entry point of a configuration's own process: print its figures as JSON."""
    print(json.dumps(asyncio.run(run_one(kind, count))))


def main(count: int) -> None:
    def run(kind: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--count", str(count)],
            check=True,
            capture_output=True,
            text=True,
        )
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    with ThreadPoolExecutor(max_workers=2) as pool:
        figures = {result["kind"]: result for result in pool.map(run, CONFIGS)}
    report(figures, count)


def report(figures: dict[str, dict[str, Any]], count: int) -> None:
    table = Table(
        f"Memory: resident MiB after {count:,} commands through real dispatch",
        [
            "configuration",
            "start MiB",
            "after MiB",
            "growth MiB",
            "over bare MiB",
            "recorded",
            "paused s",
        ],
    )
    bare_growth = (figures["bare"]["end"] - figures["bare"]["start"]) / MIB
    results: dict[str, Any] = {"commands": count, "configs": {}}
    for kind in CONFIGS:
        f = figures[kind]
        growth = (f["end"] - f["start"]) / MIB
        results["configs"][kind] = {
            "start_mib": round(f["start"] / MIB, 1),
            "end_mib": round(f["end"] / MIB, 1),
            "growth_mib": round(growth, 1),
            "recorded": f["recorded"],
            "paused_for_writer_s": round(f["waited"], 1),
        }
        table.add(
            kind,
            f"{f['start'] / MIB:.1f}",
            f"{f['end'] / MIB:.1f}",
            f"{growth:+.1f}",
            f"{growth - bare_growth:+.1f}",
            f["recorded"],
            f"{f['waited']:.1f}",
        )
    ours = results["configs"]["ours"]["growth_mib"]
    results["target"] = {"growth_mib": ours, "limit_mib": TARGET_MIB, "met": ours <= TARGET_MIB}
    emit("memory", results, table)


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    # Used by main() to run one configuration in a process of its own.
    cli.add_argument("--child", help=argparse.SUPPRESS)
    cli.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.child:
        child(args.child, args.count)
    else:
        main(100_000 if args.quick else 1_000_000)
