"""What the operator commands do, apart from parsing and printing.

Each function opens the configured database, does one job through the library's collectors and
returns plain data for the command to print; the command-line layer (:mod:`.app`) only turns
options into arguments and results into text or JSON.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ..clock import Clock
from ..collectors.command_logger import CommandLogger
from ..collectors.health import HealthCheck, overall_status
from ..collectors.performance import PerformanceMonitor
from ..collectors.statistics import PERIODS, StatisticsCollector
from ..config import MonitoringConfig
from ..database import Database
from ..recording.normalize import clean_guild_id
from ..storage.migrations import latest_version
from .errors import OperationFailed, UserError
from .export import COMPONENT_COLUMNS, EVENT_COLUMNS, exporter
from .state import CliState, checked

__all__ = (
    "export_audit_logs",
    "export_rollup_days",
    "forget_user",
    "gather_bot_report",
    "gather_health",
    "gather_report",
    "migrate",
    "prune",
)

_log = logging.getLogger(__name__)

_EXPORT_BATCH = 2000
"""Audit rows read per fetch when exporting."""

HEALTH_NOTE = (
    "Memory, CPU and the recording buffer belong to the bot's process: /health in Discord "
    "shows them."
)


async def gather_report(
    state: CliState, guild_id: str, period: str, clock: Clock | None = None
) -> dict[str, Any]:
    """A guild's statistics report and per-command performance over ``period``.

    Returns ``{"guild_id", "guild_name", "report", "performance"}``; ``performance`` keeps only
    what is stored (``days``, ``total_commands``, ``slowest_commands``, ``stalls``,
    ``components``).
    """
    config = state.config()
    db = state.existing_database(config, clock)
    async with db:
        await db.connect()
        stats = StatisticsCollector(db)
        guild = clean_guild_id(guild_id)
        servers = await checked(db, stats.get_servers())
        known = {server.guild_id: server.guild_name for server in servers}
        if guild not in known:
            listed = ", ".join(f"{gid} ({name})" for gid, name in list(known.items())[:5])
            hint = f"; known guilds: {listed}" if listed else "; the database has no guilds yet"
            raise UserError(f"no data recorded for guild {guild}{hint}")
        days = PERIODS[period]
        report = await checked(db, stats.generate_report(guild, days, period))
        performance = await checked(db, PerformanceMonitor(db).get_performance_stats(guild, days))
    return {
        "guild_id": guild,
        "guild_name": known[guild],
        "report": report,
        "performance": {
            "days": performance["days"],
            "total_commands": performance["total_commands"],
            "slowest_commands": performance["slowest_commands"],
            "stalls": performance["stalls"],
            "components": performance["components"],
        },
    }


async def gather_bot_report(
    state: CliState, period: str, clock: Clock | None = None
) -> dict[str, Any]:
    """The whole bot's statistics, per-command performance and growth over ``period``.

    Returns ``{"scope": "bot", "report", "performance", "growth"}``: ``report`` sums every
    guild (distinct users counted per guild), ``performance`` keeps what is stored (``days``,
    ``total_commands``, ``slowest_commands``, ``components``), ``growth`` is one dict per day (see
    :meth:`~monitoring_cog.StatisticsCollector.get_growth`).
    """
    config = state.config()
    db = state.existing_database(config, clock)
    async with db:
        await db.connect()
        stats = StatisticsCollector(db)
        days = PERIODS[period]
        report = await checked(db, stats.generate_report(None, days, period))
        performance = await checked(db, PerformanceMonitor(db).get_performance_stats(None, days))
        growth = await checked(db, stats.get_growth(days))
    return {
        "scope": "bot",
        "report": report,
        "performance": {
            "days": performance["days"],
            "total_commands": performance["total_commands"],
            "slowest_commands": performance["slowest_commands"],
            "components": performance["components"],
        },
        "growth": growth,
    }


async def gather_health(state: CliState) -> dict[str, Any]:
    """The health the database shows: reachable and quick, and the bot's recent error rate.

    The result has the health report's ``timestamp``, ``overall_status``, ``database`` and
    ``error_rate``, plus ``last_recorded_at`` (when the bot last recorded anything, ISO 8601,
    or ``None``) and a ``note`` on what only the bot itself can report.
    """
    config = state.config()
    db = state.existing_database(config)
    async with db:
        await db.connect()
        check = HealthCheck(db)
        database = await check.check_database()
        errors = await check.check_error_rate()
        servers = await StatisticsCollector(db).get_servers()
        last_seen = max((server.last_seen for server in servers), default=None)
        now = db.clock.time()
    return {
        "timestamp": datetime.fromtimestamp(now, UTC).isoformat(),
        "overall_status": overall_status([database["status"], errors["status"]]),
        "database": database,
        "error_rate": errors,
        "last_recorded_at": (
            datetime.fromtimestamp(last_seen, UTC).isoformat() if last_seen is not None else None
        ),
        "note": HEALTH_NOTE,
    }


async def prune(
    state: CliState,
    older_than: int | None,
    *,
    dry_run: bool = False,
    progress: Callable[[int | None], Callable[[int], None]] | None = None,
) -> tuple[int, int]:
    """Delete audit rows older than ``older_than`` days; return ``(days, rows deleted)``.

    Without ``older_than`` the config's ``[retention] audit_days`` applies. With ``dry_run``
    nothing is deleted and the count is of the rows that would be. ``progress`` is given the
    number of rows to delete and returns the ``advance(n)`` the deletion reports to.
    """
    config = state.config()
    days = older_than if older_than is not None else config.retention.audit_days
    if older_than is None and days == 0:
        raise UserError(
            "retention.audit_days is 0 (keep audit rows forever); pass --older-than DAYS"
        )
    db = state.existing_database(config)
    async with db:
        await db.connect()
        logger = CommandLogger(db)
        due = await checked(db, logger.count_audit_logs(older_than_days=days))
        if dry_run or due == 0:
            return days, due
        advance = progress(due) if progress is not None else None
        deleted = await checked(db, logger.clear_old_logs(days, progress=advance))
    return days, deleted


async def forget_user(state: CliState, user_id: str) -> dict[str, int]:
    """Erase a user's audit rows and per-day activity; return the rows deleted per table."""
    config = state.config()
    db = state.existing_database(config)
    async with db:
        await db.connect()
        deleted = await checked(db, CommandLogger(db).forget_user(user_id))
    if not deleted:
        raise OperationFailed(db.errors.last_error or "forgetting the user failed (see the log)")
    return deleted


