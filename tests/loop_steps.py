"""How long each task held the event loop at once: every callback the loop runs, timed.

As ``benchmarks/event_loop.py`` does it: ``asyncio.events.Handle._run`` is wrapped, so each
callback (a task's step, a timer, a future's callback) is timed and filed under the task it
belongs to. Two figures are kept apart from a step's wall time:

- its CPU time on the loop's thread: on a machine shared with other work, wall time also counts
  moments the thread waited for a processor, or for the interpreter lock while SQLite's thread
  ran, which no code on the loop decides;
- the garbage collections that ran inside it: a collection runs in whichever step allocated the
  object that triggered it and walks every object of the process, so its length is the
  process's (the test's inputs, dpytest's message history), not that step's.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any


@dataclass
class Step:
    """The longest step of one task, in seconds: CPU time without collections, wall time."""

    cpu: float = 0.0
    """CPU time on the loop's thread, garbage collections excluded."""
    wall: float = 0.0
    """Wall time, collections included."""


@dataclass
class LoopSteps:
    """While entered, the longest step of every task the loop runs, by task name."""

    longest: dict[str, Step] = field(default_factory=dict)
    longest_collection: float = 0.0
    """The longest garbage collection seen (CPU seconds), whichever step it fell in."""
    _collecting: float = 0.0
    _collection_started: float = 0.0

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._collection_started = time.thread_time()
        else:
            took = time.thread_time() - self._collection_started
            self._collecting += took
            self.longest_collection = max(self.longest_collection, took)

    def __enter__(self) -> LoopSteps:
        self._original = original = asyncio.events.Handle._run
        longest = self.longest
        timer = self

        def _run(handle: asyncio.events.Handle) -> None:
            collecting = timer._collecting
            cpu = time.thread_time()
            started = time.perf_counter()
            original(handle)
            wall = time.perf_counter() - started
            cpu = time.thread_time() - cpu - (timer._collecting - collecting)
            name = _task_name(handle)
            step = longest.get(name)
            if step is None:
                step = longest[name] = Step()
            step.cpu = max(step.cpu, cpu)
            step.wall = max(step.wall, wall)

        asyncio.events.Handle._run = _run  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]
        gc.callbacks.remove(self._on_gc)

    def of(self, name: str) -> Step:
        """The longest step of the tasks named ``name``."""
        assert name in self.longest, f"no step of a task named {name}: {sorted(self.longest)}"
        return self.longest[name]


def _task_name(handle: asyncio.events.Handle) -> str:
    owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    if isinstance(owner, asyncio.Task):
        return owner.get_name()
    return "(not a task)"
