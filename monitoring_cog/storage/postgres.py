"""The PostgreSQL backend (asyncpg): several processes or machines recording into one database.

Sharded bots run as several processes; each has its own recorder and writes its batches through
an asyncpg connection pool. What makes that safe:

- Every rollup is an ``INSERT ... ON CONFLICT DO UPDATE`` that adds to (or takes the min/max of)
  the stored row, so two processes writing the same (guild, day, command) never lose a count, and
  a guild is registered once whoever sees it first.
- Within a transaction each table's keys are upserted in one sorted order (the same in every
  process, and tables always in the same order), so two transactions never wait on each other's
  rows in a cycle: no deadlock.
- Migrations run under a transaction-scoped advisory lock, so processes starting together migrate
  the database once; the others wait for it and find it current.
- A write waits at most ``busy_timeout_ms`` for another session's lock (``lock_timeout``), then
  fails and is retried by the recorder, as with SQLite.

This module imports asyncpg; :func:`~monitoring_cog.storage.open_storage` imports this module
only for a ``postgresql://`` URL, so SQLite users never need asyncpg.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Iterable, Sequence
from datetime import date, timedelta
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import asyncpg

from ..analysis.growth import GrowthDay, PopulationSnapshot, growth_days
from ..clock import Clock, SystemClock
from ..config.urls import redact_url
from ..errors import DatabaseUnavailable, SchemaError
from .base import (
    AUDIT_COLUMNS,
    AUDIT_ROW_COLUMNS,
    STALL_COLUMNS,
    AuditQuery,
    CommandTotals,
    DayTotals,
    ServerInfo,
    Storage,
    audit_entry,
    command_totals_from_rows,
    day_totals_from_rows,
    stall_entry,
)
from .batch import WriteBatch
from .dashboard import (
    HEALTH_COLUMNS,
    AuditSearch,
    CommandDay,
    HealthReportRow,
    ServerActivity,
    activity_from_rows,
    audit_search_clauses,
    health_row_from_columns,
)
from .migrations import pending_migrations

__all__ = ("PostgresStorage",)

_log = logging.getLogger(__name__)

_MIGRATION_LOCK = int.from_bytes(b"moncog01", "big")
"""Key of the advisory lock migrations hold (any fixed 64-bit number; it is per database)."""
_MIGRATION_WAIT = "300s"
"""How long a process waits for another one's migration before giving up."""
_CONNECT_TIMEOUT = 10.0
"""Seconds to establish a connection (asyncpg's default of 60 hides a wrong host too long)."""
_CLOSE_TIMEOUT = 10.0
"""Seconds close waits for connections in use to be released before cutting them."""

_TABLES = (
    "servers",
    "audit_logs",
    "bot_stats",
    "daily_users",
    "command_stats",
    "command_latency",
    "command_minutes",
    "loop_stalls",
    "spill_replays",
    "guild_growth",
    "guild_population",
    "schema_migrations",
)
"""Every table of the schema (for :meth:`PostgresStorage.size_bytes`)."""

_STALL_ROW_COLUMNS = tuple(name.strip() for name in STALL_COLUMNS.split(","))
"""The ``loop_stalls`` columns a :data:`~monitoring_cog.storage.batch.StallRow` fills."""

_UNSTORABLE = (asyncpg.DataError, TypeError, ValueError)
"""What a batch holding values PostgreSQL refuses raises: NUL characters or lone surrogates in
text (SQLite stores both), or a non-bool ``success`` in a record built by hand."""


class _Upsert:
    """One rollup table's upsert, as one statement over arrays or as one statement per row.

    The array form (``unnest``) sends a table's rows in one round trip; its rows are inserted in
    array order, which the caller sorts. The per-row form is for batches that had to be cleaned
    (see :meth:`PostgresStorage.write`), where cleaning may have merged two keys into one, which
    a single statement may not update twice.
    """

    __slots__ = ("bulk", "row")

    def __init__(self, table: str, columns: Sequence[tuple[str, str]], keys: int, set_: str):
        names = ", ".join(name for name, _ in columns)
        conflict = (
            f"ON CONFLICT ({', '.join(name for name, _ in columns[:keys])}) DO UPDATE SET {set_}"
        )
        arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(columns, start=1))
        values = ", ".join(f"${i}::{kind}" for i, (_, kind) in enumerate(columns, start=1))
        self.bulk = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {conflict}"
        self.row = f"INSERT INTO {table} ({names}) VALUES ({values}) {conflict}"


