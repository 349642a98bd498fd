"""A real discord.py bot with no connection to Discord, for the demo.

dpytest stands in for the gateway and the REST API: a message it fakes is dispatched by
discord.py itself (``on_message``, ``process_commands``, checks, converters, invoke hooks, error
events). Slash commands are real :class:`discord.Interaction` objects built from
INTERACTION_CREATE payloads (:mod:`.payloads`) and run by ``CommandTree._call``, as discord.py's
gateway handler runs them. The one thing replaced on that path is the webhook adapter that would
send the answers to Discord: it is installed through discord.py's own context variable for the
webhook adapter, for the current task and the tasks it starts, so nothing is patched.

dpytest is needed here only; it comes with the ``demo`` extra (``pip install
"monitoring_cog[demo]"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from . import payloads

if TYPE_CHECKING:
    from discord.ext import commands

__all__ = ("MissingDemoDependency", "OfflineDiscord", "OfflineWebhookAdapter", "SlashOption")

_log = logging.getLogger(__name__)


class MissingDemoDependency(RuntimeError):
    """dpytest, which plays Discord's part in the demo, is not installed."""


def _dpytest() -> Any:
    try:
        # dpytest 0.7's source holds an invalid escape sequence. Python 3.12 and later warn of it
        # on stderr each time they compile the module (a first run, or no bytecode written):
        # noise in the demo's output that the person running it can do nothing about.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            import discord.ext.test as dpytest
    except ImportError as exc:
        raise MissingDemoDependency(
            "the demo needs dpytest: pip install 'monitoring_cog[demo]'"
        ) from exc
    return dpytest


class OfflineWebhookAdapter(AsyncWebhookAdapter):
    """Answers to interactions, kept instead of sent: what the bot would have shown.

    Parameters
    ----------
    bot:
        The bot whose user authors the follow-up messages.
    """

    def __init__(self, bot: commands.Bot) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._bot = bot
        self.responses = 0
        """Initial responses and deferrals made."""
        self.followups = 0
        """Follow-up messages sent."""
        self.last_embeds: list[dict[str, Any]] = []
        """The embeds of the most recent answer."""

    def _bot_user(self) -> discord.abc.User:
        user = self._bot.user
        assert user is not None, "the offline bot has no user; call OfflineDiscord.start first"
        return user

    async def create_interaction_response(  # type: ignore[override]
        self, interaction_id: int, token: str, *, params: Any, **_: Any
    ) -> dict[str, Any]:
        payload = dict(params.payload or {})
        self.responses += 1
        self.last_embeds = list((payload.get("data") or {}).get("embeds", []))
        return payloads.callback_response(interaction_id, payload)

    async def execute_webhook(  # type: ignore[override]
        self, webhook_id: int, token: str, *, payload: dict[str, Any] | None = None, **_: Any
    ) -> dict[str, Any]:
        body = dict(payload or {})
        self.followups += 1
        self.last_embeds = list(body.get("embeds", []))
        return payloads.message_payload(0, self._bot_user(), body.get("content") or "")

    async def get_original_interaction_response(  # type: ignore[override]
        self, application_id: int, token: str, **_: Any
    ) -> dict[str, Any]:
        # Context.send of a hybrid command run as a slash command fetches what it sent.
        return payloads.message_payload(0, self._bot_user(), "")


@dataclass(frozen=True, slots=True)
class SlashOption:
    """One option of a slash command, as Discord sends it."""

    name: str
    value: str | int | bool | float

    def payload(self) -> dict[str, Any]:
        """The option in an interaction's data."""
        return payloads.option(self.name, self.value)


