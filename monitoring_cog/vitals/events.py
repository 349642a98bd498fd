"""Vital events: what happened that someone should hear of at once, whoever is listening.

A monitor that sees something urgent (a shard down past its threshold, a critical event-loop
stall, a global rate limit, records being dropped, a new kind of error) emits a
:class:`VitalEvent` on the :class:`VitalEvents` it was given; the alerting (the alert channel, a
webhook) subscribes. Monitors and alerting know only this module, not each other.

Emitting never raises and never waits: each subscriber is called inline, on the event loop's
thread, and one that fails is logged and counted, the others still called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import ErrorCounter

__all__ = ("VitalEvent", "VitalEvents")

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VitalEvent:
    """One thing that happened to the bot.

    ``kind`` names it for rate limiting and routing: ``"shard_down"``, ``"stall_critical"``,
    ``"global_rate_limit"``, ``"records_dropped"``, ``"new_error"``, ``"status_change"``.
    """

    kind: str
    title: str
    """One line, for a message's title."""
    detail: str = ""
    """A few lines of context (what, where, since when)."""
    fields: Mapping[str, str] = field(default_factory=dict)
    """Short named values, shown as a table (shard, duration, command, location, ...)."""
    severity: str = "critical"
    """``"critical"``, ``"warning"`` or ``"info"``: how the message is coloured."""
    at: float = 0.0
    """Epoch seconds when it happened."""


Subscriber = Callable[[VitalEvent], None]


class VitalEvents:
    """Where monitors emit vital events and alerting subscribes to them."""

    def __init__(self, errors: ErrorCounter | None = None) -> None:
        self._subscribers: list[Subscriber] = []
        self.errors = errors if errors is not None else ErrorCounter()
        self.emitted: dict[str, int] = {}
        """Events emitted so far, per kind."""

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber`` with every event emitted from now on."""
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop calling ``subscriber`` (nothing if it was not subscribed)."""
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def emit(self, event: VitalEvent) -> None:
        """Hand ``event`` to every subscriber, inline. Never raises."""
        self.emitted[event.kind] = self.emitted.get(event.kind, 0) + 1
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception as exc:
                self.errors.record("VitalEvents.emit", exc)
                _log.exception("monitoring: a subscriber to %r events failed", event.kind)
