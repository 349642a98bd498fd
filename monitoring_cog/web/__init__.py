"""Everything served over HTTP, from the bot's own event loop.

Today: Prometheus metrics and a liveness probe (:class:`~.metrics_server.MetricsServer` serves
``/metrics`` and ``/healthz``; :class:`~.metrics_collector.MonitoringCollector` is the
``prometheus_client`` collector behind it, usable with a registry of your own). The cog starts the
server when ``[metrics] enabled`` is true. See the README, "Running at scale". The web dashboard
(pages and a JSON API behind a token) is :mod:`.dashboard`, started when ``[dashboard] enabled``
is true; see the README, "Dashboard".

The server and collector are imported on first use: plain library use never loads
``prometheus_client`` or ``aiohttp``'s web server. The public path is :mod:`monitoring_cog.metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ("MetricsServer", "MonitoringCollector")

if TYPE_CHECKING:
    from .metrics_collector import MonitoringCollector
    from .metrics_server import MetricsServer


def __getattr__(name: str) -> Any:
    if name == "MetricsServer":
        from .metrics_server import MetricsServer

        return MetricsServer
    if name == "MonitoringCollector":
        from .metrics_collector import MonitoringCollector

        return MonitoringCollector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