_SERVERS = _Upsert(
    "servers",
    (
        ("guild_id", "text"),
        ("guild_name", "text"),
        ("first_seen", "float8"),
        ("last_seen", "float8"),
    ),
    1,
    "guild_name = COALESCE(excluded.guild_name, servers.guild_name),"
    " last_seen = GREATEST(servers.last_seen, excluded.last_seen)",
)
_DAYS = _Upsert(
    "bot_stats",
    (
        ("guild_id", "text"),
        ("day", "date"),
        ("songs_played", "int8"),
        ("playtime", "float8"),
        ("skips", "int8"),
        ("pauses", "int8"),
        ("commands", "int8"),
        ("failed_commands", "int8"),
    ),
    2,
    "songs_played = bot_stats.songs_played + excluded.songs_played,"
    " playtime = bot_stats.playtime + excluded.playtime,"
    " skips = bot_stats.skips + excluded.skips,"
    " pauses = bot_stats.pauses + excluded.pauses,"
    " commands = bot_stats.commands + excluded.commands,"
    " failed_commands = bot_stats.failed_commands + excluded.failed_commands",
)
_USERS = _Upsert(
    "daily_users",
    (("guild_id", "text"), ("day", "date"), ("user_id", "text"), ("commands", "int8")),
    3,
    "commands = daily_users.commands + excluded.commands",
)
_COMMANDS = _Upsert(
    "command_stats",
    (
        ("guild_id", "text"),
        ("day", "date"),
        ("command", "text"),
        ("count", "int8"),
        ("failures", "int8"),
        ("duration_sum", "float8"),
        ("duration_min", "float8"),
        ("duration_max", "float8"),
    ),
    3,
    "count = command_stats.count + excluded.count,"
    " failures = command_stats.failures + excluded.failures,"
    " duration_sum = command_stats.duration_sum + excluded.duration_sum,"
    " duration_min = LEAST(command_stats.duration_min, excluded.duration_min),"
    " duration_max = GREATEST(command_stats.duration_max, excluded.duration_max)",
)
_LATENCY = _Upsert(
    "command_latency",
    (
        ("guild_id", "text"),
        ("day", "date"),
        ("command", "text"),
        ("bucket", "int4"),
        ("count", "int8"),
    ),
    4,
    "count = command_latency.count + excluded.count",
)
_MINUTES = _Upsert(
    "command_minutes",
    (("minute", "int8"), ("guild_id", "text"), ("commands", "int8"), ("failures", "int8")),
    2,
    "commands = command_minutes.commands + excluded.commands,"
    " failures = command_minutes.failures + excluded.failures",
)

_GROWTH = _Upsert(
    "guild_growth",
    (("day", "date"), ("joins", "int8"), ("leaves", "int8")),
    1,
    "joins = guild_growth.joins + excluded.joins, leaves = guild_growth.leaves + excluded.leaves",
)
_POPULATION = _Upsert(
    "guild_population",
    (
        ("day", "date"),
        ("shard_count", "int4"),
        ("shard_id", "int4"),
        ("guilds", "int8"),
        ("members", "int8"),
        ("taken_at", "float8"),
    ),
    3,
    # A day keeps its latest snapshot per shard, whichever process writes last.
    "guilds = excluded.guilds, members = excluded.members, taken_at = excluded.taken_at"
    " WHERE guild_population.taken_at <= excluded.taken_at",
)


_KEY_COLUMNS = {
    "servers": 1,
    "days": 2,
    "users": 3,
    "commands": 3,
    "latency": 4,
    "minutes": 2,
    "growth": 1,
    "population": 3,
}
"""How many leading columns of each table's rows form its key (what rows are sorted by)."""


def _sorted(rows: Iterable[tuple[Any, ...]], keys: int) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda row: row[:keys])


