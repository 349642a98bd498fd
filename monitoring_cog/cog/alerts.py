"""When to alert on a change of overall health status, with hysteresis.

A worse status is announced at once. A better one is announced only after it has held for
``recovery_checks`` consecutive checks, so a value hovering at a threshold (healthy, degraded,
healthy, degraded, ...) raises one alert, not one per check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ("StatusAlerter", "StatusChange")

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
