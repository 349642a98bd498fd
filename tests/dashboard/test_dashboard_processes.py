"""Several bot processes sharing one PostgreSQL database, as the dashboard lists them.

Two OS processes (``health_writer_child.py``) each check their health every half second and store
the report as their row of ``health_reports``. A dashboard run without a bot (stored mode) on the
same database lists both, up; once one stops (silent, as if it had crashed) it is marked down
after two of its check intervals, while the other stays up.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from dashboard_support import TOKEN, get_json

from monitoring_cog import Database, MonitoringConfig
from monitoring_cog.config import DashboardConfig
from monitoring_cog.web.dashboard.server import DashboardServer

CHILD = Path(__file__).with_name("health_writer_child.py")
INTERVAL = 0.5
TIMEOUT = 30.0


@pytest.fixture
def processes(fresh_database: str) -> Iterator[dict[str, subprocess.Popen[str]]]:
    children = {
        name: subprocess.Popen(
            [sys.executable, str(CHILD), fresh_database, name, str(INTERVAL)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("bot-0", "bot-1")
    }
    try:
        for child in children.values():
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "stored", "a process could not store"
        yield children
    finally:
        for child in children.values():
            if child.poll() is None:
                child.kill()
            child.wait(timeout=10)


async def until(client: TestClient, check: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        body = await get_json(client, "/api/health")
        processes = {p["process"]: p for p in body["processes"]}
        if check(processes):
            return processes
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: never happened; last seen {processes}")
        await asyncio.sleep(0.1)


async def test_a_silent_process_is_marked_down(
    fresh_database: str, processes: dict[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    db = Database(fresh_database, config=MonitoringConfig())
    server = DashboardServer(db, DashboardConfig(port=0), token=TOKEN, static_dir=tmp_path)
    try:
        async with TestClient(TestServer(server.app)) as client:
            up = await until(
                client,
                lambda p: set(p) == {"bot-0", "bot-1"} and not any(x["down"] for x in p.values()),
                "both processes up",
            )
            assert up["bot-1"]["shard_ids"] == [1]
            assert up["bot-0"]["status"] in ("healthy", "degraded")

            silenced = processes["bot-1"]
            assert silenced.stdin is not None
            silenced.stdin.write("stop\n")
            silenced.stdin.flush()
            silenced.wait(timeout=10)
            stopped_at = time.monotonic()

            after = await until(client, lambda p: p["bot-1"]["down"], "bot-1 marked down")
            # Not before two check intervals of silence; the other process still up.
            assert time.monotonic() - stopped_at >= INTERVAL
            assert after["bot-0"]["down"] is False
            body = await get_json(client, "/api/health")
            assert body["source"] == "stored"
    finally:
        await db.close()
