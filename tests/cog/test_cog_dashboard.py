"""The cog's dashboard: started with the extension by ``[dashboard] enabled``, over real HTTP.

A token is required (a missing one fails the load naming ``dashboard.token``); the overview shows
the cog's own health loop live and every background check is stored as this process's row of
``health_reports``; commands run through discord.py appear in the audit search; sharing the
metrics' host and port serves both from one server (``/metrics`` open, the dashboard not);
unload and reload close the port and open it again.
"""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from harness import Harness

TOKEN = "cog-dashboard-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, object]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def test_a_missing_token_fails_the_load_naming_the_key(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONITORING_DASHBOARD_TOKEN", raising=False)
    bot = await harness.new_bot()
    with pytest.raises(commands.ExtensionFailed, match=r"dashboard\.token"):
        await harness.load_extension(bot, "[dashboard]\nenabled = true\nport = 0\n")
    assert bot.get_cog("Monitoring") is None


async def test_dashboard_serves_the_live_health_and_the_audit_log(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORING_DASHBOARD_TOKEN", TOKEN)
    bot = await harness.new_bot()
    cog = await harness.load_extension(bot, "[dashboard]\nenabled = true\nport = 0\n")
    harness.configure(bot)
    server = cog.dashboard
    assert server is not None and server.running
    assert (await get(f"{server.url}/api/health"))[0] == 401

    await cog.health_loop()
    status, body = await get(f"{server.url}/api/health", AUTH)
    assert status == 200
    assert isinstance(body, dict)
    assert (body["source"], body["status"]) == ("live", "healthy")
    assert body["processes"][0]["process"] == cog.health_writer.process
    assert body["processes"][0]["down"] is False

    # The check was stored as this process's row, in the background.
    await cog.health_writer.close()
    storage = await cog.db.storage()
    [row] = await storage.health_reports()
    assert (row.process, row.status) == (cog.health_writer.process, "healthy")
    assert row.report["overall_status"] == "healthy"

    await dpytest.message("!echo dashboard")
    await cog.db.flush()
    status, audit = await get(f"{server.url}/api/audit?command=echo", AUTH)
    assert status == 200
    assert isinstance(audit, dict)
    assert [r["command"] for r in audit["rows"]] == ["echo"]
    assert audit["rows"][0]["guild_id"] == str(dpytest.get_config().guilds[0].id)


async def test_shared_with_the_metrics_one_server_serves_both(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORING_DASHBOARD_TOKEN", TOKEN)
    port = free_port()
    bot = await harness.new_bot()
    cog = await harness.load_extension(
        bot,
        f"[metrics]\nenabled = true\nport = {port}\n[dashboard]\nenabled = true\nport = {port}\n",
    )
    harness.configure(bot)
    assert cog.metrics_server is None  # Served by the dashboard's server.
    assert cog.dashboard is not None and cog.dashboard.port == port
    url = cog.dashboard.url
    metrics_status, metrics = await get(f"{url}/metrics")
    assert metrics_status == 200 and "monitoring_cog_" in str(metrics)
    assert (await get(f"{url}/healthz"))[0] == 200
    assert (await get(f"{url}/api/health"))[0] == 401
    assert (await get(f"{url}/api/health", AUTH))[0] == 200


async def test_unload_closes_and_reload_reopens(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORING_DASHBOARD_TOKEN", TOKEN)
    port = free_port()
    bot = await harness.new_bot()
    cog = await harness.load_extension(bot, f"[dashboard]\nenabled = true\nport = {port}\n")
    harness.configure(bot)
    url = f"http://127.0.0.1:{port}"
    assert (await get(f"{url}/api/health", AUTH))[0] == 200

    await bot.reload_extension("monitoring_cog")
    assert cog.dashboard is None
    reloaded = bot.get_cog("Monitoring")
    assert reloaded is not None and reloaded is not cog
    assert reloaded.dashboard is not None and reloaded.dashboard.port == port  # type: ignore[attr-defined]
    assert (await get(f"{url}/api/health", AUTH))[0] == 200

    await bot.unload_extension("monitoring_cog")
    await asyncio.sleep(0)
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(f"{url}/api/health", AUTH)
