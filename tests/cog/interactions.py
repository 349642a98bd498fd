"""Real ``discord.Interaction`` objects from synthetic INTERACTION_CREATE payloads.

Only Discord's HTTP is faked: the webhook adapter's ``create_interaction_response`` (the initial
response or deferral) and ``execute_webhook`` (follow-ups) are replaced by :class:`Responses`,
which records each payload (embeds as dicts) instead of sending it; its
``get_original_interaction_response`` (what ``Context.send`` fetches after answering a hybrid
command run as a slash command) returns a plain message. Everything else is
discord.py's own dispatch: ``CommandTree._call`` runs the tree's interaction_check, the command's
checks, its callback, its error handlers, the tree's ``on_error`` and the completion event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.ext.test as dpytest
from discord.ext import commands
from discord.webhook.async_ import AsyncWebhookAdapter

from monitoring_cog.cli.payloads import (
    APPLICATION_COMMAND,
    CHANNEL_MESSAGE,
    CHAT_INPUT,
    EPHEMERAL,
    MESSAGE_MENU,
    NO_PERMISSIONS,
    USER_MENU,
    callback_response,
    command_data,
    interaction_payload,
    message_payload,
    snowflake,
)

MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)
ADMINISTRATOR = str(discord.Permissions(administrator=True).value)


@dataclass
class Sent:
    """One captured HTTP call: ``kind`` is ``"response"`` (initial) or ``"followup"``."""

    kind: str
    payload: dict[str, Any]

    @property
    def type(self) -> int | None:
        return self.payload.get("type")

    @property
    def flags(self) -> int:
        if self.kind == "response":
            return int((self.payload.get("data") or {}).get("flags", 0))
        return int(self.payload.get("flags", 0))

    @property
    def embeds(self) -> list[dict[str, Any]]:
        if self.kind == "response":
            return list((self.payload.get("data") or {}).get("embeds", []))
        return list(self.payload.get("embeds", []))

    @property
    def content(self) -> str | None:
        if self.kind == "response":
            return (self.payload.get("data") or {}).get("content")
        return self.payload.get("content")


@dataclass
class Responses:
    """What would have been sent to Discord for interactions, in order."""

    sent: list[Sent] = field(default_factory=list)

    def clear(self) -> None:
        self.sent.clear()

    def refusal(self) -> str:
        """The text of the one private message that answered an interaction at once."""
        (sent,) = self.sent
        assert (sent.kind, sent.type) == ("response", CHANNEL_MESSAGE), sent
        assert sent.flags & EPHEMERAL, "a refusal is private"
        assert sent.content
        return sent.content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return [embed for item in self.sent for embed in item.embeds]

    def install(self, monkeypatch: Any) -> None:
        responses = self

        async def create_interaction_response(
            adapter: Any, interaction_id: int, token: str, *, params: Any, **_: Any
        ) -> dict[str, Any]:
            payload = dict(params.payload or {})
            responses.sent.append(Sent("response", payload))
            return callback_response(interaction_id, payload)

        async def execute_webhook(
            adapter: Any,
            webhook_id: int,
            token: str,
            *,
            payload: dict[str, Any] | None = None,
            **_: Any,
        ) -> dict[str, Any]:
            body = dict(payload or {})
            responses.sent.append(Sent("followup", body))
            config = dpytest.get_config()
            bot_user = config.client.user
            return message_payload(
                config.channels[0].id,
                bot_user,
                body.get("content") or "",
                embeds=body.get("embeds"),
            )

        async def get_original_interaction_response(
            adapter: Any, application_id: int, token: str, **_: Any
        ) -> dict[str, Any]:
            # Context.send of a hybrid command run as a slash command fetches what it sent.
            config = dpytest.get_config()
            return message_payload(config.channels[0].id, config.client.user, "")

        monkeypatch.setattr(
            AsyncWebhookAdapter, "create_interaction_response", create_interaction_response
        )
        monkeypatch.setattr(AsyncWebhookAdapter, "execute_webhook", execute_webhook)
        monkeypatch.setattr(
            AsyncWebhookAdapter,
            "get_original_interaction_response",
            get_original_interaction_response,
        )


def make_interaction(
    bot: commands.Bot,
    name: str,
    *,
    options: list[dict[str, Any]] | None = None,
    command_type: int = CHAT_INPUT,
    member: discord.Member | None = None,
    permissions: str = NO_PERMISSIONS,
    in_guild: bool = True,
    target: discord.Member | None = None,
    target_message_content: str | None = None,
    interaction_type: int = APPLICATION_COMMAND,
    guild: discord.Guild | None = None,
) -> discord.Interaction[Any]:
    """A real Interaction for the command ``name`` run by ``member`` (default: dpytest's first).

    ``guild`` (default: dpytest's first) is where it runs, from its first text channel; pass a
    ``member`` of that guild with it.

    ``target`` makes a user context menu's target; ``target_message_content`` a message context
    menu's target message (authored by the bot, in the first text channel).
    """
    config = dpytest.get_config()
    if guild is None:
        guild = config.guilds[0]
        channel = config.channels[0]
    else:
        channel = guild.text_channels[0]
    member = member if member is not None else config.members[0]
    target_message = None
    if command_type == USER_MENU:
        assert target is not None
    elif command_type == MESSAGE_MENU:
        assert target_message_content is not None
        target_message = message_payload(channel.id, config.client.user, target_message_content)
    payload = interaction_payload(
        command_data(
            name,
            command_type=command_type,
            options=options,
            target=target,
            target_message=target_message,
        ),
        member,
        channel if in_guild else None,
        application_id=bot.application_id or snowflake(),
        permissions=permissions,
        interaction_type=interaction_type,
    )
    return discord.Interaction(data=payload, state=bot._connection)  # type: ignore[arg-type]


async def settle() -> None:
    """Let scheduled listener tasks (completion and error events) run to the end."""
    for _ in range(5):
        await asyncio.sleep(0)
    await dpytest.run_all_events()


_INVOKER = "CommandTree-invoker"
"""The name discord.py gives the task that runs an app command."""


async def invoke(bot: commands.Bot, interaction: discord.Interaction[Any]) -> None:
    """Run an interaction exactly as discord.py's gateway handler does, and wait for its end.

    ``ConnectionState.parse_interaction_create`` hands an application command (or autocomplete)
    to the tree, which starts a task for it, then dispatches the ``interaction`` event. An
    exception that escapes the tree's task (an error no handler took) is re-raised here.
    """
    state = bot._connection
    tree = state._command_tree
    assert tree is bot.tree, "harness.configure(bot) links dpytest's state to the bot's tree"
    before = asyncio.all_tasks()
    tree._from_interaction(interaction)
    state.dispatch("interaction", interaction)
    started = [t for t in asyncio.all_tasks() - before if t.get_name() == _INVOKER]
    assert len(started) == 1, started
    (task,) = started
    await asyncio.wait({task})
    await settle()
    if task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


async def run_command(bot: commands.Bot, name: str, **kwargs: Any) -> discord.Interaction[Any]:
    """Build and invoke an interaction for ``name``; return it for inspection."""
    interaction = make_interaction(bot, name, **kwargs)
    await invoke(bot, interaction)
    return interaction
