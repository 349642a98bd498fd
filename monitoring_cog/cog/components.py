"""Uses of the bot's buttons, select menus and modals, recorded with no code in its views.

Each component or modal-submit interaction becomes a
:class:`~monitoring_cog.recording.records.ComponentRecord`: its guild, user, component name, kind
(``"button"``, ``"select"``, ``"modal"``), how long its callback took and whether it failed. Its
own kind of record: never an audit row of a command, never in command counts.

Where discord.py runs a component's callback, and what is hooked there (discord.py 2.3 to 2.7):

- The gateway handler (``ConnectionState.parse_interaction_create``) hands a component to the
  view store (``ViewStore.dispatch_view``: the registered view's item, and from 2.4 any matching
  ``DynamicItem``), a modal submit to ``ViewStore.dispatch_modal``; each makes a task of the
  view's ``_scheduled_task`` (or, for a dynamic item, of ``ViewStore.schedule_dynamic_item_call``)
  and only then dispatches the ``interaction`` event. That coroutine runs the item's checks, the
  view's ``interaction_check`` and the callback (``Modal.on_submit``), and hands an exception to
  the view's ``on_error``. discord.py has no event or hook for its end, nor for a failure.
- So those three methods are wrapped, on the classes that define them, while the cog is loaded
  (:class:`~monitoring_cog.cog.method_patches.MethodPatch`): the wrapper is a plain function that,
  as discord.py calls it to make the task's coroutine, notes the start in
  ``Interaction.extras`` and returns a coroutine of ours that awaits discord.py's. Its end is the
  end of the callback and of ``on_error``, in the same task: no task of ours, no listener task.
  A wrapper is not a subclass: a bot's own View subclasses and their overrides (``on_error``,
  ``interaction_check``...) run as before, and unloading puts discord.py's methods back.
- Failures: the view's ``on_error`` is wrapped on the view instance (an instance attribute in
  front of whatever the bot's class or instance defines, which it then calls), the first time
  the view is dispatched; the wrapper marks the interaction failed. An error raised by
  ``on_error`` itself leaves our coroutine and is recorded as a failure too (and still reaches
  asyncio as before). A dynamic item's errors never reach ``on_error``: discord.py logs them to
  the ``discord.ui.view`` logger, where a filter (which lets every line through) marks the run
  failed (a bot that sets that logger above ERROR hides them from the filter too). Unloading
  takes the instance wrappers off the views still alive; a use in flight then (the button that
  reloads the extension) is recorded, once, by the cog loaded since.
- Interactions no view owns (a custom_id the bot handles in its own ``on_interaction`` listener)
  are counted as uses, successful, with a duration of 0 (unknown: their end cannot be seen).
  They are found as the ``interaction`` event is dispatched, inline, by the command auditor's
  standing ``wait_for`` check (:attr:`CommandAuditor.on_other_interaction
  <monitoring_cog.cog.auditing.CommandAuditor.on_other_interaction>`: a second watch would cost
  every slash command a call): an interaction with no start noted by then went to no view.

Why there and not elsewhere: an ``on_interaction`` listener is a task per interaction and
sees neither the end nor a failure; a done callback on discord.py's task sees the end but not a
failure (``on_error`` swallowed it; and discord.py 2.3 keeps no handle on the task); wrapping
``View.on_error`` on the class misses every bot whose View subclass overrides it; a base class
for the bot's views would need code in them. The wrapped methods are private to discord.py: their
shape is checked from 2.3 to 2.7 (the tests run on the lowest and latest), and a discord.py that
has moved them leaves components counted (by the interaction watch) but not timed, with the
error logged at load.

Names (:mod:`monitoring_cog.recording.component_names`): a dynamic item is named by its
template; an item whose custom_id discord.py made up (a view that is not persistent) by its
view's class and callback (``TicketView.close``), a modal whose custom_id it made up by its
class; anything else by its custom_id with ids, numbers, uuids and hex runs replaced. Names are
bounded per guild and UTC day (``[components] max_per_guild``), past which they are
``"(other)"``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from ..recording.component_names import ComponentNames, template_name
from ..recording.records import DM_GUILD_ID, ComponentRecord
from .auditing import CommandAuditor, _IdText, _readers
from .method_patches import MethodPatch

if TYPE_CHECKING:
    from discord.ext import commands

    from ..collectors.system import MonitoringSystem
    from ..config import ComponentsConfig

__all__ = ("ComponentCapture",)

_log = logging.getLogger(__name__)

_STATE = "_monitoring_component"
"""Key of Interaction.extras: the run's state (a plain string, so a reloaded package reads it)."""
# Indexes of the state list: when the first run started, runs not yet ended, failed, its name
# if known before the record (a template, a made-up custom_id's view and callback).
_STARTED, _RUNS, _FAILED, _NAME = 0, 1, 2, 3
_OURS = "_monitoring_capture"
"""Attribute of our on_error wrappers: the capture that made it."""
_BOTS_OWN = "_monitoring_previous"
"""Attribute of our on_error wrappers: the view's own instance attribute it replaced, if any."""

