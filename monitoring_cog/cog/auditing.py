"""Automatic auditing of every command the bot runs, through discord.py's own hooks.

Where each kind of command is seen (discord.py 2.x):

- Prefix and hybrid commands: the bot's ``before_invoke`` hook starts the clock, its
  ``after_invoke`` hook records a success (and notes when a failed command ended). A failure is
  recorded as discord.py dispatches ``command_error``; checks, bad arguments and cooldowns fail
  before any hook runs and are recorded there too, with a duration of 0. A failure whose error
  escapes ``bot.invoke`` (a command's local error handler that re-raises, or a check or hook
  raising something other than a ``CommandError``: discord.py then dispatches no
  ``command_error``) is recorded by the ``bot.invoke`` wrapper it escapes through.
- Slash commands, subcommands and context menus: the tree's ``interaction_check`` starts the
  clock (and records a check that returns False), the tree's ``on_error`` records a failure, and
  a success is recorded as discord.py dispatches ``app_command_completion``. A hybrid command's
  app side is skipped there, so a hybrid run is counted once, by the prefix path. An error that
  is not an ``AppCommandError`` (a check that raises one) reaches no event: the tree's ``_call``,
  which its task for the interaction runs, is wrapped to record it.

Two kinds of place, and why both:

- **Events** (``command_error``, ``app_command_completion``, ``interaction``) cannot be taken
  away by the bot: they are watched by the checks of standing ``bot.wait_for`` calls, which
  ``Client.dispatch`` calls inline with the event's arguments (no listener task per command),
  registered when the cog loads. The checks record and return False, so the waits never end.
- **Slots** (``bot.before_invoke``/``after_invoke``, ``tree.interaction_check``/``on_error``)
  are single hooks the bot may refill at any time (an error-handler cog loaded later, a
  ``setup_hook``): only they see a command's start, a refusing tree check or a slash failure.
  Each is a :class:`~monitoring_cog.cog.hook_slots.HookSlot`, checked where the auditor always
  passes before the slot is used (the ``bot.invoke`` wrapper for prefix commands, the
  ``interaction`` event for app commands) and chained again in front of whatever the bot put
  there. The bot's latest hook runs once, after ours; unload leaves it alone in its slot.

Recording is a synchronous append to the buffer, inline in the hook that sees the outcome (see
``benchmarks/hot_path.py``). Each run is marked recorded on its context or interaction, so a
second pass through an older hook of ours (a bot hook that chained to it) records nothing twice.
A command whose own code raised keeps its traceback's code locations (a walk of the traceback, no
I/O: the writer reads the source lines); a refusal (a check, a cooldown, a bad argument) keeps
none.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from ..clock import Clock, SystemClock
from ..recording.frames import capture_traceback
from ..recording.records import DM_GUILD_ID, CommandRecord
from .arguments import CommandShapes, context_arguments, interaction_arguments
from .hook_slots import Hook, HookSlot

if TYPE_CHECKING:
    from ..collectors.system import MonitoringSystem
    from ..recording.privacy import Privacy

__all__ = ("CommandAuditor",)

_log = logging.getLogger(__name__)

_STARTED = "_monitoring_started"
"""Attribute of a commands.Context, key of Interaction.extras: when the command started. Plain
strings, so that a reloaded package (new module objects) still reads what the old one wrote."""
_ENDED = "_monitoring_ended"
_DONE: Any = object()
"""What a run's start becomes once it is recorded: one read tells both (a record dedupes)."""
_APPLICATION_COMMAND = discord.InteractionType.application_command
_MAX_ERROR = 1000

_HybridApp = commands.hybrid.HybridAppCommand
"""A hybrid command's app side. Its class marker attribute only exists from discord.py 2.4;
the class itself is in every 2.x."""
_HYBRID = (commands.HybridCommand, commands.HybridGroup)
_CALLBACK_RAISED = (app_commands.CommandInvokeError, commands.CommandInvokeError)
"""Errors that mean the command's own code ran (and raised): only those runs have a duration."""
_REFUSALS = (commands.CommandError, app_commands.AppCommandError)
"""discord.py's own errors, out of its wrappers: a check, a cooldown, a bad argument, or one a
command raised on purpose for its user. Any other error escaped the command's own code: its
traceback is kept."""


def _original(error: BaseException) -> BaseException:
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


def _error_fields(error: BaseException) -> tuple[str, str]:
    """A failure's ``error_type`` and ``error_message`` from the exception the command raised
    (:func:`_original`), its message cut to the column's length."""
    text = str(error)
    return type(error).__name__, text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _callback_ran(error: BaseException | None) -> bool:
    """Whether a run that ended with ``error`` got as far as the command's own code."""
    if error is None or isinstance(error, _CALLBACK_RAISED):
        return True
    return isinstance(error, commands.HybridCommandError) and isinstance(
        error.original, _CALLBACK_RAISED
    )


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


