"""``StatisticsCollector``: daily statistics (songs, playtime, skips, pauses, commands, users)."""

from __future__ import annotations

import logging
from typing import Any

from ..analysis.growth import build_growth
from ..analysis.reports import build_daily_stats, build_report, period_days
from ..clock import utc_day
from ..database import Database
from ..recording.event_names import check_event_name, check_event_value
from ..recording.normalize import clean_duration, clean_guild_id, clean_user_id
from ..recording.records import EventRecord, StatKind, StatRecord
from ..storage.base import ServerInfo
from .safe import safe_execute

__all__ = ("PERIODS", "StatisticsCollector")

_log = logging.getLogger(__name__)

PERIODS = {"daily": 1, "weekly": 7, "monthly": 30}
"""Report periods and their length in days (each ends today, UTC)."""


class StatisticsCollector:
    """Records daily statistics and builds the weekly and monthly reports.

    Recording only queues the figure; reports flush first, so they include it. Reports read the
    daily rollups only, never the audit log, so they take the same time whatever its size.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.errors = db.errors

    def _submit(
        self,
        kind: StatKind,
        guild_id: str | int | None,
        user_id: str | int | None,
        amount: float = 0.0,
    ) -> bool:
        return self.db.submit(
            StatRecord(
                kind=kind,
                guild_id=clean_guild_id(guild_id, self.errors),
                user_id=None if user_id is None else clean_user_id(user_id, self.errors),
                amount=amount,
                at=self.db.clock.time(),
            )
        )

    @safe_execute(default=False)
    async def record_song_played(
        self, guild_id: str | int, duration: float, user_id: str | int | None = None
    ) -> bool:
        """Count a song played and its length in seconds; the requester counts as active."""
        return self._submit(StatKind.SONG, guild_id, user_id, clean_duration(duration, self.errors))

    @safe_execute(default=False)
    async def record_skip(self, guild_id: str | int, user_id: str | int | None = None) -> bool:
        """Count a skipped song."""
        return self._submit(StatKind.SKIP, guild_id, user_id)

    @safe_execute(default=False)
    async def record_pause(self, guild_id: str | int, user_id: str | int | None = None) -> bool:
        """Count a pause."""
        return self._submit(StatKind.PAUSE, guild_id, user_id)

    @safe_execute(default=False)
    async def record_command(self, guild_id: str | int, user_id: str | int) -> bool:
        """Count a command and its user in the daily statistics (no audit row).

        :meth:`CommandLogger.log_command` (and the cog) already count every command they audit;
        use this only for commands that are not audited, or they are counted twice.
        """
        return self._submit(StatKind.COMMAND, guild_id, user_id)

    async def record_event(
        self,
        guild_id: str | int | None,
        name: str,
        value: float = 1,
        user_id: str | int | None = None,
    ) -> bool:
        """Count a custom event of the bot's own: ``name`` (e.g. ``"ticket_opened"``), adding
        ``value`` (e.g. the XP gained) to its sum of the UTC day; ``user_id``, when given, counts
        among the event's distinct users. ``True`` if queued.

        Raises
        ------
        EventNameError
            ``name`` breaks the rule (:data:`~monitoring_cog.recording.event_names.NAME_RULE`):
            a mistake in the calling code, raised where it is made.
        EventValueError
            ``value`` is not a finite number, 0 or more.

        Anything else that goes wrong is counted, never raised. A guild keeps at most
        ``[events] max_names_per_guild`` names; its later new names are counted as
        ``"(other)"``. ``guild_id`` None records the event under the direct-message guild
        (``"dm"``).
        """
        check_event_name(name)
        number = check_event_value(name, value)
        return await self._queue_event(guild_id, name, number, user_id)

    @safe_execute(default=False)
    async def _queue_event(
        self, guild_id: str | int | None, name: str, value: float, user_id: str | int | None
    ) -> bool:
        return self.db.submit(
            EventRecord(
                guild_id=clean_guild_id(guild_id, self.errors),
                name=name,
                value=value,
                user_id=None if user_id is None else clean_user_id(user_id, self.errors),
                at=self.db.clock.time(),
            )
        )

    @safe_execute(default_factory=dict)
    async def generate_report(
        self, guild_id: str | int | None, days: int, period: str = "custom"
    ) -> dict[str, Any]:
        """A report over the ``days`` UTC days ending today; ``guild_id`` None for all guilds."""
        return await self.fetch_report(guild_id, days, period)

    async def fetch_report(
        self, guild_id: str | int | None, days: int, period: str = "custom"
    ) -> dict[str, Any]:
        """As :meth:`generate_report`, but raises what went wrong instead of returning ``{}``.

        For callers that tell their user why there is no report (``/stats``).

        Raises
        ------
        DatabaseUnavailable
            The database cannot be opened or read.
        ValueError
            ``days`` is below 1.
        """
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        await self.db.flush()
        storage = await self.db.storage()
        today = utc_day(self.db.clock.time())
        first, last = period_days(today, days)
        guild = None if guild_id is None else clean_guild_id(guild_id)
        totals = await storage.day_totals(guild, first, last)
        commands = await storage.command_totals(guild, first, last)
        components = await storage.component_totals(guild, first, last)
        events = await storage.event_totals(guild, first, last)
        return build_report(period, days, today, totals, commands, components, events)

    async def generate_weekly_report(self, guild_id: str | int | None) -> dict[str, Any]:
        """The Weekly Report: the 7 UTC days ending today (``{}`` on error)."""
        return await self.generate_report(guild_id, PERIODS["weekly"], "weekly")

    async def generate_monthly_report(self, guild_id: str | int | None) -> dict[str, Any]:
        """The Monthly Report: the 30 UTC days ending today (``{}`` on error)."""
        return await self.generate_report(guild_id, PERIODS["monthly"], "monthly")

    @safe_execute(default_factory=dict)
    async def get_daily_stats(self, guild_id: str | int | None) -> dict[str, Any]:
        """Today's (UTC) figures for a guild (``{}`` on error)."""
        await self.db.flush()
        storage = await self.db.storage()
        today = utc_day(self.db.clock.time())
        guild = None if guild_id is None else clean_guild_id(guild_id)
        totals = await storage.day_totals(guild, today, today)
        return build_daily_stats(today, totals[0] if totals else None)

    @safe_execute(default_factory=list)
    async def get_growth(self, days: int = 30) -> list[dict[str, Any]]:
        """The bot's growth over the ``days`` UTC days ending today, oldest first (``[]`` on
        error).

        One dict per day, every day present: ``date`` (ISO), ``joins`` and ``leaves`` (guilds
        the bot joined and left that day), ``net``, and ``guilds`` and ``members`` as the day's
        latest snapshot counted them (``None`` on a day without one). Bot-wide: the cog records
        them (see :class:`~monitoring_cog.vitals.population.Population`).
        """
        return await self.fetch_growth(days)

    async def fetch_growth(self, days: int = 30) -> list[dict[str, Any]]:
        """As :meth:`get_growth`, but raises what went wrong instead of returning ``[]``.

        Raises
        ------
        DatabaseUnavailable
            The database cannot be opened or read.
        ValueError
            ``days`` is below 1.
        """
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        await self.db.flush()
        storage = await self.db.storage()
        first, last = period_days(utc_day(self.db.clock.time()), days)
        return build_growth(await storage.growth(first, last))

    @safe_execute(default_factory=list)
    async def get_servers(self) -> list[ServerInfo]:
        """Every guild with recorded data, most recently seen first (``[]`` on error)."""
        await self.db.flush()
        storage = await self.db.storage()
        return await storage.list_servers()
