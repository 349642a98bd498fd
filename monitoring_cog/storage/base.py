"""The storage interface every backend implements.

The collector classes speak only to this interface: one write (a whole :class:`WriteBatch` in a
single transaction) and a handful of reads over the rollups. A backend owns its connection, its
SQL dialect and its migrations; nothing above it knows which database it is.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from ..analysis.growth import GrowthDay
from ..analysis.totals import CommandTotals, DayTotals
from .batch import WriteBatch
from .dashboard import AuditSearch, CommandDay, HealthReportRow, ServerActivity

__all__ = (
    "AUDIT_COLUMNS",
    "AUDIT_ROW_COLUMNS",
    "STALL_COLUMNS",
    "AuditQuery",
    "CommandTotals",
    "DayTotals",
    "GrowthDay",
    "ServerInfo",
    "Storage",
    "audit_entry",
    "command_totals_from_rows",
    "day_totals_from_rows",
    "stall_entry",
)

AUDIT_COLUMNS = (
    "id, guild_id, guild_name, user_id, username, command, parameters, duration, success,"
    " error_type, error_message, executed_at, traceback"
)
"""The ``audit_logs`` columns :func:`audit_entry` reads, in its order (in every backend)."""
AUDIT_ROW_COLUMNS = (
    "guild_id",
    "guild_name",
    "user_id",
    "username",
    "command",
    "parameters",
    "duration",
    "success",
    "error_type",
    "error_message",
    "executed_at",
    "traceback",
)
"""The ``audit_logs`` columns of an :data:`~monitoring_cog.storage.batch.AuditRow`, in its
order: what the writer inserts."""


STALL_COLUMNS = "started_at, duration, command, command_kind, guild_id, location, stack"
"""The ``loop_stalls`` columns of a :data:`~monitoring_cog.storage.batch.StallRow`, in its order
(what the writer inserts and :func:`stall_entry` reads)."""


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for reading audit rows back, newest first."""

    guild_id: str | None = None
    user_id: str | None = None
    command: str | None = None
    failed_only: bool = False
    since: float | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """A registered guild."""

    guild_id: str
    guild_name: str | None
    first_seen: float
    """Epoch seconds of the first record for this guild."""
    last_seen: float
    """Epoch seconds of the most recent record for this guild."""


