"""Good citizenship: the cog chains to the bot's own hooks and handlers, and gives them back.

discord.py has single slots for ``bot.before_invoke``/``after_invoke`` and the tree's
``interaction_check``/``on_error``; the cog must keep calling what the bot put there, leave
error handling (and error logging) as it was, and restore every slot it took on unload.
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

from monitoring_cog import CommandLogger
from monitoring_cog.cli.payloads import option

IGNORING = "Ignoring exception in command boom"


def add_invoke_hooks(bot: commands.Bot) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    async def before(ctx: commands.Context[Any]) -> None:
        calls.append(("before", ctx.command.qualified_name if ctx.command else "?"))

    async def after(ctx: commands.Context[Any]) -> None:
        calls.append(("after", ctx.command.qualified_name if ctx.command else "?"))

    bot.before_invoke(before)
    bot.after_invoke(after)
    return calls


async def run_mix(bot: commands.Bot) -> None:
    """One of each prefix/hybrid outcome; errors are swallowed (dpytest re-raises them)."""
    await dpytest.message("!echo hi")
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!boom")
    with pytest.raises(commands.CheckFailure):
        await dpytest.message("!secret")
    await dpytest.message("!greet Ann")
    await run_command(bot, "greet", options=[option("name", "Bob")])
    await run_command(bot, "explode", options=[option("reason", "r")])
    await dpytest.empty_queue()


async def test_invoke_hooks_set_before_load_run_as_without_the_cog(
    harness: Harness, responses: Any
) -> None:
    # What discord.py does with the bot's hooks and no cog...
    plain = await harness.new_bot()
    plain_calls = add_invoke_hooks(plain)
    harness.configure(plain)
    await run_mix(plain)

    # ...is exactly what it does with the cog loaded.
    bot = await harness.new_bot()
    calls = add_invoke_hooks(bot)
    before, after = bot._before_invoke, bot._after_invoke
    cog = await harness.load(bot)
    harness.configure(bot)
    await run_mix(bot)

    assert calls == plain_calls
    assert calls == [
        ("before", "echo"),
        ("after", "echo"),
        ("before", "boom"),
        ("after", "boom"),
        ("before", "greet"),
        ("after", "greet"),
        ("before", "greet"),
        ("after", "greet"),
        ("before", "explode"),  # A hybrid run as a slash command that raises: no after_invoke.
    ]
    rows = await Monitored(bot, cog, harness).rows()
    assert [(r["command"], r["success"]) for r in rows] == [
        ("echo", True),
        ("boom", False),
        ("secret", False),
        ("greet", True),
        ("greet", True),
        ("explode", False),
    ]

    await bot.remove_cog("Monitoring")
    assert bot._before_invoke is before
    assert bot._after_invoke is after
    calls.clear()
    await dpytest.message("!echo again")
    assert calls == [("before", "echo"), ("after", "echo")]
    # Unloaded: nothing more is audited.
    assert len(await CommandLogger(cog.db).get_recent_commands()) == 6


async def test_without_bot_hooks_unload_empties_the_slots(monitored: Monitored) -> None:
    assert monitored.bot._before_invoke is not None
    assert {"invoke"} <= set(vars(monitored.bot))
    assert {"interaction_check", "on_error", "_call"} <= set(vars(monitored.bot.tree))
    await monitored.bot.remove_cog("Monitoring")
    assert monitored.bot._before_invoke is None
    assert monitored.bot._after_invoke is None
    assert "invoke" not in vars(monitored.bot)
    for attribute in ("interaction_check", "on_error", "_call"):
        assert attribute not in vars(monitored.bot.tree)


async def test_tree_interaction_check_instance_attribute_is_chained_and_restored(
    harness: Harness, responses: Any
) -> None:
    bot = await harness.new_bot()
    seen: list[str] = []

    async def own_check(interaction: discord.Interaction[Any], /) -> bool:
        seen.append(interaction.command.qualified_name if interaction.command else "?")
        return True

    bot.tree.interaction_check = own_check  # type: ignore[method-assign]
    cog = await harness.load(bot)
    harness.configure(bot)

    await run_command(bot, "add", options=[option("a", 1)])
    await run_command(bot, "greet", options=[option("name", "Bob")])

    assert seen == ["add", "greet"]
    rows = await Monitored(bot, cog, harness).rows()
    assert [(r["command"], r["success"]) for r in rows] == [("add", True), ("greet", True)]

    await bot.remove_cog("Monitoring")
    assert bot.tree.interaction_check is own_check


class OwnTree(app_commands.CommandTree[Any]):
    """A bot's own tree whose interaction_check refuses members named in ``refused``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[str] = []
        self.refused: set[int] = set()

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        self.seen.append(interaction.command.qualified_name if interaction.command else "?")
        return interaction.user.id not in self.refused


