"""``Database``: the handle the collector classes share.

It owns the storage backend, the recording pipeline, the clock and the error counter. The
constructor does no I/O beyond checking the paths (and creating missing folders); the connection
opens, migrations run and spill files left by an earlier run are written, on first use.
``await db.close()`` writes everything queued, within ``recording.close_timeout``, and closes the
connection; a database never closed lets go of it when the process exits
(:mod:`monitoring_cog.recording.exit_guard`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from .clock import Clock, SystemClock
from .config import MonitoringConfig, load_config
from .errors import ConfigError, DatabaseUnavailable, ErrorCounter
from .recording import exit_guard
from .recording.event_names import EventNames
from .recording.pipeline import Recorder
from .recording.privacy import Privacy
from .recording.records import Record
from .recording.replay import replay_spills
from .recording.spill import SpillTarget, folder_problem, spill_target, write_spill
from .storage.base import Storage
from .storage.factory import open_storage

__all__ = ("Database",)

_log = logging.getLogger(__name__)


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
        The config file is invalid, ``[privacy] hash_user_ids`` is on without a secret, or the
        spill folder (``[recording] spill_dir``) is not a folder, or cannot be created or
        written to.
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
        self.event_names = EventNames(self.config.events.max_names_per_guild)
        """The custom event names each guild keeps (``[events] max_names_per_guild``), bounded
        by the writer, each guild's stored names loaded when it first meets the guild."""
        self.spill_target: SpillTarget | None = self._spill_target()
        """Where records not written in time are saved; ``None`` for an in-memory database."""
        self.recorder = Recorder(
            self.storage,
            self.config.recording,
            self.clock,
            self.errors,
            privacy=self.privacy,
            spill=self._write_spill if self.spill_target is not None else None,
            event_names=self.event_names,
        )
        """The buffer and writer behind :meth:`submit`."""
        exit_guard.track(self)

    def _spill_target(self) -> SpillTarget | None:
        target = spill_target(
            self._storage.location,
            is_sqlite=self._storage.dialect == "sqlite",
            spill_dir=self.config.recording.spill_dir,
            sqlite_path=self.config.database.path,
        )
        if target is not None:
            problem = folder_problem(target.folder)
            if problem is not None:
                raise ConfigError(
                    f"recording.spill_dir: expected a folder this process can write spill files"
                    f" to, got {str(target.folder)!r} ({problem})"
                )
        return target

    def _write_spill(self, records: list[Record]) -> Path:
        assert self.spill_target is not None
        path, fallbacks = write_spill(self.spill_target, records, self.privacy)
        self.errors.rejected_inputs += fallbacks
        return path

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
                if self.spill_target is not None:
                    # Records an earlier run could not write before it ended, written once.
                    await replay_spills(
                        self._storage, self.spill_target, self.privacy, self.event_names
                    )
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

    async def close(self, within: float | None = None) -> None:
        """Write everything queued, then close the connection. Safe to call twice.

        Returns within ``within`` seconds (``recording.close_timeout`` by default) whatever the
        database does: records not written by then are saved to a spill file and written on the
        next start (see :meth:`Recorder.close <monitoring_cog.recording.pipeline.Recorder.close>`).
        """
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        limit = self.config.recording.close_timeout if within is None else max(0.0, within)
        deadline = loop.time() + limit
        try:
            await self.recorder.close(limit)
        finally:
            self._closed = True
            if not self.recorder.writing_late:
                # Else still looked after at exit: the late write's records, if it cannot end.
                exit_guard.untrack(self)
            # The recorder leaves a little of the time for this (see pipeline._RESERVE_BASE).
            await self._close_storage(deadline)

    async def _close_storage(self, deadline: float) -> None:
        # Not cancelled on time out: the close waits behind a write that outlasted the deadline
        # (aiosqlite queues it on the connection's thread), and ends once that write does.
        closing = asyncio.ensure_future(self._storage.close())
        remaining = deadline - asyncio.get_running_loop().time()
        await asyncio.wait({closing}, timeout=max(0.0, remaining))
        if closing.done():
            closing.result()
        else:
            closing.add_done_callback(_retrieve)
            _log.warning(
                "monitoring: the connection to %s closes once the write still in progress ends",
                self.path,
            )

    def abandon(self) -> None:
        """Spill what is queued and let go of the connection, without an event loop.

        Called at interpreter exit for a database never closed
        (:mod:`monitoring_cog.recording.exit_guard`).
        """
        self._closed = True
        self.recorder.abandon()
        self._storage.abandon()

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


def _retrieve(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.warning("monitoring: closing the connection late failed: %s", task.exception())