class _Rows:
    """A :class:`WriteBatch` as the rows of each table, rollup keys sorted.

    Sorting is what keeps concurrent writers from deadlocking: every transaction takes its row
    locks in the same order. Python orders text by code point, as PostgreSQL's ``"C"`` collation
    does, so a query can lock in that order too (see :meth:`PostgresStorage.forget_user`).
    """

    __slots__ = (
        "audit",
        "commands",
        "days",
        "growth",
        "latency",
        "minutes",
        "population",
        "servers",
        "stalls",
        "users",
    )

    def __init__(self, batch: WriteBatch) -> None:
        self.servers = _sorted(
            ((guild, name, seen, seen) for guild, (name, seen) in batch.servers.items()),
            _KEY_COLUMNS["servers"],
        )
        self.audit: list[tuple[Any, ...]] = list(batch.audit_rows)
        self.stalls: list[tuple[Any, ...]] = list(batch.stalls)
        self.days = _sorted(
            (
                (guild, day, int(s), float(p), int(k), int(a), int(c), int(f))
                for (guild, day), (s, p, k, a, c, f) in batch.days.items()
            ),
            _KEY_COLUMNS["days"],
        )
        self.users = _sorted(
            ((guild, day, user, int(n)) for (guild, day, user), n in batch.users.items()),
            _KEY_COLUMNS["users"],
        )
        self.commands = _sorted(
            (
                (guild, day, command, int(n), int(failed), float(total), float(low), float(high))
                for (guild, day, command), (n, failed, total, low, high) in batch.commands.items()
            ),
            _KEY_COLUMNS["commands"],
        )
        self.latency = _sorted(
            (
                (guild, day, command, int(bucket), int(n))
                for (guild, day, command), histogram in batch.latency.items()
                for bucket, n in histogram.items()
            ),
            _KEY_COLUMNS["latency"],
        )
        self.minutes = _sorted(
            (
                (int(minute), guild, int(commands), int(failures))
                for (guild, minute), (commands, failures) in batch.minutes.items()
            ),
            _KEY_COLUMNS["minutes"],
        )
        self.growth = _sorted(
            ((day, int(joins), int(leaves)) for day, (joins, leaves) in batch.growth.items()),
            _KEY_COLUMNS["growth"],
        )
        self.population = _sorted(
            (
                (day, int(count), int(shard), int(guilds), int(members), float(at))
                for (day, count, shard), (guilds, members, at) in batch.population.items()
            ),
            _KEY_COLUMNS["population"],
        )

    def upserts(self) -> list[tuple[_Upsert, list[tuple[Any, ...]]]]:
        """The rollup tables' rows with their upsert, in the one order every writer uses."""
        return [
            (_DAYS, self.days),
            (_USERS, self.users),
            (_COMMANDS, self.commands),
            (_LATENCY, self.latency),
            (_MINUTES, self.minutes),
            (_GROWTH, self.growth),
            (_POPULATION, self.population),
        ]

    def check_encodable(self) -> None:
        """Raise :class:`UnicodeEncodeError` if any text holds a lone surrogate.

        asyncpg reports one as a ``DataError`` (or a ``UnicodeEncodeError`` from ``COPY``);
        raised as itself, it tells the recorder the records are at fault, as SQLite's does.
        """
        for name in self.__slots__:
            rows: list[tuple[Any, ...]] = getattr(self, name)
            for row in rows:
                for value in row:
                    if type(value) is str and not value.isascii():
                        value.encode("utf-8")

    def cleaned(self) -> _Rows | None:
        """A copy holding only values PostgreSQL stores (no NUL, no lone surrogate, a bool
        ``success``); ``None`` if every value already was one.

        Keys are sorted again, since cleaning may change their order (and may make two equal:
        the per-row statements of the fallback write take that).
        """
        copy = object.__new__(_Rows)
        changed = False
        for name in self.__slots__:
            rows: list[tuple[Any, ...]] = getattr(self, name)
            if name == "audit":
                cleaned = [_clean_audit_row(row) for row in rows]
            elif name == "stalls":
                cleaned = [_clean_row(row) for row in rows]
            else:
                cleaned = _sorted((_clean_row(row) for row in rows), _KEY_COLUMNS[name])
            changed = changed or any(a is not b for a, b in zip(rows, cleaned, strict=True))
            setattr(copy, name, cleaned)
        return copy if changed else None


