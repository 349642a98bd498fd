"""Ingest: sustained audited commands per second into SQLite, against raw and naive writes.

Four ways of getting the same audit rows (1,000 guilds, 50 members each, 25 commands, 2 % failures)
into a SQLite file with this project's schema, each into its own file:

- ``raw``: pre-built rows, ``sqlite3`` ``executemany`` in batches of 1,000, a commit per batch,
  with the same pragmas as this project (WAL, ``synchronous=NORMAL``): the practical limit. It
  writes the audit rows only.
- ``log_command``: this project's public API, ``await cmd_logger.log_command(...)`` per command
  (yielding to the event loop every 100 calls, as a bot between gateway events), then
  ``await db.flush()``: audit rows plus every rollup, until all of it is committed.
- ``cog hooks``: the cog's own ``before_invoke`` / ``after_invoke`` hooks on real, parsed
  ``commands.Context`` objects for the same commands, guilds and members (built untimed), then
  ``db.flush()``.
- ``naive``: one ``INSERT`` and one commit per command, ``sqlite3`` defaults (rollback journal,
  ``synchronous=FULL``), as a monitoring module written the simple way does.

Configurations are interleaved round by round; each keeps appending to its own file. The figure
is the median, over rounds, of rows committed per second of wall clock.

Run: ``benchmarks/.venv/bin/python benchmarks/ingest.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _common import (
    COMMANDS,
    GUILD_BASE,
    USER_BASE,
    Call,
    Fixture,
    Table,
    add_fixture,
    build_bot,
    close_bot,
    emit,
    interleaved,
    median,
    now,
    other_threads_cpu,
    parser,
    thread_cpu,
    workdir,
    workload,
)
from discord.ext import commands

from monitoring_cog import Database, MonitoringConfig, create_monitoring_system
from monitoring_cog.storage.migrations import load_migrations

CONFIGS = ("raw", "log_command", "cog hooks", "naive")
GUILDS = 1000
MEMBERS = 50
YIELD_EVERY = 100
RAW_BATCH = 1000
TARGET_OF_RAW = 0.5
TARGET_OVER_NAIVE = 100.0

INSERT = (
    "INSERT INTO audit_logs (guild_id, guild_name, user_id, username, command, parameters,"
    " duration, success, error_type, error_message, executed_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def audit_row(call: Call, at: float) -> tuple[Any, ...]:
    """The audit row this project stores for ``call`` (parameters as compact JSON)."""
    return (
        call.guild_id,
        call.guild_name,
        call.user_id,
        call.username,
        call.command,
        json.dumps(call.parameters or {}, separators=(",", ":"), ensure_ascii=False),
        call.duration,
        call.success,
        call.error_type,
        call.error_message,
        at,
    )


def schema(path: Path, *, tuned: bool) -> sqlite3.Connection:
    """A file with this project's schema; ``tuned``: this project's pragmas, else defaults."""
    conn = sqlite3.connect(path, isolation_level=None)
    if tuned:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN")
    for migration in load_migrations("sqlite"):
        for statement in migration.statements:
            conn.execute(statement)
    conn.execute("COMMIT")
    return conn


def register_guilds(conn: sqlite3.Connection, calls: list[Call]) -> None:
    """Insert the guilds the rows refer to (audit_logs references servers), untimed."""
    guilds = {call.guild_id: call.guild_name for call in calls}
    conn.execute("BEGIN")
    conn.executemany("INSERT OR IGNORE INTO servers VALUES (?, ?, 0, 0)", list(guilds.items()))
    conn.execute("COMMIT")


class Raw:
    """``executemany`` in batches, one commit per batch: the practical limit."""

    def __init__(self, folder: Path, calls: list[Call]) -> None:
        self.conn = schema(folder / "raw.db", tuned=True)
        register_guilds(self.conn, calls)

    def run(self, rows: list[tuple[Any, ...]]) -> None:
        conn = self.conn
        for start in range(0, len(rows), RAW_BATCH):
            conn.execute("BEGIN")
            conn.executemany(INSERT, rows[start : start + RAW_BATCH])
            conn.execute("COMMIT")


class Naive:
    """An INSERT and a commit per command, with sqlite3's defaults."""

    def __init__(self, folder: Path, calls: list[Call]) -> None:
        self.conn = sqlite3.connect(folder / "naive.db")
        self.conn.close()
        schema(folder / "naive.db", tuned=False).close()
        self.conn = sqlite3.connect(folder / "naive.db")
        register_guilds_default(self.conn, calls)

    async def log(self, row: tuple[Any, ...]) -> None:
        self.conn.execute(INSERT, row)
        self.conn.commit()


