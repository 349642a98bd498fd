"""Watching discord.py events inline, without a task per event: standing ``wait_for`` checks.

``Client.dispatch`` schedules a task for every listener coroutine of an event (``on_x`` methods,
``bot.add_listener``, cog listeners), each time the event is dispatched. For events as frequent
as the gateway's (every message, every typing notice, every presence update) that is a task per
event. ``Client.wait_for`` instead registers a check that ``dispatch`` calls inline with the
event's arguments. A check that always returns ``False`` is never satisfied: the wait stands for
as long as the watch is installed, and the check sees every dispatch of the event, for the cost
of one Python call.

A check returns ``False`` (``True`` would end the wait, which is then started again) and should
not raise: an exception ends the wait too (logged, and the wait started again, but the event
that raised is lost to the watch). Once the watch is uninstalled its checks are no longer called:
each is wrapped so that, from then on, it answers ``True`` to discord.py, which drops it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

import discord

__all__ = ("Check", "EventWatch")

_log = logging.getLogger(__name__)

Check = Callable[..., bool]
"""Called inline with an event's arguments; returns ``False``."""


class EventWatch:
    """Standing checks on a client's events, installed and uninstalled together.

    Parameters
    ----------
    client:
        The bot (any :class:`discord.Client`).
    checks:
        Event name (without ``on_``) -> its check.
    name:
        Names the waiting tasks (one per event, not per dispatch) and the log lines.
    """

    def __init__(self, client: discord.Client, checks: Mapping[str, Check], name: str) -> None:
        self.client = client
        self.checks = dict(checks)
        self.name = name
        self.installed = False
        """Whether the checks are watching."""
        self._generation = 0
        """Changed by every install and uninstall: a check registered by an earlier install
        sees it changed and asks discord.py to drop it."""
        self._tasks: list[asyncio.Task[None]] = []

    def install(self) -> None:
        """Start watching (needs the client's running event loop). Idempotent."""
        if self.installed:
            return
        self.installed = True
        self._generation += 1
        for event, check in self.checks.items():
            self._wait(event, self._guarded(check), self._generation)

    def _wait(self, event: str, check: Check, generation: int) -> None:
        # Client.wait_for registers the check as it is called (the coroutine it returns only
        # awaits the future), so the very next dispatch is seen, whatever runs first. The
        # coroutine is the task itself: cancelled before it starts, it is closed cleanly.
        task = asyncio.get_running_loop().create_task(
            self.client.wait_for(event, check=check), name=f"{self.name}-{event}"
        )
        self._tasks.append(task)
        task.add_done_callback(functools.partial(self._ended, event, check, generation))

    def _ended(self, event: str, check: Check, generation: int, task: asyncio.Task[Any]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if task.cancelled() or self._generation != generation:
            return  # Uninstalled (and maybe installed again, with checks of its own).
        if task.exception() is not None:
            _log.error(
                "monitoring: watching %s stopped; watching again",
                event,
                exc_info=task.exception(),
            )
        self._wait(event, check, generation)

    def _guarded(self, check: Check) -> Check:
        watch = self
        generation = self._generation

        def watching(*args: Any) -> bool:
            # True once uninstalled: the wait ends and discord.py forgets the check (a cancelled
            # wait's future is dropped without a call, but a wait cancelled before it started
            # leaves its future behind).
            if watch._generation != generation:
                return True
            return check(*args)

        return watching

    def uninstall(self) -> None:
        """Stop watching: no check is called from now on. Idempotent."""
        if not self.installed:
            return
        self.installed = False
        self._generation += 1
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
