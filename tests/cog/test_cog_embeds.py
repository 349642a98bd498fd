"""Embeds stay within Discord's limits whatever the data, and draw what the reports say."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import discord
from fakes import NOW
from harness import Monitored
from interactions import Responses, run_command

from monitoring_cog.cli.payloads import subcommand
from monitoring_cog.cog.embeds import (
    STATUS_COLOURS,
    activity_chart,
    alert_embed,
    health_embed,
    performance_embed,
    report_embed,
)

LONG = "x" * 90


def assert_within_limits(embed: discord.Embed) -> None:
    assert len(embed) <= 6000
    assert len(embed.fields) <= 25
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= 4096
    assert len(embed.footer.text or "") <= 2048
    for embed_field in embed.fields:
        assert 0 < len(embed_field.name or "") <= 256
        assert 0 < len(embed_field.value or "") <= 1024


def many_commands(n: int = 200) -> list[str]:
    return [f"{LONG}{i:03d}" for i in range(n)]


def month_of_days(commands: int = 1000) -> list[dict[str, Any]]:
    first = date(2026, 2, 14)
    return [
        {"date": (first + timedelta(days=i)).isoformat(), "commands": commands + i}
        for i in range(30)
    ]


def test_report_embed_with_200_long_commands_and_30_days() -> None:
    names = many_commands()
    report = {
        "period": "monthly",
        "start_date": "2026-02-14",
        "end_date": "2026-03-15",
        "total_commands": 10**9,
        "top_commands": [{"command": n, "count": 10**6 - i} for i, n in enumerate(names)],
        "daily": month_of_days(),
    }

    embed = report_embed(report, "G" * 300)

    assert_within_limits(embed)
    assert embed.title is not None and embed.title.endswith("…")
    top = embed.fields[-1]
    assert top.name == "Top commands"
    assert top.value is not None
    lines = top.value.split("\n")
    assert lines[0] == f"`{names[0]}`: 1000000"
    assert lines[-1] == f"+{200 - (len(lines) - 1)} more"


def test_performance_embed_with_200_long_commands() -> None:
    entries = [
        {
            "command": name,
            "count": 1000 + i,
            "p50": 0.01 * i,
            "p95": 0.02 * i,
            "p99": 0.03 * i,
            "error_rate": 0.5,
        }
        for i, name in enumerate(many_commands())
    ]

    embed = performance_embed({"days": 30, "slowest_commands": entries})

    assert_within_limits(embed)
    assert embed.description is not None
    assert embed.description.endswith("\n+185 more commands")
    rows = embed.description.split("```")[1].strip("\n").split("\n")
    assert len(rows) == 1 + 15
    assert rows[1].startswith(LONG[:15] + "…")


def test_health_and_alert_embeds_with_a_huge_error() -> None:
    report = {"overall_status": "unhealthy", "error": "E" * 10_000}
    for embed in (health_embed(report), alert_embed("healthy", "unhealthy", report)):
        assert_within_limits(embed)
        assert embed.colour == STATUS_COLOURS["unhealthy"]


def test_health_embed_colour_follows_the_status() -> None:
    for status, colour in STATUS_COLOURS.items():
        embed = health_embed({"overall_status": status, "memory": {}})
        assert embed.colour == colour
        assert embed.title is not None and embed.title.endswith(f"Bot health: {status}")


def test_activity_chart_draws_bars_proportional_to_the_peak() -> None:
    chart = activity_chart(
        [
            {"date": "2026-03-12", "commands": 0},
            {"date": "2026-03-13", "commands": 1},
            {"date": "2026-03-14", "commands": 300},
            {"date": "2026-03-15", "commands": 1000},
        ]
    )
    assert chart.split("\n") == [
        "```",
        "Thu 12 Mar                  0",
        "Fri 13 Mar ▏                1",  # Any activity shows, however small next to the peak.
        "Sat 14 Mar ████▊            300",  # 300/1000 of 16 blocks: 38 eighths.
        "Sun 15 Mar ████████████████ 1000",
        "```",
    ]
    assert activity_chart([]) == ""


def test_command_names_cannot_mention_or_format() -> None:
    report = {"period": "weekly", "top_commands": [{"command": "@everyone **x**", "count": 1}]}
    value = report_embed(report).fields[-1].value
    assert value is not None
    assert "@everyone" not in value
    assert "**" not in value


async def test_stats_embeds_through_the_cog_stay_within_limits(
    monitored: Monitored, responses: Responses
) -> None:
    system = monitored.cog.system
    clock = monitored.harness.clock
    guild = str(monitored.guild.id)
    names = many_commands()
    for day in range(30):
        clock.set(NOW - timedelta(days=day))
        for i, name in enumerate(names):
            if (i + day) % 10 == 0:
                assert await system.cmd_logger.log_command(
                    guild, "Test Guild 0", str(1000 + i), "user", name, {}, duration=0.01 * i
                )
    clock.set(NOW)

    embeds = {}
    for period in ("weekly", "monthly", "performance"):
        responses.clear()
        await run_command(monitored.bot, "stats", options=[subcommand(period)])
        (embed_dict,) = responses.embeds
        embeds[period] = embed = discord.Embed.from_dict(embed_dict)
        assert_within_limits(embed)
    # In the last 7 days 7 names in 10 ran (140), plus /stats weekly and monthly: 15 shown.
    assert embeds["performance"].description is not None
    assert embeds["performance"].description.endswith("\n+127 more commands")
    # 200 names, each on 3 of the 30 days, plus the /stats weekly just run.
    (commands,) = [f for f in embeds["monthly"].fields if f.name == "⌨️ Commands"]
    assert commands.value == "601 run · 0.0 % failed"
    assert "🎵 Music" not in [f.name for f in embeds["monthly"].fields]  # No music this month.
