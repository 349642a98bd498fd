"""The embedded SQLite backend (aiosqlite): WAL, ``synchronous=NORMAL``, a busy timeout.

SQLite runs its statements on aiosqlite's worker thread, so the event loop never waits on disk.
Writes are serialised by a lock held only by the writer, migrations and pruning, never by a
command's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from ..analysis.growth import GrowthDay, PopulationSnapshot, growth_days
from ..analysis.packed_histogram import BlobPack, BlobSum, PackedBuckets, blob_of, merge_blobs
from ..clock import Clock, SystemClock
from ..errors import DatabaseUnavailable, SchemaError
from .base import (
    AUDIT_COLUMNS,
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

__all__ = ("PRAGMAS", "SQLiteStorage", "register_functions")

_log = logging.getLogger(__name__)

_REOPEN_ON = frozenset(
    {
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_NOTADB,
    }
)
"""Primary result codes after which the connection is reopened: SQLite may have opened the file
read-only, or lost it; a new connection sees the file as it is now. Busy, locked and full are
retried on the same connection."""
_CACHE_KIB = -8192
"""``PRAGMA cache_size``, negative for KiB: 8 MiB (SQLite's default is 2). Writes to a file of
100 thousand rows and more spend a fifth less time in SQLite with it; 16 and 64 MiB measured no
better there, and the cache fills to its size as the file grows, which is memory the bot keeps."""
_CHECKPOINT_PAGES = 10_000
"""``PRAGMA wal_autocheckpoint``: checkpoint once the WAL holds 10,000 pages (about 40 MiB) rather
than SQLite's 1,000. Ingest measured 12 to 14 % faster side by side (4,000 pages: 2 to 4 %), at
the price of a WAL file of that size beside the database."""
_WAL_LIMIT_BYTES = 64 * 1024 * 1024
"""``PRAGMA journal_size_limit``: after a checkpoint the WAL file is cut back to at most this, so
one unusually large transaction does not leave a large file behind."""
PRAGMAS: tuple[str, ...] = (
    "foreign_keys = ON",
    "journal_mode = WAL",
    "synchronous = NORMAL",
    # More pages in memory: the rollups' and audit indexes' pages a batch's upserts and inserts
    # land on are found without reading the file again.
    f"cache_size = {_CACHE_KIB}",
    # Fewer, larger checkpoints: a rollup page rewritten by many batches is copied back to the
    # database file once per checkpoint rather than once every batch or two.
    f"wal_autocheckpoint = {_CHECKPOINT_PAGES}",
    f"journal_size_limit = {_WAL_LIMIT_BYTES}",
    # Deleted rows (pruned, forgotten users) are overwritten, not left in free pages.
    "secure_delete = ON",
)
"""How every connection of this package is set up (after its ``busy_timeout``), in order."""
_UPSERT_SERVER = """
INSERT INTO servers (guild_id, guild_name, first_seen, last_seen) VALUES (?, ?, ?, ?)
ON CONFLICT (guild_id) DO UPDATE SET
    guild_name = COALESCE(excluded.guild_name, servers.guild_name),
    last_seen = MAX(servers.last_seen, excluded.last_seen)
"""
_INSERT_AUDIT = """
INSERT INTO audit_logs (guild_id, guild_name, user_id, username, command, parameters, duration,
                        success, error_type, error_message, executed_at, traceback)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_STALL = f"INSERT INTO loop_stalls ({STALL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_UPSERT_DAY = """
INSERT INTO bot_stats (guild_id, day, songs_played, playtime, skips, pauses, commands,
                       failed_commands)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (guild_id, day) DO UPDATE SET
    songs_played = songs_played + excluded.songs_played,
    playtime = playtime + excluded.playtime,
    skips = skips + excluded.skips,
    pauses = pauses + excluded.pauses,
    commands = commands + excluded.commands,
    failed_commands = failed_commands + excluded.failed_commands
"""
_UPSERT_USER = """
INSERT INTO daily_users (guild_id, day, user_id, commands) VALUES (?, ?, ?, ?)
ON CONFLICT (guild_id, day, user_id) DO UPDATE SET commands = commands + excluded.commands
"""
_UPSERT_COMMAND = """
INSERT INTO command_stats (guild_id, day, command, count, failures, duration_sum, duration_min,
                           duration_max)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (guild_id, day, command) DO UPDATE SET
    count = count + excluded.count,
    failures = failures + excluded.failures,
    duration_sum = duration_sum + excluded.duration_sum,
    duration_min = MIN(duration_min, excluded.duration_min),
    duration_max = MAX(duration_max, excluded.duration_max)
"""
_UPSERT_LATENCY = """
INSERT INTO command_latency (guild_id, day, command, latency) VALUES (?, ?, ?, ?)
ON CONFLICT (guild_id, day, command) DO UPDATE SET
    latency = monitoring_merge_latency(latency, excluded.latency)
"""
_UPSERT_MINUTE = """
INSERT INTO command_minutes (minute, guild_id, commands, failures) VALUES (?, ?, ?, ?)
ON CONFLICT (minute, guild_id) DO UPDATE SET
    commands = commands + excluded.commands,
    failures = failures + excluded.failures
"""

_UPSERT_GROWTH = """
INSERT INTO guild_growth (day, joins, leaves) VALUES (?, ?, ?)
ON CONFLICT (day) DO UPDATE SET
    joins = joins + excluded.joins,
    leaves = leaves + excluded.leaves
"""
_UPSERT_POPULATION = """
INSERT INTO guild_population (day, shard_count, shard_id, guilds, members, taken_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (day, shard_count, shard_id) DO UPDATE SET
    guilds = excluded.guilds,
    members = excluded.members,
    taken_at = excluded.taken_at
WHERE excluded.taken_at >= guild_population.taken_at
"""


class SQLiteStorage(Storage):
    """Storage in one SQLite file.

    Parameters
    ----------
    path:
        The database file, or ``":memory:"``.
    busy_timeout_ms:
        How long a write waits for another connection's lock before failing (and being retried).
    """

    dialect = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_ms: int = 5000,
        clock: Clock | None = None,
    ) -> None:
        self._path = str(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._clock = clock or SystemClock()
        self._conn: aiosqlite.Connection | None = None
        self._tx_lock = asyncio.Lock()
        self._file_id: tuple[int, int] | None = None
        """(device, inode) of the file the connection opened: to notice it deleted or replaced."""
        self._stale = False
        """A write failed in a way a new connection may not (read-only, I/O error): reopen."""

    @property
    def location(self) -> str:
        return self._path

    @property
    def is_connected(self) -> bool:
        return self._conn is not None

    async def connect(self) -> None:
        if self._conn is not None:
            return
        self._conn = await self._open()

    async def _open(self) -> aiosqlite.Connection:
        """A new connection, set up and migrated; remembers which file it opened."""
        try:
            # The factory registers the SQL functions as sqlite3 opens the connection, on
            # aiosqlite's thread (aiosqlite hands its keywords to sqlite3.connect).
            conn = await aiosqlite.connect(
                self._path, isolation_level=None, factory=_MonitoringConnection
            )
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseUnavailable(f"{self._path}: cannot open SQLite database: {exc}") from exc
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            for pragma in PRAGMAS:
                if self._path == ":memory:" and pragma.startswith("journal_mode"):
                    continue  # An in-memory database has no WAL.
                await conn.execute(f"PRAGMA {pragma}")
            await self._migrate(conn)
        except SchemaError:
            await conn.close()
            raise
        except sqlite3.Error as exc:
            await conn.close()
            raise DatabaseUnavailable(
                f"{self._path}: cannot use as a SQLite database: {exc}"
            ) from exc
        self._file_id = _file_identity(self._path)
        return conn

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock first, so two processes starting on one new file
        # migrate it once: the second sees the version the first recorded.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            current = await _version(conn)
            for migration in pending_migrations(self.dialect, current, self._path):
                for statement in migration.statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, self._clock.time()),
                )
                _log.info(
                    "Applied migration %04d_%s to %s", migration.version, migration.name, self._path
                )
            await conn.execute("COMMIT")
        except BaseException:
            await _rollback(conn)
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise DatabaseUnavailable(f"{self._path}: not connected")
        return self._conn

    async def schema_version(self) -> int:
        return await _version(self._connection())

    def _reopen_reason(self) -> str | None:
        """Why the connection must be replaced before its next write, if it must."""
        if self._stale:
            return "its last write failed in a way a new connection may not"
        if self._file_id is not None and _file_identity(self._path) != self._file_id:
            # SQLite would go on writing to the old file: records counted, and never seen again.
            return "the file was deleted or replaced while in use"
        return None

    async def _live_connection(self) -> aiosqlite.Connection:
        """The connection, reopened first if :meth:`_reopen_reason` says so (hold the tx lock)."""
        conn = self._connection()
        reason = self._reopen_reason()
        if reason is None:
            return conn
        _log.warning("monitoring: %s: %s; reopening it", self._path, reason)
        self._stale = False
        # The WAL beside the path is the old file's: emptied into the old file first, it cannot
        # be replayed into the new one (best effort: a reader elsewhere may hold it).
        with contextlib.suppress(sqlite3.Error):
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await conn.close()
        try:
            self._conn = await self._open()
        except BaseException:
            self._conn = None  # The next use reconnects (and fails alike until it is fixed).
            raise
        return self._conn

    def _note_write_error(self, exc: BaseException) -> None:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _REOPEN_ON and self._path != ":memory:":
            self._stale = True

    async def write(
        self, batch: WriteBatch, *, lock_wait: float | None = None, spill_id: str | None = None
    ) -> None:
        replay = (spill_id, batch.records, self._clock.time()) if spill_id is not None else None
        wait_ms = None
        if lock_wait is not None:
            wait_ms = max(0, min(int(lock_wait * 1000), self._busy_timeout_ms))
        async with self._tx_lock:
            conn = await self._live_connection()
            try:
                # BEGIN and every statement in one call on SQLite's thread: one hand-over and
                # one future per batch instead of one per statement, and the rows' parameters
                # built there rather than on the event loop.
                await _on_connection_thread(
                    conn, _write_batch, batch, wait_ms, self._busy_timeout_ms, replay
                )
                # The commit on its own, so a flush cancelled before it rolls the batch back.
                await conn.execute("COMMIT")
            except BaseException as exc:
                # Queued behind the batch's call, which runs to its end even if this await was
                # cancelled: undoes whatever it left open (nothing if it rolled back itself).
                await _rollback(conn)
                self._note_write_error(exc)
                raise

    async def spill_replayed(self, spill_id: str) -> bool:
        conn = self._connection()
        async with conn.execute(
            "SELECT 1 FROM spill_replays WHERE spill_id = ?", (spill_id,)
        ) as cur:
            return await cur.fetchone() is not None

    def abandon(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        _stop_worker(conn)

    async def day_totals(self, guild_id: str | None, first: date, last: date) -> list[DayTotals]:
        conn = self._connection()
        where, params = _guild_days(guild_id, first, last)
        async with conn.execute(
            "SELECT day, SUM(songs_played), SUM(playtime), SUM(skips), SUM(pauses), SUM(commands),"
            f" SUM(failed_commands) FROM bot_stats WHERE {where} GROUP BY day",
            params,
        ) as cur:
            # Days are stored as ISO text in SQLite.
            totals = {date.fromisoformat(row[0]): row for row in await cur.fetchall()}
        async with conn.execute(
            f"SELECT day, COUNT(*) FROM daily_users WHERE {where} GROUP BY day", params
        ) as cur:
            users = {date.fromisoformat(row[0]): int(row[1]) for row in await cur.fetchall()}
        return day_totals_from_rows(totals, users)

    async def command_totals(
        self, guild_id: str | None, first: date, last: date, *, with_buckets: bool = False
    ) -> list[CommandTotals]:
        conn = self._connection()
        where, params = _guild_days(guild_id, first, last)
        latency = join = ""
        if with_buckets:
            # Summed by an aggregate in the same pass: one packed integer per command (see
            # packed_histogram.py), so the work does not grow with the buckets used.
            latency = ", monitoring_sum_latency(latency)"
            join = " LEFT JOIN command_latency USING (guild_id, day, command)"
        async with conn.execute(
            "SELECT command, SUM(count), SUM(failures), SUM(duration_sum), MIN(duration_min),"
            f" MAX(duration_max){latency} FROM command_stats{join} WHERE {where}"
            " GROUP BY command ORDER BY SUM(count) DESC, command",
            params,
        ) as cur:
            rows = await cur.fetchall()
        buckets = {row[0]: PackedBuckets.from_blob(row[6]) for row in rows} if with_buckets else {}
        return command_totals_from_rows(rows, buckets)

    async def growth(self, first: date, last: date) -> list[GrowthDay]:
        conn = self._connection()
        params = (first.isoformat(), last.isoformat())
        async with conn.execute(
            "SELECT day, joins, leaves FROM guild_growth WHERE day BETWEEN ? AND ?", params
        ) as cur:
            changes = {
                date.fromisoformat(row[0]): (int(row[1]), int(row[2]))
                for row in await cur.fetchall()
            }
        async with conn.execute(
            "SELECT day, shard_count, shard_id, guilds, members, taken_at FROM guild_population"
            " WHERE day BETWEEN ? AND ?",
            params,
        ) as cur:
            snapshots = [
                PopulationSnapshot(
                    date.fromisoformat(row[0]),
                    int(row[1]),
                    int(row[2]),
                    int(row[3]),
                    int(row[4]),
                    float(row[5]),
                )
                for row in await cur.fetchall()
            ]
        return growth_days(first, last, changes, snapshots)

    async def recent_activity(self, since: float, guild_id: str | None) -> tuple[int, int]:
        conn = self._connection()
        sql = (
            "SELECT COALESCE(SUM(commands), 0), COALESCE(SUM(failures), 0)"
            " FROM command_minutes WHERE minute >= ?"
        )
        params: list[Any] = [int(since // 60)]
        if guild_id is not None:
            sql += " AND guild_id = ?"
            params.append(guild_id)
        async with conn.execute(sql, params) as cur:
            row = await cur.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def audit_logs(self, query: AuditQuery) -> list[dict[str, Any]]:
        conn = self._connection()
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("guild_id", query.guild_id),
            ("user_id", query.user_id),
            ("command", query.command),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.failed_only:
            clauses.append("success = 0")
        if query.since is not None:
            clauses.append("executed_at >= ?")
            params.append(query.since)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(max(0, query.limit))
        async with conn.execute(
            f"SELECT {AUDIT_COLUMNS} FROM audit_logs"
            f" {where} ORDER BY executed_at DESC, id DESC LIMIT ?",
            params,
        ) as cur:
            rows = await cur.fetchall()
        return [audit_entry(row) for row in rows]

    async def prune_audit_logs(self, before: float, limit: int) -> int:
        conn = self._connection()
        async with self._tx_lock:
            cur = await conn.execute(
                "DELETE FROM audit_logs WHERE id IN"
                " (SELECT id FROM audit_logs WHERE executed_at < ? ORDER BY executed_at LIMIT ?)",
                (before, limit),
            )
            deleted = cur.rowcount
            await cur.close()
        return max(0, deleted)

    async def count_audit_logs(
        self, *, since: float | None = None, before: float | None = None
    ) -> int:
        conn = self._connection()
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("executed_at >= ?")
            params.append(since)
        if before is not None:
            clauses.append("executed_at < ?")
            params.append(before)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        async with conn.execute(f"SELECT COUNT(*) FROM audit_logs{where}", params) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def iter_audit_logs(
        self, *, since: float | None = None, batch_size: int = 1000
    ) -> AsyncGenerator[dict[str, Any], None]:
        conn = self._connection()
        where, params = ("WHERE executed_at >= ?", [since]) if since is not None else ("", [])
        # Ordered by the executed_at index (which carries the rowid), so SQLite walks the index
        # instead of sorting every matching row before returning the first.
        async with conn.execute(
            f"SELECT {AUDIT_COLUMNS} FROM audit_logs {where} ORDER BY executed_at, id", params
        ) as cur:
            while rows := await cur.fetchmany(max(1, batch_size)):
                for row in rows:
                    yield audit_entry(row)

    async def forget_user(self, user_id: str) -> dict[str, int]:
        conn = self._connection()
        async with self._tx_lock:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                deleted: dict[str, int] = {}
                for table in ("audit_logs", "daily_users"):
                    cur = await conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
                    deleted[table] = max(0, cur.rowcount)
                    await cur.close()
                await conn.execute("COMMIT")
            except BaseException:
                await _rollback(conn)
                raise
            if self._path != ":memory:":
                # The WAL still holds the pages as they were: copy the erased ones into the file
                # and empty the log (best effort: a reader in progress may keep it for now).
                await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    async def list_servers(self) -> list[ServerInfo]:
        conn = self._connection()
        async with conn.execute(
            "SELECT guild_id, guild_name, first_seen, last_seen FROM servers"
            " ORDER BY last_seen DESC, guild_id"
        ) as cur:
            rows = await cur.fetchall()
        return [ServerInfo(str(row[0]), row[1], float(row[2]), float(row[3])) for row in rows]

    async def prune_minutes(self, before: float) -> int:
        conn = self._connection()
        async with self._tx_lock:
            cur = await conn.execute(
                "DELETE FROM command_minutes WHERE minute < ?", (int(before // 60),)
            )
            deleted = cur.rowcount
            await cur.close()
        return max(0, deleted)

    async def loop_stalls(
        self, *, since: float | None = None, guild_id: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        conn = self._connection()
        clauses: list[str] = []
        params: list[Any] = []
        if guild_id is not None:
            clauses.append("guild_id = ?")
            params.append(guild_id)
        if since is not None:
            clauses.append("started_at >= ?")
            params.append(since)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(max(0, limit))
        async with conn.execute(
            f"SELECT {STALL_COLUMNS} FROM loop_stalls {where}"
            " ORDER BY started_at DESC, id DESC LIMIT ?",
            params,
        ) as cur:
            rows = await cur.fetchall()
        return [stall_entry(row) for row in rows]

    async def prune_loop_stalls(self, before: float) -> int:
        conn = self._connection()
        async with self._tx_lock:
            cur = await conn.execute("DELETE FROM loop_stalls WHERE started_at < ?", (before,))
            deleted = cur.rowcount
            await cur.close()
        return max(0, deleted)

    async def store_health_report(self, row: HealthReportRow, *, forget_before: float) -> None:
        conn = self._connection()
        async with self._tx_lock:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                await conn.execute(
                    f"INSERT OR REPLACE INTO health_reports ({HEALTH_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row.columns(),
                )
                await conn.execute(
                    "DELETE FROM health_reports WHERE checked_at < ?", (forget_before,)
                )
                await conn.execute("COMMIT")
            except BaseException:
                await _rollback(conn)
                raise

    async def health_reports(self) -> list[HealthReportRow]:
        conn = self._connection()
        async with conn.execute(
            f"SELECT {HEALTH_COLUMNS} FROM health_reports ORDER BY checked_at DESC, process"
        ) as cur:
            rows = await cur.fetchall()
        return [health_row_from_columns(row) for row in rows]

    async def minute_activity(self, since: float) -> list[tuple[int, int, int]]:
        conn = self._connection()
        async with conn.execute(
            "SELECT minute, SUM(commands), SUM(failures) FROM command_minutes"
            " WHERE minute >= ? GROUP BY minute ORDER BY minute",
            (int(since // 60),),
        ) as cur:
            rows = await cur.fetchall()
        return [(int(row[0]), int(row[1]), int(row[2])) for row in rows]

    async def search_audit_logs(self, search: AuditSearch) -> list[dict[str, Any]]:
        conn = self._connection()
        # "+column": SQLite's way to keep a column's index out of the plan.
        clauses, params = audit_search_clauses(
            search, lambda _: "?", ("success = 1", "success = 0"), lambda column: f"+{column}"
        )
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(max(0, search.limit))
        async with conn.execute(
            f"SELECT {AUDIT_COLUMNS} FROM audit_logs {where}"
            " ORDER BY executed_at DESC, id DESC LIMIT ?",
            params,
        ) as cur:
            rows = await cur.fetchall()
        return [audit_entry(row) for row in rows]

    async def server_activity(self, today: date) -> list[ServerActivity]:
        conn = self._connection()
        week = (today - timedelta(days=6)).isoformat()
        month = (today - timedelta(days=29)).isoformat()
        last = today.isoformat()
        async with conn.execute(
            "SELECT guild_id, SUM(commands), SUM(failed_commands),"
            " SUM(CASE WHEN day >= ? THEN commands ELSE 0 END),"
            " SUM(CASE WHEN day >= ? THEN failed_commands ELSE 0 END)"
            " FROM bot_stats WHERE day BETWEEN ? AND ? GROUP BY guild_id",
            (week, week, month, last),
        ) as cur:
            totals = {row[0]: row for row in await cur.fetchall()}
        async with conn.execute(
            "SELECT guild_id, COUNT(DISTINCT user_id),"
            " COUNT(DISTINCT CASE WHEN day >= ? THEN user_id END)"
            " FROM daily_users WHERE day BETWEEN ? AND ? GROUP BY guild_id",
            (week, month, last),
        ) as cur:
            users = {row[0]: row for row in await cur.fetchall()}
        async with conn.execute("SELECT guild_id, guild_name, last_seen FROM servers") as cur:
            servers = await cur.fetchall()
        return [
            activity_from_rows(server, totals.get(server[0]), users.get(server[0]))
            for server in servers
        ]

    async def command_days(self, first: date, last: date) -> list[CommandDay]:
        conn = self._connection()
        async with conn.execute(
            "SELECT day, command, SUM(count), monitoring_sum_latency(latency)"
            " FROM command_stats LEFT JOIN command_latency USING (guild_id, day, command)"
            " WHERE day BETWEEN ? AND ? GROUP BY day, command",
            (first.isoformat(), last.isoformat()),
        ) as cur:
            rows = await cur.fetchall()
        return [
            CommandDay(
                str(row[1]),
                date.fromisoformat(row[0]),
                int(row[2]),
                PackedBuckets.from_blob(row[3]),
            )
            for row in rows
        ]

    async def ping(self) -> None:
        if self._reopen_reason() is not None:
            async with self._tx_lock:
                await self._live_connection()
        conn = self._connection()
        async with conn.execute("SELECT 1") as cur:
            await cur.fetchone()

    async def server_count(self) -> int:
        conn = self._connection()
        async with conn.execute("SELECT COUNT(*) FROM servers") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def size_bytes(self) -> int:
        if self._path == ":memory:":
            conn = self._connection()
            async with conn.execute(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            ) as cur:
                row = await cur.fetchone()
            return int(row[0]) if row else 0
        return await asyncio.to_thread(_file_size, self._path)


class _MonitoringConnection(sqlite3.Connection):
    """A :mod:`sqlite3` connection that has this package's SQL functions from the start."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        register_functions(self)


def _stop_worker(conn: aiosqlite.Connection) -> None:
    """Have ``conn``'s worker thread end once it is done with what it was given, without an
    event loop: a thread that is not a daemon, which would otherwise keep the interpreter from
    exiting.

    Only aiosqlite 0.22.1 and later have a public way (``stop()``); 0.19 to 0.21 are each
    stopped their own way (0.22.0's way needs an event loop: the dependency leaves it out).
    Without ``stop()`` the sqlite3 connection closes with the process (what was committed
    stays).
    """
    stop = getattr(conn, "stop", None)
    if stop is not None:
        stop()  # Also closes the sqlite3 connection.
        return
    stop_running = getattr(conn, "_stop_running", None)
    if stop_running is not None:
        # 0.20 and 0.21: the thread waits on its queue until this puts a stop item there.
        stop_running()
    else:
        # 0.19: the thread ends once this flag is down and its queue empty.
        conn._running = False


_T = TypeVar("_T")


async def _on_connection_thread(
    conn: aiosqlite.Connection, function: Callable[..., _T], *args: Any
) -> _T:
    """``function(sqlite3_connection, *args)``, run on ``conn``'s worker thread.

    aiosqlite runs each of its calls this way. ``Connection._execute`` and ``Connection._conn``
    are not public; they are the same, to the letter, in every release the dependency allows
    (0.19.0, 0.20.0, 0.21.0, 0.22.0, 0.22.1: hence its ``<0.23``), and
    tests/test_aiosqlite_contract.py fails if a release changes what is used here.

    Kept because the public way costs the event loop a hand-over per statement: a batch written
    through ``conn.execute``/``executemany`` (BEGIN, up to seven statements, COMMIT) against
    one call here, ``benchmarks/versions.py`` (12 alternated rounds, run twice), event loop CPU
    per row, public / this:

    - batches of 1,000 rows: 11.49 / 11.45 and 11.83 / 11.93 µs, no difference;
    - a flush every 10 records: 38.7 / 23.1 and 39.4 / 23.0 µs, rows per second 13 and 18 % lower;
    - a flush every record: 264 / 117 and 331 / 159 µs, rows per second about half.

    A bot under light load writes the small batches.
    """
    execute: Callable[..., Awaitable[_T]] = conn._execute
    return await execute(function, conn._conn, *args)


def _write_batch(
    db: sqlite3.Connection,
    batch: WriteBatch,
    lock_wait_ms: int | None = None,
    busy_timeout_ms: int = 5000,
    replay: tuple[str, int, float] | None = None,
) -> None:
    """Open a transaction and write ``batch`` in it, on SQLite's thread; the caller commits.

    ``lock_wait_ms`` replaces the busy timeout (``busy_timeout_ms``) for this transaction's
    lock; ``replay`` is the (spill id, records, time) to record with the batch. Rolls back and
    re-raises if any statement fails.
    """
    if lock_wait_ms is not None:
        db.execute(f"PRAGMA busy_timeout = {lock_wait_ms}")
    try:
        db.execute("BEGIN IMMEDIATE")
    finally:
        if lock_wait_ms is not None:
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    try:
        if replay is not None:
            # First: a spill written already fails here, before its rows are inserted again.
            db.execute(
                "INSERT INTO spill_replays (spill_id, records, replayed_at) VALUES (?, ?, ?)",
                replay,
            )
        if batch.servers:
            db.executemany(
                _UPSERT_SERVER,
                [(guild, name, seen, seen) for guild, (name, seen) in batch.servers.items()],
            )
        if batch.audit_rows:
            db.executemany(_INSERT_AUDIT, batch.audit_rows)
        if batch.stalls:
            db.executemany(_INSERT_STALL, batch.stalls)
        if batch.days:
            db.executemany(
                _UPSERT_DAY,
                [(guild, day.isoformat(), *totals) for (guild, day), totals in batch.days.items()],
            )
        if batch.users:
            db.executemany(
                _UPSERT_USER,
                [
                    (guild, day.isoformat(), user, count)
                    for (guild, day, user), count in batch.users.items()
                ],
            )
        if batch.commands:
            db.executemany(
                _UPSERT_COMMAND,
                [
                    (guild, day.isoformat(), command, *stats)
                    for (guild, day, command), stats in batch.commands.items()
                ],
            )
        if batch.latency:
            db.executemany(
                _UPSERT_LATENCY,
                [
                    (guild, day.isoformat(), command, blob_of(histogram))
                    for (guild, day, command), histogram in batch.latency.items()
                ],
            )
        if batch.minutes:
            db.executemany(
                _UPSERT_MINUTE,
                [(minute, guild, *counts) for (guild, minute), counts in batch.minutes.items()],
            )
        if batch.growth:
            db.executemany(
                _UPSERT_GROWTH,
                [(day.isoformat(), *counts) for day, counts in batch.growth.items()],
            )
        if batch.population:
            db.executemany(
                _UPSERT_POPULATION,
                [
                    (day.isoformat(), shard_count, shard_id, *counts)
                    for (day, shard_count, shard_id), counts in batch.population.items()
                ],
            )
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise


def register_functions(db: sqlite3.Connection) -> None:
    """Register the SQL functions the schema relies on (packed latency histograms) with ``db``.

    Every connection of this package has them. A plain :mod:`sqlite3` connection needs them to
    run the migrations or to write or sum ``command_latency`` rows; reading anything else works
    without.
    """
    db.create_function("monitoring_merge_latency", 2, merge_blobs, deterministic=True)
    # typeshed's aggregate protocol takes one int; these take blobs, or a bucket and a count.
    db.create_aggregate("monitoring_sum_latency", 1, BlobSum)  # type: ignore[arg-type]
    # Used by migration 0002 to pack the per-bucket rows it replaces.
    db.create_aggregate("monitoring_pack_latency", 2, BlobPack)  # type: ignore[arg-type]


def _guild_days(guild_id: str | None, first: date, last: date) -> tuple[str, list[Any]]:
    params: list[Any] = [first.isoformat(), last.isoformat()]
    where = "day BETWEEN ? AND ?"
    if guild_id is not None:
        where = "guild_id = ? AND " + where
        params.insert(0, guild_id)
    return where, params


def _file_identity(path: str) -> tuple[int, int] | None:
    """``(device, inode)`` of the file at ``path``; ``None`` if there is none (or in memory)."""
    if path == ":memory:":
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _file_size(path: str) -> int:
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += Path(path + suffix).stat().st_size
        except FileNotFoundError:
            continue
    return total


async def _version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _rollback(conn: aiosqlite.Connection) -> None:
    try:
        await asyncio.shield(conn.execute("ROLLBACK"))
    except sqlite3.Error:
        # No transaction was open (BEGIN itself failed): nothing to undo.
        pass
    except ValueError:
        # Closed meanwhile (a write that outlasted closing): closing rolled it back.
        pass
    except asyncio.CancelledError:
        _log.warning("Cancelled while rolling back a transaction")
