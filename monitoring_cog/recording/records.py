"""The records that travel from the recording API, through the buffer, to the database.

They are plain slotted objects: building one is the only work a command's path does before it
returns. Validation and trimming happen before a record is built
(:mod:`monitoring_cog.recording.normalize`), serialisation and aggregation after it leaves the
buffer (:mod:`monitoring_cog.recording.rollups`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from .frames import RawTraceback

__all__ = (
    "DM_GUILD_ID",
    "CommandRecord",
    "ComponentRecord",
    "EventRecord",
    "GrowthKind",
    "GrowthRecord",
    "GuildRecord",
    "PopulationRecord",
    "Record",
    "StallRecord",
    "StatKind",
    "StatRecord",
)

DM_GUILD_ID = "dm"
"""The guild id under which commands run in direct messages are recorded."""


class CommandRecord(NamedTuple):
    """One executed command: an audit row, and a contribution to the daily rollups.

    A tuple rather than a slotted class: one is made for every command, and a tuple holding
    only strings and numbers is untracked by the garbage collector once it survives a
    collection, so a full buffer costs the collector nothing to walk. Its fields are in the
    order of an audit row (:data:`monitoring_cog.storage.batch.AuditRow`): with its parameters
    already text, the writer stores the record itself.
    """

    guild_id: str
    guild_name: str | None
    user_id: str
    username: str | None
    command: str
    parameters: dict[str, Any] | str | None
    """The arguments as given; a dict is serialised to JSON by the writer, a str is stored as is."""
    duration: float
    success: bool
    error_type: str | None
    error_message: str | None
    executed_at: float
    """Epoch seconds (UTC) at which the command started."""
    traceback: RawTraceback | str | None = None
    """Where the error was raised, for a command whose own code raised: code locations as
    captured (rendered to text, source lines and all, by the writer), or that text already."""


class StatKind(Enum):
    """What a :class:`StatRecord` counts."""

    SONG = "song"
    SKIP = "skip"
    PAUSE = "pause"
    COMMAND = "command"


@dataclass(slots=True)
class StatRecord:
    """A daily statistic: a song played (with its length), a skip, a pause, or a bare command."""

    kind: StatKind
    guild_id: str
    user_id: str | None
    amount: float
    """Song length in seconds for ``SONG``; ignored otherwise."""
    at: float


@dataclass(slots=True)
class GuildRecord:
    """A guild seen: registers it without counting anything.

    Queued in the buffer like any record, so it counts against ``max_queue``. The cog registers
    the guilds it sees (ready, joined, renamed) with :meth:`Database.register_guilds` instead,
    which keeps one entry per guild beside the buffer.
    """

    guild_id: str
    guild_name: str | None
    at: float


class GrowthKind(Enum):
    """What a :class:`GrowthRecord` counts."""

    JOIN = "join"
    """The bot joined a guild (discord.py's ``guild_join``)."""
    LEAVE = "leave"
    """The bot left or was removed from a guild, or the guild was deleted (``guild_remove``)."""


@dataclass(slots=True)
class GrowthRecord:
    """A guild joined or left: one count in that UTC day's bot-wide growth rollup."""

    kind: GrowthKind
    at: float


@dataclass(slots=True)
class PopulationRecord:
    """How many guilds and members one shard had at a moment: that UTC day's snapshot.

    Later snapshots of the same day replace earlier ones (the day keeps its latest). A bot run
    as several processes writes a record per shard from each, and the report adds up the shards
    of the day's latest ``shard_count`` (so a bot resharded during a day is not counted twice).
    """

    shard_id: int
    shard_count: int
    guilds: int
    members: int
    """Members of those guilds as Discord counts them (``Guild.member_count``)."""
    at: float


@dataclass(slots=True)
class StallRecord:
    """An event-loop stall: the loop ran none of its callbacks for ``duration`` seconds.

    Made by the stall monitor (:mod:`monitoring_cog.vitals.stalls`) once the loop runs again,
    a row of ``loop_stalls``.
    """

    started_at: float
    """Epoch seconds (UTC) at which the loop last answered before the stall."""
    duration: float
    """Seconds the loop went without running its callbacks (an upper bound, within one of the
    monitor's re-arm intervals)."""
    command: str | None
    """The command in progress, if any (its qualified name)."""
    command_kind: str | None
    """``"prefix"`` or ``"slash"`` (a hybrid command run as a slash command is ``"slash"``)."""
    guild_id: str | None
    """The command's guild (:data:`DM_GUILD_ID` in a direct message); ``None`` without one."""
    location: str | None
    """Where the loop was held: ``path:line in function`` of the bot's own code."""
    stack: RawTraceback | str | None
    """The innermost frames of the bot's own code at that moment, as sampled (rendered to text
    by the writer, under the ``[privacy]`` traceback rules), or that text already."""


class ComponentRecord(NamedTuple):
    """One use of a message component: a button pressed, a select menu chosen, a modal submitted.

    Its own kind: never an audit row of a command, never in command counts. A tuple, like
    :class:`CommandRecord`, because one is made per interaction.
    """

    guild_id: str
    """The guild (:data:`DM_GUILD_ID` in a direct message)."""
    user_id: str
    """Who used it: a Discord id (hashed by the writer under ``[privacy] hash_user_ids``)."""
    component: str
    """The component's stable name: its custom_id with variable parts replaced (or its
    ``DynamicItem`` template), already bounded per guild (``"(other)"`` past the cap)."""
    kind: str
    """``"button"``, ``"select"`` or ``"modal"``."""
    duration: float
    """Seconds from the interaction's arrival to the end of its callback."""
    success: bool
    """False when the callback raised (what reaches the view's ``on_error``)."""
    at: float
    """Epoch seconds (UTC) at which the interaction arrived."""


@dataclass(slots=True)
class EventRecord:
    """A custom event recorded by bot code (``record_event``): summed per guild, day and name."""

    guild_id: str
    name: str
    """A validated bot-defined name, e.g. ``"ticket_opened"``."""
    value: float
    """Added to the day's sum (1 for a plain count)."""
    user_id: str | None
    """Counted among the event's distinct users of the day when given."""
    at: float


Record = (
    CommandRecord
    | StatRecord
    | GuildRecord
    | GrowthRecord
    | PopulationRecord
    | StallRecord
    | ComponentRecord
    | EventRecord
)
