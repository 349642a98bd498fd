"""Prometheus metrics and a liveness probe over HTTP, for bots run by ops tooling.

:class:`MetricsServer` serves ``/metrics`` (Prometheus text format) and ``/healthz`` from the
bot's own event loop; :class:`MonitoringCollector` is the ``prometheus_client`` collector behind
it, usable with a registry of your own. The cog starts the server when ``[metrics] enabled`` is
true. See the README, "Running at scale".

The server and collector are imported on first use: plain library use never loads
``prometheus_client`` or ``aiohttp``'s web server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .totals import DURATION_BUCKETS, CommandTotals

__all__ = ("DURATION_BUCKETS", "CommandTotals", "MetricsServer", "MonitoringCollector")

if TYPE_CHECKING:
    from .collector import MonitoringCollector
    from .server import MetricsServer


def __getattr__(name: str) -> Any:
    if name == "MetricsServer":
        from .server import MetricsServer

        return MetricsServer
    if name == "MonitoringCollector":
        from .collector import MonitoringCollector

        return MonitoringCollector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
