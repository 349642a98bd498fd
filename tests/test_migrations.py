"""Versioned SQL migrations: loading, splitting, and applying them to real SQLite files.

Covers: a new database migrates to the latest version with every table and WAL journaling;
migrating again changes nothing; a database from a newer monitoring_cog is refused, naming the
file and both versions; the pending migrations are applied in one transaction (a failing one
leaves nothing behind); ``split_statements`` respects strings, trigger bodies and comments;
``load_migrations`` insists on numbering without gaps.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from monitoring_cog import (
    Database,
    DatabaseUnavailable,
    ManualClock,
    MonitoringConfig,
    SchemaError,
    create_monitoring_system,
)
from monitoring_cog.analysis.latency import bucket_index, percentile
from monitoring_cog.clock import utc_day
from monitoring_cog.storage import migrations as migrations_module
from monitoring_cog.storage.migrations import (
    Migration,
    latest_version,
    load_migrations,
    split_statements,
)

LATEST = latest_version("sqlite")
EXPECTED_TABLES = {
    "audit_logs",
    "bot_stats",
    "servers",
    "daily_users",
    "command_stats",
    "command_latency",
    "command_minutes",
    "loop_stalls",
    "health_reports",
    "spill_replays",
    "guild_growth",
    "guild_population",
    "schema_migrations",
}


# --- helpers -----------------------------------------------------------------------------------


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def tables(path: Path) -> set[str]:
    rows = query(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(name) for (name,) in rows if not str(name).startswith("sqlite_")}


def schema_version(path: Path) -> int:
    """The recorded version; 0 when there is not even a ``schema_migrations`` table."""
    if "schema_migrations" not in tables(path):
        return 0
    return int(query(path, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0])


def create_empty(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def migration_rows(path: Path) -> list[tuple[Any, ...]]:
    return query(path, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")


@pytest.fixture
async def open_db(db_path: Path, clock: ManualClock) -> AsyncIterator[Callable[[], Database]]:
    """Open a new :class:`Database` on ``db_path`` (each closed at the end of the test)."""
    opened: list[Database] = []

    def open_() -> Database:
        db = Database(db_path, config=MonitoringConfig(), clock=clock)
        opened.append(db)
        return db

    yield open_
    for db in opened:
        await db.close()


async def migrate_and_close(open_db: Callable[[], Database]) -> int:
    db = open_db()
    version = await db.migrate()
    await db.close()
    return version


# --- applying migrations -----------------------------------------------------------------------


def test_there_is_at_least_one_migration() -> None:
    assert LATEST >= 1
    assert [m.version for m in load_migrations("sqlite")] == list(range(1, LATEST + 1))


@pytest.mark.parametrize("start", ["missing", "empty"])
async def test_new_database_migrates_to_the_latest_version(
    open_db: Callable[[], Database], db_path: Path, clock: ManualClock, start: str
) -> None:
    if start == "empty":
        create_empty(db_path)

    assert await migrate_and_close(open_db) == LATEST

    assert tables(db_path) == EXPECTED_TABLES
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert [row[0] for row in migration_rows(db_path)] == list(range(1, LATEST + 1))
    assert {row[2] for row in migration_rows(db_path)} == {clock.time()}


async def test_migrating_again_is_a_noop(
    open_db: Callable[[], Database], db_path: Path, clock: ManualClock
) -> None:
    assert await migrate_and_close(open_db) == LATEST
    applied = migration_rows(db_path)
    clock.advance(3600)  # A re-applied migration would record the new time.

    assert await migrate_and_close(open_db) == LATEST
    db = open_db()
    assert await db.migrate() == LATEST
    assert await db.migrate() == LATEST

    assert migration_rows(db_path) == applied
    assert query(db_path, "SELECT version, COUNT(*) FROM schema_migrations GROUP BY version") == [
        (version, 1) for version in range(1, LATEST + 1)
    ]


async def test_newer_schema_is_refused(open_db: Callable[[], Database], db_path: Path) -> None:
    await migrate_and_close(open_db)
    newer = LATEST + 1
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)",
            (newer,),
        )
        conn.commit()

    with pytest.raises(SchemaError) as info:
        await open_db().connect()

    message = str(info.value)
    assert str(db_path) in message
    rest = message.replace(str(db_path), "")
    assert re.search(rf"\b{newer}\b", rest), message
    assert re.search(rf"\b{LATEST}\b", rest), message
    assert schema_version(db_path) == newer  # Left as it was.


def _good_then_broken(real: list[Migration]) -> list[Migration]:
    """After the real migrations, a good one, then one that fails on its second statement."""
    base = len(real)
    return [
        *real,
        Migration(base + 1, "good", ("CREATE TABLE good_table (x INTEGER)",)),
        Migration(
            base + 2,
            "broken",
            ("CREATE TABLE half_done (y INTEGER)", "INSERT INTO no_such_table VALUES (1)"),
        ),
    ]


@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "at-latest"])
async def test_migrations_are_applied_in_one_transaction(
    open_db: Callable[[], Database],
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    existing: bool,
) -> None:
    real = load_migrations("sqlite")
    if existing:
        await migrate_and_close(open_db)
    before = tables(db_path) if existing else set()
    with monkeypatch.context() as patch:
        pending = _good_then_broken(real if existing else [])
        patch.setattr(migrations_module, "load_migrations", lambda dialect: pending)

        with pytest.raises(DatabaseUnavailable, match="no_such_table"):
            await open_db().connect()

    assert tables(db_path) == before
    assert schema_version(db_path) == (LATEST if existing else 0)

    # Nothing was left half-applied: the real migrations still run cleanly.
    assert await migrate_and_close(open_db) == LATEST
    assert tables(db_path) == EXPECTED_TABLES


# --- 0002: latency histograms packed into command_stats ----------------------------------------


async def test_latency_rows_of_version_1_become_packed_histograms(
    open_db: Callable[[], Database],
    db_path: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A version-1 file's per-bucket latency rows are packed into one row per guild, day and
    command, unchanged in what they report, and later commands add to them."""
    real = load_migrations("sqlite")
    with monkeypatch.context() as patch:
        patch.setattr(migrations_module, "load_migrations", lambda dialect: real[:1])
        assert await migrate_and_close(open_db) == 1
    assert "command_latency" in tables(db_path)
    day = utc_day(clock.time()).isoformat()
    durations = {"play": [0.01, 0.02, 0.02, 0.5, 3.0], "skip": [0.001]}
    with closing(sqlite3.connect(db_path)) as conn:
        # What the version-1 writer stored for these commands.
        for command, values in durations.items():
            conn.execute(
                "INSERT INTO command_stats VALUES ('g1', ?, ?, ?, 0, ?, ?, ?)",
                (day, command, len(values), sum(values), min(values), max(values)),
            )
            for bucket, count in Counter(bucket_index(v) for v in values).items():
                conn.execute(
                    "INSERT INTO command_latency VALUES ('g1', ?, ?, ?, ?)",
                    (day, command, bucket, count),
                )
        conn.commit()

    db = open_db()
    system = create_monitoring_system(db, make_current=False)
    await db.connect()
    assert schema_version(db_path) == LATEST
    assert query(db_path, "SELECT COUNT(*) FROM command_latency") == [(2,)]  # play, skip
    for command, values in durations.items():
        stats = await system.perf_monitor.get_performance_stats("g1", 1)
        entry = next(e for e in stats["slowest_commands"] if e["command"] == command)
        buckets = Counter(bucket_index(v) for v in values)
        for q, key in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
            assert entry[key] == percentile(buckets, q, low=min(values), high=max(values))

    # New durations merge into the migrated histogram.
    await system.cmd_logger.log_command("g1", "G", "u1", "n", "play", {}, 3.0)
    await system.cmd_logger.log_command("g1", "G", "u1", "n", "play", {}, 3.0)
    stats = await system.perf_monitor.get_performance_stats("g1", 1)
    play = next(e for e in stats["slowest_commands"] if e["command"] == "play")
    assert play["count"] == 7
    assert play["p50"] == percentile(
        Counter(bucket_index(v) for v in [*durations["play"], 3.0, 3.0]), 0.5, low=0.01, high=3.0
    )


