"""Stable names for message components, bounded per guild: what a component use is counted under.

A bot's custom_ids often carry the variable parts of what they act on (``ticket:close:1234``,
``vote:8c1f...:yes``, a message id): counted as they are, every ticket would be a component of
its own. :func:`normalise_custom_id` replaces those parts with placeholders, and
:func:`template_name` reads a ``DynamicItem`` template (a regular expression) as such a name.
:class:`ComponentNames` then bounds the names per guild and UTC day: past ``max_per_guild``
distinct names, further ones are counted as :data:`OTHER_COMPONENT`, so custom_ids the
normalisation cannot recognise still cannot grow the tables without bound.

Pure text and dictionaries: no discord.py here, and each name is worked out once per distinct
custom_id (then looked up), since one is needed per interaction.
"""

from __future__ import annotations

import re

__all__ = (
    "MAX_NAME_LENGTH",
    "OTHER_COMPONENT",
    "ComponentNames",
    "normalise_custom_id",
    "template_name",
)

OTHER_COMPONENT = "(other)"
"""What a guild's uses of components past its daily cap of names are counted as."""
MAX_NAME_LENGTH = 100
"""Longest name kept (Discord's own limit on a custom_id); longer ones are cut, marked ``…``."""
_SNOWFLAKE_DIGITS = 15
"""A run of this many digits or more is an id (Discord's ids have 17 to 20), shorter a number."""
_CACHED_IDS = 4096

_VARIABLE = re.compile(
    # A uuid; a run of 8 or more hex digits holding a digit and a letter (a token, a hash) that
    # stands alone (not the inside of a word); any run of digits.
    r"(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<hex>(?<![0-9A-Za-z])(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}"
    r"(?![0-9A-Za-z]))"
    r"|(?P<digits>[0-9]+)"
)


def _placeholder(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "digits":
        return "{id}" if len(match.group()) >= _SNOWFLAKE_DIGITS else "{n}"
    return "{uuid}" if kind == "uuid" else "{hex}"


def _cut(name: str) -> str:
    return name if len(name) <= MAX_NAME_LENGTH else name[: MAX_NAME_LENGTH - 1] + "…"


def normalise_custom_id(custom_id: str) -> str:
    """``custom_id`` with its variable parts replaced: ``{id}`` for a Discord id (15 digits or
    more), ``{n}`` for another number, ``{uuid}``, ``{hex}`` for a standalone run of 8 or more
    hex digits mixing digits and letters.

    >>> normalise_custom_id("ticket:close:1051316846342131803")
    'ticket:close:{id}'
    >>> normalise_custom_id("page_3")
    'page_{n}'
    """
    return _cut(_VARIABLE.sub(_placeholder, custom_id)) if custom_id else "(empty)"


_ESCAPED = re.compile(r"\\(.)")


def template_name(pattern: str) -> str:
    """A ``DynamicItem`` template (a regular expression) as a component name.

    Each top-level group becomes ``{its name}`` (``{}`` when unnamed), escaped characters
    become themselves, and the anchors at either end go: ``r"ticket:close:(?P<id>[0-9]+)"`` is
    ``ticket:close:{id}``. The rest of the expression is kept as written.
    """
    out: list[str] = []
    end = len(pattern)
    index = literal_from = 1 if pattern.startswith("^") else 0
    while index < end:
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _class_end(pattern, index)
            continue
        if char == "(":
            out.append(pattern[literal_from:index])
            closing = _group_end(pattern, index)
            group = re.match(r"\(\?P<(\w+)>", pattern[index:closing])
            out.append("{" + group.group(1) + "}" if group else "{}")
            index = literal_from = closing
            continue
        index += 1
    tail = pattern[literal_from:]
    if tail.endswith("$") and not tail.endswith("\\$"):
        tail = tail[:-1]
    out.append(tail)
    return _cut(_ESCAPED.sub(r"\1", "".join(out))) or "(empty)"


def _class_end(pattern: str, index: int) -> int:
    """Index just after the character class opening at ``index``."""
    index += 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1  # A "]" first in a class is literal.
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1


def _group_end(pattern: str, index: int) -> int:
    """Index just after the group opening at ``index`` (its whole text, nested groups and all)."""
    depth = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _class_end(pattern, index)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return len(pattern)


class ComponentNames:
    """Names components and bounds them per guild and UTC day.

    Parameters
    ----------
    max_per_guild:
        Distinct names a guild may have in one UTC day; past them, :data:`OTHER_COMPONENT`.
        Kept in memory for the current day only (every guild's names are forgotten as a new day
        begins), so it costs a set lookup per use and bounds the rows a guild adds per day.
    """

    __slots__ = ("_day", "_guilds", "_normalised", "max_per_guild")

    def __init__(self, max_per_guild: int) -> None:
        self.max_per_guild = max_per_guild
        self._day = -1
        self._guilds: dict[str, set[str]] = {}
        """guild -> the names it used on ``_day``."""
        self._normalised: dict[str, str] = {}
        """custom_id -> its normalised name, for the custom_ids seen lately (bounded)."""

    def of_custom_id(self, custom_id: str) -> str:
        """The normalised name of ``custom_id`` (from the cache when seen lately)."""
        name = self._normalised.get(custom_id)
        if name is None:
            cache = self._normalised
            if len(cache) >= _CACHED_IDS:
                cache.clear()
            # The same text object for every use of a name: the writer hashes it once.
            name = cache[custom_id] = normalise_custom_id(custom_id)
        return name

    def bounded(self, guild_id: str, day: int, name: str) -> str:
        """``name``, or :data:`OTHER_COMPONENT` if ``guild_id`` has used its day's share of
        other names on ``day`` (UTC days since the epoch)."""
        if day > self._day:
            # A use dated before the current day (a clock stepped back) counts against today's.
            self._day = day
            self._guilds = {}
        names = self._guilds.get(guild_id)
        if names is None:
            names = self._guilds[guild_id] = set()
        elif name in names:
            return name
        if len(names) >= self.max_per_guild:
            return OTHER_COMPONENT
        names.add(name)
        return name
