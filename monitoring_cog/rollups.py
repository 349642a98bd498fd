"""Turn a batch of records into what one write transaction stores.

A :class:`WriteBatch` holds the audit rows to insert and, already summed per key, the increments
for every rollup table. Summing in memory first means one upsert per distinct key per flush rather
than one per record, whatever the traffic. The batch is backend-neutral: each storage backend turns
it into its own SQL.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .clock import utc_day
from .latency import MAX_BUCKET, bucket_upper_bound
from .metrics.totals import DURATION_BUCKETS
from .privacy import Privacy
from .records import CommandRecord, GuildRecord, Record, StatKind, StatRecord

__all__ = (
    "MAX_PARAMETER_DEPTH",
    "TOO_DEEP",
    "AuditRow",
    "BatchBuilder",
    "WriteBatch",
    "build_batch",
    "cut_parameters",
    "serialize_parameters",
)

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
    latency: dict[tuple[str, date, str], dict[int, int]] = field(default_factory=dict)
    """(guild, day, command) -> its latency histogram, {bucket: count}; the same keys as
    ``commands``."""
    users: dict[tuple[str, date, str], int] = field(default_factory=dict)
    """(guild, day, user) -> commands run (songs requested count too, as activity)."""
    minutes: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    """(guild, minute as epoch seconds // 60) -> [commands, failed_commands]."""
    outcomes: dict[tuple[str, bool], tuple[int, float, list[int]]] = field(default_factory=dict)
    """(command, success) -> (count, duration sum, counts per metrics bucket), for the metrics
    (:mod:`monitoring_cog.metrics.totals`); only filled when built with ``outcomes=True``. Not
    stored by the backends."""


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
"""Plain JSON values only (no ``default``): what almost every command's arguments are."""

MAX_PARAMETER_DEPTH = 100
"""Levels of nesting kept of parameters too deep to serialise whole (see :func:`cut_parameters`)."""
TOO_DEEP = "[too deep]"
"""What stands in for each container past :data:`MAX_PARAMETER_DEPTH` levels."""


def serialize_parameters(parameters: dict[str, Any] | str | None) -> tuple[str, int]:
    """Parameters as compact JSON text, and how many values JSON could not hold as they were.

    Discord objects (members, channels, roles, messages) are stored as their id and sets as
    lists: faithful conversions. Anything else JSON cannot encode is stored as its ``str`` and
    counted; so are NaN and circular structures (the whole dict then falls back to text values).
    Parameters nested deeper than :data:`MAX_PARAMETER_DEPTH` levels (however deep this
    Python's encoder could go) are stored cut to that many levels, counted once.
    """
    try:
        text, fallbacks = _serialize(parameters)
    except RecursionError:
        if not isinstance(parameters, dict):
            raise
    else:
        # The same cut whether or not this Python's encoder went deeper (3.13's goes past
        # 5,000 levels, 3.11's stops near 1,000): what is stored never depends on the version.
        # Nesting past the limit needs that many brackets: the scan is for such texts only.
        if not (isinstance(parameters, dict) and _may_nest_too_deep(text)):
            return text, fallbacks
        if _nesting_depth(text) <= MAX_PARAMETER_DEPTH:
            return text, fallbacks
    # Only structures built to be deep get here (a command's arguments nest a few levels).
    text, fallbacks = _serialize(cut_parameters(parameters))
    return text, fallbacks + 1


def _may_nest_too_deep(text: str) -> bool:
    """Whether the JSON ``text`` has enough brackets to nest past :data:`MAX_PARAMETER_DEPTH`."""
    limit = MAX_PARAMETER_DEPTH
    return len(text) > 2 * limit and text.count("{") + text.count("[") > limit


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _nesting_depth(text: str) -> int:
    """How deep the containers of the JSON ``text`` nest (0 for a scalar)."""
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text):
        if char in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "}]":
            depth -= 1
    return deepest


def cut_parameters(parameters: dict[Any, Any]) -> dict[Any, Any]:
    """``parameters`` nested at most :data:`MAX_PARAMETER_DEPTH` levels: each dict, list,
    tuple or set below that is replaced by :data:`TOO_DEEP`. A new structure; values are kept.

    For parameters too deep to store whole (some too deep even to walk or serialise: Python's
    recursion limit is about 1,000 levels): cut, they are stored rather than lost, and the cut
    shows where it was made.
    """
    return _cut(parameters, MAX_PARAMETER_DEPTH)  # type: ignore[no-any-return]


