"""What only the PostgreSQL backend does: URLs, passwords, the server, migrations under a lock.

The behaviour both backends share is tested once for both (every test taking ``backend``, ``db``
or ``system`` runs on each). Here: choosing the backend from a URL or the config, the password
kept out of every message, a server that cannot be reached, a schema newer than the code, several
processes migrating a new database at once, concurrent writers that must not deadlock, and text
PostgreSQL cannot store. Tests needing a database of their own create one on the test server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from backends import PostgresServer, database_url
from fakes import NOW

from monitoring_cog import (
    ConfigError,
    Database,
    DatabaseUnavailable,
    ManualClock,
    MonitoringConfig,
    SchemaError,
    create_monitoring_system,
    load_config,
)
from monitoring_cog.config import CONFIG_ENV_VAR, DatabaseConfig, RecordingConfig
from monitoring_cog.config.urls import redact_url
from monitoring_cog.recording.records import CommandRecord
from monitoring_cog.recording.rollups import build_batch
from monitoring_cog.storage import PostgresStorage, SQLiteStorage, open_storage
from monitoring_cog.storage.batch import WriteBatch
from monitoring_cog.storage.migrations import latest_version

SECRET = "s3cr3t-Pa55"
DEAD_SERVER = f"postgresql://monitor:{SECRET}@127.0.0.1:1/monitoring"
"""Nothing listens on port 1: connecting fails at once."""
LATEST = latest_version("postgresql")


def with_password(url: str) -> str:
    """``url`` with a password added (trust authentication ignores it)."""
    scheme, rest = url.split("://", 1)
    userinfo, at, hosts = rest.rpartition("@")
    user = userinfo if at else "postgres"
    return f"{scheme}://{user}:{SECRET}@{hosts}"


# --- choosing the backend ------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "PostgreSQL"])
def test_a_postgresql_url_selects_postgresql(scheme: str) -> None:
    storage = open_storage(DatabaseConfig(), f"{scheme}://u@h/db")

    assert isinstance(storage, PostgresStorage)
    assert storage.dialect == "postgresql"


def test_the_config_url_selects_postgresql_and_carries_the_pool_sizes() -> None:
    config = DatabaseConfig(
        url="postgresql://u@h/db", pool_min_size=2, pool_max_size=7, busy_timeout_ms=0
    )
    storage = open_storage(config)

    assert isinstance(storage, PostgresStorage)
    assert (storage._min_size, storage._max_size) == (2, 7)
    assert storage._lock_timeout_ms == 1  # 0 would make PostgreSQL wait forever.


def test_an_explicit_path_wins_over_the_config_url(tmp_path: Path) -> None:
    storage = open_storage(DatabaseConfig(url="postgresql://u@h/db"), tmp_path / "bot.db")

    assert isinstance(storage, SQLiteStorage)


def test_another_url_scheme_is_refused_naming_it_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailable) as info:
        Database(f"mysql://monitor:{SECRET}@db.example/monitoring", config=MonitoringConfig())

    message = str(info.value)
    assert "mysql://monitor:***@db.example/monitoring" in message
    assert "postgresql://" in message
    assert SECRET not in message


def test_sqlite_users_never_import_asyncpg(tmp_path: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from monitoring_cog import Database, MonitoringConfig, create_monitoring_system\n"
        "async def main():\n"
        "    db = Database(sys.argv[1], config=MonitoringConfig())\n"
        "    logger = create_monitoring_system(db).cmd_logger\n"
        "    await logger.log_command('1', 'g', '2', 'u', 'play')\n"
        "    assert len(await logger.get_recent_commands()) == 1\n"
        "    await db.close()\n"
        "asyncio.run(main())\n"
        "assert 'asyncpg' not in sys.modules, 'asyncpg was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "bot.db")], check=True)


# --- the config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://monitor:{SECRET}@db.example/monitoring",
        "sqlite:///data/monitoring.db",
        "db.example:5432/monitoring",
    ],
)
def test_a_config_url_of_another_kind_is_a_config_error(tmp_path: Path, url: str) -> None:
    config_file = tmp_path / "monitoring.toml"
    config_file.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(config_file)

    message = str(info.value)
    assert str(config_file) in message
    assert "database.url" in message
    assert "postgresql://" in message
    assert SECRET not in message


def test_a_config_url_is_kept_out_of_the_config_repr() -> None:
    config = MonitoringConfig(database=DatabaseConfig(url=f"postgresql://u:{SECRET}@h/db"))

    assert SECRET not in repr(config)


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"pool_min_size": -1}, "database.pool_min_size"),
        ({"pool_max_size": 0}, "database.pool_max_size"),
        ({"pool_min_size": 4, "pool_max_size": 3}, "database.pool_max_size"),
    ],
)
def test_pool_sizes_are_validated(settings: dict[str, int], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        DatabaseConfig(**settings)


async def test_a_config_file_naming_a_url_records_into_postgresql(
    postgres_server: PostgresServer,
    fresh_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_file = tmp_path / "monitoring.toml"
    config_file.write_text(f'[database]\nurl = "{fresh_database}"\n', encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(config_file))
    monkeypatch.chdir(tmp_path)

    db = Database()  # As the helpers' default system and the cog open it.
    try:
        logger = create_monitoring_system(db).cmd_logger
        assert await logger.log_command("1", "g", "2", "u", "play")
        assert [e["command"] for e in await logger.get_recent_commands()] == ["play"]
        assert db.path == fresh_database
    finally:
        await db.close()
    assert os.listdir(tmp_path) == [config_file.name]  # No SQLite file on the side.


# --- passwords and unreachable servers -----------------------------------------------------------


def test_the_location_hides_the_password() -> None:
    db = Database(DEAD_SERVER, config=MonitoringConfig())

    assert db.path == "postgresql://monitor:***@127.0.0.1:1/monitoring"
    assert SECRET not in repr(db)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:p%40ss@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgres://u@h/db", "postgres://u@h/db"),
        ("postgresql://h/db?sslmode=require", "postgresql://h/db?sslmode=require"),
        (
            "postgresql://u@h/db?password=pw&sslmode=off",
            "postgresql://u@h/db?password=***&sslmode=off",
        ),
        ("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p@[::1]:5432/db", "postgresql://u:***@[::1]:5432/db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


async def test_an_unreachable_server_raises_database_unavailable_naming_it() -> None:
    async with Database(DEAD_SERVER, config=MonitoringConfig()) as db:
        with pytest.raises(DatabaseUnavailable) as info:
            await db.connect()

    message = str(info.value)
    assert message.startswith("postgresql://monitor:***@127.0.0.1:1/monitoring: ")
    assert "cannot use the PostgreSQL database" in message
    assert SECRET not in message
    assert db.is_connected is False


async def test_a_missing_database_raises_database_unavailable_saying_so(
    postgres_server: PostgresServer,
) -> None:
    url = with_password(database_url(postgres_server.server_url, "monitoring_cog_no_such_db"))
    async with Database(url, config=MonitoringConfig()) as db:
        with pytest.raises(DatabaseUnavailable, match="does not exist") as info:
            await db.connect()

    assert SECRET not in str(info.value)
    assert redact_url(url) in str(info.value)


async def test_an_unreachable_server_degrades_to_defaults_and_an_unhealthy_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = Database(
        DEAD_SERVER,
        config=MonitoringConfig(recording=RecordingConfig(flush_interval=3600.0)),
        clock=ManualClock(),
    )
    system = create_monitoring_system(db, make_current=False)
    try:
        with caplog.at_level(logging.ERROR, logger="monitoring_cog"):
            assert await system.cmd_logger.log_command("1", "g", "2", "u", "play") is True
            assert await system.cmd_logger.get_recent_commands() == []
            report = await system.health_check.get_full_health_report()
    finally:
        await db.close()

    assert report["overall_status"] == "unhealthy"
    assert report["database"]["connected"] is False
    assert "127.0.0.1:1" in report["database"]["error"]
    assert SECRET not in report["database"]["error"]
    assert all(SECRET not in record.getMessage() for record in caplog.records)


# --- migrations ----------------------------------------------------------------------------------


async def test_a_new_database_is_migrated_on_first_use(
    postgres_server: PostgresServer, fresh_database: str
) -> None:
    async with Database(fresh_database, config=MonitoringConfig()) as db:
        assert await db.migrate() == LATEST

    rows = await _fetch(fresh_database, "SELECT version FROM schema_migrations ORDER BY version")
    assert rows == [(version,) for version in range(1, LATEST + 1)]


async def test_a_newer_schema_is_refused_naming_both_versions(fresh_database: str) -> None:
    storage = PostgresStorage(fresh_database)
    await storage.connect()
    pool = storage._connected()
    await pool.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', 0)",
        LATEST + 1,
    )
    await storage.close()

    async with Database(with_password(fresh_database), config=MonitoringConfig()) as db:
        with pytest.raises(SchemaError) as info:
            await db.connect()

    message = str(info.value)
    assert f"version {LATEST + 1}" in message
    assert f"({LATEST})" in message
    assert "upgrade monitoring_cog" in message
    assert SECRET not in message
    assert db.is_connected is False


async def test_processes_starting_together_migrate_a_new_database_once(
    postgres_server: PostgresServer, fresh_database: str
) -> None:
    """Eight storages (eight server sessions, as eight processes would have) connect to a new
    database at once: the advisory lock lets one migrate; the others wait and find it done."""
    storages = [PostgresStorage(fresh_database) for _ in range(8)]
    try:
        await asyncio.gather(*(storage.connect() for storage in storages))
        versions = await asyncio.gather(*(storage.schema_version() for storage in storages))
    finally:
        await asyncio.gather(*(storage.close() for storage in storages))

    assert versions == [LATEST] * 8
    rows = await _fetch(fresh_database, "SELECT version FROM schema_migrations ORDER BY version")
    assert [version for (version,) in rows] == list(range(1, LATEST + 1))


async def test_a_migration_waits_for_the_lock_another_process_holds(fresh_database: str) -> None:
    """While another session holds the migration lock, connect waits; it goes on once freed."""
    import asyncpg

    from monitoring_cog.storage.postgres import _MIGRATION_LOCK

    holder = await asyncpg.connect(fresh_database)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        storage = PostgresStorage(fresh_database)
        connecting = asyncio.create_task(storage.connect())
        # Wait (bounded) until the server shows our session waiting on the advisory lock.
        deadline = time.monotonic() + 10
        while not await holder.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ):
            assert time.monotonic() < deadline, "connect never waited for the migration lock"
            assert not connecting.done(), connecting
            await asyncio.sleep(0.01)
        assert not connecting.done()
        await holder.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        await asyncio.wait_for(connecting, 10)
        assert await storage.schema_version() == LATEST
        await storage.close()
    finally:
        await holder.close()


# --- concurrent writers --------------------------------------------------------------------------


AT = NOW.timestamp()


def _colliding_batch(reverse: bool) -> WriteBatch:
    """A batch touching 300 (guild, day, command) keys, built in one order or its reverse."""
    keys = [(f"g{i % 3}", f"cmd{i:03d}", f"u{i % 40}") for i in range(300)]
    if reverse:
        keys.reverse()
    at = AT
    return build_batch(
        CommandRecord(guild, f"Guild {guild}", user, None, command, None, 0.1, True, None, None, at)
        for guild, command, user in keys
    )


async def test_concurrent_writers_of_the_same_keys_neither_deadlock_nor_lose_counts(
    fresh_database: str,
) -> None:
    """Two sessions write batches over the same keys, one built in reverse order, at once and
    again: every key's rows are locked in one sorted order, so no deadlock is ever detected."""
    first, second = PostgresStorage(fresh_database), PostgresStorage(fresh_database)
    await asyncio.gather(first.connect(), second.connect())
    rounds = 15
    try:
        for _ in range(rounds):
            await asyncio.gather(
                first.write(_colliding_batch(False)), second.write(_colliding_batch(True))
            )
        day = NOW.date()
        totals = await first.command_totals(None, day, day)
        stats = await first.day_totals(None, day, day)
        servers = await first.list_servers()
    finally:
        await asyncio.gather(first.close(), second.close())

    assert sum(t.count for t in totals) == 2 * rounds * 300
    assert {t.count for t in totals} == {2 * rounds}  # Each of the 300 commands, every time.
    assert stats[0].commands == 2 * rounds * 300
    assert stats[0].unique_users == 120  # 40 users in each of 3 guilds.
    assert sorted(s.guild_id for s in servers) == ["g0", "g1", "g2"]


