"""Faults seen from the bot: a real discord.py bot with the real extension loaded keeps running.

The database is corrupt when the extension loads, or locked by another connection while
commands run and while the extension unloads (with a write in progress). In each case nothing is
raised into the bot, its own commands keep running, ``/health`` tells the truth, and every
audited command is either stored exactly once or counted as lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

import discord.ext.test as dpytest
import pytest
from db_support import exclusive_lock
from harness import UNLOAD_BOUND, Harness, fresh_rows
from interactions import MANAGE_GUILD, Responses, run_command
from polling import wait_until

from monitoring_cog import Database, MonitoringConfig
from monitoring_cog.cli.payloads import DEFERRED_CHANNEL_MESSAGE, EPHEMERAL, subcommand
from monitoring_cog.cog import MonitoringCog

GARBAGE = b"this is not a SQLite database\n" * 200
FAST_RETRIES = (
    "busy_timeout_ms = 100\n[recording]\nflush_interval = 0.02\nretry_backoff_max = 0.1\n"
)
"""Appended to the config's ``[database]`` table: a short lock wait, and quick retries."""
CLOSE_SLACK = 0.25
"""Seconds past its deadline a close may be measured at on a busy machine."""


def write_garbage(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(GARBAGE)


def is_garbage(path: Path) -> bool:
    return path.read_bytes() == GARBAGE


async def load(harness: Harness, config: str = FAST_RETRIES) -> MonitoringCog:
    """A ready bot with the real extension loaded (it owns, and on unload closes, its database)."""
    bot = await harness.new_bot()
    cog = await harness.load_extension(bot, config)
    harness.configure(bot)
    return cog


async def echo(times: int) -> None:
    for i in range(times):
        await dpytest.message(f"!echo w{i}")
    await dpytest.empty_queue()


async def test_corrupt_database_at_start_leaves_the_bot_running_and_unhealthy(
    harness: Harness, responses: Responses, caplog: pytest.LogCaptureFixture
) -> None:
    write_garbage(harness.db_path)

    with caplog.at_level(logging.ERROR, logger="monitoring_cog"):
        cog = await load(harness)  # Before the fix: ExtensionFailed, raised into setup_hook.

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(str(harness.db_path) in m and "carries on" in m for m in errors), errors
    await echo(3)
    assert cog.bot.ran == ["echo"] * 3  # type: ignore[attr-defined]
    await run_command(cog.bot, "health", permissions=MANAGE_GUILD)
    [embed] = responses.embeds
    assert embed["title"] == "🔴 Bot health: unhealthy"
    recorder = cog.db.recorder
    assert recorder.written == 0
    assert recorder.failing is True
    assert is_garbage(harness.db_path)  # Never overwritten.

    # An operator puts a good database in place: the queued records land, none lost.
    restored = harness.tmp_path / "restored.db"
    async with Database(restored, config=MonitoringConfig()) as db:
        await db.connect()
    os.replace(restored, harness.db_path)
    recovery = await wait_until(
        lambda: recorder.written == 4,
        "writes to resume",  # Three echo, one /health.
    )
    print(f"recovered {recovery:.3f}s after the database was restored")

    rows = await fresh_rows(harness.db_path)
    assert [r["command"] for r in rows] == ["echo"] * 3 + ["health"]
    assert recorder.dropped == 0


async def test_bot_keeps_running_while_the_database_is_locked_and_loses_nothing(
    harness: Harness,
) -> None:
    cog = await load(harness)
    await cog.db.connect()

    with exclusive_lock(harness.db_path):
        await echo(5)
        await wait_until(lambda: cog.db.recorder.write_errors >= 2, "writes to fail on the lock")
        assert cog.bot.ran == ["echo"] * 5  # type: ignore[attr-defined]
        assert cog.db.recorder.written == 0
    await wait_until(lambda: cog.db.recorder.written == 5, "writes to resume")

    rows = await fresh_rows(harness.db_path)
    assert [r["command"] for r in rows] == ["echo"] * 5  # Each once.
    assert cog.db.recorder.dropped == 0


async def test_unload_during_a_blocked_write_waits_for_it_and_writes_each_record_once(
    harness: Harness,
) -> None:
    cog = await load(harness, FAST_RETRIES.replace("100", "5000"))  # The write waits 5 s.
    await cog.db.connect()
    recorder = cog.db.recorder

    with exclusive_lock(harness.db_path) as blocker:
        await echo(5)
        await wait_until(lambda: recorder._in_flight > 0, "a write to be waiting on the lock")
        # Released while the unload waits on the write in progress.
        asyncio.get_running_loop().call_later(0.2, blocker.close)
        async with asyncio.timeout(UNLOAD_BOUND):
            await cog.bot.unload_extension("monitoring_cog")  # Raises nothing into the bot.

    rows = await fresh_rows(harness.db_path)
    assert [r["command"] for r in rows] == ["echo"] * 5  # Written once, none twice.
    assert recorder.lost_on_close == 0
    assert recorder.dropped == 0
    assert cog.db.closed


async def test_unload_with_the_database_locked_throughout_spills_what_it_cannot_write(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    cog = await load(harness)
    await cog.db.connect()
    recorder = cog.db.recorder

    with exclusive_lock(harness.db_path):
        await echo(5)
        await wait_until(lambda: recorder.write_errors >= 1 and not recorder._in_flight, "a retry")
        queued = recorder.pending
        with caplog.at_level(logging.WARNING, logger="monitoring_cog"):
            async with asyncio.timeout(UNLOAD_BOUND):
                await cog.bot.unload_extension("monitoring_cog")  # Raises nothing.

    # Before: the 5 were counted as lost (lost_on_close) and never stored.
    assert queued == 5
    assert recorder.spilled == queued
    assert recorder.lost_on_close == 0
    assert recorder.written == 0
    messages = [r.getMessage() for r in caplog.records]
    assert any("5 records saved to" in m for m in messages), messages
    # The next start writes them (fresh_rows opens the file anew), each once.
    assert [r["command"] for r in await fresh_rows(harness.db_path)] == ["echo"] * 5
    assert [r["command"] for r in await fresh_rows(harness.db_path)] == ["echo"] * 5


async def test_bot_close_returns_by_the_deadline_with_the_database_locked_throughout(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await harness.new_bot()
    # busy_timeout_ms 2000 and close_timeout 1: a write already waiting on the lock (the health
    # check's flush) outlasts the close.
    await harness.load_extension(
        bot, "busy_timeout_ms = 2000\n[recording]\nflush_interval = 3600.0\nclose_timeout = 1.0\n"
    )
    harness.configure(bot)
    cog: Any = bot.get_cog("Monitoring")
    await cog.db.connect()

    with exclusive_lock(harness.db_path):
        for i in range(5):
            await dpytest.message(f"!echo w{i}")
        await dpytest.empty_queue()
        bot.ws = None  # type: ignore[assignment]  # dpytest's gateway has no socket to close.
        start = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="monitoring_cog"):
            await bot.close()  # Unloads the extension: the cog closes its database.
        took = time.monotonic() - start

        # A write that outlasted the close ends by itself; its records are spilled then.
        await wait_until(lambda: not cog.db.recorder.writing_late, "the late write to end")

    # Before: one write attempt alone waited busy_timeout_ms on the lock, and there were three.
    assert took < 1.0 + CLOSE_SLACK
    assert cog.db.recorder.spilled == 5
    assert cog.db.recorder.lost_on_close == cog.db.recorder.written == 0
    assert [r["command"] for r in await fresh_rows(harness.db_path)] == ["echo"] * 5
    print(f"bot.close(), database locked throughout: {took:.3f}s (close_timeout 1.0)")


@pytest.mark.parametrize("period", ["weekly", "monthly", "performance"])
async def test_stats_with_the_database_down_answers_privately_with_the_reason(
    harness: Harness, responses: Responses, period: str
) -> None:
    write_garbage(harness.db_path)
    cog = await load(harness)

    await run_command(cog.bot, "stats", options=[subcommand(period)])

    # Deferred first (reports may take a while), then told why: no figures that are not there.
    defer, answer = responses.sent
    assert (defer.kind, defer.type) == ("response", DEFERRED_CHANNEL_MESSAGE)
    assert (answer.kind, answer.embeds) == ("followup", [])
    assert answer.flags & EPHEMERAL
    assert answer.content is not None
    assert answer.content.startswith(f"/stats {period} could not answer: DatabaseUnavailable: ")
    assert str(harness.db_path) in answer.content

    # Still audited, as a failure, once the database is back.
    restored = harness.tmp_path / "restored.db"
    async with Database(restored, config=MonitoringConfig()) as db:
        await db.connect()
    os.replace(restored, harness.db_path)
    await wait_until(lambda: cog.db.recorder.written == 1, "the record to be written")
    (row,) = await fresh_rows(harness.db_path)
    assert (row["command"], row["success"], row["error_type"]) == (
        f"stats {period}",
        False,
        "DatabaseUnavailable",
    )