class Storage(ABC):
    """A database that monitoring_cog can record into and report from."""

    dialect: ClassVar[str]
    """Name of the SQL dialect; also the folder of its migrations."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the data lives (a file path or a URL without its password), for messages."""

    @property
    @abstractmethod
    def is_connected(self) -> bool:
        """Whether :meth:`connect` succeeded and :meth:`close` has not been called since."""

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection and apply pending migrations.

        Raises :class:`~monitoring_cog.errors.DatabaseUnavailable` or
        :class:`~monitoring_cog.errors.SchemaError`.
        """

    @abstractmethod
    async def close(self) -> None:
        """Close the connection. Safe to call twice."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The migration version the database is at."""

    @abstractmethod
    async def write(
        self, batch: WriteBatch, *, lock_wait: float | None = None, spill_id: str | None = None
    ) -> None:
        """Store a whole batch in one transaction: all of it, or (on error) none of it.

        Parameters
        ----------
        batch:
            What to store.
        lock_wait:
            Seconds the write may wait for a lock another connection holds, if less than the
            configured ``busy_timeout_ms`` (closing uses it to end its attempts by its deadline).
        spill_id:
            The spill file the batch comes from: recorded in ``spill_replays`` in the same
            transaction, so the spill is never written twice (see :meth:`spill_replayed`).
        """

    @abstractmethod
    async def spill_replayed(self, spill_id: str) -> bool:
        """Whether a batch written with ``spill_id`` has been committed."""

    @abstractmethod
    def abandon(self) -> None:
        """Let go of the connection without awaiting anything (the event loop is gone).

        For a process ending without :meth:`close`: nothing of the backend may keep it alive.
        """

    @abstractmethod
    async def day_totals(self, guild_id: str | None, first: date, last: date) -> list[DayTotals]:
        """Per-day figures for days ``first`` to ``last`` inclusive that have any data.

        ``guild_id`` None sums every guild (distinct users are then counted per guild).
        """

    @abstractmethod
    async def command_totals(
        self, guild_id: str | None, first: date, last: date, *, with_buckets: bool = False
    ) -> list[CommandTotals]:
        """Per-command figures over days ``first`` to ``last``, most used first."""

    @abstractmethod
    async def growth(self, first: date, last: date) -> list[GrowthDay]:
        """The bot's growth on every day from ``first`` to ``last`` inclusive, oldest first:
        guilds joined and left, and the day's latest guild and member counts (see
        :func:`~monitoring_cog.analysis.growth.growth_days`)."""

    @abstractmethod
    async def recent_activity(self, since: float, guild_id: str | None) -> tuple[int, int]:
        """``(commands, failures)`` recorded from epoch second ``since`` on (minute precision)."""

    @abstractmethod
    async def audit_logs(self, query: AuditQuery) -> list[dict[str, Any]]:
        """Audit rows matching ``query`` as Command Log Entry dicts, newest first."""

    @abstractmethod
    async def prune_audit_logs(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` audit rows older than ``before``; return how many went."""

    @abstractmethod
    async def count_audit_logs(
        self, *, since: float | None = None, before: float | None = None
    ) -> int:
        """Number of audit rows with ``since <= executed_at < before`` (either bound optional)."""

    @abstractmethod
    def iter_audit_logs(
        self, *, since: float | None = None, batch_size: int = 1000
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Every audit row from epoch second ``since`` on, oldest first, as Command Log Entries.

        Rows are fetched ``batch_size`` at a time from one cursor, so memory stays flat however
        many rows there are.
        """

    @abstractmethod
    async def forget_user(self, user_id: str) -> dict[str, int]:
        """Delete a user's audit rows and per-day user rows in one transaction.

        Returns how many rows went, per table: ``{"audit_logs": n, "daily_users": m}``. The
        aggregate rollups (``bot_stats``, ``command_stats``, ``command_latency``) hold no user
        ids and stay.
        """

    @abstractmethod
    async def list_servers(self) -> list[ServerInfo]:
        """Every registered guild, most recently seen first."""

    @abstractmethod
    async def prune_minutes(self, before: float) -> int:
        """Delete per-minute activity older than ``before``; return how many rows went."""

    @abstractmethod
    async def loop_stalls(
        self, *, since: float | None = None, guild_id: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Event-loop stalls from epoch second ``since`` on, newest first, at most ``limit``.

        ``guild_id`` keeps the stalls of commands run in that guild. Each is a dict:
        ``started_at`` (a UTC datetime), ``duration`` (seconds), ``command``, ``command_kind``,
        ``guild_id``, ``location`` and ``stack`` (the last five ``None`` when unknown).
        """

    @abstractmethod
    async def prune_loop_stalls(self, before: float) -> int:
        """Delete the stalls that started before ``before``; return how many went."""

    # -- the dashboard's reads (and the health reports it shows) --------------------------------

    @abstractmethod
    async def store_health_report(self, row: HealthReportRow, *, forget_before: float) -> None:
        """Replace this process's row of ``health_reports`` with ``row``; delete the rows of
        processes silent since before ``forget_before`` (gone for good)."""

    @abstractmethod
    async def health_reports(self) -> list[HealthReportRow]:
        """Every process's latest health report, most recent first."""

    @abstractmethod
    async def minute_activity(self, since: float) -> list[tuple[int, int, int]]:
        """``(minute, commands, failures)`` per minute from epoch second ``since`` on, every
        guild together, oldest first; ``minute`` is epoch seconds // 60. Minutes without
        commands are absent."""

    @abstractmethod
    async def search_audit_logs(self, search: AuditSearch) -> list[dict[str, Any]]:
        """Audit rows matching ``search``, newest first by ``(executed_at, id)``, at most
        ``search.limit``, after ``search.after`` (keyset: the same cost on every page)."""

    @abstractmethod
    async def server_activity(self, today: date) -> list[ServerActivity]:
        """Every registered guild with its commands, distinct users and failures over the 7 and
        30 days ending on ``today`` (inclusive)."""

    @abstractmethod
    async def command_days(self, first: date, last: date) -> list[CommandDay]:
        """Per day from ``first`` to ``last``, each command's runs and latency buckets, every
        guild together. Days without runs are absent."""

    @abstractmethod
    async def ping(self) -> None:
        """A minimal round trip to the database."""

    @abstractmethod
    async def server_count(self) -> int:
        """Number of registered guilds."""

    @abstractmethod
    async def size_bytes(self) -> int:
        """Space the database takes."""


def audit_entry(row: Any) -> dict[str, Any]:
    """A Command Log Entry from an ``audit_logs`` row selected as :data:`AUDIT_COLUMNS`.

    Parameters are stored as JSON text; text that is not JSON comes back as ``{"_raw": text}``.
    ``traceback`` is the text kept of a failed command's traceback (``None`` for a success, a
    refusal, or with ``[privacy] store_tracebacks = "off"``).
    """
    try:
        parameters = json.loads(row[6]) if row[6] else {}
    except ValueError:
        parameters = {"_raw": row[6]}
    return {
        "id": int(row[0]),
        "guild_id": row[1],
        "guild_name": row[2],
        "user_id": row[3],
        "username": row[4],
        "command": row[5],
        "parameters": parameters,
        "duration": float(row[7]),
        "success": bool(row[8]),
        "error_type": row[9],
        "error_message": row[10],
        "executed_at": datetime.fromtimestamp(float(row[11]), UTC),
        "traceback": row[12],
    }


def stall_entry(row: Any) -> dict[str, Any]:
    """A stall dict (see :meth:`Storage.loop_stalls`) from a row selected as
    :data:`STALL_COLUMNS`."""
    return {
        "started_at": datetime.fromtimestamp(float(row[0]), UTC),
        "duration": float(row[1]),
        "command": row[2],
        "command_kind": row[3],
        "guild_id": row[4],
        "location": row[5],
        "stack": row[6],
    }


def day_totals_from_rows(totals: Mapping[date, Any], users: Mapping[date, int]) -> list[DayTotals]:
    """:class:`DayTotals` per day, oldest first, from both backends' two per-day queries.

    ``totals`` maps a day to its ``bot_stats`` sums (day, songs, playtime, skips, pauses,
    commands, failed commands); ``users`` maps a day to its distinct users. A day found in
    either has a result.
    """
    result = []
    for day in sorted(set(totals) | set(users)):
        row = totals.get(day)
        result.append(
            DayTotals(
                day=day,
                songs_played=int(row[1]) if row else 0,
                playtime=float(row[2]) if row else 0.0,
                skips=int(row[3]) if row else 0,
                pauses=int(row[4]) if row else 0,
                commands=int(row[5]) if row else 0,
                failed_commands=int(row[6]) if row else 0,
                unique_users=users.get(day, 0),
            )
        )
    return result


def command_totals_from_rows(
    rows: Iterable[Any], buckets: Mapping[str, Mapping[int, int]]
) -> list[CommandTotals]:
    """:class:`CommandTotals` from ``command_stats`` sums (command, count, failures, duration
    sum, min, max), in the rows' order, each with its latency buckets if any."""
    return [
        CommandTotals(
            command=row[0],
            count=int(row[1]),
            failures=int(row[2]),
            duration_sum=float(row[3]),
            duration_min=float(row[4]),
            duration_max=float(row[5]),
            buckets=buckets.get(row[0], {}),
        )
        for row in rows
    ]
