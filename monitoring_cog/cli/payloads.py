"""Discord's JSON for users, members, messages and slash-command interactions, built locally.

discord.py turns these payloads into its own objects (``discord.Message``,
``discord.Interaction``) exactly as it does with what the gateway sends, so a bot driven by them
runs its real code paths with no connection to Discord. The offline demo builds its interactions
here; the test suite and the benchmarks use the same builders.

Only the fields discord.py reads are filled in, with the values Discord would send for a plain
member of a guild with no roles.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import discord

if TYPE_CHECKING:
    from discord.guild import GuildChannel

__all__ = (
    "APPLICATION_COMMAND",
    "AUTOCOMPLETE",
    "BUTTON",
    "CHANNEL_MESSAGE",
    "CHAT_INPUT",
    "COMPONENT",
    "DEFERRED_CHANNEL_MESSAGE",
    "EPHEMERAL",
    "MESSAGE_MENU",
    "MODAL_SUBMIT",
    "NO_PERMISSIONS",
    "STRING_SELECT",
    "USER_MENU",
    "Identity",
    "UserLike",
    "callback_response",
    "command_data",
    "component_data",
    "interaction_payload",
    "member_payload",
    "message_payload",
    "modal_data",
    "option",
    "snowflake",
    "subcommand",
    "user_payload",
)

# Interaction types.
APPLICATION_COMMAND = 2
COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
# Component types.
BUTTON = 2
STRING_SELECT = 3
_ACTION_ROW = 1
_TEXT_INPUT = 4
# Application command types.
CHAT_INPUT = 1
USER_MENU = 2
MESSAGE_MENU = 3
# Interaction response types.
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
# Message flags.
EPHEMERAL = 64

NO_PERMISSIONS = "0"
"""A member's resolved permissions when none are granted."""

_SUBCOMMAND = 1
_OPTION_TYPES = {str: 3, int: 4, bool: 5, float: 10}
_JOINED_AT = datetime(2024, 1, 1, tzinfo=UTC).isoformat()
_TOKEN = "interaction-token"

_sequence = itertools.count()


def snowflake() -> int:
    """A Discord id for the current time, unique within this process.

    Fresh ids matter: discord.py refuses to answer an interaction whose id says it expired.
    """
    # The low 12 bits are Discord's per-process increment: distinct ids within one millisecond.
    # The worker bits stay 0, so these never equal dpytest's ids (worker 1).
    return discord.utils.time_snowflake(datetime.now(UTC)) + next(_sequence) % 4096


