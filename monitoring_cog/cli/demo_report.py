"""What ``monitoring-cog demo`` prints once the month is simulated.

A summary of what happened, then the bot's vitals in the last hour (the gateway's shards, the
event-loop stall with its line, the rate limit), then the four views a server's admin has in
Discord (``/health``, ``/stats weekly``, ``/stats monthly``, ``/stats performance``) rendered for
the terminal, then where the database is and how to keep exploring it with the operator commands.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.text import Text

from .demo import DemoResult
from .render import render_health, render_performance, render_report

__all__ = (
    "CONFIG_FILE_NAME",
    "demo_footer",
    "render_demo",
    "vitals_lines",
    "write_demo_config",
)

CONFIG_FILE_NAME = "monitoring.toml"
"""Name of the config file the demo leaves beside its database."""


def write_demo_config(database: Path) -> Path:
    """A config file beside the demo's database, naming it, for the operator commands."""
    path = database.parent / CONFIG_FILE_NAME
    # A JSON string is a valid TOML basic string: quotes and backslashes escaped alike.
    path.write_text(
        f"# Written by monitoring-cog demo.\n[database]\npath = {json.dumps(str(database))}\n",
        encoding="utf-8",
    )
    return path


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _section(result: DemoResult, name: str) -> Mapping[str, Any]:
    section = result.health.get(name)
    return section if isinstance(section, Mapping) else {}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def vitals_lines(result: DemoResult) -> list[str]:
    """The bot's vitals in the health report's last hour, one line each (pure)."""
    lines: list[str] = []
    gateway = _section(result, "gateway")
    for shard in gateway.get("shards") or []:
        latency = shard.get("latency_ms")
        state = {True: "connected", False: "disconnected"}.get(shard.get("connected"), "unseen")
        lines.append(
            f"Gateway · shard {shard.get('shard_id')}: {state}, heartbeat "
            f"{'-' if latency is None else f'{float(latency):.1f} ms'}, "
            f"{_plural(int(shard.get('disconnects_1h') or 0), 'disconnect')} and "
            f"{_plural(int(shard.get('resumes_1h') or 0), 'resume')} in the last hour "
            "(simulated)"
        )
    worst = _section(result, "event_loop").get("worst")
    if isinstance(worst, Mapping):
        command = worst.get("command")
        during = f"in {command} ({worst.get('command_kind')})" if command else "outside commands"
        lines.append(
            f"Event loop · stall of {float(worst.get('duration_ms') or 0):.0f} ms {during} at "
            f"{worst.get('location') or 'an unknown place'}"
        )
    limits = _section(result, "rate_limits")
    for route in limits.get("top_routes") or []:
        hits = _plural(int(route.get("hits") or 0), "HTTP 429")
        global_hits = int(route.get("global_hits") or 0)
        lines.append(
            f"Rate limits · {route.get('route')}: {hits} in the last hour, {global_hits} global"
            " (simulated: the log record discord.py writes for one)"
        )
    return lines


def render_demo(result: DemoResult, days: int, elapsed: float) -> RenderableType:
    """The demo's summary and the four reports, from its result (pure: prints nothing)."""
    guild_id, guild_name = result.guilds[0] if result.guilds else ("?", "?")
    messages, slash, typos = (result.sent[k] for k in ("prefix", "slash", "typo"))
    # Short lines, so a standard 80-column terminal shows them unbroken.
    summary = Text.assemble(
        ("monitoring_cog demo", "bold"),
        " · a music bot's month through discord.py, simulated offline\n",
        f"{days} days to {_when(result.ended_at)} · "
        f"{len(result.guilds)} servers · {result.members} members · {elapsed:.1f} s\n",
        (f"{result.audited:,} commands audited", "bold"),
        f": {messages:,} typed as messages, {slash:,} as slash commands\n",
        f"{result.failed:,} of them failed · {typos} typos counted as unknown, not audited\n\n",
        "What an admin of ",
        (guild_name, "bold"),
        f" (server {guild_id}) sees in Discord:",
    )
    return Group(
        summary,
        Rule("Bot vitals, last hour", align="left"),
        Text("\n".join(vitals_lines(result)) or "none seen"),
        Rule("/health", align="left"),
        render_health(result.health),
        Rule("/stats weekly", align="left"),
        render_report(result.weekly, guild_name),
        Rule("/stats monthly", align="left"),
        render_report(result.monthly, guild_name),
        Rule("/stats performance", align="left"),
        render_performance(result.performance),
    )


def demo_footer(result: DemoResult, config_file: Path | None) -> str:
    """Where the database is and, for a demo's own folder, commands to explore it.

    Plain lines, printed unwrapped so that the commands can be copied whole.
    """
    lines = ["", f"Database: {result.database}"]
    if config_file is not None:
        guild_id = result.guilds[0][0] if result.guilds else "GUILD_ID"
        prefix = f"monitoring-cog --config {config_file}"
        lines += [
            "Explore it with the operator commands, for example:",
            f"  {prefix} report --guild {guild_id} --period monthly",
            f"  {prefix} health",
            f"  {prefix} export --format csv --output audit.csv",
        ]
    return "\n".join(lines)
