"""Records a write refused for their text, made storable: each lone surrogate becomes ``?``.

A Python ``str`` can hold a lone surrogate (half of a UTF-16 pair, such as ``"\\ud800"``); UTF-8
cannot encode one, so neither SQLite nor PostgreSQL stores it, and the whole batch holding it is
refused. Discord can send such text in a guild's name, a user's name or a message, and the cog's
hooks queue what discord.py hands them untouched: cleaning there would cost every command. The
writer calls this module only once a write has been refused, so text needing no repair costs
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..storage.batch import AuditRow
from .frames import RawTraceback
from .parameters import serialize_parameters
from .records import (
    CommandRecord,
    ComponentRecord,
    EventRecord,
    GuildRecord,
    Record,
    StallRecord,
    StatRecord,
)

__all__ = ("repaired_records", "storable")

_TEXT_FIELDS = tuple(
    CommandRecord._fields.index(name)
    for name in (
        "guild_id",
        "guild_name",
        "user_id",
        "username",
        "command",
        "error_type",
        "error_message",
    )
)
"""The text fields of a :class:`CommandRecord` besides its parameters, by position."""
_PARAMETERS = CommandRecord._fields.index("parameters")
_TRACEBACK = CommandRecord._fields.index("traceback")


def storable(text: str) -> str:
    """``text`` with each lone surrogate replaced by ``?``; ``text`` itself if it has none."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _storable(value: Any) -> Any:
    return storable(value) if type(value) is str else value


def repaired_records(
    records: Sequence[Record], audit_rows: Sequence[AuditRow]
) -> tuple[list[Record], int]:
    """``records`` with every text value made storable, and the corrections that took.

    A record that changed counts one correction; parameters it held as a dict are replaced by
    their JSON text (repaired), and the values that text already had to store as text count
    too, as they would have in the batch that failed.

    ``audit_rows`` are the rows the refused batch built from ``records``, one per
    :class:`CommandRecord` in order: their parameters are already JSON text (and redacted), so
    they are checked without being serialised again.
    """
    rows = iter(audit_rows)
    fixed: list[Record] = []
    corrections = 0
    for record in records:
        repaired: Record
        if isinstance(record, CommandRecord):
            row = next(rows)
            trace = row[_TRACEBACK]
            repaired, fallbacks = _repaired_command(
                record, str(row[_PARAMETERS]), trace if isinstance(trace, str) else None
            )
            corrections += fallbacks
        elif isinstance(record, StatRecord):
            guild_id, user_id = _storable(record.guild_id), _storable(record.user_id)
            repaired = record
            if guild_id is not record.guild_id or user_id is not record.user_id:
                repaired = StatRecord(record.kind, guild_id, user_id, record.amount, record.at)
        elif isinstance(record, StallRecord):
            repaired = _repaired_stall(record)
        elif isinstance(record, ComponentRecord):
            values = [_storable(value) for value in record]
            changed = any(a is not b for a, b in zip(values, record, strict=True))
            repaired = ComponentRecord._make(values) if changed else record
        elif isinstance(record, EventRecord):
            guild_id, name = _storable(record.guild_id), _storable(record.name)
            user_id = _storable(record.user_id)
            repaired = record
            if (
                guild_id is not record.guild_id
                or name is not record.name
                or user_id is not record.user_id
            ):
                repaired = EventRecord(guild_id, name, record.value, user_id, record.at)
        elif isinstance(record, GuildRecord):
            guild_id, name = _storable(record.guild_id), _storable(record.guild_name)
            repaired = record
            if guild_id is not record.guild_id or name is not record.guild_name:
                repaired = GuildRecord(guild_id, name, record.at)
        else:
            repaired = record  # Growth and population records hold no text.
        if repaired is not record:
            corrections += 1
        fixed.append(repaired)
    return fixed, corrections


def _repaired_stall(record: StallRecord) -> StallRecord:
    """``record`` with its text storable (itself if it already was). A stack not yet rendered
    is repaired in its frames (a file name is what may hold a lone surrogate)."""
    stack = record.stack
    if isinstance(stack, str):
        stack = storable(stack)
    elif stack is not None:
        frames = tuple((storable(f), line, storable(name)) for f, line, name in stack.frames)
        if any(
            a is not b
            for new, old in zip(frames, stack.frames, strict=True)
            for a, b in zip(new, old, strict=True)
        ):
            stack = RawTraceback(frames, stack.omitted)
    text = (record.command, record.command_kind, record.guild_id, record.location)
    command, kind, guild_id, location = fixed = tuple(_storable(value) for value in text)
    if stack is record.stack and all(a is b for a, b in zip(fixed, text, strict=True)):
        return record
    return StallRecord(record.started_at, record.duration, command, kind, guild_id, location, stack)


def _repaired_command(
    record: CommandRecord, parameters_text: str, traceback_text: str | None
) -> tuple[CommandRecord, int]:
    values: list[Any] | None = None
    for index in _TEXT_FIELDS:
        value = record[index]
        if type(value) is str:
            repaired = storable(value)
            if repaired is not value:
                values = values or list(record)
                values[index] = repaired
    fallbacks = 0
    text = storable(parameters_text)
    if text is not parameters_text:
        values = values or list(record)
        values[_PARAMETERS] = text
        parameters = record.parameters
        if parameters is not None and not isinstance(parameters, str):
            fallbacks = serialize_parameters(parameters)[1]
    if traceback_text is not None:
        # The traceback as the refused row held it (already rendered under the privacy rules).
        trace = storable(traceback_text)
        if trace is not traceback_text:
            values = values or list(record)
            values[_TRACEBACK] = trace
    if values is None:
        return record, 0
    return CommandRecord._make(values), fallbacks
