"""The built-in web dashboard: pages and a read-only JSON API behind a token.

One file per idea:

- :mod:`.server`: :class:`~.server.DashboardServer`, the server's lifecycle (``start``,
  ``stop``, ``url``, ``login_url``);
- :mod:`.app`: :func:`~.app.create_dashboard_app`, the routes and the access and error
  middlewares;
- :mod:`.auth`: the token, the signed session cookie, the limit on wrong tokens;
- :mod:`.security`: the security headers of every response;
- :mod:`.pages`: the static pages, ``/login`` and ``/logout``;
- :mod:`.api`: the JSON API's handlers; :mod:`.params`: their parameters, checked;
- :mod:`.health_view`: the ``/api/health`` body, live (the bot's health check) or stored
  (``health_reports``); :mod:`.live`: its one-second snapshot and the event streams.

Test hook: ``DashboardServer(db, DashboardConfig(port=0), health=..., token=...)``, then
``await server.start()``, ``server.url`` / ``server.login_url``, ``await server.stop()``; or hand
``server.app`` to ``aiohttp.test_utils.TestServer`` without listening on a port of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ("DashboardServer", "create_dashboard_app")

if TYPE_CHECKING:
    from .app import create_dashboard_app
    from .server import DashboardServer


def __getattr__(name: str) -> Any:
    if name == "DashboardServer":
        from .server import DashboardServer

        return DashboardServer
    if name == "create_dashboard_app":
        from .app import create_dashboard_app

        return create_dashboard_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
