"""Readers under input faster than the writer: they write what was queued before them, and answer.

A reader (the health report, a statistics report, ``Database.flush``) writes what is queued
before reading, so it reads its own writes. Under a flood (see ``flood.py``) the buffer never
empties: a reader that waited for it to (as ``flush`` did) answered only once the input stopped.
Each reader must return within a bound while the flood goes on, having stored every record
queued before its call; several readers at once and the writer task must together store each
record exactly once, in order, the writer's repair of unstorable text intact.

Every test runs on SQLite (a real file) and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import pytest
from backends import Backend
from flood import GUILD, Flood

from monitoring_cog import Database, ManualClock, MonitoringConfig, MonitoringSystem
from monitoring_cog import create_monitoring_system as create_system
from monitoring_cog.config import RecordingConfig

MAX_QUEUE = 10_000
"""A backlog a reader writes in a few seconds on a slow machine."""
BOUND = 120.0
"""Seconds a reader may take under the flood before the test fails: a hang guard (the flood
never stops, so a reader that waited for the buffer to empty never returned). It writes at most
``MAX_QUEUE`` records (twice for the health report, which flushes twice); the times measured are
printed (``-s``)."""
_T = TypeVar("_T")


@pytest.fixture
async def system(
    backend: Backend, clock: ManualClock, process: Any
) -> AsyncIterator[MonitoringSystem]:
    config = MonitoringConfig(
        database=backend.database_config(),
        recording=RecordingConfig(flush_interval=0.05, max_queue=MAX_QUEUE),
    )
    db = Database(backend.target, config=config, clock=clock)
    await db.connect()
    yield create_system(db, process=process, make_current=False)
    await db.close()


def stored(backend: Backend) -> list[int]:
    """The ``i`` of every audit row, in the order written (id order)."""
    field = backend.json_field("parameters", "i")
    return [row[0] for row in backend.rows(f"SELECT {field} FROM audit_logs ORDER BY id")]


async def timed(what: str, reader: Awaitable[_T]) -> _T:
    """``reader``'s result; fails the test if it takes longer than ``BOUND``."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(BOUND):
            result = await reader
    except TimeoutError:
        pytest.fail(f"{what} still waiting after {BOUND} s of continuous input")
    print(f"{what}: answered in {time.monotonic() - started:.2f} s under the flood")
    return result


async def test_health_and_reports_answer_under_a_flood_with_what_was_queued_before(
    system: MonitoringSystem, backend: Backend
) -> None:
    flood = Flood(system)
    flood.start()
    try:
        await flood.saturated()
        before = len(flood.accepted)
        report = await timed("health report", system.health_check.get_full_health_report())
        assert set(stored(backend)) >= set(flood.accepted[:before])
        # What it reports was read after those records were written.
        assert report["database"]["status"] == "healthy"
        assert report["error_rate"]["total_commands"] >= before
        assert report["recording"]["written"] >= before

        before = len(flood.accepted)
        weekly = await timed("weekly report", system.stats_collector.generate_weekly_report(GUILD))
        assert set(stored(backend)) >= set(flood.accepted[:before])
        assert weekly["total_commands"] >= before
    finally:
        await flood.stop()


async def test_readers_at_once_and_the_writer_store_each_record_once_in_order(
    system: MonitoringSystem, backend: Backend
) -> None:
    db = system.db
    flood = Flood(system)
    flood.start()
    try:
        await flood.saturated()
        for _ in range(2):
            before = len(flood.accepted)
            await timed(
                "three readers at once",
                asyncio.gather(
                    system.health_check.get_full_health_report(),
                    system.stats_collector.generate_weekly_report(GUILD),
                    db.flush(),
                ),
            )
            assert set(stored(backend)) >= set(flood.accepted[:before])
    finally:
        await flood.stop()
    await db.flush()

    assert stored(backend) == flood.accepted  # Each once, in the order queued.
    recorder = db.recorder
    assert recorder.written == len(flood.accepted)
    assert recorder.dropped > 0  # The flood did outrun the writer.
    assert recorder.discarded == 0
    # Each raw record's username was repaired, and counted, once.
    assert flood.raw_accepted > 0
    assert db.errors.rejected_inputs == flood.raw_accepted
    usernames = backend.rows("SELECT DISTINCT username FROM audit_logs WHERE username IS NOT NULL")
    assert usernames == [("x?",)]
