"""``Database``: the handle the collector classes share.

It owns the storage backend, the recording pipeline, the clock and the error counter. The
constructor does no I/O beyond checking the path (and creating missing parent folders); the
connection opens, and migrations run, on first use. ``await db.close()`` writes everything queued
and closes the connection.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import TracebackType

from .clock import Clock, SystemClock
from .config import MonitoringConfig, load_config
from .errors import DatabaseUnavailable
from .pipeline import Recorder
from .records import Record
from .safe import ErrorCounter
from .storage.base import Storage
from .storage.sqlite import SQLiteStorage

__all__ = ("Database",)


class Database:
    """Where monitoring data is recorded and read from.

    Parameters
    ----------
    path:
        The SQLite file (``":memory:"`` for a throw-away database). ``None`` takes
        ``[database] path`` from the config.
    config:
        The configuration; ``None`` reads it with :func:`~monitoring_cog.load_config`
        (``$MONITORING_CONFIG``, else ``./config.toml``, else the defaults).
    clock:
        Where time comes from; inject a :class:`~monitoring_cog.clock.ManualClock` to simulate it.
    storage:
        A ready-made storage backend, instead of the SQLite file named by ``path``.

    Raises
    ------
    DatabaseUnavailable
        The path can never hold a database: it is a folder, or its parent folder cannot be
        created or written to.
    ConfigError
        The config file is invalid.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        config: MonitoringConfig | None = None,
        clock: Clock | None = None,
        storage: Storage | None = None,
    ) -> None:
        self.config = config if config is not None else load_config()
        self.clock: Clock = clock or SystemClock()
        self.errors = ErrorCounter()
        """Exceptions swallowed and inputs corrected by this database's users."""
        if storage is None:
            location = str(path) if path is not None else self.config.database.path
            if location != ":memory:":
                location = str(_prepare_path(location))
            storage = SQLiteStorage(
                location, busy_timeout_ms=self.config.database.busy_timeout_ms, clock=self.clock
            )
        self._storage = storage
        self._connect_lock = asyncio.Lock()
        self._closed = False
        self.recorder = Recorder(self.storage, self.config.recording, self.clock, self.errors)
        """The buffer and writer behind :meth:`submit`."""

    @property
    def path(self) -> str:
        """Where the data lives (file path, or URL without password)."""
        return self._storage.location

    @property
    def is_connected(self) -> bool:
        """Whether the connection is open."""
        return self._storage.is_connected

    async def storage(self) -> Storage:
        """The storage backend, connected (and migrated) on first use."""
        if self._storage.is_connected:
            return self._storage
        if self._closed:
            raise DatabaseUnavailable(f"{self.path}: database is closed")
        async with self._connect_lock:
            if not self._storage.is_connected:
                await self._storage.connect()
        return self._storage

    async def connect(self) -> None:
        """Open the connection and migrate now, raising if that fails (for start-up checks)."""
        await self.storage()

    async def migrate(self) -> int:
        """Apply pending migrations; return the schema version the database is now at."""
        storage = await self.storage()
        return await storage.schema_version()

    def submit(self, record: Record) -> bool:
        """Queue a record for writing without waiting; ``False`` if it was dropped."""
        return self.recorder.submit(record)

    async def flush(self) -> None:
        """Write everything queued so far (readers call this first to read their own writes)."""
        await self.recorder.flush()

    async def close(self) -> None:
        """Write everything queued, then close the connection. Safe to call twice."""
        if self._closed:
            return
        try:
            await self.recorder.close()
        finally:
            self._closed = True
            await self._storage.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<Database path={self.path!r} connected={self.is_connected}>"


def _prepare_path(raw: str) -> Path:
    path = Path(raw).expanduser()
    if path.is_dir():
        raise DatabaseUnavailable(f"{path}: is a folder; expected the path of a SQLite file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"{path}: cannot create the folder {path.parent}: {exc.strerror or exc}"
        ) from exc
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise DatabaseUnavailable(f"{path}: the folder {path.parent} is not writable")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseUnavailable(f"{path}: the file is not readable and writable")
    return path
