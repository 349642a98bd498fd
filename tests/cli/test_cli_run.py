"""``run``: the minimal host bot refuses to start without a token, and loads the cog."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, assert_user_error

from monitoring_cog.cli.errors import UserError
from monitoring_cog.cli.host import HostBot, read_token
from monitoring_cog.config import DatabaseConfig, MonitoringConfig


def test_run_without_a_token(cli: Cli) -> None:
    line = assert_user_error(cli.run("run"))
    assert line == (
        "monitoring-cog: error: DISCORD_TOKEN is not set: export the bot's token from "
        "Discord's developer portal"
    )


def test_run_with_a_bad_config_fails_before_connecting(cli: Cli) -> None:
    cli.write_config('[cog]\nhealth_permission = "be_nice"\n')
    assert_user_error(cli.run("run", DISCORD_TOKEN="not-a-real-token"), "cog.health_permission")


def test_run_help_shows_the_options(cli: Cli) -> None:
    result = cli.run("run", "--help")
    assert result.returncode == 0
    for option in ("--sync", "--prefix", "--no-message-content"):
        assert option in result.stdout


def test_read_token() -> None:
    assert read_token({"DISCORD_TOKEN": " abc \n"}) == "abc"
    with pytest.raises(UserError):
        read_token({"DISCORD_TOKEN": "  "})


@pytest.mark.parametrize("sync", [False, True])
async def test_host_bot_loads_the_cog_and_syncs_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sync: bool
) -> None:
    config = MonitoringConfig(database=DatabaseConfig(path=str(tmp_path / "bot.db")))
    bot = HostBot(config, prefix="?", sync=sync, message_content=False)
    synced: list[bool] = []

    async def fake_sync(*args: Any, **kwargs: Any) -> list[Any]:
        synced.append(True)  # Discord's HTTP API is the one thing faked here.
        return []

    monkeypatch.setattr(bot.tree, "sync", fake_sync)
    await bot._async_setup_hook()
    await bot.setup_hook()
    try:
        cog = bot.get_cog("Monitoring")
        assert cog is not None
        assert {c.name for c in bot.tree.get_commands()} == {"health", "stats"}
        assert bot.intents.message_content is False
        assert synced == ([True] if sync else [])
        assert (tmp_path / "bot.db").exists()
    finally:
        await bot.remove_cog("Monitoring")


async def test_sigterm_closes_the_host_bot_and_writes_what_it_queued(tmp_path: Path) -> None:
    # How a container stops the bot: SIGTERM, then SIGKILL after its grace period.
    config = MonitoringConfig(database=DatabaseConfig(path=str(tmp_path / "bot.db")))
    bot = HostBot(config, message_content=False)
    await bot._async_setup_hook()
    await bot.setup_hook()
    cog: Any = bot.get_cog("Monitoring")
    assert await cog.system.cmd_logger.log_command("1", "G", "2", "u", "queued")

    os.kill(os.getpid(), signal.SIGTERM)
    async with asyncio.timeout(10):
        for _ in range(100):  # The signal handler runs at the loop's next turns.
            if bot._sigterm_close is not None:
                break
            await asyncio.sleep(0)
        assert bot._sigterm_close is not None
        await bot._sigterm_close
    assert bot.is_closed()

    assert bot.get_cog("Monitoring") is None
    assert cog.db.closed
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        assert conn.execute("SELECT command FROM audit_logs").fetchall() == [("queued",)]
