"""Hooks a bot sets after the cog loaded: every command still recorded once, every hook run once.

Error-handler cogs and ``setup_hook`` code commonly run after ``load_extension("monitoring_cog")``
and fill discord.py's single hook slots themselves: ``bot.tree.on_error = ...``,
``@bot.tree.error``, ``tree.interaction_check``, ``bot.before_invoke(...)``,
``bot.after_invoke(...)``. Whatever the order, each command is recorded once with its right
duration, the bot's own hook runs once, and unload leaves the bot's latest hooks in place.
"""

from __future__ import annotations

from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord import app_commands
from discord.ext import commands
from harness import DURATIONS, Harness, Monitored
from interactions import run_command

from monitoring_cog.cli.payloads import option


class Calls(list[str]):
    """The bot's own hooks, in the order they ran."""

    def hooks(self) -> dict[str, Any]:
        calls = self

        async def before(ctx: commands.Context[Any]) -> None:
            calls.append(f"before {ctx.command}")

        async def after(ctx: commands.Context[Any]) -> None:
            calls.append(f"after {ctx.command}")

        async def check(interaction: discord.Interaction[Any], /) -> bool:
            calls.append(f"check {interaction.command.qualified_name}")  # type: ignore[union-attr]
            return True

        async def on_error(
            interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /
        ) -> None:
            calls.append(f"on_error {type(error).__name__}")

        return {"before": before, "after": after, "check": check, "on_error": on_error}


class ErrorHandler(commands.Cog):
    """A typical error-handler cog: takes the tree's error handler on load, gives it back."""

    def __init__(self, bot: commands.Bot, calls: Calls) -> None:
        self.bot = bot
        self.calls = calls
        self._previous: Any = None

    async def cog_load(self) -> None:
        self._previous = self.bot.tree.on_error
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous  # type: ignore[method-assign]

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        self.calls.append(f"handler {type(error).__name__}")


async def run_everything(bot: commands.Bot) -> None:
    """A success and a failure of each kind."""
    await dpytest.message("!echo hi")
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!boom")
    await run_command(bot, "add", options=[option("a", 1)])
    await run_command(bot, "crash")
    await run_command(bot, "greet", options=[option("name", "Bob")])
    await dpytest.empty_queue()


EXPECTED_ROWS = [
    ("echo", True, DURATIONS["echo"]),
    ("boom", False, DURATIONS["boom"]),
    ("add", True, DURATIONS["add"]),
    ("crash", False, 0.0),
    ("greet", True, DURATIONS["greet"]),
]


def summary(rows: list[dict[str, Any]]) -> list[tuple[str, bool, float]]:
    return [(r["command"], r["success"], r["duration"]) for r in rows]


async def test_every_hook_set_after_load_runs_once_and_every_command_is_recorded(
    monitored: Monitored,
) -> None:
    bot = monitored.bot
    calls = Calls()
    own = calls.hooks()
    # What a setup_hook that runs after load_extension("monitoring_cog") does.
    bot.before_invoke(own["before"])
    bot.after_invoke(own["after"])
    bot.tree.interaction_check = own["check"]  # type: ignore[method-assign]
    bot.tree.error(own["on_error"])

    await run_everything(bot)

    assert summary(await monitored.rows()) == EXPECTED_ROWS
    assert calls == [
        "before echo",
        "after echo",
        "before boom",
        "after boom",
        "check add",
        "check crash",
        "on_error CommandInvokeError",
        "check greet",
        "before greet",
        "after greet",
    ]

    await bot.remove_cog("Monitoring")
    assert bot._before_invoke is own["before"]
    assert bot._after_invoke is own["after"]
    assert bot.tree.interaction_check is own["check"]
    assert bot.tree.on_error is own["on_error"]
    assert "invoke" not in vars(bot)
    # Unloaded: the bot's hooks alone, once each, and nothing more recorded.
    calls.clear()
    await dpytest.message("!echo again")
    await run_command(bot, "crash")
    assert calls == ["before echo", "after echo", "check crash", "on_error CommandInvokeError"]
    assert len(await monitored.rows()) == len(EXPECTED_ROWS)


