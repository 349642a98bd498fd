"""The cog's vitals: rate limits in the health report, and alerts to a webhook on loopback.

The bot is a real discord.py bot (dpytest); the 429s come from discord.py's real ``HTTPClient``
against a loopback API; the alerts are posted over real HTTP to a loopback webhook endpoint.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from discord.http import HTTPClient, Route
from harness import Harness, make_config
from loopback_servers import (
    HANG_GUARD,
    WEBHOOK_TOKEN,
    DiscordApi,
    Reply,
    WebhookEndpoint,
    rate_limited,
    until,
)
from metrics_support import samples, scrape, value

from monitoring_cog import ConfigError, MonitoringConfig
from monitoring_cog.cog import MonitoringCog
from monitoring_cog.config import AlertsConfig, MetricsConfig, RecordingConfig
from monitoring_cog.vitals.webhook_payload import SEVERITY_COLOURS

UNHEALTHY_MB = 2048.0
CHANNEL = 111111111111111111


@pytest.fixture
async def endpoint() -> AsyncIterator[WebhookEndpoint]:
    server = WebhookEndpoint()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordApi]:
    server = DiscordApi()
    await server.start()
    monkeypatch.setattr(Route, "BASE", server.base)
    yield server
    await server.stop()


def with_webhook(config: MonitoringConfig, url: str, **alerts: Any) -> MonitoringConfig:
    return dataclasses.replace(config, alerts=AlertsConfig(webhook_url=url, **alerts))


async def load(harness: Harness, config: MonitoringConfig) -> MonitoringCog:
    """A bot that is not ready (its health loop waits): the test runs checks itself."""
    bot = await harness.new_bot()
    harness.configure(bot, ready=False)
    return await harness.load(bot, config)


async def test_a_status_change_goes_to_the_channel_and_the_webhook(
    harness: Harness, endpoint: WebhookEndpoint
) -> None:
    bot = await harness.new_bot()
    harness.configure(bot, ready=False)
    channel = dpytest.get_config().channels[0]
    config = with_webhook(make_config(alert_channel_id=channel.id), endpoint.url)
    cog = await harness.load(bot, config)
    assert cog.webhook is not None and cog.webhook.running

    harness.process.rss_mb = UNHEALTHY_MB
    await cog.health_loop()
    await until(lambda: cog.webhook is not None and cog.webhook.posted == 1, "the webhook post")

    channel_embed = dpytest.get_message().embeds[0]
    (embed,) = endpoint.embeds()
    assert channel_embed.title == "🔴 Health changed: healthy → unhealthy"
    assert embed["title"] == "🔴 Health changed: healthy → unhealthy"
    assert embed["color"] == SEVERITY_COLOURS["critical"]
    assert embed["description"] == "memory: critical"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields == {
        "memory": "critical",
        "database": "healthy",
        "cpu": "healthy",
        "error_rate": "healthy",
        "recording": "healthy",
        "rate_limits": "healthy",
        "gateway": "unknown",  # The bot is not ready.
    }
    assert embed["footer"]["text"].startswith("status_change · ")
    assert cog.vital_events.emitted == {"status_change": 1}

    await harness.close()  # Unloads the cog: its webhook closes with it.
    assert cog.webhook is None


async def test_records_dropped_are_alerted_by_the_drop_watch(
    harness: Harness, endpoint: WebhookEndpoint
) -> None:
    base = make_config()
    config = with_webhook(
        dataclasses.replace(base, recording=RecordingConfig(flush_interval=3600.0, max_queue=2)),
        endpoint.url,
    )
    cog = await load(harness, config)
    logger = cog.system.cmd_logger
    for n in range(5):
        await logger.log_command(
            guild_id="1", guild_name="g", user_id="2", username="u", command=f"c{n}"
        )
    assert cog.db.recorder.dropped == 3

    await cog.drop_watch_loop()
    await cog.drop_watch_loop()  # Nothing new: no second alert.
    await until(lambda: cog.webhook is not None and cog.webhook.posted == 1, "the webhook post")

    (embed,) = endpoint.embeds()
    assert embed["title"] == "🔴 3 monitoring record(s) dropped"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["dropped now"] == "3"
    assert fields["queued"] == "2 of 2"
    assert cog.vital_events.emitted == {"records_dropped": 1}


async def test_a_global_rate_limit_degrades_the_bot_and_reaches_the_webhook(
    harness: Harness, endpoint: WebhookEndpoint, api: DiscordApi
) -> None:
    cog = await load(harness, with_webhook(make_config(), endpoint.url))
    http = HTTPClient(asyncio.get_running_loop())
    await http.static_login("not-a-real-token")
    try:
        api.plan(f"/channels/{CHANNEL}/messages", rate_limited(0.05, is_global=True))
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=CHANNEL)
        await http.request(route, json={"content": "hi"})
    finally:
        await http.close()

    report = await cog.system.health_check.get_full_health_report()
    assert report["rate_limits"]["status"] == "warning"
    assert (report["rate_limits"]["hits_1h"], report["rate_limits"]["global_hits_1h"]) == (1, 1)
    assert report["overall_status"] == "degraded"

    await until(lambda: cog.webhook is not None and cog.webhook.posted == 1, "the webhook post")
    (embed,) = endpoint.embeds()
    assert embed["title"] == "🟠 Global rate limit hit"
    assert {f["name"]: f["value"] for f in embed["fields"]}["route"] == (
        "POST /channels/{id}/messages"
    )


async def test_without_a_webhook_the_rate_limits_are_still_reported(harness: Harness) -> None:
    cog = await load(harness, make_config())
    assert cog.webhook is None
    report = await cog.system.health_check.get_full_health_report()
    assert report["rate_limits"] == {
        "status": "healthy",
        "hits_1h": 0,
        "global_hits_1h": 0,
        "top_routes": [],
        "last_global_at": None,
    }
    assert report["overall_status"] == "healthy"


async def test_unload_returns_within_its_deadline_with_the_webhook_hanging(
    harness: Harness, endpoint: WebhookEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.replies.extend([Reply(delay=60.0)] * 3)
    base = make_config()
    config = with_webhook(
        dataclasses.replace(base, recording=RecordingConfig(close_timeout=1.0)),
        endpoint.url,
        timeout=60.0,
    )
    cog = await load(harness, config)
    webhook = cog.webhook
    assert webhook is not None
    harness.process.rss_mb = UNHEALTHY_MB
    await cog.health_loop()
    await until(lambda: endpoint.attempts == 1, "the post to start")

    bot = cog.bot
    # A hang guard, not a timing check: unload is bounded by recording.close_timeout (1 s).
    await asyncio.wait_for(bot.remove_cog("Monitoring"), HANG_GUARD)

    assert not webhook.running
    assert webhook.dropped == 1
    assert logging.getLogger("discord.http").filters == []  # The rate-limit tap is gone too.
    assert "rate_limits" not in await cog.system.health_check.get_full_health_report()
    assert WEBHOOK_TOKEN not in caplog.text


async def test_a_bad_webhook_url_in_the_environment_fails_before_the_cog_hooks_in(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await harness.new_bot()
    config = make_config()
    monkeypatch.setenv("MONITORING_ALERT_WEBHOOK_URL", f"http://example.com/{WEBHOOK_TOKEN}")
    with pytest.raises(ConfigError, match=r"\$MONITORING_ALERT_WEBHOOK_URL: expected an https"):
        MonitoringCog(bot, config=config, db=harness.database(config))
    assert bot.get_cog("Monitoring") is None
    assert logging.getLogger("discord.http").filters == []


async def test_the_metrics_endpoint_exports_rate_limits_and_webhook_posts(
    harness: Harness, endpoint: WebhookEndpoint, api: DiscordApi
) -> None:
    config = dataclasses.replace(
        with_webhook(make_config(), endpoint.url),
        metrics=MetricsConfig(enabled=True, port=0),
    )
    cog = await load(harness, config)
    server = cog.metrics_server
    assert server is not None
    http = HTTPClient(asyncio.get_running_loop())
    await http.static_login("not-a-real-token")
    try:
        api.plan(
            f"/channels/{CHANNEL}/messages",
            rate_limited(0.05),
            rate_limited(0.05, is_global=True),
        )
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=CHANNEL)
        await http.request(route, json={"content": "hi"})
    finally:
        await http.close()
    await until(lambda: cog.webhook is not None and cog.webhook.posted == 1, "the webhook post")

    found = samples(await scrape(server.url))
    messages = "POST /channels/{id}/messages"
    total = "monitoring_cog_rate_limits_total"
    assert value(found, total, scope="route", route=messages) == 2
    assert value(found, total, scope="global", route=messages) == 1
    posts = "monitoring_cog_webhook_posts_total"
    assert value(found, posts, outcome="posted") == 1
    assert value(found, posts, outcome="failed") == 0
    assert value(found, posts, outcome="dropped") == 0
    assert value(found, "monitoring_cog_webhook_retries_total") == 0
    assert value(found, "monitoring_cog_webhook_held_total") == 0


async def test_a_new_kind_of_error_and_a_shard_down_reach_the_webhook_once_each(
    harness: Harness, endpoint: WebhookEndpoint
) -> None:
    bot = await harness.new_bot()

    @bot.command(name="detonate")
    async def detonate(ctx: commands.Context[Any]) -> None:
        raise ValueError("the fuse was short")

    cog = await harness.load(bot, with_webhook(make_config(), endpoint.url))
    harness.configure(bot)
    for _ in range(2):  # The same kind twice within the hour: said once.
        with pytest.raises(commands.CommandError):
            await dpytest.message("!detonate")
    await cog.db.flush()  # The writer watches the failures: that is where kinds are told apart.
    await until(lambda: cog.webhook is not None and cog.webhook.posted == 1, "the error's post")

    bot.dispatch("connect")
    bot.dispatch("disconnect")
    harness.clock.advance(cog.config.gateway.shard_down_seconds)
    report = await cog.system.health_check.get_full_health_report()
    assert report["gateway"]["status"] == "critical"
    await until(lambda: cog.webhook is not None and cog.webhook.posted >= 2, "the shard's post")

    error, shard = endpoint.embeds()[:2]
    assert "ValueError" in error["title"] + error["description"]
    assert {field["name"]: field["value"] for field in error["fields"]}["command"] == "detonate"
    assert error["footer"]["text"].startswith("new_error · ")
    assert shard["footer"]["text"].startswith("shard_down · ")
    assert cog.vital_events.emitted["new_error"] == 1
    assert cog.vital_events.emitted["shard_down"] == 1