_REFUSED = app_commands.CheckFailure("The bot's interaction check refused the command.")


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
        self._record_duration = system.perf_monitor.record_command
        self.privacy: Privacy = system.db.privacy
        self._tracebacks = self.privacy.stores_tracebacks
        self.unknown_commands = 0
        """Commands that did not exist (counted only; they carry no audit row)."""
        self.installed = False
        self._id_text = _IdText()
        self._shapes = CommandShapes()
        tree = bot.tree
        self._before = HookSlot(bot, "_before_invoke", self._before_hook)
        self._after = HookSlot(bot, "_after_invoke", self._after_hook)
        self._invoke = HookSlot(bot, "invoke", self._invoke_hook)
        self._check = HookSlot(tree, "interaction_check", self._check_hook)
        self._on_error = HookSlot(tree, "on_error", self._error_hook)
        self._slots: tuple[HookSlot, ...] = (
            self._before,
            self._after,
            self._invoke,
            self._check,
            self._on_error,
        )
        # The method the tree's task for an interaction runs: only there does an error that
        # is not an AppCommandError show (discord.py dispatches nothing for it). Private, so
        # nobody refills it (never re-checked); should a discord.py lack it, the rest works.
        if callable(getattr(tree, "_call", None)):
            self._slots += (HookSlot(tree, "_call", self._call_hook),)
        else:
            _log.warning(
                "monitoring: this discord.py's CommandTree has no _call; app commands failing"
                " with an error that is not an AppCommandError will not be recorded"
            )
        self._tree_dict: dict[str, Any] = vars(tree)
        self._all_commands: dict[str, Any] = bot.all_commands
        self._waiters: list[asyncio.Task[None]] = []
        self.on_other_interaction: Callable[[discord.Interaction[Any]], object] | None = None
        """Called inline, by the ``interaction`` watch, with each interaction that is not an
        application command (a component, a modal submit): the component capture's, so that
        it needs no watch (no call per slash command) of its own."""

    # -- installation -------------------------------------------------------------------------

    def install(self) -> None:
        """Take the hook slots and start watching the events (needs the bot's running loop)."""
        if self.installed:
            return
        self.installed = True
        for slot in self._slots:
            slot.install()
        loop = asyncio.get_running_loop()
        watches: tuple[tuple[str, Callable[..., bool]], ...] = (
            ("interaction", self._interaction_seen),
            ("command_error", self._command_failed),
            ("app_command_completion", self._app_command_completed),
        )
        for event, check in watches:
            # Client.wait_for registers its check as it is called (the coroutine it returns only
            # awaits the future), so the very next dispatch is seen, whatever runs first.
            waiting = self.bot.wait_for(event, check=check)
            self._waiters.append(
                loop.create_task(
                    self._keep_watching(event, check, waiting), name=f"monitoring_cog-{event}"
                )
            )

    async def _keep_watching(
        self, event: str, check: Callable[..., bool], waiting: Coroutine[Any, Any, Any]
    ) -> None:
        while True:
            try:
                await waiting
            except asyncio.CancelledError:
                raise  # Uninstalled (or the loop is shutting down): the check leaves with it.
            except Exception:
                # The checks never raise, nor return True; anything else is discord.py's.
                _log.exception("monitoring: watching %s stopped; watching again", event)
            if not self.installed:
                return
            waiting = self.bot.wait_for(event, check=check)

    def uninstall(self) -> None:
        """Give every slot back to the bot's latest hook; stop watching the events."""
        if not self.installed:
            return
        self.installed = False
        for slot in reversed(self._slots):
            slot.restore()
        waiters, self._waiters = self._waiters, []
        for task in waiters:
            # Cancelling its future takes the check out of the bot's waiters at the event's next
            # dispatch; until then it sees installed False and records nothing.
            task.cancel()

    # -- prefix and hybrid commands ----------------------------------------------------------

    def _invoke_hook(self, invoke: Hook) -> Hook:
        auditor = self
        before, after = self._before, self._after
        bot_dict = vars(self.bot)

        async def monitored_invoke(ctx: commands.Context[Any], /) -> None:
            if not auditor.installed:
                await invoke(ctx)
                return
            # Before the command's hooks are called: a slot refilled since the last command has
            # ours in front again in time for this one.
            if bot_dict.get("_before_invoke") is not before.hook:
                before.ensure()
            if bot_dict.get("_after_invoke") is not after.hook:
                after.ensure()
            try:
                await invoke(ctx)
            except Exception as error:
                # discord.py dispatched nothing: an error that is not a CommandError raised by
                # a check (the bot's, the cog's, the command's) or a before/after hook, or one an
                # error handler raised. Recorded (unless the command was already), then the bot
                # gets it as before.
                auditor._escaped(ctx, error)
                raise

        return monitored_invoke

    def _before_hook(self, previous: Hook | None) -> Hook:
        auditor = self
        monotonic = self._monotonic

        async def before_invoke(ctx: commands.Context[Any], /) -> None:
            # A group's subcommand is a second call with the same context: the run started at
            # the first.
            if auditor.installed and getattr(ctx, _STARTED, None) is None:
                setattr(ctx, _STARTED, monotonic())
            if previous is not None:
                await previous(ctx)

        return before_invoke

    def _after_hook(self, previous: Hook | None) -> Hook:
        auditor = self
        monotonic = self._monotonic

        async def after_invoke(ctx: commands.Context[Any], /) -> None:
            if auditor.installed:
                try:
                    if ctx.command_failed:
                        # The error arrives later, at command_error; remember when it ended.
                        if getattr(ctx, _ENDED, None) is None:
                            setattr(ctx, _ENDED, monotonic())
                    else:
                        subcommand = ctx.invoked_subcommand
                        # A group that ran before its subcommand: the run is the subcommand's.
                        if subcommand is None or subcommand is ctx.command:
                            auditor._record_context(ctx, None, None)
                except Exception as exc:
                    auditor._internal_error("after_invoke", exc)
            if previous is not None:
                await previous(ctx)

        return after_invoke

    def _command_failed(self, ctx: commands.Context[Any], error: BaseException) -> bool:
        """The ``command_error`` watch: record a failed prefix or hybrid command."""
        if self.installed:
            try:
                if isinstance(error, commands.CommandNotFound):
                    self.unknown_commands += 1
                else:
                    self._record_context(ctx, error, getattr(ctx, _ENDED, None))
            except Exception as exc:
                self._internal_error("command_error", exc)
        return False  # Never: the wait must go on.

    def _escaped(self, ctx: commands.Context[Any], error: Exception) -> None:
        if not self.installed or ctx.command is None or getattr(ctx, _STARTED, None) is _DONE:
            return
        try:
            self._record_context(ctx, error, getattr(ctx, _ENDED, None))
        except Exception as exc:
            self._internal_error("invoke", exc)

    def _record_context(
        self, ctx: commands.Context[Any], error: BaseException | None, ended: float | None
    ) -> None:
        # Runs inline in every command's after_invoke: plain comparisons rather than max(), a
        # record made from one tuple, no dict for a command without arguments. Each allocation
        # a command makes also brings the next garbage collection nearer.
        started = getattr(ctx, _STARTED, None)
        if started is _DONE:
            return
        setattr(ctx, _STARTED, _DONE)
        interaction = ctx.interaction
        if interaction is not None:  # A hybrid command run as a slash command.
            interaction.extras[_STARTED] = _DONE
        if started is None:
            duration = since_start = 0.0
        else:
            now = self._monotonic()
            elapsed = (now if ended is None else ended) - started
            duration = elapsed if elapsed > 0.0 else 0.0
            # A failure is recorded when its error reaches the watch, after the command ended:
            # date it from its start, not from now.
            since_start = now - started
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
        trace = None
        if error is None:
            failed = False
            error_type = error_message = None
        else:
            failed = True
            root = _original(error)
            error_type, error_message = _error_fields(root)
            if self._tracebacks and not isinstance(root, _REFUSALS):
                trace = capture_traceback(root.__traceback__)
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
                    context_arguments(ctx, started is not None, self.privacy, self._shapes),
                    duration,
                    not failed,
                    error_type,
                    error_message,
                    self._time() - since_start,
                    trace,
                ),
            )
        )
        self._record_duration(name, duration, failed)

    # -- slash commands, subcommands, context menus -------------------------------------------

    def _interaction_seen(self, interaction: discord.Interaction[Any]) -> bool:
        """The ``interaction`` watch: dispatched as the tree's task for it is made, not yet run.

        The tree's slots are checked here, so a hook the bot set since is chained before the
        command reaches it (a hybrid command's invoke hooks are checked in the tree's check).
        """
        # Runs for every interaction: two identity checks, a method call only on a change.
        tree_dict = self._tree_dict
        if (
            tree_dict.get("interaction_check") is not self._check.hook
            or tree_dict.get("on_error") is not self._on_error.hook
        ) and self.installed:
            try:
                self._check.ensure()
                self._on_error.ensure()
            except Exception as exc:
                self._internal_error("interaction", exc)
        if interaction.type is not _APPLICATION_COMMAND:
            other = self.on_other_interaction
            if other is not None:
                other(interaction)  # Never raises (the component capture's own guard).
        return False

    def _check_hook(self, previous: Hook) -> Hook:
        auditor = self
        monotonic = self._monotonic
        all_commands = self._all_commands
        # discord.py's own check admits everything; awaiting it would only cost a coroutine.
        default = app_commands.CommandTree.interaction_check
        admits_all = getattr(previous, "__func__", None) is default

        async def interaction_check(interaction: discord.Interaction[Any], /) -> bool:
            is_command = interaction.type is _APPLICATION_COMMAND and auditor.installed
            if is_command:
                extras = interaction.extras
                # Once per run: a second pass (a bot check chained to an older hook of ours)
                # does not restart the clock.
                if _STARTED not in extras:
                    extras[_STARTED] = monotonic()
                    data: Any = interaction.data
                    if isinstance(all_commands.get(data["name"]), _HYBRID):
                        auditor._ready_hybrid()
            if admits_all:
                return True
            allowed = bool(await previous(interaction))
            if not allowed and is_command:
                try:
                    auditor._record_interaction(interaction, interaction.command, _REFUSED)
                except Exception as exc:
                    auditor._internal_error("interaction_check", exc)
            return allowed

        return interaction_check

    def _ready_hybrid(self) -> None:
        """Ready a hybrid command run as a slash command, from inside the tree's task for it: it
        goes through the bot's invoke hooks, so check those slots."""
        try:
            self._before.ensure()
            self._after.ensure()
        except Exception as exc:
            self._internal_error("hybrid", exc)

    def _call_hook(self, call: Hook) -> Hook:
        auditor = self

        async def monitored_call(interaction: discord.Interaction[Any], /) -> None:
            try:
                await call(interaction)
            except Exception as error:
                # discord.py dispatches only AppCommandErrors (to the tree's on_error, next).
                # Anything else raised before the command's code runs (the bot's tree check, a
                # cog's interaction_check, a command's check), or by a local error handler,
                # ends the tree's task with no event: recorded here (unless it was already),
                # then it goes on as before.
                if (
                    auditor.installed
                    and interaction.type is _APPLICATION_COMMAND
                    and not isinstance(error, app_commands.AppCommandError)
                ):
                    try:
                        auditor._record_interaction(interaction, interaction.command, error)
                    except Exception as exc:
                        auditor._internal_error("tree._call", exc)
                raise

        return monitored_call

    def _app_command_completed(self, interaction: discord.Interaction[Any], command: Any) -> bool:
        """The ``app_command_completion`` watch: record a successful slash command."""
        # _is_hybrid_app inline: this runs for every app command.
        if self.installed and not isinstance(command, _HybridApp):
            try:
                self._record_interaction(interaction, command, None)
            except Exception as exc:
                self._internal_error("app_command_completion", exc)
        return False  # Never: the wait must go on.

    def _error_hook(self, previous: Hook) -> Hook:
        auditor = self

        async def on_error(
            interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /
        ) -> None:
            if auditor.installed:
                try:
                    if isinstance(error, app_commands.CommandNotFound):
                        extras = interaction.extras
                        if extras.get(_STARTED) is not _DONE:
                            extras[_STARTED] = _DONE
                            auditor.unknown_commands += 1
                    else:
                        command = interaction.command
                        if not _is_hybrid_app(command):
                            auditor._record_interaction(interaction, command, error)
                except Exception as exc:
                    auditor._internal_error("tree.on_error", exc)
            await previous(interaction, error)

        return on_error

    def _record_interaction(
        self, interaction: discord.Interaction[Any], command: Any, error: BaseException | None
    ) -> None:
        # Runs inline for every app command: see _record_context.
        extras = interaction.extras
        started = extras.get(_STARTED)
        if started is _DONE:
            return
        extras[_STARTED] = _DONE
        if started is None:
            elapsed = 0.0
        else:
            elapsed = self._monotonic() - started
            if elapsed < 0.0:
                elapsed = 0.0
        # As for prefix commands, a run refused before the command's code ran (a check, a
        # transformer) took no time of its own.
        duration = elapsed if error is None or _callback_ran(error) else 0.0
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
        trace = None
        if error is None:
            failed = False
            error_type = error_message = None
        else:
            failed = True
            root = _original(error)
            error_type, error_message = _error_fields(root)
            if self._tracebacks and not isinstance(root, _REFUSALS):
                trace = capture_traceback(root.__traceback__)
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
                    interaction_arguments(interaction),
                    duration,
                    not failed,
                    error_type,
                    error_message,
                    self._time() - elapsed,
                    trace,
                ),
            )
        )
        self._record_duration(name, duration, failed)

    def _internal_error(self, where: str, exc: Exception) -> None:
        self.db.errors.record(f"CommandAuditor.{where}", exc)
        _log.exception("monitoring: auditing failed in %s", where)
