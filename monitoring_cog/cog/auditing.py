"""Automatic auditing of every command the bot runs, through discord.py's own hooks.

Where each kind of command is seen (discord.py 2.x):

- Prefix and hybrid commands: the bot's ``before_invoke`` hook starts the clock, its
  ``after_invoke`` hook records a success. A failure is recorded by the ``on_command_error``
  listener, which has the error; checks, bad arguments and cooldowns fail before any hook runs
  and are recorded there too, with a duration of 0.
- Slash commands, subcommands and context menus: the tree's ``interaction_check`` starts the
  clock (and records a check that returns False), the tree's ``on_error`` records a failure. A
  success is recorded as discord.py dispatches ``app_command_completion``, by the check of a
  standing ``bot.wait_for`` (see :meth:`CommandAuditor._watch_completions`). A hybrid command's
  app side is skipped there, so a hybrid run is counted once, by the prefix path.

The four hooks are single slots: the auditor chains to whatever the bot had set, and on
uninstall restores it only if the slot still holds the auditor's own hook. Recording is a
synchronous append to the buffer, inline in the hook that sees the outcome: none of it costs a
listener task of its own (see ``benchmarks/hot_path.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from ..clock import Clock, SystemClock
from ..privacy import REDACTED
from ..records import DM_GUILD_ID, CommandRecord

if TYPE_CHECKING:
    from ..privacy import Privacy
    from ..system import MonitoringSystem

__all__ = ("CommandAuditor",)

_log = logging.getLogger(__name__)
# discord.py's own logger for unhandled command errors, so a bot's logging set-up still applies.
_discord_log = logging.getLogger("discord.ext.commands.bot")

_STARTED = "_monitoring_started"
"""Attribute of a commands.Context, key of Interaction.extras: when the command started."""
_ENDED = "_monitoring_ended"
_COMPLETION = "app_command_completion"
_APPLICATION_COMMAND = discord.InteractionType.application_command
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


_NO_ARGUMENTS = "{}"
"""The parameters of a command that took none, already as the JSON text the writer stores."""


def _ctx_parameters(
    ctx: commands.Context[Any], ran: bool, privacy: Privacy
) -> dict[str, Any] | str:
    """The command's arguments by name (``ran``: it got as far as its before-invoke hook)."""
    command = ctx.command
    params: dict[str, Any] | None = None
    if command is not None:
        # ctx.args starts with the cog (for cog commands) and the context itself. Command.cog
        # is a property: asked only when there is more than the context.
        args = ctx.args
        offset = 2 if len(args) > 1 and command.cog is not None else 1
        if len(args) > offset:
            params = dict(zip(command.clean_params, args[offset:], strict=False))
            params.update(ctx.kwargs)
        elif ctx.kwargs:
            params = dict(ctx.kwargs)
        if not ran and ctx.interaction is None:
            # Failed before it ran (check, cooldown, bad argument): keep what the user typed
            # too, since the arguments may not have been parsed, or not all of them.
            raw = _raw_arguments(ctx)
            if raw:
                params = params if params is not None else {}
                # The typed text holds every argument's value, named or not: if any parameter
                # of the command is redacted, so is the whole text (the writer cannot tell).
                sensitive = privacy.redacts and privacy.any_sensitive(command.clean_params)
                params["_raw"] = REDACTED if sensitive else raw
    return params if params is not None else _NO_ARGUMENTS


def _raw_arguments(ctx: commands.Context[Any]) -> str:
    text = ctx.message.content[len(ctx.prefix or "") :].lstrip()
    for word in (*ctx.invoked_parents, ctx.invoked_with or ""):
        if word and text.startswith(word):
            text = text[len(word) :].lstrip()
    return text.strip()


def _interaction_parameters(interaction: discord.Interaction[Any]) -> dict[str, Any] | str:
    """The options given by name."""
    data: Any = interaction.data
    if not data:
        return _NO_ARGUMENTS
    if "target_id" in data:  # Context menu.
        return {"target_id": data["target_id"]}
    options = data.get("options")
    # Subcommand groups (type 2) and subcommands (type 1) nest the real options.
    while options and options[0].get("type") in (1, 2):
        options = options[0].get("options")
    if not options:
        return _NO_ARGUMENTS
    return {option["name"]: option.get("value") for option in options}


