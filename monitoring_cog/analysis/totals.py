"""The totals reports are computed from, as the storage backends read them from the rollups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

__all__ = ("CommandTotals", "ComponentTotals", "DayTotals", "EventTotals")


@dataclass(frozen=True, slots=True)
class DayTotals:
    """A guild's (or every guild's) figures for one UTC day."""

    day: date
    songs_played: int = 0
    playtime: float = 0.0
    skips: int = 0
    pauses: int = 0
    commands: int = 0
    failed_commands: int = 0
    unique_users: int = 0


@dataclass(frozen=True, slots=True)
class CommandTotals:
    """One command's figures summed over a range of days."""

    command: str
    count: int
    failures: int
    duration_sum: float
    duration_min: float
    duration_max: float
    buckets: Mapping[int, int] = field(default_factory=dict)
    """Latency histogram (bucket index -> count); empty unless asked for."""


@dataclass(frozen=True, slots=True)
class ComponentTotals:
    """One message component's figures summed over a range of days."""

    component: str
    kind: str
    """``"button"``, ``"select"`` or ``"modal"``."""
    uses: int
    failures: int
    duration_sum: float
    """Seconds, all uses together."""
    duration_max: float
    users: int
    """Distinct users over the whole range (a user of several days or guilds counts once)."""


@dataclass(frozen=True, slots=True)
class EventTotals:
    """One custom event's figures summed over a range of days."""

    name: str
    count: int
    """Occurrences."""
    total: float
    """Sum of the occurrences' values."""
    users: int
    """Distinct users over the whole range, among the occurrences recorded with one."""
