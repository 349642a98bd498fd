"""Scheduled pruning of old audit rows (``[retention]``), for bots that do not load the cog.

The cog prunes on its own (its ``prune_loop``). Bot code using the library directly starts the
same schedule as a task of its own::

    task = asyncio.create_task(prune_periodically(cmd_logger))
    ...
    task.cancel()

Each prune is :meth:`~monitoring_cog.CommandLogger.clear_old_logs`: audit rows older than
``retention.audit_days`` go in batches of 5000, each its own short transaction on the database's
worker thread, with a turn of the event loop between batches, so the bot never stalls. Rollups, and
so reports, keep their figures. The schedule is a
:class:`~monitoring_cog.collectors.periodic.PeriodicTask` (the cog's own loops are too): prunes
start every ``prune_interval`` on the event loop's monotonic clock, whatever the system clock does,
and one that fails is logged without ending the schedule.
"""

from __future__ import annotations

import asyncio
import logging

from .command_logger import CommandLogger
from .periodic import PeriodicTask

__all__ = ("prune_periodically",)

_log = logging.getLogger(__name__)


async def prune_periodically(
    cmd_logger: CommandLogger,
    *,
    days: int | None = None,
    interval: float | None = None,
    initial_delay: float = 0.0,
) -> None:
    """Prune audit rows older than ``days`` now (after ``initial_delay``), then every ``interval``.

    Runs until cancelled. Returns at once when ``days`` is 0 (audit rows are kept forever).

    Parameters
    ----------
    cmd_logger:
        The audit log to prune.
    days:
        Age in days past which rows go; ``None`` takes ``retention.audit_days`` from the config.
    interval:
        Seconds between prunes; ``None`` takes ``retention.prune_interval``.
    initial_delay:
        Seconds to wait before the first prune.
    """
    retention = cmd_logger.db.config.retention
    keep_days = retention.audit_days if days is None else days
    every = retention.prune_interval if interval is None else interval
    if keep_days < 0 or every <= 0:
        raise ValueError(f"expected days >= 0 and interval > 0, got {keep_days} and {every}")
    if keep_days == 0:
        return

    async def prune() -> None:
        deleted = await cmd_logger.clear_old_logs(keep_days)
        _log.debug("monitoring: scheduled prune removed %d audit rows", deleted)

    async def wait() -> None:
        await asyncio.sleep(initial_delay)

    schedule = PeriodicTask(
        prune,
        seconds=every,
        before=wait if initial_delay > 0 else None,
        name="scheduled prune of audit rows",
    )
    await schedule.run()
