"""``monitoring-cog report`` shows the event-loop stalls per command, with where they were."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from cli_support import Cli

from monitoring_cog import CommandLogger, Database, ManualClock, MonitoringConfig
from monitoring_cog.config import DatabaseConfig
from monitoring_cog.recording.records import StallRecord

AT = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
WHERE = "cogs/music.py:42 in Music.play"


def record_stalls(cli: Cli) -> None:
    async def fill() -> None:
        config = MonitoringConfig(database=DatabaseConfig(path=str(cli.db_path)))
        clock = ManualClock(AT)
        async with Database(cli.db_path, config=config, clock=clock) as db:
            logger = CommandLogger(db)
            for command in ("play", "play", "skip"):
                assert await logger.log_command("111", "Lounge", "7", "u", command, None, 0.2)
            at = clock.time()
            for duration, command, where in (
                (0.4, "play", WHERE),
                (1.6, "play", "cogs/music.py:57 in Music.load"),
                (0.3, None, "bot.py:9 in on_ready"),  # Outside any command: no guild.
            ):
                guild = "111" if command else None
                kind = "prefix" if command else None
                assert db.submit(StallRecord(at - 60, duration, command, kind, guild, where, None))

    asyncio.run(fill())


def test_report_shows_stalls_per_command(cli: Cli) -> None:
    record_stalls(cli)
    as_json = cli.run("report", "--guild", "111", "--as-of", "2026-03-15", "--json")
    assert as_json.returncode == 0, as_json.stderr
    performance = json.loads(as_json.stdout)["performance"]
    stalls = {entry["command"]: entry["stalls"] for entry in performance["slowest_commands"]}
    assert stalls == {"play": 2, "skip": 0}
    (play,) = performance["stalls"]  # The stall outside any command belongs to no guild.
    assert (play["command"], play["count"], play["max_seconds"]) == ("play", 2, 1.6)
    assert play["location"] == "cogs/music.py:57 in Music.load"

    table = cli.run("report", "--guild", "111", "--as-of", "2026-03-15")
    assert table.returncode == 0, table.stderr
    out = table.stdout
    assert "Event loop blocked" in out
    assert "play: 2 times, worst 1.60 s at cogs/music.py:57 in Music.load" in out
    assert "Stalls" in out
