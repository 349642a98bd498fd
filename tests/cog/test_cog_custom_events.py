"""Custom events from bot code, through the cog: a prefix command of the bot's own calls
``stats_collector.record_event``, dispatched by discord.py (dpytest), and ``/stats`` shows the
events and the components beside the commands.

Component uses are submitted as the cog's capture submits them (``ComponentRecord``); the capture
itself is tested with the cog's interaction handling.
"""

from __future__ import annotations

from typing import Any

import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from harness import Monitored
from interactions import Responses, run_command

from monitoring_cog import EventNameError
from monitoring_cog.cli.payloads import subcommand as sub
from monitoring_cog.recording.records import ComponentRecord


def add_game_commands(m: Monitored) -> list[BaseException]:
    """The bot's own commands that count events, as a bot would write them; the errors they
    raise are collected."""
    bot = m.bot
    raised: list[BaseException] = []

    def stats() -> Any:
        cog = bot.get_cog("Monitoring")
        assert cog is not None
        return cog.system.stats_collector  # type: ignore[attr-defined]

    @bot.command()
    async def ticket(ctx: commands.Context[Any]) -> None:
        assert ctx.guild is not None
        await stats().record_event(ctx.guild.id, "ticket_opened", user_id=ctx.author.id)
        await ctx.send("ticket opened")

    @bot.command()
    async def win(ctx: commands.Context[Any], xp: float) -> None:
        assert ctx.guild is not None
        await stats().record_event(ctx.guild.id, "game_won", user_id=ctx.author.id)
        await stats().record_event(ctx.guild.id, "xp_gained", xp, user_id=ctx.author.id)
        await ctx.send(f"+{xp} xp")

    @bot.command()
    async def misnamed(ctx: commands.Context[Any]) -> None:
        try:
            await stats().record_event(ctx.guild and ctx.guild.id, "ticket opened")
        except EventNameError as exc:
            raised.append(exc)
            raise

    return raised


async def weekly_embed(m: Monitored, responses: Responses) -> dict[str, Any]:
    responses.clear()
    await run_command(m.bot, "stats", options=[sub("weekly")])
    (embed,) = responses.embeds
    return embed


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def test_events_recorded_by_a_bot_command_are_in_the_report_and_the_embed(
    monitored: Monitored, responses: Responses
) -> None:
    raised = add_game_commands(monitored)
    guild = str(monitored.guild.id)
    first, second = monitored.members[0], monitored.members[1]
    await dpytest.message("!ticket", member=first)
    await dpytest.message("!ticket", member=second)
    await dpytest.message("!ticket", member=first)
    await dpytest.message("!win 12.5", member=first)
    await dpytest.message("!win 30", member=second)
    with pytest.raises(commands.CommandInvokeError):
        await dpytest.message("!misnamed")
    (error,) = raised
    assert str(error) == (
        "invalid event name 'ticket opened': expected 1 to 64 characters: ASCII letters, digits,"
        " '_', '-', '.' or ':', starting with a letter or a digit"
    )

    report = await monitored.cog.system.stats_collector.generate_weekly_report(guild)
    assert report["top_events"] == [
        {"name": "ticket_opened", "count": 3, "total": 3.0, "users": 2},
        {"name": "game_won", "count": 2, "total": 2.0, "users": 2},
        {"name": "xp_gained", "count": 2, "total": 42.5, "users": 2},
    ]
    # The commands that recorded them are commands; the events are not.
    assert report["total_commands"] == 6
    assert {c["command"]: c["count"] for c in report["top_commands"]} == {
        "ticket": 3,
        "win": 2,
        "misnamed": 1,
    }
    assert report["top_components"] == []

    shown = fields(await weekly_embed(monitored, responses))
    assert shown["📌 Top events"].splitlines() == [
        "`ticket_opened`: 3 times · total 3 · 2 users",
        "`game_won`: 2 times · total 2 · 2 users",
        "`xp_gained`: 2 times · total 42.5 · 2 users",
    ]
    assert "🔘 Top components" not in shown
    assert "🎵 Music" not in shown


