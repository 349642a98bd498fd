"""Gateway metrics before the bot is ready: what is not known yet is absent, not zero.

(The figures of a connected, sharded bot are scraped in ``tests/cog/test_cog_gateway.py``.)
"""

from __future__ import annotations

import discord
from discord.ext import commands
from metrics_support import sample_names, samples, scrape, value

from monitoring_cog import MonitoringSystem
from monitoring_cog.metrics import MetricsServer
from monitoring_cog.vitals.gateway import GatewayMonitor


async def test_a_bot_not_ready_exports_no_shard_state_and_no_gateway_component(
    system: MonitoringSystem,
) -> None:
    bot = commands.AutoShardedBot(
        command_prefix="!", intents=discord.Intents.default(), shard_count=2
    )
    await bot._async_setup_hook()
    monitor = GatewayMonitor(bot, clock=system.db.clock)
    monitor.install()
    monitor.attach(system.health_check)
    bot.dispatch("socket_event_type", "HELLO_WORLD")
    bot.dispatch("guild_join", object())  # Real dispatch; the monitor only counts it.
    report = await system.health_check.get_full_health_report()
    assert report["gateway"]["status"] == "unknown"

    async with MetricsServer(system, port=0, gateway=monitor) as server:
        body = await scrape(server.url)
    found = samples(body)

    names = sample_names(body)
    assert "monitoring_cog_shard_up" not in names  # Neither shard's connection is known yet.
    assert "monitoring_cog_shard_latency_seconds" not in names
    assert "monitoring_cog_members" not in names  # Not counted yet.
    assert value(found, "monitoring_cog_shard_disconnects_total", shard="0") == 0
    assert value(found, "monitoring_cog_shard_disconnects_total", shard="1") == 0
    assert value(found, "monitoring_cog_gateway_ready") == 0
    assert value(found, "monitoring_cog_guilds") == 0
    assert value(found, "monitoring_cog_guild_joins_total") == 1
    assert value(found, "monitoring_cog_gateway_events_total", type="HELLO_WORLD") == 1
    component = "monitoring_cog_health_component_status"
    components = {dict(labels)["component"] for name, labels in found if name == component}
    assert components == {"memory", "cpu", "database", "error_rate", "recording"}
    monitor.uninstall()
    await bot.close()
