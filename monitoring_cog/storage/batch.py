"""What one write carries: the audit rows and rollup increments of a batch of records.

The recording layer builds a :class:`WriteBatch` (:mod:`monitoring_cog.recording.rollups`); each
backend turns it into its own SQL, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ("AuditRow", "StallRow", "WriteBatch")

AuditRow = tuple[
    str,
    str | None,
    str,
    str | None,
    str,
    str,
    float,
    bool,
    str | None,
    str | None,
    float,
    str | None,
]
"""guild_id, guild_name, user_id, username, command, parameters JSON, duration, success,
error_type, error_message, executed_at (epoch seconds), traceback text."""


StallRow = tuple[float, float, str | None, str | None, str | None, str | None, str | None]
"""started_at (epoch seconds), duration, command, command_kind, guild_id, location, stack text:
a row of ``loop_stalls``."""


@dataclass(slots=True)
class WriteBatch:
    """Everything one flush writes, in one transaction."""

    records: int = 0
    rejected_inputs: int = 0
    """Parameter values that had to be stored as text (see :func:`serialize_parameters`)."""
    servers: dict[str, tuple[str | None, float]] = field(default_factory=dict)
    """guild_id -> (latest known name or None, last seen epoch seconds)."""
    audit_rows: list[AuditRow] = field(default_factory=list)
    stalls: list[StallRow] = field(default_factory=list)
    """Event-loop stalls, one ``loop_stalls`` row each."""
    days: dict[tuple[str, date], list[float]] = field(default_factory=dict)
    """(guild, day) -> [songs, playtime, skips, pauses, commands, failed_commands]."""
    commands: dict[tuple[str, date, str], list[float]] = field(default_factory=dict)
    """(guild, day, command) -> [count, failures, duration_sum, duration_min, duration_max]."""
    latency: dict[tuple[str, date, str], dict[int, int]] = field(default_factory=dict)
    """(guild, day, command) -> its latency histogram, {bucket: count}; the same keys as
    ``commands``."""
    users: dict[tuple[str, date, str], int] = field(default_factory=dict)
    """(guild, day, user) -> commands run (songs requested count too, as activity)."""
    minutes: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    """(guild, minute as epoch seconds // 60) -> [commands, failed_commands]."""
    growth: dict[date, list[int]] = field(default_factory=dict)
    """Bot-wide, per UTC day: [guilds joined, guilds left]."""
    population: dict[tuple[date, int, int], tuple[int, int, float]] = field(default_factory=dict)
    """(day, shard_count, shard_id) -> (guilds, members, taken at): the latest snapshot of the
    batch for each; the backends keep the latest of the day."""
    components: dict[tuple[str, date, str, str], list[float]] = field(default_factory=dict)
    """(guild, day, component, kind) -> [uses, failures, duration_sum, duration_max]."""
    component_users: dict[tuple[str, date, str, str, str], int] = field(default_factory=dict)
    """(guild, day, component, kind, user) -> uses; the same keys as ``components`` plus the
    user (hashed under ``[privacy] hash_user_ids``)."""
    events: dict[tuple[str, date, str], list[float]] = field(default_factory=dict)
    """(guild, day, event name) -> [occurrences, sum of values]."""
    event_users: dict[tuple[str, date, str, str], int] = field(default_factory=dict)
    """(guild, day, event name, user) -> occurrences, for the events recorded with a user."""
    event_names: set[tuple[str, str]] = field(default_factory=set)
    """(guild, event name) of every name in ``events`` but ``"(other)"``: stored once each, so
    the per-guild bound on names holds across restarts
    (:mod:`monitoring_cog.recording.event_names`)."""
    failures: list[Any] = field(default_factory=list)
    """The batch's failed commands that carry a captured traceback (the recording layer's
    records), for whoever watches new kinds of error. Not stored by the backends."""
    outcomes: dict[tuple[str, bool], tuple[int, float, list[int]]] = field(default_factory=dict)
    """(command, success) -> (count, duration sum, counts per metrics bucket), for the metrics
    (:mod:`monitoring_cog.recording.metric_totals`); only filled when built with
    ``outcomes=True``. Not stored by the backends."""
    component_outcomes: dict[tuple[str, str, bool], tuple[int, float, list[int]]] = field(
        default_factory=dict
    )
    """(component, kind, success) -> (count, duration sum, counts per metrics bucket): as
    ``outcomes``, for the components' metrics; only with ``outcomes=True``."""
    event_outcomes: dict[str, tuple[int, float]] = field(default_factory=dict)
    """Event name -> (occurrences, sum of values), every guild together, for the metrics; only
    with ``outcomes=True``."""
