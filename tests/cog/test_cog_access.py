"""Who may see what: /stats shows only the asking guild's data, and the configured permissions
refuse members without them while answering members with them.

Every command runs through discord.py's real dispatch (real ``discord.Interaction`` objects run
by the command tree; see ``interactions.py``). DMs being refused is covered in
``test_cog_slash_commands.py`` (``test_stats_in_a_dm_is_refused*``).
"""

from __future__ import annotations

from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from harness import Harness, Monitored, make_config
from interactions import ADMINISTRATOR, MANAGE_GUILD, Responses, run_command

from monitoring_cog import MonitoringConfig
from monitoring_cog.cli.payloads import NO_PERMISSIONS
from monitoring_cog.cli.payloads import subcommand as sub

ALPHA_USERS = ("1001", "1002")
BETA_USER = "2001"


@pytest.fixture
async def two_guilds(
    harness: Harness, cog_config: MonitoringConfig, responses: Responses
) -> Monitored:
    """The cog in a bot that is in two guilds, Alpha and Beta, each with its own members."""
    bot = await harness.new_bot()
    cog = await harness.load(bot, cog_config)
    harness.configure(bot, guilds=["Alpha", "Beta"])
    return Monitored(bot, cog, harness)


def guild_named(name: str) -> discord.Guild:
    (guild,) = [g for g in dpytest.get_config().guilds if g.name == name]
    return guild


def member_of(bot: discord.Client, guild: discord.Guild, index: int = 0) -> discord.Member:
    return [m for m in guild.members if bot.user is None or m.id != bot.user.id][index]


async def record_distinct_data(m: Monitored) -> tuple[str, str]:
    """Alpha: 3 plays by 2 users, 2 songs, 1 skip. Beta: 5 lyrics (1 failed) by 1 user, 4 songs,
    3 skips, 2 pauses. Every figure differs, so a leak from one guild into the other shows."""
    alpha, beta = str(guild_named("Alpha").id), str(guild_named("Beta").id)
    logger, stats = m.cog.system.cmd_logger, m.cog.system.stats_collector
    for user in (*ALPHA_USERS, ALPHA_USERS[0]):
        assert await logger.log_command(alpha, "Alpha", user, f"u{user}", "play", {}, 0.5)
    for _ in range(2):
        assert await stats.record_song_played(alpha, 180, user_id=ALPHA_USERS[0])
    assert await stats.record_skip(alpha)
    for n in range(5):
        ok = n != 0
        assert await logger.log_command(
            beta, "Beta", BETA_USER, "ub", "lyrics", {}, 1.5, ok, None if ok else "down"
        )
    for _ in range(4):
        assert await stats.record_song_played(beta, 240, user_id=BETA_USER)
    for _ in range(3):
        assert await stats.record_skip(beta)
    for _ in range(2):
        assert await stats.record_pause(beta)
    return alpha, beta


def answer(responses: Responses) -> dict[str, Any]:
    *_, followup = responses.sent
    (embed,) = followup.embeds
    responses.clear()
    return embed


def fields(embed: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["name"], f["value"]) for f in embed["fields"]]


ALPHA_FIELDS = [
    ("🎵 Music", "2 songs · 0.1 h\n1 skips (50 %) · 0 pauses"),
    ("⌨️ Commands", "3 run · 0.0 % failed"),
    ("👥 Users", "2.0 a day on average\npeak 2 · 1 active days"),
    ("Top commands", "`play`: 3"),
]
BETA_FIELDS = [
    ("🎵 Music", "4 songs · 0.3 h\n3 skips (75 %) · 2 pauses"),
    ("⌨️ Commands", "5 run · 20.0 % failed"),
    ("👥 Users", "1.0 a day on average\npeak 1 · 1 active days"),
    ("Top commands", "`lyrics`: 5"),
]


@pytest.mark.parametrize("period", ["weekly", "monthly"])
async def test_each_guilds_stats_show_only_its_own_numbers(
    two_guilds: Monitored, responses: Responses, period: str
) -> None:
    await record_distinct_data(two_guilds)
    bot = two_guilds.bot
    alpha, beta = guild_named("Alpha"), guild_named("Beta")

    await run_command(
        bot, "stats", options=[sub(period)], guild=alpha, member=member_of(bot, alpha)
    )
    alpha_embed = answer(responses)
    await run_command(bot, "stats", options=[sub(period)], guild=beta, member=member_of(bot, beta))
    beta_embed = answer(responses)

    assert alpha_embed["title"] == f"{period.capitalize()} statistics for Alpha"
    assert fields(alpha_embed) == ALPHA_FIELDS
    assert beta_embed["title"] == f"{period.capitalize()} statistics for Beta"
    # Alpha's /stats run was audited in Alpha by now; Beta's answer still shows only Beta.
    assert fields(beta_embed) == BETA_FIELDS


