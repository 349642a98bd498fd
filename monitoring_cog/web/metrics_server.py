"""``MetricsServer``: ``/metrics`` for Prometheus and ``/healthz`` for liveness probes.

An aiohttp server in the bot's own event loop (aiohttp comes with discord.py): no thread, no
second process. A scrape reads in-memory figures only (never the database), so it stays cheap
and answers even while the database is down.

``/healthz`` answers from the latest health check, without running one:

- ``200`` when the latest status is ``healthy`` or ``degraded``, and also before the first
  check (``"status": "unknown"``): a bot still starting, or one whose checks run only on
  demand, must not be restarted for lack of a report;
- ``503`` when it is ``unhealthy`` (a component critical or in error).

A bot whose event loop is stuck does not answer at all, which a probe counts as a failure too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from .listener import HttpListener
from .metrics_collector import STATUS_VALUES, MonitoringCollector, latest_report

if TYPE_CHECKING:
    from ..collectors.health import HealthCheck
    from ..collectors.system import MonitoringSystem
    from ..database import Database
    from ..vitals.gateway import GatewayMonitor
    from ..vitals.rate_limits import RateLimitMonitor
    from ..vitals.webhook import WebhookAlerts

__all__ = ("MetricsServer",)


class MetricsServer(HttpListener):
    """Serves ``/metrics`` and ``/healthz`` over HTTP from the running event loop.

    Parameters
    ----------
    source:
        A :class:`~monitoring_cog.MonitoringSystem` (metrics and health), or a
        :class:`~monitoring_cog.Database` alone (no health gauges; ``/healthz`` then always
        answers ``200`` with ``"status": "unknown"`` unless ``health`` is given).
    host:
        Address to listen on. The default, ``127.0.0.1``, is reachable from this machine only.
    port:
        TCP port; ``0`` picks a free one (read it from :attr:`port` after :meth:`start`).
    health:
        Where ``/healthz`` and the health gauges read the latest report; by default the
        system's health check.
    rate_limits, webhook:
        A :class:`~monitoring_cog.vitals.rate_limits.RateLimitMonitor` and a
        :class:`~monitoring_cog.vitals.webhook.WebhookAlerts` whose counts to export too.
    gateway:
        The bot's :class:`~monitoring_cog.vitals.gateway.GatewayMonitor`, for the shard,
        population and gateway event metrics (the cog passes its own); ``None`` leaves them out.

    Use ``await server.start()`` and ``await server.stop()``, or ``async with``::

        async with MetricsServer(system, "0.0.0.0", 9811) as server:
            ...
    """

    serves = "/metrics and /healthz"

    def __init__(
        self,
        source: MonitoringSystem | Database,
        host: str = "127.0.0.1",
        port: int = 9811,
        *,
        health: HealthCheck | None = None,
        rate_limits: RateLimitMonitor | None = None,
        webhook: WebhookAlerts | None = None,
        gateway: GatewayMonitor | None = None,
    ) -> None:
        from ..database import Database

        if isinstance(source, Database):
            db = source
        else:
            db = source.db
            health = health if health is not None else source.health_check
        super().__init__(host, port)
        self.health = health
        self.collector = MonitoringCollector(
            db, health, rate_limits=rate_limits, webhook=webhook, gateway=gateway
        )
        self.registry = self.collector.register()
        """A registry of this server's own, never ``prometheus_client``'s global one: two bots in
        one process (or tests) do not collide."""

    def make_app(self) -> web.Application:
        """The aiohttp application (``GET /metrics``, ``GET /healthz``), to mount elsewhere."""
        app = web.Application()
        self.add_routes(app)
        return app

    def add_routes(self, app: web.Application) -> list[str]:
        """Add ``GET /metrics`` and ``GET /healthz`` to another application (the dashboard's,
        when both share a host and port); return their paths."""
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        return ["/metrics", "/healthz"]

    def application(self) -> web.Application:
        """The application :meth:`start` serves."""
        return self.make_app()

    # -- handlers ---------------------------------------------------------------------------

    async def _metrics(self, request: web.Request) -> web.Response:
        # Text format by default; OpenMetrics when the scraper asks for it in Accept.
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = encoder(self.registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, request: web.Request) -> web.Response:
        status, body = healthz(latest_report(self.health))
        return web.json_response(body, status=status)


def healthz(report: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
    """The ``/healthz`` answer for the latest health report: HTTP status and JSON body."""
    if report is None:
        return 200, {"status": "unknown", "checked_at": None}
    status = str(report.get("overall_status", "unhealthy"))
    code = 503 if STATUS_VALUES.get(status, 2) >= 2 else 200
    return code, {"status": status, "checked_at": report.get("timestamp")}