def _clean_text(value: Any) -> Any:
    """``value`` without what PostgreSQL text cannot hold: NUL, and lone surrogates (which
    UTF-8 cannot encode). Anything else, or clean text, is returned as the same object."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _clean_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    cleaned = tuple(_clean_text(value) for value in row)
    return row if all(a is b for a, b in zip(row, cleaned, strict=True)) else cleaned


def _clean_audit_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    cleaned = _clean_row(row)
    if type(cleaned[7]) is bool:  # success
        return cleaned
    return (*cleaned[:7], bool(cleaned[7]), *cleaned[8:])


def _rowcount(status: str) -> int:
    """The row count of a command status such as ``DELETE 42``."""
    try:
        return max(0, int(status.rsplit(" ", 1)[-1]))
    except ValueError:
        return 0


class PostgresStorage(Storage):
    """Storage in a PostgreSQL database, shared by any number of processes.

    Parameters
    ----------
    url:
        A libpq connection URL, ``postgresql://user:password@host:5432/dbname`` (``postgres://``
        too; query parameters such as ``sslmode`` are asyncpg's).
    pool_min_size, pool_max_size:
        Connections the pool keeps open, and opens at most. The writer uses one at a time;
        reports and health checks may use others meanwhile.
    busy_timeout_ms:
        How long a statement waits for a lock held by another session before failing (and the
        batch being retried): PostgreSQL's ``lock_timeout``.
    """

    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        pool_min_size: int = 1,
        pool_max_size: int = 5,
        busy_timeout_ms: int = 5000,
        clock: Clock | None = None,
    ) -> None:
        self._url = url
        self._location = redact_url(url)
        self._min_size = pool_min_size
        self._max_size = pool_max_size
        # lock_timeout = 0 means "wait forever" in PostgreSQL, unlike SQLite's busy timeout.
        self._lock_timeout_ms = max(1, int(busy_timeout_ms))
        self._clock = clock or SystemClock()
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None

    @property
    def location(self) -> str:
        return self._location

    @property
    def is_connected(self) -> bool:
        return self._pool is not None

    async def connect(self) -> None:
        if self._pool is not None:
            return
        pool: asyncpg.Pool[asyncpg.Record] | None = None
        try:
            pool = await asyncpg.create_pool(
                self._url,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=_CONNECT_TIMEOUT,
                server_settings={
                    "application_name": "monitoring_cog",
                    "lock_timeout": f"{self._lock_timeout_ms}ms",
                },
            )
            async with pool.acquire() as conn:
                await self._migrate(conn)
        except SchemaError:
            _terminate(pool)
            raise
        except (
            OSError,
            TimeoutError,
            ValueError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as exc:
            _terminate(pool)
            # asyncpg's messages do not quote the URL; scrubbed all the same, since this one
            # ends up in logs and on the operator's terminal.
            raise DatabaseUnavailable(
                f"{self._location}: cannot use the PostgreSQL database: {self._scrub(exc)}"
            ) from exc
        except BaseException:  # Cancelled while connecting: leave no connection behind.
            _terminate(pool)
            raise
        self._pool = pool

    def _scrub(self, exc: BaseException) -> str:
        """``exc`` as text, without the password should a driver message ever echo it."""
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        try:
            password = urlsplit(self._url).password
        except ValueError:
            password = None
        for secret in {password, unquote(password)} if password else ():
            text = text.replace(secret, "***")
        return text

    async def _migrate(self, conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record]) -> None:
        async with conn.transaction():
            # Processes starting together queue here, one migration at a time; each then reads
            # the version the one before recorded. The wait for the lock is longer than for a
            # row (another process may be migrating a large table); DDL waits keep the short one.
            await conn.execute(f"SET LOCAL lock_timeout = '{_MIGRATION_WAIT}'")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(f"SET LOCAL lock_timeout = '{self._lock_timeout_ms}ms'")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at DOUBLE PRECISION NOT NULL)"
            )
            current = int(
                await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            )
            for migration in pending_migrations(self.dialect, current, self._location):
                for statement in migration.statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    self._clock.time(),
                )
                _log.info(
                    "Applied migration %04d_%s to %s",
                    migration.version,
                    migration.name,
                    self._location,
                )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), _CLOSE_TIMEOUT)
        except TimeoutError:
            _log.warning("monitoring: connections to %s still busy; closing them", self._location)
            pool.terminate()

    def _connected(self) -> asyncpg.Pool[asyncpg.Record]:
        if self._pool is None:
            raise DatabaseUnavailable(f"{self._location}: not connected")
        return self._pool

    async def schema_version(self) -> int:
        pool = self._connected()
        return int(await pool.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))

    async def write(
        self, batch: WriteBatch, *, lock_wait: float | None = None, spill_id: str | None = None
    ) -> None:
        pool = self._connected()
        rows = _Rows(batch)
        options = _WriteOptions(
            # lock_timeout = 0 would mean "wait forever".
            None
            if lock_wait is None
            else max(1, min(int(lock_wait * 1000), self._lock_timeout_ms)),
            None if spill_id is None else (spill_id, batch.records, self._clock.time()),
        )
        try:
            await _write(pool, rows, options, bulk=True)
        except _UNSTORABLE:
            # Lone surrogates, as SQLite does: UnicodeEncodeError, for the recorder to repair
            # the records (counted) and write the batch again in bulk.
            rows.check_encodable()
            cleaned = rows.cleaned()
            if cleaned is None:
                raise  # Nothing to clean: a real error, for the recorder to retry.
            _log.warning(
                "monitoring: a batch held text PostgreSQL cannot store (NUL characters or lone"
                " surrogates); stored it without them"
            )
            await _write(pool, cleaned, options, bulk=False)

    async def spill_replayed(self, spill_id: str) -> bool:
        pool = self._connected()
        found = await pool.fetchval("SELECT 1 FROM spill_replays WHERE spill_id = $1", spill_id)
        return found is not None

    def abandon(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            # The loop that owned the sockets is closed: closing them may fail, and the process
            # is ending anyway (the server rolls back whatever a cut connection left open).
            try:
                pool.terminate()
            except Exception as exc:
                _log.debug(
                    "monitoring: connections to %s left to the exit (%s)", self._location, exc
                )

    async def day_totals(self, guild_id: str | None, first: date, last: date) -> list[DayTotals]:
        pool = self._connected()
        where, params = _guild_days(guild_id, first, last)
        async with pool.acquire() as conn:
            totals = {
                row[0]: row
                for row in await conn.fetch(
                    "SELECT day, SUM(songs_played), SUM(playtime), SUM(skips), SUM(pauses),"
                    f" SUM(commands), SUM(failed_commands) FROM bot_stats WHERE {where}"
                    " GROUP BY day",
                    *params,
                )
            }
            users = {
                row[0]: int(row[1])
                for row in await conn.fetch(
                    f"SELECT day, COUNT(*) FROM daily_users WHERE {where} GROUP BY day", *params
                )
            }
        return day_totals_from_rows(totals, users)

    async def command_totals(
        self, guild_id: str | None, first: date, last: date, *, with_buckets: bool = False
    ) -> list[CommandTotals]:
        pool = self._connected()
        where, params = _guild_days(guild_id, first, last)
        buckets: dict[str, dict[int, int]] = {}
        async with pool.acquire() as conn:
            if with_buckets:
                for command, bucket, count in await conn.fetch(
                    f"SELECT command, bucket, SUM(count) FROM command_latency WHERE {where}"
                    " GROUP BY command, bucket",
                    *params,
                ):
                    buckets.setdefault(command, {})[int(bucket)] = int(count)
            # COLLATE "C": ties broken by code point, as SQLite does, whatever the database's
            # collation.
            rows = await conn.fetch(
                "SELECT command, SUM(count), SUM(failures), SUM(duration_sum), MIN(duration_min),"
                f" MAX(duration_max) FROM command_stats WHERE {where}"
                ' GROUP BY command ORDER BY SUM(count) DESC, command COLLATE "C"',
                *params,
            )
        return command_totals_from_rows(rows, buckets)

    async def growth(self, first: date, last: date) -> list[GrowthDay]:
        pool = self._connected()
        async with pool.acquire() as conn:
            changes = {
                row[0]: (int(row[1]), int(row[2]))
                for row in await conn.fetch(
                    "SELECT day, joins, leaves FROM guild_growth WHERE day BETWEEN $1 AND $2",
                    first,
                    last,
                )
            }
            snapshots = [
                PopulationSnapshot(
                    row[0], int(row[1]), int(row[2]), int(row[3]), int(row[4]), float(row[5])
                )
                for row in await conn.fetch(
                    "SELECT day, shard_count, shard_id, guilds, members, taken_at"
                    " FROM guild_population WHERE day BETWEEN $1 AND $2",
                    first,
                    last,
                )
            ]
        return growth_days(first, last, changes, snapshots)

    async def recent_activity(self, since: float, guild_id: str | None) -> tuple[int, int]:
        pool = self._connected()
        sql = (
            "SELECT COALESCE(SUM(commands), 0), COALESCE(SUM(failures), 0)"
            " FROM command_minutes WHERE minute >= $1"
        )
        params: list[Any] = [int(since // 60)]
        if guild_id is not None:
            sql += " AND guild_id = $2"
            params.append(guild_id)
        row = await pool.fetchrow(sql, *params)
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def audit_logs(self, query: AuditQuery) -> list[dict[str, Any]]:
        pool = self._connected()
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("guild_id", query.guild_id),
            ("user_id", query.user_id),
            ("command", query.command),
        ):
            if value is not None:
                params.append(value)
                clauses.append(f"{column} = ${len(params)}")
        if query.failed_only:
            clauses.append("NOT success")
        if query.since is not None:
            params.append(float(query.since))
            clauses.append(f"executed_at >= ${len(params)}")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(max(0, query.limit))
        rows = await pool.fetch(
            f"SELECT {AUDIT_COLUMNS} FROM audit_logs"
            f" {where} ORDER BY executed_at DESC, id DESC LIMIT ${len(params)}",
            *params,
        )
        return [audit_entry(row) for row in rows]

    async def prune_audit_logs(self, before: float, limit: int) -> int:
        pool = self._connected()
        status = await pool.execute(
            "DELETE FROM audit_logs WHERE id IN"
            " (SELECT id FROM audit_logs WHERE executed_at < $1 ORDER BY executed_at LIMIT $2)",
            float(before),
            int(limit),
        )
        return _rowcount(status)

    async def count_audit_logs(
        self, *, since: float | None = None, before: float | None = None
    ) -> int:
        pool = self._connected()
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            params.append(float(since))
            clauses.append(f"executed_at >= ${len(params)}")
        if before is not None:
            params.append(float(before))
            clauses.append(f"executed_at < ${len(params)}")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return int(await pool.fetchval(f"SELECT COUNT(*) FROM audit_logs{where}", *params))

    async def iter_audit_logs(
        self, *, since: float | None = None, batch_size: int = 1000
    ) -> AsyncGenerator[dict[str, Any], None]:
        pool = self._connected()
        where, params = (
            ("WHERE executed_at >= $1", [float(since)]) if since is not None else ("", [])
        )
        # A server-side cursor lives in a transaction; REPEATABLE READ makes the whole export one
        # snapshot, however long the caller takes over it.
        async with (
            pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            cursor = await conn.cursor(
                f"SELECT {AUDIT_COLUMNS} FROM audit_logs {where} ORDER BY executed_at, id",
                *params,
            )
            while rows := await cursor.fetch(max(1, batch_size)):
                for row in rows:
                    yield audit_entry(row)

    async def forget_user(self, user_id: str) -> dict[str, int]:
        pool = self._connected()
        async with pool.acquire() as conn, conn.transaction():
            audit = await conn.execute("DELETE FROM audit_logs WHERE user_id = $1", user_id)
            # Rows locked in the writers' order (code point, so COLLATE "C"): a writer adding to
            # this user's rows meanwhile waits instead of deadlocking.
            users = await conn.execute(
                "DELETE FROM daily_users WHERE (guild_id, day, user_id) IN ("
                " SELECT guild_id, day, user_id FROM daily_users WHERE user_id = $1"
                ' ORDER BY guild_id COLLATE "C", day FOR UPDATE)',
                user_id,
            )
        return {"audit_logs": _rowcount(audit), "daily_users": _rowcount(users)}

    async def list_servers(self) -> list[ServerInfo]:
        pool = self._connected()
        rows = await pool.fetch(
            "SELECT guild_id, guild_name, first_seen, last_seen FROM servers"
            ' ORDER BY last_seen DESC, guild_id COLLATE "C"'
        )
        return [ServerInfo(str(row[0]), row[1], float(row[2]), float(row[3])) for row in rows]

    async def prune_minutes(self, before: float) -> int:
        pool = self._connected()
        status = await pool.execute(
            "DELETE FROM command_minutes WHERE minute < $1", int(before // 60)
        )
        return _rowcount(status)

    async def loop_stalls(
        self, *, since: float | None = None, guild_id: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        pool = self._connected()
        clauses: list[str] = []
        params: list[Any] = []
        if guild_id is not None:
            params.append(guild_id)
            clauses.append(f"guild_id = ${len(params)}")
        if since is not None:
            params.append(float(since))
            clauses.append(f"started_at >= ${len(params)}")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(max(0, limit))
        rows = await pool.fetch(
            f"SELECT {STALL_COLUMNS} FROM loop_stalls {where}"
            f" ORDER BY started_at DESC, id DESC LIMIT ${len(params)}",
            *params,
        )
        return [stall_entry(row) for row in rows]

    async def prune_loop_stalls(self, before: float) -> int:
        pool = self._connected()
        status = await pool.execute("DELETE FROM loop_stalls WHERE started_at < $1", float(before))
        return _rowcount(status)

    async def store_health_report(self, row: HealthReportRow, *, forget_before: float) -> None:
        pool = self._connected()
        values = ", ".join(f"${n}" for n in range(1, 10))
        updates = ", ".join(
            f"{column} = excluded.{column}" for column in HEALTH_COLUMNS.split(", ")[1:]
        )
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"INSERT INTO health_reports ({HEALTH_COLUMNS}) VALUES ({values})"
                f" ON CONFLICT (process) DO UPDATE SET {updates}",
                *row.columns(),
            )
            await conn.execute(
                "DELETE FROM health_reports WHERE checked_at < $1", float(forget_before)
            )

    async def health_reports(self) -> list[HealthReportRow]:
        pool = self._connected()
        rows = await pool.fetch(
            f"SELECT {HEALTH_COLUMNS} FROM health_reports"
            ' ORDER BY checked_at DESC, process COLLATE "C"'
        )
        return [health_row_from_columns(row) for row in rows]

    async def minute_activity(self, since: float) -> list[tuple[int, int, int]]:
        pool = self._connected()
        rows = await pool.fetch(
            "SELECT minute, SUM(commands), SUM(failures) FROM command_minutes"
            " WHERE minute >= $1 GROUP BY minute ORDER BY minute",
            int(since // 60),
        )
        return [(int(row[0]), int(row[1]), int(row[2])) for row in rows]

    async def search_audit_logs(self, search: AuditSearch) -> list[dict[str, Any]]:
        pool = self._connected()
        clauses, params = audit_search_clauses(
            search, lambda n: f"${n}", ("success", "NOT success")
        )
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(max(0, search.limit))
        rows = await pool.fetch(
            f"SELECT {AUDIT_COLUMNS} FROM audit_logs {where}"
            f" ORDER BY executed_at DESC, id DESC LIMIT ${len(params)}",
            *params,
        )
        return [audit_entry(row) for row in rows]

    async def server_activity(self, today: date) -> list[ServerActivity]:
        pool = self._connected()
        week, month = today - timedelta(days=6), today - timedelta(days=29)
        async with pool.acquire() as conn:
            totals = {
                row[0]: row
                for row in await conn.fetch(
                    "SELECT guild_id, SUM(commands), SUM(failed_commands),"
                    " SUM(commands) FILTER (WHERE day >= $1),"
                    " SUM(failed_commands) FILTER (WHERE day >= $1)"
                    " FROM bot_stats WHERE day BETWEEN $2 AND $3 GROUP BY guild_id",
                    week,
                    month,
                    today,
                )
            }
            users = {
                row[0]: row
                for row in await conn.fetch(
                    "SELECT guild_id, COUNT(DISTINCT user_id),"
                    " COUNT(DISTINCT user_id) FILTER (WHERE day >= $1)"
                    " FROM daily_users WHERE day BETWEEN $2 AND $3 GROUP BY guild_id",
                    week,
                    month,
                    today,
                )
            }
            servers = await conn.fetch("SELECT guild_id, guild_name, last_seen FROM servers")
        return [
            activity_from_rows(
                server, _or_none(totals.get(server[0]), 3), _or_none(users.get(server[0]), 2)
            )
            for server in servers
        ]

    async def command_days(self, first: date, last: date) -> list[CommandDay]:
        pool = self._connected()
        async with pool.acquire() as conn:
            runs = await conn.fetch(
                "SELECT day, command, SUM(count) FROM command_stats"
                " WHERE day BETWEEN $1 AND $2 GROUP BY day, command",
                first,
                last,
            )
            buckets: dict[tuple[date, str], dict[int, int]] = {}
            for day, command, bucket, count in await conn.fetch(
                "SELECT day, command, bucket, SUM(count) FROM command_latency"
                " WHERE day BETWEEN $1 AND $2 GROUP BY day, command, bucket",
                first,
                last,
            ):
                buckets.setdefault((day, command), {})[int(bucket)] = int(count)
        return [
            CommandDay(str(row[1]), row[0], int(row[2]), buckets.get((row[0], row[1]), {}))
            for row in runs
        ]

    async def ping(self) -> None:
        pool = self._connected()
        await pool.fetchval("SELECT 1")

    async def server_count(self) -> int:
        pool = self._connected()
        return int(await pool.fetchval("SELECT COUNT(*) FROM servers"))

    async def size_bytes(self) -> int:
        pool = self._connected()
        # The schema's own tables with their indexes, not the whole database it may share.
        size = await pool.fetchval(
            "SELECT COALESCE(SUM(pg_total_relation_size(to_regclass(name))), 0)"
            " FROM unnest($1::text[]) AS name",
            list(_TABLES),
        )
        return int(size)


class _WriteOptions(NamedTuple):
    """What a write does beyond storing its rows."""

    lock_wait_ms: int | None
    """This transaction's ``lock_timeout`` (and ``statement_timeout``), if not the session's."""
    replay: tuple[str, int, float] | None
    """(spill id, records, time) to record in ``spill_replays`` with the rows."""


async def _write(
    pool: asyncpg.Pool[asyncpg.Record], rows: _Rows, options: _WriteOptions, *, bulk: bool
) -> None:
    """Store ``rows`` in one transaction: servers first (the others refer to them)."""
    wait = options.lock_wait_ms
    conn = await pool.acquire(timeout=None if wait is None else wait / 1000)
    try:
        async with conn.transaction():
            if wait is not None:
                # A statement may also wait on a server that does not answer: bounded too.
                await conn.execute(
                    f"SET LOCAL lock_timeout = '{wait}ms'; SET LOCAL statement_timeout = '{wait}ms'"
                )
            if options.replay is not None:
                # First: a spill written already fails here, before its rows are inserted again.
                await conn.execute(
                    "INSERT INTO spill_replays (spill_id, records, replayed_at)"
                    " VALUES ($1, $2, $3)",
                    *options.replay,
                )
            if rows.servers:
                await _upsert(conn, _SERVERS, rows.servers, bulk=bulk)
            if rows.audit:
                await conn.copy_records_to_table(
                    "audit_logs", records=rows.audit, columns=AUDIT_ROW_COLUMNS
                )
            if rows.stalls:
                await conn.copy_records_to_table(
                    "loop_stalls", records=rows.stalls, columns=_STALL_ROW_COLUMNS
                )
            for upsert, table_rows in rows.upserts():
                if table_rows:
                    await _upsert(conn, upsert, table_rows, bulk=bulk)
    finally:
        await _release(pool, conn)


async def _upsert(
    conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record],
    upsert: _Upsert,
    rows: list[tuple[Any, ...]],
    *,
    bulk: bool,
) -> None:
    if bulk:
        await conn.execute(upsert.bulk, *zip(*rows, strict=True))
    else:
        await conn.executemany(upsert.row, rows)


def _guild_days(guild_id: str | None, first: date, last: date) -> tuple[str, list[Any]]:
    params: list[Any] = [first, last]
    where = "day BETWEEN $1 AND $2"
    if guild_id is not None:
        params.append(guild_id)
        where = "guild_id = $3 AND " + where
    return where, params


async def _release(
    pool: asyncpg.Pool[asyncpg.Record], conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record]
) -> None:
    """Give ``conn`` back to the pool, whatever happened to it.

    The pool resets a connection it gets back (a query of its own). If that fails, the server
    has cut the connection, and asyncpg drops it and raises: ignored here, since the pool makes
    a new connection when next asked, and the outcome of the work done on the connection is
    already known. Raised from a write, it would report a committed batch as failed, and the
    recorder would write it again.
    """
    try:
        await pool.release(conn)
    except Exception as exc:
        _log.debug("monitoring: a connection could not be reset; dropped it (%s)", exc)


def _terminate(pool: asyncpg.Pool[asyncpg.Record] | None) -> None:
    if pool is not None:
        pool.terminate()


def _or_none(row: Any, nulls_from: int) -> Any:
    """``row`` with the ``FILTER`` sums from index ``nulls_from`` on as 0 where nothing matched
    (PostgreSQL's SUM over no row is NULL)."""
    if row is None:
        return None
    values = list(row)
    return [*values[:nulls_from], *(value or 0 for value in values[nulls_from:])]
