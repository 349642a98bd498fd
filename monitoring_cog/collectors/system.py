"""Assembling the four collectors, and the "current" system the helper functions use."""

from __future__ import annotations

import logging
import sys
import types
from typing import Any, NamedTuple

from ..clock import Clock
from ..config import MonitoringConfig
from ..database import Database
from .command_logger import CommandLogger
from .health import HealthCheck, ProcessSampler
from .performance import PerformanceMonitor
from .statistics import StatisticsCollector

__all__ = (
    "MonitoringSystem",
    "create_monitoring_system",
    "get_current_system",
    "peek_current_system",
    "set_current_system",
)

_log = logging.getLogger(__name__)


class MonitoringSystem(NamedTuple):
    """The four collectors over one database; unpacks like the quick reference's tuple."""

    cmd_logger: CommandLogger
    perf_monitor: PerformanceMonitor
    stats_collector: StatisticsCollector
    health_check: HealthCheck

    @property
    def db(self) -> Database:
        """The database the collectors share."""
        return self.cmd_logger.db


_STATE_MODULE = "monitoring_cog_state"


def _state() -> dict[str, Any]:
    """Where the current system is kept, out of reach of extension reloads.

    ``bot.reload_extension("monitoring_cog")`` drops every ``monitoring_cog.*`` module and imports
    them afresh, while bot code keeps the helper functions it imported before. Keeping the
    current system in a module of its own name lets old and new helpers see the same one.
    """
    state = sys.modules.get(_STATE_MODULE)
    if state is None:
        state = types.ModuleType(_STATE_MODULE, "monitoring_cog's current monitoring system.")
        sys.modules[_STATE_MODULE] = state
    return vars(state)


def create_monitoring_system(
    db: Database | None = None, *, process: ProcessSampler | None = None, make_current: bool = True
) -> MonitoringSystem:
    """Create ``(cmd_logger, perf_monitor, stats_collector, health_check)`` over ``db``.

    Parameters
    ----------
    db:
        The database; ``None`` opens the configured one (see :class:`Database`).
    process:
        Process sampler for the health check (tests inject one); defaults to this process.
    make_current:
        Make this the system the helper functions (``log_command_execution`` and friends) use.
    """
    database = db if db is not None else Database()
    system = MonitoringSystem(
        CommandLogger(database),
        PerformanceMonitor(database),
        StatisticsCollector(database),
        HealthCheck(database, process=process),
    )
    if make_current:
        _state()["current"] = system
    return system


def set_current_system(system: MonitoringSystem | None) -> None:
    """Make ``system`` the one the helper functions use (``None`` to forget it)."""
    _state()["current"] = system


def peek_current_system() -> MonitoringSystem | None:
    """The current system, or ``None``; unlike :func:`get_current_system` it never creates one."""
    current: MonitoringSystem | None = _state().get("current")
    return current


def get_current_system(
    *, config: MonitoringConfig | None = None, clock: Clock | None = None
) -> MonitoringSystem:
    """The system the helpers use: the latest created, else a default on the configured path."""
    state = _state()
    current: MonitoringSystem | None = state.get("current")
    if current is None or current.db.closed:
        if current is None:
            _log.info("monitoring: no monitoring system yet; opening the configured database")
        else:
            _log.warning(
                "monitoring: the current monitoring system's database (%s) is closed; "
                "opening the configured database instead",
                current.db.path,
            )
        current = create_monitoring_system(Database(config=config, clock=clock))
    return current
