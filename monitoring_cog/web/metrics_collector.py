"""``MonitoringCollector``: the monitoring system's figures as Prometheus metrics.

A custom ``prometheus_client`` collector: nothing is updated as commands run. At each scrape it
reads what already exists (the writer's per-command totals, the recorder's counters and the latest
health report) and turns it into metric families. Every name starts with ``monitoring_cog_``.
Labels never hold guild or user ids: only the command name, the outcome and the health component,
all of bounded cardinality.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from ..recording.metric_totals import DURATION_BUCKETS, CommandTotals
from ..vitals.stalls import LAG_BUCKETS, NO_COMMAND, StallMonitor

if TYPE_CHECKING:
    from ..collectors.health import HealthCheck
    from ..database import Database

__all__ = (
    "HEALTH_COMPONENTS",
    "STATUS_VALUES",
    "VITAL_COMPONENTS",
    "MonitoringCollector",
    "latest_report",
)

_log = logging.getLogger(__name__)

_MB = 1024 * 1024

STATUS_VALUES: dict[str, int] = {
    "healthy": 0,
    "degraded": 1,
    "warning": 1,
    "slow": 1,
    "unhealthy": 2,
    "critical": 2,
    "error": 2,
}
"""Overall and component statuses as gauge values: 0 healthy, 1 degraded, 2 unhealthy."""

HEALTH_COMPONENTS = ("memory", "cpu", "database", "error_rate", "recording")
"""The ``component`` label values of ``monitoring_cog_health_component_status``."""
VITAL_COMPONENTS = ("event_loop",)
"""Sections of the bot's vitals also given as components, while they can judge (a section
whose status is ``unknown`` is left out)."""

_LE = (*(repr(float(bound)) for bound in DURATION_BUCKETS), "+Inf")
"""The ``le`` labels, written as the Python client writes them ("0.005", "1.0", "+Inf")."""
_LAG_LE = (*(repr(float(bound)) for bound in LAG_BUCKETS), "+Inf")


def latest_report(health: HealthCheck | None) -> dict[str, Any] | None:
    """The most recent health report ``health`` keeps, or ``None`` before the first check."""
    if health is None or not health.history:
        return None
    return health.history[-1]


class MonitoringCollector(Collector):
    """Collects the metrics of one monitoring system (see the README for the list).

    Parameters
    ----------
    db:
        The database whose writer is observed. Creating the collector turns on the writer's
        per-command counting (:meth:`~monitoring_cog.recording.pipeline.Recorder.track_commands`),
        so the command counts cover commands written from then on.
    health:
        Where the latest health report comes from; ``None`` leaves out the health gauges.
    """

    def __init__(self, db: Database, health: HealthCheck | None = None) -> None:
        self.db = db
        self.health = health
        self.totals: CommandTotals = db.recorder.track_commands()

    def register(self, registry: CollectorRegistry | None = None) -> CollectorRegistry:
        """Register on ``registry``, by default a new private one (never the global registry)."""
        registry = registry if registry is not None else CollectorRegistry(auto_describe=False)
        registry.register(self)
        return registry

    def collect(self) -> Iterator[Metric]:
        """The metric families, as of now."""
        yield from self._commands()
        yield from self._recorder()
        yield from self._event_loop()
        report = latest_report(self.health)
        if report is not None:
            try:
                families = list(_health(report))
            except Exception:  # A malformed report must not fail the whole scrape.
                _log.exception("monitoring: could not turn the health report into metrics")
            else:
                yield from families

    def _commands(self) -> Iterator[Metric]:
        counts = CounterMetricFamily(
            "monitoring_cog_commands",
            "Commands written to the audit log, by command name and outcome.",
            labels=("command", "outcome"),
        )
        durations = HistogramMetricFamily(
            "monitoring_cog_command_duration_seconds",
            "Duration of the commands written to the audit log, by command name and outcome.",
            labels=("command", "outcome"),
        )
        for series in self.totals.series():
            labels = [series.command, series.outcome]
            counts.add_metric(labels, series.runs)
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for le, hits in zip(_LE, series.buckets, strict=True):
                cumulative += hits
                buckets.append((le, cumulative))
            durations.add_metric(labels, buckets, series.duration_sum)
        yield counts
        yield durations

    def _recorder(self) -> Iterator[Metric]:
        recorder = self.db.recorder
        yield GaugeMetricFamily(
            "monitoring_cog_queue_depth",
            "Records waiting in memory to be written.",
            value=recorder.pending,
        )
        yield GaugeMetricFamily(
            "monitoring_cog_queue_capacity",
            "Records the queue holds at most ([recording] max_queue); past it they are dropped.",
            value=recorder.stats()["max_queue"],
        )
        yield CounterMetricFamily(
            "monitoring_cog_records_written",
            "Records written to the database (commands, statistics and guild sightings).",
            value=recorder.written,
        )
        yield CounterMetricFamily(
            "monitoring_cog_dropped_records",
            "Records dropped because the queue was full or the recorder closed.",
            value=recorder.dropped,
        )
        yield CounterMetricFamily(
            "monitoring_cog_write_errors",
            "Failed write attempts (each failed batch is kept and retried).",
            value=recorder.write_errors,
        )
        yield GaugeMetricFamily(
            "monitoring_cog_writer_failing",
            "1 while the most recent write attempt failed, else 0.",
            value=int(recorder.failing),
        )
        yield CounterMetricFamily(
            "monitoring_cog_internal_errors",
            "Exceptions inside the monitoring code, caught so that they never reach the bot.",
            value=self.db.errors.errors,
        )

    def _stall_monitor(self) -> StallMonitor | None:
        section = self.health.section("event_loop") if self.health is not None else None
        return section if isinstance(section, StallMonitor) else None

    def _event_loop(self) -> Iterator[Metric]:
        """The stall monitor's figures, when one watches the loop (the cog's, or one a library
        user added to the health check as its ``event_loop`` section)."""
        monitor = self._stall_monitor()
        if monitor is None:
            return
        counts, lag_sum = monitor.lag_histogram()
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for le, hits in zip(_LAG_LE, counts, strict=True):
            cumulative += hits
            buckets.append((le, cumulative))
        yield HistogramMetricFamily(
            "monitoring_cog_event_loop_lag_seconds",
            "How late the stall monitor's callback ran on the event loop, each time it ran"
            " (every [health] stall_interval).",
            buckets=buckets,
            sum_value=lag_sum,
        )
        stalls = CounterMetricFamily(
            "monitoring_cog_event_loop_stalls",
            "Event-loop stalls ([health] stall_threshold or longer), by the command in progress"
            ' ("(none)" outside any).',
            labels=("command",),
        )
        seconds = CounterMetricFamily(
            "monitoring_cog_event_loop_stall_seconds",
            "Seconds the event loop was stalled, by the command in progress.",
            labels=("command",),
        )
        by_command = monitor.stalls_by_command()
        # Served from the start, at 0: the first stall then shows in rate() and increase()
        # rather than being a new series' first sample.
        by_command.setdefault(NO_COMMAND, (0, 0.0))
        for label, (count, total) in sorted(by_command.items()):
            stalls.add_metric([label], count)
            seconds.add_metric([label], total)
        yield stalls
        yield seconds


def _health(report: dict[str, Any]) -> Iterator[Metric]:
    """Gauges from one health report; a figure the report lacks (a failed check) is left out."""
    yield GaugeMetricFamily(
        "monitoring_cog_health_status",
        "Overall status of the latest health check: 0 healthy, 1 degraded, 2 unhealthy.",
        value=STATUS_VALUES.get(str(report.get("overall_status")), 2),
    )
    checked_at = report.get("timestamp")
    if isinstance(checked_at, str):
        yield GaugeMetricFamily(
            "monitoring_cog_health_last_check_timestamp_seconds",
            "When the latest health check ran (Unix time).",
            value=datetime.fromisoformat(checked_at).timestamp(),
        )
    components = GaugeMetricFamily(
        "monitoring_cog_health_component_status",
        "Status of each component in the latest health check: 0 healthy, 1 warning or slow, "
        "2 critical or error.",
        labels=("component",),
    )
    for component in (*HEALTH_COMPONENTS, *VITAL_COMPONENTS):
        section = report.get(component)
        if isinstance(section, dict) and section.get("status", "unknown") != "unknown":
            components.add_metric([component], STATUS_VALUES.get(str(section["status"]), 2))
    yield components
    for name, documentation, section, key, scale in _HEALTH_GAUGES:
        value = _number(report, section, key)
        if value is not None:
            yield GaugeMetricFamily(name, documentation, value=value * scale)


_HEALTH_GAUGES: tuple[tuple[str, str, str, str, float], ...] = (
    (
        "monitoring_cog_memory_rss_bytes",
        "Resident memory of the bot process at the latest health check.",
        "memory",
        "rss_mb",
        _MB,
    ),
    (
        "monitoring_cog_cpu_percent",
        "CPU used by the bot process over [health] cpu_window, at the latest health check "
        "(100 = one full core).",
        "cpu",
        "percent",
        1.0,
    ),
    (
        "monitoring_cog_database_latency_seconds",
        "Database round trip measured by the latest health check.",
        "database",
        "response_time",
        1.0,
    ),
    (
        "monitoring_cog_database_size_bytes",
        "Size of the database at the latest health check.",
        "database",
        "database_size_mb",
        _MB,
    ),
    (
        "monitoring_cog_error_ratio",
        "Failed / total commands over [health] error_rate_window, at the latest health check.",
        "error_rate",
        "error_rate",
        1.0,
    ),
)
"""(metric, help, report section, key, scale) for each plain gauge taken from a health report."""


def _number(report: dict[str, Any], section: str, key: str) -> float | None:
    part = report.get(section)
    value = part.get(key) if isinstance(part, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
