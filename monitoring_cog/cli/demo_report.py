"""What ``monitoring-cog demo`` prints once the month is simulated.

A summary of what happened, then the four views a server's admin has in Discord (``/health``,
``/stats weekly``, ``/stats monthly``, ``/stats performance``) rendered for the terminal, then
where the database is and how to keep exploring it with the operator commands.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.text import Text

from .demo import DemoResult
from .render import render_health, render_performance, render_report

__all__ = ("CONFIG_FILE_NAME", "demo_footer", "render_demo", "write_demo_config")

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
