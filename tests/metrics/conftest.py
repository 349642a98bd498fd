"""Fixtures shared by the tests of what the metrics endpoint serves and who reads it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord.ext import commands
from discord.http import HTTPClient, Route
from fake_discord import FakeDiscord, QuickIdentify, connect, guild_id_for
from fakes import FakeProcess
from loopback_servers import DiscordApi, WebhookEndpoint, rate_limited
from metrics_support import sample_names, scrape

from monitoring_cog import Database, ManualClock, MonitoringConfig, create_monitoring_system
from monitoring_cog.metrics import MetricsServer
from monitoring_cog.recording.records import ComponentRecord
from monitoring_cog.vitals import StallMonitor
from monitoring_cog.vitals.gateway import GatewayMonitor
from monitoring_cog.vitals.rate_limits import RateLimitMonitor
from monitoring_cog.vitals.webhook import WebhookAlerts

RETRY_AFTER = 0.05
"""Seconds discord.py is told to wait after each 429: tiny, so the fixture stays quick."""


class _ShardedBot(QuickIdentify, commands.AutoShardedBot):
    pass


@contextlib.asynccontextmanager
async def _sharded_bot(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[commands.Bot]:
    """An auto-sharded bot (two shards) for a local Discord gateway; closed on the way out."""
    fake = FakeDiscord({guild_id_for(0, 2): 40, guild_id_for(1, 2): 2})
    await fake.start()
    fake.install(monkeypatch)
    bot = _ShardedBot(
        command_prefix="!",
        intents=discord.Intents.default(),
        shard_count=2,
        guild_ready_timeout=0.05,
    )
    await bot._async_setup_hook()
    try:
        yield bot
    finally:
        await bot.close()
        await fake.stop()


async def _rate_limited(monitor: RateLimitMonitor, monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py's real HTTP client gets a route 429 and a global one from a local API."""
    api = DiscordApi()
    await api.start()
    monkeypatch.setattr(Route, "BASE", api.base)
    client = HTTPClient(asyncio.get_running_loop())
    monitor.attach()
    try:
        await client.static_login("not-a-real-token")
        api.plan("/channels/1/messages", rate_limited(RETRY_AFTER))
        api.plan("/channels/2/messages", rate_limited(RETRY_AFTER, is_global=True))
        for channel in (1, 2):
            route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel)
            await client.request(route, json={"content": "hello"})
    finally:
        monitor.detach()
        await client.close()
        await api.stop()


@pytest.fixture
async def exported(
    tmp_path: Path, clock: ManualClock, process: FakeProcess, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[set[str]]:
    """The sample names a real endpoint serves once commands, component uses, a custom event and
    a health check have run, with
    the gateway (a connected two-shard bot), rate-limit (a route and a global 429) and webhook
    families a bot running the cog exports."""
    db = Database(tmp_path / "bot.db", config=MonitoringConfig(), clock=clock)
    system = create_monitoring_system(db, process=process, make_current=False)
    webhook_endpoint = WebhookEndpoint()
    await webhook_endpoint.start()
    try:
        async with (
            _sharded_bot(monkeypatch) as bot,
            StallMonitor(db) as stalls,
        ):
            gateway = GatewayMonitor(bot, clock=clock)
            gateway.install()
            gateway.attach(system.health_check)
            await connect(bot)  # Watched from the start: READY and GUILD_CREATE are counted.
            await gateway.refresh(record=False)  # The member count the cog's loop takes.
            rate_limits = RateLimitMonitor(clock=clock)
            await _rate_limited(rate_limits, monkeypatch)
            system.health_check.add_section("event_loop", stalls)
            system.health_check.add_section("rate_limits", rate_limits)
            webhook = WebhookAlerts(webhook_endpoint.url)
            await webhook.start()
            try:
                async with MetricsServer(
                    system, port=0, gateway=gateway, rate_limits=rate_limits, webhook=webhook
                ) as server:
                    for success in (True, False):
                        await system.cmd_logger.log_command(
                            "1", "G", "2", "u", "play", duration=0.2, success=success
                        )
                        db.submit(
                            ComponentRecord("1", "2", "ticket:open", "button", 0.1, success, 0.0)
                        )
                    await system.stats_collector.record_event("1", "ticket_opened", user_id=2)
                    await db.flush()
                    await system.health_check.get_full_health_report()
                    yield sample_names(await scrape(server.url))
            finally:
                await webhook.close()
                gateway.uninstall()
    finally:
        await webhook_endpoint.stop()
        await db.close()
