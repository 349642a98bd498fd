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

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from ...config import DashboardConfig
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

_log = logging.getLogger(__name__)

_SHUTDOWN_TIMEOUT = 1.0
"""Seconds stop() gives open connections (an event stream, a CSV download) before closing them."""


class DashboardServer:
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
        self.db = db
        self.host = host if host is not None else settings.host
        self.requested_port = port if port is not None else settings.port
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
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._warming: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one picked, if 0 was asked for); raises before start()."""
        if self._port is None:
            raise RuntimeError("the dashboard is not running")
        return self._port

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"  # Listening everywhere: this machine's own address opens it.
        return f"http://{host}:{self.port}"

    @property
    def login_url(self) -> str:
        """The address to open, token included: the first visit turns it into a session."""
        return f"{self.url}/?token={quote(self.token, safe='')}"

    async def start(self) -> None:
        """Start listening.

        Raises
        ------
        OSError
            The address cannot be bound (the port is in use). Nothing is left running.
        """
        if self._runner is not None:
            return
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        # The commands page's past days, read now rather than at its first view.
        self._warming = asyncio.get_running_loop().create_task(self.api.command_days.warm())
        _log.info("monitoring: serving the dashboard on %s", self.url)

    async def stop(self) -> None:
        """End the event streams, stop listening, close connections. Safe to call twice."""
        runner, self._runner = self._runner, None
        self.streams.close()
        warming, self._warming = self._warming, None
        if warming is not None and not warming.done():
            warming.cancel()
            await asyncio.wait({warming})
        if runner is not None:
            await runner.cleanup()
            _log.info("monitoring: stopped the dashboard")
        self._port = None

    async def __aenter__(self) -> DashboardServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<DashboardServer {where}>"
