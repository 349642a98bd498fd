"""Shared pieces of the benchmarks: bots without Discord, interleaved rounds, medians, output.

A bot here is a real ``commands.Bot`` whose connection state holds one guild, one text channel
and a few members built from gateway payloads, so discord.py's own code paths (message commands,
``parse_interaction_create``, event dispatch, listener tasks) run exactly as they would behind a
gateway. Only Discord's HTTP for interactions is replaced (it is never reached by the no-op
commands, but a stray response must not try the network).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import discord
from _workload import COMMANDS, GUILD_BASE, USER_BASE, Call, workload
from discord.ext import commands
from discord.webhook.async_ import AsyncWebhookAdapter

from monitoring_cog.cli.payloads import (
    COMPONENT,
    Identity,
    command_data,
    component_data,
    interaction_payload,
    member_payload,
    message_payload,
    snowflake,
    user_payload,
)

__all__ = (
    "CLICK_ID",
    "COMMANDS",
    "CONFIGS",
    "DATA_DIR",
    "FAILING_CLICK_ID",
    "GUILD_BASE",
    "USER_BASE",
    "Call",
    "Fixture",
    "NoopView",
    "Table",
    "add_fixture",
    "build_bot",
    "close_bot",
    "drain_ready",
    "emit",
    "interleaved",
    "machine",
    "median",
    "now",
    "other_threads_cpu",
    "parser",
    "patch_webhooks",
    "quiesce",
    "recorded",
    "thread_cpu",
    "wait_for_writer",
    "workdir",
    "workload",
)

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / ".data"
"""Generated databases, kept between runs (gitignored)."""

CONFIGS = ("bare", "ours", "prometheus", "argus")
"""The bot configurations compared: no monitoring, this project, and the two peers."""

# -- the guild, channel and members a bot sees -----------------------------------------------


@dataclass
class Fixture:
    """What one bot's state holds, and the payloads its commands are built from."""

    guild: discord.Guild
    channel: discord.TextChannel
    members: list[Identity]
    application_id: int

    def message(self, bot: commands.Bot, content: str, member: int = 0) -> discord.Message:
        """A real Message in the fixture's channel, as MESSAGE_CREATE would build it."""
        author = self.members[member]
        payload = message_payload(self.channel.id, author, content, guild_id=self.guild.id)
        return discord.Message(state=bot._connection, channel=self.channel, data=payload)  # type: ignore[arg-type]

    def interaction_payload(self, name: str, member: int = 0) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for the slash command ``name`` (fresh ids)."""
        return interaction_payload(
            command_data(name),
            self.members[member],
            self.channel,
            application_id=self.application_id,
        )

    def click_payload(self, custom_id: str, member: int = 0) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a click on the button ``custom_id`` (fresh ids),
        from a message of the bot in the fixture's channel."""
        message = message_payload(self.channel.id, self.members[0], "", guild_id=self.guild.id)
        return interaction_payload(
            component_data(custom_id),
            self.members[member],
            self.channel,
            application_id=self.application_id,
            interaction_type=COMPONENT,
            message=message,
        )


