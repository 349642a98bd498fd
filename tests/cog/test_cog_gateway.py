"""The cog's gateway section, growth and metrics, through discord.py's own dispatch.

A plain ``commands.Bot`` under dpytest (no websocket: its connection is known only from the
events discord.py dispatches), and a ``commands.AutoShardedBot`` connected to a local Discord
gateway (``tests/fake_discord.py``) with the metrics endpoint on, scraped over real HTTP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from fake_discord import FakeDiscord, QuickIdentify, connect, guild_id_for, wait_until
from harness import Harness, Monitored, make_config
from metrics_support import samples, scrape, value

from monitoring_cog import ManualClock, StatisticsCollector
from monitoring_cog.cog.embeds import health_embed
from monitoring_cog.config import GatewayConfig, MetricsConfig
from monitoring_cog.vitals.events import VitalEvent


async def test_a_bot_without_a_visible_connection_has_an_unknown_gateway(m: Monitored) -> None:
    await m.cog.population_loop()  # What the loop does once the bot is ready.
    report = await m.cog.system.health_check.get_full_health_report()

    gateway = report["gateway"]
    assert gateway["status"] == "unknown"  # dpytest has no websocket, and no event came yet.
    assert gateway["ready"] is True
    assert [s["shard_id"] for s in gateway["shards"]] == [0]
    assert gateway["shards"][0]["connected"] is None
    assert gateway["guilds"] == len(m.bot.guilds) == 1
    # Counted from discord.py's figures for them.
    assert gateway["members"] == sum(guild.member_count or 0 for guild in m.bot.guilds) > 0
    assert report["overall_status"] == "healthy"
    fields = {field.name: field.value for field in health_embed(report).fields}
    assert fields["⚪ Gateway"].splitlines() == [
        "connection not seen yet",
        f"1 guild · {gateway['members']} members",
    ]


async def test_a_disconnect_past_the_threshold_makes_the_bot_unhealthy_and_is_emitted(
    m: Monitored, clock: ManualClock
) -> None:
    emitted: list[VitalEvent] = []
    m.cog.vital_events.subscribe(emitted.append)
    m.bot.dispatch("connect")
    m.bot.dispatch("disconnect")
    health = m.cog.system.health_check

    clock.advance(m.cog.config.gateway.shard_down_seconds)
    report = await health.get_full_health_report()

    assert report["gateway"]["status"] == "critical"
    assert report["overall_status"] == "unhealthy"
    # Once per outage. (The health loop may emit status_change beside it: another monitor's.)
    shard_downs = [event for event in emitted if event.kind == "shard_down"]
    assert len(shard_downs) == 1
    assert m.cog.vital_events.emitted["shard_down"] == 1
    fields = {field.name: field.value for field in health_embed(report).fields}
    assert fields["🔴 Gateway"].splitlines()[0] == "down · shard 0 down 60 s"

    m.bot.dispatch("resumed")
    report = await health.get_full_health_report()
    assert report["gateway"]["status"] == "healthy"
    assert report["gateway"]["reconnects_1h"] == 1
    assert report["overall_status"] == "healthy"
    assert [event for event in emitted if event.kind == "shard_down"] == shard_downs


async def test_guilds_joined_and_left_through_discord_py_are_the_days_growth(
    m: Monitored,
) -> None:
    state = m.bot._connection
    joined = dpytest.backend.make_guild("Newcomers")  # GUILD_CREATE, parsed by discord.py.
    state.parse_guild_delete({"id": str(m.guild.id)})  # GUILD_DELETE: the bot was removed.
    assert m.bot.get_guild(m.guild.id) is None
    # The loop's iterations: the first one after ready only counts, the next ones record.
    await m.cog.population_loop()
    await m.cog.population_loop()

    growth = await StatisticsCollector(m.db).get_growth(2)

    assert growth[-1] == {
        "date": "2026-03-15",
        "joins": 1,
        "leaves": 1,
        "net": 0,
        "guilds": 1,
        "members": joined.member_count,
    }
    report = await m.cog.system.health_check.get_full_health_report()
    assert report["gateway"]["members"] == joined.member_count


async def test_unloading_takes_the_section_and_the_watches_away(m: Monitored) -> None:
    health = m.cog.system.health_check
    population = m.cog.gateway.population
    await m.bot.remove_cog("Monitoring")

    dpytest.backend.make_guild("After unload")
    m.bot.dispatch("socket_event_type", "MESSAGE_CREATE")

    assert "gateway" not in await health.get_full_health_report()
    assert population.joins == 0
    assert m.cog.gateway.event_types.counts == {}


# -- an auto-sharded bot on a local gateway, with the metrics endpoint ---------------------------


class ShardedBot(QuickIdentify, commands.AutoShardedBot):
    pass


@pytest.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord({guild_id_for(0, 2): 50, guild_id_for(1, 2): 70, guild_id_for(1, 2): 9})
    await fake.start()
    fake.install(monkeypatch)
    yield fake
    await fake.stop()


async def test_an_auto_sharded_bot_with_the_cog_reports_and_exports_its_shards(
    harness: Harness, gateway: FakeDiscord, clock: ManualClock
) -> None:
    config = dataclasses.replace(
        make_config(),
        metrics=MetricsConfig(enabled=True, port=0),
        gateway=GatewayConfig(shard_down_seconds=30),
    )
    bot = ShardedBot(
        command_prefix="!",
        intents=discord.Intents.default(),
        shard_count=2,
        guild_ready_timeout=0.05,
    )
    await bot._async_setup_hook()
    harness.bots.append(bot)
    cog = await harness.load(bot, config)  # As a setup_hook would: before connecting.
    task = await connect(bot)
    await wait_until(lambda: cog.gateway.population.figures is not None)  # The loop's first run.

    report = await cog.system.health_check.get_full_health_report()
    gateway_section = report["gateway"]
    assert gateway_section["status"] == "healthy"
    assert [(s["shard_id"], s["connected"]) for s in gateway_section["shards"]] == [
        (0, True),
        (1, True),
    ]
    assert (gateway_section["guilds"], gateway_section["members"]) == (3, 129)
    assert report["overall_status"] == "healthy"

    gateway.hold(1)
    await gateway.drop(1)
    await wait_until(lambda: cog.gateway.connected(1) is False)
    clock.advance(30)
    report = await cog.system.health_check.get_full_health_report()
    assert report["gateway"]["status"] == "critical"
    assert cog.vital_events.emitted == {"shard_down": 1}

    server = cog.metrics_server
    assert server is not None
    found = samples(await scrape(server.url))
    assert value(found, "monitoring_cog_shard_up", shard="0") == 1
    assert value(found, "monitoring_cog_shard_up", shard="1") == 0
    assert value(found, "monitoring_cog_shard_latency_seconds", shard="0") >= 0
    assert value(found, "monitoring_cog_shard_disconnects_total", shard="1") == 1
    assert value(found, "monitoring_cog_shard_disconnects_total", shard="0") == 0
    assert value(found, "monitoring_cog_shard_reconnects_total", shard="1") == 0
    assert value(found, "monitoring_cog_gateway_ready") == 1
    assert value(found, "monitoring_cog_guilds") == 3
    assert value(found, "monitoring_cog_members") == 129
    assert value(found, "monitoring_cog_cached_members") == 0
    assert value(found, "monitoring_cog_voice_clients") == 0
    assert value(found, "monitoring_cog_guild_joins_total") == 0
    assert value(found, "monitoring_cog_gateway_events_total", type="READY") == 2
    assert value(found, "monitoring_cog_gateway_events_total", type="GUILD_CREATE") == 3
    component = "monitoring_cog_health_component_status"
    assert value(found, component, component="gateway") == 2
    assert value(found, "monitoring_cog_health_status") == 2

    await gateway.release(1)
    await wait_until(lambda: cog.gateway.connected(1) is True)
    new = guild_id_for(0, 2)
    await gateway.join(new, "Newcomers", 5)
    await wait_until(lambda: bot.get_guild(new) is not None)
    found = samples(await scrape(server.url))
    assert value(found, "monitoring_cog_shard_up", shard="1") == 1
    assert value(found, "monitoring_cog_shard_reconnects_total", shard="1") == 1
    assert value(found, "monitoring_cog_shard_resumes_total", shard="1") == 1
    assert value(found, "monitoring_cog_guild_joins_total") == 1
    assert value(found, "monitoring_cog_guilds") == 4
    assert value(found, "monitoring_cog_gateway_events_total", type="RESUMED") == 1

    await bot.close()  # Unloads the cog first, as a bot stopping does.
    await task
    assert (await StatisticsCollector(harness.databases[0]).get_growth(1))[0]["joins"] == 1


@pytest.fixture
async def m(monitored: Monitored) -> Monitored:
    return monitored
