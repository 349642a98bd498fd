"""Closing within ``recording.close_timeout`` whatever the database does, and what is left then.

The database is locked by another connection for real (SQLite's write lock, PostgreSQL's table
locks) while ``db.close()`` runs (``unload_extension`` and ``bot.close()``: in
``tests/cog/test_cog_faults.py``). Each must return by its
deadline; what it could not write is in a spill file, and the next start (a new ``Database`` on
the same database) writes it exactly once. Elapsed times are asserted against the deadline with
a small allowance for a shared machine; the observed figures are in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from backends import Backend
from polling import wait_until

from monitoring_cog import CommandLogger, Database, ManualClock, MonitoringConfig
from monitoring_cog.config import DatabaseConfig, RecordingConfig

SLACK = 0.25
"""Seconds past the deadline a close may be measured at on a busy machine (scheduling, the
interpreter): the deadline is the bound, this only keeps a loaded machine from failing it."""


def make_db(backend: Backend, tmp_path: Path, clock: ManualClock, **recording: Any) -> Database:
    busy = recording.pop("busy_timeout_ms", 400)
    config = MonitoringConfig(
        database=backend.database_config(busy_timeout_ms=busy),
        recording=RecordingConfig(
            flush_interval=3600.0, spill_dir=str(tmp_path / "spill"), **recording
        ),
    )
    return Database(backend.target, config=config, clock=clock)


def log(db: Database, count: int, clock: ManualClock) -> None:
    logger = CommandLogger(db)
    for i in range(count):
        assert logger.log_command_nowait("111", "Guild", i % 9, None, "play", {"i": i}, 0.1)


def spill_files(tmp_path: Path) -> list[Path]:
    """The spill files in the tests' ``spill_dir``."""
    return sorted((tmp_path / "spill").glob("*.spill"))


def stored(backend: Backend) -> list[int]:
    rows = backend.rows(f"SELECT {backend.json_field('parameters', 'i')} FROM audit_logs")
    return sorted(row[0] for row in rows)


async def timed_close(db: Database) -> float:
    start = time.monotonic()
    await db.close()
    return time.monotonic() - start


async def test_close_with_the_database_locked_throughout_returns_by_its_deadline(
    backend: Backend, tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    db = make_db(backend, tmp_path, clock, close_timeout=1.5)
    await db.connect()
    log(db, 200, clock)

    with backend.exclusive_lock(), caplog.at_level(logging.WARNING, logger="monitoring_cog"):
        took = await timed_close(db)

    # Before: three attempts of busy_timeout_ms each, then all 200 counted as lost.
    assert took < 1.5 + SLACK
    assert db.recorder.spilled == 200
    assert db.recorder.lost_on_close == db.recorder.written == 0
    assert stored(backend) == []
    assert len(spill_files(tmp_path)) == 1
    assert any("200 records saved to" in r.getMessage() for r in caplog.records)

    for _ in range(2):  # The next start writes them; the one after has nothing left to write.
        again = make_db(backend, tmp_path, clock)
        await again.connect()
        await again.close()
        assert stored(backend) == list(range(200))
    assert backend.scalar("SELECT SUM(commands) FROM bot_stats") == 200
    assert backend.scalar("SELECT COUNT(*) FROM spill_replays") == 1
    assert spill_files(tmp_path) == []
    print(f"close, {backend.name} locked throughout: {took:.3f}s (close_timeout 1.5)")


@pytest.mark.sqlite_only
async def test_close_at_the_default_settings_with_a_full_queue_and_the_database_locked(
    backend: Backend, clock: ManualClock
) -> None:
    config = MonitoringConfig(database=DatabaseConfig(path=str(backend.target)))
    queued = config.recording.max_queue  # 100,000: the largest spill the defaults allow.
    db = Database(backend.target, config=config, clock=clock)
    await db.connect()

    with backend.exclusive_lock():
        log(db, queued, clock)  # Full batches: the writer starts at once, waits on the lock.
        await asyncio.sleep(0.05)
        took = await timed_close(db)

    # Before: about 20 s (the writer's wait, three more of busy_timeout_ms, the pauses), and
    # every record lost. The defaults: close_timeout 8 s, busy_timeout_ms 5000.
    assert took < config.recording.close_timeout + SLACK
    assert db.recorder.spilled == queued
    assert db.recorder.lost_on_close == db.recorder.written == 0
    again = Database(backend.target, config=config, clock=clock)
    started = time.monotonic()
    await again.connect()
    replayed = time.monotonic() - started
    await again.close()
    assert stored(backend) == list(range(queued))
    print(
        f"close at the default settings, {queued} queued, locked throughout: {took:.3f}s;"
        f" the next start wrote them in {replayed:.2f}s"
    )


@pytest.mark.sqlite_only
@pytest.mark.parametrize("released", [True, False], ids=["lock-released", "lock-kept"])
async def test_a_write_outlasting_the_deadline_is_stored_or_spilled_never_both(
    backend: Backend, tmp_path: Path, clock: ManualClock, released: bool
) -> None:
    # busy_timeout_ms past close_timeout: a write the writer began before close outlasts it.
    db = make_db(backend, tmp_path, clock, close_timeout=0.6, busy_timeout_ms=1500, batch_size=50)
    await db.connect()
    recorder = db.recorder
    with contextlib.ExitStack() as lock:
        lock.enter_context(backend.exclusive_lock())
        log(db, 50, clock)  # A full batch: the writer takes it and waits on the lock.
        await asyncio.sleep(0.1)
        took = await timed_close(db)
        assert recorder.writing_late
        assert recorder.spilled == recorder.written == 0
        if released:
            lock.close()  # The late write now gets the lock and commits.
        await wait_until(lambda: not recorder.writing_late, "the late write to end")

    assert took < 0.6 + SLACK
    assert not recorder.writing_late
    if not released:  # The write gave up on the lock: its records went to a spill file then.
        assert (recorder.written, recorder.spilled) == (0, 50)
    # Released: committed if its COMMIT was queued before the connection's close, else rolled
    # back by that close and spilled. Either way, counted once.
    assert recorder.written + recorder.spilled == 50
    assert recorder.lost_on_close == 0
    again = make_db(backend, tmp_path, clock)
    await again.connect()
    await again.close()
    assert stored(backend) == list(range(50))  # Each once, whichever way it went.


async def test_guilds_registered_but_not_written_are_spilled_and_replayed(
    backend: Backend, tmp_path: Path, clock: ManualClock
) -> None:
    db = make_db(backend, tmp_path, clock, close_timeout=1.0)
    await db.connect()
    db.register_guilds([(str(900 + i), f"Guild {i}") for i in range(50)])
    db.register_guild("900", "Guild 0 renamed")  # The latest name is the one kept.
    log(db, 10, clock)

    with backend.exclusive_lock():
        await db.close()

    assert db.recorder.spilled == 10  # Queued records; the registrations travel with them.
    assert db.recorder.pending_guilds == 0
    again = make_db(backend, tmp_path, clock)
    await again.connect()
    await again.close()
    names = dict(backend.rows("SELECT guild_id, guild_name FROM servers"))
    assert {g: n for g, n in names.items() if g.startswith("9")} == {
        **{str(900 + i): f"Guild {i}" for i in range(1, 50)},
        "900": "Guild 0 renamed",
    }
    assert stored(backend) == list(range(10))
