"""``prune``, ``forget-user``, ``export`` and ``migrate`` do what they promise to the database."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time

import pytest
from cli_support import Cli, Command, Song, assert_user_error, epoch, populate
from test_cli_report_health import GUILD, week_of_data

from monitoring_cog.storage.migrations import latest_version

DAY = 86400.0


def aged_rows() -> list[Command | Song]:
    now = time.time()
    return [
        Command(now - 40 * DAY, GUILD, "1", "play", 0.5),
        Command(now - 40 * DAY + 60, GUILD, "2", "skip", 0.125),
        Command(now - 35 * DAY, GUILD, "1", "queue", 0.25),
        Command(now - 1 * DAY, GUILD, "1", "play", 0.5),
        Command(now - 1 * DAY + 60, GUILD, "2", "play", 0.5, success=False),
    ]


def totals(cli: Cli) -> tuple[int, int]:
    """(audit rows, commands counted in the daily statistics)."""
    (audit,), (counted,) = (
        cli.rows("SELECT COUNT(*) FROM audit_logs")[0],
        cli.rows("SELECT SUM(commands) FROM bot_stats")[0],
    )
    return audit, counted


def test_prune_dry_run_deletes_nothing(cli: Cli) -> None:
    populate(cli.db_path, aged_rows())
    result = cli.run("prune", "--older-than", "30", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "3 audit rows are older than 30 days (dry run: nothing deleted).\n"
    assert totals(cli) == (5, 5)


def test_prune_deletes_old_rows_and_keeps_the_statistics(cli: Cli) -> None:
    populate(cli.db_path, aged_rows())
    result = cli.run("prune", "--older-than", "30")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Deleted 3 audit rows older than 30 days; reports keep their figures.\n"
    )
    assert result.stderr == ""  # No progress bar when stderr is not a terminal.
    assert totals(cli) == (2, 5)
    again = cli.run("prune", "--older-than", "30")
    assert again.stdout == "Deleted 0 audit rows older than 30 days; reports keep their figures.\n"


def test_prune_defaults_to_the_configured_retention(cli: Cli) -> None:
    cli.write_config("[retention]\naudit_days = 36\n")
    populate(cli.db_path, aged_rows())
    result = cli.run("prune")
    assert result.stdout == (
        "Deleted 2 audit rows older than 36 days; reports keep their figures.\n"
    )


def test_prune_without_days_when_retention_keeps_forever(cli: Cli) -> None:
    cli.write_config("[retention]\naudit_days = 0\n")
    populate(cli.db_path, aged_rows())
    assert_user_error(cli.run("prune"), "retention.audit_days is 0", "--older-than")
    assert totals(cli) == (5, 5)


def test_forget_user_erases_rows_and_keeps_aggregates(cli: Cli) -> None:
    populate(cli.db_path, week_of_data())
    before = cli.rows("SELECT * FROM bot_stats ORDER BY guild_id, day")
    commands_before = cli.rows("SELECT * FROM command_stats ORDER BY guild_id, day, command")
    result = cli.run("forget-user", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Forgot user 1: deleted 2 audit rows, 1 daily activity rows and 0 component and event"
        " rows; aggregate counts are kept.\n"
    )
    assert cli.rows("SELECT COUNT(*) FROM audit_logs WHERE user_id = '1'") == [(0,)]
    assert cli.rows("SELECT COUNT(*) FROM daily_users WHERE user_id = '1'") == [(0,)]
    assert cli.rows("SELECT COUNT(*) FROM audit_logs") == [(4,)]
    assert cli.rows("SELECT * FROM bot_stats ORDER BY guild_id, day") == before
    assert cli.rows("SELECT * FROM command_stats ORDER BY guild_id, day, command") == (
        commands_before
    )
    report = json.loads(
        cli.run("report", "--guild", GUILD, "--as-of", "2026-03-15", "--json").stdout
    )["report"]
    assert (report["total_commands"], report["total_songs"], report["peak_users"]) == (4, 2, 1)


def test_forget_user_json_and_a_user_with_nothing(cli: Cli) -> None:
    populate(cli.db_path, week_of_data())
    result = cli.run("forget-user", "12345", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "user_id": "12345",
        "deleted": {
            "audit_logs": 0,
            "daily_users": 0,
            "component_users": 0,
            "event_users": 0,
        },
    }
    assert cli.rows("SELECT COUNT(*) FROM audit_logs") == [(6,)]


CSV_HEADER = (
    "id,executed_at,guild_id,guild_name,user_id,username,command,parameters,duration,success,"
    "error_type,error_message,traceback"
)
CSV_ROWS = [
    "1,2026-02-01T12:00:00+00:00,111,Lo-Fi Lounge,3,user3,play,{},0.5,1,,,",
    "2,2026-03-10T12:00:00+00:00,111,Lo-Fi Lounge,3,user3,queue,{},0.25,1,,,",
    '3,2026-03-15T10:00:00+00:00,111,Lo-Fi Lounge,1,user1,play,"{""query"":""So What""}",0.5,1,,,',
    "4,2026-03-15T11:00:00+00:00,111,Lo-Fi Lounge,2,user2,play,{},0.5,0,RuntimeError,it failed,",
    "5,2026-03-15T12:00:00+00:00,111,Lo-Fi Lounge,1,user1,skip,{},0.125,1,,,",
    "6,2026-03-15T13:00:00+00:00,222,Rock Café,9,user9,play,{},1.0,1,,,",
]


def test_export_csv(cli: Cli) -> None:
    populate(cli.db_path, week_of_data())
    result = cli.run("export", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n".join([CSV_HEADER, *CSV_ROWS]) + "\n"
    assert result.stderr == ""


def test_export_csv_since_a_date(cli: Cli) -> None:
    populate(cli.db_path, week_of_data())
    result = cli.run("export", "--format", "csv", "--since", "2026-03-15")
    assert result.stdout == "\n".join([CSV_HEADER, *CSV_ROWS[2:]]) + "\n"
    later = cli.run("export", "--format", "csv", "--since", "2026-03-15T11:30:00")
    assert later.stdout == "\n".join([CSV_HEADER, *CSV_ROWS[4:]]) + "\n"


def test_export_json(cli: Cli) -> None:
    populate(cli.db_path, week_of_data())
    result = cli.run("export", "--format", "json", "--since", "2026-03-15 11:00:00")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "id": 4,
            "executed_at": "2026-03-15T11:00:00+00:00",
            "guild_id": "111",
            "guild_name": "Lo-Fi Lounge",
            "user_id": "2",
            "username": "user2",
            "command": "play",
            "parameters": {},
            "duration": 0.5,
            "success": False,
            "error_type": "RuntimeError",
            "error_message": "it failed",
            "traceback": None,
        },
        {
            "id": 5,
            "executed_at": "2026-03-15T12:00:00+00:00",
            "guild_id": "111",
            "guild_name": "Lo-Fi Lounge",
            "user_id": "1",
            "username": "user1",
            "command": "skip",
            "parameters": {},
            "duration": 0.125,
            "success": True,
            "error_type": None,
            "error_message": None,
            "traceback": None,
        },
        {
            "id": 6,
            "executed_at": "2026-03-15T13:00:00+00:00",
            "guild_id": "222",
            "guild_name": "Rock Café",
            "user_id": "9",
            "username": "user9",
            "command": "play",
            "parameters": {},
            "duration": 1.0,
            "success": True,
            "error_type": None,
            "error_message": None,
            "traceback": None,
        },
    ]


@pytest.mark.parametrize(
    ("format_name", "expected"), [("json", "[]\n"), ("csv", CSV_HEADER + "\n")]
)
def test_export_of_nothing(cli: Cli, format_name: str, expected: str) -> None:
    assert cli.run("migrate").returncode == 0
    result = cli.run("export", "--format", format_name)
    assert (result.returncode, result.stdout) == (0, expected)


def test_export_to_a_file(cli: Cli) -> None:
    populate(cli.db_path, week_of_data())
    target = cli.root / "out" / "audit.csv"
    target.parent.mkdir()
    result = cli.run("export", "--format", "csv", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"Wrote 6 audit rows to {target}\n"
    assert target.read_text(encoding="utf-8") == "\n".join([CSV_HEADER, *CSV_ROWS]) + "\n"


def test_export_to_an_unwritable_place(cli: Cli) -> None:
    populate(cli.db_path, week_of_data())
    target = cli.root / "no-such-folder" / "audit.csv"
    assert_user_error(cli.run("export", "--format", "csv", "-o", str(target)), "cannot write")


def test_export_streams_a_large_log(cli: Cli) -> None:
    """Twenty thousand rows, inserted directly, come out whole and in order."""
    assert cli.run("migrate").returncode == 0
    count = 20_000
    conn = sqlite3.connect(cli.db_path)
    conn.execute("INSERT INTO servers VALUES ('111', 'Lo-Fi Lounge', 0, 0)")
    conn.executemany(
        "INSERT INTO audit_logs (guild_id, guild_name, user_id, username, command, parameters,"
        " duration, success, executed_at) VALUES ('111', 'Lo-Fi Lounge', ?, 'u', 'play', '{}',"
        " 0.5, 1, ?)",
        [(str(n % 97), epoch(2026, 1, 1) + n) for n in range(count)],
    )
    conn.commit()
    conn.close()
    result = cli.run("export", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) == count + 1
    assert [int(row[0]) for row in rows[1:]] == list(range(1, count + 1))
    assert rows[-1][1] == "2026-01-01T17:33:19+00:00"  # Noon plus 19,999 seconds.


def test_migrate_creates_then_reports_the_version(cli: Cli) -> None:
    first = cli.run("migrate")
    assert first.returncode == 0, first.stderr
    latest = latest_version("sqlite")
    assert first.stdout == f"Created {cli.db_path} at schema version {latest}.\n"
    assert cli.rows("SELECT MAX(version) FROM schema_migrations") == [(latest,)]
    second = cli.run("migrate")
    assert second.stdout == f"{cli.db_path} is at schema version {latest} (the latest).\n"
