"""What the dashboard reads and writes beyond the reports: shared by both backends.

- :class:`HealthReportRow`: a process's latest health report (table ``health_reports``), written
  at every health check, read by the dashboard's list of processes and by the dashboard run
  without a bot.
- :class:`AuditSearch`: the audit log search's filters and its keyset cursor (the page after
  ``(executed_at, id)``, never an OFFSET).
- :class:`ServerActivity`: a guild's figures over the last 7 and 30 days.
- :class:`CommandDay`: one command's runs and latency buckets on one day, bot-wide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = (
    "HEALTH_COLUMNS",
    "AuditSearch",
    "CommandDay",
    "HealthReportRow",
    "ServerActivity",
    "activity_from_rows",
    "audit_search_clauses",
    "health_row_from_columns",
)


@dataclass(frozen=True, slots=True)
class HealthReportRow:
    """One process's latest health report and the statuses of its last checks."""

    process: str
    """The process's name (``[dashboard] process_name``, else ``host:pid``): the row's key."""
    host: str
    pid: int
    shard_ids: tuple[int, ...]
    status: str
    """The report's overall status."""
    checked_at: float
    """Epoch seconds of the check."""
    check_interval: float
    """Seconds between this process's checks: silent for two of them, it counts as down."""
    report: Mapping[str, Any]
    """The full report, as :meth:`HealthCheck.get_full_health_report` returned it (JSON-able)."""
    timeline: tuple[tuple[float, str], ...] = ()
    """``(at, status)`` of the last checks, oldest first (at most 100)."""

    def columns(self) -> tuple[Any, ...]:
        """The row's values in the order of :data:`HEALTH_COLUMNS`."""
        return (
            self.process,
            self.host,
            self.pid,
            json.dumps(list(self.shard_ids)),
            self.status,
            self.checked_at,
            self.check_interval,
            json.dumps(self.report, default=str),
            json.dumps([list(item) for item in self.timeline]),
        )


HEALTH_COLUMNS = (
    "process, host, pid, shard_ids, status, checked_at, check_interval, report, timeline"
)
"""The ``health_reports`` columns, in the order of :meth:`HealthReportRow.columns`."""


def health_row_from_columns(row: Any) -> HealthReportRow:
    """A :class:`HealthReportRow` from a row selected as :data:`HEALTH_COLUMNS`."""
    try:
        report = json.loads(row[7])
    except ValueError:
        report = {}
    try:
        timeline = tuple((float(at), str(status)) for at, status in json.loads(row[8]))
    except (ValueError, TypeError):
        timeline = ()
    return HealthReportRow(
        process=str(row[0]),
        host=str(row[1]),
        pid=int(row[2]),
        shard_ids=tuple(int(i) for i in json.loads(row[3] or "[]")),
        status=str(row[4]),
        checked_at=float(row[5]),
        check_interval=float(row[6]),
        report=report if isinstance(report, dict) else {},
        timeline=timeline,
    )


@dataclass(frozen=True, slots=True)
class AuditSearch:
    """Filters of the audit log search, and where the page starts. Newest first."""

    guild_id: str | None = None
    user_id: str | None = None
    command: str | None = None
    success: bool | None = None
    """``True`` successes only, ``False`` failures only, ``None`` both."""
    since: float | None = None
    """Rows from this epoch second on (inclusive)."""
    until: float | None = None
    """Rows before this epoch second (exclusive)."""
    after: tuple[float, int] | None = None
    """The ``(executed_at, id)`` of the last row of the previous page: this page is what comes
    after it, newest first."""
    limit: int = 100


def audit_search_clauses(
    search: AuditSearch,
    placeholder: Callable[[int], str],
    outcome: tuple[str, str],
    unindexed: Callable[[str], str] = lambda column: column,
) -> tuple[list[str], list[Any]]:
    """``WHERE`` clauses and their parameters for ``search`` in either dialect.

    ``placeholder(n)`` spells the n-th parameter (1-based): ``?`` for SQLite, ``$n`` for
    PostgreSQL. ``outcome`` is the (successes, failures) condition, spelled as the partial
    indexes of failed commands are (so the planner can use them). ``unindexed(column)`` spells a
    column whose index must not lead the search: with a guild or a user, their own (narrow)
    index is walked, not a command's (a popular command has millions of rows). Values always
    travel as parameters, never in the SQL text.
    """
    clauses: list[str] = []
    params: list[Any] = []

    def add(sql: str, *values: Any) -> None:
        marks = []
        for value in values:
            params.append(value)
            marks.append(placeholder(len(params)))
        clauses.append(sql.format(*marks))

    narrow = search.guild_id is not None or search.user_id is not None
    if search.guild_id is not None:
        column = unindexed("guild_id") if search.user_id is not None else "guild_id"
        add(column + " = {}", search.guild_id)
    if search.user_id is not None:
        add("user_id = {}", search.user_id)
    if search.command is not None:
        add((unindexed("command") if narrow else "command") + " = {}", search.command)
    if search.success is not None:
        clauses.append(outcome[0] if search.success else outcome[1])
    if search.since is not None:
        add("executed_at >= {}", float(search.since))
    if search.until is not None:
        add("executed_at < {}", float(search.until))
    if search.after is not None:
        at, row_id = search.after
        # Row comparison: one range on the index's (executed_at, id) order.
        add("(executed_at, id) < ({}, {})", float(at), int(row_id))
    return clauses, params


@dataclass(frozen=True, slots=True)
class ServerActivity:
    """A registered guild and its figures over the last 7 and 30 days (today included)."""

    guild_id: str
    guild_name: str | None
    last_seen: float
    commands_7d: int = 0
    users_7d: int = 0
    failures_7d: int = 0
    commands_30d: int = 0
    users_30d: int = 0
    failures_30d: int = 0


@dataclass(frozen=True, slots=True)
class CommandDay:
    """One command's runs on one day, every guild together, with its latency buckets."""

    command: str
    day: date
    runs: int
    buckets: Mapping[int, int] = field(default_factory=dict)


def activity_from_rows(server: Any, totals: Any, users: Any) -> ServerActivity:
    """A :class:`ServerActivity` from a ``servers`` row (id, name, last seen), its ``bot_stats``
    sums (guild, 30-day commands and failures, 7-day commands and failures) and its distinct users
    (guild, 30 days, 7 days); either sum may be missing."""
    return ServerActivity(
        guild_id=str(server[0]),
        guild_name=server[1],
        last_seen=float(server[2]),
        commands_30d=int(totals[1]) if totals else 0,
        failures_30d=int(totals[2]) if totals else 0,
        commands_7d=int(totals[3]) if totals else 0,
        failures_7d=int(totals[4]) if totals else 0,
        users_30d=int(users[1]) if users else 0,
        users_7d=int(users[2]) if users else 0,
    )