async def export_audit_logs(
    state: CliState,
    format_name: str,
    stream: TextIO,
    *,
    since: datetime | None = None,
    progress: Callable[[int | None], Callable[[int], None]] | None = None,
) -> int:
    """Write every audit row from ``since`` on to ``stream``; return how many were written."""
    config = state.config()
    db = state.existing_database(config)
    since_epoch = since.timestamp() if since is not None else None
    async with db:
        await db.connect()
        logger = CommandLogger(db)
        total = await checked(db, logger.count_audit_logs(since=since_epoch))
        advance = progress(total) if progress is not None else None
        writer = exporter(format_name, stream)
        rows = logger.iter_audit_logs(since_epoch, batch_size=_EXPORT_BATCH)
        async with contextlib.aclosing(rows):
            async for entry in rows:
                writer.write(entry)
                # Per batch, not per row: redrawing a bar a million times would cost more than
                # the export.
                if advance is not None and writer.rows % _EXPORT_BATCH == 0:
                    advance(_EXPORT_BATCH)
        writer.close()
        if advance is not None:
            advance(writer.rows % _EXPORT_BATCH)
    return writer.rows


ROLLUP_EXPORTS = {"components": COMPONENT_COLUMNS, "events": EVENT_COLUMNS}
"""What ``export --data`` exports besides the audit log: per-day rows, and their columns."""


async def export_rollup_days(
    state: CliState,
    data: str,
    format_name: str,
    stream: TextIO,
    *,
    since: datetime | None = None,
    progress: Callable[[int | None], Callable[[int], None]] | None = None,
) -> int:
    """Write every per-day ``data`` row (``"components"`` or ``"events"``, see
    :data:`ROLLUP_EXPORTS`) from the UTC day of ``since`` on to ``stream``; return how many
    were written."""
    config = state.config()
    db = state.existing_database(config)
    first = since.astimezone(UTC).date() if since is not None else None
    async with db:
        await db.connect()
        storage = await db.storage()
        advance = progress(None) if progress is not None else None
        writer = exporter(format_name, stream, ROLLUP_EXPORTS[data])
        rows = (
            storage.iter_component_days(since=first, batch_size=_EXPORT_BATCH)
            if data == "components"
            else storage.iter_event_days(since=first, batch_size=_EXPORT_BATCH)
        )
        async with contextlib.aclosing(rows):
            async for entry in rows:
                writer.write(entry)
                if advance is not None and writer.rows % _EXPORT_BATCH == 0:
                    advance(_EXPORT_BATCH)
        writer.close()
        if advance is not None:
            advance(writer.rows % _EXPORT_BATCH)
    return writer.rows


async def migrate(state: CliState) -> tuple[Path | str, int, bool]:
    """Create the database if needed and bring its schema up to date.

    Returns ``(path, schema version, created)``. With a PostgreSQL ``url`` the path is that URL
    (password hidden) and ``created`` is False: the server's database must exist already; its
    tables are created here if missing.
    """
    config: MonitoringConfig = state.config()
    if config.database.url:
        async with Database(config=config) as db:
            version = await db.migrate()
        if version != latest_version("postgresql"):
            raise OperationFailed(f"{db.path}: schema at version {version}, expected the latest")
        return db.path, version, False
    path = state.database_path(config)
    existed = path.exists()
    async with Database(path, config=config) as db:
        version = await db.migrate()
    if version != latest_version("sqlite"):
        raise OperationFailed(f"{path}: schema at version {version}, expected the latest")
    return path, version, not existed
