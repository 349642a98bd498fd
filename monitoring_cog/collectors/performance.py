"""``PerformanceMonitor``: timing, slow-operation warnings, bottlenecks and latency statistics.

Two sources, two purposes:

- In memory, the last 1000 durations of each metric (``command:<name>``, ``voice_connect``,
  ``response:<name>``) fed by the ``track_*`` context managers. They drive slow warnings and
  :meth:`PerformanceMonitor.get_bottlenecks`, and vanish on restart.
- Persisted, the per-command latency rollups written by the audit log (``log_command`` and the
  cog). :meth:`PerformanceMonitor.get_performance_stats` reads those, so it survives a restart.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, time
from types import TracebackType
from typing import Any

from ..analysis.reports import build_performance_stats, component_performance, period_days
from ..analysis.stalls import stalls_by_command
from ..clock import utc_day
from ..database import Database
from ..recording.normalize import clean_guild_id
from .safe import safe_execute

__all__ = ("MAX_ENTRIES_PER_METRIC", "PerformanceMonitor", "Timer")

_log = logging.getLogger(__name__)

MAX_ENTRIES_PER_METRIC = 1000
"""Durations kept in memory per metric; older ones fall off."""

_KIND_THRESHOLD = {
    "command": "command_slow",
    "voice_connect": "voice_connect_slow",
    "response": "response_slow",
}


class Timer:
    """Async (and sync) context manager that times its block and reports it to the monitor.

    The block's exception, if any, propagates unchanged; the duration is recorded either way.
    After the block, :attr:`duration` holds the seconds it took.
    """

    __slots__ = ("_kind", "_monitor", "_name", "_start", "context", "duration")

    def __init__(
        self,
        monitor: PerformanceMonitor,
        kind: str,
        name: str,
        context: dict[str, str] | None = None,
    ) -> None:
        self._monitor = monitor
        self._kind = kind
        self._name = name
        self._start = 0.0
        self.context = context
        self.duration: float | None = None

    def __enter__(self) -> Timer:
        self._start = self._monitor.db.clock.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.duration = max(0.0, self._monitor.db.clock.monotonic() - self._start)
        self._monitor.record_metric(
            self._kind, self._name, self.duration, failed=exc_type is not None, context=self.context
        )

    async def __aenter__(self) -> Timer:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class PerformanceMonitor:
    """Times commands, voice connects and responses against :attr:`thresholds`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.errors = db.errors
        configured = db.config.thresholds
        self.thresholds: dict[str, float] = {
            "command_slow": configured.command_slow,
            "voice_connect_slow": configured.voice_connect_slow,
            "response_slow": configured.response_slow,
        }
        """Seconds past which an operation is slow; change entries to retune at run time."""
        self.metrics: dict[str, deque[float]] = {}
        """Recent durations per metric, at most :data:`MAX_ENTRIES_PER_METRIC` each."""
        self.slow_counts: dict[str, int] = {}
        self.failure_counts: dict[str, int] = {}
        self._command_keys: dict[str, str] = {}

    def track_command(
        self, command: str, guild_id: str | int | None = None, user_id: str | int | None = None
    ) -> Timer:
        """Time a command's block: ``async with perf_monitor.track_command("play", g, u):``.

        Logs a warning past ``thresholds["command_slow"]``. Writes no audit row: log the
        command with :meth:`CommandLogger.log_command` (the cog does both automatically).
        """
        context = {"guild_id": str(guild_id), "user_id": str(user_id)}
        return Timer(self, "command", str(command), context)

    def track_voice_connect(self, guild_id: str | int | None = None) -> Timer:
        """Time a voice connection against ``thresholds["voice_connect_slow"]``."""
        return Timer(self, "voice_connect", "voice_connect", {"guild_id": str(guild_id)})

    def track_response(self, name: str = "response") -> Timer:
        """Time a response (e.g. an API call or a reply) against ``thresholds["response_slow"]``."""
        return Timer(self, "response", str(name))

    def record_metric(
        self,
        kind: str,
        name: str,
        duration: float,
        *,
        failed: bool = False,
        context: dict[str, str] | None = None,
    ) -> None:
        """Add a measured duration (seconds) to the in-memory metric ``kind:name``. Never raises."""
        try:
            key = name if kind == name else f"{kind}:{name}"
            try:
                seconds = float(duration)
            except (TypeError, ValueError, OverflowError):
                seconds = math.nan  # Not a duration at all: rejected like NaN, not an error.
            if not math.isfinite(seconds) or seconds < 0:
                self.errors.rejected_inputs += 1
                return
            values = self.metrics.get(key)
            if values is None:
                values = self.metrics[key] = deque(maxlen=MAX_ENTRIES_PER_METRIC)
            values.append(seconds)
            if failed:
                self.failure_counts[key] = self.failure_counts.get(key, 0) + 1
            threshold = self.thresholds.get(_KIND_THRESHOLD.get(kind, ""), math.inf)
            if seconds > threshold:
                self.slow_counts[key] = self.slow_counts.get(key, 0) + 1
                _log.warning(
                    "monitoring: slow %s %s took %.3fs (threshold %.3fs) %s",
                    kind,
                    name,
                    seconds,
                    threshold,
                    self._loggable(context),
                )
        except Exception as exc:
            self.errors.record("PerformanceMonitor.record_metric", exc)
            _log.exception("monitoring: record_metric failed")

    def record_command(self, name: str, duration: float, failed: bool = False) -> None:
        """``record_metric("command", name, duration, failed=failed)`` for a command timed here.

        The cog's auditor calls this for every command: ``duration`` is a finite, non-negative
        float it measured itself, so the checks :meth:`record_metric` makes of a caller's value
        are skipped, and the metric's key is made once per command name.
        """
        key = self._command_keys.get(name)
        if key is None:
            if len(self._command_keys) >= _COMMAND_KEYS_KEPT:
                self._command_keys.clear()
            key = self._command_keys[name] = f"command:{name}"
        values = self.metrics.get(key)
        if values is None:
            values = self.metrics[key] = deque(maxlen=MAX_ENTRIES_PER_METRIC)
        values.append(duration)
        if failed:
            self.failure_counts[key] = self.failure_counts.get(key, 0) + 1
        threshold = self.thresholds["command_slow"]
        if duration > threshold:
            self.slow_counts[key] = self.slow_counts.get(key, 0) + 1
            _log.warning(
                "monitoring: slow command %s took %.3fs (threshold %.3fs)",
                name,
                duration,
                threshold,
            )

    def _loggable(self, context: dict[str, str] | None) -> dict[str, str] | str:
        """``context`` for a log line: with user ids hashed, the user's pseudonym, not the id."""
        if not context:
            return ""
        user = context.get("user_id")
        if user is None or not self.db.privacy.hashes_user_ids:
            return context
        return {**context, "user_id": self.db.privacy.user_id(user)}

    def _threshold_of(self, key: str) -> float:
        kind = key.split(":", 1)[0]
        return self.thresholds.get(_KIND_THRESHOLD.get(kind, ""), math.inf)

    def _summaries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for key, values in list(self.metrics.items()):
            if not values:
                continue
            ordered = sorted(values)
            count = len(ordered)
            yield (
                key,
                {
                    "count": count,
                    "avg_duration": sum(ordered) / count,
                    "min_duration": ordered[0],
                    "max_duration": ordered[-1],
                    "p50": _nearest_rank(ordered, 0.50),
                    "p95": _nearest_rank(ordered, 0.95),
                    "p99": _nearest_rank(ordered, 0.99),
                    "slow": self.slow_counts.get(key, 0),
                    "failures": self.failure_counts.get(key, 0),
                    "threshold": self._threshold_of(key),
                },
            )

    def get_metrics(self) -> dict[str, dict[str, Any]]:
        """Summary of each in-memory metric: count, avg/min/max, p50/p95/p99, slow count."""
        return dict(self._summaries())

    def get_bottlenecks(self) -> list[dict[str, Any]]:
        """Metrics whose recent durations breach their threshold.

        Rule: a metric is a bottleneck when the 95th percentile of its recent durations exceeds
        its threshold. Severity is ``high`` when the median exceeds it too (typical runs are
        slow), ``medium`` when only the tail does. Highest severity first, then slowest p95.
        """
        found = []
        for key, summary in self._summaries():
            threshold = summary["threshold"]
            if summary["p95"] <= threshold:
                continue
            found.append(
                {
                    "metric": key,
                    "severity": "high" if summary["p50"] > threshold else "medium",
                    "count": summary["count"],
                    "p50": summary["p50"],
                    "p95": summary["p95"],
                    "avg_duration": summary["avg_duration"],
                    "threshold": threshold,
                }
            )
        found.sort(key=lambda b: (b["severity"] != "high", -b["p95"]))
        return found

    def cache_metrics(self) -> dict[str, Any]:
        """What the in-memory buffers hold: per metric entry counts, totals and the bound."""
        entries = {key: len(values) for key, values in self.metrics.items()}
        return {
            "metric_types": len(entries),
            "total_entries": sum(entries.values()),
            "max_entries_per_type": MAX_ENTRIES_PER_METRIC,
            "entries": entries,
            "recording": self.db.recorder.stats(),
        }

    def clear_metrics(self) -> None:
        """Forget the in-memory durations and counts (persisted statistics stay)."""
        self.metrics.clear()
        self.slow_counts.clear()
        self.failure_counts.clear()

    @safe_execute(default_factory=dict)
    async def get_performance_stats(
        self, guild_id: str | int | None = None, days: int = 7
    ) -> dict[str, Any]:
        """Performance Stats over the ``days`` UTC days ending today, from persisted rollups.

        ``slowest_commands`` lists every audited command, slowest average first, with
        ``avg_duration``, ``min_duration``, ``max_duration``, ``count``, ``p50``, ``p95``,
        ``p99``, ``failures``, ``error_rate`` and ``stalls`` (event-loop stalls while it ran).
        ``cache_metrics`` describes the in-memory buffers, ``bottlenecks`` lists the current
        ones. ``components`` lists the message components used (buttons, selects, modals),
        most used first: ``component``, ``kind``, ``uses``, ``failures``, ``users``,
        ``avg_ms``, ``max_ms`` and ``error_rate``. ``stalls`` lists the event-loop stalls per
        command (see
        :func:`~monitoring_cog.analysis.stalls.stalls_by_command`; within ``[retention]
        audit_days``, as the stalls are kept that long). ``guild_id`` None covers all guilds
        (and the stalls outside any command, under ``command`` ``None``). Returns ``{}`` on
        error.
        """
        return await self.fetch_performance_stats(guild_id, days)

    async def fetch_performance_stats(
        self, guild_id: str | int | None = None, days: int = 7
    ) -> dict[str, Any]:
        """As :meth:`get_performance_stats`, but raises what went wrong instead of returning ``{}``.

        Raises
        ------
        DatabaseUnavailable
            The database cannot be opened or read.
        ValueError
            ``days`` is below 1.
        """
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        await self.db.flush()
        storage = await self.db.storage()
        first, last = period_days(utc_day(self.db.clock.time()), days)
        guild = None if guild_id is None else clean_guild_id(guild_id)
        commands = await storage.command_totals(guild, first, last, with_buckets=True)
        stats = build_performance_stats(days, commands, self.cache_metrics())
        stats["bottlenecks"] = self.get_bottlenecks()
        since = datetime.combine(first, time.min, UTC).timestamp()
        stalls = await storage.loop_stalls(since=since, guild_id=guild, limit=STALLS_READ)
        by_command = stalls_by_command(stalls)
        counts = {entry["command"]: entry["count"] for entry in by_command}
        for entry in stats["slowest_commands"]:
            entry["stalls"] = counts.get(entry["command"], 0)
        stats["stalls"] = by_command
        stats["components"] = component_performance(
            await storage.component_totals(guild, first, last)
        )
        return stats


STALLS_READ = 10_000
"""Stalls read at most for one report (the most recent): a bot that stalls more than that in
the period has its figures from the latest ones."""
_COMMAND_KEYS_KEPT = 4096
"""Command names whose metric key :meth:`PerformanceMonitor.record_command` keeps made."""


def _nearest_rank(ordered: list[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