def add_fixture(bot: commands.Bot, members: int = 3) -> Fixture:
    """Put one guild (a text channel, ``members`` members) into the bot's connection state."""
    state = bot._connection
    if state.user is None:  # What READY would have set: the bot's own user.
        state.user = discord.ClientUser(
            state=state, data={**user_payload(Identity(snowflake(), "bench")), "bot": True}
        )
    guild_id = snowflake()
    channel_id = snowflake()
    people = [Identity(snowflake(), f"member{n}") for n in range(members)]
    guild = state._add_guild_from_data(
        {  # type: ignore[arg-type]
            "id": str(guild_id),
            "name": "Benchmark Guild",
            "owner_id": str(people[0].id),
            "roles": [
                {
                    "id": str(guild_id),
                    "name": "@everyone",
                    "permissions": "0",
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "channels": [{"id": str(channel_id), "type": 0, "name": "general", "position": 0}],
            "members": [member_payload(person) for person in people],
            "member_count": members,
            "features": [],
            "emojis": [],
            "stickers": [],
        }
    )
    channel = guild.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return Fixture(guild, channel, people, application_id=snowflake())


def patch_webhooks() -> None:
    """Answer interaction responses and follow-ups locally instead of over HTTP."""

    async def create_interaction_response(*_: Any, **__: Any) -> dict[str, Any]:
        return {}

    async def execute_webhook(*_: Any, **__: Any) -> dict[str, Any]:
        return {}

    AsyncWebhookAdapter.create_interaction_response = create_interaction_response  # type: ignore[method-assign]
    AsyncWebhookAdapter.execute_webhook = execute_webhook  # type: ignore[method-assign]


# -- bot configurations ----------------------------------------------------------------------


def _add_noop_commands(bot: commands.Bot) -> None:
    @bot.command(name="ping")
    async def ping_prefix(ctx: commands.Context[Any]) -> None:
        """A no-op prefix command."""

    @bot.tree.command(name="ping", description="A no-op slash command")
    async def ping_slash(interaction: discord.Interaction[Any]) -> None:
        """A no-op slash command."""

    @bot.command(name="fail")
    async def fail_prefix(ctx: commands.Context[Any]) -> None:
        """A prefix command that fails at once."""
        raise RuntimeError("failed")

    @bot.tree.command(name="fail", description="A slash command that fails at once")
    async def fail_slash(interaction: discord.Interaction[Any]) -> None:
        """A slash command that fails at once."""
        raise RuntimeError("failed")

    # The bot's own error handlers, as most bots have: discord.py's defaults would log (and
    # format) every failure's traceback, a cost of the benchmark rather than of any monitor.
    @bot.event
    async def on_command_error(ctx: commands.Context[Any], error: Exception) -> None:
        """Failures are expected here."""

    @bot.tree.error
    async def on_app_command_error(
        interaction: discord.Interaction[Any], error: discord.app_commands.AppCommandError
    ) -> None:
        """Failures are expected here."""


CLICK_ID = "bench:ping"
"""custom_id of the no-op button of :class:`NoopView`."""
FAILING_CLICK_ID = "bench:fail"
"""custom_id of the button of :class:`NoopView` whose callback raises at once."""


class NoopView(discord.ui.View):
    """A persistent view with a no-op button and a failing one, and its own ``on_error``."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Ping", custom_id=CLICK_ID)
    async def ping(self, interaction: discord.Interaction[Any], button: Any) -> None:
        """A no-op button."""

    @discord.ui.button(label="Fail", custom_id=FAILING_CLICK_ID)
    async def fail(self, interaction: discord.Interaction[Any], button: Any) -> None:
        """A button whose callback fails at once."""
        raise RuntimeError("failed")

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: Any, /
    ) -> None:
        """Failures are expected here (discord.py's default would log every traceback)."""


async def build_bot(
    kind: str, workdir: Path, *, database_url: str | None = None, extra_config: str = ""
) -> tuple[commands.Bot, Any]:
    """A bot with no-op commands, monitored by ``kind``; returns the bot and the monitor.

    Each monitor is loaded the way its documentation says: this project as an extension
    (recording into a SQLite file in ``workdir``, or into the PostgreSQL database at
    ``database_url`` if given; writer at its default interval), ``PrometheusCog`` added as a
    cog, ``Argus(bot)`` chained into ``setup_hook``. ``extra_config`` is TOML appended to this
    project's config file (e.g. a ``[recording]`` table).
    """
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.all(), help_command=None)
    _add_noop_commands(bot)
    await bot._async_setup_hook()
    bot.add_view(NoopView())  # As a bot's setup_hook registers its persistent views.
    monitor: Any = None
    if kind == "ours":
        config = workdir / "monitoring.toml"
        # json.dumps: a TOML basic string, whatever the URL or path holds.
        location = (
            f"url = {json.dumps(database_url)}"
            if database_url
            else f"path = {json.dumps((workdir / 'monitoring.db').as_posix())}"
        )
        config.write_text(f"[database]\n{location}\n{extra_config}")
        os.environ["MONITORING_CONFIG"] = str(config)
        await bot.load_extension("monitoring_cog")
        monitor = bot.get_cog("Monitoring")
    elif kind == "prometheus":
        from discord.ext.prometheus import PrometheusCog

        monitor = PrometheusCog(bot)
        await bot.add_cog(monitor)
    elif kind == "argus":
        from argus import Argus

        # Port 0: the metrics server binds any free port, so runs never collide.
        monitor = Argus(bot, port=0, host="127.0.0.1")
        await bot.setup_hook()
    elif kind != "bare":
        raise ValueError(f"unknown configuration {kind!r}")
    return bot, monitor


async def close_bot(bot: commands.Bot) -> None:
    """Unload everything (flushing this project's queue) and close the bot."""
    await bot.close()


def recorded(kind: str, monitor: Any) -> str:
    """What a monitor holds after a run, to show its collection was on."""
    if kind == "ours":
        stats = monitor.db.recorder.stats()
        return f"{stats['written'] + stats['pending']:,} records, {stats['dropped']} dropped"
    if kind == "prometheus":
        from discord.ext.prometheus.prometheus_cog import (
            ON_COMMAND_COUNTER,
            ON_INTERACTION_COUNTER,
        )

        counted = sum(
            sample.value
            for metric in (*ON_COMMAND_COUNTER.collect(), *ON_INTERACTION_COUNTER.collect())
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
        return f"{int(counted):,} counted"
    if kind == "argus":
        names = monitor.cog.names
        wanted = {names.commands_total, names.app_commands_total}
        counted = sum(
            sample.value
            for metric in monitor.cog.adapter.registry.collect()
            for sample in metric.samples
            if sample.name in wanted
            # Components are counted only among the interactions received.
            or (
                sample.name == names.interactions_total and sample.labels.get("type") == "component"
            )
        )
        return f"{int(counted):,} counted"
    return "-"


async def quiesce(monitor: Any) -> None:
    """Finish, now, the work the last commands left behind, so it is timed with them.

    For this project that is writing the queued records (what its writer would do within a
    second): the event loop's share of it (aggregating, handing SQL to the worker thread) is
    the cost of recording those commands. Waiting on the worker thread uses no loop time.
    """
    db = getattr(monitor, "db", None)
    if db is not None:
        await db.flush()
    await asyncio.sleep(0)


async def wait_for_writer(recorder: Any, below: int) -> float:
    """Let the loop idle until fewer than ``below`` records are queued; the seconds it took.

    Idle, the loop releases the interpreter, so SQLite's worker thread runs at full speed.
    """
    started = now()
    # Polling on purpose: the point is an idle loop, and the recorder has no event for it.
    while recorder.pending >= below:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    return now() - started


def drain_ready() -> Callable[[], Awaitable[None]]:
    """A coroutine function that yields to the loop until no callback is ready to run.

    Listener tasks that discord.py dispatches for an event run on the next loop iteration;
    draining after each command times them with it.
    """
    loop = asyncio.get_running_loop()
    ready = loop._ready  # type: ignore[attr-defined]
    sleep = asyncio.sleep

    async def drain() -> None:
        while ready:
            await sleep(0)

    return drain


# -- measurement -----------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    """The median (of at least one value)."""
    return float(statistics.median(list(values)))


async def interleaved(
    configs: Sequence[str],
    rounds: int,
    measure: Callable[[str], Awaitable[T]],
    *,
    warmup: int = 1,
) -> dict[str, list[T]]:
    """Run ``measure(config)`` for every config, round by round, rotating the order.

    Side by side and interleaved, so drift on a shared machine (frequency, neighbours) hits
    every configuration alike; the first ``warmup`` rounds are discarded.
    """
    results: dict[str, list[T]] = {config: [] for config in configs}
    for index in range(warmup + rounds):
        shift = index % len(configs)
        for config in (*configs[shift:], *configs[:shift]):
            value = await measure(config)
            if index >= warmup:
                results[config].append(value)
    return results


@dataclass
class Table:
    """Rows for the printed table, in order."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def render(self) -> None:
        try:
            from rich.console import Console
            from rich.table import Table as RichTable
        except ImportError:  # Plain text when rich is absent.
            print(self.title)
            print(" | ".join(self.columns))
            for row in self.rows:
                print(" | ".join(row))
            return
        table = RichTable(title=self.title)
        for index, column in enumerate(self.columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in self.rows:
            table.add_row(*row)
        console = Console()
        if not console.is_terminal:  # Piped to a file: rich's 80 columns would wrap cells.
            console = Console(width=max(console.width, 160))
        console.print(table)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        ram = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        ram = None
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": ram,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "discord.py": discord.__version__,
        "platform": platform.platform(),
    }


def emit(benchmark: str, results: dict[str, Any], table: Table) -> None:
    """Print the table, then the results as one JSON line (for scripts and the README)."""
    table.render()
    line = {
        "benchmark": benchmark,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **results,
    }
    print(json.dumps(line, separators=(",", ":")))
    sys.stdout.flush()


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the ``--quick`` flag every benchmark has."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a fast smoke run (small sizes)")
    return p


def workdir(prefix: str, within: Path | None = None) -> tempfile.TemporaryDirectory[str]:
    """A scratch folder for one run's databases and config files (in ``within`` if given)."""
    if within is not None:
        within.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=prefix, dir=within)


def now() -> float:
    """A high-resolution timer (seconds)."""
    return time.perf_counter()


def thread_cpu() -> float:
    """CPU seconds used by the calling thread (the event loop's, here)."""
    return time.thread_time()


def process_cpu() -> float:
    """CPU seconds used so far by every thread of this process (user and system)."""
    return time.process_time()


def other_threads_cpu() -> float:
    """CPU seconds used so far by every thread of this process but the calling one.

    Here that is SQLite's worker thread (aiosqlite), where statements run off the event loop.
    """
    import psutil

    me = threading.get_native_id()
    return sum(t.user_time + t.system_time for t in psutil.Process().threads() if t.id != me)
