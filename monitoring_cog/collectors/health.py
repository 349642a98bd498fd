"""``HealthCheck``: memory, CPU, database, error rate and recording, with an overall status.

Component statuses: ``healthy``, ``warning``, ``critical`` (memory, CPU, error rate, recording),
``healthy``, ``slow``, ``error`` (database).

Overall status rule:

- ``unhealthy`` if any component is ``critical`` or ``error`` (the database cannot be reached,
  memory or CPU or the error rate is past its critical threshold, records are being lost);
- ``degraded`` if any component is ``warning`` or ``slow``;
- ``healthy`` otherwise.

A component that cannot judge yet (``unknown``: a gateway before the bot is ready, a library
used without a bot) does not count. Sections beyond the five built-in checks (the bot's vitals)
are added with :meth:`HealthCheck.add_section`.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import UTC, datetime
from typing import Any, Protocol

import psutil

from ..database import Database
from ..recording.normalize import clean_guild_id
from .cpu import CpuWindow
from .safe import safe_execute

__all__ = ("HealthCheck", "HealthSection", "ProcessSampler", "overall_status")

_log = logging.getLogger(__name__)

_MB = 1024 * 1024
_SEVERITY = {"healthy": 0, "unknown": 0, "warning": 1, "slow": 1, "critical": 2, "error": 2}


class ProcessSampler(Protocol):
    """What the health check reads from the process; :class:`psutil.Process` fits."""

    def memory_info(self) -> Any: ...

    def memory_percent(self) -> float: ...

    def cpu_percent(self, interval: float | None = None) -> float: ...

    def cpu_times(self) -> Any: ...


class HealthSection(Protocol):
    """A section of the health report that something outside the five checks observes."""

    def health_section(self) -> dict[str, Any]:
        """The section now: a dict with at least ``status``. Called at every check; must not
        block (no I/O: what it shows was gathered as it happened)."""
        ...


def overall_status(statuses: list[str]) -> str:
    """Combine component statuses by the module's rule."""
    worst = max((_SEVERITY.get(s, 2) for s in statuses), default=0)
    return ("healthy", "degraded", "unhealthy")[worst]


def _level(value: float, warning: float, critical: float) -> str:
    if value >= critical:
        return "critical"
    if value >= warning:
        return "warning"
    return "healthy"


_BUILT_IN_KEYS = frozenset(
    {
        "timestamp",
        "overall_status",
        "memory",
        "database",
        "cpu",
        "error_rate",
        "recording",
        "internal_errors",
        "uptime_seconds",
        "error",
    }
)
"""Keys of the quick reference's report: a section may not take their place."""


