"""Custom event names: the rule a name must follow, and the per-guild bound on how many there are.

Bot code names its events (``"ticket_opened"``, ``"game_won"``); any name is accepted that follows
:data:`NAME_RULE`, checked at the call site (:func:`check_event_name` raises
:class:`~monitoring_cog.errors.EventNameError`).

Each name costs rows in the rollups and a series in ``/metrics``, so a guild keeps at most
``[events] max_names_per_guild`` of them; events of a guild's later new names are counted under
:data:`OTHER_EVENT`. The bound is enforced by the writer (:class:`EventNames`, consulted as a
batch is built, off the bot's path), not at the call site: the names a guild already has are in
the database, and the writer is the one that holds a connection. The names admitted are stored
(``event_names``) in the same transaction as their counts; the first time the writer meets a guild
in a batch, it loads that guild's stored names (one query for the batch's new guilds) and, if the
batch was built without them, builds it again before writing it. So the bound holds across
restarts, and memory holds the names of the guilds that record events, not of every guild.

With several processes on one PostgreSQL database, each admits names against what it loaded and
what it wrote since: two processes adding new names to the same guild at once may together store
more than the bound (at most one bound per process) until they restart.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable

from ..errors import EventNameError, EventValueError
from ..storage.base import Storage
from ..storage.batch import WriteBatch
from .repair import storable

__all__ = (
    "MAX_EVENT_NAME_LENGTH",
    "NAME_RULE",
    "OTHER_EVENT",
    "EventNames",
    "check_event_name",
    "check_event_value",
    "load_event_names",
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

    A guild's stored names are loaded the first time the writer meets an event of that guild
    (:meth:`missing`, then :meth:`load`), so memory holds the guilds that record events, not
    every guild the database has names for. Until then, :meth:`admit` admits names against what
    it has seen of the guild; a batch built so is built again once the guild is loaded.

    Parameters
    ----------
    max_per_guild:
        ``[events] max_names_per_guild``.
    """

    __slots__ = ("_by_guild", "_loaded", "max_per_guild")

    def __init__(self, max_per_guild: int) -> None:
        self.max_per_guild = max_per_guild
        self._by_guild: dict[str, set[str]] = {}
        self._loaded: set[str] = set()

    def missing(self, guilds: Iterable[str]) -> set[str]:
        """Those of ``guilds`` whose stored names are not loaded yet."""
        loaded = self._loaded
        return {guild for guild in guilds if guild not in loaded}

    def load(self, guilds: Iterable[str], names: Iterable[tuple[str, str]]) -> None:
        """Take ``names``, the stored ``(guild_id, name)`` pairs of ``guilds``, as those guilds'
        names, forgetting what was admitted for them before (by a batch built without them, and
        built again). Stored names are kept even past the bound (a bound lowered since): they
        are in the database."""
        by_guild = self._by_guild
        for guild in guilds:
            by_guild[guild] = set()
            self._loaded.add(guild)
        for guild, name in names:
            known = by_guild.get(guild)
            if known is None:  # Not asked for: the caller's guilds decide what is loaded.
                continue
            known.add(sys.intern(name))  # The same few names in many guilds: one string each.

    def admit(self, guild: str, name: str) -> str:
        """The name ``guild``'s event ``name`` is counted under: itself, or :data:`OTHER_EVENT`
        once the guild has its ``max_per_guild`` names and this is not one of them."""
        if name == OTHER_EVENT:
            return name
        known = self._by_guild.get(guild)
        if known is None:
            self._by_guild[guild] = {name}
            return name
        if name in known:
            return name
        if len(known) >= self.max_per_guild:
            return OTHER_EVENT
        known.add(name)
        return name

    def names(self, guild: str) -> frozenset[str]:
        """The names ``guild`` keeps so far."""
        return frozenset(self._by_guild.get(guild, ()))

    @property
    def loaded(self) -> frozenset[str]:
        """The guilds whose stored names are loaded."""
        return frozenset(self._loaded)


async def load_event_names(names: EventNames, storage: Storage, batch: WriteBatch) -> bool:
    """Load into ``names`` the stored names of the guilds of ``batch``'s events not loaded yet
    (one query); whether there were any: then ``batch`` was built without them, and is to be
    built again before it is written."""
    if not batch.events:
        return False
    missing = names.missing({guild for guild, _, _ in batch.events})
    if not missing:
        return False
    # A guild id UTF-8 cannot encode has nothing stored (its records are stored repaired, under
    # another id): not asked for, a query the database would refuse.
    stored = [guild for guild in missing if storable(guild) is guild]
    names.load(missing, await storage.event_names(stored) if stored else ())
    return True
