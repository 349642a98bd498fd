"""The two storage backends as the tests see them: where a test's database is, and a way in.

Library-level tests take the ``backend`` fixture (directly, or through ``db``, ``db_target`` and
``system``) and run once per backend: ``sqlite`` on a file under ``tmp_path``, ``postgresql`` on
a database created for the test session on the server named by ``MONITORING_TEST_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``), emptied before each test.

Each backend also offers what tests need to look at or disturb the database from outside the
library: plain SQL queries on a connection of their own, a lock that makes the library's writes
fail, and a trigger that refuses inserts. For PostgreSQL those run on an asyncpg connection owned
by a background thread's event loop, so tests call them synchronously, as they call sqlite3.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from monitoring_cog import MonitoringConfig, MonitoringSystem
from monitoring_cog.analysis.packed_histogram import PackedBuckets
from monitoring_cog.config import DatabaseConfig

__all__ = (
    "BACKENDS",
    "POSTGRES_URL_ENV",
    "Backend",
    "Blocker",
    "OpenSystem",
    "PostgresBackend",
    "PostgresServer",
    "Reopen",
    "SQLiteBackend",
)

BACKENDS = ("sqlite", "postgresql")
POSTGRES_URL_ENV = "MONITORING_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TABLES = (
    "servers",
    "audit_logs",
    "bot_stats",
    "daily_users",
    "command_stats",
    "command_latency",
    "command_minutes",
    "loop_stalls",
    "health_reports",
    "spill_replays",
    "guild_growth",
    "guild_population",
)
"""The data tables (``schema_migrations`` stays between tests: the schema does too)."""
GARBAGE = b"this is not a SQLite database\n" * 200
_LOCK_WAIT = "10s"
"""How long the tests' own PostgreSQL connections wait for a lock: a bug fails, never hangs."""

_T = TypeVar("_T")

OpenSystem = Callable[[Path | str, MonitoringConfig], MonitoringSystem]
"""The ``open_system`` fixture: a system on a new Database at a location, with a config."""
Reopen = Callable[[MonitoringSystem], Awaitable[MonitoringSystem]]
"""The ``reopen`` fixture: close a system's database, open a new system on the same database."""


class Blocker(ABC):
    """Another connection holding the write lock; it can still read."""

    @abstractmethod
    def scalar(self, sql: str) -> Any:
        """The first column of the first row of ``sql``, read inside the locking transaction."""