class UserLike(Protocol):
    """What a user payload is made from: a ``discord.User``, a ``discord.Member``, an Identity."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def discriminator(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Identity:
    """A user known by id and name only, for payloads built before discord.py holds the user."""

    id: int
    name: str
    discriminator: str = "0"


def user_payload(user: UserLike) -> dict[str, Any]:
    """A user as Discord sends it (no global name, no avatar)."""
    return {
        "id": str(user.id),
        "username": user.name,
        "discriminator": user.discriminator,
        "global_name": None,
        "avatar": None,
    }


def member_payload(user: UserLike, permissions: str | None = None) -> dict[str, Any]:
    """A guild member with no roles, who joined on 1 January 2024.

    ``permissions`` are the member's resolved permissions in the channel (a decimal string), as
    Discord sends them in an interaction; a member in a guild's member list has none.
    """
    payload: dict[str, Any] = {
        "user": user_payload(user),
        "roles": [],
        "joined_at": _JOINED_AT,
        "deaf": False,
        "mute": False,
        "flags": 0,
    }
    if permissions is not None:
        payload["permissions"] = permissions
    return payload


def message_payload(
    channel_id: int,
    author: UserLike,
    content: str,
    *,
    embeds: list[Any] | None = None,
    guild_id: int | None = None,
    components: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A plain message posted now by ``author`` (MESSAGE_CREATE's payload).

    With ``guild_id`` it is posted in that guild and carries the author's member data, as
    MESSAGE_CREATE does in a guild. ``components`` are its component payloads (action rows).
    """
    payload: dict[str, Any] = {
        "id": str(snowflake()),
        "channel_id": str(channel_id),
        "author": user_payload(author),
        "content": content,
        "timestamp": datetime.now(UTC).isoformat(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds or [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }
    if components is not None:
        payload["components"] = components
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        member = member_payload(author)
        del member["user"]  # The author field already holds it.
        payload["member"] = member
    return payload


def option(name: str, value: str | int | bool | float) -> dict[str, Any]:
    """A slash-command option as the user filled it in; its type follows the value's."""
    return {"name": name, "type": _OPTION_TYPES[type(value)], "value": value}


def subcommand(name: str, options: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A subcommand chosen in a slash command, with its ``options``."""
    return {"name": name, "type": _SUBCOMMAND, "options": options or []}


def command_data(
    name: str,
    *,
    command_type: int = CHAT_INPUT,
    options: list[dict[str, Any]] | None = None,
    target: UserLike | None = None,
    target_message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``data`` of an application-command interaction: which command, with what.

    ``target`` is a user context menu's target (a member with no permissions),
    ``target_message`` a message context menu's (a :func:`message_payload`).
    """
    data: dict[str, Any] = {"id": str(snowflake()), "name": name, "type": command_type}
    if options is not None:
        data["options"] = options
    if target is not None:
        member = member_payload(target, NO_PERMISSIONS)
        data["target_id"] = str(target.id)
        data["resolved"] = {
            "users": {str(target.id): member.pop("user")},
            "members": {str(target.id): member},
        }
    if target_message is not None:
        data["target_id"] = target_message["id"]
        data["resolved"] = {"messages": {target_message["id"]: target_message}}
    return data


def component_data(
    custom_id: str, component_type: int = BUTTON, values: list[str] | None = None
) -> dict[str, Any]:
    """The ``data`` of a component interaction: the button pressed, or the select menu and the
    ``values`` chosen in it."""
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
    if component_type != BUTTON:
        data["values"] = values or []
    return data


def modal_data(custom_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """The ``data`` of a modal submit: the modal, and its text inputs' ``fields`` as filled."""
    rows = [
        {
            "type": _ACTION_ROW,
            "components": [{"type": _TEXT_INPUT, "custom_id": key, "value": value}],
        }
        for key, value in fields.items()
    ]
    return {"custom_id": custom_id, "components": rows}


def interaction_payload(
    data: dict[str, Any],
    user: UserLike,
    channel: GuildChannel | None,
    *,
    application_id: int,
    permissions: str = NO_PERMISSIONS,
    interaction_type: int = APPLICATION_COMMAND,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload: ``user`` runs the command ``data`` in ``channel``.

    ``channel`` is a guild's text channel, where ``user`` is a member with ``permissions``;
    ``None`` runs the command in a direct message to the bot instead. The bot may do anything.
    A component interaction (:data:`COMPONENT`, :func:`component_data`) comes from the
    ``message`` holding the component (a :func:`message_payload`).
    """
    payload: dict[str, Any] = {
        "id": str(snowflake()),
        "application_id": str(application_id),
        "type": interaction_type,
        "token": _TOKEN,
        "version": 1,
        "data": data,
        "locale": "en-US",
        "attachment_size_limit": 8 * 1024 * 1024,
        "app_permissions": str(discord.Permissions.all().value),
    }
    if message is not None:
        payload["message"] = message
    if channel is not None:
        guild_id = str(channel.guild.id)
        payload["guild_id"] = guild_id
        payload["guild_locale"] = "en-US"
        payload["channel_id"] = str(channel.id)
        # As Discord sends it: discord.py 2.3.0 builds the channel from it and needs
        # name and position.
        payload["channel"] = {
            "id": str(channel.id),
            "type": 0,
            "guild_id": guild_id,
            "name": channel.name,
            "position": channel.position,
        }
        payload["member"] = member_payload(user, permissions)
    else:
        dm_id = str(snowflake())
        payload["channel_id"] = dm_id
        payload["channel"] = {"id": dm_id, "type": 1, "recipients": [user_payload(user)]}
        payload["user"] = user_payload(user)
        payload["context"] = 1
    return payload


def callback_response(interaction_id: int, response: dict[str, Any]) -> dict[str, Any]:
    """What Discord returns for an interaction's initial ``response`` (or deferral) to it."""
    data = response.get("data") or {}
    return {
        "interaction": {
            "id": str(interaction_id),
            "type": APPLICATION_COMMAND,
            "response_message_loading": response.get("type") == DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": bool(int(data.get("flags", 0)) & EPHEMERAL),
        }
    }
