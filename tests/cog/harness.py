"""The bot under test: its own commands of every kind, and a harness that loads the cog.

The bot's commands advance the :class:`~monitoring_cog.ManualClock` by known amounts, so the
audited durations are exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
from discord import app_commands
from discord.ext import commands

from monitoring_cog import CommandLogger, Database, ManualClock, MonitoringConfig
from monitoring_cog.cog import MonitoringCog
from monitoring_cog.config import CogConfig, RecordingConfig

# What each of the bot's own commands takes, in clock seconds (exact binary fractions).
DURATIONS = {
    "echo": 0.25,
    "boom": 0.5,
    "greet": 0.125,
    "explode": 0.375,
    "add": 0.0625,
    "tools ping": 0.75,
    "Inspect User": 1.0,
    "Quote Message": 1.5,
}


UNLOAD_BOUND = 10.0
"""Seconds an unload may take in teardown before the test is failed (a hang guard only)."""


def make_config(
    *,
    flush_interval: float = 1.0,
    check_interval: float = 300.0,
    stall_monitor: bool = False,
    **cog: Any,
) -> MonitoringConfig:
    """A config with ``[cog]`` settings ``cog`` and the given recording interval.

    The stall monitor is off unless asked for: a pause of the test machine itself (a collection,
    a busy neighbour) would add a stall record to counts that tests check exactly. The stall
    tests turn it on.
    """
    base = MonitoringConfig()
    return dataclasses.replace(
        base,
        recording=RecordingConfig(flush_interval=flush_interval),
        health=dataclasses.replace(
            base.health, check_interval=check_interval, stall_monitor=stall_monitor
        ),
        cog=CogConfig(**cog),
    )


def add_own_commands(bot: commands.Bot, clock: ManualClock) -> None:
    """The bot's own commands, of every kind the cog must audit. Each run is noted in bot.ran."""
    ran: list[str] = []
    bot.ran = ran  # type: ignore[attr-defined]

    @bot.command()
    async def echo(ctx: commands.Context[Any], word: str, times: int = 1) -> None:
        ran.append("echo")
        clock.advance(DURATIONS["echo"])
        await ctx.send(" ".join([word] * times))

    @bot.command()
    async def boom(ctx: commands.Context[Any]) -> None:
        ran.append("boom")
        clock.advance(DURATIONS["boom"])
        raise RuntimeError("kaboom")

    @bot.command()
    @commands.check(lambda ctx: False)
    async def secret(ctx: commands.Context[Any]) -> None:
        ran.append("secret")

    @bot.command()
    @commands.cooldown(1, 3600, commands.BucketType.user)
    async def daily(ctx: commands.Context[Any]) -> None:
        ran.append("daily")

    @bot.hybrid_command()
    async def greet(ctx: commands.Context[Any], name: str, excited: bool = False) -> None:
        ran.append("greet")
        clock.advance(DURATIONS["greet"])
        await ctx.send(f"Hello {name}{'!' if excited else '.'}")

    @bot.hybrid_command()
    async def explode(ctx: commands.Context[Any], reason: str) -> None:
        ran.append("explode")
        clock.advance(DURATIONS["explode"])
        raise ValueError(f"exploded: {reason}")

    @bot.tree.command()
    @app_commands.describe(a="first", b="second")
    async def add(interaction: discord.Interaction[Any], a: int, b: int = 2) -> None:
        ran.append("add")
        clock.advance(DURATIONS["add"])
        await interaction.response.send_message(str(a + b))

    @bot.tree.command()
    async def crash(interaction: discord.Interaction[Any]) -> None:
        ran.append("crash")
        raise LookupError("slash failed")

    tools = app_commands.Group(name="tools", description="Tools")

    @tools.command(name="ping")
    async def tools_ping(interaction: discord.Interaction[Any], loud: bool = False) -> None:
        ran.append("tools ping")
        clock.advance(DURATIONS["tools ping"])
        await interaction.response.send_message("PONG" if loud else "pong")

    @tools.command(name="fail")
    async def tools_fail(interaction: discord.Interaction[Any]) -> None:
        ran.append("tools fail")
        raise KeyError("sub failed")

    bot.tree.add_command(tools)

    @bot.tree.context_menu(name="Inspect User")
    async def inspect_user(interaction: discord.Interaction[Any], member: discord.Member) -> None:
        ran.append("Inspect User")
        clock.advance(DURATIONS["Inspect User"])
        await interaction.response.send_message(f"{member.name}")

    @bot.tree.context_menu(name="Quote Message")
    async def quote(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        ran.append("Quote Message")
        clock.advance(DURATIONS["Quote Message"])
        await interaction.response.send_message(f"> {message.content}")

    @bot.tree.context_menu(name="Report User")
    async def report_user(interaction: discord.Interaction[Any], user: discord.User) -> None:
        ran.append("Report User")
        raise PermissionError("menu failed")


class Harness:
    """Builds bots, loads the cog or the extension, and tears everything down."""

    def __init__(self, clock: ManualClock, process: Any, tmp_path: Path, monkeypatch: Any) -> None:
        self.clock = clock
        self.monkeypatch = monkeypatch
        self.process = process
        self.tmp_path = tmp_path
        self.db_path = tmp_path / "data" / "bot.db"
        self.bots: list[commands.Bot] = []
        self.databases: list[Database] = []
        self._modules: dict[str, Any] | None = None

    async def new_bot(
        self,
        *,
        bot_cls: type[commands.Bot] = commands.Bot,
        tree_cls: type[app_commands.CommandTree[Any]] = app_commands.CommandTree,
    ) -> commands.Bot:
        bot = bot_cls(command_prefix="!", intents=discord.Intents.all(), tree_cls=tree_cls)
        add_own_commands(bot, self.clock)
        await bot._async_setup_hook()
        self.bots.append(bot)
        return bot

    def configure(
        self,
        bot: commands.Bot,
        *,
        ready: bool = True,
        guilds: int | list[str] = 1,
        members: int | list[str] = 2,
    ) -> None:
        """Put the bot in dpytest's ``guilds`` with ``members``, its tree where discord.py looks."""
        dpytest.configure(bot, guilds=guilds, members=members)
        bot._connection._command_tree = bot.tree
        if ready:
            bot._ready.set()

    def database(self, config: MonitoringConfig | None = None) -> Database:
        db = Database(self.db_path, config=config or make_config(), clock=self.clock)
        self.databases.append(db)
        return db

    async def load(
        self, bot: commands.Bot, config: MonitoringConfig | None = None, db: Database | None = None
    ) -> MonitoringCog:
        cog = MonitoringCog(bot, db=db or self.database(config), process=self.process)
        await bot.add_cog(cog)
        return cog

    def write_config(self, text: str = "") -> Path:
        """A config file in tmp_path whose database is :attr:`db_path`, plus ``text``."""
        path = self.tmp_path / "monitoring.toml"
        path.write_text(f'[database]\npath = "{self.db_path.as_posix()}"\n{text}', "utf-8")
        return path

    async def load_extension(self, bot: commands.Bot, text: str = "") -> MonitoringCog:
        """Load the real extension, configured by a file named by ``$MONITORING_CONFIG``."""
        if self._modules is None:
            self._modules = _library_modules()
        self.monkeypatch.setenv("MONITORING_CONFIG", str(self.write_config(text)))
        await bot.load_extension("monitoring_cog")
        cog = bot.get_cog("Monitoring")
        # Unloading an extension purges its package from sys.modules, so after one reload the
        # cog may be an instance of a freshly imported MonitoringCog class: compare by name.
        assert type(cog).__name__ == "MonitoringCog"
        return cog  # type: ignore[return-value]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await dpytest.empty_queue()
        for bot in self.bots:
            # Bounded, so an unload that never returns fails the test instead of hanging it.
            async with asyncio.timeout(UNLOAD_BOUND) as guard:
                for name in tuple(bot.extensions):
                    with contextlib.suppress(Exception):
                        await bot.unload_extension(name)
                if bot.get_cog("Monitoring") is not None:
                    await bot.remove_cog("Monitoring")
            assert not guard.expired(), "unloading the cog did not return"
        for db in self.databases:
            await db.close()
        if self._modules is not None:
            # Put back the library modules the rest of the test session imported.
            for name in _library_modules():
                del sys.modules[name]
            sys.modules.update(self._modules)


def _library_modules() -> dict[str, Any]:
    return {
        name: module
        for name, module in sys.modules.items()
        if name == "monitoring_cog" or name.startswith("monitoring_cog.")
    }


@dataclasses.dataclass
class Monitored:
    """A configured bot with the cog loaded (the common case)."""

    bot: commands.Bot
    cog: MonitoringCog
    harness: Harness

    @property
    def guild(self) -> discord.Guild:
        return dpytest.get_config().guilds[0]

    @property
    def channel(self) -> discord.TextChannel:
        return dpytest.get_config().channels[0]

    @property
    def members(self) -> list[discord.Member]:
        return dpytest.get_config().members

    @property
    def db(self) -> Database:
        return self.cog.db

    async def rows(self, **filters: Any) -> list[dict[str, Any]]:
        """Audit rows, oldest first."""
        recent = await self.cog.system.cmd_logger.get_recent_commands(limit=1000, **filters)
        return list(reversed(recent))


def remove_dpytest_error_handler(bot: commands.Bot) -> None:
    """Take away the ``on_command_error`` that ``dpytest.configure`` sets on the bot instance.

    dpytest wraps the bot's handler to re-raise command errors out of ``dpytest.message``; to
    the cog that wrapper is a handler of the bot's own. Tests about what happens when the bot
    has no handler (or only the one its class defines) remove it; ``dpytest.message`` then no
    longer raises.
    """
    assert "on_command_error" in vars(bot)
    del bot.on_command_error


async def fresh_rows(path: Path) -> list[dict[str, Any]]:
    """Every audit row in the file, oldest first, read through a NEW Database."""
    db = Database(path, config=MonitoringConfig())
    try:
        recent = await CommandLogger(db).get_recent_commands(limit=10_000)
    finally:
        await db.close()
    return list(reversed(recent))