async def test_connections_cut_by_the_server_are_replaced_and_the_batch_kept(
    db_of_postgres: Database, fresh_database: str
) -> None:
    """A server restart (here: our sessions terminated) loses no record: the write that meets a
    dead connection fails and is retried on a new one, or the pool replaces it first."""
    import asyncpg

    db = db_of_postgres
    await db.connect()
    cut = await _fetch(
        fresh_database,
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
        " WHERE application_name = 'monitoring_cog' AND datname = current_database()",
    )
    assert cut and all(ok for (ok,) in cut)
    now = time.time()
    for i in range(3):
        assert db.submit(
            CommandRecord("1", "g", "u", None, "play", {"i": i}, 0.1, True, None, None, now)
        )

    try:
        await db.flush()
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        assert db.recorder.pending == 3  # Kept for the retry.
    await db.flush()

    assert db.recorder.write_errors <= 1
    assert (db.recorder.pending, db.recorder.written) == (0, 3)
    assert await _fetch(fresh_database, "SELECT COUNT(*) FROM audit_logs") == [(3,)]


# --- what PostgreSQL cannot store ----------------------------------------------------------------


async def test_text_postgresql_cannot_hold_is_stored_cleaned_not_retried_forever(
    db_of_postgres: Database, caplog: pytest.LogCaptureFixture
) -> None:
    db = db_of_postgres
    with caplog.at_level(logging.WARNING, logger="monitoring_cog"):
        assert db.submit(
            CommandRecord(
                "1\x00",
                "Guild\x00",
                "u\ud800",
                None,
                "play",
                "raw\x00text",
                0.5,
                1,  # Not a bool: records built by hand may do that.
                None,
                "bad\x00",
                AT,
            )
        )
        # Cleaned, its guild becomes this one's: two rows of one key, which must add up.
        assert db.submit(
            CommandRecord("1", None, "v", None, "play", None, 1.5, True, None, None, AT)
        )
        await db.flush()

    assert db.recorder.write_errors == 0
    assert db.recorder.written == 2
    storage = await db.storage()
    servers = await storage.list_servers()
    assert [(s.guild_id, s.guild_name) for s in servers] == [("1", "Guild")]
    (play,) = await storage.command_totals("1", NOW.date(), NOW.date())
    assert (play.count, play.duration_sum, play.duration_max) == (2, 2.0, 1.5)
    entry, _ = [e async for e in storage.iter_audit_logs()]
    assert (entry["user_id"], entry["success"], entry["error_message"]) == ("u?", True, "bad")
    assert entry["parameters"] == {"_raw": "rawtext"}
    assert any("cannot store" in r.getMessage() for r in caplog.records)


