"""``HealthReportWriter``: each health report stored as this process's row of ``health_reports``.

At every health check the report is written, with the process's name, host, pid, shard ids and
the statuses of its last :data:`TIMELINE_SIZE` checks, so that the dashboard lists every process
of a bot sharing one PostgreSQL database (one silent for two check intervals shows as down) and,
run without the bot, shows the last report stored.

The write runs as a task of its own: the health loop hands the report over and goes on. One write
at a time; a report arriving while one is in progress replaces the one waiting, so a slow
database delays the row, never the checks, and nothing piles up. A failed write is logged and
counted, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..database import Database
from ..storage.dashboard import HealthReportRow

__all__ = (
    "FORGET_AFTER",
    "TIMELINE_SIZE",
    "HealthReportWriter",
    "default_process_name",
    "report_time",
)

_log = logging.getLogger(__name__)

TIMELINE_SIZE = 100
"""Checks whose status each row keeps for the dashboard's timeline."""
FORGET_AFTER = 7 * 86400.0
"""Seconds after which a silent process's row is deleted (it was restarted under another name,
or retired): until then it shows as down."""


def default_process_name() -> str:
    """``host:pid``, this process's name unless ``[dashboard] process_name`` gives one."""
    return f"{socket.gethostname()}:{os.getpid()}"


def report_time(report: Mapping[str, Any], default: float) -> float:
    """The epoch seconds of a health report's ``timestamp`` (``default`` if unreadable)."""
    try:
        return datetime.fromisoformat(str(report["timestamp"])).timestamp()
    except (KeyError, ValueError, TypeError):
        return default


class HealthReportWriter:
    """Stores this process's health reports, one background write at a time.

    Parameters
    ----------
    db:
        The database to write into.
    check_interval:
        Seconds between this process's checks (stored with the row: two of them silent and the
        process counts as down).
    process_name:
        The row's key; "" for :func:`default_process_name`.
    shard_ids:
        Returns the shard ids this process runs (read at each write: known once connected).
    """

    def __init__(
        self,
        db: Database,
        *,
        check_interval: float,
        process_name: str = "",
        shard_ids: Callable[[], Sequence[int]] = tuple,
    ) -> None:
        self.db = db
        self.check_interval = check_interval
        self.process = process_name or default_process_name()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.shard_ids = shard_ids
        self.timeline: deque[tuple[float, str]] = deque(maxlen=TIMELINE_SIZE)
        """``(at, status)`` of the last checks, oldest first."""
        self._pending: HealthReportRow | None = None
        self._task: asyncio.Task[None] | None = None

    def submit(self, report: Mapping[str, Any]) -> None:
        """Store ``report`` in the background (call from the event loop; returns at once)."""
        now = self.db.clock.time()
        at = report_time(report, now)
        status = str(report.get("overall_status", "unknown"))
        self.timeline.append((at, status))
        try:
            shards = tuple(int(shard) for shard in self.shard_ids())
        except Exception as exc:
            self.db.errors.record("HealthReportWriter.shard_ids", exc)
            shards = ()
        self._pending = HealthReportRow(
            process=self.process,
            host=self.host,
            pid=self.pid,
            shard_ids=shards,
            status=status,
            checked_at=at,
            check_interval=self.check_interval,
            report=dict(report),
            timeline=tuple(self.timeline),
        )
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._write_pending())

    async def _write_pending(self) -> None:
        while (row := self._pending) is not None:
            self._pending = None
            try:
                storage = await self.db.storage()
                await storage.store_health_report(
                    row, forget_before=self.db.clock.time() - FORGET_AFTER
                )
            except Exception as exc:
                self.db.errors.record("HealthReportWriter.write", exc)
                _log.warning(
                    "monitoring: could not store the health report: %s: %s",
                    type(exc).__name__,
                    exc,
                )

    async def close(self, within: float = 2.0) -> None:
        """Wait (at most ``within`` seconds) for the write in progress and the one waiting."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=within)
            if not task.done():
                task.cancel()
