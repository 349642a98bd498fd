"""``/api/health`` and its event stream: the live report of the bot's own health check, the
per-minute commands, the timeline, the one-second snapshot shared by every tab, the bound on
open streams; and the stored reports a dashboard without the bot shows."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from dashboard_support import TOKEN, bearer, get_json

from monitoring_cog import ManualClock, MonitoringSystem
from monitoring_cog.collectors.health_reports import FORGET_AFTER, HealthReportWriter
from monitoring_cog.config import DashboardConfig
from monitoring_cog.storage.dashboard import HealthReportRow
from monitoring_cog.web.dashboard.health_view import process_entry
from monitoring_cog.web.dashboard.server import DashboardServer

GUILD = "111111111111111111"


async def log(system: MonitoringSystem, count: int, *, failed: int = 0) -> None:
    for i in range(count):
        await system.cmd_logger.log_command(
            GUILD, "Guild", str(500 + i), "user", "play", duration=0.1, success=i >= failed
        )
    await system.db.flush()


async def test_before_any_check_the_status_is_unknown(client: TestClient) -> None:
    body = await get_json(client, "/api/health")
    assert body["source"] == "live"
    assert body["status"] == "unknown"
    assert body["checked_at"] is None
    assert body["components"] == {}
    assert body["timeline"] == []
    assert len(body["commands_per_minute"]) == 60


async def test_live_report_components_and_minutes(
    client: TestClient, system: MonitoringSystem, clock: ManualClock
) -> None:
    clock.advance(30)  # Mid-minute: the commands (started 0.1 s ago) fall in this minute.
    await log(system, 4, failed=1)
    report = await system.health_check.get_full_health_report()
    body = await get_json(client, "/api/health")
    assert body["status"] == report["overall_status"]
    assert body["checked_at"] == clock.time()
    for name in ("memory", "cpu", "database", "error_rate", "recording"):
        assert body["components"][name]["status"] == report[name]["status"], name
    assert body["components"]["memory"]["rss_mb"] == report["memory"]["rss_mb"]
    assert body["timeline"] == [{"at": clock.time(), "status": report["overall_status"]}]
    minutes = body["commands_per_minute"]
    assert len(minutes) == 60
    assert [m["minute"] for m in minutes] == sorted(m["minute"] for m in minutes)
    assert minutes[-1]["minute"] == (clock.time() // 60) * 60
    assert minutes[-1]["commands"] == 4
    assert minutes[-1]["failed"] == 1
    assert sum(m["commands"] for m in minutes[:-1]) == 0


async def test_snapshot_is_built_once_a_second_for_every_tab(
    client: TestClient, dashboard: DashboardServer, clock: ManualClock
) -> None:
    bodies = await asyncio.gather(*(get_json(client, "/api/health") for _ in range(5)))
    assert dashboard.snapshot.builds == 1
    assert all(body == bodies[0] for body in bodies)
    clock.advance(1.01)
    await get_json(client, "/api/health")
    assert dashboard.snapshot.builds == 2


async def test_stream_sends_health_events_and_is_bounded(
    client: TestClient, system: MonitoringSystem
) -> None:
    await system.health_check.get_full_health_report()
    streams = [await client.get("/api/health/stream", headers=bearer()) for _ in range(2)]
    for stream in streams:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry:")
        event = (await stream.content.readuntil(b"\n\n")).decode()
        kind, data = event.strip().split("\n")
        assert kind == "event: health"
        assert json.loads(data.removeprefix("data: "))["status"] in ("healthy", "degraded")
    # max_streams = 2: a third is refused; the page polls instead.
    third = await client.get("/api/health/stream", headers=bearer())
    assert third.status == 503
    streams[0].close()
    for _ in range(50):
        if (await client.get("/api/health/stream", headers=bearer())).status == 200:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("a stream closed by its tab was never freed")


async def test_stream_without_token_is_401(client: TestClient) -> None:
    assert (await client.get("/api/health/stream")).status == 401


async def test_stored_mode_shows_the_last_report_written(
    system: MonitoringSystem, clock: ManualClock, static_dir: Path
) -> None:
    writer = HealthReportWriter(
        system.db, check_interval=60.0, process_name="bot-a", shard_ids=lambda: (0, 1)
    )
    first = await system.health_check.get_full_health_report()
    writer.submit(first)
    clock.advance(60)
    second = await system.health_check.get_full_health_report()
    writer.submit(second)
    await writer.close()
    stored = DashboardServer(system.db, DashboardConfig(port=0), token=TOKEN, static_dir=static_dir)
    async with TestClient(TestServer(stored.app)) as client:
        body = await get_json(client, "/api/health")
    assert body["source"] == "stored"
    assert body["status"] == second["overall_status"]
    assert body["checked_at"] == clock.time()
    assert body["components"]["database"]["status"] == second["database"]["status"]
    assert [point["at"] for point in body["timeline"]] == [clock.time() - 60, clock.time()]
    [process] = body["processes"]
    assert process["process"] == "bot-a"
    assert process["shard_ids"] == [0, 1]
    assert process["down"] is False


def test_a_process_is_down_after_two_silent_check_intervals() -> None:
    row = HealthReportRow(
        process="p", host="h", pid=1, shard_ids=(), status="healthy", checked_at=1000.0,
        check_interval=60.0, report={},
    )  # fmt: skip
    assert process_entry(row, 1000.0 + 120.0)["down"] is False
    assert process_entry(row, 1000.0 + 120.5)["down"] is True


async def test_a_stored_report_row_is_replaced_not_added(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    writer = HealthReportWriter(system.db, check_interval=60.0, process_name="bot-a")
    for _ in range(3):
        writer.submit(await system.health_check.get_full_health_report())
        await writer.close()
        clock.advance(60)
    storage = await system.db.storage()
    [row] = await storage.health_reports()
    assert len(row.timeline) == 3
    # A process silent for the forgetting time goes when another writes.
    clock.advance(FORGET_AFTER + 1)
    other = HealthReportWriter(system.db, check_interval=60.0, process_name="bot-b")
    other.submit(await system.health_check.get_full_health_report())
    await other.close()
    assert [r.process for r in await storage.health_reports()] == ["bot-b"]


async def test_stop_ends_open_streams_and_closes_the_port(
    system: MonitoringSystem, static_dir: Path
) -> None:
    server = DashboardServer(
        system.db, DashboardConfig(port=0), health=system.health_check, token=TOKEN,
        static_dir=static_dir,
    )  # fmt: skip
    await server.start()
    url = server.url
    async with aiohttp.ClientSession() as session:
        stream = await session.get(f"{url}/api/health/stream", headers=bearer())
        assert stream.status == 200
        await stream.content.readuntil(b"event: health")
        async with asyncio.timeout(5):  # The stream must not hold the stop.
            await server.stop()
        assert server.streams.open == 0
        rest = await stream.content.read()  # The server ended it.
        assert b"retry:" not in rest
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{url}/api/health", headers=bearer())
