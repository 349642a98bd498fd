"""Commands as bots really write them: local error handlers that re-raise, variadic and
keyword-only arguments, groups, checks that take time. Each run recorded once, whole and right.
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


def add_commands(bot: commands.Bot, harness: Harness) -> list[str]:
    """The bot's commands for this module; what their error handlers saw goes in the list."""
    handled: list[str] = []
    clock = harness.clock

    @bot.command()
    async def fragile(ctx: commands.Context[Any]) -> None:
        clock.advance(0.25)
        raise RuntimeError("fragile broke")

    @fragile.error
    async def fragile_error(ctx: commands.Context[Any], error: commands.CommandError) -> None:
        handled.append(f"fragile {type(error).__name__}")
        if not isinstance(error, commands.MissingPermissions):
            raise error  # "Not mine to handle": the common pattern.

    @bot.command()
    @commands.has_permissions(administrator=True)
    async def admin(ctx: commands.Context[Any]) -> None:
        clock.advance(1.0)

    @admin.error
    async def admin_error(ctx: commands.Context[Any], error: commands.CommandError) -> None:
        handled.append(f"admin {type(error).__name__}")
        raise error

    @bot.hybrid_command()
    async def brittle(ctx: commands.Context[Any], word: str) -> None:
        clock.advance(0.5)
        raise ValueError(f"brittle: {word}")

    @brittle.error
    async def brittle_error(ctx: commands.Context[Any], error: commands.CommandError) -> None:
        handled.append(f"brittle {type(error).__name__}")
        raise error

    @bot.command()
    async def pick(ctx: commands.Context[Any], *choices: str) -> None:
        clock.advance(0.125)

    @bot.command()
    async def tag(ctx: commands.Context[Any], name: str, *rest: int) -> None:
        clock.advance(0.125)

    @bot.command()
    async def say(ctx: commands.Context[Any], times: int, *, text: str) -> None:
        clock.advance(0.125)

    @bot.group()
    async def config(ctx: commands.Context[Any]) -> None:
        clock.advance(0.5)

    @config.command(name="show")
    async def config_show(ctx: commands.Context[Any], setting: str) -> None:
        clock.advance(0.25)

    @config.group(name="advanced")
    async def config_advanced(ctx: commands.Context[Any]) -> None:
        clock.advance(0.125)

    @config_advanced.command(name="reset")
    async def config_advanced_reset(ctx: commands.Context[Any]) -> None:
        clock.advance(0.0625)

    @bot.group(invoke_without_command=True)
    async def queue(ctx: commands.Context[Any]) -> None:
        clock.advance(0.5)

    @queue.command(name="clear")
    async def queue_clear(ctx: commands.Context[Any]) -> None:
        clock.advance(0.25)

    async def slow_refusal(interaction: discord.Interaction[Any]) -> bool:
        clock.advance(3.0)  # A check that queries something slow, then says no.
        return False

    @bot.tree.command()
    @app_commands.check(slow_refusal)
    async def guarded(interaction: discord.Interaction[Any]) -> None:
        clock.advance(1.0)

    return handled


@pytest.fixture
async def forms(harness: Harness, responses: Any) -> tuple[Monitored, list[str]]:
    """The bot with this module's commands and the cog; what its error handlers saw."""
    bot = await harness.new_bot()
    handled = add_commands(bot, harness)
    cog = await harness.load(bot)
    harness.configure(bot)
    remove_dpytest_error_handler(bot)
    return Monitored(bot, cog, harness), handled


def rows_of(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["command"], r["success"], r["error_type"], r["duration"]) for r in rows]


# -- a local error handler that re-raises ------------------------------------------------------


async def test_a_prefix_failure_re_raised_by_its_error_handler_is_recorded(
    forms: tuple[Monitored, list[str]],
) -> None:
    m, handled = forms

    await dpytest.message("!fragile")
    await dpytest.message("!admin")  # The member is not an administrator: the check fails.

    assert handled == ["fragile CommandInvokeError", "admin MissingPermissions"]
    assert rows_of(await m.rows()) == [
        ("fragile", False, "RuntimeError", 0.25),
        ("admin", False, "MissingPermissions", 0.0),
    ]