def register_guilds_default(conn: sqlite3.Connection, calls: list[Call]) -> None:
    guilds = {call.guild_id: call.guild_name for call in calls}
    conn.executemany("INSERT OR IGNORE INTO servers VALUES (?, ?, 0, 0)", list(guilds.items()))
    conn.commit()


async def drive(items: list[Any], call: Callable[[Any], Awaitable[Any]]) -> None:
    """Await ``call`` for each item, yielding to the loop every ``YIELD_EVERY`` items."""
    sleep = asyncio.sleep
    for index, item in enumerate(items):
        await call(item)
        if index % YIELD_EVERY == YIELD_EVERY - 1:
            await sleep(0)


class Hooks:
    """The cog's invoke hooks on real contexts for the same commands, guilds and members."""

    def __init__(self, bot: commands.Bot, monitor: Any, fixtures: list[Fixture]) -> None:
        self.bot = bot
        self.db = monitor.db
        self.fixtures = fixtures

    @classmethod
    async def create(cls, folder: Path, guilds: int, members: int) -> Hooks:
        bot, monitor = await build_bot("ours", folder)
        for name in COMMANDS:
            if bot.get_command(name) is None:
                _add_command(bot, name)
        fixtures = [add_fixture(bot, members=members) for _ in range(guilds)]
        return cls(bot, monitor, fixtures)

    async def contexts(self, calls: list[Call], members: int) -> list[Any]:
        """A parsed context per call (built untimed): its guild, member, command, argument."""
        made = []
        for call in calls:
            guild = int(call.guild_id) - GUILD_BASE
            member = (int(call.user_id) - USER_BASE) - guild * members
            query = (call.parameters or {}).get("query")
            content = f"!{call.command}" + (f" {query}" if query else "")
            ctx = await self.bot.get_context(
                self.fixtures[guild].message(self.bot, content, member)
            )
            ctx.args = [ctx] if query is None else [ctx, query]
            ctx.command_failed = False
            made.append(ctx)
        return made

    async def run(self, contexts: list[Any]) -> None:
        before = self.bot._before_invoke
        after = self.bot._after_invoke
        assert before is not None and after is not None
        sleep = asyncio.sleep
        for index, ctx in enumerate(contexts):
            await before(ctx)
            await after(ctx)
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                await sleep(0)
        await self.db.flush()


def _add_command(bot: commands.Bot, name: str) -> None:
    """A no-op prefix command ``name`` (``play`` takes a query; spaces make subcommands)."""
    parent, _, child = name.rpartition(" ")
    if parent:
        group = bot.get_command(parent)
        if group is None:

            @bot.group(name=parent, invoke_without_command=True)
            async def group_command(ctx: commands.Context[Any]) -> None:
                """A command group."""

            group = group_command
        assert isinstance(group, commands.Group)
        target: Any = group
    else:
        target = bot
    if child == "play" or name == "play":

        @target.command(name=child or name)
        async def play(ctx: commands.Context[Any], *, query: str) -> None:
            """Play a song."""

    else:

        @target.command(name=child or name)
        async def noop(ctx: commands.Context[Any]) -> None:
            """A no-op command."""