_HybridApp = commands.hybrid.HybridAppCommand
"""A hybrid command's app side. Its class marker attribute only exists from discord.py 2.4;
the class itself is in every 2.x."""


def _is_hybrid_app(command: Any) -> bool:
    return isinstance(command, _HybridApp)


_ID_TEXTS = 4096


class _IdText(dict[int, str]):
    """``str(id)`` of the Discord ids seen lately, the same text object each time.

    Guilds and users recur: reusing their text saves converting an 18-digit number per command,
    keeps a queued record small, and lets the writer hash the id once (a str caches its hash).
    Bounded: past ``_ID_TEXTS`` ids it starts afresh.
    """

    __slots__ = ()

    def __missing__(self, key: int) -> str:
        if len(self) >= _ID_TEXTS:
            self.clear()
        text = self[key] = str(key)
        return text


def _readers(clock: Clock) -> tuple[Callable[[], float], Callable[[], float]]:
    """``clock``'s (monotonic, time) as plain callables.

    For the system clock, the C functions its methods call: a Python frame less per reading (a
    command takes up to three).
    """
    if type(clock) is SystemClock:
        return time.perf_counter, time.time
    return clock.monotonic, clock.time


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
        self._monotonic, self._time = _readers(self.clock)
        # The recorder's own submit (Database.submit only forwards to it).
        self._submit: Callable[[CommandRecord], bool] = system.db.recorder.submit
        self.privacy: Privacy = system.db.privacy
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
        self._check_admits_all = False
        self._tree_had_on_error = False
        self._watcher: asyncio.Task[None] | None = None
        self._watching = False
        self._id_text = _IdText()
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
        # discord.py's own check admits everything; awaiting it would only cost a coroutine.
        self._check_admits_all = not self._tree_had_check and (
            type(tree).interaction_check is app_commands.CommandTree.interaction_check
        )
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
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            # Cancelling its future takes the check out of the bot's waiters at the next dispatch;
            # until then it sees installed False and records nothing.
            watcher.cancel()

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
        setattr(ctx, _STARTED, self._monotonic())
        if self._prev_before is not None:
            await self._prev_before(ctx)

    async def _after_invoke(self, ctx: commands.Context[Any]) -> None:
        try:
            if ctx.command_failed:
                # The error arrives later at on_command_error; remember when the command ended.
                setattr(ctx, _ENDED, self._monotonic())
            else:
                self._record_context(ctx, None, self._monotonic())
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
                ended = getattr(ctx, _ENDED, None) or self._monotonic()
                self._record_context(ctx, error, ended)
        except Exception as exc:
            self._internal_error("on_command_error", exc)
        self._log_if_unhandled(ctx, error)

    def _record_context(
        self, ctx: commands.Context[Any], error: BaseException | None, ended: float
    ) -> None:
        # Runs inline in every command's after_invoke: plain comparisons rather than max(), a
        # record made from one tuple, no dict for a command without arguments. Each allocation
        # a command makes also brings the next garbage collection nearer.
        started = getattr(ctx, _STARTED, None)
        if started is None:
            duration = since_start = 0.0
        else:
            elapsed = ended - started
            duration = elapsed if elapsed > 0.0 else 0.0
            # A failure is recorded when its error reaches the listener, after the command
            # ended: date it from its start, not from now.
            since_start = elapsed if error is None else self._monotonic() - started
        # Context.guild and .author are shorthands for the message's, via a cached property.
        message = ctx.message
        guild = message.guild
        author = message.author
        command = ctx.command
        if command is None:
            name = str(ctx.invoked_with)
        else:
            # qualified_name walks the parents and joins them; a top-level command is its name.
            name = command.name if command.parent is None else command.qualified_name
        if error is None:
            failed = False
            error_type = error_message = None
        else:
            root = _root_error(error)
            failed = True
            error_type = type(root).__name__
            error_message = _error_message(root)
        id_text = self._id_text
        self._submit(
            # CommandRecord._make without its Python frame (and its length check: the tuple is
            # written out here).
            tuple.__new__(
                CommandRecord,
                (
                    id_text[guild.id] if guild is not None else DM_GUILD_ID,
                    guild.name if guild is not None else None,
                    id_text[author.id],
                    str(author),
                    name,
                    _ctx_parameters(ctx, started is not None, self.privacy),
                    duration,
                    not failed,
                    error_type,
                    error_message,
                    self._time() - since_start,
                ),
            )
        )
        self.perf.record_metric("command", name, duration, failed=failed)

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
        is_command = interaction.type is _APPLICATION_COMMAND
        if is_command:
            interaction.extras[_STARTED] = self._monotonic()
            if not self._watching:
                await self._watch_completions()
        if self._check_admits_all:
            return True
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

    async def _watch_completions(self) -> None:
        """Start recording successes as discord.py dispatches ``app_command_completion``.

        A success has no hook of its own: discord.py only dispatches the event. A listener would
        cost a task per command; instead a standing ``bot.wait_for`` holds a check that
        ``Client.dispatch`` calls inline with the event's arguments. The check records and
        returns False, so the wait never ends. It is started from the first app command (the
        bot's loop is running by then) and this awaits one loop turn, in which the waiting task
        registers its check, so that command's completion is seen too.
        """
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(
                self._completions(), name="monitoring_cog-app-command-completions"
            )
        await asyncio.sleep(0)

    async def _completions(self) -> None:
        self._watching = True
        try:
            await self.bot.wait_for(_COMPLETION, check=self._completion_check)
        except Exception:
            # The check never raises; anything else is discord.py's, and the next app command
            # starts a new watcher.
            _log.exception("monitoring: watching app command completions stopped")
        finally:
            self._watching = False

    def _completion_check(self, interaction: discord.Interaction[Any], command: Any) -> bool:
        # _is_hybrid_app inline: this runs for every app command.
        if self.installed and not isinstance(command, _HybridApp):
            try:
                self._record_interaction(interaction, command, None)
            except Exception as exc:
                self._internal_error("app_command_completion", exc)
        return False  # Never: the wait must go on.

    def on_app_command_completion(
        self, interaction: discord.Interaction[Any], command: Any
    ) -> None:
        """Record a successful slash command or context menu seen by a listener.

        Nothing to do while successes are recorded inline (see :meth:`_watch_completions`),
        which is from the first app command on; a listener calling this is then redundant.
        """
        if self._watching or _is_hybrid_app(command):
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
        # Runs inline for every app command: see _record_context.
        now = self._monotonic()
        started = interaction.extras.get(_STARTED)
        if started is None:
            duration = 0.0
        else:
            elapsed = now - started
            duration = elapsed if elapsed > 0.0 else 0.0
        user = interaction.user
        guild_id = interaction.guild_id
        guild = interaction.guild
        if command is not None:
            # A top-level command or a context menu (no parent) is its name; qualified_name is
            # a property that walks the parents.
            if getattr(command, "parent", None) is None:
                name = command.name
            else:
                name = getattr(command, "qualified_name", None) or command.name
        else:
            data: Any = interaction.data or {}
            name = str(data.get("name", "unknown"))
        if error is None:
            failed = False
            error_type = error_message = None
        else:
            root = _root_error(error)
            failed = True
            error_type = type(root).__name__
            error_message = _error_message(root)
        id_text = self._id_text
        self._submit(
            tuple.__new__(  # As in _record_context.
                CommandRecord,
                (
                    id_text[guild_id] if guild_id is not None else DM_GUILD_ID,
                    guild.name if guild is not None else None,
                    id_text[user.id],
                    str(user),
                    name,
                    _interaction_parameters(interaction),
                    duration,
                    not failed,
                    error_type,
                    error_message,
                    self._time() - duration,
                ),
            )
        )
        self.perf.record_metric("command", name, duration, failed=failed)

    def _internal_error(self, where: str, exc: Exception) -> None:
        self.db.errors.record(f"CommandAuditor.{where}", exc)
        _log.exception("monitoring: auditing failed in %s", where)
