"""The gateway monitor on real discord.py clients connected to a local Discord gateway.

``commands.AutoShardedBot`` and ``commands.Bot`` log in and connect to
:class:`fake_discord.FakeDiscord` over loopback: READY, GUILD_CREATE, heartbeats, a connection
closed as Discord closes one, RESUMED, guilds joined and left are all discord.py's own handling
of gateway payloads, and the monitor sees them as discord.py dispatches them. Durations are
judged on an injected :class:`~monitoring_cog.ManualClock`, so thresholds are crossed by
advancing it, never by sleeping.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest
from discord.ext import commands
from fake_discord import FakeDiscord, QuickIdentify, connect, guild_id_for, wait_until

from monitoring_cog import Database, ManualClock, MonitoringSystem, StatisticsCollector
from monitoring_cog.config import GatewayConfig
from monitoring_cog.vitals.event_types import MAX_EVENT_TYPES, OTHER_EVENT_TYPE
from monitoring_cog.vitals.events import VitalEvent, VitalEvents
from monitoring_cog.vitals.gateway import GatewayMonitor

SHARD_0 = [guild_id_for(0, 2), guild_id_for(0, 2)]
SHARD_1 = [guild_id_for(1, 2)]
MEMBERS = {SHARD_0[0]: 120, SHARD_0[1]: 30, SHARD_1[0]: 7}


class ShardedBot(QuickIdentify, commands.AutoShardedBot):
    pass


class PlainBot(QuickIdentify, commands.Bot):
    pass


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    discord_ = FakeDiscord(dict(MEMBERS))
    await discord_.start()
    discord_.install(monkeypatch)
    yield discord_
    await discord_.stop()


Factory = Callable[..., Any]


@pytest.fixture
async def make_bot() -> AsyncIterator[Factory]:
    """Builds bots (``guild_ready_timeout`` short: READY's guilds arrive at once here); closes
    them at the end."""
    bots: list[discord.Client] = []

    async def make(cls: type[commands.Bot] = ShardedBot, **options: Any) -> commands.Bot:
        if cls is ShardedBot:
            options.setdefault("shard_count", 2)
        bot = cls(
            command_prefix="!",
            intents=discord.Intents.default(),
            guild_ready_timeout=0.05,
            **options,
        )
        await bot._async_setup_hook()
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        with contextlib.suppress(Exception):
            await bot.close()


def shard(section: dict[str, Any], shard_id: int) -> dict[str, Any]:
    [entry] = [s for s in section["shards"] if s["shard_id"] == shard_id]
    return entry


async def test_an_auto_sharded_bot_shows_each_shard_and_a_long_outage_is_critical_once(
    fake: FakeDiscord, make_bot: Factory, clock: ManualClock
) -> None:
    bot = await make_bot()
    events = VitalEvents()
    emitted: list[VitalEvent] = []
    events.subscribe(emitted.append)
    monitor = GatewayMonitor(bot, GatewayConfig(shard_down_seconds=60), clock=clock, events=events)
    monitor.install()

    before = monitor.health_section()
    assert before["status"] == "unknown"  # Not ready: shards still connecting.
    assert before["ready"] is False
    assert [(s["shard_id"], s["connected"]) for s in before["shards"]] == [(0, None), (1, None)]

    await connect(bot)
    section = monitor.health_section()
    assert section["status"] == "healthy"
    assert section["ready"] is True
    assert section["shard_count"] == 2
    assert [s["shard_id"] for s in section["shards"]] == [0, 1]
    for entry in section["shards"]:
        assert entry["connected"] is True
        assert entry["latency_ms"] is not None and entry["latency_ms"] >= 0  # A real heartbeat.
        assert entry["disconnects_1h"] == entry["reconnects_1h"] == 0
        assert entry["down_seconds"] is None and entry["seconds_since_disconnect"] is None
    assert section["guilds"] == 3
    assert section["voice_clients"] == 0
    assert section["members"] is None  # Not counted yet.
    await monitor.refresh()
    counted = monitor.health_section()
    assert counted["members"] == sum(MEMBERS.values())
    assert counted["cached_members"] == 0  # No members intent, no member lists sent.

    # Discord closes shard 1's connection; its RESUME is left unanswered for now.
    fake.hold(1)
    await fake.drop(1)
    await wait_until(lambda: monitor.connected(1) is False)
    down = monitor.health_section()
    assert shard(down, 1)["connected"] is False
    assert shard(down, 1)["down_seconds"] == 0.0
    assert shard(down, 1)["disconnects_1h"] == 1
    assert shard(down, 0)["connected"] is True
    assert down["status"] == "healthy"  # A reconnect in progress, not yet an outage.

    clock.advance(59.5)
    assert monitor.health_section()["status"] == "healthy"
    assert emitted == []
    clock.advance(0.5)
    outage = monitor.health_section()
    assert outage["status"] == "critical"
    assert shard(outage, 1)["down_seconds"] == 60.0
    assert [event.kind for event in emitted] == ["shard_down"]
    assert emitted[0].fields["shard"] == "1"
    assert emitted[0].severity == "critical"
    assert emitted[0].at == clock.time()
    monitor.health_section()
    monitor.poll()
    assert len(emitted) == 1  # Once per outage.

    await fake.release(1)
    await wait_until(lambda: monitor.connected(1) is True)
    back = monitor.health_section()
    assert back["status"] == "healthy"
    assert shard(back, 1)["down_seconds"] is None
    assert shard(back, 1)["seconds_since_disconnect"] == 60.0
    assert (shard(back, 1)["reconnects_1h"], shard(back, 1)["resumes_1h"]) == (1, 1)
    assert (back["disconnects_1h"], back["reconnects_1h"]) == (1, 1)
    assert fake.identifies == 2 and fake.resumes == 1  # Resumed, not identified again.

    # A second long outage is reported again.
    fake.hold(1)
    await fake.drop(1)
    await wait_until(lambda: monitor.connected(1) is False)
    clock.advance(120)
    assert monitor.health_section()["status"] == "critical"
    assert len(emitted) == 2
    await fake.release(1)
    await wait_until(lambda: monitor.connected(1) is True)

    # An hour later the hour's counts are empty; the totals (for the metrics) stay.
    clock.advance(3600.5)
    later = monitor.health_section()
    assert (later["disconnects_1h"], later["reconnects_1h"]) == (0, 0)
    figures = {f.shard_id: f for f in monitor.shard_figures()}
    assert (figures[1].disconnects, figures[1].reconnects, figures[1].resumes) == (2, 2, 2)
    assert (figures[0].disconnects, figures[0].reconnects) == (0, 0)
    assert figures[0].connected is True and figures[0].latency is not None
    monitor.uninstall()


async def test_a_plain_bot_is_one_shard_and_its_resume_is_counted(
    fake: FakeDiscord, make_bot: Factory, clock: ManualClock
) -> None:
    fake.guilds = {guild_id_for(0, 1): 5}
    bot = await make_bot(PlainBot)
    monitor = GatewayMonitor(bot, clock=clock)
    monitor.install()
    await connect(bot)
    section = monitor.health_section()
    assert section["status"] == "healthy"
    assert section["shard_count"] == 1
    [entry] = section["shards"]
    assert entry["shard_id"] == 0 and entry["connected"] is True
    assert entry["latency_ms"] is not None

    await fake.drop(0)  # discord.py resumes at once.
    await wait_until(lambda: fake.resumes == 1 and monitor.connected(0) is True)
    [entry] = monitor.health_section()["shards"]
    assert (entry["disconnects_1h"], entry["reconnects_1h"], entry["resumes_1h"]) == (1, 1, 1)
    assert entry["seconds_since_disconnect"] == 0.0
    monitor.uninstall()


async def test_a_plain_bot_given_a_shard_id_reports_that_shard(
    make_bot: Factory, clock: ManualClock
) -> None:
    # One process of a cluster: shard 3 of 8. Its events are real dispatches through discord.py.
    bot = await make_bot(PlainBot, shard_id=3, shard_count=8)
    monitor = GatewayMonitor(bot, clock=clock)
    monitor.install()
    bot.dispatch("connect")
    bot._ready.set()  # What READY does; no gateway here.
    bot.dispatch("disconnect")
    clock.advance(90)
    section = monitor.health_section()
    assert section["shard_count"] == 8
    assert [(s["shard_id"], s["connected"], s["down_seconds"]) for s in section["shards"]] == [
        (3, False, 90.0)
    ]
    assert section["status"] == "critical"
    bot.dispatch("disconnect")  # A failed reconnect attempt: the same outage.
    bot.dispatch("resumed")
    [entry] = monitor.health_section()["shards"]
    assert (entry["disconnects_1h"], entry["reconnects_1h"], entry["connected"]) == (1, 1, True)
    # A resume whose disconnect went unseen is a reconnection all the same.
    bot.dispatch("resumed")
    [entry] = monitor.health_section()["shards"]
    assert (entry["disconnects_1h"], entry["reconnects_1h"], entry["resumes_1h"]) == (1, 2, 2)
    bot.dispatch("connect")  # A new session while connected: nothing was lost to count.
    [entry] = monitor.health_section()["shards"]
    assert entry["reconnects_1h"] == 2
    monitor.uninstall()


@pytest.mark.parametrize(
    ("warning_ms", "critical_ms", "expected"),
    [(100.0, 60_000.0, "warning"), (50.0, 100.0, "critical")],
)
async def test_heartbeat_latency_past_a_threshold_degrades_the_gateway(
    fake: FakeDiscord,
    make_bot: Factory,
    clock: ManualClock,
    warning_ms: float,
    critical_ms: float,
    expected: str,
) -> None:
    fake.ack_delay = 0.2  # Discord acknowledges each heartbeat 200 ms late.
    bot = await make_bot()
    config = GatewayConfig(latency_warning_ms=warning_ms, latency_critical_ms=critical_ms)
    monitor = GatewayMonitor(bot, config, clock=clock)
    monitor.install()
    await connect(bot)
    await wait_until(lambda: all(latency is not None for latency in monitor.latencies().values()))

    section = monitor.health_section()

    assert all(entry["latency_ms"] >= 200 for entry in section["shards"])
    assert section["status"] == expected
    monitor.uninstall()


async def test_before_the_bot_is_ready_nothing_is_judged_nor_alerted(
    make_bot: Factory, clock: ManualClock, system: MonitoringSystem
) -> None:
    bot = await make_bot()
    events = VitalEvents()
    monitor = GatewayMonitor(bot, clock=clock, events=events)
    monitor.install()
    monitor.attach(system.health_check)

    bot.dispatch("shard_disconnect", 0)  # A shard failing to connect at start-up.
    clock.advance(600)
    report = await system.health_check.get_full_health_report()

    assert report["gateway"]["status"] == "unknown"
    assert shard(report["gateway"], 0)["down_seconds"] == 600.0
    assert report["overall_status"] == "healthy"  # "unknown" does not count.
    assert events.emitted == {}
    monitor.detach(system.health_check)
    assert "gateway" not in await system.health_check.get_full_health_report()
    monitor.uninstall()


async def test_guilds_joined_and_left_and_the_days_counts_are_recorded(
    fake: FakeDiscord, make_bot: Factory, db: Database
) -> None:
    bot = await make_bot()
    monitor = GatewayMonitor(bot, db=db)
    monitor.install()
    await connect(bot)
    # The guilds READY brought are not joins (discord.py dispatches guild_available for them).
    assert (monitor.population.joins, monitor.population.leaves) == (0, 0)

    new = guild_id_for(1, 2)
    await fake.join(new, "Newcomers", 40)
    await wait_until(lambda: bot.get_guild(new) is not None)
    await fake.leave(SHARD_0[1])
    await wait_until(lambda: bot.get_guild(SHARD_0[1]) is None)
    assert (monitor.population.joins, monitor.population.leaves) == (1, 1)
    await monitor.refresh()  # The day's snapshot, one record per shard.

    growth = await StatisticsCollector(db).get_growth(1)

    members = MEMBERS[SHARD_0[0]] + MEMBERS[SHARD_1[0]] + 40
    assert growth == [
        {
            "date": "2026-03-15",
            "joins": 1,
            "leaves": 1,
            "net": 0,
            "guilds": 3,
            "members": members,
        }
    ]
    figures = monitor.population.figures
    assert figures is not None
    assert {shard_id: s.guilds for shard_id, s in figures.shards.items()} == {0: 1, 1: 2}
    monitor.uninstall()


async def test_no_snapshot_is_recorded_before_the_bot_is_ready(
    make_bot: Factory, db: Database
) -> None:
    bot = await make_bot()
    monitor = GatewayMonitor(bot, db=db)
    await monitor.refresh()
    assert monitor.population.figures is not None  # Counted (nothing yet), not recorded.
    assert (await StatisticsCollector(db).get_growth(1))[0]["guilds"] is None


async def test_gateway_events_are_counted_per_type_with_a_bounded_number_of_types(
    fake: FakeDiscord, make_bot: Factory
) -> None:
    bot = await make_bot()
    monitor = GatewayMonitor(bot)
    monitor.install()
    await connect(bot)
    for _ in range(3):
        await fake.send_event(0, "SOMETHING_NEW", {"x": 1})  # A type discord.py cannot parse.
    await wait_until(lambda: monitor.event_types.counts.get("SOMETHING_NEW") == 3)
    counts = monitor.event_types.counts
    assert counts["READY"] == 2  # One per shard.
    assert counts["GUILD_CREATE"] == 3
    monitor.uninstall()

    # Types past the bound are summed under one label, however many arrive.
    counter = GatewayMonitor(bot).event_types
    counter.install()
    for index in range(MAX_EVENT_TYPES + 50):
        bot.dispatch("socket_event_type", f"TYPE_{index}")
    bot.dispatch("socket_event_type", "TYPE_0")
    assert len(counter.counts) == MAX_EVENT_TYPES + 1
    assert counter.counts[OTHER_EVENT_TYPE] == 50
    assert counter.counts["TYPE_0"] == 2
    assert counter.total == MAX_EVENT_TYPES + 51
    counter.uninstall()


async def test_a_watch_uninstalled_sees_nothing_and_one_installed_again_counts_once(
    make_bot: Factory,
) -> None:
    bot = await make_bot()
    counter = GatewayMonitor(bot).event_types
    counter.install()
    bot.dispatch("socket_event_type", "A")
    counter.uninstall()
    bot.dispatch("socket_event_type", "A")  # Before the cancellation is even delivered.
    assert counter.counts == {"A": 1}

    counter.install()
    counter.uninstall()  # Before its waits have started.
    counter.install()
    for _ in range(3):
        bot.dispatch("socket_event_type", "A")
    assert counter.counts == {"A": 4}  # Once per dispatch: no stale check counts too.
    counter.uninstall()
