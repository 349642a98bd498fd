"""``monitoring_cog.Database``: construction, paths, lifetime, and a database that fails.

Covers: the constructor does no I/O beyond creating missing parent folders; a path that can never
hold a database raises :class:`DatabaseUnavailable` naming it; ``":memory:"``; data surviving a
close and reopen; ``async with``; and a database that fails, at start (a corrupt file, a server
refusing connections) or mid-run (another connection holds the write lock, or the database
becomes impossible to open), which the public API survives by returning its defaults, logging,
counting the error, and reporting itself unhealthy.

Tests taking ``backend`` run on SQLite and PostgreSQL; the rest are about SQLite files and paths.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from backends import Backend, OpenSystem, SQLiteBackend

from monitoring_cog import (
    Database,
    DatabaseUnavailable,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    create_monitoring_system,
)
from monitoring_cog.config import DatabaseConfig, RecordingConfig
from monitoring_cog.storage.migrations import latest_version

GUILD = "111"


# --- helpers -----------------------------------------------------------------------------------


class MakeSystem(Protocol):
    def __call__(self, path: Path | str | None = None, **database: Any) -> MonitoringSystem: ...


@pytest.fixture
def make_system(backend: Backend, open_system: OpenSystem) -> MakeSystem:
    """Build a monitoring system (the backend's database unless told) whose writer only writes
    when asked."""

    def make(path: Path | str | None = None, **database: Any) -> MonitoringSystem:
        location = backend.target if path is None else path
        config = MonitoringConfig(
            database=(
                backend.database_config(**database)
                if path is None
                else DatabaseConfig(path=str(location), **database)
            ),
            recording=RecordingConfig(flush_interval=3600.0),
        )
        return open_system(location, config)

    return make


def audit_count(backend: Backend) -> int:
    return int(backend.scalar("SELECT COUNT(*) FROM audit_logs"))


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def monitoring_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and r.name.startswith("monitoring_cog")
    ]


async def assert_degraded(system: MonitoringSystem, caplog: pytest.LogCaptureFixture) -> None:
    """Log a command and read it back while the database fails: every call returns its default,
    each failed read is logged and counted, and the health report says so."""
    db = system.db
    assert db.errors.errors == 0

    with caplog.at_level(logging.ERROR, logger="monitoring_cog"):
        assert await system.cmd_logger.log_command(GUILD, "Guild", 1, "alice", "play") is True
        assert await system.cmd_logger.get_recent_commands() == []
        assert await system.stats_collector.generate_weekly_report(GUILD) == {}
        assert await system.perf_monitor.get_performance_stats(GUILD) == {}
        report = await system.health_check.get_full_health_report()

    assert db.errors.by_operation == {
        "CommandLogger.get_recent_commands": 1,
        "StatisticsCollector.generate_report": 1,
        "PerformanceMonitor.get_performance_stats": 1,
        "HealthCheck.check_error_rate": 1,
    }
    assert db.errors.errors == 4
    messages = monitoring_errors(caplog)
    assert any("CommandLogger.get_recent_commands" in m for m in messages), messages
    assert report["overall_status"] == "unhealthy"
    assert report["database"]["status"] == "error"
    assert report["database"]["connected"] is False
    assert report["recording"]["status"] == "critical"
    assert report["recording"]["failing"] is True
    assert report["recording"]["pending"] == 1
    assert report["internal_errors"]["count"] == db.errors.errors


# --- construction ------------------------------------------------------------------------------


async def test_constructor_creates_parent_folders_but_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # No ./config.toml: the defaults apply.
    monkeypatch.delenv("MONITORING_CONFIG", raising=False)
    path = tmp_path / "a" / "b" / "bot.db"

    db = Database(path)
    try:
        assert path.parent.is_dir()
        assert not path.exists()
        assert db.is_connected is False
        assert db.path == str(path)
        assert db.config == MonitoringConfig()

        await db.connect()

        assert path.is_file()
        assert db.is_connected is True
    finally:
        await db.close()


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "folder").mkdir()
    return tmp_path / "folder"


def _under_file(tmp_path: Path) -> Path:
    (tmp_path / "file.txt").write_text("not a folder")
    return tmp_path / "file.txt" / "bot.db"


def _deep_under_file(tmp_path: Path) -> Path:
    (tmp_path / "file.txt").write_text("not a folder")
    return tmp_path / "file.txt" / "sub" / "bot.db"


@pytest.mark.parametrize("unusable", [_folder, _under_file, _deep_under_file])
def test_unusable_path_raises_naming_it(tmp_path: Path, unusable: Any) -> None:
    path = unusable(tmp_path)

    with pytest.raises(DatabaseUnavailable) as info:
        Database(path, config=MonitoringConfig())

    assert str(path) in str(info.value)


@pytest.mark.sqlite_only
async def test_memory_database_works_without_a_file(
    make_system: MakeSystem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    system = make_system(":memory:")

    assert await system.cmd_logger.log_command(GUILD, "Guild", 1, "alice", "play")
    entries = await system.cmd_logger.get_recent_commands()

    assert [e["command"] for e in entries] == ["play"]
    assert system.db.path == ":memory:"
    assert await system.db.migrate() == latest_version("sqlite")
    assert files_in(tmp_path) == []


# --- lifetime ----------------------------------------------------------------------------------


async def test_data_survives_close_and_reopen(make_system: MakeSystem) -> None:
    first = make_system()
    assert await first.cmd_logger.log_command(GUILD, "Guild", 1, "alice", "play", {"q": "song"})
    assert await first.cmd_logger.log_command(GUILD, "Guild", 2, "bob", "skip", success=False)
    await first.db.close()

    second = make_system()
    entries = await second.cmd_logger.get_recent_commands(GUILD)
    report = await second.stats_collector.generate_weekly_report(GUILD)

    assert sorted((e["command"], e["user_id"], e["success"]) for e in entries) == [
        ("play", "1", True),
        ("skip", "2", False),
    ]
    assert next(e for e in entries if e["command"] == "play")["parameters"] == {"q": "song"}
    assert report["total_commands"] == 2
    assert report["failed_commands"] == 1


async def test_async_with_closes_and_writes(
    backend: Backend, clock: ManualClock, process: Any
) -> None:
    config = MonitoringConfig(recording=RecordingConfig(flush_interval=3600.0))
    async with Database(backend.target, config=config, clock=clock) as db:
        logger = create_monitoring_system(db, process=process, make_current=False).cmd_logger
        assert await logger.log_command(GUILD, "Guild", 1, "alice", "play")
        await db.connect()
        assert db.is_connected is True

    assert (db.closed, db.is_connected) == (True, False)
    assert audit_count(backend) == 1


# --- a failing database ------------------------------------------------------------------------


@pytest.fixture(params=["locked", "unusable"])
async def failing_system(
    request: pytest.FixtureRequest, make_system: MakeSystem, backend: Backend
) -> AsyncIterator[MonitoringSystem]:
    """A working system whose database then fails: write-locked by another connection, or
    impossible to open again (a file replaced by garbage, a server refusing connections)."""
    system = make_system(busy_timeout_ms=20)
    await system.db.connect()
    if request.param == "locked":
        with backend.exclusive_lock():
            yield system
    else:
        storage = await system.db.storage()
        await storage.close()  # The next use reconnects, and fails.
        with backend.unusable():
            yield system


async def test_database_failing_mid_run_degrades_to_defaults(
    failing_system: MonitoringSystem, caplog: pytest.LogCaptureFixture
) -> None:
    await assert_degraded(failing_system, caplog)


async def test_writes_resume_once_the_lock_is_released(
    make_system: MakeSystem, backend: Backend
) -> None:
    system = make_system(busy_timeout_ms=20)
    await system.db.connect()
    with backend.exclusive_lock():
        assert await system.cmd_logger.log_command(GUILD, "Guild", 1, "alice", "play")
        assert await system.cmd_logger.get_recent_commands() == []
        assert system.db.recorder.failing is True

    entries = await system.cmd_logger.get_recent_commands()
    report = await system.health_check.get_full_health_report()

    assert [e["command"] for e in entries] == ["play"]
    assert report["recording"]["failing"] is False
    assert report["database"]["status"] == "healthy"
    assert report["recording"]["status"] == "healthy"
    assert audit_count(backend) == 1


async def test_unusable_database_at_start_degrades_to_defaults(
    make_system: MakeSystem, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    with backend.unusable():
        system = make_system()

        await assert_degraded(system, caplog)
        if isinstance(backend, SQLiteBackend):
            assert backend.is_garbage()  # Never overwritten.


async def test_connect_to_unusable_database_raises_naming_it(
    make_system: MakeSystem, backend: Backend
) -> None:
    with backend.unusable():
        db = make_system().db

        with pytest.raises(DatabaseUnavailable) as info:
            await db.connect()

    assert db.path in str(info.value)
    assert str(backend.target) == db.path  # Named as given (no password in the test URL).
    assert db.is_connected is False
