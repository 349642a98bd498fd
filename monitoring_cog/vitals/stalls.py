"""Event-loop stalls, blamed on the command and the line that held the loop.

A bot's event loop runs every callback in turn; code that blocks it (a ``time.sleep``, a
``requests.get``, a heavy computation) stops everything else, Discord's heartbeat included. The
:class:`StallMonitor` notices such stalls without touching a command's path:

- **On the loop**, a tiny callback (the *beat*) re-arms itself every ``stall_interval`` seconds
  (0.1 s; ``loop.call_later``: no task). Each run notes the time and how late it ran (the loop's
  lag).
- **On a watchdog thread** (a daemon: it never keeps the process alive), the monitor sleeps until
  the loop has gone ``stall_threshold`` seconds (0.4 s) without a beat. Then the loop is blocked,
  and the thread samples the loop thread's stack (``sys._current_frames()``): what it sees is the
  blocking code itself. It keeps sampling every ``stall_threshold`` while the stall lasts.

What it costs is the wake-ups: about ten beats and five watchdog checks a second, whatever the
bot does (``benchmarks/stall_monitor.py``); nothing per command.
- **When the loop runs again**, its next beat sees the gap since the one before: that gap is the
  stall's duration (an upper bound: the block began at most one ``stall_interval`` after the
  previous beat). The stall is recorded with what the samples showed: where (the most sampled
  innermost frame of the bot's own code, skipping the standard library, installed packages and
  this package; file, line and function, never a local variable), and the command in progress
  (found in discord.py's own frames on the sampled stack: prefix or slash, with its guild).

Each stall is queued like any record (``loop_stalls``, pruned with the audit log), counted for
the metrics, logged, and kept in memory for the health report's ``event_loop`` section; one of
``stall_critical`` seconds or more emits ``VitalEvent("stall_critical", ...)``.

Used without the cog::

    monitor = StallMonitor(db, events).start()     # in a running event loop
    health_check.add_section("event_loop", monitor)
    ...
    monitor.stop()

or ``async with StallMonitor(db) as monitor: ...``.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import sys
import threading
import time
import weakref
from bisect import bisect_left
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from types import CodeType, FrameType, TracebackType
from typing import Any

import discord
from discord.ext import commands

from ..database import Database
from ..recording.frames import Frame, RawTraceback, format_location, own_frames
from ..recording.records import DM_GUILD_ID, StallRecord
from .events import VitalEvent, VitalEvents

__all__ = (
    "LAG_BUCKETS",
    "NO_COMMAND",
    "OTHER_COMMANDS",
    "Stall",
    "StallMonitor",
)

_log = logging.getLogger(__name__)

LAG_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (Prometheus ``le``), in seconds, of the loop-lag histogram; +Inf follows."""
NO_COMMAND = "(none)"
"""The ``command`` label of stalls outside any command."""
OTHER_COMMANDS = "(other)"
"""The ``command`` label of stalls in commands past the first 1000 distinct names."""

_MAX_COMMANDS = 1000
_RECENT_STALLS = 1000
"""Stalls kept in memory for the health report (the most recent)."""
_MAX_SAMPLES = 20
"""Stack samples taken of one stall at most."""
_STACK_FRAMES = 5
"""Frames of the bot's own code kept of a stall's stack (the innermost)."""
_MAX_DEPTH = 500
"""Frames walked of a sampled stack at most."""
_DISCORD_DIR = os.path.join(os.path.dirname(os.path.abspath(discord.__file__)), "")
_JOIN_TIMEOUT = 1.0
"""Seconds :meth:`StallMonitor.stop` waits for the watchdog thread (it wakes at once)."""

_monotonic = time.monotonic


@dataclass(frozen=True, slots=True)
class Stall:
    """One stall of the event loop."""

    started_at: float
    """Epoch seconds (the database's clock) at which the loop last answered before it."""
    duration: float
    """Seconds the loop ran no callback (an upper bound, within one ``stall_interval``)."""
    command: str | None
    """The command in progress, if any."""
    command_kind: str | None
    """``"prefix"`` or ``"slash"``."""
    guild_id: str | None
    """The command's guild (``"dm"`` in a direct message)."""
    location: str | None
    """``path:line in function`` of the bot's own code that held the loop (of any code when none
    of the bot's was on the stack); ``None`` if no sample was taken in time."""
    stack: RawTraceback | None
    """The innermost frames of the bot's own code at that moment."""

    def summary(self) -> dict[str, Any]:
        """The health report's ``worst`` entry for this stall."""
        return {
            "duration_ms": round(self.duration * 1000, 1),
            "command": self.command,
            "command_kind": self.command_kind,
            "guild_id": self.guild_id,
            "location": self.location,
            "at": datetime.fromtimestamp(self.started_at, UTC).isoformat(),
        }


