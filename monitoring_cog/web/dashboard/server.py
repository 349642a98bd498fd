"""``DashboardServer``: the dashboard listening on a host and port, started and stopped.

Inside the bot the cog runs one (``[dashboard] enabled``) with the live health check; the
``monitoring-cog dashboard`` command runs one on the database alone (the stored health reports);
tests start one on port 0::

    server = DashboardServer(db, DashboardConfig(port=0), health=system.health_check,
                             token="a-token-of-16-chars-or-more")
    await server.start()
    server.url          # http://127.0.0.1:PORT
    server.login_url    # http://127.0.0.1:PORT/?token=... (opens a session)
    await server.stop()

``server.app`` is the aiohttp application (for ``aiohttp.test_utils.TestServer``), built at
construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from ...config import DashboardConfig
from ..listener import HttpListener
from .api import DashboardApi
from .app import create_dashboard_app
from .auth import FailureLimiter, TokenGate
from .health_view import HealthView
from .live import Snapshot, Streams
from .pages import STATIC_DIR

if TYPE_CHECKING:
    from ...collectors.health import HealthCheck
    from ...collectors.health_reports import HealthReportWriter
    from ...database import Database

__all__ = ("DashboardServer",)


class DashboardServer(HttpListener):
    """Serves the dashboard's pages and JSON API over HTTP from the running event loop.

    Parameters
    ----------
    db:
        The database the API reads (and the stored health reports, without ``health``).
    config:
        ``[dashboard]``: host, port, token, session lifetime, stream bound. Defaults to the
        database's config.
    health:
        The bot's health check: ``/api/health`` shows it live. ``None``: the stored reports.
    writer:
        The bot's health report writer (its process's name and timeline), if any.
    token:
        The access token; by default the config's (``$MONITORING_DASHBOARD_TOKEN`` or
        ``dashboard.token``; none raises :class:`~monitoring_cog.errors.ConfigError`).
    host, port:
        Override the config's.
    public_routes:
        Routes added without a token (the metrics endpoint's, sharing this server); see
        :func:`~.app.create_dashboard_app`.
    """

    serves = "the dashboard"

    def __init__(
        self,
        db: Database,
        config: DashboardConfig | None = None,
        *,
        health: HealthCheck | None = None,
        writer: HealthReportWriter | None = None,
        token: str | None = None,
        host: str | None = None,
        port: int | None = None,
        static_dir: Path = STATIC_DIR,
        public_routes: Callable[[web.Application], Iterable[str]] | None = None,
    ) -> None:
        settings = config if config is not None else db.config.dashboard
        super().__init__(
            host if host is not None else settings.host,
            port if port is not None else settings.port,
        )
        self.db = db
        self.token = token if token is not None else settings.token_value()
        self.view = HealthView(db, health=health, writer=writer)
        self.snapshot = Snapshot(self.view.payload, db.clock.monotonic)
        self.streams = Streams(self.snapshot, settings.max_streams)
        self.api = DashboardApi(db, self.snapshot, self.streams)
        self.gate = TokenGate(self.token, lifetime=settings.session_hours * 3600, now=db.clock.time)
        self.limiter = FailureLimiter(db.clock.monotonic)
        self.app = create_dashboard_app(
            self.api, self.gate, self.limiter, static_dir=static_dir, public_routes=public_routes
        )

    @property
    def login_url(self) -> str:
        """The address to open, token included: the first visit turns it into a session."""
        return f"{self.url}/?token={quote(self.token, safe='')}"

    def application(self) -> web.Application:
        """The dashboard's application, built at construction (:attr:`app`)."""
        return self.app

    async def _closing(self) -> None:
        self.streams.close()
