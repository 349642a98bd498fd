"""One bot process of ``test_postgres_multiprocess.py``: audits its share of commands, as a shard.

Run as ``python pg_writer_child.py URL WORKER COUNT``. It opens the database (connecting, and
migrating a new one, alongside its siblings), prints ``ready``, waits for ``go`` on stdin so
that every process writes at the same time, logs COUNT commands through the public API
(``CommandLogger.log_command``), closes the database (writing everything queued) and prints
its recorder's figures as one JSON line.

Which command the ``n``-th of all is (:func:`planned`) is a pure function of ``n``, so the
test computes exactly what the database must hold, and every process's commands fall on the
same guilds, days, commands and users as the others', making their upserts collide.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import NamedTuple

from monitoring_cog import Database, ManualClock, MonitoringConfig, create_monitoring_system
from monitoring_cog.config import DatabaseConfig, RecordingConfig

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
"""The processes' (manual) clock: the same "today" as the test's reports."""
GUILDS = ("1001", "1002", "1003", "1004", "1005")
COMMANDS = ("play", "skip", "queue", "pause", "resume", "volume", "stats weekly")
DAYS = 10
"""Commands fall on the 10 UTC days ending today: the weekly report sees 7 of them."""
USERS = 240
YIELD_EVERY = 250
"""Commands logged between turns given to the event loop (the writer task runs meanwhile)."""


class Planned(NamedTuple):
    guild: str
    user: str
    command: str
    days_ago: int
    success: bool
    duration: float
    executed_at: float


def planned(n: int) -> Planned:
    """The ``n``-th command of all processes together (process ``w`` logs ``w*COUNT`` on)."""
    days_ago = (n // 11) % DAYS
    return Planned(
        guild=GUILDS[n % len(GUILDS)],
        user=str(900_000 + (n * 31) % USERS),
        command=COMMANDS[n % len(COMMANDS)],
        days_ago=days_ago,
        success=n % 13 != 0,
        duration=(n % 50) / 20,
        # Spread over the hour before noon of its day: still that UTC day.
        executed_at=NOW.timestamp() - days_ago * 86400 - (n % 3600),
    )


class Collected(logging.Handler):
    """Keeps what the library logged at WARNING or above: a recovered failure (its counter
    goes up, ``last_error`` is cleared) would otherwise leave no trace of what it was."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname} {record.name}: {record.getMessage()}")


async def main(url: str, worker: int, count: int) -> None:
    logged = Collected()
    logging.getLogger("monitoring_cog").addHandler(logged)
    # The backlog left at close is written whole: with the default close_timeout (8 s) four
    # processes sharing two cores would spill part of it for their next start instead.
    # Lock waits get a minute rather than 5 s: every batch of every process takes the same rows
    # (the bot-wide rollups), so on a machine busy with other work a write can queue behind three
    # others for seconds, and a wait cut short is retried, not lost. A deadlock still fails the
    # write: PostgreSQL detects one after deadlock_timeout (1 s), whatever lock_timeout is.
    config = MonitoringConfig(
        database=DatabaseConfig(busy_timeout_ms=60_000),
        recording=RecordingConfig(flush_interval=0.05, batch_size=1000, close_timeout=120.0),
    )
    db = Database(url, config=config, clock=ManualClock(NOW))
    logger = create_monitoring_system(db, make_current=False).cmd_logger
    await db.connect()
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"

    started = time.perf_counter()
    first = worker * count
    for n in range(first, first + count):
        cmd = planned(n)
        queued = await logger.log_command(
            cmd.guild,
            f"Guild {cmd.guild}",
            cmd.user,
            f"user{cmd.user}",
            cmd.command,
            {"n": n},
            cmd.duration,
            cmd.success,
            None if cmd.success else "boom",
            executed_at=cmd.executed_at,
        )
        if not queued:
            break  # Counted in recorder.dropped: the test reports it.
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    await db.close()
    recorder = db.recorder
    print(
        json.dumps(
            {
                "worker": worker,
                "seconds": round(time.perf_counter() - started, 3),
                "written": recorder.written,
                "dropped": recorder.dropped,
                "write_errors": recorder.write_errors,
                "lost_on_close": recorder.lost_on_close,
                "last_error": recorder.last_error,
                "internal_errors": db.errors.errors,
                "logged": logged.messages,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