async def test_subclassed_tree_interaction_check_is_chained_and_restored(
    harness: Harness, responses: Any
) -> None:
    bot = await harness.new_bot(tree_cls=OwnTree)
    tree = bot.tree
    assert isinstance(tree, OwnTree)
    cog = await harness.load(bot)
    harness.configure(bot)
    tree.refused.add(dpytest.get_config().members[1].id)

    await run_command(bot, "add", options=[option("a", 1)])
    await run_command(bot, "add", options=[option("a", 2)], member=dpytest.get_config().members[1])

    assert tree.seen == ["add", "add"]
    assert bot.ran == ["add"]  # type: ignore[attr-defined]
    rows = await Monitored(bot, cog, harness).rows()
    assert [(r["success"], r["error_type"]) for r in rows] == [
        (True, None),
        (False, "CheckFailure"),
    ]

    await bot.remove_cog("Monitoring")
    assert "interaction_check" not in vars(tree)
    assert tree.interaction_check.__func__ is OwnTree.interaction_check  # type: ignore[attr-defined]


async def test_tree_error_handler_is_still_called_and_restored(
    harness: Harness, responses: Any
) -> None:
    bot = await harness.new_bot()
    handled: list[tuple[str, type[BaseException]]] = []

    @bot.tree.error
    async def on_tree_error(
        interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        handled.append(
            (interaction.command.qualified_name if interaction.command else "?", type(error))
        )

    cog = await harness.load(bot)
    harness.configure(bot)

    await run_command(bot, "crash")
    await run_command(bot, "health")  # Refused: no Manage Server.

    assert handled == [
        ("crash", app_commands.CommandInvokeError),
        ("health", app_commands.MissingPermissions),
    ]
    rows = await Monitored(bot, cog, harness).rows()
    assert [(r["command"], r["error_type"]) for r in rows] == [
        ("crash", "LookupError"),
        ("health", "MissingPermissions"),
    ]

    await bot.remove_cog("Monitoring")
    assert bot.tree.on_error is on_tree_error


async def test_bot_on_command_error_listener_is_still_called(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await harness.new_bot()
    handled: list[type[BaseException]] = []

    async def own_handler(ctx: commands.Context[Any], error: commands.CommandError) -> None:
        handled.append(type(error))

    bot.add_listener(own_handler, "on_command_error")
    cog = await harness.load(bot)
    harness.configure(bot)
    remove_dpytest_error_handler(bot)
    caplog.clear()

    await dpytest.message("!boom")
    await dpytest.message("!secret")

    assert handled == [commands.CommandInvokeError, commands.CheckFailure]
    assert len(await Monitored(bot, cog, harness).rows()) == 2
    # The bot handles its errors: nobody logs them a second time.
    assert [r for r in caplog.records if r.name == "discord.ext.commands.bot"] == []


class OwnBot(commands.Bot):
    """A bot whose class overrides on_command_error."""

    handled: list[type[BaseException]]

    async def on_command_error(
        self, context: commands.Context[Any], exception: commands.CommandError, /
    ) -> None:
        self.handled.append(type(exception))


async def test_bot_subclass_on_command_error_is_still_called(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await harness.new_bot(bot_cls=OwnBot)
    assert isinstance(bot, OwnBot)
    bot.handled = []
    cog = await harness.load(bot)
    harness.configure(bot)
    remove_dpytest_error_handler(bot)
    caplog.clear()

    await dpytest.message("!boom")
    await dpytest.message("!echo")  # MissingRequiredArgument

    assert bot.handled == [commands.CommandInvokeError, commands.MissingRequiredArgument]
    assert len(await Monitored(bot, cog, harness).rows()) == 2
    assert [r for r in caplog.records if r.name == "discord.ext.commands.bot"] == []


def ignoring_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "discord.ext.commands.bot" and r.getMessage() == IGNORING
    ]


async def test_unhandled_errors_are_still_logged_as_discord_py_does(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await harness.new_bot()
    harness.configure(bot)
    remove_dpytest_error_handler(bot)

    # Before the cog: discord.py's default handler logs the error.
    caplog.clear()
    await dpytest.message("!boom")
    (before,) = ignoring_records(caplog)

    # With the cog: still logged, once (it watches errors without a listener of its own).
    await harness.load(bot)
    caplog.clear()
    await dpytest.message("!boom")
    (loaded,) = ignoring_records(caplog)

    # Unloaded: discord.py's default handler again, once.
    await bot.remove_cog("Monitoring")
    caplog.clear()
    await dpytest.message("!boom")
    (after,) = ignoring_records(caplog)

    for record in (before, loaded, after):
        assert record.levelno == logging.ERROR
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], commands.CommandInvokeError)
        assert isinstance(record.exc_info[1].original, RuntimeError)


async def test_errors_with_a_command_error_handler_are_not_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await harness.new_bot()
    handled: list[str] = []

    @bot.command()
    async def fragile(ctx: commands.Context[Any]) -> None:
        raise RuntimeError("fragile")

    @fragile.error
    async def fragile_error(ctx: commands.Context[Any], error: commands.CommandError) -> None:
        handled.append(str(error))

    cog = await harness.load(bot)
    harness.configure(bot)
    remove_dpytest_error_handler(bot)
    caplog.clear()

    await dpytest.message("!fragile")

    assert handled == ["Command raised an exception: RuntimeError: fragile"]
    assert [r for r in caplog.records if r.name == "discord.ext.commands.bot"] == []
    (row,) = await Monitored(bot, cog, harness).rows()
    assert (row["command"], row["error_type"]) == ("fragile", "RuntimeError")


async def test_hooks_replaced_while_loaded_are_left_alone_on_unload(
    monitored: Monitored,
) -> None:
    # Set after the cog loaded and never run: unload still leaves the bot's latest in place.
    bot = monitored.bot

    async def new_before(ctx: commands.Context[Any]) -> None: ...

    async def new_after(ctx: commands.Context[Any]) -> None: ...

    async def new_check(interaction: discord.Interaction[Any], /) -> bool:
        return True

    async def new_on_error(
        interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None: ...

    bot.before_invoke(new_before)
    bot.after_invoke(new_after)
    bot.tree.interaction_check = new_check  # type: ignore[method-assign]
    bot.tree.error(new_on_error)

    await bot.remove_cog("Monitoring")

    assert bot._before_invoke is new_before
    assert bot._after_invoke is new_after
    assert bot.tree.interaction_check is new_check
    assert bot.tree.on_error is new_on_error


async def test_load_unload_load_leaves_one_set_of_hooks(harness: Harness, responses: Any) -> None:
    bot = await harness.new_bot()
    calls = add_invoke_hooks(bot)
    original_before = bot._before_invoke
    checks: list[str] = []

    async def own_check(interaction: discord.Interaction[Any], /) -> bool:
        checks.append("check")
        return True

    bot.tree.interaction_check = own_check  # type: ignore[method-assign]
    db = harness.database()
    first = await harness.load(bot, db=db)
    harness.configure(bot)
    await bot.remove_cog("Monitoring")
    assert not first.health_loop.is_running()
    second = await harness.load(bot, db=db)

    await dpytest.message("!echo once")
    await run_command(bot, "add", options=[option("a", 1)])

    assert calls == [("before", "echo"), ("after", "echo")]
    assert checks == ["check"]
    rows = await Monitored(bot, second, harness).rows()
    assert [r["command"] for r in rows] == ["echo", "add"]
    daily = await second.system.stats_collector.get_daily_stats(dpytest.get_config().guilds[0].id)
    assert daily["commands"] == 2

    await bot.remove_cog("Monitoring")
    assert bot._before_invoke is original_before
    assert bot.tree.interaction_check is own_check


async def test_unhandled_hybrid_slash_error_is_logged_once(
    harness: Harness, caplog: pytest.LogCaptureFixture, responses: Any
) -> None:
    bot = await harness.new_bot()
    await harness.load(bot)
    harness.configure(bot)
    remove_dpytest_error_handler(bot)
    caplog.clear()

    await run_command(bot, "explode", options=[option("reason", "r")])

    records = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [(r.name, r.getMessage()) for r in records] == [
        ("discord.ext.commands.bot", "Ignoring exception in command explode")
    ]


async def test_unhandled_app_command_error_is_still_logged_by_the_tree_once(
    monitored: Monitored, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()

    await run_command(monitored.bot, "crash")

    records = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [(r.name, r.getMessage()) for r in records] == [
        ("discord.app_commands.tree", "Ignoring exception in command 'crash'")
    ]
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], app_commands.CommandInvokeError)
