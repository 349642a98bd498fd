"""``demo``: a real bot's simulated month ends in the four reports and a database that holds it."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cli_support import Cli, assert_user_error

from monitoring_cog.cli.demo import DEMO_DAYS, DEMO_GUILDS, plan_month

TODAY = date(2026, 3, 15)
FIRST_DAY = date(2026, 2, 14)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path, str]:
    cli = Cli(tmp_path_factory.mktemp("demo"))
    path = cli.root / "demo.db"
    result = cli.run("demo", "--database", str(path), "--today", TODAY.isoformat())
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return cli, path, result.stdout


def test_the_plan_is_a_month_of_every_kind_of_command() -> None:
    plan = plan_month(7, first_weekday=FIRST_DAY.weekday())
    assert plan.days == DEMO_DAYS
    kinds = {action.kind for action in plan.actions}
    assert kinds == {"prefix", "slash", "typo"}
    assert {int(action.at // 86400) for action in plan.actions} == set(range(DEMO_DAYS))
    assert len({(action.guild, action.member) for action in plan.actions}) > 40
    assert plan_month(7, first_weekday=FIRST_DAY.weekday()) == plan
    assert plan_month(8, first_weekday=FIRST_DAY.weekday()) != plan


def test_demo_prints_the_four_reports_and_the_database(demo_run: tuple[Cli, Path, str]) -> None:
    _, path, out = demo_run
    headings = [
        line.split()[0] + (" " + line.split()[1] if line.startswith("/stats") else "")
        for line in out.splitlines()
        if re.match(r"^/(health|stats \w+) ─", line)
    ]
    assert headings == ["/health", "/stats weekly", "/stats monthly", "/stats performance"]
    plan = plan_month(7, first_weekday=FIRST_DAY.weekday())
    end = datetime(2026, 2, 14, tzinfo=UTC).timestamp() + plan.ends_at
    assert end < datetime(2026, 3, 16, tzinfo=UTC).timestamp()
    ended = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d %H:%M")
    assert f"30 days to {ended} UTC · 4 servers · 44 members" in out
    assert "Weekly statistics for Lo-Fi Lounge" in out
    assert "Monthly statistics for Lo-Fi Lounge" in out
    assert "Command performance, last 7 days" in out
    assert "Bot health: degraded" in out  # The lyrics provider's outage on the last evening.
    assert f"\nDatabase: {path}\n" in out
    assert "Explore it" not in out  # Only for a demo in its own folder, with its own config.


def test_the_database_holds_every_audited_command(demo_run: tuple[Cli, Path, str]) -> None:
    _, path, out = demo_run
    plan = plan_month(7, first_weekday=FIRST_DAY.weekday())
    expected = sum(action.audited for action in plan.actions)
    typos = sum(not action.audited for action in plan.actions)
    assert typos > 0
    conn = sqlite3.connect(path)
    try:
        (audited,) = conn.execute("SELECT COUNT(*) FROM audit_logs").fetchone()
        guilds = [row[0] for row in conn.execute("SELECT guild_name FROM servers ORDER BY 1")]
        (users,) = conn.execute("SELECT COUNT(DISTINCT user_id) FROM audit_logs").fetchone()
        (failed,) = conn.execute("SELECT COUNT(*) FROM audit_logs WHERE success = 0").fetchone()
        (slow,) = conn.execute("SELECT COUNT(*) FROM audit_logs WHERE duration > 2").fetchone()
        commands = {row[0] for row in conn.execute("SELECT DISTINCT command FROM audit_logs")}
        errors = {row[0] for row in conn.execute("SELECT DISTINCT error_type FROM audit_logs")}
        first, last = conn.execute(
            "SELECT date(MIN(executed_at), 'unixepoch'), date(MAX(executed_at), 'unixepoch')"
            " FROM audit_logs"
        ).fetchone()
    finally:
        conn.close()
    assert audited == expected
    assert f"{expected:,} commands audited" in out
    assert guilds == sorted(spec.name for spec in DEMO_GUILDS)
    assert users == 44
    assert failed > 0 and slow > 0
    assert {"play", "skip", "pause", "queue", "volume", "lyrics", "playlist save"} <= commands
    assert {"stats weekly", "health", "stop"} <= commands
    assert {"SongNotFound", "CheckFailure", "RangeError", "LyricsUnavailable"} <= errors
    assert "MissingPermissions" in errors
    assert (first, last) == (FIRST_DAY.isoformat(), TODAY.isoformat())


def test_the_demo_database_answers_the_operator_commands(demo_run: tuple[Cli, Path, str]) -> None:
    cli, path, out = demo_run
    config = cli.root / "demo.toml"
    config.write_text(f'[database]\npath = "{path.as_posix()}"\n', encoding="utf-8")
    guild = re.search(r"Lo-Fi Lounge \(server (\d+)\)", out)
    assert guild is not None
    result = cli.run(
        "--config",
        str(config),
        "report",
        "--guild",
        guild.group(1),
        "--period",
        "monthly",
        "--as-of",
        TODAY.isoformat(),
    )
    assert result.returncode == 0, result.stderr
    assert "Monthly statistics for Lo-Fi Lounge" in result.stdout


def test_demo_refuses_an_existing_database(demo_run: tuple[Cli, Path, str]) -> None:
    cli, path, _ = demo_run
    assert_user_error(cli.run("demo", "--database", str(path)), "already exists")
