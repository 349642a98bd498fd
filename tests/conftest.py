"""Shared fixtures: a real SQLite file per test, an injectable clock and process sampler."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from monitoring_cog import (
    Database,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    create_monitoring_system,
    set_current_system,
)

# A fixed "now": 2026-03-15 12:00:00 UTC. Reports count UTC days back from it.
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


class FakeProcess:
    """A psutil.Process stand-in whose readings the test sets."""

    def __init__(
        self,
        rss_mb: float = 100.0,
        vms_mb: float = 400.0,
        memory_percent: float = 1.0,
        cpu_percent: float = 5.0,
    ) -> None:
        self.rss_mb = rss_mb
        self.vms_mb = vms_mb
        self.memory_percent_value = memory_percent
        self.cpu_percent_value = cpu_percent
        self.cpu_percent_calls = 0

    def memory_info(self) -> Any:
        return SimpleNamespace(
            rss=int(self.rss_mb * 1024 * 1024), vms=int(self.vms_mb * 1024 * 1024)
        )

    def memory_percent(self) -> float:
        return self.memory_percent_value

    def cpu_percent(self, interval: float | None = None) -> float:
        self.cpu_percent_calls += 1
        return self.cpu_percent_value

    def cpu_times(self) -> Any:
        return SimpleNamespace(user=1.5, system=0.5)


@pytest.fixture(autouse=True)
def _no_current_system() -> Iterator[None]:
    """Each test starts and ends without a current system, so helpers never leak between tests."""
    set_current_system(None)
    yield
    set_current_system(None)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def config() -> MonitoringConfig:
    return MonitoringConfig()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.db"


@pytest.fixture
async def db(
    db_path: Path, clock: ManualClock, config: MonitoringConfig
) -> AsyncIterator[Database]:
    database = Database(db_path, config=config, clock=clock)
    yield database
    await database.close()


@pytest.fixture
def process() -> FakeProcess:
    return FakeProcess()


@pytest.fixture
def system(db: Database, process: FakeProcess) -> MonitoringSystem:
    return create_monitoring_system(db, process=process)