# --- splitting a script ------------------------------------------------------------------------

SCRIPT = """\
-- leading comment; with a semicolon
CREATE TABLE t (x TEXT);

-- a comment between statements; also with a semicolon
CREATE TABLE log (x TEXT);
INSERT INTO t (x) VALUES ('a;b');
INSERT INTO t (x) VALUES ('multi
line; still -- a string');
CREATE TRIGGER t_copy AFTER INSERT ON t BEGIN
    INSERT INTO log (x) VALUES (new.x);
    UPDATE log SET x = x || ';' WHERE x = new.x;
END;

"""

TRIGGER = """\
CREATE TRIGGER t_copy AFTER INSERT ON t BEGIN
    INSERT INTO log (x) VALUES (new.x);
    UPDATE log SET x = x || ';' WHERE x = new.x;
END;"""


def test_split_statements_keeps_strings_and_trigger_bodies_and_drops_comments() -> None:
    assert split_statements(SCRIPT) == [
        "CREATE TABLE t (x TEXT);",
        "CREATE TABLE log (x TEXT);",
        "INSERT INTO t (x) VALUES ('a;b');",
        "INSERT INTO t (x) VALUES ('multi\nline; still -- a string');",
        TRIGGER,
    ]


def test_split_statements_run_as_written() -> None:
    with closing(sqlite3.connect(":memory:")) as conn:
        for statement in split_statements(SCRIPT):
            conn.execute(statement)
        conn.execute("INSERT INTO t (x) VALUES ('c')")

        assert conn.execute("SELECT x FROM t ORDER BY rowid").fetchall() == [
            ("a;b",),
            ("multi\nline; still -- a string",),
            ("c",),
        ]
        assert conn.execute("SELECT x FROM log").fetchall() == [("c;",)]


