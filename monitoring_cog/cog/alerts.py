"""When to alert on a change of overall health status: hysteresis, then a rate limit.

A worse status is announced at once. A better one is announced only after it has held for
``recovery_checks`` consecutive checks, so a value hovering at a threshold (healthy, degraded,
healthy, degraded, ...) raises one alert, not one per check (:class:`StatusAlerter`).

Announced changes are then posted at most once per ``alert_min_interval`` seconds
(:class:`AlertThrottle`): checks running close together (a short ``check_interval``, a status
flapping between unhealthy and healthy) cannot flood the channel. A change within the interval is
held back, not lost: the next alert posted goes from the status the channel last saw to the
latest one, and lists the statuses passed through meanwhile.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ("Alert", "AlertThrottle", "StatusAlerter", "StatusChange")

PATH_KEPT = 12
"""Statuses an alert lists at most (the most recent ones) when many changes were held back."""

_RANK = {"healthy": 0, "degraded": 1, "unhealthy": 2}


@dataclass(frozen=True, slots=True)
class StatusChange:
    """An announced change of overall status."""

    previous: str
    current: str


@dataclass
class StatusAlerter:
    """Feeds on successive overall statuses and says when one deserves an alert.

    The status before the first check is taken to be ``healthy``, so a bot that starts
    unhealthy raises an alert on its first check.
    """

    recovery_checks: int = 2
    announced: str = "healthy"
    _better: list[str] = field(default_factory=list)

    def observe(self, status: str) -> StatusChange | None:
        """Take one check's status; return the change to announce, if any."""
        if status not in _RANK:
            status = "unhealthy"
        rank = _RANK[status]
        announced_rank = _RANK[self.announced]
        if rank > announced_rank:
            self._better.clear()
            return self._announce(status)
        if rank == announced_rank:
            self._better.clear()
            return None
        self._better.append(status)
        if len(self._better) < self.recovery_checks:
            return None
        # Announce the worst of the recent better statuses: the level that has really held.
        held = max(self._better, key=_RANK.__getitem__)
        self._better.clear()
        return self._announce(held)

    def _announce(self, status: str) -> StatusChange:
        change = StatusChange(self.announced, status)
        self.announced = status
        return change


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert to post: from the status the channel last saw to the current one."""

    previous: str
    current: str
    changes: int
    """Announced changes this alert covers: 1, or more when some were held back."""
    path: tuple[str, ...]
    """The statuses passed through, ``previous`` first and ``current`` last (the most recent
    :data:`PATH_KEPT` of them, when ``changes`` is larger)."""


class AlertThrottle:
    """Posts announced changes at most once per ``min_interval`` seconds (monotonic time).

    A change offered within ``min_interval`` of the last alert posted is held. At the first offer
    once the interval has passed (the next check), the held changes go out as one
    :class:`Alert` from the status last posted to the latest. If the status is back to the one
    last posted, there is nothing new to tell and no alert: the changes stay held and are counted
    in the next alert.

    Parameters
    ----------
    min_interval:
        Seconds at least between two alerts (> 0).
    """

    def __init__(self, min_interval: float) -> None:
        if not min_interval > 0:
            raise ValueError(f"expected min_interval > 0, got {min_interval!r}")
        self.min_interval = min_interval
        self.posted = "healthy"
        """The status the last alert posted (``healthy`` before any, as for the alerter)."""
        self._posted_at: float | None = None
        self._held = 0
        self._path: deque[str] = deque(maxlen=PATH_KEPT)

    @property
    def held(self) -> int:
        """Changes announced since the last alert posted and not posted yet."""
        return self._held

    def next_allowed(self) -> float | None:
        """Monotonic time from which an alert may be posted; ``None``: at once."""
        return None if self._posted_at is None else self._posted_at + self.min_interval

    def offer(self, change: StatusChange | None, now: float) -> Alert | None:
        """Take a check's announced change (or ``None``) at monotonic ``now``; return what to post.

        Offer every check, with or without a change: a held change goes out at the first check
        the interval allows.
        """
        if change is not None:
            if not self._held:
                self._path.clear()
                self._path.append(change.previous)
            self._path.append(change.current)
            self._held += 1
        if not self._held:
            return None
        allowed = self.next_allowed()
        if allowed is not None and now < allowed:
            return None
        current = self._path[-1]
        if current == self.posted:
            return None
        alert = Alert(self.posted, current, self._held, tuple(self._path))
        self.posted = current
        self._posted_at = now
        self._held = 0
        return alert
