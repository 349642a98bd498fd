"""The bot's growth per UTC day: guilds joined and left, and the day's guild and member counts.

Pure functions from the growth rollups (``guild_growth``, ``guild_population``) to the per-day
dicts of :meth:`~monitoring_cog.StatisticsCollector.get_growth` and ``monitoring-cog report
--bot``. Both backends read their rows into :class:`PopulationSnapshot` and a per-day mapping of
joins and leaves, and :func:`growth_days` does the rest, so the rule below is written once.

The day's counts come from its snapshots, one per shard (each the latest of the day for that
shard): those of the day's latest ``shard_count`` are added up. A bot resharded during a day
(4 shards, then 8) leaves rows of both layouts; adding them all would count its guilds twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

__all__ = ("GrowthDay", "PopulationSnapshot", "build_growth", "growth_days")


@dataclass(frozen=True, slots=True)
class PopulationSnapshot:
    """A ``guild_population`` row: one shard's counts, the latest of its day."""

    day: date
    shard_count: int
    shard_id: int
    guilds: int
    members: int
    taken_at: float


@dataclass(frozen=True, slots=True)
class GrowthDay:
    """The bot's growth on one UTC day."""

    day: date
    joins: int = 0
    leaves: int = 0
    guilds: int | None = None
    """Guilds at the day's latest snapshot; ``None`` if none was taken that day."""
    members: int | None = None
    """Members of those guilds (Discord's counts) at the same snapshot; ``None`` likewise."""


def growth_days(
    first: date,
    last: date,
    changes: Mapping[date, tuple[int, int]],
    snapshots: Iterable[PopulationSnapshot],
) -> list[GrowthDay]:
    """Every day from ``first`` to ``last``, oldest first, with its joins and leaves
    (``changes``: day -> (joins, leaves)) and counts (the snapshots of its latest layout)."""
    latest: dict[date, PopulationSnapshot] = {}
    by_day: dict[date, list[PopulationSnapshot]] = {}
    for snapshot in snapshots:
        by_day.setdefault(snapshot.day, []).append(snapshot)
        known = latest.get(snapshot.day)
        if known is None or snapshot.taken_at > known.taken_at:
            latest[snapshot.day] = snapshot
    result: list[GrowthDay] = []
    day = first
    while day <= last:
        joins, leaves = changes.get(day, (0, 0))
        guilds = members = None
        newest = latest.get(day)
        if newest is not None:
            layout = [s for s in by_day[day] if s.shard_count == newest.shard_count]
            guilds = sum(s.guilds for s in layout)
            members = sum(s.members for s in layout)
        result.append(GrowthDay(day, int(joins), int(leaves), guilds, members))
        day += timedelta(days=1)
    return result


def build_growth(days: Iterable[GrowthDay]) -> list[dict[str, Any]]:
    """Per-day dicts: ``date`` (ISO), ``joins``, ``leaves``, ``net`` (joins - leaves),
    ``guilds`` and ``members`` (``None`` on a day without a snapshot)."""
    return [
        {
            "date": day.day.isoformat(),
            "joins": day.joins,
            "leaves": day.leaves,
            "net": day.joins - day.leaves,
            "guilds": day.guilds,
            "members": day.members,
        }
        for day in days
    ]
