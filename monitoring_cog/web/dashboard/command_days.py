"""Bot-wide runs and latency per command and day for ``/api/commands``, past days kept.

Every guild's rows of every day of the range are summed (a month of a bot in 1,000 guilds is
hundreds of thousands of rollup rows, seconds of work): too much to read again at every page
view. A past day's figures no longer change, so they are kept, for :data:`PAST_DAYS_SECONDS` (a
spill file written late may still add to one); today's are read at every call. :meth:`warm`
reads the last month's past days in the background, one day per query, when the dashboard starts,
so that the first view of the page does not wait for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ...clock import utc_day
from ...storage.dashboard import CommandDay

if TYPE_CHECKING:
    from ...database import Database

__all__ = ("PAST_DAYS_SECONDS", "CommandDays")

_log = logging.getLogger(__name__)

PAST_DAYS_SECONDS = 3600.0
"""How long a past day's figures are reused before being read again."""
KEPT_DAYS = 90
"""Days kept at most (the longest range the API asks for)."""


class CommandDays:
    """Per-day command figures, past days cached, today read fresh."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._days: dict[date, tuple[float, list[CommandDay]]] = {}
        self._lock = asyncio.Lock()

    async def between(self, first: date, last: date) -> dict[date, list[CommandDay]]:
        """Each day from ``first`` to ``last`` that has runs, with its commands' figures."""
        today = utc_day(self.db.clock.time())
        storage = await self.db.storage()
        async with self._lock:
            now = self.db.clock.monotonic()
            past_last = min(last, today - timedelta(days=1))
            stale = [
                day
                for day in _days(first, past_last)
                if day not in self._days or now - self._days[day][0] > PAST_DAYS_SECONDS
            ]
            if stale:
                fetched = _by_day(await storage.command_days(min(stale), max(stale)))
                for day in _days(min(stale), max(stale)):
                    self._days[day] = (now, fetched.get(day, []))
            for day in [day for day in self._days if day < today - timedelta(days=KEPT_DAYS)]:
                del self._days[day]
            result = {day: self._days[day][1] for day in _days(first, past_last)}
        if last >= today >= first:
            result.update(_by_day(await storage.command_days(today, today)))
        return {day: items for day, items in result.items() if items}

    async def warm(self, days: int = 30) -> None:
        """Read the past ``days - 1`` days into the cache, newest first, one query per day.

        Never raises (a database down is logged); for a background task.
        """
        today = utc_day(self.db.clock.time())
        try:
            for back in range(1, days):
                day = today - timedelta(days=back)
                await self.between(day, day)
        except Exception as exc:
            _log.warning(
                "monitoring: dashboard: could not read the commands' past days: %s: %s",
                type(exc).__name__,
                exc,
            )


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _by_day(items: list[CommandDay]) -> dict[date, list[CommandDay]]:
    grouped: dict[date, list[CommandDay]] = defaultdict(list)
    for item in items:
        grouped[item.day].append(item)
    return dict(grouped)
