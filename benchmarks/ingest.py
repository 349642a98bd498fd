"""Ingest: sustained audited commands per second into SQLite and PostgreSQL, against raw and naive.

Four ways of getting the same audit rows (1,000 guilds, 50 members each, 25 commands, 2 % failures)
into a SQLite file with this project's schema, each into its own file:

- ``raw``: pre-built rows, ``sqlite3`` ``executemany`` in batches of 1,000, a commit per batch,
  with the same pragmas as this project (``storage.sqlite.PRAGMAS``: WAL, ``synchronous=NORMAL``,
  foreign keys, its page cache and checkpoint interval): the practical limit. It writes the audit
  rows only.
- ``log_command``: this project's public API, ``await cmd_logger.log_command(...)`` per command
  (yielding to the event loop every 100 calls, as a bot between gateway events), then
  ``await db.flush()``: audit rows plus every rollup, until all of it is committed.
- ``cog hooks``: the cog's own ``before_invoke`` / ``after_invoke`` hooks on real, parsed
  ``commands.Context`` objects for the same commands, guilds and members (built untimed), then
  ``db.flush()``.
- ``naive``: one ``INSERT`` and one commit per command, ``sqlite3`` defaults (rollback journal,
  ``synchronous=FULL``), as a monitoring module written the simple way does.

and the same four on PostgreSQL (``pg ...``), each in a database of its own created on the server
for the run (``monitoring_cog_bench_<pid>_<name>``) and dropped at the end, whatever happens:

- ``pg raw``: the same rows with asyncpg ``copy_records_to_table`` (what this project's writer
  uses for audit rows) in batches of 1,000, one transaction per batch: the practical limit.
- ``pg log_command`` and ``pg cog hooks``: as above, with ``Database("postgresql://...")`` and
  the cog configured with ``[database] url``.
- ``pg naive``: one ``INSERT`` per command over asyncpg, each its own transaction (a commit), with
  the server's defaults (``synchronous_commit = on``).

Configurations are interleaved round by round; each keeps appending to its own database. The
figure is the median, over rounds, of rows committed per second of wall clock; ratios are taken
against the same backend's raw and naive. Beside it: CPU time per row of the event loop's thread,
and of the database's own work where it runs elsewhere (SQLite's worker thread for the project's
paths; the PostgreSQL server processes serving that configuration's database, when the server is
on this machine).

Run: ``benchmarks/.venv/bin/python benchmarks/ingest.py`` (``--quick`` for a smoke run;
``--backend sqlite|postgresql|both``, ``--postgres-url`` or ``$MONITORING_BENCH_POSTGRES_URL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import sqlite3
import sys
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil
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
from monitoring_cog.config.urls import redact_url
from monitoring_cog.storage.base import AUDIT_ROW_COLUMNS
from monitoring_cog.storage.migrations import load_migrations
from monitoring_cog.storage.sqlite import PRAGMAS, register_functions

SQLITE_CONFIGS = ("raw", "log_command", "cog hooks", "naive")
PG_CONFIGS = ("pg raw", "pg log_command", "pg cog hooks", "pg naive")
BACKENDS = {"sqlite": SQLITE_CONFIGS, "postgresql": PG_CONFIGS}
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL_ENV = "MONITORING_BENCH_POSTGRES_URL"
CONNECT_TIMEOUT = 5.0
GUILDS = 1000
MEMBERS = 50
YIELD_EVERY = 100
RAW_BATCH = 1000
TARGET_OF_RAW = 0.5
TARGET_OVER_NAIVE = 100.0

INSERT = (
    f"INSERT INTO audit_logs ({', '.join(AUDIT_ROW_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(AUDIT_ROW_COLUMNS))})"
)
PG_INSERT = (
    f"INSERT INTO audit_logs ({', '.join(AUDIT_ROW_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(AUDIT_ROW_COLUMNS) + 1))})"
)
WRITES = {
    "raw": "audit rows only",
    "log_command": "audit rows + rollups",
    "cog hooks": "audit rows + rollups",
    "naive": "audit rows only",
}


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


def kind(config: str) -> str:
    """The path a configuration measures, without its backend: ``pg raw`` -> ``raw``."""
    return config.removeprefix("pg ")


def backend_of(config: str) -> str:
    """``postgresql`` for the ``pg ...`` configurations, else ``sqlite``."""
    return "postgresql" if config.startswith("pg ") else "sqlite"


async def drive(items: list[Any], call: Callable[[Any], Awaitable[Any]]) -> None:
    """Await ``call`` for each item, yielding to the loop every ``YIELD_EVERY`` items."""
    sleep = asyncio.sleep
    for index, item in enumerate(items):
        await call(item)
        if index % YIELD_EVERY == YIELD_EVERY - 1:
            await sleep(0)


# -- the configurations ----------------------------------------------------------------------


class Ingest(ABC):
    """One configuration: what it builds untimed before a round, and the timed write."""

    db: Database | None = None
    """This project's database, for the paths through it (its drop counter is reported)."""
    url: str | None = None
    """The PostgreSQL database written to (its server processes' CPU time is measured)."""

    @abstractmethod
    async def prepare(self, calls: list[Call], base: float) -> Any:
        """What :meth:`run` takes for ``calls`` (rows, contexts), built untimed."""

    @abstractmethod
    async def run(self, prepared: Any) -> None:
        """Write ``prepared``, returning once every row is committed."""


