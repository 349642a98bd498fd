"""monitoring_cog: drop-in monitoring for discord.py bots.

Command audit log, daily statistics, latency percentiles and health checks, recorded without
slowing the bot down (records are buffered and written in batches by one background task).

Quick start::

    from monitoring_cog import Database, create_monitoring_system

    db = Database("data/bot.db")
    cmd_logger, perf_monitor, stats_collector, health_check = create_monitoring_system(db)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .clock import Clock, ManualClock, SystemClock
from .collectors.command_logger import CommandLogger
from .collectors.health import HealthCheck
from .collectors.helpers import (
    clear_old_audit_logs,
    get_health_report,
    get_performance_stats,
    get_statistics_report,
    log_command_execution,
    record_event,
)
from .collectors.performance import PerformanceMonitor
from .collectors.safe import safe_execute
from .collectors.statistics import StatisticsCollector
from .collectors.system import (
    MonitoringSystem,
    create_monitoring_system,
    get_current_system,
    set_current_system,
)
from .config import MonitoringConfig, load_config
from .database import Database
from .errors import (
    ConfigError,
    DatabaseUnavailable,
    EventNameError,
    EventValueError,
    InvalidEventError,
    MonitoringError,
    SchemaError,
)
from .recording.records import DM_GUILD_ID

__all__ = (
    "DM_GUILD_ID",
    "Clock",
    "CommandLogger",
    "ConfigError",
    "Database",
    "DatabaseUnavailable",
    "EventNameError",
    "EventValueError",
    "HealthCheck",
    "InvalidEventError",
    "ManualClock",
    "MonitoringCog",
    "MonitoringConfig",
    "MonitoringError",
    "MonitoringSystem",
    "PerformanceMonitor",
    "SchemaError",
    "StatisticsCollector",
    "SystemClock",
    "clear_old_audit_logs",
    "create_monitoring_system",
    "get_current_system",
    "get_health_report",
    "get_performance_stats",
    "get_statistics_report",
    "load_config",
    "log_command_execution",
    "record_event",
    "safe_execute",
    "set_current_system",
    "setup",
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from discord.ext import commands

    from .cog import MonitoringCog


async def setup(bot: commands.Bot) -> None:
    """Extension entry point: ``await bot.load_extension("monitoring_cog")`` adds the cog."""
    from .cog import setup as cog_setup

    await cog_setup(bot)


def __getattr__(name: str) -> Any:
    # The cog imports discord.py; keep that cost off plain library use until it is asked for.
    if name == "MonitoringCog":
        from .cog import MonitoringCog

        return MonitoringCog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


logging.getLogger(__name__).addHandler(logging.NullHandler())
