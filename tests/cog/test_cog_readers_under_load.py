"""``/health`` and ``/stats`` answer while the bot's own code logs faster than the writer stores.

The bot logs commands continuously (``flood.py``: bursts through ``log_command_nowait``, the
buffer full and records dropped throughout). Each slash command, run as a real interaction, must
answer within a bound while that goes on, having first stored every record queued before it.
Before the fix their flush waited for the buffer to empty: they answered only once the input
stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from flood import Flood
from harness import Monitored, make_config
from interactions import MANAGE_GUILD, Responses, run_command

from monitoring_cog import MonitoringConfig
from monitoring_cog.cli.payloads import DEFERRED_CHANNEL_MESSAGE, subcommand
from monitoring_cog.config import RecordingConfig

BOUND = 120.0
"""Seconds a slash command may take under the flood before the test fails, a hang guard (the
flood never stops; measured: printed with ``-s``). It writes at most ``max_queue`` records
first."""


@pytest.fixture
def cog_config() -> MonitoringConfig:
    return dataclasses.replace(
        make_config(), recording=RecordingConfig(flush_interval=0.05, max_queue=20_000)
    )


def stored(path: Path) -> set[int]:
    with closing(sqlite3.connect(path)) as conn:
        return {
            i for (i,) in conn.execute("SELECT json_extract(parameters, '$.i') FROM audit_logs")
        }


async def answer_under_flood(
    monitored: Monitored, responses: Responses, name: str, **kwargs: object
) -> dict[str, object]:
    """Run ``name`` while the flood goes on; its embed. Checks what it stored first."""
    flood = Flood(monitored.cog.system, guild=str(monitored.guild.id))
    flood.start()
    try:
        await flood.saturated()
        before = len(flood.accepted)
        started = time.monotonic()
        try:
            async with asyncio.timeout(BOUND):
                await run_command(monitored.bot, name, **kwargs)  # type: ignore[arg-type]
        except TimeoutError:
            pytest.fail(f"/{name} still waiting after {BOUND} s of continuous input")
        print(f"/{name}: answered in {time.monotonic() - started:.2f} s under the flood")
        assert stored(monitored.harness.db_path) >= set(flood.accepted[:before])
    finally:
        await flood.stop()
    defer, followup = responses.sent
    assert defer.type == DEFERRED_CHANNEL_MESSAGE
    (embed,) = followup.embeds
    return embed


async def test_health_answers_under_a_flood(monitored: Monitored, responses: Responses) -> None:
    embed = await answer_under_flood(monitored, responses, "health", permissions=MANAGE_GUILD)

    assert embed["title"] == "🟠 Bot health: degraded"  # Records were dropped.


async def test_stats_weekly_answers_under_a_flood(
    monitored: Monitored, responses: Responses
) -> None:
    embed = await answer_under_flood(monitored, responses, "stats", options=[subcommand("weekly")])

    assert embed["title"] == "Weekly statistics for Test Guild 0"