class RowsIngest(Ingest):
    """The raw and naive paths take pre-built audit rows, timestamped ``base`` + 10 ms each."""

    async def prepare(self, calls: list[Call], base: float) -> list[tuple[Any, ...]]:
        return [audit_row(call, base + i * 0.01) for i, call in enumerate(calls)]


def sqlite_schema(path: Path, *, tuned: bool) -> sqlite3.Connection:
    """A file with this project's schema; ``tuned``: this project's pragmas, else defaults."""
    conn = sqlite3.connect(path, isolation_level=None)
    register_functions(conn)  # The migrations use them.
    if tuned:
        for pragma in PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
    conn.execute("BEGIN")
    for migration in load_migrations("sqlite"):
        for statement in migration.statements:
            conn.execute(statement)
    conn.executemany("INSERT OR IGNORE INTO servers VALUES (?, ?, 0, 0)", guild_rows())
    conn.execute("COMMIT")
    return conn


def guild_rows() -> list[tuple[str, str]]:
    """The guilds the audit rows refer to (``audit_logs`` references ``servers``)."""
    return [(str(GUILD_BASE + guild), f"Guild {guild}") for guild in range(GUILDS)]


class SQLiteRaw(RowsIngest):
    """``executemany`` in batches, one commit per batch: the practical limit."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite_schema(path, tuned=True)

    async def run(self, prepared: list[tuple[Any, ...]]) -> None:
        conn = self.conn
        for start in range(0, len(prepared), RAW_BATCH):
            conn.execute("BEGIN")
            conn.executemany(INSERT, prepared[start : start + RAW_BATCH])
            conn.execute("COMMIT")


class SQLiteNaive(RowsIngest):
    """An INSERT and a commit per command, with sqlite3's defaults."""

    def __init__(self, path: Path) -> None:
        sqlite_schema(path, tuned=False).close()
        self.conn = sqlite3.connect(path)  # sqlite3's default transaction handling.

    async def run(self, prepared: list[tuple[Any, ...]]) -> None:
        await drive(prepared, self.log)

    async def log(self, row: tuple[Any, ...]) -> None:
        self.conn.execute(INSERT, row)
        self.conn.commit()


async def pg_schema(url: str) -> asyncpg.Connection[Any]:
    """A connection to ``url`` (an empty database), with this project's schema and guilds."""
    conn: asyncpg.Connection[Any] = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    async with conn.transaction():
        for migration in load_migrations("postgresql"):
            for statement in migration.statements:
                await conn.execute(statement)
        await conn.executemany("INSERT INTO servers VALUES ($1, $2, 0, 0)", guild_rows())
    return conn


class PostgresRaw(RowsIngest):
    """``copy_records_to_table`` in batches, one transaction per batch: the practical limit."""

    def __init__(self, conn: asyncpg.Connection[Any]) -> None:
        self.conn = conn

    async def run(self, prepared: list[tuple[Any, ...]]) -> None:
        conn = self.conn
        for start in range(0, len(prepared), RAW_BATCH):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "audit_logs",
                    records=prepared[start : start + RAW_BATCH],
                    columns=AUDIT_ROW_COLUMNS,
                )