@dataclass
class OfflineDiscord:
    """Guilds, channels and members for a bot, and a way to send it messages and interactions.

    Parameters
    ----------
    bot:
        The bot, set up (``await bot._async_setup_hook()``) with its cogs added.
    """

    bot: commands.Bot
    guilds: list[discord.Guild] = field(default_factory=list)
    channels: dict[int, discord.TextChannel] = field(default_factory=dict)
    """The text channel of each guild, by guild id."""
    adapter: OfflineWebhookAdapter | None = None

    def start(self, guilds: Sequence[tuple[str, Sequence[str]]], channel: str = "music") -> None:
        """Create the guilds, each with one text channel and its members, and mark the bot ready.

        ``guilds`` pairs each guild's name with the names of its members; a name in several
        guilds is one user who is a member of each.
        """
        dpytest = _dpytest()
        from discord.ext.test import backend

        dpytest.configure(
            self.bot,
            guilds=[name for name, _ in guilds],
            text_channels=[channel],
            voice_channels=0,
            members=0,
        )
        # dpytest's fake connection has no command tree; discord.py looks it up there.
        self.bot._connection._command_tree = self.bot.tree
        users: dict[str, discord.User] = {}
        config = dpytest.get_config()
        for guild, (_, members) in zip(config.guilds, guilds, strict=True):
            self.guilds.append(guild)
            self.channels[guild.id] = guild.text_channels[0]
            for name in members:
                user = users.get(name)
                if user is None:
                    user = users[name] = backend.make_user(name, f"{len(users) + 1:04}")
                backend.make_member(user, guild)
        self.adapter = OfflineWebhookAdapter(self.bot)
        async_context.set(self.adapter)
        self.bot._ready.set()

    def member(self, guild: discord.Guild, name: str) -> discord.Member:
        """The member of ``guild`` called ``name``."""
        member = guild.get_member_named(name)
        if member is None:
            raise LookupError(f"{name} is not a member of {guild.name}")
        return member

    async def message(
        self, guild: discord.Guild, member: discord.Member, content: str
    ) -> BaseException | None:
        """Post ``content`` in the guild's channel as ``member``; the command's error, if any."""
        dpytest = _dpytest()
        error: BaseException | None = None
        try:
            await dpytest.message(content, channel=self.channels[guild.id], member=member)
        except Exception as exc:  # dpytest re-raises what on_command_error received.
            error = exc
        await self._drain()
        return error

    async def slash(
        self,
        guild: discord.Guild,
        member: discord.Member,
        name: str,
        options: Sequence[SlashOption] = (),
        *,
        subcommand: str | None = None,
        permissions: discord.Permissions | None = None,
    ) -> discord.Interaction[Any]:
        """Run the slash command ``name`` (or its ``subcommand``) as ``member`` would in Discord."""
        interaction = self._interaction(guild, member, name, options, subcommand, permissions)
        tree = self.bot.tree
        try:
            await tree._call(interaction)
        except app_commands.AppCommandError as error:
            await tree._dispatch_error(interaction, error)
        await self._drain()
        return interaction

    async def click(
        self,
        guild: discord.Guild,
        member: discord.Member,
        custom_id: str,
        components: list[dict[str, Any]] | None = None,
    ) -> None:
        """Press the button ``custom_id`` of a message of the bot (showing ``components``) in the
        guild's channel, as ``member``: Discord's INTERACTION_CREATE, handed to discord.py's
        gateway handler, which finds the registered view and runs its callback in a task."""
        channel = self.channels[guild.id]
        assert self.bot.user is not None, "call OfflineDiscord.start first"
        message = payloads.message_payload(channel.id, self.bot.user, "", components=components)
        payload = payloads.interaction_payload(
            payloads.component_data(custom_id),
            member,
            channel,
            application_id=self.bot.application_id or payloads.snowflake(),
            interaction_type=payloads.COMPONENT,
            message=message,
        )
        before = asyncio.all_tasks()
        self.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        # The view's task (discord.py names them "discord-ui-..."): wait for its end.
        started = [t for t in asyncio.all_tasks() - before if t.get_name().startswith("discord-ui")]
        if started:
            await asyncio.wait(started)
        await self._drain()

    def _interaction(
        self,
        guild: discord.Guild,
        member: discord.Member,
        name: str,
        options: Sequence[SlashOption],
        subcommand: str | None,
        permissions: discord.Permissions | None,
    ) -> discord.Interaction[Any]:
        option_payloads = [option.payload() for option in options]
        if subcommand is not None:
            option_payloads = [payloads.subcommand(subcommand, option_payloads)]
        payload = payloads.interaction_payload(
            payloads.command_data(name, options=option_payloads),
            member,
            self.channels[guild.id],
            application_id=self.bot.application_id or payloads.snowflake(),
            permissions=str((permissions or discord.Permissions.none()).value),
        )
        return discord.Interaction(data=payload, state=self.bot._connection)  # type: ignore[arg-type]

    async def _drain(self) -> None:
        # Let the listener tasks (completion and error events) finish, and drop what the bot
        # "sent": dpytest keeps every message and error in queues that would otherwise grow.
        for _ in range(3):
            await asyncio.sleep(0)
        await _dpytest().empty_queue()

    async def close(self) -> None:
        """Let pending events finish and drop what the bot sent. Never raises."""
        with contextlib.suppress(Exception):
            await _dpytest().empty_queue()
