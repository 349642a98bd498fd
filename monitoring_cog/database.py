"""``Database``: the handle the collector classes share.

It owns the storage backend, the recording pipeline, the clock and the error counter. The
constructor does no I/O beyond checking the path (and creating missing parent folders); the
connection opens, and migrations run, on first use. ``await db.close()`` writes everything queued
and closes the connection.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from types import TracebackType

from .clock import Clock, SystemClock
from .config import MonitoringConfig, load_config
from .errors import DatabaseUnavailable
from .pipeline import Recorder
from .privacy import Privacy
from .records import Record
from .safe import ErrorCounter
from .storage.base import Storage
from .storage.factory import open_storage

__all__ = ("Database",)


class Database:
    """Where monitoring data is recorded and read from.

    Parameters
    ----------
    path:
        The SQLite file (``":memory:"`` for a throw-away database), or a ``postgresql://`` URL.
        ``None`` takes ``[database] url`` from the config if set, else ``[database] path``.
    config:
        The configuration; ``None`` reads it with :func:`~monitoring_cog.load_config`
        (``$MONITORING_CONFIG``, else ``./config.toml``, else the defaults).
    clock:
        Where time comes from; inject a :class:`~monitoring_cog.clock.ManualClock` to simulate it.
    storage:
        A ready-made storage backend, instead of the one ``path`` (or the config) names.

    Raises
    ------
    DatabaseUnavailable
        The path can never hold a database: it is a folder, or its parent folder cannot be
        created or written to; or it is a URL of a scheme other than ``postgresql://``.
    ConfigError
        The config file is invalid, or ``[privacy] hash_user_ids`` is on without a secret.
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
        self.privacy = Privacy.from_config(self.config.privacy)
        """Redaction and user-id hashing, applied by the writer to everything stored."""
        if storage is None:
            storage = open_storage(self.config.database, path, self.clock)
        self._storage = storage
        self._connect_lock = asyncio.Lock()
        self._closed = False
        self.recorder = Recorder(
            self.storage, self.config.recording, self.clock, self.errors, privacy=self.privacy
        )
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

    def register_guild(self, guild_id: str, guild_name: str | None) -> None:
        """Register a guild seen now, without waiting; never refused (see
        :meth:`register_guilds`)."""
        self.recorder.register_guilds(((guild_id, guild_name),), self.clock.time())

    def register_guilds(
        self, guilds: Iterable[tuple[str, str | None]], at: float | None = None
    ) -> None:
        """Register ``guilds``, each ``(guild_id, name or None)``, seen at ``at`` (default: now).

        Registrations are kept one per guild beside the buffer (see
        :meth:`Recorder.register_guilds`): registering many guilds drops no record.
        """
        self.recorder.register_guilds(guilds, self.clock.time() if at is None else at)

    async def flush(self) -> None:
        """Write everything queued before this call (readers call this first to read their own
        writes); what is queued meanwhile is left to the writer."""
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
