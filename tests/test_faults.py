"""Faults against real SQLite files: what the library survives, and what each one costs.

Each fault is produced for real: another process holds the write lock, the disk fills up
(``PRAGMA max_page_count`` on the writer's own connection), the file is read-only, deleted or
replaced, the writing process is killed with SIGKILL, a flush is cancelled half-way, a million
events arrive at once, a record reaches the writer that it cannot store. Each test then does the
accounting: every record handed to the library is stored exactly once, or counted as lost
(``recorder.dropped``, ``recorder.lost_on_close``) with the reason logged, or saved to a spill
file when closing cannot write it (``recorder.spilled``) and written by the next start. Exact
numbers wherever the outcome is deterministic; ``docs/reliability.md`` tabulates them.

What is stored is read back through a separate plain :mod:`sqlite3` connection. Waits poll with a
generous deadline; no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Protocol

import psutil
import pytest
from backends import OpenSystem
from db_support import exclusive_lock, stored_indexes
from polling import DEADLINE, wait_until

from monitoring_cog import (
    Database,
    DatabaseUnavailable,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
)
from monitoring_cog.config import DatabaseConfig, RecordingConfig
from monitoring_cog.recording.records import CommandRecord

GUILD = "111"
LONG_INTERVAL = 3600.0
"""A flush interval no test outlives: only a full batch, a reader, flush() or close() writes."""
GARBAGE = b"this is not a SQLite database\n" * 200
CHILD = Path(__file__).with_name("fault_child.py")

LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.close()
"""
"""Another process: takes SQLite's write lock on a file, holds it for some seconds, exits."""


# --- helpers -----------------------------------------------------------------------------------


class MakeSystem(Protocol):
    def __call__(
        self, path: Path | None = None, *, busy_timeout_ms: int = ..., **recording: Any
    ) -> MonitoringSystem: ...


@pytest.fixture
def make_system(db_path: Path, open_system: OpenSystem) -> MakeSystem:
    """A monitoring system on ``db_path`` (unless told) with the given recording settings."""

    def make(
        path: Path | None = None, *, busy_timeout_ms: int = 5000, **recording: Any
    ) -> MonitoringSystem:
        location = db_path if path is None else path
        config = MonitoringConfig(
            database=DatabaseConfig(path=str(location), busy_timeout_ms=busy_timeout_ms),
            recording=RecordingConfig(**recording),
        )
        return open_system(location, config)

    return make


def log(system: MonitoringSystem, i: int, *, payload: str = "") -> bool:
    """Log the ``i``-th test command (its index in the parameters); ``True`` if queued."""
    parameters: dict[str, Any] = {"i": i}
    if payload:
        parameters["payload"] = payload
    return system.cmd_logger.log_command_nowait(
        GUILD, "Guild", f"user{i % 50}", None, f"cmd{i % 5}", parameters, duration=(i % 10) / 10
    )


def rollup_commands(path: Path) -> int:
    """Commands counted by the daily rollup: must always agree with the audit rows."""
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT COALESCE(SUM(commands), 0) FROM bot_stats").fetchone()[0])


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def assert_accounted(db: Database, submitted: int, stored: int) -> None:
    """Every record handed over is stored, still queued, spilled (for the next start), or
    counted as lost: none vanish."""
    recorder = db.recorder
    assert submitted == (
        stored + recorder.pending + recorder.dropped + recorder.spilled + recorder.lost_on_close
    )


