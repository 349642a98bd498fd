"""Generated audit databases for the report and event-loop benchmarks, cached in ``.data``.

A database of ``rows`` audit rows across 1,000 guilds (50 members each, 25 commands, 2 %
failures), spread evenly over the 60 days before a fixed moment: half of them past the default
30-day retention. The schema is created by this project itself (``Database.connect`` runs the
migrations); the rows are then loaded with plain ``sqlite3``, and the rollups computed from them in
SQL with the project's own latency buckets, so the file holds what the writer would have stored.
Per-minute activity (kept two days by pruning) is computed for the last two days only.

Generating 10 million rows takes a few minutes; files are reused while the generator is unchanged.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _common import COMMANDS, DATA_DIR, GUILD_BASE, USER_BASE

from monitoring_cog import Database, ManualClock, MonitoringConfig
from monitoring_cog.analysis.latency import bucket_index
from monitoring_cog.storage.sqlite import register_functions

__all__ = ("Dataset", "dataset")

GENERATOR = 4
"""Bumped whenever the generated content changes, so cached files are rebuilt."""
GUILDS = 1000
MEMBERS = 50
DAYS = 60
AT = 1_767_225_600.0
"""2026-01-01T00:00:00Z: the moment the data ends, the clock the benchmarks read it at."""
CHUNK = 200_000


@dataclass(frozen=True)
class Dataset:
    """A generated database and what it holds."""

    path: Path
    rows: int
    at: float
    """The moment the data ends (read it with ``ManualClock(at)``)."""

    def guild(self, index: int) -> str:
        """The id of guild number ``index`` (0 to 999)."""
        return str(GUILD_BASE + index % GUILDS)


def dataset(rows: int, *, log: bool = True) -> Dataset:
    """The cached database of ``rows`` audit rows, generated first if needed."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"audit-{rows}.db"
    meta = path.with_suffix(".json")
    expected = {"generator": GENERATOR, "rows": rows, "at": AT}
    if path.exists() and meta.exists() and json.loads(meta.read_text()) == expected:
        return Dataset(path, rows, AT)
    for stale in (path, meta, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    if log:
        print(f"generating {rows:,} audit rows into {path.name} (cached for later runs)...")
    # Called from the benchmarks' own event loops, where asyncio.run cannot: a loop of its own
    # in a thread of its own.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, _create_schema(path)).result()
    _load(path, rows)
    meta.write_text(json.dumps(expected))
    if log:
        print(f"generated in {time.perf_counter() - started:.0f}s")
    return Dataset(path, rows, AT)


async def _create_schema(path: Path) -> None:
    db = Database(path, config=MonitoringConfig(), clock=ManualClock(AT))
    await db.connect()
    await db.close()


def _chunks(rows: int, seed: int = 7) -> Iterator[list[tuple[object, ...]]]:
    """Audit rows in time order, ``CHUNK`` at a time."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(COMMANDS))]
    durations = [min(rng.lognormvariate(-3.0, 1.0), 60.0) for _ in range(65_536)]
    start = AT - DAYS * 86400
    step = DAYS * 86400 / rows
    names = [f"Guild {g}" for g in range(GUILDS)]
    for first in range(0, rows, CHUNK):
        count = min(CHUNK, rows - first)
        commands = rng.choices(COMMANDS, weights, k=count)
        chunk = []
        for offset in range(count):
            index = first + offset
            guild = rng.randrange(GUILDS)
            user = rng.randrange(MEMBERS)
            command = commands[offset]
            failed = rng.random() < 0.02
            chunk.append(
                (
                    str(GUILD_BASE + guild),
                    names[guild],
                    str(USER_BASE + guild * MEMBERS + user),
                    f"user{guild}_{user}",
                    command,
                    f'{{"query":"song {index % 10_000}"}}' if command == "play" else "{}",
                    durations[index & 0xFFFF],
                    not failed,
                    "CommandInvokeError" if failed else None,
                    "Something went wrong" if failed else None,
                    start + index * step,
                )
            )
        yield chunk


def _load(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # A bulk load: no journal, no syncing, a large cache; indexes built once at the end.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.create_function("bucket", 1, bucket_index, deterministic=True)
        conn.execute("BEGIN")
        # The audit log's indexes as the migrations made them, dropped and rebuilt after.
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = 'audit_logs' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        for chunk in _chunks(rows):
            conn.executemany(
                "INSERT INTO audit_logs (guild_id, guild_name, user_id, username, command,"
                " parameters, duration, success, error_type, error_message, executed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                chunk,
            )
        for _, statement in indexes:
            conn.execute(statement)
        _rollups(conn)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


def _rollups(conn: sqlite3.Connection) -> None:
    """What the writer's upserts would have left, computed from the audit rows."""
    day = "date(executed_at, 'unixepoch')"
    failed = "SUM(CASE WHEN success THEN 0 ELSE 1 END)"
    conn.execute(
        "INSERT INTO servers (guild_id, guild_name, first_seen, last_seen)"
        " SELECT guild_id, MAX(guild_name), MIN(executed_at), MAX(executed_at)"
        " FROM audit_logs GROUP BY guild_id"
    )
    conn.execute(
        "INSERT INTO bot_stats (guild_id, day, commands, failed_commands)"
        f" SELECT guild_id, {day}, COUNT(*), {failed} FROM audit_logs GROUP BY 1, 2"
    )
    conn.execute(
        "INSERT INTO daily_users (guild_id, day, user_id, commands)"
        f" SELECT guild_id, {day}, user_id, COUNT(*) FROM audit_logs GROUP BY 1, 2, 3"
    )
    conn.execute(
        "INSERT INTO command_stats (guild_id, day, command, count, failures, duration_sum,"
        " duration_min, duration_max)"
        f" SELECT guild_id, {day}, command, COUNT(*), {failed}, SUM(duration), MIN(duration),"
        " MAX(duration) FROM audit_logs GROUP BY 1, 2, 3"
    )
    # Latency histograms, packed per guild, day and command as the writer stores them.
    register_functions(conn)
    conn.execute(
        "INSERT INTO command_latency (guild_id, day, command, latency)"
        " SELECT guild_id, day, command, monitoring_pack_latency(bucket, n) FROM ("
        f"  SELECT guild_id, {day} AS day, command, bucket(duration) AS bucket, COUNT(*) AS n"
        "   FROM audit_logs GROUP BY 1, 2, 3, 4"
        " ) GROUP BY 1, 2, 3"
    )
    # The dashboard's rollups, as migration 0009 fills them from the per-guild ones.
    conn.execute(
        "INSERT INTO guild_users (guild_id, user_id, last_day)"
        " SELECT guild_id, user_id, MAX(day) FROM daily_users GROUP BY 1, 2"
    )
    conn.execute(
        "INSERT INTO bot_command_stats (day, command, count, failures, duration_sum, latency)"
        " SELECT day, command, SUM(count), SUM(failures), SUM(duration_sum),"
        " monitoring_sum_latency(latency)"
        " FROM command_stats LEFT JOIN command_latency USING (guild_id, day, command)"
        " GROUP BY 1, 2"
    )
    conn.execute(
        "INSERT INTO command_minutes (minute, guild_id, commands, failures)"
        f" SELECT CAST(executed_at / 60 AS INTEGER), guild_id, COUNT(*), {failed}"
        " FROM audit_logs WHERE executed_at >= ? GROUP BY 1, 2",
        (AT - 2 * 86400,),
    )
