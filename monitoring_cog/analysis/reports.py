"""Report maths: pure functions from rollup rows to the quick reference's report dicts.

Nothing here touches the database, so the cog, the command line and the tests share one
definition of every figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from .latency import percentiles
from .totals import CommandTotals, ComponentTotals, DayTotals, EventTotals

__all__ = (
    "TOP_COMMANDS",
    "TOP_COMPONENTS",
    "TOP_EVENTS",
    "build_daily_stats",
    "build_performance_stats",
    "build_report",
    "component_entries",
    "component_performance",
    "period_days",
)

TOP_COMMANDS = 10
"""Entries in a report's ``top_commands``."""
TOP_COMPONENTS = 10
"""Entries in a report's ``top_components``."""
TOP_EVENTS = 10
"""Entries in a report's ``top_events``."""


def period_days(today: date, days: int) -> tuple[date, date]:
    """The first and last UTC day of the ``days``-day period ending ``today`` (inclusive)."""
    return today - timedelta(days=days - 1), today


def _ratio(part: float, whole: float) -> float:
    return min(1.0, max(0.0, part / whole)) if whole > 0 else 0.0


def build_report(
    period: str,
    days: int,
    today: date,
    totals: Sequence[DayTotals],
    commands: Sequence[CommandTotals],
    components: Sequence[ComponentTotals] = (),
    events: Sequence[EventTotals] = (),
) -> dict[str, Any]:
    """A Weekly/Monthly Report dict.

    Definitions:

    - ``active_days``: days in the period with any recorded activity.
    - ``avg_daily_users``: distinct users per day, averaged over the days that had any
      identified user; ``peak_users``: the highest distinct-user count of a single day.
    - ``skip_rate``: skips / songs played, in [0, 1] (0 with no songs).
    - ``error_rate``: failed / total commands (audited and ``record_command``), in [0, 1].
    - ``top_commands``: ``{"command", "count"}``, most used first (ties by name), at most 10.
    - ``daily``: one entry per day of the period, oldest first, zeros included (for charts).
    - ``top_components``: message components (buttons, selects, modals), never counted among
      the commands: ``{"component", "kind", "uses", "failures", "users", "avg_ms"}``, most used
      first (ties by component, then kind), at most 10. ``users`` are distinct over the period;
      ``avg_ms`` is the average duration in milliseconds, to 0.1.
    - ``top_events``: custom events, ``{"name", "count", "total", "users"}``: ``count``
      occurrences, ``total`` the sum of their values, ``users`` distinct users over the period
      (of the occurrences recorded with one); most frequent first (ties by name), at most 10.
    """
    first, last = period_days(today, days)
    by_day = {t.day: t for t in totals if first <= t.day <= last}
    active = [
        t
        for t in by_day.values()
        if t.songs_played or t.skips or t.pauses or t.commands or t.unique_users
    ]
    songs = sum(t.songs_played for t in by_day.values())
    playtime = sum(t.playtime for t in by_day.values())
    skips = sum(t.skips for t in by_day.values())
    total_commands = sum(t.commands for t in by_day.values())
    failed = sum(t.failed_commands for t in by_day.values())
    user_counts = [t.unique_users for t in active if t.unique_users > 0]
    daily = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        t = by_day.get(day) or DayTotals(day=day)
        daily.append(
            {
                "date": day.isoformat(),
                "songs": t.songs_played,
                "playtime": round(t.playtime),
                "skips": t.skips,
                "pauses": t.pauses,
                "commands": t.commands,
                "users": t.unique_users,
            }
        )
    return {
        "period": period,
        "days": days,
        "start_date": first.isoformat(),
        "end_date": last.isoformat(),
        "active_days": len(active),
        "total_songs": songs,
        "total_playtime": round(playtime),
        "total_playtime_hours": round(playtime / 3600, 2),
        "total_skips": skips,
        "total_pauses": sum(t.pauses for t in by_day.values()),
        "total_commands": total_commands,
        "failed_commands": failed,
        "error_rate": _ratio(failed, total_commands),
        "avg_daily_users": round(sum(user_counts) / len(user_counts), 2) if user_counts else 0.0,
        "peak_users": max(user_counts, default=0),
        "avg_song_duration": round(playtime / songs, 2) if songs else 0.0,
        "skip_rate": _ratio(skips, songs),
        "top_commands": [
            {"command": c.command, "count": c.count}
            for c in sorted(commands, key=lambda c: (-c.count, c.command))[:TOP_COMMANDS]
        ],
        "daily": daily,
        "top_components": component_entries(components)[:TOP_COMPONENTS],
        "top_events": [
            {"name": e.name, "count": e.count, "total": e.total, "users": e.users}
            for e in sorted(events, key=lambda e: (-e.count, e.name))[:TOP_EVENTS]
        ],
    }


def component_entries(components: Sequence[ComponentTotals]) -> list[dict[str, Any]]:
    """Report entries of ``components`` (see :func:`build_report`), most used first."""
    return [
        {
            "component": c.component,
            "kind": c.kind,
            "uses": c.uses,
            "failures": c.failures,
            "users": c.users,
            "avg_ms": round(c.duration_sum / c.uses * 1000, 1) if c.uses else 0.0,
        }
        for c in sorted(components, key=lambda c: (-c.uses, c.component, c.kind))
        if c.uses > 0
    ]


def component_performance(components: Sequence[ComponentTotals]) -> list[dict[str, Any]]:
    """``/stats performance``'s components: :func:`component_entries` with ``max_ms`` and
    ``error_rate`` (failures / uses)."""
    by_key = {(c.component, c.kind): c for c in components}
    entries = component_entries(components)
    for entry in entries:
        c = by_key[(entry["component"], entry["kind"])]
        entry["max_ms"] = round(c.duration_max * 1000, 1)
        entry["error_rate"] = _ratio(c.failures, c.uses)
    return entries


def build_daily_stats(day: date, totals: DayTotals | None) -> dict[str, Any]:
    """One day's figures (``get_daily_stats``)."""
    t = totals or DayTotals(day=day)
    return {
        "date": day.isoformat(),
        "songs_played": t.songs_played,
        "total_playtime": round(t.playtime),
        "skips": t.skips,
        "pauses": t.pauses,
        "commands": t.commands,
        "failed_commands": t.failed_commands,
        "unique_users": t.unique_users,
    }


def build_performance_stats(
    days: int, commands: Sequence[CommandTotals], cache_metrics: dict[str, Any]
) -> dict[str, Any]:
    """The Performance Stats dict: every command's latency, slowest (by average) first.

    Each entry has the quick reference's ``avg_duration``, ``min_duration``, ``max_duration`` and
    ``count``, plus ``p50``, ``p95``, ``p99`` (from the latency histogram, within about 4.5 %),
    ``failures`` and ``error_rate``.
    """
    entries: list[dict[str, Any]] = []
    for c in commands:
        if c.count <= 0:
            continue
        entries.append(
            {
                "command": c.command,
                "avg_duration": c.duration_sum / c.count,
                "min_duration": c.duration_min,
                "max_duration": c.duration_max,
                "count": c.count,
                **percentiles(c.buckets, low=c.duration_min, high=c.duration_max),
                "failures": c.failures,
                "error_rate": _ratio(c.failures, c.count),
            }
        )
    entries.sort(key=lambda e: (-e["avg_duration"], e["command"]))
    return {
        "days": days,
        "total_commands": sum(e["count"] for e in entries),
        "slowest_commands": entries,
        "cache_metrics": cache_metrics,
    }
