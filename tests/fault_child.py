"""A bot stand-in for ``test_faults``: records commands continuously until it is killed.

Usage: ``python fault_child.py DB_PATH FLUSH_INTERVAL FIRST_INDEX``

Every turn it logs :data:`PER_TURN` commands (parameters ``{"i": n}``, ``n`` counting up from
FIRST_INDEX), then prints one line, ``<submitted up to> <written> <monotonic seconds>``, and
yields to its writer for :data:`TURN` seconds. A line is printed (and flushed) before the next
await, so when the parent kills the process, the last complete line it reads says exactly how
many commands had been handed to the library and how many the library had reported written.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from monitoring_cog import CommandLogger, Database, MonitoringConfig
from monitoring_cog.config import RecordingConfig

PER_TURN = 20
TURN = 0.005


async def record_forever(path: Path, flush_interval: float, first: int) -> None:
    """Log commands until killed; see the module docstring for the lines printed."""
    config = MonitoringConfig(recording=RecordingConfig(flush_interval=flush_interval))
    db = Database(path, config=config)
    logger = CommandLogger(db)
    await db.connect()
    index = first
    while True:
        for _ in range(PER_TURN):
            logger.log_command_nowait("111", "Guild", index % 50, None, "play", {"i": index}, 0.01)
            index += 1
        sys.stdout.write(f"{index} {first + db.recorder.written} {time.monotonic():.6f}\n")
        sys.stdout.flush()
        await asyncio.sleep(TURN)


if __name__ == "__main__":
    asyncio.run(record_forever(Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])))
