"""Helpers shared by tests that make a real SQLite database misbehave, then read what it stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


@contextmanager
def exclusive_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock from another connection, so the library's writes fail."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield conn
    finally:
        conn.close()  # Discards the open transaction, releasing the lock.


def stored_indexes(path: Path) -> list[int]:
    """The ``i`` of every audit row, in insertion order, read by a plain sqlite3 connection."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT json_extract(parameters, '$.i') FROM audit_logs ORDER BY id"
        ).fetchall()
    return [row[0] for row in rows]
