"""Cumulative per-command counts and latency histograms, kept by the writer for the metrics (and
the same for message components and custom events).

Nothing here runs on a command's path. The writer's
:class:`~monitoring_cog.recording.rollups.BatchBuilder` already visits every record of a batch; it
also counts each command's duration in one of the fixed :data:`DURATION_BUCKETS`, separately for
successes and failures, and sums those figures per command and outcome once per batch
(:attr:`~monitoring_cog.storage.batch.WriteBatch.outcomes`). When the batch is committed, the
recorder adds them here: a handful of list additions per distinct command, whatever the traffic.

This module imports nothing but the standard library, so the recording pipeline can use it without
loading ``prometheus_client`` or ``aiohttp``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

__all__ = (
    "DURATION_BUCKETS",
    "OTHER_COMMANDS",
    "CommandTotal",
    "CommandTotals",
    "ComponentCounts",
    "ComponentTotal",
    "EventCounts",
    "Outcomes",
)

DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Upper bounds (Prometheus ``le``), in seconds, of the command latency histogram; +Inf follows.

Round values rather than the rollups' log-spaced buckets: alerts and SLO queries name them (for
example ``le="0.5"``). Prometheus' defaults, with 30 s and 60 s added for deferred commands.
"""

OTHER_COMMANDS = "(other)"
"""The ``command`` label of commands past :attr:`CommandTotals.max_commands` distinct names."""

Outcomes = Mapping[tuple[str, bool], tuple[int, float, list[int]]]
"""(command, success) -> (count, duration sum, per-bucket counts, not cumulative, +Inf last)."""


class CommandTotal(NamedTuple):
    """One labelled series of :meth:`CommandTotals.series`."""

    command: str
    outcome: str
    """``"success"`` or ``"failure"``."""
    runs: int
    duration_sum: float
    buckets: list[int]
    """Per-bucket counts (not cumulative), one per :data:`DURATION_BUCKETS` bound, then +Inf."""


class _Series:
    __slots__ = ("buckets", "count", "duration_sum")

    def __init__(self, count: int, duration_sum: float, buckets: list[int]) -> None:
        self.count = count
        self.duration_sum = duration_sum
        self.buckets = buckets


class CommandTotals:
    """Commands written since the process started, per command name and outcome.

    Parameters
    ----------
    max_commands:
        Distinct command names kept as their own label; later ones are summed under
        :data:`OTHER_COMMANDS`. A bot has a bounded set of commands, but the library API accepts
        any name, and every name costs a series in Prometheus.
    """

    __slots__ = ("_commands", "_totals", "max_commands")

    def __init__(self, max_commands: int = 1000) -> None:
        self.max_commands = max_commands
        self._totals: dict[tuple[str, bool], _Series] = {}
        self._commands: set[str] = set()

    def add(self, outcomes: Outcomes) -> None:
        """Add one committed batch's figures (once per distinct command and outcome)."""
        totals = self._totals
        for key, (count, duration_sum, buckets) in outcomes.items():
            found = totals.get(key)
            if found is None:
                command = key[0]
                if command not in self._commands:
                    if len(self._commands) >= self.max_commands:
                        key = (OTHER_COMMANDS, key[1])
                    else:
                        self._commands.add(command)
                found = totals.get(key)
                if found is None:
                    totals[key] = found = _Series(0, 0.0, [0] * len(buckets))
                    # The other outcome starts at 0 too, so that its first increment shows in
                    # rate() and increase() rather than being the series' first sample.
                    other = (key[0], not key[1])
                    if other not in totals:
                        totals[other] = _Series(0, 0.0, [0] * len(buckets))
            found.count += count
            found.duration_sum += duration_sum
            mine = found.buckets
            for index, hits in enumerate(buckets):
                if hits:
                    mine[index] += hits

    def series(self) -> list[CommandTotal]:
        """Every (command, outcome) series, sorted by command, successes first."""
        return [
            CommandTotal(
                command,
                "success" if success else "failure",
                entry.count,
                entry.duration_sum,
                list(entry.buckets),
            )
            for (command, success), entry in sorted(
                self._totals.items(), key=lambda item: (item[0][0], not item[0][1])
            )
        ]

    def total(self) -> int:
        """Commands counted, all series together."""
        return sum(entry.count for entry in self._totals.values())


