"""User errors end in one line on stderr and exit code 2, never a traceback or a new file."""

from __future__ import annotations

import sqlite3

import click
import pytest
from cli_support import Cli, assert_user_error

READ_COMMANDS = [
    ("report", "--guild", "111"),
    ("health",),
    ("prune", "--older-than", "30"),
    ("forget-user", "42"),
    ("export", "--format", "csv"),
]

# Click's own words for an unknown option, which changed between the click versions supported:
# "No such option: --no-such-flag" in 8.1, "No such option '--no-such-flag'." in the latest.
NO_SUCH_FLAG = click.NoSuchOption("--no-such-flag").format_message()


def test_help_lists_every_command(cli: Cli) -> None:
    result = cli.run("--help")
    assert result.returncode == 0, result.stderr
    for command in ("demo", "report", "health", "prune", "forget-user", "export", "migrate", "run"):
        assert f"  {command} " in result.stdout


def test_version(cli: Cli) -> None:
    result = cli.run("--version")
    assert result.returncode == 0
    assert result.stdout == "monitoring-cog, version 0.1.0\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("frobnicate",), "No such command 'frobnicate'"),
        (("--no-such-flag", "health"), NO_SUCH_FLAG),
        (("report",), "give either --guild ID or --bot"),
        (("report", "--guild", "1", "--period", "yearly"), "'yearly' is not one of"),
        (("report", "--guild", "1", "--as-of", "15/03/2026"), "Invalid value for '--as-of'"),
        (("prune", "--older-than", "-1"), "Invalid value for '--older-than'"),
        (("prune", "--older-than", "soon"), "'soon' is not a valid integer"),
        (("export",), "Missing option '--format'"),
        (("export", "--format", "xml"), "'xml' is not one of 'csv', 'json'"),
        (("export", "--format", "csv", "--since", "yesterday"), "Invalid value for '--since'"),
        (("forget-user",), "Missing argument 'USER_ID'"),
        (("forget-user", " "), "USER_ID"),
        (("demo", "--seed", "x"), "Invalid value for '--seed'"),
    ],
)
def test_bad_arguments(cli: Cli, args: tuple[str, ...], expected: str) -> None:
    line = assert_user_error(cli.run(*args), expected)
    assert line.startswith("monitoring-cog")
    assert "--help" in line
    assert not cli.db_path.parent.exists()


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda args: args[0])
def test_missing_database_is_refused_not_created(cli: Cli, args: tuple[str, ...]) -> None:
    line = assert_user_error(cli.run(*args), str(cli.db_path), "no such database", "migrate")
    assert line == (
        f"monitoring-cog: error: {cli.db_path}: no such database (from [database] path in "
        f"{cli.config_path}); check the path, or create it with 'monitoring-cog migrate'"
    )
    assert not cli.db_path.exists()
    assert not cli.db_path.parent.exists()


@pytest.mark.parametrize("args", [*READ_COMMANDS, ("migrate",)], ids=lambda args: args[0])
def test_corrupt_database_file(cli: Cli, args: tuple[str, ...]) -> None:
    cli.db_path.parent.mkdir(parents=True)
    garbage = b"this is not a database, just bytes\n" * 200
    cli.db_path.write_bytes(garbage)
    assert_user_error(cli.run(*args), str(cli.db_path), "not a database")
    assert cli.db_path.read_bytes() == garbage


def test_database_newer_than_the_code(cli: Cli) -> None:
    assert cli.run("migrate").returncode == 0
    conn = sqlite3.connect(cli.db_path)
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', 0)")
    conn.commit()
    conn.close()
    assert_user_error(cli.run("health"), "schema is at version 99", "upgrade monitoring_cog")


@pytest.mark.parametrize("args", [*READ_COMMANDS, ("migrate",)], ids=lambda args: args[0])
def test_bad_config(cli: Cli, args: tuple[str, ...]) -> None:
    cli.write_config("[recording]\nflush_intervall = 2\n")
    line = assert_user_error(cli.run(*args), str(cli.config_path), "recording.flush_intervall")
    assert "known keys" in line
    assert not cli.db_path.exists()


def test_config_of_the_wrong_type(cli: Cli) -> None:
    cli.write_config('[health]\nerror_rate_warning = "high"\n')
    assert_user_error(cli.run("health"), "health.error_rate_warning", "expected a number")


def test_config_that_is_not_toml(cli: Cli) -> None:
    cli.config_path.write_text("[database\npath = 1\n", encoding="utf-8")
    assert_user_error(cli.run("migrate"), "not valid TOML")


def test_config_env_var_naming_a_missing_file(cli: Cli) -> None:
    missing = cli.root / "nope.toml"
    line = assert_user_error(cli.run("health", MONITORING_CONFIG=str(missing)))
    assert line == f"monitoring-cog: error: MONITORING_CONFIG={missing}: no such config file"


def test_config_option_wins_over_the_environment(cli: Cli) -> None:
    other = cli.root / "other.toml"
    other.write_text(f'[database]\npath = "{(cli.root / "other.db").as_posix()}"\n', "utf-8")
    result = cli.run("--config", str(other), "migrate")
    assert result.returncode == 0, result.stderr
    assert (cli.root / "other.db").exists()
    assert not cli.db_path.exists()


def test_database_path_that_is_a_folder(cli: Cli) -> None:
    cli.db_path.mkdir(parents=True)
    assert_user_error(cli.run("migrate"), "is a folder")
