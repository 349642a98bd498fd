"""The body of ``GET /api/health``: the bot's health as the overview shows it.

Two sources, one shape:

- **live** (the dashboard runs inside the bot): the latest report of the process's own
  :class:`~monitoring_cog.collectors.health.HealthCheck` (never a new check: the overview costs
  the bot nothing it does not do anyway), its timeline from memory, and the other processes'
  rows from ``health_reports``;
- **stored** (``monitoring-cog dashboard``, no bot): the most recent row of ``health_reports``,
  its timeline, and every process's row.

Either way ``processes`` marks a process silent for more than two of its check intervals as
``down``, and ``commands_per_minute`` covers the last 60 minutes, every minute present.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ...collectors.health_reports import report_time
from ...storage.dashboard import HealthReportRow

if TYPE_CHECKING:
    from ...collectors.health import HealthCheck
    from ...collectors.health_reports import HealthReportWriter
    from ...database import Database

__all__ = ("MINUTES", "HealthView", "components_of")

_log = logging.getLogger(__name__)

MINUTES = 60
"""Minutes of ``commands_per_minute``."""
DOWN_AFTER_INTERVALS = 2
"""Check intervals a process may stay silent before it counts as down."""


def components_of(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's sections that have a status (memory, cpu, database, gateway, ...)."""
    return {
        str(name): dict(value)
        for name, value in report.items()
        if isinstance(value, Mapping) and "status" in value
    }


class HealthView:
    """Builds the ``/api/health`` body from the bot (live) or from the database (stored).

    Parameters
    ----------
    db:
        Where the processes' rows and the per-minute activity are read.
    health:
        The bot's health check: live. ``None``: stored.
    writer:
        The bot's :class:`~monitoring_cog.collectors.health_reports.HealthReportWriter` (its
        process's name, and the timeline beyond the health check's history), if it has one.
    """

    def __init__(
        self,
        db: Database,
        *,
        health: HealthCheck | None = None,
        writer: HealthReportWriter | None = None,
    ) -> None:
        self.db = db
        self.health = health
        self.writer = writer

    @property
    def source(self) -> str:
        """``"live"`` or ``"stored"``."""
        return "live" if self.health is not None else "stored"

    async def payload(self) -> dict[str, Any]:
        """The ``/api/health`` body now."""
        now = self.db.clock.time()
        try:
            storage = await self.db.storage()
            rows = await storage.health_reports()
            minutes = await storage.minute_activity(now - (MINUTES - 1) * 60)
        except Exception as exc:
            # The database down must not blank the overview: what the bot knows still shows.
            _log.warning(
                "monitoring: dashboard health read failed: %s: %s", type(exc).__name__, exc
            )
            rows, minutes = [], []
        body = self._live(rows, now) if self.health is not None else self._stored(rows, now)
        body["commands_per_minute"] = per_minute(minutes, now)
        return body

    def _live(self, rows: list[HealthReportRow], now: float) -> dict[str, Any]:
        assert self.health is not None
        history = list(self.health.history)
        report = history[-1] if history else None
        if self.writer is not None and self.writer.timeline:
            timeline = list(self.writer.timeline)
        else:
            timeline = [(report_time(r, now), str(r.get("overall_status"))) for r in history]
        processes = [process_entry(row, now) for row in rows]
        if self.writer is not None and report is not None:
            # This process from memory: its row may be a check behind (written in the background).
            mine = {
                "process": self.writer.process,
                "host": self.writer.host,
                "pid": self.writer.pid,
                "shard_ids": _shards(self.writer),
                "status": str(report.get("overall_status", "unknown")),
                "checked_at": report_time(report, now),
                "down": False,
            }
            processes = [p for p in processes if p["process"] != mine["process"]]
            processes.insert(0, mine)
        return {
            "source": "live",
            "status": str(report.get("overall_status", "unknown")) if report else "unknown",
            "checked_at": report_time(report, now) if report else None,
            "components": components_of(report) if report else {},
            "processes": processes,
            "timeline": timeline_entries(timeline),
        }

    def _stored(self, rows: list[HealthReportRow], now: float) -> dict[str, Any]:
        latest = rows[0] if rows else None
        return {
            "source": "stored",
            "status": latest.status if latest else "unknown",
            "checked_at": latest.checked_at if latest else None,
            "components": components_of(latest.report) if latest else {},
            "processes": [process_entry(row, now) for row in rows],
            "timeline": timeline_entries(latest.timeline if latest else ()),
        }


def process_entry(row: HealthReportRow, now: float) -> dict[str, Any]:
    """A process of ``/api/health``: down when silent for over two of its check intervals."""
    return {
        "process": row.process,
        "host": row.host,
        "pid": row.pid,
        "shard_ids": list(row.shard_ids),
        "status": row.status,
        "checked_at": row.checked_at,
        "down": now - row.checked_at > DOWN_AFTER_INTERVALS * row.check_interval,
    }


def timeline_entries(timeline: Iterable[tuple[float, str]]) -> list[dict[str, Any]]:
    """The last 100 checks as ``{"at", "status"}``, oldest first."""
    return [{"at": at, "status": status} for at, status in list(timeline)[-100:]]


def per_minute(minutes: Iterable[tuple[int, int, int]], now: float) -> list[dict[str, Any]]:
    """The last :data:`MINUTES` minutes (this one included), oldest first, zeros filled."""
    counts = {minute: (commands, failed) for minute, commands, failed in minutes}
    last = math.floor(now / 60)
    result = []
    for minute in range(last - MINUTES + 1, last + 1):
        commands, failed = counts.get(minute, (0, 0))
        result.append({"minute": float(minute * 60), "commands": commands, "failed": failed})
    return result


def _shards(writer: HealthReportWriter) -> list[int]:
    try:
        return [int(shard) for shard in writer.shard_ids()]
    except Exception:
        return []
