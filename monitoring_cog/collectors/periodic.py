"""Background work repeated every N seconds on the event loop's monotonic clock.

``discord.ext.tasks.loop`` schedules by wall-clock datetimes: when the system clock is stepped
back an hour, a loop falls silent for that hour; stepped forward a day, it runs back to back until
it has caught up a day's worth of iterations. :class:`PeriodicTask` sleeps on the event loop's own
clock (``loop.time()``, monotonic), so neither happens: it runs every ``seconds`` whatever the wall
clock does.

Used by the cog's loops (as methods, with :func:`periodic`) and by
:func:`~monitoring_cog.retention.prune_periodically`::

    class Cog:
        @periodic(seconds=300)
        async def check(self) -> None: ...

        @check.before_loop
        async def _wait(self) -> None: ...

    cog.check.start()          # in the background
    await cog.check()          # one iteration, now
    await cog.check.stop()     # cancel, and wait until it has ended
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, overload

__all__ = ("PeriodicMethod", "PeriodicTask", "periodic")

_log = logging.getLogger(__name__)

_Owner = TypeVar("_Owner")

Callback = Callable[[], Awaitable[Any]]


def _check_seconds(seconds: float) -> float:
    if not seconds > 0:
        raise ValueError(f"expected an interval in seconds > 0, got {seconds!r}")
    return float(seconds)


class PeriodicTask:
    """Runs ``callback`` every ``seconds``, timed on the event loop's monotonic clock.

    The first iteration runs as soon as ``before`` (if any) has returned; each next one starts
    ``seconds`` after the previous one started. An iteration that overruns its slot is followed
    at once by the next, without catching up the slots it missed. An iteration that raises is
    logged and the schedule carries on.

    Parameters
    ----------
    callback:
        The coroutine function run at each iteration, without arguments.
    seconds:
        Interval between the starts of two iterations (> 0).
    before:
        A coroutine function awaited once before the first iteration (waiting until the bot is
        ready, an initial delay).
    name:
        Names the task and the log lines about it.
    """

    def __init__(
        self,
        callback: Callback,
        *,
        seconds: float,
        before: Callback | None = None,
        name: str = "periodic task",
    ) -> None:
        self.callback = callback
        self.before = before
        self.name = name
        self._seconds = _check_seconds(seconds)
        self._task: asyncio.Task[None] | None = None
        self.iterations = 0
        """Iterations the schedule has started (one-off calls not counted)."""

    @property
    def seconds(self) -> float:
        """Interval between the starts of two iterations."""
        return self._seconds

    def change_interval(self, *, seconds: float) -> None:
        """Set the interval; a running schedule uses it from its next sleep on."""
        self._seconds = _check_seconds(seconds)

    async def __call__(self) -> None:
        """Run one iteration now, outside the schedule; its exceptions propagate."""
        await self.callback()

    async def run(self) -> None:
        """Run the schedule in the current task until cancelled."""
        if self.before is not None:
            try:
                await self.before()
            except Exception:
                _log.exception("monitoring: %s could not start", self.name)
                return
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            self.iterations += 1
            try:
                await self.callback()
            except Exception:
                _log.exception(
                    "monitoring: %s failed; it runs again in %.3g s", self.name, self._seconds
                )
            due += self._seconds
            now = loop.time()
            # Overran its slot: start the next at once, but never a burst to catch up.
            due = max(due, now)
            await asyncio.sleep(due - now)

    def start(self) -> asyncio.Task[None]:
        """Start the schedule as a task of its own.

        Raises
        ------
        RuntimeError
            The schedule is already running.
        """
        if self.is_running():
            raise RuntimeError(f"{self.name} is already running")
        self.iterations = 0
        self._task = asyncio.get_running_loop().create_task(self.run(), name=self.name)
        return self._task

    def cancel(self) -> None:
        """Cancel the running schedule (an iteration in progress is interrupted)."""
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        """Cancel the running schedule and wait until its task has ended. Never raises."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        # asyncio.wait, not `await task`: a cancellation of the caller still reaches the caller.
        await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            _log.error("monitoring: %s ended with an error", self.name, exc_info=task.exception())

    def is_running(self) -> bool:
        """Whether the schedule's task exists and has not ended."""
        return self._task is not None and not self._task.done()

    def get_task(self) -> asyncio.Task[None] | None:
        """The schedule's task, once started."""
        return self._task

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<PeriodicTask {self.name!r} every {self._seconds:g} s, {state}>"


class PeriodicMethod(Generic[_Owner]):
    """A method run on a schedule: each instance gets a :class:`PeriodicTask` of its own.

    Made by :func:`periodic`. Read on an instance, it is that instance's task (created on first
    access and kept in the instance's ``__dict__``); read on the class, it is this descriptor.
    """

    def __init__(self, func: Callable[[_Owner], Awaitable[Any]], seconds: float) -> None:
        self.func = func
        self.seconds = _check_seconds(seconds)
        self._before: Callable[[_Owner], Awaitable[Any]] | None = None
        self._attribute = func.__name__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._attribute = name

    def before_loop(
        self, func: Callable[[_Owner], Awaitable[Any]]
    ) -> Callable[[_Owner], Awaitable[Any]]:
        """Decorate the method awaited once before the first iteration."""
        self._before = func
        return func

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> PeriodicMethod[_Owner]: ...

    @overload
    def __get__(self, instance: _Owner, owner: type[Any]) -> PeriodicTask: ...

    def __get__(
        self, instance: _Owner | None, owner: type[Any]
    ) -> PeriodicMethod[_Owner] | PeriodicTask:
        if instance is None:
            return self
        func, before = self.func, self._before
        task = PeriodicTask(
            lambda: func(instance),
            seconds=self.seconds,
            before=None if before is None else (lambda: before(instance)),
            name=f"{type(instance).__name__}.{self._attribute}",
        )
        # Kept on the instance: this non-data descriptor is not consulted again for it.
        vars(instance)[self._attribute] = task
        return task


def periodic(
    *, seconds: float
) -> Callable[[Callable[[_Owner], Awaitable[Any]]], PeriodicMethod[_Owner]]:
    """Decorate a coroutine method to run every ``seconds`` (see :class:`PeriodicMethod`)."""

    def decorate(func: Callable[[_Owner], Awaitable[Any]]) -> PeriodicMethod[_Owner]:
        return PeriodicMethod(func, seconds)

    return decorate