async def test_each_guilds_performance_lists_only_its_own_commands(
    two_guilds: Monitored, responses: Responses
) -> None:
    await record_distinct_data(two_guilds)
    bot = two_guilds.bot
    alpha, beta = guild_named("Alpha"), guild_named("Beta")

    await run_command(
        bot, "stats", options=[sub("performance")], guild=alpha, member=member_of(bot, alpha)
    )
    alpha_lines = answer(responses)["description"].split("\n")[2:-1]
    await run_command(
        bot, "stats", options=[sub("performance")], guild=beta, member=member_of(bot, beta)
    )
    beta_lines = answer(responses)["description"].split("\n")[2:-1]

    assert [line.split()[:2] for line in alpha_lines] == [["play", "3"]]
    assert [line.split()[:2] for line in beta_lines] == [["lyrics", "5"]]


async def test_a_guild_without_data_sees_zeros_not_another_guilds(
    two_guilds: Monitored, responses: Responses
) -> None:
    alpha = str(guild_named("Alpha").id)
    logger = two_guilds.cog.system.cmd_logger
    assert await logger.log_command(alpha, "Alpha", ALPHA_USERS[0], "u", "play", {}, 0.5)
    bot, beta = two_guilds.bot, guild_named("Beta")

    await run_command(
        bot, "stats", options=[sub("weekly")], guild=beta, member=member_of(bot, beta)
    )

    # No music line: the guild has no music figures (and Alpha's are not Beta's).
    assert fields(answer(responses)) == [
        ("⌨️ Commands", "0 run · 0.0 % failed"),
        ("👥 Users", "0.0 a day on average\npeak 0 · 0 active days"),
    ]


@pytest.mark.parametrize("cog_config", [make_config(stats_permission="manage_guild")])
@pytest.mark.parametrize("period", ["weekly", "monthly", "performance"])
async def test_stats_refuses_a_member_without_the_permission_and_answers_one_with_it(
    monitored: Monitored, responses: Responses, period: str
) -> None:
    without, with_it = monitored.members[0], monitored.members[1]
    bot = monitored.bot

    await run_command(
        bot, "stats", options=[sub(period)], member=without, permissions=NO_PERMISSIONS
    )
    assert responses.refusal() == f"You need Manage Server to use /stats {period}."
    responses.clear()
    await run_command(bot, "stats", options=[sub(period)], member=with_it, permissions=MANAGE_GUILD)
    assert responses.sent[-1].embeds
    responses.clear()
    await run_command(
        bot, "stats", options=[sub(period)], member=without, permissions=ADMINISTRATOR
    )
    assert responses.sent[-1].embeds  # Administrators have every permission.

    rows = await monitored.rows()
    assert [(r["user_id"], r["success"], r["error_type"]) for r in rows] == [
        (str(without.id), False, "MissingPermissions"),
        (str(with_it.id), True, None),
        (str(without.id), True, None),
    ]


@pytest.mark.parametrize("cog_config", [make_config(health_permission="administrator")])
async def test_health_follows_its_configured_permission(
    monitored: Monitored, responses: Responses
) -> None:
    health = monitored.bot.tree.get_command("health")
    assert isinstance(health, discord.app_commands.Command)
    assert health.default_permissions == discord.Permissions(administrator=True)

    await run_command(monitored.bot, "health", permissions=MANAGE_GUILD)
    assert responses.refusal() == "You need Administrator to use /health."
    responses.clear()
    await run_command(monitored.bot, "health", permissions=ADMINISTRATOR)
    assert responses.sent[-1].embeds[0]["title"].endswith("Bot health: healthy")

    rows = await monitored.rows(command="health")
    assert [(r["success"], r["error_type"]) for r in rows] == [
        (False, "MissingPermissions"),
        (True, None),
    ]
    assert rows[0]["error_message"] == (
        "You are missing Administrator permission(s) to run this command."
    )


@pytest.mark.parametrize("cog_config", [make_config(stats_permission="manage_guild")])
async def test_stats_with_a_permission_set_is_still_refused_in_a_dm(
    monitored: Monitored, responses: Responses
) -> None:
    await run_command(
        monitored.bot, "stats", options=[sub("monthly")], in_guild=False, permissions=ADMINISTRATOR
    )

    assert responses.refusal() == "/stats monthly only works in a server."
    (row,) = await monitored.rows()
    assert (row["guild_id"], row["error_type"]) == ("dm", "NoPrivateMessage")
