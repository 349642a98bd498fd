"""``monitoring_cog.metrics``: Prometheus metrics and a liveness probe over HTTP (public path).

:class:`MetricsServer` serves ``/metrics`` and ``/healthz`` from the bot's own event loop;
:class:`MonitoringCollector` is the ``prometheus_client`` collector behind it, usable with a
registry of your own; :class:`CommandTotals` the per-command counts the writer keeps for them. The
code lives in :mod:`monitoring_cog.web` and :mod:`monitoring_cog.recording.metric_totals`.

The server and collector are imported on first use: plain library use never loads
``prometheus_client`` or ``aiohttp``'s web server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .recording.metric_totals import DURATION_BUCKETS, CommandTotals

__all__ = ("DURATION_BUCKETS", "CommandTotals", "MetricsServer", "MonitoringCollector")

if TYPE_CHECKING:
    from .web.metrics_collector import MonitoringCollector
    from .web.metrics_server import MetricsServer


def __getattr__(name: str) -> Any:
    if name in ("MetricsServer", "MonitoringCollector"):
        from . import web

        return getattr(web, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
