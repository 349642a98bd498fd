"""``report`` and ``health`` read what the bot recorded, as JSON and as tables."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from cli_support import Cli, Command, Skip, Song, assert_user_error, epoch, populate

GUILD = "111"


def week_of_data() -> list[Command | Song | Skip]:
    """Guild 111's week to 2026-03-15, another guild's command, and an older row."""
    return [
        Command(epoch(2026, 2, 1), GUILD, "3", "play", 0.5),
        Command(epoch(2026, 3, 10), GUILD, "3", "queue", 0.25),
        Command(epoch(2026, 3, 15, 10), GUILD, "1", "play", 0.5, parameters={"query": "So What"}),
        Song(epoch(2026, 3, 15, 10, 1), GUILD, "1", 180),
        Command(epoch(2026, 3, 15, 11), GUILD, "2", "play", 0.5, success=False),
        Song(epoch(2026, 3, 15, 11, 1), GUILD, "2", 200),
        Command(epoch(2026, 3, 15, 12), GUILD, "1", "skip", 0.125),
        Skip(epoch(2026, 3, 15, 12, 1), GUILD, "1"),
        Command(epoch(2026, 3, 15, 13), "222", "9", "play", 1.0, guild_name="Rock Café"),
    ]


def day(date: str, commands: int = 0, users: int = 0, **figures: int) -> dict[str, object]:
    entry: dict[str, object] = {
        "date": date,
        "songs": 0,
        "playtime": 0,
        "skips": 0,
        "pauses": 0,
        "commands": commands,
        "users": users,
    }
    entry.update(figures)
    return entry


def perf(command: str, seconds: float, count: int, failures: int = 0) -> dict[str, object]:
    return {
        "command": command,
        "avg_duration": seconds,
        "min_duration": seconds,
        "max_duration": seconds,
        "count": count,
        "p50": seconds,
        "p95": seconds,
        "p99": seconds,
        "failures": failures,
        "error_rate": failures / count,
        "stalls": 0,
    }


WEEKLY = {
    "guild_id": GUILD,
    "guild_name": "Lo-Fi Lounge",
    "report": {
        "period": "weekly",
        "days": 7,
        "start_date": "2026-03-09",
        "end_date": "2026-03-15",
        "active_days": 2,
        "total_songs": 2,
        "total_playtime": 380,
        "total_playtime_hours": 0.11,
        "total_skips": 1,
        "total_pauses": 0,
        "total_commands": 4,
        "failed_commands": 1,
        "error_rate": 0.25,
        "avg_daily_users": 1.5,
        "peak_users": 2,
        "avg_song_duration": 190.0,
        "skip_rate": 0.5,
        "top_commands": [
            {"command": "play", "count": 2},
            {"command": "queue", "count": 1},
            {"command": "skip", "count": 1},
        ],
        "daily": [
            day("2026-03-09"),
            day("2026-03-10", commands=1, users=1),
            day("2026-03-11"),
            day("2026-03-12"),
            day("2026-03-13"),
            day("2026-03-14"),
            day("2026-03-15", commands=3, users=2, songs=2, playtime=380, skips=1),
        ],
        "top_components": [],
        "top_events": [],
    },
    "performance": {
        "days": 7,
        "total_commands": 4,
        "slowest_commands": [
            perf("play", 0.5, 2, failures=1),
            perf("queue", 0.25, 1),
            perf("skip", 0.125, 1),
        ],
        "stalls": [],
        "components": [],
    },
}


@pytest.fixture
def recorded(cli: Cli) -> Cli:
    populate(cli.db_path, week_of_data())
    return cli


def test_weekly_report_json(recorded: Cli) -> None:
    result = recorded.run(
        "report", "--guild", GUILD, "--period", "weekly", "--as-of", "2026-03-15", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == WEEKLY


def test_monthly_report_json_covers_30_days(recorded: Cli) -> None:
    result = recorded.run(
        "report", "--guild", GUILD, "--period", "monthly", "--as-of", "2026-03-15", "--json"
    )
    data = json.loads(result.stdout)
    report = data["report"]
    assert (report["start_date"], report["end_date"], len(report["daily"])) == (
        "2026-02-14",
        "2026-03-15",
        30,
    )
    # The row of 1 February is older than the month; everything else is the same as the week.
    assert report["total_commands"] == 4
    assert data["performance"]["days"] == 30


def test_report_as_of_a_later_day_moves_the_window(recorded: Cli) -> None:
    result = recorded.run("report", "--guild", GUILD, "--as-of", "2026-03-20", "--json")
    report = json.loads(result.stdout)["report"]
    assert (report["start_date"], report["total_commands"], report["active_days"]) == (
        "2026-03-14",
        3,
        1,
    )


def test_report_table(recorded: Cli) -> None:
    result = recorded.run("report", "--guild", GUILD, "--as-of", "2026-03-15")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Weekly statistics for Lo-Fi Lounge" in out
    assert "2026-03-09 to 2026-03-15 (UTC) · commands per day" in out
    assert "Sun 15 Mar" in out and "Mon 09 Mar" in out
    assert "2 songs · 0.1 h · 1 skips (50 %) · 0 pauses" in out
    assert "4 run · 1 failed (25.0 %)" in out
    assert "1.5 a day on average · peak 2 · 2 active days" in out
    assert "play 2, queue 1, skip 1" in out
    assert "Command performance, last 7 days" in out
    table = [line.split() for line in out.splitlines() if "ms" in line]
    assert [row[1:] for row in table] == [
        ["play", "2", "500", "ms", "500", "ms", "500", "ms", "50.0", "%", "│"],
        ["queue", "1", "250", "ms", "250", "ms", "250", "ms", "0.0", "%", "│"],
        ["skip", "1", "125", "ms", "125", "ms", "125", "ms", "0.0", "%", "│"],
    ]


def test_report_for_an_unknown_guild_names_the_known_ones(recorded: Cli) -> None:
    line = assert_user_error(recorded.run("report", "--guild", "999"))
    assert line == (
        "monitoring-cog: error: no data recorded for guild 999; known guilds: "
        "222 (Rock Café), 111 (Lo-Fi Lounge)"
    )


def test_report_on_an_empty_database(cli: Cli) -> None:
    assert cli.run("migrate").returncode == 0
    assert_user_error(cli.run("report", "--guild", GUILD), "the database has no guilds yet")


def recent(failures: int, total: int = 12) -> list[Command | Song | Skip]:
    now = time.time()
    return [
        Command(now - 600 + n * 10, GUILD, str(n % 3), "play", 0.5, success=n >= failures)
        for n in range(total)
    ]


def test_health_json_when_healthy(cli: Cli) -> None:
    events = recent(failures=0)
    populate(cli.db_path, events)
    result = cli.run("health", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["overall_status"] == "healthy"
    assert data["error_rate"] == {
        "total_commands": 12,
        "failed_commands": 0,
        "error_rate": 0.0,
        "window_seconds": 3600.0,
        "status": "healthy",
    }
    database = data["database"]
    assert (database["connected"], database["server_count"], database["status"]) == (
        True,
        1,
        "healthy",
    )
    last = max(event.at for event in events)
    assert data["last_recorded_at"] == datetime.fromtimestamp(last, UTC).isoformat()
    assert set(data) == {
        "timestamp",
        "overall_status",
        "database",
        "error_rate",
        "last_recorded_at",
        "note",
    }


def test_health_exits_1_when_unhealthy(cli: Cli) -> None:
    populate(cli.db_path, recent(failures=4))
    result = cli.run("health", "--json")
    assert result.returncode == 1
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert data["overall_status"] == "unhealthy"
    assert (data["error_rate"]["failed_commands"], data["error_rate"]["status"]) == (4, "critical")


def test_health_degraded_still_exits_0(cli: Cli) -> None:
    populate(cli.db_path, recent(failures=1, total=12))  # 8 %: past the 5 % warning.
    result = cli.run("health")
    assert result.returncode == 0, result.stderr
    assert "Bot health: degraded" in result.stdout
    assert "1 of 12 commands failed (8.3 %)" in result.stdout
    assert "Last record:" in result.stdout


def test_health_table_of_a_quiet_bot(cli: Cli) -> None:
    populate(cli.db_path, [Command(epoch(2026, 3, 15), GUILD, "1", "play", 0.5)])
    result = cli.run("health")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Bot health: healthy" in out
    assert "Database" in out and "1 servers" in out
    assert "0 of 0 commands failed (0.0 %)" in out
    assert "Last record: 2026-03-15 12:00 UTC" in out
    assert "/health in Discord" in " ".join(out.split())