class PostgresNaive(RowsIngest):
    """An INSERT per command, each its own transaction (asyncpg outside ``transaction()``)."""

    def __init__(self, conn: asyncpg.Connection[Any]) -> None:
        self.conn = conn

    async def run(self, prepared: list[tuple[Any, ...]]) -> None:
        await drive(prepared, self.log)

    async def log(self, row: tuple[Any, ...]) -> None:
        await self.conn.execute(PG_INSERT, *row)


class LogCommand(Ingest):
    """``log_command`` per call through this project's public API, then ``db.flush()``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.logger = create_monitoring_system(db, make_current=False).cmd_logger

    async def prepare(self, calls: list[Call], base: float) -> list[Call]:
        return calls  # Timestamps are the database clock's: now.

    async def run(self, prepared: list[Call]) -> None:
        await drive(prepared, self.log)
        assert self.db is not None
        await self.db.flush()

    async def log(self, call: Call) -> None:
        await call.log(self.logger.log_command)


class Hooks(Ingest):
    """The cog's invoke hooks on real contexts for the same commands, guilds and members."""

    def __init__(self, bot: commands.Bot, monitor: Any, fixtures: list[Fixture]) -> None:
        self.bot = bot
        self.db = monitor.db
        self.fixtures = fixtures

    @classmethod
    async def create(cls, folder: Path, database_url: str | None = None) -> Hooks:
        """A bot with this project loaded (into ``database_url`` if given) and the guilds.

        ``folder`` (an existing, empty folder) holds its config file and any SQLite file.
        """
        bot, monitor = await build_bot("ours", folder, database_url=database_url)
        if not monitor.db.is_connected:  # The cog logs a failed connect and carries on.
            await close_bot(bot)
            raise RuntimeError(f"the cog could not connect to {monitor.db.path}")
        for name in COMMANDS:
            if bot.get_command(name) is None:
                _add_command(bot, name)
        fixtures = [add_fixture(bot, members=MEMBERS) for _ in range(GUILDS)]
        return cls(bot, monitor, fixtures)

    async def prepare(self, calls: list[Call], base: float) -> list[Any]:
        """A parsed context per call: its guild, member, command and argument."""
        made = []
        for call in calls:
            guild = int(call.guild_id) - GUILD_BASE
            member = (int(call.user_id) - USER_BASE) - guild * MEMBERS
            query = (call.parameters or {}).get("query")
            content = f"!{call.command}" + (f" {query}" if query else "")
            ctx = await self.bot.get_context(
                self.fixtures[guild].message(self.bot, content, member)
            )
            ctx.args = [ctx] if query is None else [ctx, query]
            ctx.command_failed = False
            made.append(ctx)
        return made

    async def run(self, prepared: list[Any]) -> None:
        before = self.bot._before_invoke
        after = self.bot._after_invoke
        assert before is not None and after is not None and self.db is not None
        sleep = asyncio.sleep
        for index, ctx in enumerate(prepared):
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


# -- PostgreSQL: the run's databases, and the server's CPU time ------------------------------


class PostgresServer:
    """The server at an admin URL: databases created for one run, and what they cost it.

    Use as ``async with``: every database :meth:`create` made is dropped on the way out (with
    ``FORCE``, cutting any connection left open), on success, failure or Ctrl-C alike.
    """

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin: asyncpg.Connection[Any] | None = None
        self.created: list[str] = []
        self.version = ""
        host = urlsplit(admin_url).hostname
        # Server processes are only visible (psutil) when the server runs on this machine.
        self.local = host in (None, "", "localhost", "127.0.0.1", "::1")

    async def __aenter__(self) -> PostgresServer:
        self.admin = await asyncpg.connect(self.admin_url, timeout=CONNECT_TIMEOUT)
        self.version = str(await self.admin.fetchval("SHOW server_version"))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        admin, self.admin = self.admin, None
        try:
            if admin is None or admin.is_closed():  # E.g. the server restarted meanwhile.
                admin = await asyncpg.connect(self.admin_url, timeout=CONNECT_TIMEOUT)
            for name in reversed(self.created):
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.created.clear()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            left = ", ".join(self.created)
            print(f"note: could not drop the benchmark databases ({left}): {exc}", file=sys.stderr)
        finally:
            if admin is not None:
                await admin.close()

    async def create(self, config: str) -> str:
        """A new, empty database for ``config``; its URL."""
        assert self.admin is not None
        name = f"monitoring_cog_bench_{os.getpid()}_{re.sub(r'[^a-z0-9]+', '_', config)}"
        self.created.append(name)  # Before creating: dropping one that is not there is fine.
        await self.admin.execute(f'CREATE DATABASE "{name}"')
        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{name}"))

    async def cpu(self, url: str) -> dict[int, float] | None:
        """CPU seconds used so far by each server process connected to ``url``'s database.

        ``None`` when they cannot be read (a server on another machine).
        """
        if not self.local or self.admin is None:
            return None
        name = urlsplit(url).path.lstrip("/")
        pids = await self.admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
        used: dict[int, float] = {}
        for (pid,) in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                return None
            used[pid] = times.user + times.system
        return used


