"""Shared fixtures: a real SQLite file per test, an injectable clock and process sampler."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fakes import NOW, FakeProcess

from monitoring_cog import (
    Database,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    create_monitoring_system,
    set_current_system,
)


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