class HealthCheck:
    """Checks the bot's health and keeps the most recent reports.

    Parameters
    ----------
    db:
        The database to check (and whose recorder and error counts are reported).
    process:
        Where memory and CPU figures come from; defaults to this process (psutil). Inject a
        fake to test thresholds.
    """

    def __init__(self, db: Database, *, process: ProcessSampler | None = None) -> None:
        self.db = db
        self.errors = db.errors
        self.config = db.config.health
        self.process: ProcessSampler = process if process is not None else psutil.Process()
        self.cpu = CpuWindow(self.process, db.clock, self.config.cpu_window)
        """CPU over ``[health] cpu_window``; the cog samples it between checks."""
        self.started_at = db.clock.time()
        self.history: deque[dict[str, Any]] = deque(maxlen=self.config.history_size)
        """The most recent full reports, oldest first."""
        self._dropped_seen = 0
        self._sections: dict[str, HealthSection] = {}

    def add_section(self, name: str, section: HealthSection) -> None:
        """Add ``report[name]`` to every full report from now on, its status counted in the
        overall status (``unknown`` does not count). Replaces a section of the same name."""
        if name in _BUILT_IN_KEYS:
            raise ValueError(f"{name!r} is a built-in key of the health report")
        self._sections[name] = section

    def remove_section(self, name: str, section: HealthSection | None = None) -> None:
        """Stop adding ``report[name]`` (only if it is still ``section``, when given)."""
        if section is None or self._sections.get(name) is section:
            self._sections.pop(name, None)

    def section(self, name: str) -> HealthSection | None:
        """The section added as ``name``, if any (the metrics read the vitals' own figures)."""
        return self._sections.get(name)

    def _added_sections(self) -> dict[str, dict[str, Any]]:
        sections: dict[str, dict[str, Any]] = {}
        for name, section in list(self._sections.items()):
            try:
                sections[name] = dict(section.health_section())
            except Exception as exc:
                # One failing section must not cost the report: it shows as an error.
                self.errors.record(f"HealthCheck.section[{name}]", exc)
                _log.exception("monitoring: health section %r failed", name)
                sections[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        return sections

    @safe_execute(default_factory=lambda: {"status": "error"})
    async def check_memory(self) -> dict[str, Any]:
        """Process memory: ``rss_mb``, ``vms_mb``, ``percent`` (of the machine), ``status``."""
        info = self.process.memory_info()
        rss_mb = info.rss / _MB
        return {
            "rss_mb": round(rss_mb, 2),
            "vms_mb": round(info.vms / _MB, 2),
            "percent": round(float(self.process.memory_percent()), 2),
            "status": _level(rss_mb, self.config.memory_warning_mb, self.config.memory_critical_mb),
        }

    @safe_execute(default_factory=lambda: {"status": "error"})
    async def check_cpu(self) -> dict[str, Any]:
        """Process CPU over the last ``cpu_window`` seconds (see
        :mod:`monitoring_cog.collectors.cpu`).

        ``percent`` (100 = one full core), ``window_seconds`` (what the percent covers), the
        process's total ``user_time`` and ``system_time``, and ``status``. Until a whole window
        has been sampled since start-up, the percent covers what there is and the status stays
        ``healthy``: it would judge mostly the start-up itself.
        """
        reading = self.cpu.read()
        times = self.process.cpu_times()
        status = "healthy"
        if reading.complete:
            status = _level(
                reading.percent, self.config.cpu_warning_percent, self.config.cpu_critical_percent
            )
        return {
            "percent": round(reading.percent, 2),
            "window_seconds": round(reading.seconds, 3),
            "user_time": round(float(times.user), 3),
            "system_time": round(float(times.system), 3),
            "status": status,
        }

    async def check_database(self) -> dict[str, Any]:
        """Database: ``connected``, ``response_time`` (s), ``server_count``, size, ``status``.

        ``status`` is ``healthy``, ``slow`` (round trip over ``database_slow_seconds``) or
        ``error`` (cannot connect, or queued records cannot be written). Never raises.
        """
        clock = self.db.clock
        try:
            await self.db.flush()
            storage = await self.db.storage()
            start = clock.monotonic()
            await storage.ping()
            response_time = max(0.0, clock.monotonic() - start)
            servers = await storage.server_count()
            size = await storage.size_bytes()
        except Exception as exc:
            _log.warning("monitoring: database check failed: %s: %s", type(exc).__name__, exc)
            return {
                "connected": False,
                "response_time": 0.0,
                "server_count": 0,
                "database_size_mb": 0.0,
                "status": "error",
                "error": f"{type(exc).__name__}: {exc}",
            }
        slow = response_time > self.config.database_slow_seconds
        return {
            "connected": True,
            "response_time": round(response_time, 6),
            "server_count": servers,
            "database_size_mb": round(size / _MB, 3),
            "status": "slow" if slow else "healthy",
        }

    @safe_execute(default_factory=lambda: {"status": "error"})
    async def check_error_rate(self, guild_id: str | int | None = None) -> dict[str, Any]:
        """Failed / total commands over the last ``error_rate_window`` seconds.

        Counts come from per-minute rollups, so the window starts at the beginning of the minute
        it falls in (up to 59 s more than configured).

        Below ``error_rate_min_commands`` commands the rate is reported but the status stays
        ``healthy``: two failures out of three commands is not an outage.
        """
        await self.db.flush()
        storage = await self.db.storage()
        window = self.config.error_rate_window
        guild = None if guild_id is None else clean_guild_id(guild_id)
        total, failed = await storage.recent_activity(self.db.clock.time() - window, guild)
        rate = failed / total if total else 0.0
        status = "healthy"
        if total >= max(1, self.config.error_rate_min_commands):
            status = _level(rate, self.config.error_rate_warning, self.config.error_rate_critical)
        return {
            "total_commands": total,
            "failed_commands": failed,
            "error_rate": round(rate, 4),
            "window_seconds": window,
            "status": status,
        }

    def check_recording(self) -> dict[str, Any]:
        """The recording pipeline: queued, written, dropped records and write failures.

        ``critical`` while writes fail; ``warning`` if records were dropped since the last check.
        """
        stats = self.db.recorder.stats()
        dropped_since = stats["dropped"] - self._dropped_seen
        self._dropped_seen = stats["dropped"]
        status = "healthy"
        if dropped_since:
            status = "warning"
        if stats["failing"]:
            status = "critical"
        return {**stats, "dropped_since_last_check": dropped_since, "status": status}

    async def get_full_health_report(self, guild_id: str | int | None = None) -> dict[str, Any]:
        """Every check at once, plus ``overall_status``; kept in :attr:`history`. Never raises.

        ``guild_id`` narrows the error rate to one guild; the rest is process-wide.
        """
        try:
            memory = await self.check_memory()
            database = await self.check_database()
            cpu = await self.check_cpu()
            errors = await self.check_error_rate(guild_id)
            recording = self.check_recording()
            sections = self._added_sections()
            statuses = [
                memory["status"],
                database["status"],
                cpu["status"],
                errors["status"],
                recording["status"],
                *(str(section.get("status", "unknown")) for section in sections.values()),
            ]
            report = {
                "timestamp": datetime.fromtimestamp(self.db.clock.time(), UTC).isoformat(),
                "overall_status": overall_status(statuses),
                "memory": memory,
                "database": database,
                "cpu": cpu,
                "error_rate": errors,
                "recording": recording,
                "internal_errors": self.errors.snapshot(),
                "uptime_seconds": round(max(0.0, self.db.clock.time() - self.started_at), 3),
                **sections,
            }
        except Exception as exc:
            self.errors.record("HealthCheck.get_full_health_report", exc)
            _log.exception("monitoring: health report failed")
            report = {
                "timestamp": datetime.fromtimestamp(self.db.clock.time(), UTC).isoformat(),
                "overall_status": "unhealthy",
                "error": f"{type(exc).__name__}: {exc}",
            }
        self.history.append(report)
        return report

    def get_health_history(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The most recent reports, oldest first (at most ``limit``)."""
        items = list(self.history)
        if limit is None:
            return items
        return items[-limit:] if limit > 0 else []
