"""The recording pipeline (``monitoring_cog.recording.pipeline.Recorder``) against a real database.

Covers: ``log_command`` only queues; the writer task flushes on its interval and as soon as a
batch is full; a flush stores audit rows and rollups in one transaction; readers flush first; the
buffer bound drops (and counts) the newest record; a write refused by the database (another
connection holds the lock) keeps its batch and is retried until every record arrives exactly
once; close writes everything queued, is idempotent, and refuses later submissions.

Every test runs on SQLite and on PostgreSQL (the ``backend`` fixture). What is stored is checked
through a separate plain connection (``backend.rows``), never through the library itself. Waiting
on the writer task is done by polling with a deadline, never by sleeping for a fixed time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import pytest
from backends import Backend, OpenSystem
from polling import wait_until

from monitoring_cog import ManualClock, MonitoringConfig, MonitoringSystem
from monitoring_cog.config import RecordingConfig
from monitoring_cog.recording.records import CommandRecord

GUILD = "111"
LONG_INTERVAL = 3600.0
"""A flush interval no test outlives: with it, only a full batch, a reader or close writes."""

RECORDED = {
    "audit_logs": "SELECT COUNT(*) FROM audit_logs",
    "bot_stats": "SELECT COALESCE(SUM(commands), 0) FROM bot_stats",
    "daily_users": "SELECT COALESCE(SUM(commands), 0) FROM daily_users",
    "command_stats": "SELECT COALESCE(SUM(count), 0) FROM command_stats",
    "latency_histograms": "",  # The backend's own ``latency_count``.
    "command_minutes": "SELECT COALESCE(SUM(commands), 0) FROM command_minutes",
}
"""How many commands each table accounts for: audit rows, and every rollup's command count."""


# --- helpers -----------------------------------------------------------------------------------


def recorded(backend: Backend) -> dict[str, int]:
    """Commands accounted for by each table, read in one snapshot (one statement)."""
    queries = [sql or backend.latency_count for sql in RECORDED.values()]
    (row,) = backend.rows("SELECT " + ", ".join(f"({sql})" for sql in queries))
    return {table: int(count) for table, count in zip(RECORDED, row, strict=True)}


def everywhere(count: int) -> dict[str, int]:
    """What :func:`recorded` returns once ``count`` commands are fully stored."""
    return dict.fromkeys(RECORDED, count)


def stored_indexes(backend: Backend) -> list[int]:
    """The ``i`` parameter of every audit row, in insertion (id) order."""
    field = backend.json_field("parameters", "i")
    return [row[0] for row in backend.rows(f"SELECT {field} FROM audit_logs ORDER BY id")]


def record(i: int, clock: ManualClock) -> CommandRecord:
    """The ``i``-th test command: three guilds, fifty users, five commands, every 7th failing."""
    failed = i % 7 == 6
    return CommandRecord(
        guild_id=f"guild{i % 3}",
        guild_name=f"Guild {i % 3}",
        user_id=f"user{i % 50}",
        username=None,
        command=f"cmd{i % 5}",
        parameters={"i": i},
        duration=(i % 10) / 10,
        success=not failed,
        error_type="RuntimeError" if failed else None,
        error_message="boom" if failed else None,
        executed_at=clock.time() - i,
    )


class MakeSystem(Protocol):
    def __call__(self, *, busy_timeout_ms: int = ..., **recording: Any) -> MonitoringSystem: ...


@pytest.fixture
def make_system(backend: Backend, open_system: OpenSystem) -> MakeSystem:
    """Build a monitoring system on the backend's database with the given recording settings."""

    def make(*, busy_timeout_ms: int = 5000, **recording: Any) -> MonitoringSystem:
        config = MonitoringConfig(
            database=backend.database_config(busy_timeout_ms=busy_timeout_ms),
            recording=RecordingConfig(**recording),
        )
        return open_system(backend.target, config)

    return make


# --- queueing and the writer task --------------------------------------------------------------


