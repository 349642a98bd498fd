"""What the SQLite backend relies on in aiosqlite beyond its public API.

A batch is written in one call on the connection's worker thread through aiosqlite's private
``Connection._execute`` (``_on_connection_thread``: a hand-over per statement costs the event
loop too much on small batches, see its docstring). These tests fail if an aiosqlite release
changes what that relies on: the function gets the sqlite3 connection, on the thread aiosqlite's
own calls run on; what it raises reaches the caller as it was; calls run in the order they were
made (a write's rollback is queued behind the batch's call). And a connection never closed lets
its thread be stopped at exit, with no event loop left (``_stop_worker``), each release its own
way.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import aiosqlite
import pytest

from monitoring_cog.storage.sqlite import _on_connection_thread, _stop_worker


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await aiosqlite.connect(tmp_path / "contract.db", isolation_level=None)
    await connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    await connection.execute("INSERT INTO t (id) VALUES (1)")
    try:
        yield connection
    finally:
        await connection.close()


async def test_the_function_gets_the_sqlite3_connection_on_aiosqlites_thread(
    conn: aiosqlite.Connection,
) -> None:
    def count_rows(db: sqlite3.Connection, plus: int) -> tuple[int, int]:
        # sqlite3 refuses a connection used on any thread but the one that opened it.
        return threading.get_ident(), db.execute("SELECT COUNT(*) FROM t").fetchone()[0] + plus

    await conn.create_function("thread_ident", 0, threading.get_ident)
    async with conn.execute("SELECT thread_ident()") as cur:
        row = await cur.fetchone()
    assert row is not None
    aiosqlite_thread = row[0]

    thread, rows = await _on_connection_thread(conn, count_rows, 10)

    assert rows == 11
    assert thread == aiosqlite_thread
    assert thread != threading.get_ident()


async def test_what_the_function_raises_reaches_the_caller_with_its_error_code(
    conn: aiosqlite.Connection,
) -> None:
    def insert_again(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t (id) VALUES (1)")

    with pytest.raises(sqlite3.IntegrityError) as raised:
        await _on_connection_thread(conn, insert_again)

    # The writer decides on a reopen by this code (SQLiteStorage._note_write_error).
    assert raised.value.sqlite_errorcode == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY


async def test_calls_run_in_the_order_they_were_made(conn: aiosqlite.Connection) -> None:
    def insert_slowly(db: sqlite3.Connection) -> None:
        time.sleep(0.05)  # Long enough for a later call to overtake, were it able to.
        db.execute("INSERT INTO t (id) VALUES (2)")

    async def count() -> int:
        async with conn.execute("SELECT COUNT(*) FROM t") as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    inserting = asyncio.create_task(_on_connection_thread(conn, insert_slowly))
    counting = asyncio.create_task(count())

    assert await counting == 2
    await inserting


def test_the_worker_thread_stops_without_an_event_loop_and_what_was_committed_stays(
    tmp_path: Path,
) -> None:
    path = tmp_path / "abandoned.db"

    async def open_and_write() -> aiosqlite.Connection:
        connection = await aiosqlite.connect(path, isolation_level=None)
        await connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        await connection.execute("INSERT INTO t (id) VALUES (1)")
        return connection

    before = set(threading.enumerate())
    # As at exit: asyncio.run has ended and no event loop is left.
    conn = asyncio.run(open_and_write())
    [worker] = set(threading.enumerate()) - before

    _stop_worker(conn)

    worker.join(timeout=10)  # A hang guard: the thread ends at once, or never.
    assert not worker.is_alive()
    with closing(sqlite3.connect(path)) as check:
        assert check.execute("SELECT id FROM t").fetchall() == [(1,)]
