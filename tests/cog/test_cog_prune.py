"""The cog's background prune: audit rows past ``retention.audit_days`` go, reports stay.

Time is the injected :class:`~monitoring_cog.ManualClock`: commands run at a set "now", and the
prune's cutoff is the clock's now minus ``audit_days``. ``await cog.prune_loop()`` runs one
iteration deterministically; one test also lets the loop run by itself on a short interval.
"""

from __future__ import annotations

import asyncio
import dataclasses

import discord.ext.test as dpytest
import pytest
from fakes import NOW
from harness import Harness, Monitored, make_config

from monitoring_cog import MonitoringConfig
from monitoring_cog.config import RetentionConfig

DAY = 86_400.0


def retention(**settings: float) -> MonitoringConfig:
    return dataclasses.replace(make_config(), retention=RetentionConfig(**settings))  # type: ignore[arg-type]


async def commands_40_days_ago_and_today(m: Monitored) -> None:
    """Two commands run 40 days ago and one today, through the bot (the clock ends at NOW)."""
    clock = m.harness.clock
    clock.set(NOW.timestamp() - 40 * DAY)
    await dpytest.message("!echo old")
    await dpytest.message("!greet old")
    clock.set(NOW)
    await dpytest.message("!echo today")


async def totals(m: Monitored) -> tuple[int, list[dict[str, object]]]:
    """Commands and top commands over 60 days, from the rollups."""
    report = await m.cog.system.stats_collector.generate_report(str(m.guild.id), 60)
    return report["total_commands"], report["top_commands"]


async def test_the_prune_loop_runs_every_prune_interval_and_stops_on_unload(
    harness: Harness,
) -> None:
    bot = await harness.new_bot()
    cog = await harness.load(bot, retention(audit_days=30, prune_interval=1234.0))
    harness.configure(bot)

    assert cog.prune_loop.is_running()
    assert cog.prune_loop.seconds == 1234.0
    task = cog.prune_loop.get_task()

    await bot.remove_cog("Monitoring")

    assert task is not None and task.done()
    assert not cog.prune_loop.is_running()


async def test_no_prune_loop_when_audit_rows_are_kept_forever(harness: Harness) -> None:
    bot = await harness.new_bot()
    cog = await harness.load(bot, retention(audit_days=0))
    harness.configure(bot)

    assert not cog.prune_loop.is_running()


async def test_a_prune_deletes_rows_past_audit_days_and_reports_keep_their_figures(
    monitored: Monitored,
) -> None:
    await commands_40_days_ago_and_today(monitored)
    before = await totals(monitored)

    await monitored.cog.prune_loop()  # One iteration, now = NOW, audit_days = 30.

    rows = await monitored.rows()
    assert [(r["command"], r["parameters"]) for r in rows] == [
        ("echo", {"word": "today", "times": 1})
    ]
    assert await totals(monitored) == before
    assert before[0] == 3


async def test_rows_younger_than_audit_days_stay_until_they_age(monitored: Monitored) -> None:
    await commands_40_days_ago_and_today(monitored)

    monitored.harness.clock.set(NOW.timestamp() + 29 * DAY)
    await monitored.cog.prune_loop()
    assert [r["parameters"] for r in await monitored.rows()] == [{"word": "today", "times": 1}]

    monitored.harness.clock.set(NOW.timestamp() + 31 * DAY)
    await monitored.cog.prune_loop()
    assert await monitored.rows() == []


@pytest.mark.parametrize("cog_config", [retention(audit_days=30, prune_interval=0.05)])
async def test_the_background_loop_prunes_by_itself(monitored: Monitored) -> None:
    await commands_40_days_ago_and_today(monitored)
    logger = monitored.cog.system.cmd_logger

    # The first run comes prune_interval after ready (capped at a minute); poll in real time.
    for _ in range(500):
        if await logger.count_audit_logs() == 1:
            break
        await asyncio.sleep(0.01)

    assert [r["parameters"] for r in await monitored.rows()] == [{"word": "today", "times": 1}]
    assert (await totals(monitored))[0] == 3