def test_split_statements_rejects_an_unterminated_statement() -> None:
    with pytest.raises(SchemaError, match="unterminated"):
        split_statements("CREATE TABLE t (x TEXT);\nCREATE TABLE u (y TEXT)\n")


def test_shipped_migrations_split_into_complete_statements() -> None:
    for migration in load_migrations("sqlite"):
        assert migration.statements
        for statement in migration.statements:
            assert sqlite3.complete_statement(statement)
            assert not statement.startswith("--")


# --- loading the files -------------------------------------------------------------------------


@pytest.fixture
def migration_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that ``load_migrations`` reads instead of the real one."""
    folder = tmp_path / "sqlite"
    folder.mkdir()
    monkeypatch.setattr(migrations_module, "_folder", lambda dialect: folder)
    return folder


def write_migrations(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_text(f"CREATE TABLE t_{name[:4]} (x INTEGER);\n", encoding="utf-8")


def test_load_migrations_orders_files_and_ignores_others(migration_dir: Path) -> None:
    write_migrations(migration_dir, "0002_second.sql", "0001_first.sql", "notes.txt", "1_x.sql")

    loaded = load_migrations("sqlite")

    assert [(m.version, m.name) for m in loaded] == [(1, "first"), (2, "second")]
    assert loaded[0].statements == ("CREATE TABLE t_0001 (x INTEGER);",)
    assert latest_version("sqlite") == 2


@pytest.mark.parametrize(
    ("files", "expected", "found"),
    [
        (("0001_first.sql", "0003_third.sql"), "0002", "0003_third"),
        (("0002_second.sql",), "0001", "0002_second"),
        (("0001_first.sql", "0001_again.sql"), "0002", "0001_"),
    ],
    ids=["gap", "not-starting-at-1", "duplicate"],
)
def test_load_migrations_rejects_gaps_in_numbering(
    migration_dir: Path, files: tuple[str, ...], expected: str, found: str
) -> None:
    write_migrations(migration_dir, *files)

    with pytest.raises(SchemaError) as info:
        load_migrations("sqlite")

    assert f"expected version {expected}" in str(info.value)
    assert found in str(info.value)
