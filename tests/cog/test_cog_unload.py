"""Lifecycle: load, unload, reload, close. Nothing queued is lost; nothing keeps running."""

from __future__ import annotations

import asyncio
import copy
import sqlite3
from pathlib import Path
from typing import Any

import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from harness import UNLOAD_BOUND, Harness, Monitored, fresh_rows, make_config
from interactions import Responses, run_command

from monitoring_cog import log_command_execution
from monitoring_cog.cli.payloads import option, subcommand
from monitoring_cog.cog import MonitoringCog
from monitoring_cog.collectors.system import peek_current_system

LONG_FLUSH = "[recording]\nflush_interval = 3600\n"
EXPECTED = [("echo", True), ("add", True), ("boom", False), ("tools fail", False)]


def audit_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM audit_logs").fetchone()[0])


async def load(harness: Harness, how: str, *, ready: bool = True) -> MonitoringCog:
    """A configured bot with the cog added directly or through the real extension."""
    bot = await harness.new_bot()
    if how == "cog":
        cog = await harness.load(bot, make_config(flush_interval=3600))
    else:
        cog = await harness.load_extension(bot, LONG_FLUSH)
    harness.configure(bot, ready=ready)
    return cog


async def run_some_commands(bot: commands.Bot) -> None:
    await dpytest.message("!echo a 2")
    await run_command(bot, "add", options=[option("a", 1)])
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!boom")
    await run_command(bot, "tools", options=[subcommand("fail")])
    await dpytest.empty_queue()


async def unload(bot: commands.Bot, how: str) -> None:
    if how == "cog":
        await bot.remove_cog("Monitoring")
    else:
        await bot.unload_extension("monitoring_cog")


@pytest.mark.parametrize("how", ["cog", "extension"])
async def test_unload_writes_every_queued_record(
    harness: Harness, responses: Responses, how: str
) -> None:
    # Not ready: the health loop (whose database check flushes) stays parked.
    cog = await load(harness, how, ready=False)
    await run_some_commands(cog.bot)
    assert cog.db.recorder.pending >= 4
    assert audit_count(harness.db_path) == 0

    await unload(cog.bot, how)

    rows = await fresh_rows(harness.db_path)
    assert [(r["command"], r["success"]) for r in rows] == EXPECTED
    assert rows[0]["parameters"] == {"word": "a", "times": 2}
    assert cog.db.recorder.pending == 0
    # A database the bot passed in stays open for its owner; the cog's own is closed.
    assert cog.db.closed is (how == "extension")


@pytest.mark.parametrize("how", ["cog", "extension"])
async def test_bot_close_writes_every_queued_record(
    harness: Harness, responses: Responses, how: str
) -> None:
    cog = await load(harness, how, ready=False)
    await run_some_commands(cog.bot)
    assert audit_count(harness.db_path) == 0
    # dpytest's fake websocket has no socket for Client.close() to close.
    cog.bot.ws = None  # type: ignore[assignment]

    await cog.bot.close()

    rows = await fresh_rows(harness.db_path)
    assert [(r["command"], r["success"]) for r in rows] == EXPECTED
    assert cog.bot.get_cog("Monitoring") is None
    assert not cog.health_loop.is_running()


@pytest.mark.parametrize("ready", [True, False], ids=["running", "waiting-for-ready"])
@pytest.mark.parametrize("how", ["cog", "extension"])
async def test_health_loop_stops_on_unload(harness: Harness, how: str, ready: bool) -> None:
    cog = await load(harness, how, ready=ready)
    assert cog.health_loop.is_running()
    task = cog.health_loop.get_task()
    assert task is not None

    # A hang guard, not a timing assertion: if it fires, the cog never stopped its loop (the
    # guard's cancellation would stop it instead), so it must not have fired.
    async with asyncio.timeout(UNLOAD_BOUND) as guard:
        await unload(cog.bot, how)

    assert not guard.expired()
    assert not cog.health_loop.is_running()
    assert task.done()