async def test_log_command_queues_and_the_writer_flushes_within_the_interval(
    make_system: MakeSystem, backend: Backend, clock: ManualClock
) -> None:
    system = make_system(flush_interval=0.05)
    db = system.db
    await db.connect()  # Create the schema, so the plain connection below can count rows.

    queued = await system.cmd_logger.log_command(GUILD, "Guild", 7, "alice", "play", {"q": "x"})

    assert queued is True
    assert db.recorder.pending == 1
    assert db.recorder.written == 0
    assert recorded(backend) == everywhere(0)

    await wait_until(lambda: db.recorder.written == 1, "the writer task to flush the command")
    assert db.recorder.pending == 0
    assert db.recorder.last_flush_at == clock.time()
    assert recorded(backend) == everywhere(1)
    assert backend.scalar("SELECT command FROM audit_logs") == "play"


async def test_full_batch_is_written_without_waiting_for_the_interval(
    make_system: MakeSystem, backend: Backend, clock: ManualClock
) -> None:
    db = make_system(flush_interval=LONG_INTERVAL, batch_size=10).db
    await db.connect()

    assert all(db.submit(record(i, clock)) for i in range(9))
    for _ in range(20):
        await asyncio.sleep(0)  # Let the writer run: one record short of a batch, it waits.
    assert db.recorder.pending == 9
    assert recorded(backend) == everywhere(0)

    assert db.submit(record(9, clock))
    await wait_until(lambda: db.recorder.written == 10, "the full batch to be written")
    assert db.recorder.pending == 0
    assert stored_indexes(backend) == list(range(10))


async def test_flush_stores_audit_rows_and_every_rollup(
    make_system: MakeSystem, backend: Backend, clock: ManualClock
) -> None:
    db = make_system(flush_interval=LONG_INTERVAL).db
    for i in range(7):  # Record 6 fails.
        assert db.submit(record(i, clock))

    await db.flush()

    assert recorded(backend) == everywhere(7)
    assert backend.scalar("SELECT SUM(failed_commands) FROM bot_stats") == 1
    assert backend.scalar("SELECT SUM(failures) FROM command_stats") == 1
    assert backend.scalar("SELECT SUM(failures) FROM command_minutes") == 1
    assert backend.scalar("SELECT COUNT(*) FROM servers") == 3
    assert backend.scalar("SELECT COUNT(*) FROM daily_users") == 7


async def test_a_flush_is_one_transaction(
    make_system: MakeSystem, backend: Backend, clock: ManualClock
) -> None:
    """A rollup refused after the audit rows went in leaves no audit row (nor any rollup) behind."""
    db = make_system(flush_interval=LONG_INTERVAL).db
    await db.connect()
    # command_stats is written after servers, audit_logs, bot_stats and daily_users.
    backend.refuse_inserts("command_stats", "rollup refused")
    for i in range(3):
        assert db.submit(record(i, clock))

    with pytest.raises(backend.integrity_error, match="rollup refused"):
        await db.flush()

    assert recorded(backend) == everywhere(0)
    assert backend.scalar("SELECT COUNT(*) FROM servers") == 0
    assert db.recorder.pending == 3
    assert db.recorder.write_errors == 1

    backend.allow_inserts("command_stats")
    await db.flush()

    assert recorded(backend) == everywhere(3)
    assert stored_indexes(backend) == [0, 1, 2]
    assert db.recorder.failing is False


Reader = Callable[[MonitoringSystem], Awaitable[Any]]

READERS: dict[str, tuple[Reader, Callable[[Any], int]]] = {
    "weekly_report": (
        lambda s: s.stats_collector.generate_weekly_report(GUILD),
        lambda r: r["total_commands"],
    ),
    "daily_stats": (lambda s: s.stats_collector.get_daily_stats(GUILD), lambda r: r["commands"]),
    "recent_commands": (lambda s: s.cmd_logger.get_recent_commands(GUILD), len),
    "performance_stats": (
        lambda s: s.perf_monitor.get_performance_stats(GUILD),
        lambda r: r["total_commands"],
    ),
    "error_rate": (
        lambda s: s.health_check.check_error_rate(GUILD),
        lambda r: r["total_commands"],
    ),
}