@pytest.fixture
async def db_of_postgres(fresh_database: str) -> AsyncIterator[Database]:
    db = Database(
        fresh_database,
        config=MonitoringConfig(recording=RecordingConfig(flush_interval=3600.0)),
    )
    yield db
    await db.close()


async def test_size_counts_the_schemas_tables_and_grows_with_them(
    db_of_postgres: Database,
) -> None:
    storage = await db_of_postgres.storage()
    empty = await storage.size_bytes()
    now = time.time()
    for i in range(2000):
        db_of_postgres.submit(
            CommandRecord("1", "g", f"u{i}", None, "play", {"i": i}, 0.1, True, None, None, now)
        )
    await db_of_postgres.flush()

    assert empty > 0
    assert await storage.size_bytes() > empty


async def _fetch(url: str, sql: str) -> list[tuple[object, ...]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


# --- the command line ----------------------------------------------------------------------------


def cli(config_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (CONFIG_ENV_VAR, "FORCE_COLOR")}
    env.update({CONFIG_ENV_VAR: str(config_file), "NO_COLOR": "1", "COLUMNS": "100"})
    return subprocess.run(
        [sys.executable, "-m", "monitoring_cog", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_operator_commands_work_on_the_configured_postgresql_database(
    fresh_database: str, tmp_path: Path
) -> None:
    config_file = tmp_path / "monitoring.toml"
    url = with_password(fresh_database)
    config_file.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")

    migrated = cli(config_file, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"{redact_url(url)} is at schema version {LATEST}" in migrated.stdout
    assert SECRET not in migrated.stdout + migrated.stderr

    async with Database(fresh_database, config=MonitoringConfig()) as db:
        logger = create_monitoring_system(db, make_current=False).cmd_logger
        for user in ("1", "2", "3"):
            assert await logger.log_command("42", "Guild", user, f"user{user}", "play")

    report = cli(config_file, "report", "--guild", "42", "--json")
    exported = cli(config_file, "export", "--format", "json")
    forgot = cli(config_file, "forget-user", "2", "--json")

    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["report"]["total_commands"] == 3
    assert exported.returncode == 0, exported.stderr
    assert sorted(row["user_id"] for row in json.loads(exported.stdout)) == ["1", "2", "3"]
    assert forgot.returncode == 0, forgot.stderr
    assert json.loads(forgot.stdout)["deleted"] == {
        "audit_logs": 1,
        "daily_users": 1,
        "component_users": 0,
        "event_users": 0,
    }
    assert not (tmp_path / "data").exists()  # Never a SQLite file on the side.
