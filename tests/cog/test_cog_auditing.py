"""Every command the bot runs is audited once, with what the user gave and how it ended.

Prefix commands go through dpytest; slash commands, subcommands and context menus through real
``discord.Interaction`` objects and ``CommandTree._call``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord import app_commands
from discord.ext import commands
from fakes import NOW
from harness import DURATIONS, Harness, Monitored
from interactions import invoke as invoke_interaction
from interactions import make_interaction, run_command

from monitoring_cog.cli.payloads import AUTOCOMPLETE, MESSAGE_MENU, USER_MENU, option, subcommand

AUTOCOMPLETE_RESULT = 8


def assert_row(
    row: dict[str, Any],
    m: Monitored,
    *,
    command: str,
    parameters: dict[str, Any],
    success: bool = True,
    error_type: str | None = None,
    error_message: str | None = None,
    member: discord.Member | None = None,
) -> None:
    member = member if member is not None else m.members[0]
    assert row["command"] == command
    assert row["guild_id"] == str(m.guild.id)
    assert row["guild_name"] == "Test Guild 0"
    assert row["user_id"] == str(member.id)
    assert row["username"] == str(member)
    assert row["parameters"] == parameters
    assert row["success"] is success
    assert row["error_type"] == error_type
    assert row["error_message"] == error_message
    assert row["duration"] >= 0


# -- one row per run, for every kind of command ------------------------------------------------

Runner = Callable[[Monitored], Awaitable[dict[str, Any]]]


async def prefix(m: Monitored) -> dict[str, Any]:
    await dpytest.message("!echo hello 3")
    return {"word": "hello", "times": 3}


async def hybrid_prefix(m: Monitored) -> dict[str, Any]:
    await dpytest.message("!greet Bob yes")
    return {"name": "Bob", "excited": True}


async def hybrid_slash(m: Monitored) -> dict[str, Any]:
    options = [option("name", "Bob"), option("excited", True)]
    await run_command(m.bot, "greet", options=options)
    return {"name": "Bob", "excited": True}


async def slash(m: Monitored) -> dict[str, Any]:
    await run_command(m.bot, "add", options=[option("a", 5), option("b", 7)])
    return {"a": 5, "b": 7}


async def slash_subcommand(m: Monitored) -> dict[str, Any]:
    await run_command(m.bot, "tools", options=[subcommand("ping", [option("loud", True)])])
    return {"loud": True}


async def user_menu(m: Monitored) -> dict[str, Any]:
    target = m.members[1]
    await run_command(m.bot, "Inspect User", command_type=USER_MENU, target=target)
    return {"target_id": str(target.id)}


async def message_menu(m: Monitored) -> dict[str, Any]:
    interaction = make_interaction(
        m.bot, "Quote Message", command_type=MESSAGE_MENU, target_message_content="quote me"
    )
    await invoke_interaction(m.bot, interaction)
    data: Any = interaction.data
    return {"target_id": data["target_id"]}


KINDS: list[tuple[str, Runner, str]] = [
    ("prefix", prefix, "echo"),
    ("hybrid via prefix", hybrid_prefix, "greet"),
    ("hybrid via slash", hybrid_slash, "greet"),
    ("slash", slash, "add"),
    ("slash subcommand", slash_subcommand, "tools ping"),
    ("user context menu", user_menu, "Inspect User"),
    ("message context menu", message_menu, "Quote Message"),
]


@pytest.mark.parametrize(("run", "command"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS])
async def test_each_kind_of_command_is_audited_once(
    monitored: Monitored, run: Runner, command: str
) -> None:
    parameters = await run(monitored)

    rows = await monitored.rows()
    assert monitored.bot.ran == [command]  # type: ignore[attr-defined]
    assert len(rows) == 1
    assert_row(rows[0], monitored, command=command, parameters=parameters)
    # The command moved the manual clock by a known amount: the duration is exactly that.
    assert rows[0]["duration"] == DURATIONS[command]
    assert rows[0]["executed_at"] == NOW


@pytest.mark.parametrize(("run", "command"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS])
async def test_each_kind_is_audited_once_through_the_real_extension(
    harness: Harness, responses: Any, run: Runner, command: str
) -> None:
    bot = await harness.new_bot()
    cog = await harness.load_extension(bot)
    harness.configure(bot)
    m = Monitored(bot, cog, harness)

    parameters = await run(m)

    rows = await m.rows()
    assert len(rows) == 1
    assert_row(rows[0], m, command=command, parameters=parameters)
    assert cog.db.path == str(harness.db_path)


async def test_hybrid_command_is_counted_once_by_either_route(monitored: Monitored) -> None:
    await hybrid_prefix(monitored)
    await hybrid_slash(monitored)

    rows = await monitored.rows()
    assert [r["command"] for r in rows] == ["greet", "greet"]
    assert rows[0]["parameters"] == rows[1]["parameters"] == {"name": "Bob", "excited": True}
    system = monitored.cog.system
    daily = await system.stats_collector.get_daily_stats(monitored.guild.id)
    assert daily["commands"] == 2
    perf = await system.perf_monitor.get_performance_stats(monitored.guild.id)
    assert [(c["command"], c["count"]) for c in perf["slowest_commands"]] == [("greet", 2)]
    assert len(system.perf_monitor.metrics["command:greet"]) == 2


async def test_slash_options_the_user_left_out_are_not_recorded(monitored: Monitored) -> None:
    await run_command(monitored.bot, "add", options=[option("a", 5)])

    (row,) = await monitored.rows()
    assert row["parameters"] == {"a": 5}
    assert row["success"] is True


# -- failures ----------------------------------------------------------------------------------


async def test_exception_in_prefix_command(monitored: Monitored) -> None:
    with pytest.raises(commands.CommandInvokeError) as raised:
        await dpytest.message("!boom")
    assert isinstance(raised.value.original, RuntimeError)

    (row,) = await monitored.rows()
    assert_row(
        row,
        monitored,
        command="boom",
        parameters={},
        success=False,
        error_type="RuntimeError",
        error_message="kaboom",
    )
    assert row["duration"] == DURATIONS["boom"]


async def test_failed_check(monitored: Monitored) -> None:
    with pytest.raises(commands.CheckFailure):
        await dpytest.message("!secret")

    (row,) = await monitored.rows()
    assert_row(
        row,
        monitored,
        command="secret",
        parameters={},
        success=False,
        error_type="CheckFailure",
        error_message="The check functions for command secret failed.",
    )
    assert row["duration"] == 0.0
    assert monitored.bot.ran == []  # type: ignore[attr-defined]


async def test_missing_required_argument(monitored: Monitored) -> None:
    with pytest.raises(commands.MissingRequiredArgument):
        await dpytest.message("!echo")

    (row,) = await monitored.rows()
    assert_row(
        row,
        monitored,
        command="echo",
        parameters={},
        success=False,
        error_type="MissingRequiredArgument",
        error_message="word is a required argument that is missing.",
    )


async def test_bad_argument(monitored: Monitored) -> None:
    with pytest.raises(commands.BadArgument):
        await dpytest.message("!echo hi notanint")

    (row,) = await monitored.rows()
    assert row["command"] == "echo"
    assert row["success"] is False
    assert row["error_type"] == "BadArgument"
    assert row["error_message"] == 'Converting to "int" failed for parameter "times".'
    # What the user typed is kept, including the value that could not be converted.
    assert row["parameters"].get("word") == "hi"
    assert "notanint" in json.dumps(row["parameters"])


async def test_cooldown(monitored: Monitored) -> None:
    await dpytest.message("!daily")
    with pytest.raises(commands.CommandOnCooldown):
        await dpytest.message("!daily")

    first, second = await monitored.rows()
    assert (first["command"], first["success"]) == ("daily", True)
    assert (second["command"], second["success"]) == ("daily", False)
    assert second["error_type"] == "CommandOnCooldown"
    assert second["error_message"].startswith("You are on cooldown. Try again in ")
    assert monitored.bot.ran == ["daily"]  # type: ignore[attr-defined]


async def test_failing_hybrid_via_prefix(monitored: Monitored) -> None:
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!explode bad")

    (row,) = await monitored.rows()
    assert_row(
        row,
        monitored,
        command="explode",
        parameters={"reason": "bad"},
        success=False,
        error_type="ValueError",
        error_message="exploded: bad",
    )
    assert row["duration"] == DURATIONS["explode"]


async def test_failing_hybrid_via_slash_is_audited_once(monitored: Monitored) -> None:
    await run_command(monitored.bot, "explode", options=[option("reason", "r")])

    (row,) = await monitored.rows()
    assert_row(
        row,
        monitored,
        command="explode",
        parameters={"reason": "r"},
        success=False,
        error_type="ValueError",
        error_message="exploded: r",
    )
    assert row["duration"] == DURATIONS["explode"]


@pytest.mark.parametrize(
    ("name", "kwargs", "command", "error_type", "error_message"),
    [
        ("crash", {}, "crash", "LookupError", "slash failed"),
        ("tools", {"options": [subcommand("fail")]}, "tools fail", "KeyError", "'sub failed'"),
        (
            "Report User",
            {"command_type": USER_MENU},
            "Report User",
            "PermissionError",
            "menu failed",
        ),
    ],
    ids=["slash", "subcommand", "context menu"],
)
async def test_failing_app_commands(
    monitored: Monitored,
    name: str,
    kwargs: dict[str, Any],
    command: str,
    error_type: str,
    error_message: str,
) -> None:
    if kwargs.get("command_type") == USER_MENU:
        kwargs = {**kwargs, "target": monitored.members[1]}
    await run_command(monitored.bot, name, **kwargs)

    (row,) = await monitored.rows()
    parameters = {"target_id": str(monitored.members[1].id)} if "target" in kwargs else {}
    assert_row(
        row,
        monitored,
        command=command,
        parameters=parameters,
        success=False,
        error_type=error_type,
        error_message=error_message,
    )
    assert monitored.bot.ran == [command]  # type: ignore[attr-defined]


async def test_tree_interaction_check_returning_false(harness: Harness, responses: Any) -> None:
    bot = await harness.new_bot()

    async def refuse(interaction: discord.Interaction[Any], /) -> bool:
        return False

    bot.tree.interaction_check = refuse  # type: ignore[method-assign]
    cog = await harness.load(bot)
    harness.configure(bot)
    m = Monitored(bot, cog, harness)

    await run_command(bot, "add", options=[option("a", 1)])

    (row,) = await m.rows()
    assert_row(
        row,
        m,
        command="add",
        parameters={"a": 1},
        success=False,
        error_type="CheckFailure",
        error_message="The bot's interaction check refused the command.",
    )
    assert bot.ran == []  # type: ignore[attr-defined]
    assert responses.sent == []


async def test_unknown_prefix_command_is_counted_not_audited(monitored: Monitored) -> None:
    with pytest.raises(commands.CommandNotFound):
        await dpytest.message("!nope")

    assert await monitored.rows() == []
    assert monitored.cog.auditor.unknown_commands == 1
    daily = await monitored.cog.system.stats_collector.get_daily_stats(monitored.guild.id)
    assert daily["commands"] == 0


async def test_unknown_slash_command_is_counted_not_audited(monitored: Monitored) -> None:
    await run_command(monitored.bot, "vanished")

    assert await monitored.rows() == []
    assert monitored.cog.auditor.unknown_commands == 1


async def test_dm_slash_command_is_audited_under_the_dm_guild(monitored: Monitored) -> None:
    await run_command(monitored.bot, "add", options=[option("a", 1)], in_guild=False)

    (row,) = await monitored.rows()
    assert (row["command"], row["guild_id"], row["guild_name"]) == ("add", "dm", None)
    assert row["user_id"] == str(monitored.members[0].id)
    assert row["success"] is True


# -- daily statistics and performance ----------------------------------------------------------


async def test_audited_commands_feed_daily_stats_and_performance(monitored: Monitored) -> None:
    await dpytest.message("!echo a", member=0)
    await dpytest.message("!echo b", member=1)
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!boom", member=1)
    await run_command(monitored.bot, "add", options=[option("a", 1)])
    await run_command(
        monitored.bot, "Inspect User", command_type=USER_MENU, target=monitored.members[0]
    )
    with pytest.raises(commands.CommandNotFound):
        await dpytest.message("!nope")

    system = monitored.cog.system
    daily = await system.stats_collector.get_daily_stats(monitored.guild.id)
    assert daily["date"] == "2026-03-15"
    assert daily["commands"] == 5
    assert daily["failed_commands"] == 1
    assert daily["unique_users"] == 2

    perf = await system.perf_monitor.get_performance_stats(monitored.guild.id)
    counts = {c["command"]: (c["count"], c["failures"]) for c in perf["slowest_commands"]}
    assert counts == {"echo": (2, 0), "boom": (1, 1), "add": (1, 0), "Inspect User": (1, 0)}
    assert perf["total_commands"] == 5
    by_name = {c["command"]: c for c in perf["slowest_commands"]}
    assert by_name["echo"]["avg_duration"] == DURATIONS["echo"]
    assert by_name["boom"]["error_rate"] == 1.0
    # The in-memory metrics saw the same runs.
    assert len(system.perf_monitor.metrics["command:echo"]) == 2
    assert system.perf_monitor.failure_counts == {"command:boom": 1}


async def test_autocomplete_is_not_audited(harness: Harness, responses: Any) -> None:
    bot = await harness.new_bot()
    checked: list[discord.InteractionType] = []

    async def own_check(interaction: discord.Interaction[Any], /) -> bool:
        checked.append(interaction.type)
        return True

    @bot.tree.command()
    async def pick(interaction: discord.Interaction[Any], fruit: str) -> None:
        await interaction.response.send_message(fruit)

    @pick.autocomplete("fruit")
    async def fruits(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name="apple", value="apple")]

    bot.tree.interaction_check = own_check  # type: ignore[method-assign]
    cog = await harness.load(bot)
    harness.configure(bot)
    typed = {**option("fruit", "ap"), "focused": True}

    await run_command(bot, "pick", options=[typed], interaction_type=AUTOCOMPLETE)

    assert [s.type for s in responses.sent] == [AUTOCOMPLETE_RESULT]
    assert checked == [discord.InteractionType.autocomplete]  # The bot's check still sees it.
    assert await Monitored(bot, cog, harness).rows() == []
    assert cog.auditor.unknown_commands == 0


async def test_long_error_messages_are_trimmed(harness: Harness) -> None:
    bot = await harness.new_bot()

    @bot.command()
    async def verbose(ctx: commands.Context[Any]) -> None:
        raise RuntimeError("e" * 5000)

    cog = await harness.load(bot)
    harness.configure(bot)

    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!verbose")

    (row,) = await Monitored(bot, cog, harness).rows()
    assert row["error_type"] == "RuntimeError"
    assert len(row["error_message"]) == 1000
    assert row["error_message"] == "e" * 999 + "…"


async def test_failure_duration_ends_when_the_command_ends(harness: Harness) -> None:
    # Time the bot's own error handling takes (here 5 s) is not the command's.
    bot = await harness.new_bot()

    async def slow_handler(ctx: commands.Context[Any], error: commands.CommandError) -> None:
        harness.clock.advance(5.0)

    bot.add_listener(slow_handler, "on_command_error")
    cog = await harness.load(bot)
    harness.configure(bot)

    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!boom")

    (row,) = await Monitored(bot, cog, harness).rows()
    assert row["duration"] == DURATIONS["boom"]
    assert row["executed_at"] == NOW
