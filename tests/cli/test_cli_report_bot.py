"""``report --bot``: every server together, and the bot's growth, as JSON and as tables."""

from __future__ import annotations

import json

import pytest
from cli_support import Cli, Command, Event, epoch, populate

from monitoring_cog.recording.records import GrowthKind, GrowthRecord, PopulationRecord


def bot_week() -> list[Event]:
    """Two guilds' commands and a week of growth to 2026-03-15 (two shards)."""
    return [
        Command(epoch(2026, 3, 10), "111", "3", "queue", 0.25),
        Command(epoch(2026, 3, 15, 10), "111", "1", "play", 0.5),
        Command(epoch(2026, 3, 15, 11), "111", "2", "play", 0.5, success=False),
        Command(epoch(2026, 3, 15, 13), "222", "9", "play", 1.0, guild_name="Rock Café"),
        GrowthRecord(GrowthKind.JOIN, epoch(2026, 3, 10, 8)),
        GrowthRecord(GrowthKind.JOIN, epoch(2026, 3, 10, 9)),
        GrowthRecord(GrowthKind.LEAVE, epoch(2026, 3, 14, 20)),
        GrowthRecord(GrowthKind.JOIN, epoch(2026, 3, 1)),  # Before the week.
        PopulationRecord(0, 2, 40, 4000, epoch(2026, 3, 13, 6)),
        PopulationRecord(1, 2, 41, 4100, epoch(2026, 3, 13, 6)),
        PopulationRecord(0, 2, 42, 4200, epoch(2026, 3, 15, 6)),
        PopulationRecord(1, 2, 41, 4150, epoch(2026, 3, 15, 6)),
    ]


def growth_day(
    date: str,
    joins: int = 0,
    leaves: int = 0,
    guilds: int | None = None,
    members: int | None = None,
) -> dict[str, object]:
    return {
        "date": date,
        "joins": joins,
        "leaves": leaves,
        "net": joins - leaves,
        "guilds": guilds,
        "members": members,
    }


@pytest.fixture
def recorded(cli: Cli) -> Cli:
    populate(cli.db_path, bot_week())
    return cli


def test_bot_report_json_sums_every_guild_and_lists_each_days_growth(recorded: Cli) -> None:
    result = recorded.run("report", "--bot", "--as-of", "2026-03-15", "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["scope"] == "bot"
    assert (data["report"]["total_commands"], data["report"]["failed_commands"]) == (4, 1)
    assert data["report"]["peak_users"] == 3  # Users 1 and 2 in guild 111, 9 in guild 222.
    assert [(c["command"], c["count"]) for c in data["performance"]["slowest_commands"]] == [
        ("play", 3),
        ("queue", 1),
    ]
    assert data["growth"] == [
        growth_day("2026-03-09"),
        growth_day("2026-03-10", joins=2),
        growth_day("2026-03-11"),
        growth_day("2026-03-12"),
        growth_day("2026-03-13", guilds=81, members=8100),
        growth_day("2026-03-14", leaves=1),
        growth_day("2026-03-15", guilds=83, members=8350),
    ]


def test_bot_report_monthly_covers_30_days_of_growth(recorded: Cli) -> None:
    result = recorded.run(
        "report", "--bot", "--period", "monthly", "--as-of", "2026-03-15", "--json"
    )
    growth = json.loads(result.stdout)["growth"]
    assert (growth[0]["date"], growth[-1]["date"], len(growth)) == ("2026-02-14", "2026-03-15", 30)
    assert sum(day["joins"] for day in growth) == 3  # 1 March counts now.


def test_bot_report_tables(recorded: Cli) -> None:
    result = recorded.run("report", "--bot", "--as-of", "2026-03-15")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Weekly statistics for all servers" in out
    assert "4 run · 1 failed (25.0 %)" in out
    assert "Command performance, last 7 days" in out
    assert "Growth, last 7 days (UTC)" in out
    lines = [line.split("│")[1].split() for line in out.splitlines() if line.startswith("│")]
    growth_rows = {" ".join(cells[:3]): cells[3:] for cells in lines if len(cells) == 8}
    assert growth_rows["Tue 10 Mar"] == ["2", "0", "+2", "—", "—"]
    assert growth_rows["Fri 13 Mar"] == ["0", "0", "0", "81", "8,100"]
    assert growth_rows["Sat 14 Mar"] == ["0", "1", "-1", "—", "—"]
    assert growth_rows["Sun 15 Mar"] == ["0", "0", "0", "83", "8,350"]
    assert "2 joined, 1 left (net +1) · 83 guilds, 8,350 members on Sun 15 Mar" in out


def test_a_bot_report_without_growth_says_so(cli: Cli) -> None:
    populate(cli.db_path, bot_week()[:4])
    result = cli.run("report", "--bot", "--as-of", "2026-03-15")
    assert result.returncode == 0, result.stderr
    assert "0 joined, 0 left (net 0) · no guild counts recorded in this period" in result.stdout


@pytest.mark.parametrize("args", [[], ["--guild", "111", "--bot"]], ids=["neither", "both"])
def test_report_needs_a_guild_or_the_bot(recorded: Cli, args: list[str]) -> None:
    result = recorded.run("report", *args)
    assert result.returncode == 2
    assert "give either --guild ID or --bot" in result.stderr
