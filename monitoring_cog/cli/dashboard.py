"""``monitoring-cog dashboard`` (and ``demo --dashboard``): the dashboard without the bot.

The same pages and API as inside the bot, served from the configured database (a SQLite file or
a PostgreSQL URL). The overview shows the health reports the bot's processes stored (stored
mode) instead of a live process. The token is the configured one (``$MONITORING_DASHBOARD_TOKEN``
or ``[dashboard] token``); without one a random token is made for this run. The address to open,
token included, is printed; the server runs until interrupted (Ctrl-C).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..config import MonitoringConfig
from ..database import Database
from ..web.dashboard.auth import generate_token
from ..web.dashboard.server import DashboardServer

__all__ = ("dashboard_token", "serve_dashboard")


def dashboard_token(config: MonitoringConfig) -> tuple[str, bool]:
    """The token to use, and whether it was generated for this run (none configured)."""
    configured = config.dashboard.token_or_none()
    if configured is not None:
        return configured, False
    return generate_token(), True


async def serve_dashboard(
    db: Database,
    config: MonitoringConfig,
    *,
    token: str,
    host: str | None,
    port: int | None,
    announce: Callable[[DashboardServer], None],
    until: asyncio.Event | None = None,
) -> None:
    """Serve the dashboard on ``db`` until ``until`` is set or the task is cancelled (Ctrl-C);
    then stop it and close the database. ``announce`` is told once it listens."""
    server = DashboardServer(db, config.dashboard, token=token, host=host, port=port)
    try:
        await db.storage()  # An unusable database fails now, before an address is printed.
        await server.start()
        announce(server)
        await (until or asyncio.Event()).wait()
    finally:
        await server.stop()
        await db.close()
