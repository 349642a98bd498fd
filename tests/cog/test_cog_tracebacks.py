"""A failed command keeps where its own code raised: frames, no local variables, bounded.

Prefix commands go through dpytest, slash commands through real ``discord.Interaction`` objects;
the traceback is read back from the audit log as any reader gets it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from harness import Harness, Monitored, make_config
from interactions import run_command

from monitoring_cog import MonitoringConfig
from monitoring_cog.config import PrivacyConfig
from monitoring_cog.recording.frames import MAX_FRAMES
from monitoring_cog.vitals.events import VitalEvent

HERE = Path(__file__)
SECRET_VALUE = "hunter2-local-value"


def line_of(marker: str) -> int:
    """The line number of the one line of this file that ends with ``# <marker>``."""
    lines = HERE.read_text(encoding="utf-8").splitlines()
    (found,) = [n for n, text in enumerate(lines, 1) if text.rstrip().endswith(f"# {marker}")]
    return found


def helper_that_fails(depth: int) -> None:
    secret = SECRET_VALUE  # A local variable: never in a traceback kept.
    if depth > 0:
        helper_that_fails(depth - 1)  # recurse
        return
    raise ZeroDivisionError(f"depth reached ({len(secret)})")  # deepest


def add_failing_commands(bot: commands.Bot) -> None:
    @bot.command(name="divide")
    async def divide(ctx: commands.Context[Any], by: int) -> None:
        token = "prefix-local"  # noqa: F841  (a local that must not be kept)
        helper_that_fails(0)  # prefix-call

    @bot.command(name="deep")
    async def deep(ctx: commands.Context[Any]) -> None:
        helper_that_fails(3 * MAX_FRAMES)

    @bot.tree.command(name="divide_slash")
    async def divide_slash(interaction: discord.Interaction[Any], by: int = 1) -> None:
        helper_that_fails(1)  # slash-call

    @bot.command(name="lookup")
    async def lookup(ctx: commands.Context[Any]) -> None:
        {}["nothing"]  # lookup-line

    @bot.command(name="refuse")
    async def refuse(ctx: commands.Context[Any]) -> None:
        raise commands.BadArgument("not today")


@pytest.fixture
def cog_config(request: pytest.FixtureRequest) -> MonitoringConfig:
    mode = getattr(request, "param", "full")
    return dataclasses.replace(make_config(), privacy=PrivacyConfig(store_tracebacks=mode))


@pytest.fixture
async def failing(harness: Harness, cog_config: MonitoringConfig, responses: Any) -> Monitored:
    bot = await harness.new_bot()
    add_failing_commands(bot)
    cog = await harness.load(bot, cog_config)
    harness.configure(bot)
    return Monitored(bot, cog, harness)


async def only_row(m: Monitored, command: str) -> dict[str, Any]:
    (row,) = await m.rows(command=command)
    return row


async def test_a_prefix_command_that_raises_keeps_its_frames_and_source_lines(
    failing: Monitored,
) -> None:
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!divide 3")
    row = await only_row(failing, "divide")
    assert row["success"] is False
    assert row["error_type"] == "ZeroDivisionError"
    text = row["traceback"]
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    # The command's own line, then the helper's raise, innermost last, as Python prints them.
    call = f'  File "{HERE.name}", line {line_of("prefix-call")}, in'
    raise_at = f'  File "{HERE.name}", line {line_of("deepest")}, in helper_that_fails'
    call_index = next(i for i, line in enumerate(lines) if line.startswith(call))
    assert lines[call_index + 1] == "    helper_that_fails(0)  # prefix-call"
    assert lines[-2] == raise_at
    assert lines[-1].strip().startswith("raise ZeroDivisionError(")
    # discord.py's own frame that awaited the command is there too, named by its import path.
    assert 'File "discord/ext/commands/core.py"' in text
    # Code locations only: no local variable's value, no argument.
    assert SECRET_VALUE not in text
    assert "prefix-local" not in text