async def test_components_show_in_the_weekly_embed_and_beside_commands_in_performance(
    monitored: Monitored, responses: Responses
) -> None:
    system = monitored.cog.system
    guild = str(monitored.guild.id)
    now = monitored.harness.clock.time()
    for user, duration, ok in (("1", 0.1, True), ("2", 0.3, False), ("1", 0.2, True)):
        assert system.db.submit(
            ComponentRecord(guild, user, "ticket:open", "button", duration, ok, now)
        )
    assert system.db.submit(ComponentRecord(guild, "1", "roles", "select", 0.05, True, now))
    assert await system.stats_collector.record_song_played(guild, 200, user_id="1")

    shown = fields(await weekly_embed(monitored, responses))
    assert shown["🔘 Top components"].splitlines() == [
        "`ticket:open` (button): 3 uses · 1 failed · 2 users · 200 ms",
        "`roles` (select): 1 uses · 0 failed · 1 users · 50 ms",
    ]
    assert shown["🎵 Music"].startswith("1 songs")  # Shown: the guild has music this week.
    assert "📌 Top events" not in shown
    assert shown["⌨️ Commands"].startswith("0 run")  # Components are not commands.

    responses.clear()
    await run_command(monitored.bot, "stats", options=[sub("performance")])
    (embed,) = responses.embeds
    description = embed["description"]
    assert "**Components**" in description
    table = description.split("**Components**\n```\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert table == [
        "component         kind    uses    avg    max   err",
        "ticket:open      button     3   200ms   300ms   33%",
        "roles            select     1    50ms    50ms    0%",
    ]


def test_a_report_embed_with_every_list_full_of_long_names_stays_within_limits() -> None:
    from test_cog_embeds import assert_within_limits

    from monitoring_cog.cog.embeds import performance_embed, report_embed

    long = "x" * 90
    report = {
        "period": "monthly",
        "start_date": "2026-02-14",
        "end_date": "2026-03-15",
        "total_songs": 3,
        "top_commands": [{"command": f"{long}{i:03d}", "count": 10**6 - i} for i in range(200)],
        "top_components": [
            {
                "component": f"{long}`{i:02d}",
                "kind": "button",
                "uses": 10**9,
                "failures": 10**8,
                "users": 10**7,
                "avg_ms": 12345.6,
            }
            for i in range(10)
        ],
        "top_events": [
            {"name": "e" * 62 + f"{i:02d}", "count": 10**9, "total": 1.5e12, "users": 10**7}
            for i in range(10)
        ],
        "daily": [{"date": f"2026-03-{day:02d}", "commands": 1000 + day} for day in range(1, 31)],
    }
    embed = report_embed(report, "G" * 300)
    assert_within_limits(embed)
    fields = {f.name: f.value or "" for f in embed.fields}
    assert fields["🔘 Top components"].splitlines()[0].startswith(f"`{long}'00` (button)")
    assert fields["🔘 Top components"].splitlines()[-1].startswith("+")  # The rest, counted.
    assert fields["📌 Top events"].splitlines()[0] == (
        f"`{'e' * 62}00`: 1000000000 times · total 1500000000000 · 10000000 users"
    )
    assert "🎵 Music" in fields

    stats = {
        "days": 7,
        "slowest_commands": [
            {"command": f"{long}{i}", "count": 5, "p50": 0.1, "p95": 0.2, "p99": 0.3,
             "error_rate": 0.0}
            for i in range(200)
        ],
        "components": [
            {"component": f"{long}{i}", "kind": "select", "uses": 10**6, "avg_ms": 1.5,
             "max_ms": 99999.0, "error_rate": 1.0}
            for i in range(100)
        ],
    }  # fmt: skip
    performance = performance_embed(stats)
    assert_within_limits(performance)
    assert performance.description is not None
    assert performance.description.endswith("+85 more components")
