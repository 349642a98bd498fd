"""``MonitoringCollector``: the monitoring system's figures as Prometheus metrics.

A custom ``prometheus_client`` collector: nothing is updated as commands run. At each scrape it
reads what already exists (the writer's per-command totals, the recorder's counters, the latest
health report, the rate-limit monitor's and the webhook's counts) and turns it into metric
families. Every name starts with ``monitoring_cog_``. Labels never hold guild or user ids: only
the command name, the outcome, the health component, a rate limit's scope and route template,
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
    from ..vitals.gateway import GatewayMonitor
    from ..vitals.rate_limits import RateLimitMonitor
    from ..vitals.webhook import WebhookAlerts

__all__ = (
    "HEALTH_COMPONENTS",
    "STATUS_VALUES",
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
"""The built-in ``component`` label values of ``monitoring_cog_health_component_status``; the
sections added to the report (:meth:`~monitoring_cog.collectors.health.HealthCheck.add_section`:
``gateway``, ``event_loop``, ...) follow them under their own names."""

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
    rate_limits:
        The 429 counts to export (``monitoring_cog_rate_limits_total``); ``None`` leaves them out.
    webhook:
        The webhook alerts whose posts to export; ``None`` leaves them out.
    gateway:
        The bot's shards, population and gateway events, read at each scrape; ``None`` leaves
        them out.
    """

    def __init__(
        self,
        db: Database,
        health: HealthCheck | None = None,
        *,
        rate_limits: RateLimitMonitor | None = None,
        webhook: WebhookAlerts | None = None,
        gateway: GatewayMonitor | None = None,
    ) -> None:
        self.db = db
        self.health = health
        self.rate_limits = rate_limits
        self.webhook = webhook
        self.gateway = gateway
        self.totals: CommandTotals = db.recorder.track_commands()

    def register(self, registry: CollectorRegistry | None = None) -> CollectorRegistry:
        """Register on ``registry``, by default a new private one (never the global registry)."""
        registry = registry if registry is not None else CollectorRegistry(auto_describe=False)
        registry.register(self)
        return registry

    def collect(self) -> Iterator[Metric]:
        """The metric families, as of now."""
        yield from self._commands()
        yield from self._components()
        yield from self._events()
        yield from self._recorder()
        if self.rate_limits is not None:
            yield from _rate_limits(self.rate_limits)
        if self.webhook is not None:
            yield from _webhook(self.webhook)
        if self.gateway is not None:
            try:
                gateway = list(_gateway(self.gateway))
            except Exception:  # The bot's state must not fail the whole scrape either.
                _log.exception("monitoring: could not turn the gateway's figures into metrics")
            else:
                yield from gateway
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

    def _components(self) -> Iterator[Metric]:
        counts = CounterMetricFamily(
            "monitoring_cog_component_interactions",
            "Message component uses written (buttons, selects, modal submits), by component,"
            " kind and outcome; never counted among the commands.",
            labels=("component", "kind", "outcome"),
        )
        durations = HistogramMetricFamily(
            "monitoring_cog_component_duration_seconds",
            "Duration of the message component uses written, by component, kind and outcome.",
            labels=("component", "kind", "outcome"),
        )
        components = self.db.recorder.component_counts
        for series in components.series() if components is not None else ():
            labels = [series.component, series.kind, series.outcome]
            counts.add_metric(labels, series.uses)
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for le, hits in zip(_LE, series.buckets, strict=True):
                cumulative += hits
                buckets.append((le, cumulative))
            durations.add_metric(labels, buckets, series.duration_sum)
        yield counts
        yield durations

    def _events(self) -> Iterator[Metric]:
        counts = CounterMetricFamily(
            "monitoring_cog_custom_events",
            "Custom events recorded by the bot's code (record_event) and written, by name.",
            labels=("name",),
        )
        values = CounterMetricFamily(
            "monitoring_cog_custom_event_value",
            "Sum of the values of the custom events written, by name.",
            labels=("name",),
        )
        events = self.db.recorder.event_counts
        for name, occurrences, total in events.series() if events is not None else ():
            counts.add_metric([name], occurrences)
            values.add_metric([name], total)
        yield counts
        yield values

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


def _rate_limits(monitor: RateLimitMonitor) -> Iterator[Metric]:
    """429s per scope and route template: every one under ``scope="route"``, the global ones
    under ``scope="global"`` as well (discord.py logs both for a global 429)."""
    family = CounterMetricFamily(
        "monitoring_cog_rate_limits",
        "HTTP 429 responses the bot received, from discord.py's logs: scope=route counts every "
        "one by route template, scope=global the global ones among them.",
        labels=("scope", "route"),
    )
    for scope, counts in (("route", monitor.route_hits), ("global", monitor.global_hits)):
        for route, hits in sorted(dict(counts).items()):
            family.add_metric([scope, route], hits)
    yield family


