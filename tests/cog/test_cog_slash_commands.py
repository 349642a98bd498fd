"""``/health`` and ``/stats weekly|monthly|performance``, run as real interactions.

What the cog would send to Discord is captured at the webhook adapter: the first response must
be a deferral (type 5), then a follow-up with the embed; both ephemeral unless configured not to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from fakes import NOW
from harness import Harness, Monitored, make_config
from interactions import ADMINISTRATOR, MANAGE_GUILD, Responses, run_command

from monitoring_cog.cli.payloads import DEFERRED_CHANNEL_MESSAGE, EPHEMERAL, option, subcommand

GREEN = discord.Colour.green().value
RED = discord.Colour.red().value
BLURPLE = discord.Colour.blurple().value
FULL = "█"


def answered(responses: Responses, *, ephemeral: bool = True) -> dict[str, Any]:
    """The one embed of a deferred answer; checks the deferral and the ephemeral flags."""
    defer, followup = responses.sent
    assert (defer.kind, defer.type) == ("response", DEFERRED_CHANNEL_MESSAGE)
    assert followup.kind == "followup"
    expected = EPHEMERAL if ephemeral else 0
    assert defer.flags & EPHEMERAL == expected
    assert followup.flags & EPHEMERAL == expected
    (embed,) = followup.embeds
    return embed


def stats(name: str, *options: dict[str, Any]) -> dict[str, Any]:
    return {"options": [subcommand(name, list(options))]}


# -- /health -----------------------------------------------------------------------------------


async def test_health_is_refused_without_manage_server(
    monitored: Monitored, responses: Responses
) -> None:
    await run_command(monitored.bot, "health")

    # Told why, privately, at once: never Discord's "The application did not respond".
    assert responses.refusal() == "You need Manage Server to use /health."
    (row,) = await monitored.rows()
    assert (row["command"], row["success"]) == ("health", False)
    assert row["error_type"] == "MissingPermissions"
    assert row["error_message"] == (
        "You are missing Manage Server permission(s) to run this command."
    )


@pytest.mark.parametrize("permissions", [MANAGE_GUILD, ADMINISTRATOR], ids=["manage", "admin"])
async def test_health_answers_a_member_with_manage_server(
    monitored: Monitored, responses: Responses, permissions: str
) -> None:
    await run_command(monitored.bot, "health", permissions=permissions)

    embed = answered(responses)
    assert embed["title"] == "🟢 Bot health: healthy"
    assert embed["color"] == GREEN
    assert [f["name"] for f in embed["fields"]] == [
        "🟢 Memory",
        "🟢 CPU",
        "🟢 Database",
        "🟢 Errors (last 60 min)",
        "🟢 Recording",
        "⚪ Gateway",  # Unknown: dpytest's websocket has no connection to look at.
        "🟢 Rate limits",
    ]
    assert embed["fields"][0]["value"] == "100.0 MB RSS\n1.0 % of RAM"
    assert embed["fields"][-1]["value"] == "no 429s in the last hour"
    (row,) = await monitored.rows()
    assert (row["command"], row["success"]) == ("health", True)


async def test_health_shows_an_unhealthy_status_in_red(
    monitored: Monitored, responses: Responses
) -> None:
    monitored.harness.process.rss_mb = 2048.0

    await run_command(monitored.bot, "health", permissions=MANAGE_GUILD)

    embed = answered(responses)
    assert embed["title"] == "🔴 Bot health: unhealthy"
    assert embed["color"] == RED
    assert embed["fields"][0]["name"] == "🔴 Memory"


async def test_health_default_permissions_follow_the_config(monitored: Monitored) -> None:
    health = monitored.bot.tree.get_command("health")
    assert isinstance(health, discord.app_commands.Command)
    assert health.default_permissions == discord.Permissions(manage_guild=True)
    group = monitored.bot.tree.get_command("stats")
    assert isinstance(group, discord.app_commands.Group)
    assert group.default_permissions is None
    assert group.guild_only is True


@pytest.mark.parametrize("cog_config", [make_config(health_permission="")])
async def test_health_permission_empty_lets_anyone(
    monitored: Monitored, responses: Responses
) -> None:
    health = monitored.bot.tree.get_command("health")
    assert isinstance(health, discord.app_commands.Command)
    assert health.default_permissions is None

    await run_command(monitored.bot, "health")  # No permissions at all.

    assert answered(responses)["title"] == "🟢 Bot health: healthy"


@pytest.mark.parametrize("cog_config", [make_config(ephemeral=False)])
async def test_answers_are_public_when_ephemeral_is_false(
    monitored: Monitored, responses: Responses
) -> None:
    await run_command(monitored.bot, "health", permissions=MANAGE_GUILD)
    answered(responses, ephemeral=False)
    responses.clear()

    await run_command(monitored.bot, "stats", **stats("weekly"))
    answered(responses, ephemeral=False)


# -- /stats weekly and monthly on known data ---------------------------------------------------

A, B, C, D = "1001", "1002", "1003", "1004"


async def record_known_history(m: Monitored) -> None:
    """Commands and songs on known UTC days (the clock is back at NOW afterwards)."""
    system = m.cog.system
    clock = m.harness.clock
    guild = str(m.guild.id)

    async def commands_on(day: datetime, user: str, command: str, n: int = 1, ok: bool = True):
        clock.set(day)
        for _ in range(n):
            assert await system.cmd_logger.log_command(
                guild,
                "Test Guild 0",
                user,
                f"user{user}",
                command,
                {},
                duration=0.1,
                success=ok,
                error_message=None if ok else "nothing to skip",
                error_type=None if ok else "ValueError",
            )

    await commands_on(datetime(2026, 1, 1, 10, tzinfo=UTC), A, "old", 5)  # Outside both.
    await commands_on(datetime(2026, 2, 20, 10, tzinfo=UTC), A, "play", 7)  # Monthly only.
    await commands_on(datetime(2026, 2, 20, 11, tzinfo=UTC), D, "play")
    await commands_on(datetime(2026, 3, 10, 9, tzinfo=UTC), A, "play", 3)
    await commands_on(datetime(2026, 3, 10, 9, 30, tzinfo=UTC), B, "skip", ok=False)
    assert await system.stats_collector.record_song_played(guild, 180, A)
    assert await system.stats_collector.record_song_played(guild, 180, A)
    assert await system.stats_collector.record_skip(guild, A)
    await commands_on(datetime(2026, 3, 12, 20, tzinfo=UTC), A, "play", 2)
    assert await system.stats_collector.record_song_played(guild, 240, A)
    await commands_on(NOW, C, "queue")


def chart_line(label: str, blocks: int, value: int) -> str:
    return f"{label} {(FULL * blocks).ljust(16)} {value}"


async def test_stats_weekly_on_known_data(monitored: Monitored, responses: Responses) -> None:
    await record_known_history(monitored)

    await run_command(monitored.bot, "stats", **stats("weekly"))

    embed = answered(responses)
    assert embed["title"] == "Weekly statistics for Test Guild 0"
    assert embed["color"] == BLURPLE
    assert embed["description"] == "\n".join(
        [
            "2026-03-09 to 2026-03-15 (UTC) · commands per day",
            "```",
            chart_line("Mon 09 Mar", 0, 0),
            chart_line("Tue 10 Mar", 16, 4),
            chart_line("Wed 11 Mar", 0, 0),
            chart_line("Thu 12 Mar", 8, 2),
            chart_line("Fri 13 Mar", 0, 0),
            chart_line("Sat 14 Mar", 0, 0),
            chart_line("Sun 15 Mar", 4, 1),
            "```",
        ]
    )
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("🎵 Music", "3 songs · 0.2 h\n1 skips (33 %) · 0 pauses"),
        ("⌨️ Commands", "7 run · 14.3 % failed"),
        ("👥 Users", "1.3 a day on average\npeak 2 · 3 active days"),
        ("Top commands", "`play`: 5\n`queue`: 1\n`skip`: 1"),
    ]
    assert embed["fields"][3]["inline"] is False
    rows = await monitored.rows(command="stats weekly")
    assert [(r["success"], r["guild_id"]) for r in rows] == [(True, str(monitored.guild.id))]


async def test_stats_monthly_on_known_data(monitored: Monitored, responses: Responses) -> None:
    await record_known_history(monitored)

    await run_command(monitored.bot, "stats", **stats("monthly"))

    embed = answered(responses)
    assert embed["title"] == "Monthly statistics for Test Guild 0"
    header, *chart = embed["description"].split("\n")
    assert header == "2026-02-14 to 2026-03-15 (UTC) · commands per day"
    assert chart[0] == chart[-1] == "```"
    lines = chart[1:-1]
    assert len(lines) == 30
    assert lines[0] == chart_line("Sat 14 Feb", 0, 0)
    assert lines[6] == chart_line("Fri 20 Feb", 16, 8)
    assert lines[24] == chart_line("Tue 10 Mar", 8, 4)
    assert lines[26] == chart_line("Thu 12 Mar", 4, 2)
    assert lines[29] == chart_line("Sun 15 Mar", 2, 1)
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) == 15
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("🎵 Music", "3 songs · 0.2 h\n1 skips (33 %) · 0 pauses"),
        ("⌨️ Commands", "15 run · 6.7 % failed"),
        ("👥 Users", "1.5 a day on average\npeak 2 · 4 active days"),
        ("Top commands", "`play`: 13\n`queue`: 1\n`skip`: 1"),
    ]


async def test_stats_performance_lists_commands_with_their_counts(
    monitored: Monitored, responses: Responses
) -> None:
    await dpytest.message("!echo a")
    await dpytest.message("!echo b")
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!boom")

    await run_command(monitored.bot, "stats", **stats("performance"))

    embed = answered(responses)
    assert embed["title"] == "Command performance, last 7 days"
    lines = embed["description"].split("\n")
    assert lines[0] == "```"
    assert lines[1].split() == ["command", "runs", "p50", "p95", "p99", "err"]
    assert lines[-1] == "```"
    # Slowest first; each run took exactly as long, so every percentile is that duration.
    assert [line.split() for line in lines[2:-1]] == [
        ["boom", "1", "500ms", "500ms", "500ms", "100%"],
        ["echo", "2", "250ms", "250ms", "250ms", "0%"],
    ]


async def test_stats_performance_days_option(monitored: Monitored, responses: Responses) -> None:
    monitored.harness.clock.set(datetime(2026, 3, 14, 12, tzinfo=UTC))
    await dpytest.message("!echo yesterday")
    monitored.harness.clock.set(NOW)
    await dpytest.message("!echo today")

    await run_command(monitored.bot, "stats", **stats("performance", option("days", 1)))

    embed = answered(responses)
    assert embed["title"] == "Command performance, last 1 days"
    (line,) = [line for line in embed["description"].split("\n") if line.startswith("echo")]
    assert line.split()[:2] == ["echo", "1"]


async def test_stats_performance_with_nothing_recorded(
    monitored: Monitored, responses: Responses
) -> None:
    await run_command(monitored.bot, "stats", **stats("performance"))
    assert answered(responses)["description"] == "No commands recorded in this period."


@pytest.mark.parametrize("period", ["weekly", "monthly", "performance"])
async def test_stats_in_a_dm_is_refused(
    monitored: Monitored, responses: Responses, period: str
) -> None:
    await run_command(monitored.bot, "stats", in_guild=False, **stats(period))

    assert responses.refusal() == f"/stats {period} only works in a server."
    (row,) = await monitored.rows()
    assert row["command"] == f"stats {period}"
    assert (row["guild_id"], row["success"]) == ("dm", False)
    assert row["error_type"] == "NoPrivateMessage"
    assert row["error_message"] == "Server statistics are only available in a server."


@pytest.mark.parametrize("cog_config", [make_config(stats_permission="manage_guild")])
async def test_stats_permission_is_enforced(monitored: Monitored, responses: Responses) -> None:
    group = monitored.bot.tree.get_command("stats")
    assert isinstance(group, discord.app_commands.Group)
    assert group.default_permissions == discord.Permissions(manage_guild=True)

    await run_command(monitored.bot, "stats", **stats("weekly"))
    assert responses.refusal() == "You need Manage Server to use /stats weekly."
    responses.clear()
    await run_command(monitored.bot, "stats", permissions=MANAGE_GUILD, **stats("weekly"))
    assert answered(responses)["title"] == "Weekly statistics for Test Guild 0"

    rows = await monitored.rows()
    assert [(r["success"], r["error_type"]) for r in rows] == [
        (False, "MissingPermissions"),
        (True, None),
    ]


@pytest.mark.parametrize("cog_config", [make_config(stats_permission="manage_guild")])
async def test_stats_in_a_dm_is_refused_as_such_even_with_a_permission_set(
    monitored: Monitored, responses: Responses
) -> None:
    await run_command(monitored.bot, "stats", in_guild=False, **stats("weekly"))

    assert responses.refusal() == "/stats weekly only works in a server."
    (row,) = await monitored.rows()
    # Not "missing Manage Server": in a DM the reason is that it is a DM.
    assert row["error_type"] == "NoPrivateMessage"


async def test_report_commands_defer_before_anything_else(
    monitored: Monitored, responses: Responses
) -> None:
    for name in ("weekly", "monthly", "performance"):
        responses.clear()
        await run_command(monitored.bot, "stats", **stats(name))
        assert [s.kind for s in responses.sent] == ["response", "followup"]
        assert responses.sent[0].type == DEFERRED_CHANNEL_MESSAGE
        assert responses.sent[0].flags == EPHEMERAL


async def test_the_extension_reads_cog_settings_from_its_config_file(
    harness: Harness, responses: Responses
) -> None:
    bot = await harness.new_bot()
    await harness.load_extension(bot, '[cog]\nhealth_permission = ""\nephemeral = false\n')
    harness.configure(bot)

    await run_command(bot, "health")

    embed = answered(responses, ephemeral=False)
    assert embed["title"].startswith(("🟢 Bot health:", "🟠 Bot health:", "🔴 Bot health:"))
