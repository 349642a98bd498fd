"""Where monitoring_cog reads the time.

Every component takes its clock from here instead of calling :mod:`time` directly, so a test or a
simulation can inject its own (see :class:`ManualClock`) without patching the standard library.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Protocol, runtime_checkable

__all__ = ("Clock", "ManualClock", "SystemClock", "utc_day")


@runtime_checkable
class Clock(Protocol):
    """A source of wall-clock and monotonic time."""

    def time(self) -> float:
        """Seconds since the Unix epoch (UTC), like :func:`time.time`."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards, for durations."""
        ...


class SystemClock:
    """The real clock."""

    __slots__ = ()

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.perf_counter()


class ManualClock:
    """A clock that only moves when told to; for tests and simulations.

    Parameters
    ----------
    start:
        Initial wall-clock time, as epoch seconds or an aware :class:`~datetime.datetime`.
    """

    __slots__ = ("_monotonic", "_now")

    def __init__(self, start: float | datetime = 1_700_000_000.0) -> None:
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._monotonic = 0.0

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        self._now += seconds
        self._monotonic += seconds

    def set(self, when: float | datetime) -> None:
        """Jump the wall clock to ``when`` (the monotonic clock moves by the same amount)."""
        target = when.timestamp() if isinstance(when, datetime) else float(when)
        self._monotonic += max(0.0, target - self._now)
        self._now = target


def utc_day(epoch_seconds: float) -> date:
    """The UTC calendar day of an epoch timestamp."""
    return datetime.fromtimestamp(epoch_seconds, UTC).date()
