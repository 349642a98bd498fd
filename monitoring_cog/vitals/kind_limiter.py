"""At most one alert per kind per interval; what comes within it is held, and the latest goes out.

The first event of a kind goes out at once. Events of that kind within ``min_interval`` seconds
of it are held: only the latest is kept, and it goes out when the interval has passed (the
trailing edge), saying how many others it stands for. So a burst (a global rate limit hit fifty
times in a minute) is two messages, not fifty, and the last word is never lost: after a flap the
webhook shows the state the bot ended in. Kinds do not hold each other back.
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import VitalEvent

__all__ = ("KindLimiter", "Release")


@dataclass(frozen=True, slots=True)
class Release:
    """An event to post now, and how many others of its kind it stands for."""

    event: VitalEvent
    others: int = 0
    """Events of the same kind held back since the previous message and not posted."""


class KindLimiter:
    """Per-kind rate limit on a monotonic clock the caller supplies (``now``).

    Parameters
    ----------
    min_interval:
        Seconds at least between two releases of the same kind (> 0).
    """

    def __init__(self, min_interval: float) -> None:
        if not min_interval > 0:
            raise ValueError(f"expected min_interval > 0, got {min_interval!r}")
        self.min_interval = min_interval
        self.held_total = 0
        """Events held back so far (each posted later, or stood for by a later one)."""
        self._released_at: dict[str, float] = {}
        self._held: dict[str, tuple[VitalEvent, int]] = {}

    @property
    def held(self) -> int:
        """Events held now, waiting for their kind's interval to pass."""
        return sum(count for _, count in self._held.values())

    def offer(self, event: VitalEvent, now: float) -> Release | None:
        """Take ``event`` at ``now``: the release to post at once, or ``None`` (held)."""
        last = self._released_at.get(event.kind)
        if last is None or now - last >= self.min_interval:
            waiting = self._held.pop(event.kind, None)
            self._released_at[event.kind] = now
            return Release(event, waiting[1] if waiting else 0)
        waiting = self._held.get(event.kind)
        self._held[event.kind] = (event, waiting[1] + 1 if waiting else 1)
        self.held_total += 1
        return None

    def next_due(self) -> float | None:
        """When the earliest held kind may go out; ``None`` if nothing is held."""
        return min(
            (self._released_at[kind] + self.min_interval for kind in self._held), default=None
        )

    def due(self, now: float) -> list[Release]:
        """The latest held event of each kind whose interval has passed by ``now``."""
        releases = []
        for kind in [k for k in self._held if now - self._released_at[k] >= self.min_interval]:
            event, count = self._held.pop(kind)
            self._released_at[kind] = now
            releases.append(Release(event, count - 1))
        return releases

    def drain(self) -> list[Release]:
        """Everything held, whatever the time (nothing is held afterwards)."""
        releases = [Release(event, count - 1) for event, count in self._held.values()]
        self._held.clear()
        return releases
