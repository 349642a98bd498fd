"""Process CPU over a sampling window of its own (``[health] cpu_window``).

psutil's ``cpu_percent(None)`` measures the CPU used since its previous call. Read only when a
health check runs, that window is whatever happens to lie between two checks: the cog's first
check, right after the cog loaded, saw about a tenth of a second of its own start-up (connecting,
migrating, registering guilds) at ~100 % and called the bot unhealthy for five minutes.

:class:`CpuWindow` keeps the readings of successive samples, each over the span since the one
before, and reports the time-weighted average over the most recent ``cpu_window`` seconds (from
``cpu_window`` to ``cpu_window`` plus the oldest span kept). The cog samples every
``cpu_window / 6`` seconds, so a reading covers the last ``cpu_window`` seconds to within a
sixth; without sampling between them, the health checks' own samples are the spans. Until
``cpu_window`` seconds have been sampled since start-up, the reading covers what there is, says
so (``window_seconds`` shorter than ``cpu_window``), and is not held against the status: it would
mostly be the start-up itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ..clock import Clock
    from .health import ProcessSampler

__all__ = ("SAMPLES_PER_WINDOW", "CpuReading", "CpuWindow")

SAMPLES_PER_WINDOW = 6
"""How many times per ``cpu_window`` the cog samples the process's CPU."""


class _Span(NamedTuple):
    seconds: float
    percent: float


@dataclass(frozen=True, slots=True)
class CpuReading:
    """The process's CPU over the window just ended."""

    percent: float
    """Average CPU over ``seconds`` (100 = one full core; more with several)."""
    seconds: float
    """How many seconds the average covers."""
    complete: bool
    """Whether ``seconds`` covers a whole ``cpu_window`` (otherwise: since start-up)."""


class CpuWindow:
    """CPU percent of a process over the last ``window`` seconds, from periodic samples.

    Parameters
    ----------
    process:
        The sampler (a :class:`psutil.Process`, or a fake in tests); this window must be the only
        caller of its ``cpu_percent``, which measures since its previous call.
    clock:
        Where the monotonic time of each sample comes from.
    window:
        Seconds the reading covers (> 0).
    """

    def __init__(self, process: ProcessSampler, clock: Clock, window: float) -> None:
        if not window > 0:
            raise ValueError(f"expected a window in seconds > 0, got {window!r}")
        self.process = process
        self.clock = clock
        self.window = window
        self._spans: deque[_Span] = deque()
        self._covered = 0.0
        # The first call only starts psutil's measurement (it returns a meaningless 0.0).
        self.process.cpu_percent(None)
        self._last_at = clock.monotonic()

    def sample(self) -> None:
        """Record the CPU used since the previous sample. Cheap: one psutil call, no I/O wait."""
        percent = float(self.process.cpu_percent(None))
        now = self.clock.monotonic()
        seconds = max(0.0, now - self._last_at)
        self._last_at = now
        self._spans.append(_Span(seconds, percent))
        self._covered += seconds
        # Keep just enough to cover the window: the oldest span goes once the rest covers it.
        while len(self._spans) > 1 and self._covered - self._spans[0].seconds >= self.window:
            self._covered -= self._spans.popleft().seconds

    def read(self) -> CpuReading:
        """Sample now, and return the average over the last window (or since start-up)."""
        self.sample()
        covered = self._covered
        if covered > 0:
            percent = sum(span.seconds * span.percent for span in self._spans) / covered
        else:  # No time has passed (a manual clock): the latest sample is all there is.
            percent = self._spans[-1].percent
        return CpuReading(percent, covered, covered >= self.window)
