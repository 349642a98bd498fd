"""What a command was given, by parameter name, as the audit row stores it.

Prefix and hybrid commands: the converted arguments discord.py put on the context (``ctx.args``
by position, ``ctx.kwargs`` by name), mapped back to the command's parameters. A variadic
parameter (``*choices``) holds a list of every value given; a keyword-only one (``*, text``) the
whole text. Slash commands, subcommands and context menus: the options as given.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from ..recording.privacy import REDACTED

if TYPE_CHECKING:
    import discord
    from discord.ext import commands

    from ..recording.privacy import Privacy

__all__ = ("NO_ARGUMENTS", "context_arguments", "interaction_arguments")

NO_ARGUMENTS = "{}"
"""The parameters of a command that took none, already as the JSON text the writer stores."""

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_SHAPES_KEPT = 4096

Shape = tuple[tuple[str, ...], str | None]
"""A command's positional parameter names, in order, and its variadic parameter's name."""


class CommandShapes(dict[Any, Shape]):
    """The :data:`Shape` of each command seen, worked out once per command.

    Bounded: past ``_SHAPES_KEPT`` commands (reloaded cogs make new command objects) it starts
    afresh.
    """

    __slots__ = ()

    def __missing__(self, command: Any) -> Shape:
        if len(self) >= _SHAPES_KEPT:
            self.clear()
        names: list[str] = []
        variadic: str | None = None
        for name, parameter in command.params.items():
            if parameter.kind in _POSITIONAL:
                names.append(name)
            elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                variadic = name
                break  # Only keyword-only parameters can follow; they are in ctx.kwargs.
        shape = self[command] = (tuple(names), variadic)
        return shape


def context_arguments(
    ctx: commands.Context[Any], ran: bool, privacy: Privacy, shapes: CommandShapes
) -> dict[str, Any] | str:
    """The arguments of a prefix or hybrid command (``ran``: it got as far as running).

    A command that failed before it ran (a check, a cooldown, a bad argument) also keeps what
    the user typed under ``_raw``, since its arguments may not have been parsed, or not all.
    """
    command = ctx.command
    if command is None:
        return NO_ARGUMENTS
    params: dict[str, Any] | None = None
    # ctx.args starts with the cog (for cog commands) and the context itself. Command.cog is a
    # property: asked only when there is more than the context.
    args = ctx.args
    offset = 2 if len(args) > 1 and command.cog is not None else 1
    if len(args) > offset:
        names, variadic = shapes[command]
        values = args[offset:]
        params = dict(zip(names, values, strict=False))
        if variadic is not None:
            params[variadic] = values[len(names) :]
        if ctx.kwargs:
            params.update(ctx.kwargs)
    elif ctx.kwargs:
        params = dict(ctx.kwargs)
    if not ran and ctx.interaction is None:
        raw = _typed_arguments(ctx)
        if raw:
            params = params if params is not None else {}
            # The typed text holds every argument's value, named or not: if any parameter of
            # the command is redacted, so is the whole text (the writer cannot tell them apart).
            sensitive = privacy.redacts and privacy.any_sensitive(command.params)
            params["_raw"] = REDACTED if sensitive else raw
    return params if params is not None else NO_ARGUMENTS


def _typed_arguments(ctx: commands.Context[Any]) -> str:
    text = ctx.message.content[len(ctx.prefix or "") :].lstrip()
    for word in (*ctx.invoked_parents, ctx.invoked_with or ""):
        if word and text.startswith(word):
            text = text[len(word) :].lstrip()
    return text.strip()


def interaction_arguments(interaction: discord.Interaction[Any]) -> dict[str, Any] | str:
    """The options of a slash command or subcommand by name; a context menu's target."""
    data: Any = interaction.data
    if not data:
        return NO_ARGUMENTS
    if "target_id" in data:  # Context menu.
        return {"target_id": data["target_id"]}
    options = data.get("options")
    # Subcommand groups (type 2) and subcommands (type 1) nest the real options.
    while options and options[0].get("type") in (1, 2):
        options = options[0].get("options")
    if not options:
        return NO_ARGUMENTS
    return {option["name"]: option.get("value") for option in options}
