"""Names Discord sends that UTF-8 cannot encode (a lone surrogate) cost the guild no rows.

A Python ``str`` holds a lone surrogate, and Discord's JSON can carry one (``"\\ud800"``); UTF-8
cannot encode it, so neither SQLite nor PostgreSQL stores it. The cog's hooks queue names as
discord.py hands them (cleaning on a command's path would cost every command): the writer meets
them raw, in the guild's registration on READY, in every audit row of the guild and the user,
and in a command's arguments. Everything must be stored, each lone surrogate as ``?``, and each
repaired record counted as a correction.

Runs on both backends: the cog records into the ``backend`` fixture's database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import discord.ext.test as dpytest
import pytest
from backends import Backend
from discord.ext import commands
from harness import Harness, make_config
from interactions import Responses, run_command

from monitoring_cog import Database, ManualClock
from monitoring_cog.cli.payloads import option
from monitoring_cog.cog import MonitoringCog

GUILD_NAME = "Caf\ud800 Lounge"
USER_NAME = "Ze\udfffd"


@pytest.fixture
async def lounge(
    harness: Harness, backend: Backend, clock: ManualClock, responses: Responses
) -> AsyncIterator[tuple[commands.Bot, MonitoringCog]]:
    """A bot in a guild named :data:`GUILD_NAME`, whose one member is :data:`USER_NAME`."""
    bot = await harness.new_bot()
    config = dataclasses.replace(make_config(), database=backend.database_config())
    db = Database(backend.target, config=config, clock=clock)
    harness.databases.append(db)
    cog = await harness.load(bot, db=db)
    harness.configure(bot, guilds=[GUILD_NAME], members=[USER_NAME])
    yield bot, cog


async def test_a_guild_and_user_named_with_lone_surrogates_lose_no_row(
    lounge: tuple[commands.Bot, MonitoringCog],
) -> None:
    bot, cog = lounge
    db = cog.db
    config = dpytest.get_config()
    guild, member = config.guilds[0], config.members[0]
    assert guild.name == GUILD_NAME and member.name == USER_NAME  # As discord.py holds them.

    bot.dispatch("ready")  # Registers the guild under its raw name.
    await dpytest.run_all_events()
    await dpytest.message("!echo hello")
    await dpytest.message("!echo a\ud800b")  # In the arguments too.
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!boom")
    await run_command(bot, "add", options=[option("a", 1)])
    await db.flush()  # Before the fix (SQLite): each batch refused, then every record set aside.

    rows = list(reversed(await cog.system.cmd_logger.get_recent_commands(limit=100)))
    assert [(r["command"], r["success"]) for r in rows] == [
        ("echo", True),
        ("echo", True),
        ("boom", False),
        ("add", True),
    ]
    for row in rows:
        assert row["guild_id"] == str(guild.id)
        assert row["guild_name"] == "Caf? Lounge"
        assert row["user_id"] == str(member.id)
        assert row["username"] == str(member).replace("\udfff", "?")
    assert rows[1]["parameters"]["word"] == "a?b"
    servers = await cog.system.stats_collector.get_servers()
    assert [(s.guild_id, s.guild_name) for s in servers] == [(str(guild.id), "Caf? Lounge")]
    daily = await cog.system.stats_collector.get_daily_stats(guild.id)
    assert (daily["commands"], daily["unique_users"]) == (4, 1)
    recorder = db.recorder
    assert (recorder.dropped, recorder.discarded, recorder.write_errors) == (0, 0, 0)
    # One correction per record repaired: the registration and the four commands (before the
    # fix, PostgreSQL stored them cleaned but counted nothing).
    assert db.errors.rejected_inputs == 5
    assert db.errors.errors == 0
