"""Fixtures of the dashboard tests: a real database per backend, the dashboard's application
behind aiohttp's test server, and clients with and without the token.

``dashboard`` is a :class:`DashboardServer` on the test's database showing the system's health
check live; ``client`` talks to its application through ``aiohttp.test_utils`` (a real HTTP
server on a free port of this machine). Static pages come from a folder of the test's own, so the
tests do not depend on the pages' content.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from dashboard_support import TOKEN

from monitoring_cog import MonitoringSystem
from monitoring_cog.config import DashboardConfig
from monitoring_cog.web.dashboard.server import DashboardServer

PAGES = ("overview", "servers", "server", "commands", "audit", "stalls", "growth", "login")


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    """Pages whose body names them, and a stylesheet."""
    folder = tmp_path / "static"
    folder.mkdir()
    for name in PAGES:
        (folder / f"{name}.html").write_text(f"<!doctype html><title>{name}</title>{name} page")
    (folder / "app.css").write_text("body { margin: 0 }")
    return folder


@pytest.fixture
def dashboard(system: MonitoringSystem, static_dir: Path) -> DashboardServer:
    return DashboardServer(
        system.db,
        DashboardConfig(port=0, max_streams=2),
        health=system.health_check,
        token=TOKEN,
        static_dir=static_dir,
    )


@pytest.fixture
async def client(dashboard: DashboardServer) -> AsyncIterator[TestClient]:
    """A client without the token (each test logs in, or not)."""
    async with TestClient(TestServer(dashboard.app)) as test_client:
        yield test_client
    dashboard.streams.close()