@pytest.mark.parametrize("how", ["cog", "extension"])
async def test_app_commands_leave_with_the_cog_and_come_back(harness: Harness, how: str) -> None:
    cog = await load(harness, how)
    bot = cog.bot
    own = {"add", "crash", "tools", "greet", "explode"}
    own |= {"Inspect User", "Quote Message", "Report User"}
    names = {c.name for c in bot.tree.get_commands()}
    assert names == own | {"health", "stats"}

    await unload(bot, how)
    assert {c.name for c in bot.tree.get_commands()} == own

    if how == "cog":
        await harness.load(bot)
    else:
        await harness.load_extension(bot)
    assert {c.name for c in bot.tree.get_commands()} == own | {"health", "stats"}


async def test_reloaded_extension_audits_each_command_once(
    harness: Harness, responses: Responses
) -> None:
    bot = await harness.new_bot()
    before_calls: list[str] = []

    async def before(ctx: commands.Context[Any]) -> None:
        before_calls.append(str(ctx.command))

    bot.before_invoke(before)
    await harness.load_extension(bot)
    harness.configure(bot)
    await bot.unload_extension("monitoring_cog")
    assert bot._before_invoke is before
    cog = await harness.load_extension(bot)

    await dpytest.message("!echo once")
    await run_command(bot, "add", options=[option("a", 1)])

    assert before_calls == ["echo"]
    rows = await Monitored(bot, cog, harness).rows()
    assert [r["command"] for r in rows] == ["echo", "add"]
    daily = await cog.system.stats_collector.get_daily_stats(dpytest.get_config().guilds[0].id)
    assert (daily["commands"], daily["unique_users"]) == (2, 1)


async def test_the_cog_is_the_current_system_while_loaded(monitored: Monitored) -> None:
    assert peek_current_system() is monitored.cog.system
    await monitored.bot.remove_cog("Monitoring")
    assert peek_current_system() is None


def servers(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT guild_id, guild_name FROM servers").fetchall())


async def test_guilds_are_registered_on_ready_join_and_rename(harness: Harness) -> None:
    bot = await harness.new_bot()
    cog = await harness.load(bot)
    harness.configure(bot, ready=False)  # dpytest builds its guild without dispatching events.
    guild = dpytest.get_config().guilds[0]

    bot.dispatch("ready")
    await dpytest.run_all_events()
    await cog.db.flush()
    assert servers(harness.db_path) == {str(guild.id): "Test Guild 0"}

    second = dpytest.backend.make_guild("Second Guild")  # GUILD_CREATE: on_guild_join.
    await dpytest.run_all_events()
    renamed = copy.copy(second)
    renamed.name = "Renamed Guild"
    bot.dispatch("guild_update", second, renamed)
    await dpytest.run_all_events()
    await cog.db.flush()
    assert servers(harness.db_path) == {
        str(guild.id): "Test Guild 0",
        str(second.id): "Renamed Guild",
    }


async def test_guilds_are_registered_when_loaded_into_a_ready_bot(harness: Harness) -> None:
    # A bot that loads the extension at run time (e.g. a reload command) is past its
    # on_ready; the guilds it is already in should still be registered.
    bot = await harness.new_bot()
    harness.configure(bot)
    cog = await harness.load(bot)
    await dpytest.run_all_events()
    await cog.db.flush()

    assert servers(harness.db_path) == {str(dpytest.get_config().guilds[0].id): "Test Guild 0"}


async def test_helpers_imported_before_a_reload_record_into_the_reloaded_cog(
    harness: Harness,
) -> None:
    # A bot that uses the helper functions and reloads the extension (a common !reload).
    bot = await harness.new_bot()
    await harness.load_extension(bot)
    harness.configure(bot)
    guild_id = dpytest.get_config().guilds[0].id
    assert await log_command_execution(guild_id, "Test Guild 0", 1, "u", "before-reload")

    await bot.reload_extension("monitoring_cog")
    cog = bot.get_cog("Monitoring")
    assert cog is not None
    try:
        assert await log_command_execution(guild_id, "Test Guild 0", 1, "u", "after-reload")
        rows = await cog.system.cmd_logger.get_recent_commands()  # type: ignore[attr-defined]
        assert [r["command"] for r in reversed(rows)] == ["before-reload", "after-reload"]
    finally:
        stray = peek_current_system()  # What the helpers imported here now use.
        if stray is not None and stray is not cog.system:  # type: ignore[attr-defined]
            await stray.db.close()