def is_garbage(path: Path) -> bool:
    return path.read_bytes() == GARBAGE


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable for this process, as read-only permissions or a mount would.

    Permission bits do not bind root (tests may run as root in a container): then the file is
    made immutable with ``chattr +i``, which does. Skips the test when neither is possible.
    """
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], check=False).returncode:
        pytest.skip("running as root without chattr +i: no way to make a file read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


async def make_empty_database(path: Path, clock: ManualClock) -> None:
    """A migrated database file with no records, closed."""
    async with Database(path, config=MonitoringConfig(), clock=clock) as db:
        await db.connect()


# --- the database locked by another process ------------------------------------------------------


async def test_database_locked_by_another_process_for_5_seconds_loses_nothing(
    make_system: MakeSystem, db_path: Path
) -> None:
    system = make_system(busy_timeout_ms=100, flush_interval=0.05, retry_backoff_max=0.5)
    db = system.db
    await db.connect()
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOCK_HOLDER, str(db_path), "5", stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert await holder.stdout.readline() == b"locked\n"

    # The bot carries on while the lock is held: every command is queued at once.
    assert all(log(system, i) for i in range(500))
    await wait_until(lambda: db.recorder.write_errors >= 2, "writes to fail on the lock")
    during = await system.health_check.get_full_health_report()
    assert stored_indexes(db_path) == []  # WAL: reading works while another process writes.

    assert await holder.wait() == 0
    recovery = await wait_until(lambda: db.recorder.written == 500, "writes to resume")

    assert during["overall_status"] == "unhealthy"
    assert during["recording"]["status"] == "critical"
    assert "locked" in (during["recording"]["last_error"] or "")
    assert stored_indexes(db_path) == list(range(500))  # Each once, in order: 0 lost.
    assert rollup_commands(db_path) == 500
    assert db.recorder.dropped == 0
    assert_accounted(db, 500, 500)
    after = await system.health_check.get_full_health_report()
    assert after["recording"]["status"] == "healthy"
    # Backoff is capped at retry_backoff_max (0.5 s); the bound is a hang guard, not a benchmark.
    assert recovery < 5.0
    print(f"recovered {recovery:.3f}s after the fault ended")


# --- the disk full -------------------------------------------------------------------------------


async def fill_the_disk(system: MonitoringSystem) -> Callable[[], Any]:
    """Let the writer's connection grow the file by no page at all; return what frees space."""
    storage = await system.db.storage()
    conn = storage._conn  # type: ignore[attr-defined]
    # SQLite clamps the limit to the pages already in use: every new page is "disk full".
    await conn.execute("PRAGMA max_page_count = 1")

    async def free_space() -> None:
        await conn.execute("PRAGMA max_page_count = 1073741823")

    return free_space


FULL_DISK = {"flush_interval": 0.02, "batch_size": 50, "max_queue": 200, "retry_backoff_max": 0.1}
PAYLOAD = "x" * 5000
"""A parameter big enough that every audit row needs pages the full disk does not have."""


async def test_disk_full_keeps_the_queue_drops_the_overflow_and_recovers(
    make_system: MakeSystem, db_path: Path
) -> None:
    system = make_system(**FULL_DISK)
    db = system.db
    free_space = await fill_the_disk(system)

    accepted = [log(system, i, payload=PAYLOAD) for i in range(300)]
    await wait_until(lambda: db.recorder.write_errors >= 2, "writes to fail on the full disk")
    during = await system.health_check.get_full_health_report()

    # The bound holds: 200 kept for retry, the 100 past it dropped and counted.
    assert accepted == [True] * 200 + [False] * 100
    assert db.recorder.dropped == 100
    assert "full" in (db.recorder.last_error or "")
    assert during["overall_status"] == "unhealthy"
    assert during["recording"]["dropped"] == 100
    assert stored_indexes(db_path) == []

    await free_space()
    recovery = await wait_until(lambda: db.recorder.written == 200, "writes to resume")

    assert stored_indexes(db_path) == list(range(200))
    assert rollup_commands(db_path) == 200
    assert_accounted(db, 300, 200)  # Lost: exactly the 100 dropped, all counted.
    assert integrity(db_path) == "ok"
    assert recovery < 5.0
    print(f"recovered {recovery:.3f}s after the fault ended")


