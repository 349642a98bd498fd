"""The background health check: reports kept, alerts posted on status changes, with hysteresis."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from harness import Harness, make_config

from monitoring_cog.cog import MonitoringCog
from monitoring_cog.cog.alerts import Alert, AlertThrottle, StatusAlerter, StatusChange

RED = discord.Colour.red().value
GREEN = discord.Colour.green().value
ORANGE = discord.Colour.orange().value

# FakeProcess readings: memory_warning_mb is 512, memory_critical_mb 1024 by default.
HEALTHY_MB, DEGRADED_MB, UNHEALTHY_MB = 100.0, 600.0, 2048.0


# -- StatusAlerter -----------------------------------------------------------------------------


def observe_all(alerter: StatusAlerter, statuses: list[str]) -> list[StatusChange | None]:
    return [alerter.observe(status) for status in statuses]


def test_alerter_starts_healthy_and_stays_quiet_while_healthy() -> None:
    alerter = StatusAlerter()
    assert observe_all(alerter, ["healthy", "healthy"]) == [None, None]
    assert alerter.announced == "healthy"


def test_alerter_announces_a_worse_status_at_once() -> None:
    alerter = StatusAlerter(recovery_checks=3)
    assert observe_all(alerter, ["degraded", "degraded", "unhealthy", "unhealthy"]) == [
        StatusChange("healthy", "degraded"),
        None,
        StatusChange("degraded", "unhealthy"),
        None,
    ]


def test_alerter_announces_recovery_after_the_configured_checks() -> None:
    alerter = StatusAlerter(recovery_checks=3)
    alerter.observe("unhealthy")
    assert observe_all(alerter, ["healthy", "healthy", "healthy", "healthy"]) == [
        None,
        None,
        StatusChange("unhealthy", "healthy"),
        None,
    ]


def test_alerter_relapse_restarts_the_recovery_count() -> None:
    alerter = StatusAlerter(recovery_checks=2)
    alerter.observe("unhealthy")
    assert observe_all(alerter, ["healthy", "unhealthy", "healthy", "healthy"]) == [
        None,
        None,
        None,
        StatusChange("unhealthy", "healthy"),
    ]


def test_alerter_hovering_at_a_threshold_alerts_once() -> None:
    alerter = StatusAlerter(recovery_checks=2)
    changes = observe_all(alerter, ["degraded", "healthy"] * 5)
    assert [c for c in changes if c is not None] == [StatusChange("healthy", "degraded")]


def test_alerter_recovery_announces_the_worst_status_that_held() -> None:
    alerter = StatusAlerter(recovery_checks=2)
    alerter.observe("unhealthy")
    assert observe_all(alerter, ["degraded", "healthy"]) == [
        None,
        StatusChange("unhealthy", "degraded"),
    ]
    assert observe_all(alerter, ["healthy", "healthy"]) == [
        None,
        StatusChange("degraded", "healthy"),
    ]


def test_alerter_with_one_recovery_check_announces_recovery_at_once() -> None:
    alerter = StatusAlerter(recovery_checks=1)
    assert observe_all(alerter, ["unhealthy", "healthy"]) == [
        StatusChange("healthy", "unhealthy"),
        StatusChange("unhealthy", "healthy"),
    ]


def test_alerter_treats_an_unknown_status_as_unhealthy() -> None:
    alerter = StatusAlerter()
    assert alerter.observe("on fire") == StatusChange("healthy", "unhealthy")


# -- AlertThrottle -----------------------------------------------------------------------------


def test_throttle_posts_the_first_change_at_once_and_holds_the_next_within_the_interval() -> None:
    throttle = AlertThrottle(min_interval=60.0)

    assert throttle.offer(None, 0.0) is None
    first = throttle.offer(StatusChange("healthy", "degraded"), 10.0)
    assert first == Alert("healthy", "degraded", 1, ("healthy", "degraded"))
    assert throttle.offer(StatusChange("degraded", "unhealthy"), 40.0) is None  # 30 s later.
    assert throttle.held == 1
    assert throttle.next_allowed() == 70.0
    assert throttle.offer(None, 69.9) is None
    assert throttle.offer(None, 70.0) == Alert(
        "degraded", "unhealthy", 1, ("degraded", "unhealthy")
    )
    assert throttle.held == 0
    assert throttle.offer(None, 500.0) is None  # Nothing held: nothing to post.


def test_throttle_posts_a_change_at_once_after_a_quiet_interval() -> None:
    throttle = AlertThrottle(min_interval=60.0)
    throttle.offer(StatusChange("healthy", "unhealthy"), 0.0)

    assert throttle.offer(StatusChange("unhealthy", "healthy"), 61.0) == Alert(
        "unhealthy", "healthy", 1, ("unhealthy", "healthy")
    )


def test_throttle_back_to_the_posted_status_posts_nothing_and_counts_it_later() -> None:
    throttle = AlertThrottle(min_interval=60.0)
    throttle.offer(StatusChange("healthy", "unhealthy"), 0.0)
    throttle.offer(StatusChange("unhealthy", "healthy"), 20.0)
    throttle.offer(StatusChange("healthy", "unhealthy"), 40.0)

    assert throttle.offer(None, 60.0) is None  # The channel already shows "unhealthy".
    assert throttle.held == 2
    assert throttle.offer(StatusChange("unhealthy", "degraded"), 300.0) == Alert(
        "unhealthy", "degraded", 3, ("unhealthy", "healthy", "unhealthy", "degraded")
    )


def test_throttle_keeps_the_latest_statuses_of_a_long_flap() -> None:
    throttle = AlertThrottle(min_interval=60.0)
    throttle.offer(StatusChange("healthy", "unhealthy"), 0.0)
    statuses = ["unhealthy", "healthy"] * 20
    for when, (previous, current) in enumerate(itertools.pairwise(statuses)):
        throttle.offer(StatusChange(previous, current), 1.0 + when)

    alert = throttle.offer(None, 60.0)

    assert alert is not None
    assert (alert.previous, alert.current, alert.changes) == ("unhealthy", "healthy", 39)
    assert alert.path == ("unhealthy", "healthy") * 6


def test_throttle_refuses_an_interval_of_no_length() -> None:
    with pytest.raises(ValueError, match="min_interval > 0"):
        AlertThrottle(min_interval=0.0)


# -- the loop inside the bot -------------------------------------------------------------------


async def load_with_alerts(harness: Harness, **cog: Any) -> MonitoringCog:
    """A bot that is not ready (so the loop waits); each test runs iterations itself."""
    bot = await harness.new_bot()
    harness.configure(bot, ready=False)
    channel = dpytest.get_config().channels[0]
    settings = {"alert_channel_id": channel.id, **cog}
    return await harness.load(bot, make_config(**settings))


def next_alert() -> discord.Embed:
    message = dpytest.get_message()
    assert message.channel.id == dpytest.get_config().channels[0].id
    (embed,) = message.embeds
    return embed


def no_message() -> bool:
    return bool(dpytest.verify().message().nothing())


async def check_later(harness: Harness, cog: MonitoringCog) -> None:
    """One iteration of the health loop, ``check_interval`` after the previous one (as the loop
    runs them): the alert rate limit sees the time pass between checks."""
    harness.clock.advance(cog.config.health.check_interval)
    await cog.health_loop()


async def test_one_iteration_stores_a_report(harness: Harness) -> None:
    cog = await load_with_alerts(harness)

    await cog.health_loop()

    history = cog.system.health_check.history
    assert len(history) == 1
    assert history[0]["overall_status"] == "healthy"
    assert history[0]["memory"]["rss_mb"] == HEALTHY_MB
    assert no_message()


async def test_unhealthy_posts_one_alert_and_recovery_waits_for_the_configured_checks(
    harness: Harness,
) -> None:
    cog = await load_with_alerts(harness, alert_recovery_checks=3)

    harness.process.rss_mb = UNHEALTHY_MB
    await check_later(harness, cog)
    alert = next_alert()
    assert alert.title == "🔴 Health changed: healthy → unhealthy"
    assert alert.colour is not None and alert.colour.value == RED
    assert alert.fields[0].value is not None and "2048.0 MB RSS" in alert.fields[0].value
    assert no_message()

    await check_later(harness, cog)  # Still unhealthy: nothing new.
    assert no_message()

    harness.process.rss_mb = HEALTHY_MB
    await check_later(harness, cog)
    await check_later(harness, cog)
    assert no_message()  # Two healthy checks of the three required.
    await check_later(harness, cog)
    recovery = next_alert()
    assert recovery.title == "🟢 Health changed: unhealthy → healthy"
    assert recovery.colour is not None and recovery.colour.value == GREEN

    await check_later(harness, cog)
    assert no_message()
    assert len(cog.system.health_check.history) == 6


async def test_status_hovering_at_the_warning_threshold_alerts_once(harness: Harness) -> None:
    cog = await load_with_alerts(harness, alert_recovery_checks=2)

    for _ in range(4):
        harness.process.rss_mb = DEGRADED_MB
        await check_later(harness, cog)
        harness.process.rss_mb = HEALTHY_MB
        await check_later(harness, cog)

    alert = next_alert()
    assert alert.title == "🟠 Health changed: healthy → degraded"
    assert alert.colour is not None and alert.colour.value == ORANGE
    assert no_message()


async def test_no_alert_channel_posts_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    cog = await load_with_alerts(harness, alert_channel_id=0)
    harness.process.rss_mb = UNHEALTHY_MB

    with caplog.at_level(logging.WARNING, logger="monitoring_cog"):
        await cog.health_loop()

    assert no_message()
    assert cog.alerter.announced == "unhealthy"
    assert any("health changed from healthy to unhealthy" in r.getMessage() for r in caplog.records)


async def test_missing_alert_channel_is_logged_not_raised(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    cog = await load_with_alerts(harness, alert_channel_id=1234)
    harness.process.rss_mb = UNHEALTHY_MB

    await cog.health_loop()

    assert no_message()
    assert any(
        "alert channel 1234 not found" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )


async def test_the_loop_runs_by_itself_once_the_bot_is_ready(harness: Harness) -> None:
    bot = await harness.new_bot()
    cog = await harness.load(bot, make_config(check_interval=42.0))
    harness.configure(bot, ready=False)
    history = cog.system.health_check.history
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(history) == 0  # Waits for the bot to be ready.

    bot._ready.set()
    for _ in range(500):  # Bounded wait for the first iteration (a database round trip).
        if history:
            break
        await asyncio.sleep(0.01)

    assert len(history) == 1
    assert cog.health_loop.is_running()
    assert cog.health_loop.seconds == 42.0


async def test_a_flapping_status_posts_few_alerts_and_the_latest_status_once_allowed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # Checks every 5 s, the status flipping at each, recovery announced at once: every check is
    # a change. Alerts: at most one per cog.alert_min_interval (60 s by default).
    cog = await load_with_alerts(harness, alert_recovery_checks=1)

    with caplog.at_level(logging.INFO, logger="monitoring_cog"):
        for check in range(25):  # At 5 s, 10 s, ... 125 s: unhealthy, healthy, ... unhealthy.
            harness.process.rss_mb = HEALTHY_MB if check % 2 else UNHEALTHY_MB
            harness.clock.advance(5.0)
            await cog.health_loop()
        harness.clock.advance(5.0)
        await cog.health_loop()  # 130 s: still unhealthy, no change; the limit allows again.

    titles = []
    descriptions = []
    while not dpytest.sent_queue.empty():
        embed = next_alert()
        titles.append(embed.title)
        descriptions.append(embed.description)
    assert titles == [
        "🔴 Health changed: healthy → unhealthy",  # 5 s: the first, at once.
        "🟢 Health changed: unhealthy → healthy",  # 70 s: 65 s was back to unhealthy.
        "🔴 Health changed: healthy → unhealthy",  # 130 s: the latest status, held since 75 s.
    ]
    assert descriptions[0] is None
    assert descriptions[1] == (
        "13 changes since the last alert, held back by the alert rate limit "
        "(`cog.alert_min_interval`): … → " + " → ".join(["unhealthy", "healthy"] * 6)
    )
    assert descriptions[2] == (
        "11 changes since the last alert, held back by the alert rate limit "
        "(`cog.alert_min_interval`): " + " → ".join(["healthy", "unhealthy"] * 6)
    )
    assert cog.config.cog.alert_min_interval == 60.0
    # Every change is in the log, and so is what became of its alert.
    messages = [r.getMessage() for r in caplog.records]
    assert sum("monitoring: health changed from" in m for m in messages) == 25
    assert sum("monitoring: alert held back" in m for m in messages) == 22
    assert (
        messages.count("monitoring: health is back to unhealthy, the status last alerted; no alert")
        == 1
    )
    assert (
        "monitoring: alert held back (1 change(s) since the last one, at most one alert per 60 s:"
        " cog.alert_min_interval); the latest status goes out at the first check in 55 s or later"
    ) in messages


async def test_alert_min_interval_is_configurable(harness: Harness) -> None:
    cog = await load_with_alerts(harness, alert_recovery_checks=1, alert_min_interval=1.0)

    for check in range(4):
        harness.process.rss_mb = HEALTHY_MB if check % 2 else UNHEALTHY_MB
        harness.clock.advance(5.0)
        await cog.health_loop()

    assert [next_alert().title for _ in range(4)] == [
        "🔴 Health changed: healthy → unhealthy",
        "🟢 Health changed: unhealthy → healthy",
    ] * 2
    assert no_message()
