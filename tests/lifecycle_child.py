"""A process using the library as real programs do, for ``test_lifecycle``: it never calls close.

Usage: ``python lifecycle_child.py MODE COUNT`` with ``$MONITORING_CONFIG`` naming the config.

- ``helpers``: logs COUNT commands with ``log_command_execution`` inside ``asyncio.run``.
- ``database``: logs COUNT commands through a ``Database`` that is never closed.
- ``bot``: a ``commands.Bot`` with the extension loaded, started with ``bot.start()`` outside
  ``async with bot``; Discord's HTTP API and gateway are faked (dpytest stands in for Discord),
  COUNT prefix commands are run through discord.py's real dispatch, then it waits for Ctrl-C.
- ``bot-async-with``: the same inside ``async with bot`` (closing runs on Ctrl-C).
- ``replay``: opens the database (which writes any spill files into it), then exits.

Each prints ``ready`` once its records are handed over (``helpers`` and ``database`` then wait
for a line on stdin, so the parent can lock the database before they end), and at the very end
(an ``atexit`` handler: after the library's exit hook) one JSON line with the recorder's
counters.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import sys
from typing import Any

from monitoring_cog import CommandLogger, Database, log_command_execution
from monitoring_cog.recording.pipeline import Recorder

recorders: list[Recorder] = []


def report() -> None:
    names = ("written", "spilled", "lost_on_close", "dropped", "pending")
    # getattr: the same child runs against older versions of the library, to compare.
    counters = [{name: getattr(r, name, 0) for name in names} for r in recorders]
    sys.stdout.write(json.dumps({"recorders": counters}) + "\n")
    sys.stdout.flush()


def ready() -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()


async def ready_then_wait() -> None:
    """Say the records are handed over, then end once the parent says ``go`` on stdin (so it
    can lock the database first)."""
    ready()
    await asyncio.to_thread(sys.stdin.readline)


async def with_helpers(count: int) -> None:
    from monitoring_cog.collectors.system import peek_current_system

    for i in range(count):
        await log_command_execution(111, "Guild", i % 7, "user", "play", details={"i": i})
    system = peek_current_system()
    assert system is not None
    recorders.append(system.db.recorder)
    await ready_then_wait()


async def with_database(count: int) -> None:
    db = Database()
    recorders.append(db.recorder)
    logger = CommandLogger(db)
    await db.connect()
    for i in range(count):
        await logger.log_command(111, "Guild", i % 7, "user", "play", {"i": i})
    await ready_then_wait()


async def with_bot(count: int, *, async_with: bool) -> None:
    import discord
    import discord.ext.test as dpytest
    from discord.ext import commands

    from monitoring_cog.cli.payloads import Identity, user_payload

    user = user_payload(Identity(1000, "monitor"))
    application = {
        "id": "1000",
        "name": "monitor",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user,
        "verify_key": "0" * 64,
        "flags": 0,
    }

    # Discord's HTTP API, the one thing this machine cannot give, faked at its edge.
    async def static_login(self: Any, token: str) -> dict[str, Any]:
        return user

    async def application_info(self: Any) -> dict[str, Any]:
        return application

    discord.http.HTTPClient.static_login = static_login  # type: ignore[method-assign]
    discord.http.HTTPClient.application_info = application_info  # type: ignore[method-assign]

    class Bot(commands.Bot):
        async def setup_hook(self) -> None:
            await self.load_extension("monitoring_cog")
            cog: Any = self.get_cog("Monitoring")
            recorders.append(cog.db.recorder)

        async def connect(self, *, reconnect: bool = True) -> None:
            # The gateway: dpytest delivers messages through discord.py's real dispatch.
            dpytest.configure(self, members=1)
            self._connection._command_tree = self.tree
            for i in range(count):
                await dpytest.message(f"!ping {i}")
            ready()
            await asyncio.Event().wait()  # Connected until Ctrl-C.

    bot = Bot(command_prefix="!", intents=discord.Intents.all())

    @bot.command()
    async def ping(ctx: commands.Context[Any], i: int) -> None:
        await ctx.send(f"pong {i}")

    if async_with:
        async with bot:
            await bot.start("not-a-real-token")
    else:
        await bot.start("not-a-real-token")


async def replay() -> None:
    db = Database()
    recorders.append(db.recorder)
    sys.stdout.write("connecting\n")
    sys.stdout.flush()
    await db.connect()
    await db.close()
    ready()


def main(mode: str, count: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    atexit.register(report)
    if mode == "helpers":
        asyncio.run(with_helpers(count))
    elif mode == "database":
        asyncio.run(with_database(count))
    elif mode in ("bot", "bot-async-with"):
        asyncio.run(with_bot(count, async_with=mode == "bot-async-with"))
    elif mode == "replay":
        asyncio.run(replay())
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