async def test_disk_still_full_at_close_spills_every_queued_record_for_the_next_start(
    make_system: MakeSystem, db_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    system = make_system(**FULL_DISK)
    db = system.db
    await fill_the_disk(system)
    assert all(log(system, i, payload=PAYLOAD) for i in range(150))

    with caplog.at_level(logging.WARNING, logger="monitoring_cog"):
        await db.close()  # Does not raise.

    # Before: all 150 counted as lost (lost_on_close), never to be stored.
    assert db.recorder.spilled == 150
    assert db.recorder.lost_on_close == 0
    assert db.recorder.written == 0
    assert stored_indexes(db_path) == []
    assert_accounted(db, 150, 0)
    assert any("150 records saved to" in r.getMessage() for r in caplog.records)
    # The next start (a connection of its own: the limit was the old one's) writes them, once.
    await make_empty_database(db_path, clock)
    await make_empty_database(db_path, clock)
    assert stored_indexes(db_path) == list(range(150))
    assert rollup_commands(db_path) == 150


# --- a read-only database file -------------------------------------------------------------------


async def test_read_only_file_at_start_fails_loudly_naming_it(
    db_path: Path, clock: ManualClock
) -> None:
    await make_empty_database(db_path, clock)

    with read_only(db_path), pytest.raises(DatabaseUnavailable) as info:
        Database(db_path, config=MonitoringConfig(), clock=clock)

    assert str(db_path) in str(info.value)


async def test_file_read_only_when_first_written_keeps_records_until_writable(
    make_system: MakeSystem, db_path: Path, clock: ManualClock
) -> None:
    await make_empty_database(db_path, clock)
    system = make_system(flush_interval=0.02, retry_backoff_max=0.1)  # Checks the path: fine.
    db = system.db

    with read_only(db_path):
        assert all(log(system, i) for i in range(20))
        await wait_until(lambda: db.recorder.write_errors >= 2, "writes to fail")
        entries = await system.cmd_logger.get_recent_commands()
        report = await system.health_check.get_full_health_report()
        assert db.recorder.written == 0

    recovery = await wait_until(lambda: db.recorder.written == 20, "writes to resume")

    assert entries == []  # The read failed: its default, counted.
    assert db.errors.by_operation["CommandLogger.get_recent_commands"] == 1
    assert report["overall_status"] == "unhealthy"
    assert report["database"]["status"] == "error"
    assert "readonly" in report["database"]["error"]
    assert stored_indexes(db_path) == list(range(20))
    assert_accounted(db, 20, 20)
    assert recovery < 5.0
    print(f"recovered {recovery:.3f}s after the fault ended")


# --- the file deleted or replaced while running --------------------------------------------------


async def test_file_deleted_while_running_is_recreated_and_later_records_land_in_it(
    make_system: MakeSystem, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    system = make_system(flush_interval=LONG_INTERVAL)
    db = system.db
    assert all(log(system, i) for i in range(10))
    await db.flush()

    remove_database(db_path)  # Records 0-9 go with the file: the operator's doing.
    assert all(log(system, i) for i in range(10, 20))
    with caplog.at_level(logging.WARNING, logger="monitoring_cog"):
        await db.flush()

    # Before the fix these went into the deleted file's inode: counted written, then gone.
    assert stored_indexes(db_path) == list(range(10, 20))
    assert rollup_commands(db_path) == 10
    assert db.recorder.written == 20
    assert db.recorder.write_errors == 0
    assert any("deleted or replaced" in r.getMessage() for r in caplog.records)
    entries = await system.cmd_logger.get_recent_commands(limit=100)
    assert sorted(e["parameters"]["i"] for e in entries) == list(range(10, 20))


async def test_file_replaced_while_running_takes_later_records(
    make_system: MakeSystem, db_path: Path, clock: ManualClock, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    await make_empty_database(backup, clock)
    system = make_system(flush_interval=LONG_INTERVAL)
    db = system.db
    assert all(log(system, i) for i in range(10))
    await db.flush()

    os.replace(backup, db_path)  # An operator restores a backup under the running bot.
    assert all(log(system, i) for i in range(10, 20))
    await db.flush()

    assert stored_indexes(db_path) == list(range(10, 20))
    assert integrity(db_path) == "ok"
    assert db.recorder.written == 20
    assert_accounted(db, 20, 20)  # 0-9 were stored in the replaced file, 10-19 in this one.


async def test_file_replaced_by_garbage_keeps_records_until_a_database_is_back(
    make_system: MakeSystem, db_path: Path, clock: ManualClock, tmp_path: Path
) -> None:
    system = make_system(flush_interval=0.02, retry_backoff_max=0.1)
    db = system.db
    assert all(log(system, i) for i in range(10))
    await db.flush()
    garbage = tmp_path / "garbage"
    garbage.write_bytes(GARBAGE)

    os.replace(garbage, db_path)
    assert all(log(system, i) for i in range(10, 20))
    await wait_until(lambda: db.recorder.write_errors >= 2, "writes to fail on the garbage")
    report = await system.health_check.get_full_health_report()
    assert is_garbage(db_path)  # Never overwritten.

    restored = tmp_path / "restored.db"
    await make_empty_database(restored, clock)
    os.replace(restored, db_path)
    recovery = await wait_until(lambda: db.recorder.written == 20, "writes to resume")

    assert report["overall_status"] == "unhealthy"
    assert report["database"]["status"] == "error"
    assert str(db_path) in report["database"]["error"]
    assert report["recording"]["pending"] == 10
    assert stored_indexes(db_path) == list(range(10, 20))
    assert_accounted(db, 20, 20)
    assert recovery < 5.0
    print(f"recovered {recovery:.3f}s after the fault ended")


# --- the writing process killed ------------------------------------------------------------------


Progress = tuple[int, int, float]
"""A line of :mod:`fault_child`: submitted up to, written up to, the child's monotonic time."""


def run_and_kill(
    path: Path, flush_interval: float, first: int, written_before_kill: int, then_turns: int
) -> list[Progress]:
    """Run :mod:`fault_child` until it reports ``written_before_kill`` more written, let it run
    ``then_turns`` turns more, SIGKILL it, and return every complete line it printed."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(flush_interval), str(first)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    try:
        countdown: int | None = None
        for line in child.stdout:
            lines.append(line)
            if countdown is None and int(line.split()[1]) >= first + written_before_kill:
                countdown = then_turns
            if countdown is not None:
                if countdown == 0:
                    break
                countdown -= 1
        else:
            pytest.fail(f"the recording child exited with {child.wait()} before the kill")
        child.send_signal(signal.SIGKILL)
        lines.extend(child.stdout)  # What it printed before dying is still in the pipe.
    finally:
        child.kill()
        child.wait(timeout=DEADLINE)
    assert child.returncode == -signal.SIGKILL
    progress = []
    for line in lines:
        if line.endswith("\n"):  # The kill may cut the very last line short.
            submitted, written, at = line.split()
            progress.append((int(submitted), int(written), float(at)))
    return progress


def test_writer_killed_with_sigkill_loses_only_records_not_yet_flushed(db_path: Path) -> None:
    flush_interval = 0.1
    stored = 0
    # Three kills at different points of the write cycle: just after a flush, then 5 and 15
    # turns (of 5 ms) into the next 100 ms interval.
    for then_turns in (0, 5, 15):
        progress = run_and_kill(db_path, flush_interval, stored, 300, then_turns)
        submitted, reported_written, killed_at = progress[-1]

        assert integrity(db_path) == "ok"
        indexes = stored_indexes(db_path)
        # A contiguous prefix: no batch half-written, none written twice, none skipped.
        assert indexes == list(range(len(indexes)))
        assert rollup_commands(db_path) == len(indexes)
        # Everything the child saw committed survived; all that is missing was still queued.
        assert reported_written <= len(indexes) <= submitted
        # How long the missing records had been queued: about one flush interval (plus the
        # write in progress); the bound is loose, only a guard against losing older ones.
        first_missing = next((at for up_to, _, at in progress if up_to > len(indexes)), killed_at)
        waited = killed_at - first_missing
        assert waited < flush_interval + 5.0
        print(f"SIGKILL: lost {submitted - len(indexes)} of {submitted}, queued {waited:.3f}s")
        stored = len(indexes)
    assert stored >= 900


# --- cancellation in the middle of a flush -------------------------------------------------------


async def test_cancelling_a_flush_after_its_commit_writes_the_batch_exactly_once(
    make_system: MakeSystem, db_path: Path
) -> None:
    system = make_system(flush_interval=LONG_INTERVAL)
    db = system.db
    storage = await db.storage()
    conn = storage._conn  # type: ignore[attr-defined]
    committed, resume = asyncio.Event(), asyncio.Event()
    real_execute = conn.execute

    async def commit_then_wait(sql: str, *args: Any) -> Any:
        cursor = await real_execute(sql, *args)
        committed.set()  # On disk now; the caller has not been told yet.
        await resume.wait()
        return cursor

    def execute(sql: str, *args: Any) -> Any:
        return commit_then_wait(sql, *args) if sql == "COMMIT" else real_execute(sql, *args)

    conn.execute = execute
    assert all(log(system, i) for i in range(10))
    flushing = asyncio.create_task(db.flush())
    await asyncio.wait_for(committed.wait(), DEADLINE)

    flushing.cancel()
    resume.set()
    with pytest.raises(asyncio.CancelledError):
        await flushing
    conn.execute = real_execute
    await db.flush()

    # Before the fix the committed batch went back to the buffer and was written again.
    assert stored_indexes(db_path) == list(range(10))
    assert db.recorder.written == 10
    assert_accounted(db, 10, 10)


async def test_cancelling_the_writer_mid_write_loses_nothing_and_it_restarts(
    make_system: MakeSystem, db_path: Path
) -> None:
    system = make_system(busy_timeout_ms=2000, flush_interval=0.02)
    db = system.db
    await db.connect()
    recorder = db.recorder

    with exclusive_lock(db_path):
        assert all(log(system, i) for i in range(10))
        writer = recorder._task
        assert writer is not None
        # The writer has taken the batch and waits on SQLite's lock inside the write.
        await wait_until(lambda: recorder._in_flight == 10, "the writer to start writing")
        writer.cancel()
    # Released while the cancelled write is still waiting: it goes through, once.
    await asyncio.wait({writer}, timeout=DEADLINE)
    assert writer.cancelled()

    assert all(log(system, i) for i in range(10, 20))  # Starts a new writer.
    await wait_until(lambda: recorder.written == 20, "a new writer to write the rest")
    await db.close()  # Does not raise the old writer's cancellation.

    assert stored_indexes(db_path) == list(range(20))
    assert_accounted(db, 20, 20)


# --- a burst of one million events ---------------------------------------------------------------


async def test_a_burst_of_a_million_events_stays_within_max_queue_and_recovers(
    make_system: MakeSystem, db_path: Path
) -> None:
    system = make_system(flush_interval=0.05, batch_size=500, max_queue=1000)
    db = system.db
    await db.connect()
    log_now = system.cmd_logger.log_command_nowait
    gc.collect()
    rss_before = psutil.Process().memory_info().rss

    # One synchronous burst: the writer gets no turn, so exactly max_queue records fit.
    accepted = sum(
        log_now(GUILD, "Guild", i % 50, None, "play", {"i": i}, 0.01) for i in range(1_000_000)
    )
    growth_mb = (psutil.Process().memory_info().rss - rss_before) / 2**20
    assert db.recorder.pending == 1000
    report = await system.health_check.get_full_health_report()  # Flushes the 1000 first.

    assert accepted == 1000
    assert db.recorder.dropped == 999_000
    assert report["recording"]["dropped"] == 999_000
    assert report["recording"]["status"] == "warning"
    assert report["overall_status"] == "degraded"
    # Bounded by the queue: a million buffered records would take hundreds of MB.
    assert growth_mb < 50, f"memory grew by {growth_mb:.1f} MB"
    assert stored_indexes(db_path) == list(range(1000))

    # Recording recovers at once: the next command is queued and written.
    assert log_now(GUILD, "Guild", 1, None, "play", {"i": 1_000_000}, 0.01)
    after = await system.health_check.get_full_health_report()
    assert after["recording"]["status"] == "healthy"
    assert after["recording"]["dropped_since_last_check"] == 0
    assert stored_indexes(db_path)[-1] == 1_000_000
    assert_accounted(db, 1_000_001, 1001)


# --- records the writer cannot store ------------------------------------------------------------


def raw_record(i: int, clock: ManualClock, **changes: Any) -> CommandRecord:
    """A record submitted straight to the buffer, past the public API's normalisation."""
    record = CommandRecord(
        GUILD, "Guild", "u", None, "play", {"i": i}, 0.1, True, None, None, clock.time()
    )
    return record._replace(**changes)


async def test_a_record_that_cannot_be_aggregated_is_discarded_alone_and_counted(
    make_system: MakeSystem, db_path: Path, clock: ManualClock
) -> None:
    system = make_system(flush_interval=LONG_INTERVAL)
    db = system.db
    for i in range(5):
        assert db.submit(raw_record(i, clock, executed_at=math.nan if i == 2 else clock.time()))

    await db.flush()

    # Before the fix the whole batch was lost, and counted nowhere.
    assert stored_indexes(db_path) == [0, 1, 3, 4]
    assert db.recorder.dropped == 1
    assert db.errors.by_operation == {"Recorder.flush": 1}
    assert_accounted(db, 5, 4)


async def test_a_record_the_database_cannot_take_is_set_aside_alone_and_counted(
    make_system: MakeSystem, db_path: Path, clock: ManualClock
) -> None:
    system = make_system(flush_interval=LONG_INTERVAL)
    db = system.db
    for i in range(5):
        # An integer past SQLite's 64 bits: aggregated fine, refused when bound.
        assert db.submit(raw_record(i, clock, duration=2**70 if i == 2 else 0.1))

    await db.flush()  # Before the fix: raised, and every later flush failed the same way.

    assert stored_indexes(db_path) == [0, 1, 3, 4]
    assert db.recorder.dropped == db.recorder.discarded == 1
    assert db.recorder.failing is False
    assert db.errors.by_operation == {"Recorder.flush": 1}
    assert log(system, 5)
    await db.flush()
    assert stored_indexes(db_path) == [0, 1, 3, 4, 5]
    assert_accounted(db, 6, 5)


async def test_parameters_utf8_cannot_encode_are_repaired_not_blocking_the_batch(
    make_system: MakeSystem, db_path: Path
) -> None:
    system = make_system(flush_interval=LONG_INTERVAL)
    db = system.db
    for i in range(5):
        # A lone surrogate: a Python str holds it, JSON too, UTF-8 (so SQLite) cannot.
        parameters = {"i": i, "text": "a\ud800b"} if i == 2 else {"i": i}
        assert system.cmd_logger.log_command_nowait(GUILD, "g", 1, "u", "play", parameters)

    await db.flush()  # Before the fix: raised, and every later flush failed the same way.

    entries = await system.cmd_logger.get_recent_commands(limit=10)
    assert sorted(e["parameters"]["i"] for e in entries) == [0, 1, 2, 3, 4]
    assert next(e for e in entries if e["parameters"]["i"] == 2)["parameters"]["text"] == "a?b"
    assert db.errors.rejected_inputs == 1
    assert db.errors.errors == 0
    assert db.recorder.dropped == 0
    assert_accounted(db, 5, 5)
