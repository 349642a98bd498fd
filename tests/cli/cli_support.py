"""Running the command line as a subprocess, and filling its database with known data."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitoring_cog import CommandLogger, Database, ManualClock, StatisticsCollector
from monitoring_cog.config import DatabaseConfig, MonitoringConfig
from monitoring_cog.recording.records import (
    ComponentRecord,
    EventRecord,
    GrowthRecord,
    PopulationRecord,
)

TIMEOUT = 120.0
"""Seconds a command may take before the test fails (a hang guard, not a timing assertion)."""


@dataclass
class Cli:
    """``python -m monitoring_cog`` with ``MONITORING_CONFIG`` pointing into ``root``."""

    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / "data" / "bot.db"

    @property
    def config_path(self) -> Path:
        return self.root / "monitoring.toml"

    def write_config(self, extra: str = "") -> Path:
        self.config_path.write_text(
            f'[database]\npath = "{self.db_path.as_posix()}"\n{extra}', encoding="utf-8"
        )
        return self.config_path

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("MONITORING_CONFIG", "DISCORD_TOKEN", "FORCE_COLOR")
        }
        if not self.config_path.exists():
            self.write_config()
        # A fixed width and no colour, so rendered tables are the same on every machine.
        env.update(
            MONITORING_CONFIG=str(self.config_path), COLUMNS="100", NO_COLOR="1", TERM="dumb"
        )
        env.update(overrides)
        return env

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitoring_cog", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=self.root,
            env=self.env(**env),
            timeout=TIMEOUT,
            check=False,
        )

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows read straight from the database file, past the library."""
        conn = sqlite3.connect(self.db_path)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def assert_user_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Exit code 2, nothing on stdout, one line on stderr naming ``expected``; the line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def epoch(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Command:
    """One audited command to record."""

    at: float
    guild_id: str
    user_id: str
    command: str
    duration: float
    success: bool = True
    parameters: dict[str, Any] | None = None
    guild_name: str = "Lo-Fi Lounge"


@dataclass(frozen=True)
class Song:
    at: float
    guild_id: str
    user_id: str
    length: float


@dataclass(frozen=True)
class Skip:
    at: float
    guild_id: str
    user_id: str


Event = Command | Song | Skip | GrowthRecord | PopulationRecord | ComponentRecord | EventRecord
"""What :func:`populate` records; growth and component records are submitted as they are, custom
events recorded with ``record_event``."""


def populate(path: Path, events: Sequence[Event]) -> None:
    """Record ``events`` through the library, each at its own time, into the file ``path``."""

    async def fill() -> None:
        config = MonitoringConfig(database=DatabaseConfig(path=str(path)))
        clock = ManualClock(min(event.at for event in events))
        db = Database(path, config=config, clock=clock)
        logger, stats = CommandLogger(db), StatisticsCollector(db)
        try:
            for event in sorted(events, key=lambda e: e.at):
                clock.set(event.at)
                if isinstance(event, Command):
                    ok = await logger.log_command(
                        event.guild_id,
                        event.guild_name,
                        event.user_id,
                        f"user{event.user_id}",
                        event.command,
                        event.parameters,
                        event.duration,
                        event.success,
                        None if event.success else "it failed",
                        error_type=None if event.success else "RuntimeError",
                        executed_at=event.at,
                    )
                elif isinstance(event, GrowthRecord | PopulationRecord | ComponentRecord):
                    ok = db.submit(event)
                elif isinstance(event, EventRecord):
                    ok = await stats.record_event(
                        event.guild_id, event.name, event.value, event.user_id
                    )
                elif isinstance(event, Song):
                    ok = await stats.record_song_played(
                        event.guild_id, event.length, user_id=event.user_id
                    )
                else:
                    ok = await stats.record_skip(event.guild_id, user_id=event.user_id)
                assert ok
        finally:
            await db.close()

    asyncio.run(fill())