# -- the run ---------------------------------------------------------------------------------


def subfolder(folder: Path, name: str) -> Path:
    """A new folder ``name`` in ``folder``."""
    made = folder / name
    made.mkdir()
    return made


async def setup(
    configs: tuple[str, ...],
    folder: Path,
    server: PostgresServer | None,
    cleanup: contextlib.AsyncExitStack,
) -> dict[str, Ingest]:
    """Every configuration ready to run, each in its own database; closed by ``cleanup``."""
    made: dict[str, Ingest] = {}
    for config in configs:
        way = kind(config)
        if backend_of(config) == "sqlite":
            target: Path | str = folder / f"{way.replace(' ', '_')}.db"
        else:
            assert server is not None
            target = await server.create(config)
        ingest: Ingest
        if way in ("raw", "naive"):
            if isinstance(target, Path):
                local = SQLiteRaw(target) if way == "raw" else SQLiteNaive(target)
                cleanup.callback(local.conn.close)
                ingest = local
            else:
                conn = await pg_schema(target)
                cleanup.push_async_callback(conn.close)
                ingest = PostgresRaw(conn) if way == "raw" else PostgresNaive(conn)
        elif way == "log_command":
            db = Database(target, config=MonitoringConfig())
            cleanup.push_async_callback(db.close)
            await db.connect()
            ingest = LogCommand(db)
        else:
            hooks = await Hooks.create(
                subfolder(folder, f"hooks-{backend_of(config)}"),
                database_url=target if isinstance(target, str) else None,
            )
            cleanup.push_async_callback(close_bot, hooks.bot)
            ingest = hooks
        if isinstance(target, str):
            ingest.url = target
        made[config] = ingest
    return made


async def main(rounds: int, chunk: int, naive_chunk: int, backend: str, postgres_url: str) -> None:
    """Run the selected configurations, interleaved, and print the table and JSON line."""
    logging.getLogger("discord").setLevel(logging.WARNING)
    notes: list[str] = []
    calls = workload(chunk * (rounds + 1), guilds=GUILDS, users=MEMBERS)
    with workdir("ingest-") as scratch:
        async with contextlib.AsyncExitStack() as cleanup:
            server: PostgresServer | None = None
            if backend in ("postgresql", "both"):
                try:  # First on the stack: its databases are dropped last, after every close.
                    server = await cleanup.enter_async_context(PostgresServer(postgres_url))
                except (
                    OSError,
                    TimeoutError,
                    asyncpg.PostgresError,
                    asyncpg.InterfaceError,
                ) as exc:
                    note = f"PostgreSQL at {redact_url(postgres_url)} is unreachable ({exc})"
                    if backend == "postgresql":
                        raise SystemExit(f"ingest: {note}") from exc
                    notes.append(f"{note}: measured SQLite only")
                    print(f"note: {notes[-1]}", file=sys.stderr)
                    backend = "sqlite"
            configs = SQLITE_CONFIGS + PG_CONFIGS if backend == "both" else BACKENDS[backend]
            ingests = await setup(configs, Path(scratch), server, cleanup)
            position = dict.fromkeys(configs, 0)

            async def measure(config: str) -> tuple[float, float, float | None]:
                ingest = ingests[config]
                size = naive_chunk if kind(config) == "naive" else chunk
                start_at = position[config]
                position[config] += size
                prepared = await ingest.prepare(
                    calls[start_at : start_at + size], 1_700_000_000.0 + start_at * 0.01
                )
                before = await database_cpu(config, ingest, server)
                loop_cpu = thread_cpu()
                started = now()
                await ingest.run(prepared)
                elapsed = now() - started
                loop_cpu = thread_cpu() - loop_cpu
                after = await database_cpu(config, ingest, server)
                database_us = None
                if before is not None and after is not None:
                    database_us = used_since(before, after) / size
                return size / elapsed, loop_cpu / size, database_us

            samples = await interleaved(configs, rounds, measure, warmup=1)
            dropped = {
                config: ingest.db.recorder.dropped
                for config, ingest in ingests.items()
                if ingest.db is not None
            }
    report(
        samples,
        rounds,
        chunk,
        naive_chunk,
        dropped,
        notes,
        {"postgresql_server": server.version} if server else {},
    )


