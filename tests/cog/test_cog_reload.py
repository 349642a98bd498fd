"""Reloading the extension from inside a command, or while commands run: each recorded once.

Bots reload their extensions from a command (``/reload``, ``!reload``) all the time. The command
that reloads ends after the new cog loaded; a command that was running meanwhile ends under the
new cog too. Both must be recorded, once, with their duration.

The real extension runs on the system clock here: each command sleeps a known time, and its
recorded duration is checked between that and the time the test saw it take.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from harness import Harness, Monitored
from interactions import Responses, make_interaction, run_command
from interactions import invoke as invoke_interaction

from monitoring_cog.cli.payloads import option

NAP = 0.05
"""Seconds each command below sleeps."""


def add_reload_commands(bot: commands.Bot, harness: Harness) -> asyncio.Event:
    """``/reload``, ``!reload``, and ``/wait`` which runs until the returned event is set."""
    release = asyncio.Event()

    @bot.tree.command(name="reload")
    async def reload_slash(interaction: discord.Interaction[Any]) -> None:
        await asyncio.sleep(NAP)
        await bot.reload_extension("monitoring_cog")
        await interaction.response.send_message("reloaded")

    @bot.command(name="reload")
    async def reload_prefix(ctx: commands.Context[Any]) -> None:
        await asyncio.sleep(NAP)
        await bot.reload_extension("monitoring_cog")
        await ctx.send("reloaded")

    @bot.tree.command(name="wait")
    async def wait(interaction: discord.Interaction[Any]) -> None:
        await release.wait()
        await asyncio.sleep(NAP)
        await interaction.response.send_message("done")

    @bot.tree.command(name="wait_and_fail")
    async def wait_and_fail(interaction: discord.Interaction[Any]) -> None:
        await release.wait()
        await asyncio.sleep(NAP)
        raise RuntimeError("failed after the reload")

    return release


def current_cog(bot: commands.Bot) -> Any:
    cog = bot.get_cog("Monitoring")
    assert cog is not None
    return cog


async def test_a_slash_command_that_reloads_the_extension_is_recorded_once(
    harness: Harness, responses: Responses
) -> None:
    bot = await harness.new_bot()
    add_reload_commands(bot, harness)
    first = await harness.load_extension(bot)
    harness.configure(bot)

    start = time.perf_counter()
    await run_command(bot, "reload")
    took = time.perf_counter() - start
    await run_command(bot, "add", options=[option("a", 1)])

    cog = current_cog(bot)
    assert cog is not first
    rows = await Monitored(bot, cog, harness).rows()
    assert [(r["command"], r["success"]) for r in rows] == [("reload", True), ("add", True)]
    assert NAP <= rows[0]["duration"] <= took


async def test_a_prefix_command_that_reloads_the_extension_is_recorded_once(
    harness: Harness, responses: Responses
) -> None:
    bot = await harness.new_bot()
    add_reload_commands(bot, harness)
    await harness.load_extension(bot)
    harness.configure(bot)

    start = time.perf_counter()
    await dpytest.message("!reload")
    took = time.perf_counter() - start
    await dpytest.message("!echo after")

    rows = await Monitored(bot, current_cog(bot), harness).rows()
    assert [(r["command"], r["success"]) for r in rows] == [("reload", True), ("echo", True)]
    assert NAP <= rows[0]["duration"] <= took


@pytest.mark.parametrize(
    ("command", "success", "error_type"),
    [("wait", True, None), ("wait_and_fail", False, "RuntimeError")],
)
async def test_a_slash_command_running_while_the_extension_reloads_is_recorded_once(
    harness: Harness,
    responses: Responses,
    command: str,
    success: bool,
    error_type: str | None,
) -> None:
    bot = await harness.new_bot()
    release = add_reload_commands(bot, harness)
    await harness.load_extension(bot)
    harness.configure(bot)

    start = time.perf_counter()
    running = asyncio.create_task(invoke_interaction(bot, make_interaction(bot, command)))
    for _ in range(10):  # Let it start and block.
        await asyncio.sleep(0)
    assert not running.done()
    await bot.reload_extension("monitoring_cog")
    release.set()
    await running  # A failure is handled (logged) by the tree's error handler.
    took = time.perf_counter() - start

    rows = await Monitored(bot, current_cog(bot), harness).rows()
    assert [(r["command"], r["success"], r["error_type"]) for r in rows] == [
        (command, success, error_type)
    ]
    assert NAP <= rows[0]["duration"] <= took
