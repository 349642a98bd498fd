"""``CommandLogger``: the audit log of executed commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from ..database import Database
from ..recording.frames import capture_traceback
from ..recording.normalize import (
    MAX_COMMAND_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_NAME_LENGTH,
    clean_duration,
    clean_guild_id,
    clean_text,
    clean_timestamp,
    clean_user_id,
)
from ..recording.records import CommandRecord
from ..storage.base import AuditQuery
from .safe import safe_execute

__all__ = ("CommandLogger",)

_log = logging.getLogger(__name__)

PRUNE_BATCH = 5000
"""Audit rows deleted per transaction when pruning, so writers and readers get turns."""
MINUTES_KEPT = 2 * 86400
"""Per-minute activity (for the health error rate) is kept this many seconds when pruning."""


class CommandLogger:
    """Writes command executions to the audit log and reads them back.

    Logging only queues the row (see :mod:`monitoring_cog.recording.pipeline`); it also feeds the
    daily rollups: commands, failures, distinct users, per-command latency.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.errors = db.errors

    def log_command_nowait(
        self,
        guild_id: str | int | None,
        guild_name: str | None,
        user_id: str | int | None,
        username: str | None,
        command: str,
        parameters: dict[str, Any] | None = None,
        duration: float = 0.0,
        success: bool = True,
        error_message: str | None = None,
        *,
        error_type: str | None = None,
        executed_at: float | None = None,
        exception: BaseException | None = None,
    ) -> bool:
        """Synchronous :meth:`log_command`, for code that cannot await. Never raises."""
        try:
            if self.db.recorder.refuses():
                return False  # Full (or closing): dropped and counted before any work.
            seconds = clean_duration(duration, self.errors)
            errors = self.errors
            name = clean_text(command, MAX_COMMAND_LENGTH, errors) or ""
            if not name.strip():
                self.errors.rejected_inputs += 1
                _log.warning("monitoring: log_command without a command name; not recorded")
                return False
            if parameters is not None and not isinstance(parameters, dict):
                # Untyped callers pass lists or scalars; keep them rather than fail.
                parameters = {"value": parameters}  # type: ignore[unreachable]
            trace = None
            if exception is not None and not success:
                error_type = error_type or type(exception).__name__
                error_message = error_message or str(exception)
                if self.db.privacy.stores_tracebacks:
                    trace = capture_traceback(exception.__traceback__)
            record = CommandRecord(
                guild_id=clean_guild_id(guild_id, errors),
                guild_name=clean_text(guild_name, MAX_NAME_LENGTH, errors),
                user_id=clean_user_id(user_id, errors),
                username=clean_text(username, MAX_NAME_LENGTH, errors),
                command=name.strip(),
                # A copy, so the caller mutating its dict later does not change the record.
                parameters=dict(parameters) if parameters else None,
                duration=seconds,
                success=bool(success),
                error_type=clean_text(error_type, MAX_NAME_LENGTH, errors),
                error_message=clean_text(error_message, MAX_ERROR_LENGTH, errors, multiline=True),
                executed_at=clean_timestamp(executed_at, self.db.clock.time() - seconds, errors),
                traceback=trace,
            )
            return self.db.submit(record)
        except Exception as exc:
            self.errors.record("CommandLogger.log_command", exc)
            _log.exception("monitoring: log_command failed")
            return False

    @safe_execute(default=False)
    async def log_command(
        self,
        guild_id: str | int | None,
        guild_name: str | None,
        user_id: str | int | None,
        username: str | None,
        command: str,
        parameters: dict[str, Any] | None = None,
        duration: float = 0.0,
        success: bool = True,
        error_message: str | None = None,
        *,
        error_type: str | None = None,
        executed_at: float | None = None,
        exception: BaseException | None = None,
    ) -> bool:
        """Record one command execution in the audit log.

        Returns as soon as the row is queued (it is written within ``flush_interval``); any
        read made afterwards through this library sees it.

        Parameters
        ----------
        guild_id, guild_name:
            The guild, registered automatically on first sight. ``None`` means a direct
            message (recorded under the guild id ``"dm"``).
        user_id, username:
            Who ran the command. Ids may be ``int`` or ``str``; they are stored as text.
        command:
            The command's name (qualified name for subcommands, e.g. ``"stats weekly"``).
        parameters:
            The arguments as given; stored as JSON (values JSON cannot hold are stored as text).
        duration:
            Seconds from start to end; clamped to ``[0, 86400]``.
        success, error_message, error_type:
            The outcome; on failure the error's message and class name.
        executed_at:
            When the command started, as epoch seconds; defaults to now minus ``duration``
            (as does a value that is not a time in years 1970-9999, such as NaN: counted).
        exception:
            The exception a failed command raised: its class name and message fill
            ``error_type`` and ``error_message`` when those are not given, and its traceback's
            code locations are kept (``[privacy] store_tracebacks``; source lines are read by
            the writer, never here).

        Returns
        -------
        bool
            ``True`` if queued, ``False`` if dropped (buffer full, invalid input, closed).
        """
        return self.log_command_nowait(
            guild_id,
            guild_name,
            user_id,
            username,
            command,
            parameters,
            duration,
            success,
            error_message,
            error_type=error_type,
            executed_at=executed_at,
            exception=exception,
        )

    @safe_execute(default_factory=list)
    async def get_recent_commands(
        self,
        guild_id: str | int | None = None,
        *,
        user_id: str | int | None = None,
        command: str | None = None,
        failed_only: bool = False,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """The most recent audit rows (Command Log Entry dicts), newest first.

        Each entry also has ``traceback``: for a command whose own code raised, where (as
        Python prints a traceback), else ``None``.

        Filters combine: a guild (``None`` for all), a user, a command name, failures only.
        With ``[privacy] hash_user_ids`` on, ``user_id`` (a Discord id or a stored pseudonym) is
        hashed as stored ids are, and rows carry the pseudonym. Returns ``[]`` if the database
        cannot be read.
        """
        await self.db.flush()
        storage = await self.db.storage()
        # Stored ids may be pseudonyms: look up the one this id is stored as.
        user = None if user_id is None else self.db.privacy.user_id(clean_user_id(user_id))
        return await storage.audit_logs(
            AuditQuery(
                guild_id=None if guild_id is None else clean_guild_id(guild_id),
                user_id=user,
                command=command,
                failed_only=failed_only,
                limit=limit,
            )
        )

    async def get_user_commands(
        self, user_id: str | int, guild_id: str | int | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """A user's most recent commands, newest first (``[]`` on error)."""
        return await self.get_recent_commands(guild_id, user_id=user_id, limit=limit)

    async def get_failed_commands(
        self, guild_id: str | int | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The most recent failed commands, newest first (``[]`` on error)."""
        return await self.get_recent_commands(guild_id, failed_only=True, limit=limit)

    @safe_execute(default=0)
    async def clear_old_logs(
        self, days: int = 30, *, progress: Callable[[int], object] | None = None
    ) -> int:
        """Delete audit rows older than ``days`` days; return how many were deleted.

        Rollups are kept, so reports and performance statistics are unchanged. Rows go in
        batches of 5000, each its own short transaction, so recording carries on meanwhile.
        Event-loop stalls older than ``days`` go too (they are not counted in the result).
        Returns 0 on error.

        Parameters
        ----------
        days:
            Age, in days, past which audit rows go (0: every row recorded until now).
        progress:
            Called with the number of rows each batch deleted (for a progress bar).
        """
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        await self.db.flush()
        storage = await self.db.storage()
        now = self.db.clock.time()
        cutoff = now - days * 86400
        deleted = 0
        while True:
            removed = await storage.prune_audit_logs(cutoff, PRUNE_BATCH)
            deleted += removed
            if progress is not None and removed:
                progress(removed)
            if removed < PRUNE_BATCH:
                break
            await asyncio.sleep(0)
        await storage.prune_minutes(now - MINUTES_KEPT)
        # Event-loop stalls name commands and guilds as audit rows do: kept as long.
        stalls = await storage.prune_loop_stalls(cutoff)
        if deleted or stalls:
            _log.info(
                "monitoring: pruned %d audit rows and %d event-loop stalls older than %d days",
                deleted,
                stalls,
                days,
            )
        return deleted

    @safe_execute(default=0)
    async def count_audit_logs(
        self, *, since: float | None = None, older_than_days: float | None = None
    ) -> int:
        """How many audit rows match; 0 on error.

        Parameters
        ----------
        since:
            Count only rows from this epoch second on.
        older_than_days:
            Count only rows older than this many days (what :meth:`clear_old_logs` would delete).
            With neither filter, every row is counted.
        """
        await self.db.flush()
        storage = await self.db.storage()
        before = None
        if older_than_days is not None:
            before = self.db.clock.time() - older_than_days * 86400
        return await storage.count_audit_logs(since=since, before=before)

    async def iter_audit_logs(
        self, since: float | None = None, *, batch_size: int = 1000
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Every audit row from epoch second ``since`` on, oldest first (Command Log Entries).

        Rows are read ``batch_size`` at a time from one cursor, so exporting millions of rows
        takes the memory of one batch. Use with ``async for``.

        Unlike the other readers this raises (:class:`~monitoring_cog.errors.DatabaseUnavailable`
        or the database's own error) instead of returning a default: an export cut short must not
        pass for a complete one.
        """
        await self.db.flush()
        storage = await self.db.storage()
        # Closed here, not whenever the garbage collector gets to it: its cursor must go before
        # the caller closes the database.
        async with contextlib.aclosing(
            storage.iter_audit_logs(since=since, batch_size=batch_size)
        ) as rows:
            async for entry in rows:
                yield entry

    @safe_execute(default_factory=dict)
    async def forget_user(self, user_id: str | int) -> dict[str, int]:
        """Erase a user: their audit rows and their per-day activity rows (commands, message
        components and custom events).

        Records of theirs still queued are written first, so they go too. Aggregates that hold no
        user id stay: daily command, song, skip and pause counts and per-command latency, so
        reports keep their totals (the distinct-user figures of past days drop by one where the
        user was active, since those are counted from the per-day rows; so do the distinct users
        of components and events). A mention of the user in
        another user's command parameters is not searched for. With ``[privacy] hash_user_ids``
        on, ``user_id`` (the Discord id, or the pseudonym seen in an export) is hashed as stored
        ids are, so the same rows go.

        Returns
        -------
        dict[str, int]
            Rows deleted per table, ``{"audit_logs": n, "daily_users": m, "component_users": c,
            "event_users": e}``; ``{}`` on error.
        """
        await self.db.flush()
        storage = await self.db.storage()
        user = self.db.privacy.user_id(clean_user_id(user_id, self.errors))
        deleted = await storage.forget_user(user)
        _log.info(
            "monitoring: forgot user %s (%d audit rows, %d daily rows, %d component and event"
            " rows)",
            user,
            deleted.get("audit_logs", 0),
            deleted.get("daily_users", 0),
            deleted.get("component_users", 0) + deleted.get("event_users", 0),
        )
        return deleted
