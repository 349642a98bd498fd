"""Helper functions that need no class initialisation.

Each uses the current monitoring system: the one most recently created by
:func:`~monitoring_cog.create_monitoring_system` (or installed by the loaded cog); with neither,
a default system on the configured database path.
"""

from __future__ import annotations

import logging
from typing import Any

from ..recording.event_names import check_event_name, check_event_value
from .safe import safe_execute
from .statistics import PERIODS
from .system import get_current_system

__all__ = (
    "clear_old_audit_logs",
    "get_health_report",
    "get_performance_stats",
    "get_statistics_report",
    "log_command_execution",
    "record_event",
)

_log = logging.getLogger(__name__)


@safe_execute(default=False)
async def log_command_execution(
    guild_id: str | int | None,
    guild_name: str | None,
    user_id: str | int | None,
    username: str | None,
    command: str,
    duration: float = 0.0,
    success: bool = True,
    details: dict[str, Any] | None = None,
    error_message: str | None = None,
) -> bool:
    """Log a command to the audit log; ``details`` are its parameters. ``True`` if queued."""
    system = get_current_system()
    return await system.cmd_logger.log_command(
        guild_id=guild_id,
        guild_name=guild_name,
        user_id=user_id,
        username=username,
        command=command,
        parameters=details,
        duration=duration,
        success=success,
        error_message=error_message,
    )


async def record_event(
    guild_id: str | int | None,
    name: str,
    value: float = 1,
    user_id: str | int | None = None,
) -> bool:
    """Count a custom event (see :meth:`StatisticsCollector.record_event
    <monitoring_cog.StatisticsCollector.record_event>`); ``True`` if queued.

    Raises :class:`~monitoring_cog.errors.EventNameError` or
    :class:`~monitoring_cog.errors.EventValueError` for a name or value that breaks the rules;
    anything else is counted, never raised.
    """
    check_event_name(name)
    number = check_event_value(name, value)
    return await _queue_event(guild_id, name, number, user_id)


@safe_execute(default=False)
async def _queue_event(
    guild_id: str | int | None, name: str, value: float, user_id: str | int | None
) -> bool:
    return await get_current_system().stats_collector.record_event(guild_id, name, value, user_id)


@safe_execute(default_factory=dict)
async def get_performance_stats(guild_id: str | int | None = None, days: int = 7) -> dict[str, Any]:
    """Performance Stats for a guild (``None``: all guilds) over the last ``days`` days."""
    return await get_current_system().perf_monitor.get_performance_stats(guild_id, days)


@safe_execute(default_factory=dict)
async def get_health_report(guild_id: str | int | None = None) -> dict[str, Any]:
    """The full Health Report."""
    return await get_current_system().health_check.get_full_health_report(guild_id)


@safe_execute(default_factory=dict)
async def get_statistics_report(
    guild_id: str | int | None, period: str = "weekly"
) -> dict[str, Any]:
    """The ``"weekly"``, ``"monthly"`` or ``"daily"`` report for a guild (``{}`` otherwise)."""
    days = PERIODS.get(period)
    if days is None:
        _log.warning(
            "monitoring: unknown report period %r; expected one of %s", period, ", ".join(PERIODS)
        )
        get_current_system().db.errors.rejected_inputs += 1
        return {}
    return await get_current_system().stats_collector.generate_report(guild_id, days, period)


@safe_execute(default=0)
async def clear_old_audit_logs(days: int = 30) -> int:
    """Delete audit rows older than ``days`` days (reports are kept); return how many went."""
    return await get_current_system().cmd_logger.clear_old_logs(days)