async def test_a_hybrid_failure_re_raised_by_its_error_handler_is_recorded_by_either_route(
    forms: tuple[Monitored, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    m, handled = forms
    caplog.clear()

    await dpytest.message("!brittle prefix")
    with pytest.raises(commands.HybridCommandError):
        # Nothing handles it: discord.py leaves it to the tree's task, which ends with it.
        await run_command(m.bot, "brittle", options=[option("word", "slash")])

    assert handled == ["brittle CommandInvokeError", "brittle HybridCommandError"]
    rows = await m.rows()
    assert rows_of(rows) == [
        ("brittle", False, "ValueError", 0.5),
        ("brittle", False, "ValueError", 0.5),
    ]
    assert [r["parameters"] for r in rows] == [{"word": "prefix"}, {"word": "slash"}]
    # Left to surface as it does without the cog: the tree's task ends with it (above), and
    # nothing is logged in the tree's name (its on_error stays quiet: the command has a handler).
    slash_logs = [
        r for r in caplog.records if r.levelno >= logging.ERROR and "brittle" in r.getMessage()
    ]
    assert [r for r in slash_logs if r.name == "discord.app_commands.tree"] == []


# -- arguments stored whole ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "command", "parameters"),
    [
        ("!pick red green blue", "pick", {"choices": ["red", "green", "blue"]}),
        ("!pick red", "pick", {"choices": ["red"]}),
        ("!tag first 1 2 3", "tag", {"name": "first", "rest": [1, 2, 3]}),
        ("!say 2 hello there world", "say", {"times": 2, "text": "hello there world"}),
    ],
)
async def test_variadic_and_keyword_only_arguments_are_stored_whole(
    forms: tuple[Monitored, list[str]],
    message: str,
    command: str,
    parameters: dict[str, Any],
) -> None:
    m, _ = forms

    await dpytest.message(message)

    (row,) = await m.rows()
    assert (row["command"], row["parameters"], row["duration"]) == (command, parameters, 0.125)


# -- groups: one row per run -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "command", "parameters", "duration"),
    [
        # Without invoke_without_command the group's own callback runs first: one run, timed
        # from the group's start, recorded for the subcommand that ran.
        ("!config show colour", "config show", {"setting": "colour"}, 0.75),
        ("!config advanced reset", "config advanced reset", {}, 0.6875),
        ("!config", "config", {}, 0.5),
        ("!config nonsense", "config", {}, 0.5),  # No such subcommand: the group ran alone.
        ("!queue clear", "queue clear", {}, 0.25),
        ("!queue", "queue", {}, 0.5),
    ],
)
async def test_a_group_run_is_one_row_for_what_ran(
    forms: tuple[Monitored, list[str]],
    message: str,
    command: str,
    parameters: dict[str, Any],
    duration: float,
) -> None:
    m, _ = forms

    await dpytest.message(message)

    (row,) = await m.rows()
    assert (row["command"], row["parameters"], row["duration"]) == (command, parameters, duration)
    daily = await m.cog.system.stats_collector.get_daily_stats(m.guild.id)
    assert daily["commands"] == 1


# -- checks take no command time ---------------------------------------------------------------


async def test_an_app_command_refused_by_a_slow_check_has_no_duration(
    forms: tuple[Monitored, list[str]],
) -> None:
    m, _ = forms

    await run_command(m.bot, "guarded")

    assert m.bot.ran == []  # type: ignore[attr-defined]
    assert rows_of(await m.rows()) == [("guarded", False, "CheckFailure", 0.0)]


async def test_a_tree_check_that_refuses_slowly_records_no_duration(
    harness: Harness, responses: Any
) -> None:
    bot = await harness.new_bot()

    async def slow_no(interaction: discord.Interaction[Any], /) -> bool:
        harness.clock.advance(2.0)
        return False

    bot.tree.interaction_check = slow_no  # type: ignore[method-assign]
    cog = await harness.load(bot)
    harness.configure(bot)

    await run_command(bot, "crash")

    assert rows_of(await Monitored(bot, cog, harness).rows()) == [
        ("crash", False, "CheckFailure", 0.0)
    ]