@pytest.mark.parametrize("reader", READERS)
async def test_readers_see_what_was_just_logged(make_system: MakeSystem, reader: str) -> None:
    system = make_system(flush_interval=LONG_INTERVAL)
    read, commands_in = READERS[reader]
    assert await system.cmd_logger.log_command(GUILD, "Guild", 1, "alice", "play")
    assert await system.cmd_logger.log_command(GUILD, "Guild", 2, "bob", "skip", success=False)
    assert system.db.recorder.pending == 2

    result = await read(system)

    assert commands_in(result) == 2
    assert system.db.recorder.pending == 0


# --- the buffer bound --------------------------------------------------------------------------


async def test_full_buffer_drops_the_newest_record_and_reports_it(
    make_system: MakeSystem, backend: Backend, clock: ManualClock
) -> None:
    """With the writer idle (long interval, batch bigger than the buffer), record N+1 is dropped.

    The submissions never yield to the event loop, so the writer cannot drain the buffer between
    them.
    """
    system = make_system(flush_interval=LONG_INTERVAL, batch_size=100, max_queue=5)
    recorder = system.db.recorder

    accepted = [system.db.submit(record(i, clock)) for i in range(6)]

    assert accepted == [True] * 5 + [False]
    assert recorder.pending == 5
    assert recorder.dropped == 1

    report = await system.health_check.get_full_health_report()

    recording = report["recording"]
    assert recording["dropped"] == 1
    assert recording["dropped_since_last_check"] == 1
    assert recording["max_queue"] == 5
    assert recording["status"] == "warning"
    assert report["overall_status"] == "degraded"
    assert stored_indexes(backend) == [0, 1, 2, 3, 4]

    again = await system.health_check.get_full_health_report()
    assert again["recording"]["dropped"] == 1
    assert again["recording"]["dropped_since_last_check"] == 0
    assert again["recording"]["status"] == "healthy"


async def test_a_full_buffer_drops_log_command_before_cleaning_its_inputs(
    make_system: MakeSystem, clock: ManualClock
) -> None:
    """Once full, a logged command is dropped and counted without its inputs being looked at:
    an input that would have needed a correction is not counted as corrected."""
    system = make_system(flush_interval=LONG_INTERVAL, batch_size=100, max_queue=2)
    logger = system.cmd_logger
    errors = system.db.errors
    for i in range(2):
        assert logger.log_command_nowait("g", "G", f"u{i}", "n", "play", {}, 0.5)
    before = errors.rejected_inputs

    # NaN duration and a control character: cleaning them would count two corrections.
    assert logger.log_command_nowait("g", "G\x00", "u9", "n", "play", {}, float("nan")) is False

    assert system.db.recorder.dropped == 1
    assert errors.rejected_inputs == before
    assert system.db.recorder.pending == 2


async def test_the_batch_being_written_counts_against_the_bound(
    make_system: MakeSystem, backend: Backend, clock: ManualClock
) -> None:
    """Records taken out of the buffer for a write are still in memory: the bound includes them."""
    db = make_system(
        busy_timeout_ms=5000, flush_interval=LONG_INTERVAL, batch_size=100, max_queue=5
    ).db
    recorder = db.recorder
    await db.connect()
    for i in range(5):
        assert db.submit(record(i, clock))

    with backend.exclusive_lock():
        flushing = asyncio.create_task(db.flush())
        await wait_until(lambda: recorder.pending == 0, "the batch to leave the buffer")
        assert db.submit(record(5, clock)) is False  # 5 in flight already fill the bound.
        assert recorder.dropped == 1
    await flushing

    assert stored_indexes(backend) == [0, 1, 2, 3, 4]


# --- failed writes -----------------------------------------------------------------------------


async def test_failed_write_keeps_the_batch_and_retries_until_it_succeeds(
    make_system: MakeSystem, backend: Backend, clock: ManualClock
) -> None:
    db = make_system(
        busy_timeout_ms=20, flush_interval=0.02, batch_size=7, retry_backoff_max=0.2
    ).db
    recorder = db.recorder
    await db.connect()

    with backend.exclusive_lock() as blocker:
        for i in range(20):
            assert db.submit(record(i, clock))
        await wait_until(
            lambda: recorder.write_errors >= 2 and recorder.failing and recorder.pending == 20,
            "two failed attempts with the whole batch back in the buffer",
        )
        assert recorder.written == 0
        assert backend.lock_error in (recorder.last_error or "")
        assert blocker.scalar("SELECT COUNT(*) FROM audit_logs") == 0

    await wait_until(
        lambda: recorder.written == 20 and recorder.pending == 0, "the retried writes to succeed"
    )
    assert recorder.failing is False
    assert recorder.last_error is None
    assert recorder.dropped == 0
    assert stored_indexes(backend) == list(range(20))  # Each once, in order.
    assert recorded(backend) == everywhere(20)