async def test_a_slash_command_that_raises_keeps_its_traceback(failing: Monitored) -> None:
    await run_command(failing.bot, "divide_slash")
    row = await only_row(failing, "divide_slash")
    assert row["error_type"] == "ZeroDivisionError"
    lines = row["traceback"].splitlines()
    assert f'  File "{HERE.name}", line {line_of("slash-call")}, in' in "\n".join(lines)
    assert lines[-2].endswith(f"line {line_of('deepest')}, in helper_that_fails")
    # The recursion's own line once (depth 1), then the raise.
    assert sum(line.strip() == "helper_that_fails(depth - 1)  # recurse" for line in lines) == 1


async def test_refusals_and_successes_keep_no_traceback(failing: Monitored) -> None:
    with pytest.raises(commands.BadArgument):
        await dpytest.message("!refuse")
    with pytest.raises(commands.BadArgument):
        await dpytest.message("!divide notanumber")  # Fails converting, before the command runs.
    await dpytest.message("!echo hi")
    refused, bad_argument, success = await failing.rows()
    assert (refused["command"], refused["success"], refused["traceback"]) == ("refuse", False, None)
    assert (bad_argument["error_type"], bad_argument["traceback"]) == ("BadArgument", None)
    assert (success["success"], success["traceback"]) == (True, None)


async def test_a_deep_traceback_keeps_its_innermost_frames_only(failing: Monitored) -> None:
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!deep")
    lines = (await only_row(failing, "deep"))["traceback"].splitlines()
    frames = [line for line in lines if line.startswith('  File "')]
    assert len(frames) == MAX_FRAMES
    (omitted,) = [line for line in lines if "outer frames not kept" in line]
    # The command's frames and discord.py's that awaited it, then 3 * MAX_FRAMES + 1 helpers.
    assert int(omitted.split("[")[1].split()[0]) > 2 * MAX_FRAMES
    assert frames[-1].endswith(f"line {line_of('deepest')}, in helper_that_fails")
    assert all(frame.endswith("in helper_that_fails") for frame in frames)


@pytest.mark.parametrize("cog_config", ["frames"], indirect=True)
async def test_frames_only_keeps_no_source_line(failing: Monitored) -> None:
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!divide 3")
    lines = (await only_row(failing, "divide"))["traceback"].splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == f'  File "{HERE.name}", line {line_of("deepest")}, in helper_that_fails'
    assert all(line.startswith(("  File ", "Traceback")) for line in lines)


@pytest.mark.parametrize("cog_config", ["off"], indirect=True)
async def test_off_keeps_no_traceback(failing: Monitored) -> None:
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!divide 3")
    await run_command(failing.bot, "divide_slash")
    for row in await failing.rows():
        assert row["error_type"] == "ZeroDivisionError"
        assert row["traceback"] is None


async def test_the_first_failure_of_each_kind_in_an_hour_is_a_new_error(
    failing: Monitored, harness: Harness
) -> None:
    seen: list[VitalEvent] = []
    failing.cog.vital_events.subscribe(seen.append)

    async def run(*commands_run: str) -> None:
        for text in commands_run:
            if text.startswith("/"):
                await run_command(failing.bot, text[1:])
            else:
                with pytest.raises(commands.CommandError):
                    await dpytest.message(text)
        await failing.db.flush()  # The writer takes them: that is where kinds are watched.

    await run("!divide 3", "!divide 4", "/divide_slash", "!refuse", "!lookup")
    # The division raises at one line of the bot's, whichever command called it: one kind.
    assert [(e.kind, e.fields["error"], e.fields["command"]) for e in seen] == [
        ("new_error", "ZeroDivisionError", "divide"),
        ("new_error", "KeyError", "lookup"),
    ]
    division, lookup = seen
    assert division.fields["location"] == f"{HERE.name}:{line_of('deepest')} in helper_that_fails"
    assert lookup.fields["location"].startswith(f"{HERE.name}:{line_of('lookup-line')} in ")
    assert division.severity == "warning"
    assert "ZeroDivisionError: depth reached" in division.detail
    assert division.fields["guild"] == str(failing.guild.id)

    harness.clock.advance(1800)
    await run("!divide 5")  # Within the hour of the last one: not new.
    assert len(seen) == 2
    harness.clock.advance(3601)
    await run("!divide 6", "!lookup")  # An hour without either: both new again.
    assert [e.fields["error"] for e in seen[2:]] == ["ZeroDivisionError", "KeyError"]
    assert failing.cog.vital_events.emitted == {"new_error": 4}
