"""Turn a batch of records into what one write transaction stores.

A :class:`WriteBatch` holds the audit rows to insert and, already summed per key, the increments
for every rollup table. Summing in memory first means one upsert per distinct key per flush rather
than one per record, whatever the traffic. The batch is backend-neutral: each storage backend turns
it into its own SQL.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from ..analysis.latency import MAX_BUCKET, bucket_upper_bound
from ..clock import utc_day
from ..storage.batch import AuditRow, WriteBatch
from .event_names import OTHER_EVENT, EventNames
from .frames import STACK_HEADER
from .metric_totals import DURATION_BUCKETS
from .parameters import cut_parameters, serialize_parameters
from .privacy import Privacy
from .records import (
    CommandRecord,
    ComponentRecord,
    EventRecord,
    GrowthKind,
    GrowthRecord,
    GuildRecord,
    PopulationRecord,
    Record,
    StallRecord,
    StatKind,
    StatRecord,
)

__all__ = ("BatchBuilder", "build_batch")

_NO_RULES = Privacy(())
"""The rules of a batch built without any: tracebacks rendered in full."""

_UPPER_BOUNDS = tuple(bucket_upper_bound(index) for index in range(MAX_BUCKET))
"""The exact bounds :func:`~monitoring_cog.analysis.latency.bucket_index` settles against.

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

    Component uses and custom events have rollups of their own (never command counts): per guild,
    day and component (or event name), and per user. An event's name is first bounded per guild
    by ``event_names`` (:class:`~monitoring_cog.recording.event_names.EventNames`), if given.
    """

    __slots__ = (
        "_batch",
        "_component_metrics",
        "_day_of",
        "_event_metrics",
        "_event_names",
        "_finished",
        "_last_minute",
        "_minute_counts",
        "_outcomes",
        "_per_command",
        "_privacy",
        "_registered",
        "_seen",
    )

    def __init__(
        self,
        privacy: Privacy | None = None,
        *,
        outcomes: bool = False,
        event_names: EventNames | None = None,
    ) -> None:
        self._batch = WriteBatch()
        self._privacy = privacy
        """Redaction and user-id hashing: applied here, so a command's own path pays nothing."""
        self._event_names = event_names
        """The per-guild bound on event names; ``None`` keeps every name."""
        self._component_metrics: tuple[dict[tuple[str, str], list[Any]], ...] | None = (
            ({}, {}) if outcomes else None
        )
        """As ``_outcomes``, per (component, kind): indexed by ``failed``."""
        self._event_metrics: dict[str, list[float]] | None = {} if outcomes else None
        """Only with ``outcomes``: event name -> [occurrences, sum of values]."""
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
        render = (privacy or _NO_RULES).traceback_text
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

        failures = batch.failures
        for record in records:
            count += 1
            if isinstance(record, CommandRecord):
                # One unpacking instead of a field access each: this loop runs once per command.
                (
                    guild,
                    name,
                    user_id,
                    _,
                    command,
                    parameters,
                    duration,
                    success,
                    _,
                    _,
                    at,
                    trace,
                ) = record
                # _seen, written out: no call per command.
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
                if trace is not None and type(trace) is not str:
                    # A traceback as captured: rendered here (reused while the same failure
                    # repeats), and the row goes on as any other, with the text in it.
                    failures.append(record)
                    trace = render(trace)
                    record = tuple.__new__(CommandRecord, (*record[:11], trace))
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
                                trace,
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
            elif isinstance(record, ComponentRecord):
                self._add_component(record, user_of)
            elif isinstance(record, EventRecord):
                self._add_event(record, user_of)
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
            elif isinstance(record, GrowthRecord):
                day = day_of(record.at)
                counts = batch.growth.get(day)
                if counts is None:
                    counts = batch.growth[day] = [0, 0]
                counts[record.kind is GrowthKind.LEAVE] += 1
            elif isinstance(record, PopulationRecord):
                shard = (day_of(record.at), record.shard_count, record.shard_id)
                latest = batch.population.get(shard)
                # The day keeps its latest snapshot (the backends compare with the stored one).
                if latest is None or not latest[2] > record.at:
                    batch.population[shard] = (record.guilds, record.members, record.at)
            elif isinstance(record, StallRecord):
                stack = record.stack
                if stack is not None and not isinstance(stack, str):
                    stack = render(stack, STACK_HEADER)
                batch.stalls.append(
                    (
                        record.started_at,
                        record.duration,
                        record.command,
                        record.command_kind,
                        record.guild_id,
                        record.location,
                        stack,
                    )
                )

        batch.records += count
        batch.rejected_inputs += rejected
        self._last_minute = last_minute
        self._minute_counts = minute_counts

    def _add_component(self, record: ComponentRecord, user_of: Callable[[str], str] | None) -> None:
        """One component use: its (guild, day, component, kind) row, its user's, its metric."""
        guild, user_id, component, kind, duration, success, at = record
        _seen(self._seen, guild, None, at)
        day = self._day_of(at)
        key = (guild, day, component, kind)
        failed = not success
        components = self._batch.components
        stats = components.get(key)
        if stats is None:
            components[key] = [1, int(failed), duration, duration]
        else:
            stats[0] += 1
            stats[1] += failed
            stats[2] += duration
            if duration > stats[3]:
                stats[3] = duration
        user_key = (guild, day, component, kind, user_id if user_of is None else user_of(user_id))
        users = self._batch.component_users
        users[user_key] = users.get(user_key, 0) + 1
        metrics = self._component_metrics
        if metrics is not None:
            metric = metrics[failed].get((component, kind))
            if metric is None:
                metric = metrics[failed][(component, kind)] = [0] * _METRIC_BUCKETS + [0.0]
            metric[bisect_left(DURATION_BUCKETS, duration)] += 1
            metric[-1] += duration

    def _add_event(self, record: EventRecord, user_of: Callable[[str], str] | None) -> None:
        """One custom event: added to its (guild, day, name) sum, and its user's count."""
        guild = record.guild_id
        _seen(self._seen, guild, None, record.at)
        name = record.name
        if self._event_names is not None:
            name = self._event_names.admit(guild, name)
        day = self._day_of(record.at)
        key = (guild, day, name)
        events = self._batch.events
        totals = events.get(key)
        if totals is None:
            events[key] = [1, record.value]
        else:
            totals[0] += 1
            totals[1] += record.value
        user = record.user_id
        if user is not None:
            user_key = (guild, day, name, user if user_of is None else user_of(user))
            users = self._batch.event_users
            users[user_key] = users.get(user_key, 0) + 1
        metrics = self._event_metrics
        if metrics is not None:
            metric = metrics.get(name)
            if metric is None:
                metrics[name] = [1, record.value]
            else:
                metric[0] += 1
                metric[1] += record.value

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
        """The audit row of ``record`` under the privacy rules, and its parameters' fallbacks.

        :meth:`add` renders a captured traceback before it gets here.
        """
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
        trace = record.traceback
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
            trace if trace is None or isinstance(trace, str) else privacy.traceback_text(trace),
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
        batch.event_names = {
            (guild, name) for guild, _, name in batch.events if name != OTHER_EVENT
        }
        if self._outcomes is not None:
            self._finish_outcomes(self._outcomes)
        if self._component_metrics is not None:
            for failed, metrics in enumerate(self._component_metrics):
                for (component, kind), metric in metrics.items():
                    buckets = metric[:-1]
                    batch.component_outcomes[(component, kind, not failed)] = (
                        sum(buckets),
                        metric[-1],
                        buckets,
                    )
        if self._event_metrics is not None:
            batch.event_outcomes = {
                name: (int(count), float(total))
                for name, (count, total) in self._event_metrics.items()
            }
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
