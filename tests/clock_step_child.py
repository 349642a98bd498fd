"""A bot process for ``test_cog_clock_steps.py``: its system clock is stepped while the cog runs.

Run as ``python clock_step_child.py DATABASE STEP`` under libfaketime, with
``FAKETIME_TIMESTAMP_FILE`` naming a file that holds ``+0`` and ``FAKETIME_NO_CACHE=1`` (the file
is read at every clock reading), ``FAKETIME_DONT_FAKE_MONOTONIC=1`` (monotonic time runs
normally). Everything in this process that reads the wall clock (``time.time``,
``datetime.now``, so ``discord.utils.utcnow`` too) then reads the real time plus the offset the
file holds.

The bot (discord.py, dpytest standing in for Discord's gateway) is ready and loads the cog with
its health check every :data:`INTERVAL` seconds and its prune of audit rows every
:data:`INTERVAL` seconds, recording into DATABASE (a URL or a SQLite path; the test gives a
PostgreSQL database, see there why). It lets them run :data:`SETTLE` seconds,
writes STEP (``-3600``: an hour back, ``+86400``: a day forward) into the timestamp file, lets
them run :data:`AFTER` seconds more (``asyncio.sleep``: monotonic), and prints one JSON line:

``{"interval", "after", "wall_jump", "health": [...], "prune": [...], "stepped_at"}``: the wall
clock's jump as this process saw it, and the event loop (monotonic) time of every health check
and every prune, counted where the loops call into the library.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
from discord.ext import commands

from monitoring_cog import Database, MonitoringConfig
from monitoring_cog.cog import MonitoringCog
from monitoring_cog.config import HealthConfig, RetentionConfig

INTERVAL = 0.2
"""Seconds between health checks and between prunes."""
SETTLE = 1.0
"""Seconds the loops run before the step."""
AFTER = 2.0
"""Seconds they run after it."""


def spy(owner: Any, name: str, times: list[float]) -> None:
    """Note the loop time of every call of ``owner.name`` (which still runs as before)."""
    real = getattr(owner, name)

    async def noted(*args: Any, **kwargs: Any) -> Any:
        times.append(asyncio.get_running_loop().time())
        return await real(*args, **kwargs)

    setattr(owner, name, noted)


def _step_wall_clock(step: str) -> None:
    """Tell libfaketime the wall clock's new offset (it reads the file at each clock call)."""
    Path(os.environ["FAKETIME_TIMESTAMP_FILE"]).write_text(f"{step}\n", "utf-8")


async def main(database: str, step: str) -> None:
    loop = asyncio.get_running_loop()
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.all())
    await bot._async_setup_hook()
    dpytest.configure(bot)
    bot._ready.set()
    config = dataclasses.replace(
        MonitoringConfig(),
        health=HealthConfig(check_interval=INTERVAL),
        retention=RetentionConfig(audit_days=30, prune_interval=INTERVAL),
    )
    cog = MonitoringCog(bot, db=Database(database, config=config))
    health: list[float] = []
    prune: list[float] = []
    spy(cog.system.health_check, "get_full_health_report", health)
    spy(cog.system.cmd_logger, "clear_old_logs", prune)
    await bot.add_cog(cog)

    await asyncio.sleep(SETTLE)
    wall_before, stepped_at = time.time(), loop.time()
    # Written in line, blocking: the step happens between these two clock readings.
    _step_wall_clock(step)
    wall_jump = time.time() - wall_before
    await asyncio.sleep(AFTER)

    result = {
        "interval": INTERVAL,
        "after": AFTER,
        "wall_jump": wall_jump,
        "health": list(health),  # As they are now: unloading below may add one.
        "prune": list(prune),
        "stepped_at": stepped_at,
    }
    await bot.remove_cog("Monitoring")
    await cog.db.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