class ComponentTotal(NamedTuple):
    """One labelled series of :meth:`ComponentCounts.series`."""

    component: str
    kind: str
    outcome: str
    """``"success"`` or ``"failure"``."""
    uses: int
    duration_sum: float
    buckets: list[int]
    """Per-bucket counts (not cumulative), one per :data:`DURATION_BUCKETS` bound, then +Inf."""


class ComponentCounts:
    """Message component uses written since the process started, per component, kind and
    outcome (the writer's :attr:`~monitoring_cog.storage.batch.WriteBatch.component_outcomes`).

    Parameters
    ----------
    max_components:
        Distinct components kept as their own label; later ones are summed under
        :data:`OTHER_COMMANDS` (``"(other)"``), as for commands.
    """

    __slots__ = ("_names", "_totals", "max_components")

    def __init__(self, max_components: int = 1000) -> None:
        self.max_components = max_components
        self._totals: dict[tuple[str, str, bool], _Series] = {}
        self._names: set[tuple[str, str]] = set()

    def add(self, outcomes: Mapping[tuple[str, str, bool], tuple[int, float, list[int]]]) -> None:
        """Add one committed batch's figures (once per component, kind and outcome)."""
        totals = self._totals
        for key, (count, duration_sum, buckets) in outcomes.items():
            found = totals.get(key)
            if found is None:
                name = key[:2]
                if name not in self._names:
                    if len(self._names) >= self.max_components:
                        key = (OTHER_COMMANDS, key[1], key[2])
                    else:
                        self._names.add(name)
                found = totals.get(key)
                if found is None:
                    totals[key] = found = _Series(0, 0.0, [0] * len(buckets))
                    other = (key[0], key[1], not key[2])
                    if other not in totals:  # Both outcomes start at 0, as for commands.
                        totals[other] = _Series(0, 0.0, [0] * len(buckets))
            found.count += count
            found.duration_sum += duration_sum
            mine = found.buckets
            for index, hits in enumerate(buckets):
                if hits:
                    mine[index] += hits

    def series(self) -> list[ComponentTotal]:
        """Every (component, kind, outcome) series, sorted by component and kind, successes
        first."""
        return [
            ComponentTotal(
                component,
                kind,
                "success" if success else "failure",
                entry.count,
                entry.duration_sum,
                list(entry.buckets),
            )
            for (component, kind, success), entry in sorted(
                self._totals.items(), key=lambda item: (item[0][0], item[0][1], not item[0][2])
            )
        ]


class EventCounts:
    """Custom events written since the process started, per name: occurrences and the sum of
    their values (the writer's :attr:`~monitoring_cog.storage.batch.WriteBatch.event_outcomes`).

    Parameters
    ----------
    max_names:
        Distinct names kept as their own label (every guild together); later ones are summed
        under :data:`OTHER_COMMANDS` (``"(other)"``).
    """

    __slots__ = ("_totals", "max_names")

    def __init__(self, max_names: int = 1000) -> None:
        self.max_names = max_names
        self._totals: dict[str, list[float]] = {}

    def add(self, outcomes: Mapping[str, tuple[int, float]]) -> None:
        """Add one committed batch's figures (once per name)."""
        totals = self._totals
        for name, (count, value_sum) in outcomes.items():
            found = totals.get(name)
            if found is None:
                key = OTHER_COMMANDS if len(totals) >= self.max_names else name
                found = totals.get(key)
                if found is None:
                    found = totals[key] = [0, 0.0]
            found[0] += count
            found[1] += value_sum

    def series(self) -> list[tuple[str, int, float]]:
        """``(name, occurrences, sum of values)`` of every name, sorted by name."""
        return [(name, int(count), total) for name, (count, total) in sorted(self._totals.items())]