Command = tuple[str, str, str]
"""(name, kind, guild id) of a command in progress."""


class _Sampling:
    """The samples of one stall in progress (the beat it followed)."""

    __slots__ = ("beat", "commands", "locations", "stacks", "taken")

    def __init__(self, beat: float) -> None:
        self.beat = beat
        self.taken = 0
        self.locations: Counter[str | None] = Counter()
        self.stacks: dict[str | None, RawTraceback] = {}
        self.commands: list[Command] = []

    def add(self, location: str | None, stack: RawTraceback, command: Command | None) -> None:
        self.taken += 1
        self.locations[location] += 1
        self.stacks.setdefault(location, stack)
        if command is not None:
            self.commands.append(command)

    def blamed(self) -> tuple[str | None, RawTraceback | None, Command | None]:
        """The location most sampled (the first seen of equals), its stack, the command."""
        location = self.locations.most_common(1)[0][0] if self.locations else None
        command = self.commands[0] if self.commands else None
        return location, self.stacks.get(location), command


class StallMonitor:
    """Notices event-loop stalls and blames them (see the module's description).

    Parameters
    ----------
    db:
        Where stalls are recorded (``loop_stalls``) and whose ``[health]`` settings apply.
    events:
        Where ``stall_critical`` events go; ``None`` emits none.
    threshold, interval, warning, critical, window:
        Override ``[health] stall_threshold``, ``stall_interval``, ``stall_warning``,
        ``stall_critical`` and ``error_rate_window`` (the health report's window).
    """

    def __init__(
        self,
        db: Database,
        events: VitalEvents | None = None,
        *,
        threshold: float | None = None,
        interval: float | None = None,
        warning: float | None = None,
        critical: float | None = None,
        window: float | None = None,
    ) -> None:
        health = db.config.health
        self.db = db
        self.events = events
        self.threshold = health.stall_threshold if threshold is None else threshold
        self.interval = health.stall_interval if interval is None else interval
        self.warning = health.stall_warning if warning is None else warning
        self.critical = health.stall_critical if critical is None else critical
        self.window = health.error_rate_window if window is None else window
        if not 0 < 2 * self.interval <= self.threshold <= self.warning <= self.critical:
            raise ValueError(
                "expected 0 < 2 x interval <= threshold <= warning <= critical, got "
                f"interval={self.interval}, threshold={self.threshold}, warning={self.warning},"
                f" critical={self.critical}"
            )
        self._clock = db.clock
        self.lag = 0.0
        """How late the latest beat ran, in seconds (the loop's lag)."""
        self.stalls_total = 0
        """Stalls since the monitor started."""
        self.samples_missed = 0
        """Stalls over before the watchdog could sample them (no location)."""
        self._lag_counts = [0] * (len(LAG_BUCKETS) + 1)
        self._lag_sum = 0.0
        self._by_command: dict[str, list[float]] = {}
        self._recent: deque[Stall] = deque(maxlen=_RECENT_STALLS)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._handle: asyncio.TimerHandle | None = None
        self._last = 0.0
        self._due = 0.0
        self._sampling: _Sampling | None = None
        self._paused_beat: float | None = None
        self._command_names: dict[CodeType, str] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the monitor watches a loop now."""
        return self._thread is not None and not self._stop.is_set()

    def start(self) -> StallMonitor:
        """Start watching the running event loop (call it from a coroutine or callback on it).

        Returns the monitor; starting one already running does nothing. Raises ``RuntimeError``
        without a running loop.
        """
        loop = asyncio.get_running_loop()
        if self.running:
            return self
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._sampling = None
        self._paused_beat = None
        now = _monotonic()
        self._last = now
        self._due = now + self.interval
        self._handle = loop.call_later(self.interval, self._beat)
        thread = threading.Thread(
            target=self._watch, args=(self._stop,), name="monitoring_cog-stalls", daemon=True
        )
        self._thread = thread
        thread.start()
        _running.add(self)
        return self

    def stop(self, timeout: float = _JOIN_TIMEOUT) -> None:
        """Stop watching: the beat is cancelled, the watchdog thread ends (waited for up to
        ``timeout`` seconds). Safe to call twice, and from any thread."""
        self._stop.set()
        handle, self._handle = self._handle, None
        if handle is not None:
            loop = self._loop
            if loop is not None and not loop.is_closed():
                if threading.get_ident() == self._loop_thread:
                    handle.cancel()
                else:
                    loop.call_soon_threadsafe(handle.cancel)
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        _running.discard(self)

    async def __aenter__(self) -> StallMonitor:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- on the event loop --------------------------------------------------------------------

    def _beat(self) -> None:
        now = _monotonic()
        previous = self._last
        try:
            late = now - self._due
            if late < 0.0:
                late = 0.0
            self._last = now
            self._due = now + self.interval
            self.lag = late
            self._lag_counts[bisect_left(LAG_BUCKETS, late)] += 1
            self._lag_sum += late
        finally:
            loop = self._loop
            if not self._stop.is_set() and loop is not None:
                self._handle = loop.call_later(self.interval, self._beat)
        gap = now - previous
        if gap >= self.threshold:
            try:
                self._stalled(previous, gap)
            except Exception as exc:  # Monitoring never raises into the bot's loop.
                self.db.errors.record("StallMonitor.stalled", exc)
                _log.exception("monitoring: recording an event-loop stall failed")

    def _stalled(self, beat: float, gap: float) -> None:
        with self._lock:
            sampling, self._sampling = self._sampling, None
        if self._paused_beat == beat:
            return  # The loop was not running (stopped between two runs), not blocked.
        location: str | None = None
        stack: RawTraceback | None = None
        command: Command | None = None
        if sampling is not None and sampling.beat == beat and sampling.taken:
            location, stack, command = sampling.blamed()
        else:
            self.samples_missed += 1
        name, kind, guild = command if command is not None else (None, None, None)
        stall = Stall(self._clock.time() - gap, gap, name, kind, guild, location, stack)
        self._recent.append(stall)
        self.stalls_total += 1
        self._count(name, gap)
        self.db.submit(StallRecord(stall.started_at, gap, name, kind, guild, location, stack))
        log = _log.warning if gap >= self.warning else _log.info
        log(
            "monitoring: the event loop was blocked for %.3f s%s at %s",
            gap,
            f" in command {name} ({kind}, guild {guild})" if name else " (no command running)",
            location or "an unknown place (no sample in time)",
        )
        if gap >= self.critical and self.events is not None:
            self.events.emit(_critical_event(stall))

    def _count(self, name: str | None, seconds: float) -> None:
        label = name if name is not None else NO_COMMAND
        counts = self._by_command.get(label)
        if counts is None:
            if len(self._by_command) >= _MAX_COMMANDS:
                label = OTHER_COMMANDS
                counts = self._by_command.get(label)
            if counts is None:
                counts = self._by_command[label] = [0, 0.0]
        counts[0] += 1
        counts[1] += seconds

    # -- on the watchdog thread ---------------------------------------------------------------

    def _watch(self, stop: threading.Event) -> None:
        try:
            self._watch_until(stop)
        except Exception as exc:  # A watchdog that fails stops watching, loudly, and only it.
            self.db.errors.record("StallMonitor.watch", exc)
            _log.exception("monitoring: the event-loop stall watchdog failed; stalls go unseen")

    def _watch_until(self, stop: threading.Event) -> None:
        threshold = self.threshold
        reported: float | None = None
        while not stop.is_set():
            last = self._last
            overdue = _monotonic() - last
            if overdue < threshold:
                stop.wait(threshold - overdue)
                continue
            loop = self._loop
            if loop is None or loop.is_closed():
                return  # The loop is gone (the program ended it without stop()).
            if not loop.is_running():
                self._paused_beat = last
                stop.wait(threshold)
                continue
            sampling = self._sampling
            if sampling is None or sampling.beat != last or sampling.taken < _MAX_SAMPLES:
                self._sample(last)
            if overdue >= self.critical and reported != last:
                reported = last
                _log.warning(
                    "monitoring: the event loop has been blocked for %.1f s so far, at %s",
                    overdue,
                    self._location_now(last),
                )
            stop.wait(threshold)

    def _sample(self, beat: float) -> None:
        frames = sys._current_frames()
        frame = frames.get(self._loop_thread)
        del frames
        if frame is None:
            return
        stack: list[Frame] = []
        command: Command | None = None
        current: FrameType | None = frame
        depth = 0
        while current is not None and depth < _MAX_DEPTH:
            code = current.f_code
            stack.append((code.co_filename, current.f_lineno, code.co_qualname))
            if command is None:
                command = self._command_in(current, code)
            current = current.f_back
            depth += 1
        del frame, current
        if self._last != beat:
            return  # The loop ran on while this was taken: it may not show the stall.
        stack.reverse()  # Outermost first, as a traceback.
        own = own_frames(stack)
        chosen = own or stack
        kept = tuple(chosen[-_STACK_FRAMES:])
        location = format_location(kept[-1]) if kept else None
        sample = RawTraceback(kept, len(chosen) - len(kept))
        with self._lock:
            sampling = self._sampling
            if sampling is None or sampling.beat != beat:
                sampling = self._sampling = _Sampling(beat)
            sampling.add(location, sample, command)

    def _location_now(self, beat: float) -> str:
        with self._lock:
            sampling = self._sampling
        if sampling is None or sampling.beat != beat:
            return "an unknown place"
        location, _, command = sampling.blamed()
        where = location or "an unknown place"
        return f"{where} (command {command[0]})" if command else where

    def _command_in(self, frame: FrameType, code: CodeType) -> Command | None:
        """The command a frame of discord.py's is running, from its ``ctx`` or
        ``interaction`` (read from the frame's locals: nothing is kept but the names)."""
        name = self._command_names.get(code)
        if name is None:
            name = ""
            if code.co_filename.startswith(_DISCORD_DIR):
                names = {*code.co_varnames, *code.co_cellvars, *code.co_freevars}
                name = "ctx" if "ctx" in names else "interaction" if "interaction" in names else ""
            if len(self._command_names) >= 4096:
                self._command_names.clear()
            self._command_names[code] = name
        if not name:
            return None
        try:
            return _describe(frame.f_locals.get(name))
        except Exception:  # A half-built object seen mid-change: no command from it.
            return None

    # -- what the monitor shows ---------------------------------------------------------------

    @property
    def stalls(self) -> list[Stall]:
        """The most recent stalls (up to 1000), oldest first."""
        return list(self._recent)

    def health_section(self) -> dict[str, Any]:
        """The health report's ``event_loop`` section.

        ``status``: ``unknown`` while the monitor is not running; ``critical`` if a stall of
        ``stall_critical`` seconds or more happened in the window (``error_rate_window``);
        ``warning`` for one of ``stall_warning`` or more; else ``healthy`` (shorter stalls are
        counted and shown, not judged). ``lag_ms``: how late the latest beat ran. ``stalls``:
        stalls in the window; ``worst``: the longest of them, or ``None``.
        """
        since = self._clock.time() - self.window
        recent = [stall for stall in self._recent if stall.started_at + stall.duration >= since]
        worst = max(recent, key=lambda stall: stall.duration, default=None)
        status = "unknown"
        if self.running:
            status = "healthy"
            if worst is not None and worst.duration >= self.critical:
                status = "critical"
            elif worst is not None and worst.duration >= self.warning:
                status = "warning"
        return {
            "status": status,
            "lag_ms": round(self.lag * 1000, 1),
            "stalls": len(recent),
            "worst": worst.summary() if worst is not None else None,
            "window_seconds": self.window,
            "threshold_ms": round(self.threshold * 1000, 1),
            "stalls_total": self.stalls_total,
        }

    def lag_histogram(self) -> tuple[list[int], float]:
        """Beats per lag bucket (one per :data:`LAG_BUCKETS` bound, then +Inf; not cumulative)
        and the sum of their lags, in seconds, since the monitor was made."""
        return list(self._lag_counts), self._lag_sum

    def stalls_by_command(self) -> dict[str, tuple[int, float]]:
        """Stalls and their seconds per command label since the monitor was made
        (:data:`NO_COMMAND` outside any, :data:`OTHER_COMMANDS` past 1000 names)."""
        return {label: (int(n), seconds) for label, (n, seconds) in self._by_command.items()}


def _describe(value: Any) -> Command | None:
    if isinstance(value, commands.Context):
        command = value.command
        name = command.qualified_name if command is not None else str(value.invoked_with)
        kind = "slash" if value.interaction is not None else "prefix"
        guild = value.guild
        return name, kind, str(guild.id) if guild is not None else DM_GUILD_ID
    if isinstance(value, discord.Interaction):
        app_command = value.command
        if app_command is not None:
            name = getattr(app_command, "qualified_name", None) or app_command.name
        else:
            data: Any = value.data or {}
            name = str(data.get("name", "unknown"))
        guild_id = value.guild_id
        return name, "slash", str(guild_id) if guild_id is not None else DM_GUILD_ID
    return None


def _critical_event(stall: Stall) -> VitalEvent:
    where = stall.location or "an unknown place"
    if stall.command:
        during = f"during {stall.command_kind} command {stall.command} (guild {stall.guild_id})"
    else:
        during = "outside any command"
    return VitalEvent(
        "stall_critical",
        f"Event loop blocked for {stall.duration:.1f} s",
        detail=f"The bot answered nothing {during}; blocked at {where}.",
        fields={
            "duration": f"{stall.duration:.2f} s",
            "command": stall.command or "-",
            "location": where,
            "guild": stall.guild_id or "-",
        },
        severity="critical",
        at=stall.started_at,
    )


_running: weakref.WeakSet[StallMonitor] = weakref.WeakSet()
"""Monitors watching now, stopped at interpreter exit (their threads are daemons anyway)."""


def _stop_all() -> None:
    for monitor in list(_running):
        monitor.stop(timeout=0.1)


atexit.register(_stop_all)
