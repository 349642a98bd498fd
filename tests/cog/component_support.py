"""Real views, selects, modals and dynamic items, used through real gateway payloads.

Each use is an INTERACTION_CREATE payload handed to ``ConnectionState.parse_interaction_create``,
discord.py's own gateway handler: it builds the Interaction, lets the view store find the view
(or modal, or dynamic item) and start its task, and dispatches the ``interaction`` event. Only
Discord's HTTP is faked (the ``responses`` fixture). The callbacks advance the
:class:`~monitoring_cog.ManualClock` by known amounts, so recorded durations are exact.
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import discord.ext.test as dpytest
from discord import ui
from discord.ext import commands
from interactions import settle

from monitoring_cog import ManualClock
from monitoring_cog.cli.payloads import (
    BUTTON,
    COMPONENT,
    MODAL_SUBMIT,
    component_data,
    interaction_payload,
    message_payload,
    modal_data,
    snowflake,
)

CLOSE = 0.25
"""Clock seconds the ticket view's close button takes."""
PICK = 0.125
"""Clock seconds the colour select takes."""
SUBMIT = 0.5
"""Clock seconds the feedback modal's on_submit takes."""
FAIL = 0.0625
"""Clock seconds a failing callback runs before it raises."""
HANDLE = 0.03125
"""Clock seconds an on_error of the bot's own takes."""


class TicketView(ui.View):
    """A persistent view, as bots make them: one message per ticket, its id in the custom_id."""

    def __init__(self, clock: ManualClock, ticket: int) -> None:
        super().__init__(timeout=None)
        self.clock = clock
        self.ran: list[str] = []
        close = ui.Button(label="Close", custom_id=f"ticket:close:{ticket}")
        close.callback = self.close  # type: ignore[method-assign]
        self.add_item(close)
        broken = ui.Button(label="Broken", custom_id=f"ticket:broken:{ticket}")
        broken.callback = self.broken  # type: ignore[method-assign]
        self.add_item(broken)

    async def close(self, interaction: discord.Interaction[Any]) -> None:
        self.ran.append("close")
        self.clock.advance(CLOSE)
        await interaction.response.send_message("closed", ephemeral=True)

    async def broken(self, interaction: discord.Interaction[Any]) -> None:
        self.ran.append("broken")
        self.clock.advance(FAIL)
        raise RuntimeError("the ticket could not be closed")


class ColourView(ui.View):
    """A select menu with a fixed custom_id, and a button whose custom_id discord.py makes up:
    a view sent with a message (bound to it, as ``send(view=...)`` does), not persistent."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(timeout=600)
        self.clock = clock
        self.picked: list[list[str]] = []

    @ui.select(
        custom_id="colour",
        options=[discord.SelectOption(label="Red"), discord.SelectOption(label="Blue")],
    )
    async def colour(self, interaction: discord.Interaction[Any], select: ui.Select[Any]) -> None:
        self.picked.append(list(select.values))
        self.clock.advance(PICK)
        await interaction.response.defer()

    @ui.button(label="Refresh")
    async def refresh(self, interaction: discord.Interaction[Any], button: ui.Button[Any]) -> None:
        self.clock.advance(PICK)
        await interaction.response.defer()


class HandledView(ui.View):
    """A view of the bot's own class that overrides ``on_error`` (and may fail in it)."""

    def __init__(self, clock: ManualClock, *, handler_fails: bool = False) -> None:
        super().__init__(timeout=None)
        self.clock = clock
        self.handler_fails = handler_fails
        self.handled: list[str] = []

    @ui.button(label="Go", custom_id="handled:go")
    async def go(self, interaction: discord.Interaction[Any], button: ui.Button[Any]) -> None:
        self.clock.advance(FAIL)
        raise ValueError("no go")

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: ui.Item[Any], /
    ) -> None:
        self.handled.append(type(error).__name__)
        self.clock.advance(HANDLE)
        if self.handler_fails:
            raise LookupError("the handler failed too")


class FeedbackModal(ui.Modal, title="Feedback"):
    """A modal with one text input; ``fail`` makes its on_submit raise."""

    text: ui.TextInput[Any] = ui.TextInput(label="Your feedback", custom_id="feedback:text")

    def __init__(self, clock: ManualClock, *, fail: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self.fail = fail
        self.received: list[str] = []

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        self.received.append(self.text.value)
        self.clock.advance(SUBMIT)
        if self.fail:
            raise RuntimeError("feedback not saved")
        await interaction.response.send_message("thanks", ephemeral=True)


def member(index: int = 0) -> discord.Member:
    return dpytest.get_config().members[index]  # type: ignore[no-any-return]


def view_message(bot: commands.Bot, view: ui.View | None = None) -> dict[str, Any]:
    """A message of the bot in the first channel, showing ``view``'s components."""
    config = dpytest.get_config()
    components = view.to_components() if view is not None else None
    return message_payload(config.channels[0].id, bot.user, "", components=components)  # type: ignore[arg-type]


def component_payload(
    bot: commands.Bot,
    custom_id: str,
    *,
    component_type: int = BUTTON,
    values: list[str] | None = None,
    message: dict[str, Any] | None = None,
    user: discord.Member | None = None,
    in_guild: bool = True,
) -> dict[str, Any]:
    """The INTERACTION_CREATE of ``user`` (default: the first member) using a component."""
    config = dpytest.get_config()
    return interaction_payload(
        component_data(custom_id, component_type, values),
        user if user is not None else member(),
        config.channels[0] if in_guild else None,
        application_id=bot.application_id or snowflake(),
        interaction_type=COMPONENT,
        message=message if message is not None else view_message(bot),
    )


def modal_payload(
    bot: commands.Bot, custom_id: str, fields: dict[str, str], user: discord.Member | None = None
) -> dict[str, Any]:
    """The INTERACTION_CREATE of ``user`` submitting the modal ``custom_id``."""
    config = dpytest.get_config()
    return interaction_payload(
        modal_data(custom_id, fields),
        user if user is not None else member(),
        config.channels[0],
        application_id=bot.application_id or snowflake(),
        interaction_type=MODAL_SUBMIT,
    )


async def use(bot: commands.Bot, payload: dict[str, Any]) -> list[asyncio.Task[Any]]:
    """Hand ``payload`` to discord.py's gateway handler; wait for the view's (or modal's, or
    dynamic item's) task it started, which is returned (none if no view took it)."""
    before = asyncio.all_tasks()
    bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    started = [task for task in asyncio.all_tasks() - before if task.get_name().startswith(_UI)]
    if started:
        await asyncio.wait(started)
    await settle()
    return started


_UI = "discord-ui-"
"""How discord.py names the tasks of views, modals and dynamic items."""