_COMPONENT = discord.InteractionType.component
_MODAL_SUBMIT = discord.InteractionType.modal_submit
_BUTTON = discord.ComponentType.button.value
_MADE_UP_ID = re.compile(r"[0-9a-f]{32}")
"""What discord.py makes a custom_id of when the bot gives none (``os.urandom(16).hex()``)."""
_DAY = 86400

_dynamic_run: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "monitoring_cog_dynamic_run", default=None
)
"""The state of the dynamic item run in progress in this task, for the log filter."""


class _DynamicItemFailures(logging.Filter):
    """Marks the dynamic item run in progress failed when discord.py logs its exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            state = _dynamic_run.get()
            if state is not None:
                state[_FAILED] = True
        return True


def _view_logger() -> logging.Logger:
    return logging.getLogger("discord.ui.view")


class ComponentCapture:
    """Records every use of the bot's components; installs and removes what that takes.

    Parameters
    ----------
    bot:
        The bot whose components are recorded (interactions of another client in the same
        process are left alone).
    system:
        Where records go (its database's recorder).
    config:
        ``[components]``: the cap on names per guild and day.
    auditor:
        The command auditor, whose ``interaction`` watch hands over the interactions that are
        not commands.
    """

    def __init__(
        self,
        bot: commands.Bot,
        system: MonitoringSystem,
        config: ComponentsConfig,
        auditor: CommandAuditor,
    ) -> None:
        self.bot = bot
        self.auditor = auditor
        self.db = system.db
        self._monotonic, self._time = _readers(system.db.clock)
        self._submit: Callable[[ComponentRecord], bool] = system.db.recorder.submit
        self.names = ComponentNames(config.max_per_guild)
        """Names components and bounds them per guild and day."""
        self.installed = False
        self._id_text = _IdText()
        self._made_up_names: dict[tuple[type, Any], str] = {}
        self._templates: dict[type, str] = {}
        self._views: weakref.WeakSet[Any] = weakref.WeakSet()
        """Views whose on_error we wrapped (to unwrap on uninstall)."""
        self._log_filter = _DynamicItemFailures()
        self._broken: set[str] = set()
        """Wrappers that met a discord.py they do not understand: they step aside for good."""
        patches = [
            MethodPatch(ui.View, "_scheduled_task", self._wrap_view_task),
            MethodPatch(ui.Modal, "_scheduled_task", self._wrap_modal_task),
        ]
        if hasattr(discord.ui.view.ViewStore, "schedule_dynamic_item_call"):  # 2.4 and later
            patches.append(
                MethodPatch(
                    discord.ui.view.ViewStore, "schedule_dynamic_item_call", self._wrap_dynamic
                )
            )
        self._patches = tuple(patches)

    # -- installation -------------------------------------------------------------------------

    def install(self) -> None:
        """Wrap discord.py's methods and take the interactions that are not commands."""
        if self.installed:
            return
        self.installed = True
        for patch in self._patches:
            try:
                patch.install()
            except Exception as exc:
                # A discord.py that moved things: components go unmeasured (still counted, by
                # the interaction watch), the bot loads as ever.
                self._internal_error(f"install {patch.cls.__name__}.{patch.name}", exc)
        _view_logger().addFilter(self._log_filter)
        self.auditor.on_other_interaction = self._interaction_seen

    def uninstall(self) -> None:
        """Put discord.py's methods back, unwrap the views' on_error, stop watching."""
        if not self.installed:
            return
        self.installed = False
        for patch in reversed(self._patches):
            patch.restore()
        _view_logger().removeFilter(self._log_filter)
        views, self._views = list(self._views), weakref.WeakSet()
        for view in views:
            try:
                hook = vars(view).get("on_error")
                if getattr(hook, _OURS, None) is self:
                    own = getattr(hook, _BOTS_OWN)
                    if own is None:
                        del view.on_error
                    else:
                        view.on_error = own
            except Exception as exc:  # Unloading never raises.
                self._internal_error("uninstall", exc)
        if self.auditor.on_other_interaction == self._interaction_seen:
            self.auditor.on_other_interaction = None

    # -- the wrappers ------------------------------------------------------------------------

    def _wrap_view_task(self, original: Callable[..., Any]) -> Callable[..., Any]:
        capture = self

        def _scheduled_task(view: Any, *args: Any, **kwargs: Any) -> Any:
            # Called by View._dispatch_item for the coroutine of its task: (item, interaction).
            if capture.installed and "view" not in capture._broken:
                try:
                    item, interaction = args[0], args[1]
                    if interaction._state is capture.bot._connection:
                        capture._watch_errors(view)
                        name = None
                        if not getattr(item, "_provided_custom_id", True):
                            name = capture._made_up_name(view, item)
                        state = capture._start(interaction, name)
                        return capture._watched(original, view, args, kwargs, interaction, state)
                except Exception as exc:
                    capture._step_aside("view", exc)
            return original(view, *args, **kwargs)

        return _scheduled_task

    def _wrap_modal_task(self, original: Callable[..., Any]) -> Callable[..., Any]:
        capture = self

        def _scheduled_task(modal: Any, *args: Any, **kwargs: Any) -> Any:
            # Called by Modal._dispatch_submit: (interaction, components[, resolved]).
            if capture.installed and "modal" not in capture._broken:
                try:
                    interaction = args[0]
                    if interaction._state is capture.bot._connection:
                        capture._watch_errors(modal)
                        custom_id = getattr(modal, "custom_id", None)
                        name = None
                        if isinstance(custom_id, str) and _MADE_UP_ID.fullmatch(custom_id):
                            name = type(modal).__name__
                        state = capture._start(interaction, name)
                        return capture._watched(original, modal, args, kwargs, interaction, state)
                except Exception as exc:
                    capture._step_aside("modal", exc)
            return original(modal, *args, **kwargs)

        return _scheduled_task

    def _wrap_dynamic(self, original: Callable[..., Any]) -> Callable[..., Any]:
        capture = self

        def schedule_dynamic_item_call(store: Any, *args: Any, **kwargs: Any) -> Any:
            # (component_type, factory, interaction, custom_id, match)
            if capture.installed and "dynamic item" not in capture._broken:
                try:
                    factory, interaction = args[1], args[2]
                    if interaction._state is capture.bot._connection:
                        name = capture._template(factory)
                        state = capture._start(interaction, name)
                        return capture._watched(
                            original, store, args, kwargs, interaction, state, dynamic=True
                        )
                except Exception as exc:
                    capture._step_aside("dynamic item", exc)
            return original(store, *args, **kwargs)

        return schedule_dynamic_item_call

    def _watch_errors(self, view: Any) -> None:
        """Wrap ``view.on_error`` (once per view) so that a failure marks its interaction."""
        own = vars(view).get("on_error")
        if own is not None and getattr(own, _OURS, None) is self:
            return
        previous = view.on_error  # The bot's instance attribute, or its class's method.
        capture = self

        async def on_error(interaction: Any, error: Any, /, *args: Any) -> Any:
            if capture.installed:
                extras = getattr(interaction, "extras", None)
                state = extras.get(_STATE) if extras is not None else None
                if state is not None:
                    state[_FAILED] = True
            return await previous(interaction, error, *args)

        setattr(on_error, _OURS, self)
        setattr(on_error, _BOTS_OWN, own)
        view.on_error = on_error
        self._views.add(view)

    def _start(self, interaction: Any, name: str | None) -> list[Any]:
        extras = interaction.extras
        state: list[Any] | None = extras.get(_STATE)
        if state is None:
            state = extras[_STATE] = [self._monotonic(), 1, False, name]
        else:
            # A custom_id both a view and a dynamic item take: one use, ended by the last run.
            state[_RUNS] += 1
            if state[_NAME] is None:
                state[_NAME] = name
        return state

    async def _watched(
        self,
        original: Callable[..., Coroutine[Any, Any, Any]],
        owner: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        interaction: Any,
        state: list[Any],
        *,
        dynamic: bool = False,
    ) -> Any:
        """discord.py's coroutine for the task, run inside ours: its end is the use's.

        discord.py's coroutine is made here, not by the wrapper: a task cancelled before its
        first step (the bot closing) then leaves no coroutine of discord.py's never awaited.
        """
        if dynamic:
            _dynamic_run.set(state)  # This task's context only.
        try:
            result = await original(owner, *args, **kwargs)
        except asyncio.CancelledError:
            self._ended(interaction, state, record=False)  # The bot is closing: not recorded.
            raise
        except BaseException:
            state[_FAILED] = True  # The view's on_error raised (or had none to take it).
            self._ended(interaction, state)
            raise
        self._ended(interaction, state)
        return result

    def _ended(self, interaction: Any, state: list[Any], *, record: bool = True) -> None:
        state[_RUNS] -= 1
        if state[_RUNS] > 0 or not record:
            return
        try:
            recorder = self if self.installed else self._successor()
            if recorder is None:
                return
            elapsed = self._monotonic() - state[_STARTED]
            recorder._record(interaction, elapsed if elapsed > 0.0 else 0.0, state[_FAILED], state)
        except Exception as exc:
            self._internal_error("end", exc)

    def _successor(self) -> Any:
        """The capture of the cog loaded since this one was unloaded, if any.

        A use that began before a reload (the button that reloads the extension, say) ends
        under the new cog: it records the use, once. Looked up by name, since a reload imports
        this module afresh.
        """
        cog = self.bot.get_cog("Monitoring")
        successor = getattr(cog, "components", None)
        if successor is None or successor is self or not getattr(successor, "installed", False):
            return None
        return successor

    # -- interactions no view owns ------------------------------------------------------------

    def _interaction_seen(self, interaction: discord.Interaction[Any]) -> None:
        """An interaction that is not a command, as dispatched: count a component or modal
        submit no view of the bot took."""
        kind = interaction.type
        if (kind is _COMPONENT or kind is _MODAL_SUBMIT) and self.installed:
            extras = interaction.extras
            if _STATE not in extras:
                try:
                    extras[_STATE] = state = [0.0, 0, False, None]
                    self._record(interaction, 0.0, False, state)
                except Exception as exc:
                    self._internal_error("interaction", exc)

    # -- records ------------------------------------------------------------------------------

    def _record(self, interaction: Any, duration: float, failed: bool, state: list[Any]) -> None:
        data: Any = interaction.data or {}
        if interaction.type is _MODAL_SUBMIT:
            kind = "modal"
        else:
            kind = "button" if data.get("component_type") == _BUTTON else "select"
        guild_id = interaction.guild_id
        id_text = self._id_text
        guild = id_text[guild_id] if guild_id is not None else DM_GUILD_ID
        names = self.names
        name = state[_NAME]
        if name is None:
            name = names.of_custom_id(str(data.get("custom_id", "")))
        at = self._time() - duration
        self._submit(
            tuple.__new__(  # ComponentRecord._make without its Python frame.
                ComponentRecord,
                (
                    guild,
                    id_text[interaction.user.id],
                    names.bounded(guild, int(at // _DAY), name),
                    kind,
                    duration,
                    not failed,
                    at,
                ),
            )
        )

    def _made_up_name(self, view: Any, item: Any) -> str:
        """``ViewClass.callback`` for an item whose custom_id discord.py made up."""
        # A decorated item's callback is discord.py's _ViewCallback holding the function.
        function = getattr(item.callback, "callback", None)
        key = (type(view), function if function is not None else type(item))
        name = self._made_up_names.get(key)
        if name is None:
            label = getattr(function, "__name__", None) or type(item).__name__
            name = self._made_up_names[key] = f"{type(view).__name__}.{label}"
        return name

    def _template(self, factory: type) -> str:
        name = self._templates.get(factory)
        if name is None:
            pattern = factory.__discord_ui_compiled_template__  # type: ignore[attr-defined]
            name = self._templates[factory] = template_name(pattern.pattern)
        return name

    def _step_aside(self, where: str, exc: Exception) -> None:
        """A wrapper's arguments are not what it knows (a discord.py that changed them): it
        stops timing for good, rather than fail the same way at every use; uses still count."""
        self._broken.add(where)
        self._internal_error(where, exc)
        _log.error(
            "monitoring: component durations and failures (%s) are no longer recorded", where
        )

    def _internal_error(self, where: str, exc: Exception) -> None:
        self.db.errors.record(f"ComponentCapture.{where}", exc)
        _log.exception("monitoring: recording a component use failed in %s", where)