class Backend(ABC):
    """One backend: where a test's database is and how to reach it from outside the library."""

    name: str
    """``sqlite`` or ``postgresql``; also the migrations' dialect."""
    lock_error: str
    """Text in the error of a write that timed out waiting for :meth:`exclusive_lock`."""
    integrity_error: type[BaseException]
    """What a write refused by :meth:`refuse_inserts` raises."""
    latency_count: str
    """SQL for the durations counted in every latency histogram (each backend stores them its
    own way: a packed histogram per row in SQLite, a row per bucket in PostgreSQL)."""

    @property
    @abstractmethod
    def target(self) -> Path | str:
        """What ``Database(...)`` takes: the SQLite file or the PostgreSQL URL."""

    def database_config(self, **settings: Any) -> DatabaseConfig:
        """A ``[database]`` config naming this database, with ``settings`` on top."""
        return DatabaseConfig(**self._location_settings(), **settings)

    @abstractmethod
    def _location_settings(self) -> dict[str, str]: ...

    @abstractmethod
    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Every row of ``sql`` (plain SQL without parameters), on a connection of its own."""

    def scalar(self, sql: str) -> Any:
        """The first column of the first row of ``sql``."""
        return self.rows(sql)[0][0]

    @abstractmethod
    def json_field(self, column: str, key: str) -> str:
        """SQL for the integer at ``key`` of the JSON text in ``column``."""

    @abstractmethod
    def exclusive_lock(self) -> Any:
        """A context manager: another connection holds the write lock, yielding a :class:`Blocker`.

        The library's writes wait ``busy_timeout_ms`` for it, then fail; reads go on.
        """

    @abstractmethod
    def unusable(self) -> Any:
        """A context manager: the database cannot be opened while it lasts.

        SQLite: the file is replaced by bytes that are not a database (for good). PostgreSQL:
        the server refuses new connections to the database (connections already open stay).
        """

    @abstractmethod
    def refuse_inserts(self, table: str, message: str) -> None:
        """Make every insert into ``table`` fail with ``message`` (until :meth:`allow_inserts`)."""

    @abstractmethod
    def allow_inserts(self, table: str) -> None:
        """Undo :meth:`refuse_inserts`."""


class SQLiteBackend(Backend):
    """A SQLite file, reached with the standard library's :mod:`sqlite3`."""

    name = "sqlite"
    lock_error = "locked"
    integrity_error = sqlite3.IntegrityError
    latency_count = "SELECT COALESCE(SUM(latency_count(latency)), 0) FROM command_latency"

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def target(self) -> Path:
        return self.path

    def _location_settings(self) -> dict[str, str]:
        return {"path": str(self.path)}

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path)) as conn:
            conn.create_function("latency_count", 1, _latency_count, deterministic=True)
            return [tuple(row) for row in conn.execute(sql).fetchall()]

    def json_field(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    @contextmanager
    def exclusive_lock(self) -> Iterator[Blocker]:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            yield _SQLiteBlocker(conn)
        finally:
            conn.close()  # Discards the open transaction, releasing the lock.

    @contextmanager
    def unusable(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self.path.write_bytes(GARBAGE)
        yield

    def is_garbage(self) -> bool:
        """Whether the file still holds what :meth:`unusable` wrote (never overwritten)."""
        return self.path.read_bytes() == GARBAGE

    def refuse_inserts(self, table: str, message: str) -> None:
        with closing(sqlite3.connect(self.path)) as conn:
            conn.execute(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table}"
                f" BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
            conn.commit()

    def allow_inserts(self, table: str) -> None:
        with closing(sqlite3.connect(self.path)) as conn:
            conn.execute(f"DROP TRIGGER refuse_{table}")
            conn.commit()


def _latency_count(blob: bytes | None) -> int:
    """How many durations a stored (packed) latency histogram counts."""
    return sum(PackedBuckets.from_blob(blob).values())


class _SQLiteBlocker(Blocker):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def scalar(self, sql: str) -> Any:
        return self._conn.execute(sql).fetchone()[0]


class _LoopThread:
    """An event loop on a daemon thread, so synchronous test code can run asyncpg calls."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="postgres-test-admin", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class PostgresServer:
    """The PostgreSQL server of the test session, and the database created on it for the tests.

    :meth:`start` connects to the server's maintenance database, creates
    ``monitoring_cog_test_<pid>_<random>`` and migrates it; :meth:`reset` empties its tables
    before each test; :meth:`stop` drops it. :meth:`create_database` makes further empty
    databases for tests that need one of their own (migrations); :meth:`stop` drops those too.
    """

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self._thread = _LoopThread()
        self._admin: asyncpg.Connection | None = None
        self._conn: asyncpg.Connection | None = None
        self._databases: list[str] = []
        self.url = ""
        """The session's test database."""

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return self._thread.run(coro)

    def start(self) -> None:
        """Connect (raising ``OSError`` or asyncpg's errors if the server cannot be used)."""
        self._admin = self.run(_connect(self.server_url))
        self.url = self.create_database()
        self._conn = self.run(_connect(self.url))
        self.run(self._migrate())

    async def _migrate(self) -> None:
        from monitoring_cog.storage.postgres import PostgresStorage

        storage = PostgresStorage(self.url, pool_min_size=0)
        await storage.connect()
        await storage.close()

    def create_database(self) -> str:
        """A new empty database on the server; its URL (dropped by :meth:`stop`)."""
        name = f"monitoring_cog_test_{os.getpid()}_{secrets.token_hex(4)}"
        assert self._admin is not None
        self.run(self._admin.execute(f'CREATE DATABASE "{name}"'))
        self._databases.append(name)
        return database_url(self.server_url, name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, cutting connections left to it."""
        name = urlsplit(url).path.lstrip("/")
        assert self._admin is not None and name in self._databases
        self.run(self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._databases.remove(name)

    def reset(self) -> None:
        """Empty every data table of the session's database (the schema stays).

        DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE's new files cost more
        (about 0.1 s a test) than deleting them. Ids keep counting; no test relies on them.
        """
        assert self._conn is not None
        # servers last: audit_logs and bot_stats refer to it.
        self.run(self._conn.execute("; ".join(f"DELETE FROM {t}" for t in reversed(TABLES))))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        assert self._conn is not None
        return [tuple(row) for row in self.run(self._conn.fetch(sql))]

    def execute(self, sql: str) -> None:
        assert self._conn is not None
        self.run(self._conn.execute(sql))

    @contextmanager
    def exclusive_lock(self) -> Iterator[Blocker]:
        """Hold EXCLUSIVE locks on every data table: writes wait, plain reads go on, as with
        SQLite's write lock in WAL mode."""
        conn = self.run(_connect(self.url))
        try:
            self.run(conn.execute(f"BEGIN; LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE"))
            yield _PostgresBlocker(self, conn)
        finally:
            self.run(conn.close())  # Ends the transaction, releasing the locks.

    @contextmanager
    def refusing_connections(self) -> Iterator[None]:
        """The server refuses new connections to the session's database while this lasts."""
        assert self._admin is not None
        name = urlsplit(self.url).path.lstrip("/")
        self.run(self._admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
        try:
            yield
        finally:
            self.run(self._admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))

    def stop(self) -> None:
        """Drop every database made for the tests, even with connections left open to them."""
        try:
            if self._conn is not None:
                self.run(self._conn.close())
            if self._admin is not None:
                for name in self._databases:
                    self.run(self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                self.run(self._admin.close())
        finally:
            self._thread.close()


class _PostgresBlocker(Blocker):
    def __init__(self, server: PostgresServer, conn: asyncpg.Connection) -> None:
        self._server = server
        self._conn = conn

    def scalar(self, sql: str) -> Any:
        return self._server.run(self._conn.fetchval(sql))


class PostgresBackend(Backend):
    """The session's PostgreSQL test database."""

    name = "postgresql"
    lock_error = "lock timeout"
    integrity_error = asyncpg.RaiseError
    latency_count = "SELECT COALESCE(SUM(count), 0) FROM command_latency"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server

    @property
    def target(self) -> str:
        return self.server.url

    def _location_settings(self) -> dict[str, str]:
        return {"url": self.server.url}

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.server.rows(sql)

    def json_field(self, column: str, key: str) -> str:
        return f"({column}::json ->> '{key}')::int"

    def exclusive_lock(self) -> Any:
        return self.server.exclusive_lock()

    def unusable(self) -> Any:
        return self.server.refusing_connections()

    def refuse_inserts(self, table: str, message: str) -> None:
        self.server.execute(
            f"CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        self.server.execute(
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
        )

    def allow_inserts(self, table: str) -> None:
        self.server.execute(f"DROP TRIGGER refuse_{table} ON {table}")
        self.server.execute(f"DROP FUNCTION refuse_{table}()")


def server_url() -> str:
    """The server the PostgreSQL tests use: ``$MONITORING_TEST_POSTGRES_URL`` or the default."""
    return os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL


def database_url(server: str, name: str) -> str:
    """``server`` with its database replaced by ``name``."""
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=5, server_settings={"lock_timeout": _LOCK_WAIT})