def _cut(value: Any, levels: int) -> Any:
    """``value`` with at most ``levels`` levels of containers; recursion at most that deep."""
    if isinstance(value, dict):
        if levels <= 0:
            return TOO_DEEP
        return {key: _cut(item, levels - 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        if levels <= 0:
            return TOO_DEEP
        return [_cut(item, levels - 1) for item in value]
    return value


def _serialize(parameters: dict[str, Any] | str | None) -> tuple[str, int]:
    if parameters is None:
        return "{}", 0
    if isinstance(parameters, str):
        return parameters, 0
    if not parameters and isinstance(parameters, dict):
        return "{}", 0
    try:
        # One shared encoder, no per-call set-up: the same text json.dumps gives when no value
        # needs the conversions below (those raise here and take the full path).
        return _ENCODE(parameters), 0
    except (TypeError, ValueError):
        pass
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


_UPPER_BOUNDS = tuple(bucket_upper_bound(index) for index in range(MAX_BUCKET))
"""The exact bounds :func:`~monitoring_cog.latency.bucket_index` settles against.

Bucket ``i`` holds ``(bound[i-1], bound[i]]``, so ``bisect_left(_UPPER_BOUNDS, seconds)``, the
first bound not below ``seconds``, is its bucket: 0 for NaN and anything up to ``BASE``,
``MAX_BUCKET`` past the last bound. A binary search in C instead of a logarithm and powers, for
a computation made once per audited command.
"""

_METRIC_BUCKETS = len(DURATION_BUCKETS) + 1
"""Buckets of the metrics histogram: one per bound of ``DURATION_BUCKETS``, then +Inf."""


class _Days:
    """UTC day of an epoch timestamp, remembering the days already seen in this batch."""

    __slots__ = ("_cache", "_last", "_last_key")

    def __init__(self) -> None:
        self._cache: dict[int, date] = {}
        self._last_key: int | None = None
        self._last: date | None = None

    def of(self, at: float) -> date:
        key = int(at // 86400)
        if key == self._last_key:
            return self._last  # type: ignore[return-value]
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = utc_day(at)
        self._last_key, self._last = key, found
        return found


class BatchBuilder:
    """Aggregates records into one :class:`WriteBatch`, a slice at a time.

    :meth:`add` may be called several times (the writer yields to the event loop between
    slices of a large batch, so no single step blocks it for long); :meth:`finish` returns the
    batch, the same whatever the slicing.

    This runs on the event loop for every record written, so it does the per-record minimum:
    the audit row, one lookup per (guild, day, command) carrying that command's latency
    histogram, the user and the minute. Per-day command totals are summed from the per-command
    figures once, in :meth:`finish`, instead of once per record. For the metrics, each command
    also counts its duration in one bucket per command name and outcome.
    """

    __slots__ = (
        "_batch",
        "_day_of",
        "_finished",
        "_last_minute",
        "_minute_counts",
        "_outcomes",
        "_per_command",
        "_privacy",
        "_registered",
        "_seen",
    )

    def __init__(self, privacy: Privacy | None = None, *, outcomes: bool = False) -> None:
        self._batch = WriteBatch()
        self._privacy = privacy
        """Redaction and user-id hashing: applied here, so a command's own path pays nothing."""
        self._seen: dict[str, list[Any]] = {}
        """guild -> [latest known name, last seen]; ``batch.servers`` in :meth:`finish`."""
        self._registered: dict[str, tuple[str | None, float]] = {}
        """guild -> (name, seen at), from :meth:`add_guilds`; merged into ``batch.servers``."""
        self._per_command: dict[tuple[str, date, str], list[Any]] = {}
        """(guild, day, command) -> [count, failures, sum, min, max, {bucket: count}]."""
        self._outcomes: tuple[dict[str, list[Any]], dict[str, list[Any]]] | None = (
            ({}, {}) if outcomes else None
        )
        """Only when ``outcomes`` (metrics are on): ``batch.outcomes``' figures, indexed by
        ``failed``: command -> [count per metrics bucket..., duration sum]."""
        self._day_of = _Days().of
        self._last_minute: tuple[str, int] | None = None
        self._minute_counts: list[int] = []
        self._finished = False

    def add(self, records: Iterable[Record]) -> None:
        """Aggregate ``records`` (in order, after those added before)."""
        batch = self._batch
        seen = self._seen
        per_command = self._per_command
        days = batch.days
        users = batch.users
        minutes = batch.minutes
        append_row = batch.audit_rows.append
        day_of = self._day_of
        bounds = _UPPER_BOUNDS
        metric_bounds = DURATION_BUCKETS
        outcomes = self._outcomes
        last_minute = self._last_minute
        minute_counts = self._minute_counts
        rejected = 0
        count = 0
        privacy = self._privacy
        private_row = self._private_row if privacy is not None and privacy.rewrites_rows else None
        user_of = privacy.user_id if privacy is not None and privacy.hashes_user_ids else None
        # The default rules only redact parameters: the rest of the row is the record's, built
        # here without a call per record.
        redact_json: Callable[[str], str] | None = None
        to_text: Callable[[Any], tuple[str, int]] = serialize_parameters
        if (
            private_row is not None
            and privacy is not None
            and privacy.store_parameters
            and privacy.keeps_rows_identity
        ):
            redact_json = privacy.redact_json
            to_text = self._private_text
            private_row = None

        for record in records:
            count += 1
            if isinstance(record, CommandRecord):
                # One unpacking instead of a field access each: this loop runs once per command.
                (guild, name, user_id, _, command, parameters, duration, success, _, _, at) = record
                known = seen.get(guild)
                if known is None:
                    seen[guild] = [name, at]
                else:
                    if name is not None:
                        known[0] = name
                    if not known[1] > at:  # max(at, known), NaN included, as before.
                        known[1] = at
                day = day_of(at)
                failed = not success
                if private_row is not None:
                    row, fallbacks = private_row(record)
                    rejected += fallbacks
                    user_id = row[2]  # Hashed, if so configured: daily_users gets the same.
                    append_row(row)
                else:
                    text: str | None
                    if type(parameters) is str:
                        text = parameters if redact_json is None else redact_json(parameters)
                        if text is parameters:
                            # Stored as is: the record, laid out as an audit row, is its row.
                            append_row(record)  # type: ignore[arg-type]
                            text = None
                    else:
                        text, fallbacks = to_text(parameters)
                        rejected += fallbacks
                    if text is not None:
                        append_row(
                            (
                                guild,
                                name,
                                user_id,
                                record.username,
                                command,
                                text,
                                duration,
                                success,
                                record.error_type,
                                record.error_message,
                                at,
                            )
                        )
                key = (guild, day, command)
                stats = per_command.get(key)
                if stats is None:
                    per_command[key] = [
                        1,
                        int(failed),
                        duration,
                        duration,
                        duration,
                        {bisect_left(bounds, duration): 1},
                    ]
                else:
                    stats[0] += 1
                    stats[1] += failed
                    stats[2] += duration
                    if duration < stats[3]:
                        stats[3] = duration
                    if duration > stats[4]:
                        stats[4] = duration
                    histogram = stats[5]
                    bucket = bisect_left(bounds, duration)
                    histogram[bucket] = histogram.get(bucket, 0) + 1
                # The metrics histogram, per command name and outcome: not per guild, so its
                # size stays that of the bot's command list whatever the guilds in a batch.
                if outcomes is not None:
                    metric = outcomes[failed].get(command)
                    if metric is None:
                        metric = outcomes[failed][command] = [0] * _METRIC_BUCKETS + [0.0]
                    metric[bisect_left(metric_bounds, duration)] += 1
                    metric[-1] += duration
                user_key = (guild, day, user_id)
                users[user_key] = users.get(user_key, 0) + 1
                minute_key = (guild, int(at // 60))
                if minute_key != last_minute:
                    last_minute = minute_key
                    found = minutes.get(minute_key)
                    if found is None:
                        found = minutes[minute_key] = [0, 0]
                    minute_counts = found
                minute_counts[0] += 1
                minute_counts[1] += failed
            elif isinstance(record, StatRecord):
                guild = record.guild_id
                _seen(seen, guild, None, record.at)
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
                    user = record.user_id if user_of is None else user_of(record.user_id)
                    user_key = (guild, day, user)
                    users[user_key] = users.get(user_key, 0) + (record.kind is StatKind.COMMAND)
            elif isinstance(record, GuildRecord):
                _seen(seen, record.guild_id, record.guild_name, record.at)

        batch.records += count
        batch.rejected_inputs += rejected
        self._last_minute = last_minute
        self._minute_counts = minute_counts

    def add_guilds(self, guilds: Mapping[str, tuple[str | None, float]]) -> None:
        """Register ``guilds``, guild id -> (name or None, seen at), counting nothing.

        Kept as given, apart from the guilds the records name: a slice of thousands of
        registrations makes no list per guild (see :meth:`finishing`).
        """
        registered = self._registered
        if not registered:
            registered.update(guilds)
            return
        for guild, (name, at) in guilds.items():
            known = registered.get(guild)
            registered[guild] = (name, at) if known is None else _latest(known, name, at)

    def _private_text(self, parameters: dict[str, Any] | None) -> tuple[str, int]:
        """``parameters`` redacted, as the JSON text stored, and the values stored as text."""
        privacy = self._privacy
        assert privacy is not None
        fallbacks = 0
        # Redacted before serialising, so a secret never reaches the JSON text.
        try:
            redacted = privacy.redact(parameters) if parameters else parameters
        except RecursionError:
            # Too deep to walk: cut first (a correction), then redacted like any other.
            redacted = privacy.redact(cut_parameters(parameters or {}))
            fallbacks = 1
        text, more = serialize_parameters(redacted)
        return text, fallbacks + more

    def _private_row(self, record: CommandRecord) -> tuple[AuditRow, int]:
        """The audit row of ``record`` under the privacy rules, and its parameters' fallbacks."""
        privacy = self._privacy
        assert privacy is not None
        parameters = record.parameters
        fallbacks = 0
        if not privacy.store_parameters:
            text = "{}"
        elif isinstance(parameters, str):
            text = privacy.redact_json(parameters)
            if text is parameters and privacy.keeps_rows_identity:
                return record, 0  # type: ignore[return-value]  # Laid out as an audit row.
        else:
            text, fallbacks = self._private_text(parameters)
        row: AuditRow = (
            record.guild_id,
            record.guild_name,
            privacy.user_id(record.user_id),
            record.username if privacy.store_usernames else None,
            record.command,
            text,
            record.duration,
            record.success,
            record.error_type,
            record.error_message,
            record.executed_at,
        )
        return row, fallbacks

    def finish(self) -> WriteBatch:
        """The batch of every record added (completed now, unless :meth:`finishing` did)."""
        if not self._finished:
            for _ in self.finishing():
                pass
        return self._batch

    def finishing(self, step: int = 1000) -> Iterator[None]:
        """Complete the batch, pausing (yielding) after each ``step`` (guild, day, command) keys;
        exhausted, the batch is :meth:`finish`'s. The writer resumes it a turn of the event loop
        at a time, so a large batch never holds the loop for long."""
        batch = self._batch
        days = batch.days
        servers = {guild: (known[0], known[1]) for guild, known in self._seen.items()}
        if not servers:
            servers = dict(self._registered)
        else:
            # A registration's name is the guild's as seen then; a record's, when it ran.
            for guild, (name, at) in self._registered.items():
                known = servers.get(guild)
                servers[guild] = (name, at) if known is None else _latest(known, name, at)
        batch.servers = servers
        commands = batch.commands
        latency = batch.latency
        for done, (key, stats) in enumerate(self._per_command.items(), 1):
            commands[key] = stats[:5]
            latency[key] = stats[5]
            guild, day, _ = key
            totals = days.get((guild, day))
            if totals is None:
                totals = days[(guild, day)] = [0, 0, 0, 0, 0, 0]
            totals[4] += stats[0]
            totals[5] += stats[1]
            if done % step == 0:
                yield
        self._per_command = {}
        if self._outcomes is not None:
            self._finish_outcomes(self._outcomes)
        self._finished = True

    def _finish_outcomes(self, per_name: tuple[dict[str, list[Any]], dict[str, list[Any]]]) -> None:
        """Fill ``batch.outcomes``: once per command name and outcome, never per record."""
        outcomes = self._batch.outcomes
        for failed, metrics in enumerate(per_name):
            for command, metric in metrics.items():
                buckets = metric[:-1]
                outcomes[(command, not failed)] = (sum(buckets), metric[-1], buckets)


def build_batch(records: Iterable[Record]) -> WriteBatch:
    """Aggregate ``records`` into one :class:`WriteBatch` (see :class:`BatchBuilder`)."""
    builder = BatchBuilder()
    builder.add(records)
    return builder.finish()


def _latest(
    known: tuple[str | None, float], name: str | None, at: float
) -> tuple[str | None, float]:
    """A guild's ``known`` (name, last seen) updated with a later sighting's ``name`` (unless
    ``None``) and ``at`` (if later)."""
    return (known[0] if name is None else name, at if not known[1] > at else known[1])


def _seen(seen: dict[str, list[Any]], guild: str, name: str | None, at: float) -> None:
    known = seen.get(guild)
    if known is None:
        seen[guild] = [name, at]
    else:
        if name is not None:
            known[0] = name
        if not known[1] > at:
            known[1] = at
