"""The cog's metrics endpoint: started by ``[metrics] enabled``, scraped over real HTTP.

Commands run through discord.py (dpytest for prefix commands, real interactions for slash
commands) and are counted exactly, by command and outcome, with no guild or user id in sight;
``/healthz`` follows the cog's health loop; a port in use is logged and the bot runs on; unload
closes the port; the endpoint stays off unless enabled.
"""

from __future__ import annotations

import dataclasses
import logging
import socket

import aiohttp
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from harness import DURATIONS, Harness, Monitored, make_config
from interactions import run_command
from metrics_support import fetch, healthz, samples, scrape, value

from monitoring_cog import MonitoringConfig
from monitoring_cog.cli.payloads import option
from monitoring_cog.config import MetricsConfig

COMMANDS = "monitoring_cog_commands_total"
DURATION = "monitoring_cog_command_duration_seconds"


def with_metrics(config: MonitoringConfig, port: int = 0) -> MonitoringConfig:
    return dataclasses.replace(config, metrics=MetricsConfig(enabled=True, port=port))


@pytest.fixture
def cog_config() -> MonitoringConfig:
    return with_metrics(make_config())


async def test_commands_run_through_discord_are_counted_exactly(m: Monitored) -> None:
    server = m.cog.metrics_server
    assert server is not None and server.running

    await dpytest.message("!echo hello 3")
    await dpytest.message("!echo again")
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!boom")
    await run_command(m.bot, "greet", options=[option("name", "Bob")])  # Hybrid, slash.
    await run_command(m.bot, "add", options=[option("a", 5)])
    await m.db.flush()

    body = await scrape(server.url)
    found = samples(body)

    expected = {
        ("echo", "success"): [DURATIONS["echo"]] * 2,
        ("boom", "failure"): [DURATIONS["boom"]],
        ("greet", "success"): [DURATIONS["greet"]],
        ("add", "success"): [DURATIONS["add"]],
    }
    for (command, outcome), durations in expected.items():
        labels = {"command": command, "outcome": outcome}
        assert value(found, COMMANDS, **labels) == len(durations)
        assert value(found, f"{DURATION}_count", **labels) == len(durations)
        assert value(found, f"{DURATION}_sum", **labels) == sum(durations)
        # Durations are exact binary fractions (0.0625 .. 0.5): each bucket count is known.
        assert value(found, f"{DURATION}_bucket", le="1.0", **labels) == len(durations)
        assert value(found, f"{DURATION}_bucket", le="0.05", **labels) == 0
    assert value(found, f"{DURATION}_bucket", command="add", outcome="success", le="0.1") == 1
    assert value(found, f"{DURATION}_bucket", command="echo", outcome="success", le="0.25") == 2
    assert value(found, f"{DURATION}_bucket", command="boom", outcome="failure", le="0.25") == 0
    assert value(found, COMMANDS, command="boom", outcome="success") == 0
    assert sum(v for (name, _), v in found.items() if name == COMMANDS) == 5

    # Never a guild, channel or member id, nor a name, in the exposition.
    for ident in (m.guild.id, m.channel.id, *(member.id for member in m.members)):
        assert str(ident) not in body
    assert m.guild.name not in body


async def test_healthz_follows_the_health_loop(m: Monitored, harness: Harness) -> None:
    server = m.cog.metrics_server
    assert server is not None
    assert await healthz(server.url) == (200, {"status": "unknown", "checked_at": None})

    await m.cog.health_loop()
    status, body = await healthz(server.url)
    assert (status, body["status"]) == (200, "healthy")

    harness.process.rss_mb = 2048.0  # Past memory_critical_mb.
    await m.cog.health_loop()
    status, body = await healthz(server.url)
    assert (status, body["status"]) == (503, "unhealthy")
    found = samples(await scrape(server.url))
    assert value(found, "monitoring_cog_health_status") == 2

    harness.process.rss_mb = 100.0
    await m.cog.health_loop()
    assert (await healthz(server.url))[0] == 200


async def test_unload_closes_the_port(harness: Harness) -> None:
    bot = await harness.new_bot()
    cog = await harness.load_extension(bot, "[metrics]\nenabled = true\nport = 0\n")
    harness.configure(bot)
    server = cog.metrics_server
    assert server is not None
    url = server.url
    assert (await fetch(f"{url}/healthz"))[0] == 200

    await bot.unload_extension("monitoring_cog")

    assert cog.metrics_server is None and not server.running
    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch(f"{url}/healthz")


async def test_a_port_in_use_is_logged_and_the_bot_runs_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = await harness.new_bot()

        with caplog.at_level(logging.ERROR, logger="monitoring_cog"):
            cog = await harness.load(bot, with_metrics(make_config(), port))
        harness.configure(bot)

        assert cog.metrics_server is None
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert f"127.0.0.1:{port}" in errors[0].getMessage()
        assert "runs on without /metrics" in errors[0].getMessage()

        # The cog works as ever: commands are audited.
        await dpytest.message("!echo still")
        await cog.db.flush()
        recent = await cog.system.cmd_logger.get_recent_commands(limit=10)
        assert [row["command"] for row in recent] == ["echo"]


async def test_the_endpoint_is_off_unless_enabled(harness: Harness) -> None:
    bot = await harness.new_bot()
    cog = await harness.load(bot, make_config())
    harness.configure(bot)

    assert cog.metrics_server is None
    # Nor does the writer do the metrics' bookkeeping.
    assert cog.db.recorder.command_totals is None


@pytest.fixture
def m(monitored: Monitored) -> Monitored:
    return monitored
