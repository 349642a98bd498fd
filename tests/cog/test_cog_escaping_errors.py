"""Errors that are not discord.py's command errors, raised by a check or a hook.

discord.py turns an error of a command's body into a ``CommandInvokeError`` (or an
``app_commands.CommandInvokeError``) and dispatches it. An error a check, a before- or
after-invoke hook or a cog's own check raises is not wrapped: unless it is a ``CommandError`` (an
``AppCommandError`` for the tree), it escapes ``bot.invoke`` (the tree's task) and nothing is
dispatched. Bots do this by accident (a blacklist check whose database query fails), which is
exactly when the failure must be on record. Each such run is recorded once, as failed, with the
error's own type, and the error still reaches the bot as before.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord import app_commands
from discord.ext import commands
from harness import Harness, Monitored, remove_dpytest_error_handler
from interactions import run_command

from monitoring_cog.cli.payloads import option


class Lookups(commands.Cog):
    """A cog whose own check and before-invoke hook may fail as a database call would."""

    def __init__(self) -> None:
        self.check_fails = False
        self.hook_fails = False
        self.after_fails = False
        self.app_check_fails = False

    async def cog_check(self, ctx: commands.Context[Any]) -> bool:
        if self.check_fails:
            raise ConnectionError("blacklist lookup failed")
        return True

    async def cog_before_invoke(self, ctx: commands.Context[Any]) -> None:
        if self.hook_fails:
            raise TimeoutError("settings lookup timed out")

    async def cog_after_invoke(self, ctx: commands.Context[Any]) -> None:
        # Runs before the bot's after hook (ours): raising here skips it.
        if self.after_fails:
            raise BufferError("usage counter full")

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if self.app_check_fails:
            raise PermissionError("role lookup failed")
        return True

    @commands.command()
    async def profile(self, ctx: commands.Context[Any]) -> None:
        """A plain command of the cog."""

    @app_commands.command()
    async def card(self, interaction: discord.Interaction[Any]) -> None:
        """A slash command of the cog."""
        await interaction.response.send_message("card")


class Broken:
    """Which of the bot's own pieces raise."""

    def __init__(self) -> None:
        self.global_check = False
        self.bot_hook = False
        self.command_check = False


@pytest.fixture
async def escaping(harness: Harness, responses: Any) -> tuple[Monitored, Broken, Lookups]:
    """A bot with checks and hooks that can raise plain exceptions, loaded with the cog."""
    bot = await harness.new_bot()
    broken = Broken()
    clock = harness.clock

    @bot.check
    async def not_banned(ctx: commands.Context[Any]) -> bool:
        if broken.global_check:
            raise RuntimeError("ban list unavailable")
        return True

    async def may_run(ctx: commands.Context[Any]) -> bool:
        if broken.command_check:
            raise KeyError("no such setting")
        return True

    @bot.command()
    @commands.check(may_run)
    async def ping(ctx: commands.Context[Any]) -> None:
        clock.advance(0.25)

    @bot.command()
    async def plain(ctx: commands.Context[Any]) -> None:
        clock.advance(0.25)

    @bot.hybrid_command()
    async def hybrid(ctx: commands.Context[Any], word: str) -> None:
        clock.advance(0.25)

    async def slash_check(interaction: discord.Interaction[Any]) -> bool:
        if broken.command_check:
            raise LookupError("slash setting missing")
        return True

    @bot.tree.command()
    @app_commands.check(slash_check)
    async def slashy(interaction: discord.Interaction[Any]) -> None:
        clock.advance(0.25)
        await interaction.response.send_message("ok")

    lookups = Lookups()
    await bot.add_cog(lookups)
    cog = await harness.load(bot)
    harness.configure(bot)
    remove_dpytest_error_handler(bot)

    async def before(ctx: commands.Context[Any]) -> None:
        if broken.bot_hook:
            raise OSError("hook failed")

    bot.before_invoke(before)  # Set after the cog loaded, as bots do.
    return Monitored(bot, cog, harness), broken, lookups


def outcomes(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["command"], r["success"], r["error_type"], r["error_message"]) for r in rows]


async def bot_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What discord.py's default on_error logged: the error still reached the bot."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "discord.client" and r.levelno >= logging.ERROR
    ]