async def test_an_error_handler_cog_loaded_after_ours_keeps_slash_failures_recorded(
    monitored: Monitored,
) -> None:
    bot = monitored.bot
    calls = Calls()
    await bot.add_cog(ErrorHandler(bot, calls))

    await run_command(bot, "crash")
    await run_command(bot, "health")  # Refused: the member lacks Manage Server.
    await run_command(bot, "add", options=[option("a", 1)])

    rows = await monitored.rows()
    assert [(r["command"], r["success"], r["error_type"]) for r in rows] == [
        ("crash", False, "LookupError"),
        ("health", False, "MissingPermissions"),
        ("add", True, None),
    ]
    assert calls == ["handler CommandInvokeError", "handler MissingPermissions"]

    # Unloaded in the reverse order, each gives back what it took.
    await bot.remove_cog("ErrorHandler")
    await bot.remove_cog("Monitoring")
    assert "on_error" not in vars(bot.tree)


async def test_our_cog_loaded_after_the_error_handler_cog_records_the_same(
    harness: Harness, responses: Any
) -> None:
    bot = await harness.new_bot()
    calls = Calls()
    error_handler = ErrorHandler(bot, calls)
    await bot.add_cog(error_handler)
    cog = await harness.load(bot)
    harness.configure(bot)

    await run_command(bot, "crash")
    await run_command(bot, "add", options=[option("a", 1)])

    rows = await Monitored(bot, cog, harness).rows()
    assert [(r["command"], r["success"]) for r in rows] == [("crash", False), ("add", True)]
    assert calls == ["handler CommandInvokeError"]

    # Unloaded first (any order): the error handler keeps its slot, and gives it back later.
    await bot.remove_cog("Monitoring")
    assert bot.tree.on_error == error_handler.on_app_command_error
    await bot.remove_cog("ErrorHandler")
    assert bot.tree.on_error.__func__ is app_commands.CommandTree.on_error  # type: ignore[attr-defined]


async def test_a_bot_hook_that_calls_the_one_it_replaced_runs_once_and_records_once(
    monitored: Monitored,
) -> None:
    bot = monitored.bot
    calls = Calls()
    # Chaining by hand to whatever was there (the cog's hooks): each runs once, nothing twice.
    previous_after = bot._after_invoke
    previous_on_error = bot.tree.on_error
    previous_check = bot.tree.interaction_check

    async def after(ctx: commands.Context[Any]) -> None:
        calls.append("after")
        await previous_after(ctx)  # type: ignore[misc]

    async def on_error(
        interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        calls.append("on_error")
        await previous_on_error(interaction, error)

    async def check(interaction: discord.Interaction[Any], /) -> bool:
        calls.append("check")
        return await previous_check(interaction)

    bot.after_invoke(after)
    bot.tree.on_error = on_error  # type: ignore[method-assign]
    bot.tree.interaction_check = check  # type: ignore[method-assign]

    await run_everything(bot)

    assert summary(await monitored.rows()) == EXPECTED_ROWS
    assert calls == ["after", "after", "check", "check", "on_error", "check", "after"]


async def test_an_interaction_check_set_after_load_that_refuses_is_recorded_once(
    monitored: Monitored,
) -> None:
    bot = monitored.bot

    async def refuse(interaction: discord.Interaction[Any], /) -> bool:
        return False

    bot.tree.interaction_check = refuse  # type: ignore[method-assign]

    await run_command(bot, "add", options=[option("a", 1)])

    assert bot.ran == []  # type: ignore[attr-defined]
    (row,) = await monitored.rows()
    assert (row["command"], row["success"], row["error_type"], row["duration"]) == (
        "add",
        False,
        "CheckFailure",
        0.0,
    )


async def test_hooks_replaced_twice_leave_the_latest_in_place(monitored: Monitored) -> None:
    bot = monitored.bot
    first, second = Calls(), Calls()
    bot.after_invoke(first.hooks()["after"])
    await dpytest.message("!echo one")
    latest = second.hooks()["after"]
    bot.after_invoke(latest)
    await dpytest.message("!echo two")

    rows = await monitored.rows()
    assert [(r["command"], r["parameters"]) for r in rows] == [
        ("echo", {"word": "one", "times": 1}),
        ("echo", {"word": "two", "times": 1}),
    ]
    assert first == ["after echo"]
    assert second == ["after echo"]
    await bot.remove_cog("Monitoring")
    assert bot._after_invoke is latest
