"""The bot's population: its guilds and their members, counted now and then, and its growth.

- **Joins and leaves** are seen as discord.py dispatches ``guild_join`` (the bot added to a guild
  while running) and ``guild_remove`` (removed, left, or the guild deleted), through standing
  checks (:mod:`monitoring_cog.vitals.watch`), and recorded as
  :class:`~monitoring_cog.recording.records.GrowthRecord`: the growth rollup counts them per UTC
  day. Guilds joined or left while the bot was offline show in the day's counts instead.
- **Counts** (guilds, members as Discord counts them, members in discord.py's cache, per shard)
  are taken by :meth:`Population.count`, a slice of guilds per turn of the event loop, so a bot in
  150,000 guilds never holds the loop for long; :meth:`Population.refresh` keeps the figures for
  the health report and the metrics and, once the bot is ready, records them as the day's
  snapshot (:class:`~monitoring_cog.recording.records.PopulationRecord`, one per shard).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import discord

from ..clock import Clock, SystemClock
from ..database import Database
from ..errors import ErrorCounter
from ..recording.records import GrowthKind, GrowthRecord, PopulationRecord
from .watch import EventWatch

__all__ = ("COUNT_SLICE", "Population", "PopulationFigures", "ShardPopulation")

_log = logging.getLogger(__name__)

COUNT_SLICE = 2_000
"""Guilds counted per turn of the event loop."""


@dataclass(slots=True)
class ShardPopulation:
    """One shard's guilds and members at a count."""

    guilds: int = 0
    members: int = 0
    """Members as Discord counts them (``Guild.member_count``), whatever the cache holds."""
    cached_members: int = 0
    """Members in discord.py's cache (all of them only with the members intent and chunking)."""


@dataclass(slots=True)
class PopulationFigures:
    """The result of one count."""

    at: float
    """Epoch seconds the count ended."""
    shard_count: int
    shards: dict[int, ShardPopulation] = field(default_factory=dict)

    @property
    def guilds(self) -> int:
        return sum(shard.guilds for shard in self.shards.values())

    @property
    def members(self) -> int:
        return sum(shard.members for shard in self.shards.values())

    @property
    def cached_members(self) -> int:
        return sum(shard.cached_members for shard in self.shards.values())


def shard_layout(client: discord.Client) -> tuple[list[int], int]:
    """The shard ids this process runs and the bot's shard count.

    An auto-sharded bot runs ``shard_ids`` (all of ``range(shard_count)`` by default); a plain
    bot runs one, ``shard_id`` of ``shard_count`` if it was given them, else shard 0 of 1.
    """
    if isinstance(client, discord.AutoShardedClient):
        count = client.shard_count or 1
        ids = list(client.shard_ids) if client.shard_ids is not None else list(range(count))
        return ids, count
    count = client.shard_count or 1
    return [client.shard_id or 0], count


class Population:
    """Counts the bot's guilds and members; records its joins, leaves and daily snapshots.

    Parameters
    ----------
    client:
        The bot.
    db:
        Where the growth is recorded; ``None`` keeps the figures in memory only.
    clock, errors:
        The clock records are dated by, and where failures are counted (the database's, by
        default).
    """

    def __init__(
        self,
        client: discord.Client,
        *,
        db: Database | None = None,
        clock: Clock | None = None,
        errors: ErrorCounter | None = None,
    ) -> None:
        self.client = client
        self.db = db
        self.clock: Clock = clock or (db.clock if db is not None else SystemClock())
        self.errors = errors or (db.errors if db is not None else ErrorCounter())
        self.figures: PopulationFigures | None = None
        """The latest count; ``None`` before the first."""
        self.joins = 0
        """Guilds joined since the watch was installed."""
        self.leaves = 0
        """Guilds left since the watch was installed."""
        self.watch = EventWatch(
            client,
            {"guild_join": self._joined, "guild_remove": self._left},
            "monitoring_cog-population",
        )

    def install(self) -> None:
        """Start watching joins and leaves (needs the bot's running event loop)."""
        self.watch.install()

    def uninstall(self) -> None:
        """Stop watching joins and leaves."""
        self.watch.uninstall()

    def _joined(self, guild: Any) -> bool:
        self.joins += 1
        self._record(GrowthKind.JOIN)
        return False

    def _left(self, guild: Any) -> bool:
        self.leaves += 1
        self._record(GrowthKind.LEAVE)
        return False

    def _record(self, kind: GrowthKind) -> None:
        if self.db is None:
            return
        try:
            self.db.submit(GrowthRecord(kind, self.clock.time()))
        except Exception as exc:  # Inline in discord.py's dispatch: never raise into it.
            self.errors.record("Population.record", exc)
            _log.exception("monitoring: could not record a guild %s", kind.value)

    async def count(self) -> PopulationFigures:
        """Count guilds and members per shard, :data:`COUNT_SLICE` guilds per event-loop turn."""
        ids, shard_count = shard_layout(self.client)
        shards = {shard_id: ShardPopulation() for shard_id in ids}
        guilds = self.client.guilds
        for start in range(0, len(guilds), COUNT_SLICE):
            if start:
                await asyncio.sleep(0)  # Events and commands run between the slices.
            for guild in guilds[start : start + COUNT_SLICE]:
                shard = shards.get(guild.shard_id)
                if shard is None:
                    shard = shards[guild.shard_id] = ShardPopulation()
                shard.guilds += 1
                shard.members += guild.member_count or 0
                shard.cached_members += len(guild.members)
        return PopulationFigures(self.clock.time(), shard_count, shards)

    async def refresh(self, *, record: bool = True) -> PopulationFigures:
        """Count (see :meth:`count`) and keep the figures; with ``record``, once the bot is
        ready, record them as the day's snapshot (a partial count while guilds are still
        arriving would not be)."""
        figures = await self.count()
        self.figures = figures
        if record and self.db is not None and self.client.is_ready():
            for shard_id, shard in sorted(figures.shards.items()):
                self.db.submit(
                    PopulationRecord(
                        shard_id, figures.shard_count, shard.guilds, shard.members, figures.at
                    )
                )
        return figures
