"""Automatic auditing of every command the bot runs, through discord.py's own hooks.

Where each kind of command is seen (discord.py 2.x):

- Prefix and hybrid commands: the bot's ``before_invoke`` hook starts the clock, its
  ``after_invoke`` hook records a success. A failure is recorded by the ``on_command_error``
  listener, which has the error; checks, bad arguments and cooldowns fail before any hook runs
  and are recorded there too, with a duration of 0.
- Slash commands, subcommands and context menus: the tree's ``interaction_check`` starts the
  clock (and records a check that returns False), the ``on_app_command_completion`` listener
  records a success and the tree's ``on_error`` a failure. A hybrid command's app side is skipped
  there, so a hybrid run is counted once, by the prefix path.

The four hooks are single slots: the auditor chains to whatever the bot had set, and on
uninstall restores it only if the slot still holds the auditor's own hook. Recording is a
synchronous append to the buffer; no hook awaits anything of the auditor's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from ..records import DM_GUILD_ID, CommandRecord

if TYPE_CHECKING:
    from ..clock import Clock
    from ..system import MonitoringSystem

__all__ = ("CommandAuditor",)

_log = logging.getLogger(__name__)
# discord.py's own logger for unhandled command errors, so a bot's logging set-up still applies.
_discord_log = logging.getLogger("discord.ext.commands.bot")

_STARTED = "_monitoring_started"
"""Attribute of a commands.Context, key of Interaction.extras: when the command started."""
_ENDED = "_monitoring_ended"
_MAX_ERROR = 1000

Hook = Callable[..., Any]


def _error_message(error: BaseException) -> str:
    text = str(error)
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _root_error(error: BaseException) -> BaseException:
    """The exception the command raised, out of discord.py's wrappers."""
    while isinstance(
        error,
        commands.CommandInvokeError | commands.HybridCommandError | app_commands.CommandInvokeError,
    ):
        inner = error.original
        if inner is None or inner is error:
            break
        error = inner
    return error


def _ctx_parameters(ctx: commands.Context[Any]) -> dict[str, Any]:
    command = ctx.command
    if command is None:
        return {}
    names = list(command.clean_params)
    # ctx.args starts with the cog (for cog commands) and the context itself.
    offset = 2 if command.cog is not None else 1
    params = dict(zip(names, ctx.args[offset:], strict=False))
    params.update(ctx.kwargs)
    if not hasattr(ctx, _STARTED) and ctx.interaction is None:
        # Failed before it ran (check, cooldown, bad argument): keep what the user typed too,
        # since the arguments may not have been parsed, or not all of them.
        raw = _raw_arguments(ctx)
        if raw:
            params["_raw"] = raw
    return params


def _raw_arguments(ctx: commands.Context[Any]) -> str:
    text = ctx.message.content[len(ctx.prefix or "") :].lstrip()
    for word in (*ctx.invoked_parents, ctx.invoked_with or ""):
        if word and text.startswith(word):
            text = text[len(word) :].lstrip()
    return text.strip()


def _interaction_parameters(interaction: discord.Interaction[Any]) -> dict[str, Any]:
    data: Any = interaction.data or {}
    if "target_id" in data:  # Context menu.
        return {"target_id": data["target_id"]}
    options = data.get("options", [])
    # Subcommand groups (type 2) and subcommands (type 1) nest the real options.
    while options and options[0].get("type") in (1, 2):
        options = options[0].get("options", [])
    return {option["name"]: option.get("value") for option in options}


def _is_hybrid_app(command: Any) -> bool:
    return bool(getattr(command, "__commands_is_hybrid_app_command__", False))


