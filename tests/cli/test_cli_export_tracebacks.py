"""``monitoring-cog export`` shows a failed command's traceback, in CSV and in JSON."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from cli_support import Cli

from monitoring_cog import CommandLogger, Database, MonitoringConfig
from monitoring_cog.config import DatabaseConfig


def _failing_lookup() -> None:
    {}["song"]  # the line the export shows


def record_a_failure(cli: Cli) -> None:
    async def fill() -> None:
        config = MonitoringConfig(database=DatabaseConfig(path=str(cli.db_path)))
        async with Database(cli.db_path, config=config) as db:
            try:
                _failing_lookup()
            except KeyError as error:
                logger = CommandLogger(db)
                assert await logger.log_command(
                    "111", "G", "7", "u", "play", None, 0.5, False, exception=error
                )
            assert await CommandLogger(db).log_command("111", "G", "7", "u", "skip", None, 0.1)

    asyncio.run(fill())


def test_export_shows_the_traceback(cli: Cli) -> None:
    record_a_failure(cli)
    as_json = cli.run("export", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    failed, succeeded = json.loads(as_json.stdout)
    assert (failed["command"], succeeded["command"]) == ("play", "skip")
    lines = failed["traceback"].splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-2].endswith("in _failing_lookup")
    assert lines[-1] == '    {}["song"]  # the line the export shows'
    assert succeeded["traceback"] is None

    as_csv = cli.run("export", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [row["traceback"] for row in rows] == [failed["traceback"], ""]
