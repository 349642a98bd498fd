"""Shared fixtures: a real database per test, an injectable clock and process sampler.

Tests that take ``backend`` (directly, or through ``db_target``, ``db`` or ``system``) run once
per storage backend: SQLite (a file under ``tmp_path``) and PostgreSQL (see ``backends.py``).
``@pytest.mark.sqlite_only`` keeps a test to SQLite: file paths, corrupt files, the sqlite3
shell's view. Without a PostgreSQL server the PostgreSQL runs skip, saying why, or fail when the
``CI`` environment variable is set: CI must never pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from backends import (
    BACKENDS,
    POSTGRES_URL_ENV,
    Backend,
    OpenSystem,
    PostgresBackend,
    PostgresServer,
    Reopen,
    SQLiteBackend,
    server_url,
)
from fakes import NOW, FakeProcess

from monitoring_cog import (
    Database,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    create_monitoring_system,
    set_current_system,
)
from monitoring_cog.config.urls import redact_url


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that takes ``backend`` once per backend (SQLite only if marked so)."""
    if "backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ["sqlite"] if only_sqlite else BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A database of the session's own on the PostgreSQL server, dropped at the end."""
    server = PostgresServer(server_url())
    try:
        server.start()
    except Exception as exc:
        server.stop()
        reason = (
            f"PostgreSQL at {redact_url(server.server_url)} cannot be used"
            f" ({type(exc).__name__}: {exc});"
            f" start one, or name another in ${POSTGRES_URL_ENV}"
        )
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    yield server
    server.stop()


@pytest.fixture
def fresh_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database (no schema yet), dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    """The backend this run of the test uses, with an empty database."""
    if request.param == "sqlite":
        return SQLiteBackend(request.getfixturevalue("db_path"))
    server: PostgresServer = request.getfixturevalue("postgres_server")
    server.reset()
    return PostgresBackend(server)


@pytest.fixture
def db_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The SQLite file of the test (the ``sqlite`` backend's database)."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == "postgresql":
        # The test would look at a SQLite file while the library records into PostgreSQL.
        pytest.fail(
            "db_path is SQLite's: use backend/db_target, or mark the test sqlite_only",
            pytrace=False,
        )
    return tmp_path / "data" / "bot.db"


@pytest.fixture
def db_target(backend: Backend) -> Path | str:
    """What ``Database(...)`` takes for this test's database: a SQLite path or a URL."""
    return backend.target


@pytest.fixture
async def db(
    db_target: Path | str, clock: ManualClock, config: MonitoringConfig
) -> AsyncIterator[Database]:
    database = Database(db_target, config=config, clock=clock)
    yield database
    await database.close()


@pytest.fixture
def process() -> FakeProcess:
    return FakeProcess()


@pytest.fixture
def system(db: Database, process: FakeProcess) -> MonitoringSystem:
    return create_monitoring_system(db, process=process)


@pytest.fixture
async def open_system(clock: ManualClock, process: FakeProcess) -> AsyncIterator[OpenSystem]:
    """Open a Database at a location with a config and build a system on it (not made current);
    every database it opened is closed after the test."""
    opened: list[Database] = []

    def _open(location: Path | str, config: MonitoringConfig) -> MonitoringSystem:
        database = Database(location, config=config, clock=clock)
        opened.append(database)
        return create_monitoring_system(database, process=process, make_current=False)

    yield _open
    for database in opened:
        await database.close()


@pytest.fixture
def reopen(db_target: Path | str, config: MonitoringConfig, open_system: OpenSystem) -> Reopen:
    """Close a system's database and open a new Database and system on the same database."""

    async def _reopen(system: MonitoringSystem) -> MonitoringSystem:
        await system.db.close()
        return open_system(db_target, config)

    return _reopen