async def main(rounds: int, chunk: int, naive_chunk: int) -> None:
    logging.getLogger("discord").setLevel(logging.WARNING)
    calls = workload(chunk * (rounds + 1), guilds=GUILDS, users=MEMBERS)
    with workdir("ingest-") as scratch:
        folder = Path(scratch)
        raw = Raw(folder, calls)
        naive = Naive(folder, calls)
        db = Database(folder / "ours.db", config=MonitoringConfig())
        async with contextlib.AsyncExitStack() as cleanup:
            cleanup.callback(raw.conn.close)
            cleanup.callback(naive.conn.close)
            cleanup.push_async_callback(db.close)
            await db.connect()
            logger = create_monitoring_system(db, make_current=False).cmd_logger
            (folder / "hooks").mkdir()
            hooks = await Hooks.create(folder / "hooks", guilds=GUILDS, members=MEMBERS)
            cleanup.push_async_callback(close_bot, hooks.bot)
            position = {config: 0 for config in CONFIGS}

            async def log(call: Call) -> None:
                await logger.log_command(
                    call.guild_id,
                    call.guild_name,
                    call.user_id,
                    call.username,
                    call.command,
                    call.parameters,
                    call.duration,
                    call.success,
                    call.error_message,
                    error_type=call.error_type,
                )

            async def measure(config: str) -> tuple[float, float, float]:
                size = naive_chunk if config == "naive" else chunk
                start_at = position[config]
                batch = calls[start_at : start_at + size]
                position[config] += size
                base = 1_700_000_000.0 + start_at * 0.01
                if config in ("raw", "naive"):
                    rows = [audit_row(call, base + i * 0.01) for i, call in enumerate(batch)]
                elif config == "cog hooks":
                    contexts = await hooks.contexts(batch, MEMBERS)
                started = now()
                loop_cpu, worker_cpu = thread_cpu(), other_threads_cpu()
                if config == "raw":
                    raw.run(rows)
                elif config == "naive":
                    await drive(rows, naive.log)
                elif config == "log_command":
                    await drive(batch, log)
                    await db.flush()
                else:
                    await hooks.run(contexts)
                elapsed = now() - started
                return (
                    size / elapsed,
                    (thread_cpu() - loop_cpu) / size,
                    (other_threads_cpu() - worker_cpu) / size,
                )

            samples = await interleaved(CONFIGS, rounds, measure, warmup=1)
            dropped = {
                "log_command": db.recorder.dropped,
                "cog hooks": hooks.db.recorder.dropped,
            }
    report(samples, rounds, chunk, naive_chunk, dropped)


def report(
    samples: dict[str, list[tuple[float, float, float]]],
    rounds: int,
    chunk: int,
    naive_chunk: int,
    dropped: dict[str, int],
) -> None:
    medians = {config: median(s[0] for s in values) for config, values in samples.items()}
    loop_us = {config: median(s[1] for s in values) * 1e6 for config, values in samples.items()}
    worker_us = {config: median(s[2] for s in values) * 1e6 for config, values in samples.items()}
    raw, naive = medians["raw"], medians["naive"]
    table = Table(
        f"Ingest: audited commands per second into SQLite, median of {rounds} interleaved"
        f" rounds ({chunk:,} rows; naive {naive_chunk:,})",
        ["path", "rows/s", "of raw", "x naive", "loop µs/row", "SQLite thread µs/row", "writes"],
    )
    writes = {
        "raw": "audit rows only",
        "log_command": "audit rows + rollups",
        "cog hooks": "audit rows + rollups",
        "naive": "audit rows only",
    }
    results: dict[str, Any] = {
        "rounds": rounds,
        "chunk": chunk,
        "naive_chunk": naive_chunk,
        "rows_per_s": {k: round(v) for k, v in medians.items()},
        "loop_cpu_us_per_row": {k: round(v, 2) for k, v in loop_us.items()},
        "worker_cpu_us_per_row": {k: round(v, 2) for k, v in worker_us.items()},
        "dropped": dropped,
        "targets": {},
    }
    for config in CONFIGS:
        rate = medians[config]
        table.add(
            config,
            f"{rate:,.0f}",
            f"{rate / raw:.2f}",
            f"{rate / naive:,.1f}",
            f"{loop_us[config]:.1f}",
            f"{worker_us[config]:.1f}" if config in ("log_command", "cog hooks") else "-",
            writes[config],
        )
        if config in ("log_command", "cog hooks"):
            results["targets"][config] = {
                "of_raw": round(rate / raw, 3),
                "over_naive": round(rate / naive, 1),
                "met": rate / raw >= TARGET_OF_RAW and rate / naive >= TARGET_OVER_NAIVE,
            }
    emit("ingest", results, table)


if __name__ == "__main__":
    args = parser(__doc__.splitlines()[0]).parse_args()
    if args.quick:
        asyncio.run(main(rounds=2, chunk=2_000, naive_chunk=50))
    else:
        asyncio.run(main(rounds=7, chunk=20_000, naive_chunk=300))
