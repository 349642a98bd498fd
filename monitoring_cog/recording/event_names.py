"""Custom event names: the rule a name must follow, and the per-guild bound on how many there are.

Bot code names its events (``"ticket_opened"``, ``"game_won"``); any name is accepted that follows
:data:`NAME_RULE`, checked at the call site (:func:`check_event_name` raises
:class:`~monitoring_cog.errors.EventNameError`).

Each name costs rows in the rollups and a series in ``/metrics``, so a guild keeps at most
``[events] max_names_per_guild`` of them; events of a guild's later new names are counted under
:data:`OTHER_EVENT`. The bound is enforced by the writer (:class:`EventNames`, consulted as a
batch is built, off the bot's path), not at the call site: the names a guild already has are in
the database, and the writer is the first to hold a connection. :meth:`EventNames.seed` loads
them from ``event_names`` when the database connects, before any write (or spill replay), so the
bound holds across restarts; a batch built before that first connection is built again once it is
open. Names admitted are stored in the same transaction as their counts.

With several processes on one PostgreSQL database, each admits names against what it loaded at
connect and what it wrote since: two processes adding new names to the same guild at once may
together store more than the bound (at most one bound per process) until they restart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from ..errors import EventNameError, EventValueError

__all__ = (
    "MAX_EVENT_NAME_LENGTH",
    "NAME_RULE",
    "OTHER_EVENT",
    "EventNames",
    "check_event_name",
    "check_event_value",
)

MAX_EVENT_NAME_LENGTH = 64
"""Longest event name accepted."""
OTHER_EVENT = "(other)"
"""The name events of a guild's names past the bound are counted under (never a valid name)."""
NAME_RULE = (
    f"1 to {MAX_EVENT_NAME_LENGTH} characters: ASCII letters, digits, '_', '-', '.' or ':',"
    " starting with a letter or a digit"
)
"""What an event name must be, as error messages state it."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")


def check_event_name(name: object) -> str:
    """``name`` if it follows :data:`NAME_RULE`; else :class:`EventNameError`."""
    if not isinstance(name, str):
        raise EventNameError(name, f"expected a string of {NAME_RULE}")
    if not name:
        raise EventNameError(name, f"empty; expected {NAME_RULE}")
    if len(name) > MAX_EVENT_NAME_LENGTH:
        raise EventNameError(
            name,
            f"{len(name)} characters, longer than {MAX_EVENT_NAME_LENGTH}; expected {NAME_RULE}",
        )
    if _NAME.fullmatch(name) is None:
        raise EventNameError(name, f"expected {NAME_RULE}")
    return name


def check_event_value(name: str, value: object) -> float:
    """``value`` as a float if it is a finite real number, 0 or more; else
    :class:`EventValueError`. Never negative: a day's sum, and the ``/metrics`` counter of it,
    only grow (count a loss as an event of its own, e.g. ``"xp_lost"``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventValueError(
            f"event {name!r}: value {value!r} ({type(value).__name__}) is not a number"
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise EventValueError(f"event {name!r}: value {value!r} is not a finite number")
    if number < 0:
        raise EventValueError(
            f"event {name!r}: value {value!r} is negative; expected a number >= 0 (record a"
            " decrease as an event of its own)"
        )
    return number


class EventNames:
    """The event names each guild keeps (at most ``max_per_guild``), the rest :data:`OTHER_EVENT`.

    Parameters
    ----------
    max_per_guild:
        ``[events] max_names_per_guild``.
    """

    __slots__ = ("_by_guild", "generation", "max_per_guild")

    def __init__(self, max_per_guild: int) -> None:
        self.max_per_guild = max_per_guild
        self._by_guild: dict[str, set[str]] = {}
        self.generation = 0
        """How many times :meth:`seed` ran: a batch built before the latest seeding is built
        again (see :meth:`Recorder.flush <monitoring_cog.recording.pipeline.Recorder.flush>`)."""

    def seed(self, names: Iterable[tuple[str, str]]) -> None:
        """Start from the stored ``(guild_id, name)`` pairs, forgetting names admitted before
        (by a batch that was not written against them). Stored names are kept even past the
        bound (a bound lowered since): they are in the database."""
        self.generation += 1
        by_guild: dict[str, set[str]] = {}
        self._by_guild = by_guild
        for guild, name in names:
            known = by_guild.get(guild)
            if known is None:
                by_guild[guild] = {name}
            else:
                known.add(name)

    def admit(self, guild: str, name: str) -> str:
        """The name ``guild``'s event ``name`` is counted under: itself, or :data:`OTHER_EVENT`
        once the guild has its ``max_per_guild`` names and this is not one of them."""
        known = self._by_guild.get(guild)
        if known is None:
            if name == OTHER_EVENT:
                return name
            self._by_guild[guild] = {name}
            return name
        if name in known:
            return name
        if len(known) >= self.max_per_guild or name == OTHER_EVENT:
            return OTHER_EVENT
        known.add(name)
        return name

    def names(self, guild: str) -> frozenset[str]:
        """The names ``guild`` keeps so far."""
        return frozenset(self._by_guild.get(guild, ()))
