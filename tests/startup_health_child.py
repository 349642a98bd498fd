"""A bot process for ``test_startup_health.py``: loads the real extension, probes are external.

Run as ``python startup_health_child.py FOLDER WHEN``. The bot (discord.py, with dpytest standing
in for Discord's gateway) loads ``monitoring_cog`` with ``bot.load_extension``, configured by a
file it writes in FOLDER: the SQLite database there, ``/metrics`` and ``/healthz`` on a free port,
health alerts to the bot's text channel, every other key at its default. The health check samples
this very process with psutil. WHEN says when the extension loads:

- ``start``: before the bot is ready, as ``setup_hook`` does; the bot becomes ready after;
- ``ready``: into a bot that is already ready (a ``load_extension`` while it runs).

Once the first health check has run, it prints one JSON line, ``{"port", "report"}`` (that
check's report), and waits for a line on stdin: the test probes ``/healthz`` meanwhile. Then it
prints ``{"alerts": [titles of the alert embeds posted]}``, unloads the extension and exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
from discord.ext import commands

POLLS = 3000
"""Polls 10 ms apart for the first health check (30 s: a hang guard, not a measurement)."""


async def first_report(bot: commands.Bot) -> dict[str, Any]:
    history = bot.get_cog("Monitoring").system.health_check.history  # type: ignore[union-attr]
    for _ in range(POLLS):
        if history:
            report: dict[str, Any] = history[0]
            return report
        await asyncio.sleep(0.01)
    raise TimeoutError("no health check ran")


async def main(folder: Path, when: str) -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.all())
    await bot._async_setup_hook()
    dpytest.configure(bot)
    channel = dpytest.get_config().channels[0]
    config = folder / "monitoring.toml"
    config.write_text(
        f'[database]\npath = "{(folder / "bot.db").as_posix()}"\n'
        f"[cog]\nalert_channel_id = {channel.id}\n"
        "[metrics]\nenabled = true\nport = 0\n",
        "utf-8",
    )
    os.environ["MONITORING_CONFIG"] = str(config)

    if when == "ready":
        bot._ready.set()
        await bot.load_extension("monitoring_cog")
    else:
        await bot.load_extension("monitoring_cog")
        bot._ready.set()

    report = await first_report(bot)
    cog: Any = bot.get_cog("Monitoring")
    print(json.dumps({"port": cog.metrics_server.port, "report": report}), flush=True)

    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    alerts = []
    while not dpytest.sent_queue.empty():
        alerts.extend(embed.title for embed in dpytest.get_message().embeds)
    print(json.dumps({"alerts": alerts}), flush=True)
    await bot.unload_extension("monitoring_cog")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