def _webhook(webhook: WebhookAlerts) -> Iterator[Metric]:
    posts = CounterMetricFamily(
        "monitoring_cog_webhook_posts",
        "Alert messages for the webhook by outcome: posted, failed (after its retries, or "
        "refused) or dropped (queue full, or not sent by close).",
        labels=("outcome",),
    )
    for outcome in ("posted", "failed", "dropped"):
        posts.add_metric([outcome], getattr(webhook, outcome))
    yield posts
    yield CounterMetricFamily(
        "monitoring_cog_webhook_retries",
        "Webhook posts attempted again after a 429, a 5xx or a network error.",
        value=webhook.retried,
    )
    yield CounterMetricFamily(
        "monitoring_cog_webhook_held",
        "Alerts held back by the per-kind rate limit ([alerts] min_interval): each sent later, "
        "or summed up by a later message of its kind.",
        value=webhook.held,
    )


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
    for component in _components(report):
        section = report[component]
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


def _components(report: dict[str, Any]) -> list[str]:
    """The report's judged components: the built-in ones, then every added section, except
    those that cannot judge yet (``unknown``: a gateway before the bot is ready)."""
    added = [key for key in report if key not in HEALTH_COMPONENTS and key != "internal_errors"]
    return [
        name
        for name in (*HEALTH_COMPONENTS, *added)
        if isinstance(report.get(name), dict)
        and "status" in report[name]
        and report[name]["status"] != "unknown"
    ]


def _number(report: dict[str, Any], section: str, key: str) -> float | None:
    part = report.get(section)
    value = part.get(key) if isinstance(part, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _gateway(gateway: GatewayMonitor) -> Iterator[Metric]:
    """The shards, the population and the gateway events, as the monitor has them now."""
    latency = GaugeMetricFamily(
        "monitoring_cog_shard_latency_seconds",
        "Heartbeat latency of each shard's gateway connection (absent before the first "
        "heartbeat is acknowledged).",
        labels=("shard",),
    )
    up = GaugeMetricFamily(
        "monitoring_cog_shard_up",
        "1 while the shard is connected to Discord's gateway, 0 while it is not.",
        labels=("shard",),
    )
    counters = {
        name: CounterMetricFamily(f"monitoring_cog_shard_{name}", documentation, labels=("shard",))
        for name, documentation in (
            ("disconnects", "Times the shard lost its gateway connection."),
            ("reconnects", "Times the shard connected again after losing its connection."),
            ("resumes", "Reconnections that resumed the shard's session (no events lost)."),
        )
    }
    for shard in gateway.shard_figures():
        label = [str(shard.shard_id)]
        if shard.latency is not None:
            latency.add_metric(label, shard.latency)
        if shard.connected is not None:
            up.add_metric(label, int(shard.connected))
        counters["disconnects"].add_metric(label, shard.disconnects)
        counters["reconnects"].add_metric(label, shard.reconnects)
        counters["resumes"].add_metric(label, shard.resumes)
    yield latency
    yield up
    yield from counters.values()
    client = gateway.client
    yield GaugeMetricFamily(
        "monitoring_cog_gateway_ready",
        "1 once the bot is ready (every shard connected and its guilds received), else 0.",
        value=int(client.is_ready()),
    )
    yield GaugeMetricFamily(
        "monitoring_cog_guilds",
        "Guilds the bot is in (this process's shards).",
        value=len(client.guilds),
    )
    yield GaugeMetricFamily(
        "monitoring_cog_voice_clients",
        "Voice connections the bot holds.",
        value=len(client.voice_clients),
    )
    figures = gateway.population.figures
    if figures is not None:
        yield GaugeMetricFamily(
            "monitoring_cog_members",
            "Members of the bot's guilds as Discord counts them, at the latest count "
            "([gateway] population_interval).",
            value=figures.members,
        )
        yield GaugeMetricFamily(
            "monitoring_cog_cached_members",
            "Members in discord.py's cache, at the latest count.",
            value=figures.cached_members,
        )
    yield CounterMetricFamily(
        "monitoring_cog_guild_joins", "Guilds the bot joined.", value=gateway.population.joins
    )
    yield CounterMetricFamily(
        "monitoring_cog_guild_leaves",
        "Guilds the bot left or was removed from.",
        value=gateway.population.leaves,
    )
    events = CounterMetricFamily(
        "monitoring_cog_gateway_events",
        'Gateway events received, by type (past 200 types, the rest as "(other)").',
        labels=("type",),
    )
    for event_type, count in sorted(gateway.event_types.counts.items()):
        events.add_metric([event_type], count)
    yield events
