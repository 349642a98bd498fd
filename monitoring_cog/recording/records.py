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

__all__ = ("DM_GUILD_ID", "CommandRecord", "GuildRecord", "Record", "StatKind", "StatRecord")

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


Record = CommandRecord | StatRecord | GuildRecord