async def database_cpu(
    config: str, ingest: Ingest, server: PostgresServer | None
) -> dict[int, float] | None:
    """CPU seconds so far of the database work ``config`` runs outside the event loop's thread.

    SQLite through this project: its worker thread (every other thread of this process). On
    PostgreSQL: the server processes connected to the configuration's database. SQLite's raw
    and naive paths run on the loop's thread: ``None``.
    """
    if backend_of(config) == "sqlite":
        return {0: other_threads_cpu()} if kind(config) in ("log_command", "cog hooks") else None
    assert server is not None and ingest.url is not None
    return await server.cpu(ingest.url)


def used_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings (a process new since ``before`` from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def report(
    samples: dict[str, list[tuple[float, float, float | None]]],
    rounds: int,
    chunk: int,
    naive_chunk: int,
    dropped: dict[str, int],
    notes: list[str],
    versions: dict[str, str],
) -> None:
    """Print the table (ratios against the same backend's raw and naive) and the JSON line."""
    rates = {config: median(s[0] for s in values) for config, values in samples.items()}
    loop_us = {config: median(s[1] for s in values) * 1e6 for config, values in samples.items()}
    database_us: dict[str, float | None] = {}
    for config, values in samples.items():
        measured = [s[2] for s in values if s[2] is not None]
        database_us[config] = median(measured) * 1e6 if measured else None
    backends = sorted({backend_of(config) for config in samples}, reverse=True)
    table = Table(
        f"Ingest: audited commands per second into {' and '.join(backends)}, median of"
        f" {rounds} interleaved rounds ({chunk:,} rows; naive {naive_chunk:,})",
        [
            "path",
            "rows/s",
            "of raw",
            "x naive",
            "loop µs/row",
            "database CPU µs/row",
            "writes",
        ],
    )
    results: dict[str, Any] = {
        "rounds": rounds,
        "chunk": chunk,
        "naive_chunk": naive_chunk,
        "backends": backends,
        **versions,
        "rows_per_s": {k: round(v) for k, v in rates.items()},
        "loop_cpu_us_per_row": {k: round(v, 2) for k, v in loop_us.items()},
        "database_cpu_us_per_row": {
            k: None if v is None else round(v, 2) for k, v in database_us.items()
        },
        "dropped": dropped,
        "notes": notes,
        "targets": {},
    }
    for config in samples:
        prefix = "pg " if backend_of(config) == "postgresql" else ""
        raw, naive = rates[f"{prefix}raw"], rates[f"{prefix}naive"]
        rate = rates[config]
        used = database_us[config]
        table.add(
            config,
            f"{rate:,.0f}",
            f"{rate / raw:.2f}",
            f"{rate / naive:,.1f}",
            f"{loop_us[config]:.1f}",
            "-" if used is None else f"{used:.1f}",
            WRITES[kind(config)],
        )
        if kind(config) in ("log_command", "cog hooks"):
            results["targets"][config] = {
                "of_raw": round(rate / raw, 3),
                "over_naive": round(rate / naive, 1),
                "met": rate / raw >= TARGET_OF_RAW and rate / naive >= TARGET_OVER_NAIVE,
            }
    emit("ingest", results, table)


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument(
        "--backend",
        choices=("sqlite", "postgresql", "both"),
        default="both",
        help="which backends to measure (default both; PostgreSQL skipped if unreachable)",
    )
    cli.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL),
        help="a database on the server to measure, used to create and drop the run's own"
        f" databases (default ${POSTGRES_URL_ENV}, else {DEFAULT_POSTGRES_URL})",
    )
    args = cli.parse_args()
    sizes = (2, 2_000, 50) if args.quick else (7, 20_000, 300)
    try:
        asyncio.run(main(*sizes, backend=args.backend, postgres_url=args.postgres_url))
    except KeyboardInterrupt:  # The run's databases were dropped on the way out.
        sys.exit(130)
