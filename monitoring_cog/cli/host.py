"""``monitoring-cog run``: a minimal bot that hosts the monitoring cog.

For trying the cog in a real server, or for running it beside a bot whose code cannot change:
it logs in with the token in ``DISCORD_TOKEN``, loads the cog with the configured settings and,
with ``--sync``, publishes the slash commands (``/health``, ``/stats``) to Discord.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import discord
from discord.ext import commands

from ..config import MonitoringConfig
from ..config.urls import redact_url
from .errors import OperationFailed, UserError

__all__ = ("TOKEN_ENV_VAR", "HostBot", "read_token", "run_host")

_log = logging.getLogger(__name__)

TOKEN_ENV_VAR = "DISCORD_TOKEN"


class HostBot(commands.Bot):
    """A bot with nothing but the monitoring cog.

    Parameters
    ----------
    config:
        The monitoring configuration the cog runs with.
    prefix:
        Prefix of text commands (mentioning the bot works too).
    sync:
        Publish the application commands to Discord once logged in.
    message_content:
        Ask for the Message Content intent, which prefix commands need. It is privileged:
        enable it for the application in Discord's developer portal first.
    """

    def __init__(
        self,
        config: MonitoringConfig,
        *,
        prefix: str = "!",
        sync: bool = False,
        message_content: bool = True,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(command_prefix=commands.when_mentioned_or(prefix), intents=intents)
        self.monitoring_config = config
        self.sync_commands = sync
        self._sigterm_close: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        """Load the cog (failing loudly on an unusable database) and sync if asked to.

        SIGTERM (how a container, systemd or a process manager stops a process) closes the bot
        as Ctrl-C does: the cog unloads and writes what it queued, within
        ``recording.close_timeout`` (under a container's usual 10 s grace), instead of the
        process ending with the queue.
        """
        from ..cog import MonitoringCog

        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGTERM, self._close_on_signal)
        except (NotImplementedError, RuntimeError):  # Windows' loops; not the main thread.
            _log.debug("SIGTERM cannot be handled here; the bot closes on Ctrl-C only")

        await self.add_cog(MonitoringCog(self, config=self.monitoring_config))
        if self.sync_commands:
            synced = await self.tree.sync()
            _log.info("Synced %d application commands: %s", len(synced), [c.name for c in synced])

    def _close_on_signal(self) -> None:
        _log.info("SIGTERM received: closing the bot")
        asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        self._sigterm_close = asyncio.get_running_loop().create_task(self.close())

    async def on_ready(self) -> None:
        """Say who the bot is and where it records."""
        database = self.monitoring_config.database
        _log.info(
            "Logged in as %s; monitoring %d servers into %s",
            self.user,
            len(self.guilds),
            redact_url(database.url) if database.url else database.path,
        )


def read_token(environ: dict[str, str] | None = None) -> str:
    """The bot token from ``DISCORD_TOKEN``; :class:`UserError` if it is not set."""
    token = (environ if environ is not None else dict(os.environ)).get(TOKEN_ENV_VAR, "").strip()
    if not token:
        raise UserError(
            f"{TOKEN_ENV_VAR} is not set: export the bot's token from Discord's developer portal"
        )
    return token


async def run_host(bot: HostBot, token: str) -> None:
    """Log in and run until interrupted, turning Discord's refusals into one-line errors."""
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure as exc:
        raise UserError(f"Discord refused the token in {TOKEN_ENV_VAR}: {exc}") from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise UserError(
            "the Message Content intent is not enabled for this application: enable it in the "
            "developer portal, or run with --no-message-content"
        ) from exc
    except (OSError, discord.GatewayNotFound, discord.HTTPException) as exc:
        raise OperationFailed(f"cannot reach Discord: {exc}") from exc