async def test_a_global_check_that_raises_is_recorded_as_the_commands_failure(
    escaping: tuple[Monitored, Broken, Lookups], caplog: pytest.LogCaptureFixture
) -> None:
    m, broken, _ = escaping
    broken.global_check = True
    caplog.clear()

    await dpytest.message("!plain")
    await dpytest.message("!ping")
    broken.global_check = False
    await dpytest.message("!plain")

    assert outcomes(await m.rows()) == [
        ("plain", False, "RuntimeError", "ban list unavailable"),
        ("ping", False, "RuntimeError", "ban list unavailable"),
        ("plain", True, None, None),
    ]
    # discord.py still reports it as before: the exception left on_message.
    assert await bot_errors(caplog) == ["Ignoring exception in on_message"] * 2


async def test_command_and_cog_checks_and_before_hooks_that_raise_are_recorded(
    escaping: tuple[Monitored, Broken, Lookups],
) -> None:
    m, broken, lookups = escaping

    broken.command_check = True
    await dpytest.message("!ping")
    broken.command_check = False
    lookups.check_fails = True
    await dpytest.message("!profile")
    lookups.check_fails = False
    lookups.hook_fails = True
    await dpytest.message("!profile")
    lookups.hook_fails = False
    broken.bot_hook = True
    await dpytest.message("!plain")
    broken.bot_hook = False
    lookups.after_fails = True
    await dpytest.message("!profile")
    lookups.after_fails = False
    await dpytest.message("!profile")

    assert outcomes(await m.rows()) == [
        ("ping", False, "KeyError", "'no such setting'"),
        ("profile", False, "ConnectionError", "blacklist lookup failed"),
        ("profile", False, "TimeoutError", "settings lookup timed out"),
        ("plain", False, "OSError", "hook failed"),
        ("profile", False, "BufferError", "usage counter full"),
        ("profile", True, None, None),
    ]


async def test_a_hybrid_command_refused_by_a_raising_global_check_is_recorded_once(
    escaping: tuple[Monitored, Broken, Lookups],
) -> None:
    m, broken, _ = escaping
    broken.global_check = True

    await dpytest.message("!hybrid prefix")

    assert outcomes(await m.rows()) == [
        ("hybrid", False, "RuntimeError", "ban list unavailable"),
    ]


async def test_a_slash_check_that_raises_is_recorded_and_still_reaches_the_tree_task(
    escaping: tuple[Monitored, Broken, Lookups],
) -> None:
    m, broken, _ = escaping
    broken.command_check = True

    with pytest.raises(LookupError):
        await run_command(m.bot, "slashy")
    broken.command_check = False
    await run_command(m.bot, "slashy")

    assert outcomes(await m.rows()) == [
        ("slashy", False, "LookupError", "slash setting missing"),
        ("slashy", True, None, None),
    ]


async def test_a_hybrid_run_as_slash_refused_by_a_raising_check_is_recorded(
    escaping: tuple[Monitored, Broken, Lookups],
) -> None:
    m, broken, _ = escaping
    broken.global_check = True

    # The hybrid command's app side runs the bot's checks itself: the error leaves the task.
    with pytest.raises(RuntimeError, match="ban list unavailable"):
        await run_command(m.bot, "hybrid", options=[option("word", "slash")])

    assert outcomes(await m.rows()) == [
        ("hybrid", False, "RuntimeError", "ban list unavailable"),
    ]


async def test_the_trees_check_and_a_cogs_interaction_check_that_raise_are_recorded(
    escaping: tuple[Monitored, Broken, Lookups],
) -> None:
    m, _, lookups = escaping

    lookups.app_check_fails = True
    with pytest.raises(PermissionError):  # Still ends the tree's task, as without the cog.
        await run_command(m.bot, "card")
    lookups.app_check_fails = False

    async def tree_check(interaction: discord.Interaction[Any], /) -> bool:
        raise ValueError("tree check broke")

    m.bot.tree.interaction_check = tree_check  # type: ignore[method-assign]  # After the cog.
    with pytest.raises(ValueError, match="tree check broke"):
        await run_command(m.bot, "slashy")
    del m.bot.tree.interaction_check
    await run_command(m.bot, "card")

    assert outcomes(await m.rows()) == [
        ("card", False, "PermissionError", "role lookup failed"),
        ("slashy", False, "ValueError", "tree check broke"),
        ("card", True, None, None),
    ]