async def test_registrations_in_a_failed_write_are_kept_and_the_latest_name_wins(
    make_system: MakeSystem, backend: Backend, clock: ManualClock
) -> None:
    db = make_system(busy_timeout_ms=20, flush_interval=0.02, retry_backoff_max=0.2).db
    recorder = db.recorder
    await db.connect()
    guilds = 5_000  # More than one slice a transaction.

    with backend.exclusive_lock():
        db.register_guilds((str(g), f"Guild {g}") for g in range(guilds))
        await wait_until(lambda: recorder.write_errors >= 2, "two failed attempts")
        assert recorder.pending_guilds == guilds  # The failed slice kept, for the retry.
        clock.advance(5.0)
        db.register_guild("0", "Renamed")  # Seen again while its slice waits to be retried.
        db.register_guild("new", "Joined")

    await wait_until(lambda: recorder.pending_guilds == 0, "the registrations to be written")
    await db.flush()
    storage = await db.storage()
    assert await storage.server_count() == guilds + 1
    servers = {s.guild_id: s for s in await storage.list_servers()}
    assert servers["0"].guild_name == "Renamed"
    assert servers["0"].last_seen == clock.time()
    assert servers["1"].guild_name == "Guild 1"
    assert servers["new"].guild_name == "Joined"
    assert recorder.dropped == 0


# --- close -------------------------------------------------------------------------------------


@pytest.mark.parametrize("writer_started", [False, True], ids=["writer-idle", "writer-busy"])
async def test_close_writes_everything_queued(
    make_system: MakeSystem, backend: Backend, clock: ManualClock, writer_started: bool
) -> None:
    total = 5000
    db = make_system(flush_interval=LONG_INTERVAL, batch_size=1000).db
    assert all(db.submit(record(i, clock)) for i in range(total))
    if writer_started:
        await wait_until(lambda: db.recorder.written >= 1000, "the writer to start on the backlog")

    await db.close()

    assert db.recorder.written == total
    assert db.recorder.lost_on_close == 0
    reopened = make_system(flush_interval=LONG_INTERVAL)
    entries = await reopened.cmd_logger.get_recent_commands(limit=2 * total)
    assert len(entries) == total
    report = await reopened.stats_collector.generate_weekly_report(None)
    assert report["total_commands"] == total
    assert report["failed_commands"] == sum(1 for i in range(total) if i % 7 == 6)
    assert recorded(backend) == everywhere(total)
    assert sorted(stored_indexes(backend)) == list(range(total))


async def test_close_is_idempotent(
    make_system: MakeSystem, backend: Backend, clock: ManualClock
) -> None:
    db = make_system(flush_interval=LONG_INTERVAL).db
    assert db.submit(record(0, clock))

    await db.close()
    stats = db.recorder.stats()
    await db.close()

    assert db.closed is True
    assert db.is_connected is False
    assert db.recorder.stats() == stats
    assert recorded(backend) == everywhere(1)


async def test_submit_after_close_is_refused_and_counted(
    make_system: MakeSystem,
    backend: Backend,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    system = make_system(flush_interval=LONG_INTERVAL)
    db = system.db
    assert db.submit(record(0, clock))
    await db.close()

    with caplog.at_level(logging.WARNING, logger="monitoring_cog"):
        logged = await system.cmd_logger.log_command(GUILD, "Guild", 1, "alice", "play")
        submitted = db.submit(record(1, clock))

    assert logged is False
    assert submitted is False
    assert db.recorder.dropped == 2
    assert db.recorder.pending == 0
    assert db.recorder.stats()["dropped"] == 2
    assert any("recorder closed" in r.getMessage() for r in caplog.records)
    assert recorded(backend) == everywhere(1)