class CommandAuditor:
    """Installs the hooks that audit every command, and removes them again.

    Parameters
    ----------
    bot:
        The bot to audit.
    system:
        Where records go (its database's buffer) and the in-memory latency metrics.
    """

    def __init__(self, bot: commands.Bot, system: MonitoringSystem) -> None:
        self.bot = bot
        self.db = system.db
        self.perf = system.perf_monitor
        self.clock: Clock = system.db.clock
        self.unknown_commands = 0
        """Commands that did not exist (counted only; they carry no audit row)."""
        self.installed = False
        self.owner: object | None = None
        """The cog whose ``on_command_error`` listener feeds :meth:`on_command_error`."""
        self._prev_before: Hook | None = None
        self._prev_after: Hook | None = None
        self._prev_check: Hook | None = None
        self._prev_on_error: Hook | None = None
        self._tree_had_check = False
        self._tree_had_on_error = False
        # Bound methods are created afresh on each access; keep one of each to compare slots.
        self._before_hook: Hook = self._before_invoke
        self._after_hook: Hook = self._after_invoke
        self._check_hook: Hook = self._interaction_check
        self._error_hook: Hook = self._tree_on_error

    # -- installation -------------------------------------------------------------------------

    def install(self) -> None:
        """Chain into the bot's invoke hooks and the tree's check and error handler."""
        if self.installed:
            return
        bot = self.bot
        self._prev_before = bot._before_invoke
        self._prev_after = bot._after_invoke
        bot._before_invoke = self._before_hook
        bot._after_invoke = self._after_hook
        tree = bot.tree
        self._tree_had_check = "interaction_check" in vars(tree)
        self._tree_had_on_error = "on_error" in vars(tree)
        self._prev_check = tree.interaction_check
        self._prev_on_error = tree.on_error
        tree.interaction_check = self._check_hook  # type: ignore[method-assign]
        tree.on_error = self._error_hook  # type: ignore[method-assign]
        self.installed = True

    def uninstall(self) -> None:
        """Restore every hook that still holds ours; leave alone any the bot replaced since."""
        if not self.installed:
            return
        bot = self.bot
        if bot._before_invoke == self._before_hook:
            bot._before_invoke = self._prev_before
        else:
            _log.warning("monitoring: bot.before_invoke was replaced while loaded; left as is")
        if bot._after_invoke == self._after_hook:
            bot._after_invoke = self._prev_after
        else:
            _log.warning("monitoring: bot.after_invoke was replaced while loaded; left as is")
        tree = bot.tree
        self._restore(
            tree, "interaction_check", self._check_hook, self._prev_check, self._tree_had_check
        )
        self._restore(
            tree, "on_error", self._error_hook, self._prev_on_error, self._tree_had_on_error
        )
        self.installed = False

    @staticmethod
    def _restore(tree: Any, name: str, ours: Hook, previous: Hook | None, had: bool) -> None:
        if vars(tree).get(name) != ours:
            _log.warning("monitoring: tree.%s was replaced while loaded; left as is", name)
        elif had:
            setattr(tree, name, previous)
        else:
            delattr(tree, name)  # Back to the class's own method.

    # -- prefix and hybrid commands ----------------------------------------------------------

    async def _before_invoke(self, ctx: commands.Context[Any]) -> None:
        setattr(ctx, _STARTED, self.clock.monotonic())
        if self._prev_before is not None:
            await self._prev_before(ctx)

    async def _after_invoke(self, ctx: commands.Context[Any]) -> None:
        try:
            if ctx.command_failed:
                # The error arrives later at on_command_error; remember when the command ended.
                setattr(ctx, _ENDED, self.clock.monotonic())
            else:
                self._record_context(ctx, None, self.clock.monotonic())
        except Exception as exc:
            self._internal_error("after_invoke", exc)
        if self._prev_after is not None:
            await self._prev_after(ctx)

    def on_command_error(self, ctx: commands.Context[Any], error: commands.CommandError) -> None:
        """Record a failed prefix or hybrid command (called by the cog's listener)."""
        try:
            if isinstance(error, commands.CommandNotFound):
                self.unknown_commands += 1
            else:
                ended = getattr(ctx, _ENDED, None) or self.clock.monotonic()
                self._record_context(ctx, error, ended)
        except Exception as exc:
            self._internal_error("on_command_error", exc)
        self._log_if_unhandled(ctx, error)

    def _record_context(
        self, ctx: commands.Context[Any], error: BaseException | None, ended: float
    ) -> None:
        started = getattr(ctx, _STARTED, None)
        duration = max(0.0, ended - started) if started is not None else 0.0
        # A failure is recorded when its error reaches the listener, after the command ended:
        # date it from its start, not from now.
        since_start = self.clock.monotonic() - started if started is not None else duration
        guild = ctx.guild
        author = ctx.author
        command = ctx.command
        name = command.qualified_name if command is not None else str(ctx.invoked_with)
        root = _root_error(error) if error is not None else None
        self.db.submit(
            CommandRecord(
                guild_id=str(guild.id) if guild is not None else DM_GUILD_ID,
                guild_name=guild.name if guild is not None else None,
                user_id=str(author.id),
                username=str(author),
                command=name,
                parameters=_ctx_parameters(ctx),
                duration=duration,
                success=root is None,
                error_type=type(root).__name__ if root is not None else None,
                error_message=_error_message(root) if root is not None else None,
                executed_at=self.clock.time() - since_start,
            )
        )
        self.perf.record_metric("command", name, duration, failed=root is not None)

    def _log_if_unhandled(self, ctx: commands.Context[Any], error: BaseException) -> None:
        """Log as discord.py would have, had our listener not silenced its default handler."""
        bot = self.bot
        handler = bot.on_command_error
        if getattr(handler, "__func__", None) is not commands.Bot.on_command_error:
            return  # The bot has its own handler (subclass or @bot.event); discord.py calls it.
        listeners = bot.extra_events.get("on_command_error", [])
        if any(getattr(listener, "__self__", None) is not self.owner for listener in listeners):
            return  # Another listener handles errors.
        command = ctx.command
        if command is not None and command.has_error_handler():
            return
        cog = ctx.cog
        if cog is not None and cog.has_error_handler():
            return
        _discord_log.error(
            "Ignoring exception in command %s",
            command,
            exc_info=(type(error), error, error.__traceback__),
        )

    # -- slash commands, subcommands, context menus -------------------------------------------

    async def _interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        is_command = interaction.type is discord.InteractionType.application_command
        if is_command:
            interaction.extras[_STARTED] = self.clock.monotonic()
        assert self._prev_check is not None
        allowed = bool(await self._prev_check(interaction))
        if not allowed and is_command:
            try:
                self._record_interaction(
                    interaction,
                    interaction.command,
                    app_commands.CheckFailure("The bot's interaction check refused the command."),
                )
            except Exception as exc:
                self._internal_error("interaction_check", exc)
        return allowed

    def on_app_command_completion(
        self, interaction: discord.Interaction[Any], command: Any
    ) -> None:
        """Record a successful slash command or context menu (called by the cog's listener)."""
        if _is_hybrid_app(command):
            return
        try:
            self._record_interaction(interaction, command, None)
        except Exception as exc:
            self._internal_error("app_command_completion", exc)

    async def _tree_on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /
    ) -> None:
        try:
            if isinstance(error, app_commands.CommandNotFound):
                self.unknown_commands += 1
            else:
                command = interaction.command
                if not _is_hybrid_app(command):
                    self._record_interaction(interaction, command, error)
        except Exception as exc:
            self._internal_error("tree.on_error", exc)
        assert self._prev_on_error is not None
        await self._prev_on_error(interaction, error)

    def _record_interaction(
        self, interaction: discord.Interaction[Any], command: Any, error: BaseException | None
    ) -> None:
        now = self.clock.monotonic()
        started = interaction.extras.get(_STARTED)
        duration = max(0.0, now - started) if started is not None else 0.0
        user = interaction.user
        guild_id = interaction.guild_id
        guild = interaction.guild
        if command is not None:
            name = getattr(command, "qualified_name", None) or command.name
        else:
            data: Any = interaction.data or {}
            name = str(data.get("name", "unknown"))
        root = _root_error(error) if error is not None else None
        self.db.submit(
            CommandRecord(
                guild_id=str(guild_id) if guild_id is not None else DM_GUILD_ID,
                guild_name=guild.name if guild is not None else None,
                user_id=str(user.id),
                username=str(user),
                command=name,
                parameters=_interaction_parameters(interaction),
                duration=duration,
                success=root is None,
                error_type=type(root).__name__ if root is not None else None,
                error_message=_error_message(root) if root is not None else None,
                executed_at=self.clock.time() - duration,
            )
        )
        self.perf.record_metric("command", name, duration, failed=root is not None)

    def _internal_error(self, where: str, exc: Exception) -> None:
        self.db.errors.record(f"CommandAuditor.{where}", exc)
        _log.exception("monitoring: auditing failed in %s", where)
