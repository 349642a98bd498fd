"""Turn a batch of records into what one write transaction stores.

A :class:`WriteBatch` holds the audit rows to insert and, already summed per key, the increments
for every rollup table. Summing in memory first means one upsert per distinct key per flush rather
than one per record, whatever the traffic. The batch is backend-neutral: each storage backend turns
it into its own SQL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .clock import utc_day
from .latency import bucket_index
from .records import CommandRecord, GuildRecord, Record, StatKind, StatRecord

__all__ = ("AuditRow", "WriteBatch", "build_batch", "serialize_parameters")

AuditRow = tuple[
    str, str | None, str, str | None, str, str, float, bool, str | None, str | None, float
]
"""guild_id, guild_name, user_id, username, command, parameters JSON, duration, success,
error_type, error_message, executed_at (epoch seconds)."""


@dataclass(slots=True)
class WriteBatch:
    """Everything one flush writes, in one transaction."""

    records: int = 0
    rejected_inputs: int = 0
    """Parameter values that had to be stored as text (see :func:`serialize_parameters`)."""
    servers: dict[str, tuple[str | None, float]] = field(default_factory=dict)
    """guild_id -> (latest known name or None, last seen epoch seconds)."""
    audit_rows: list[AuditRow] = field(default_factory=list)
    days: dict[tuple[str, date], list[float]] = field(default_factory=dict)
    """(guild, day) -> [songs, playtime, skips, pauses, commands, failed_commands]."""
    commands: dict[tuple[str, date, str], list[float]] = field(default_factory=dict)
    """(guild, day, command) -> [count, failures, duration_sum, duration_min, duration_max]."""
    latency: dict[tuple[str, date, str, int], int] = field(default_factory=dict)
    """(guild, day, command, bucket) -> count."""
    users: dict[tuple[str, date, str], int] = field(default_factory=dict)
    """(guild, day, user) -> commands run (songs requested count too, as activity)."""
    minutes: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    """(guild, minute as epoch seconds // 60) -> [commands, failed_commands]."""


def serialize_parameters(parameters: dict[str, Any] | str | None) -> tuple[str, int]:
    """Parameters as compact JSON text, and how many values JSON could not hold as they were.

    Discord objects (members, channels, roles, messages) are stored as their id and sets as
    lists: faithful conversions. Anything else JSON cannot encode is stored as its ``str`` and
    counted; so are NaN and circular structures (the whole dict then falls back to text values).
    """
    if parameters is None:
        return "{}", 0
    if isinstance(parameters, str):
        return parameters, 0
    fallbacks = 0

    def default(value: Any) -> Any:
        nonlocal fallbacks
        ident = getattr(value, "id", None)
        if isinstance(ident, int) and not isinstance(ident, bool):
            return str(ident)
        if isinstance(value, set | frozenset | tuple):
            return list(value)
        fallbacks += 1
        return str(value)

    try:
        text = json.dumps(
            parameters, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=default
        )
        return text, fallbacks
    except (TypeError, ValueError):
        # Circular structures, NaN, keys JSON cannot take: keep what can be kept, as text.
        text = json.dumps(
            {str(k): _safe_value(v) for k, v in parameters.items()},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return text, 1


def _safe_value(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def build_batch(records: Iterable[Record]) -> WriteBatch:
    """Aggregate ``records`` into one :class:`WriteBatch`."""
    batch = WriteBatch()
    servers = batch.servers
    days = batch.days
    users = batch.users
    day_cache: dict[int, date] = {}

    def day_of(at: float) -> date:
        # Records in a batch share a handful of days; skip the datetime work for the rest.
        key = int(at // 86400)
        found = day_cache.get(key)
        if found is None:
            found = day_cache[key] = utc_day(at)
        return found

    for record in records:
        batch.records += 1
        guild = record.guild_id
        if isinstance(record, CommandRecord):
            _seen(servers, guild, record.guild_name, record.executed_at)
            day = day_of(record.executed_at)
            failed = not record.success
            parameters, fallbacks = serialize_parameters(record.parameters)
            batch.rejected_inputs += fallbacks
            batch.audit_rows.append(
                (
                    guild,
                    record.guild_name,
                    record.user_id,
                    record.username,
                    record.command,
                    parameters,
                    record.duration,
                    record.success,
                    record.error_type,
                    record.error_message,
                    record.executed_at,
                )
            )
            totals = days.get((guild, day))
            if totals is None:
                totals = days[(guild, day)] = [0, 0, 0, 0, 0, 0]
            totals[4] += 1
            totals[5] += failed
            key = (guild, day, record.command)
            stats = batch.commands.get(key)
            if stats is None:
                batch.commands[key] = [
                    1,
                    int(failed),
                    record.duration,
                    record.duration,
                    record.duration,
                ]
            else:
                stats[0] += 1
                stats[1] += failed
                stats[2] += record.duration
                stats[3] = min(stats[3], record.duration)
                stats[4] = max(stats[4], record.duration)
            bucket_key = (guild, day, record.command, bucket_index(record.duration))
            batch.latency[bucket_key] = batch.latency.get(bucket_key, 0) + 1
            user_key = (guild, day, record.user_id)
            users[user_key] = users.get(user_key, 0) + 1
            minute_key = (guild, int(record.executed_at // 60))
            minute = batch.minutes.get(minute_key)
            if minute is None:
                batch.minutes[minute_key] = [1, int(failed)]
            else:
                minute[0] += 1
                minute[1] += failed
        elif isinstance(record, StatRecord):
            _seen(servers, guild, None, record.at)
            day = day_of(record.at)
            totals = days.get((guild, day))
            if totals is None:
                totals = days[(guild, day)] = [0, 0, 0, 0, 0, 0]
            if record.kind is StatKind.SONG:
                totals[0] += 1
                totals[1] += record.amount
            elif record.kind is StatKind.SKIP:
                totals[2] += 1
            elif record.kind is StatKind.PAUSE:
                totals[3] += 1
            else:
                totals[4] += 1
            if record.user_id is not None:
                user_key = (guild, day, record.user_id)
                users[user_key] = users.get(user_key, 0) + (record.kind is StatKind.COMMAND)
        elif isinstance(record, GuildRecord):
            _seen(servers, guild, record.guild_name, record.at)
    return batch


def _seen(
    servers: dict[str, tuple[str | None, float]], guild: str, name: str | None, at: float
) -> None:
    known = servers.get(guild)
    if known is None:
        servers[guild] = (name, at)
    else:
        servers[guild] = (name if name is not None else known[0], max(at, known[1]))
