"""Gateway events received, per type, counted inline as discord.py reads them.

discord.py dispatches ``socket_event_type`` with the type of every gateway event it receives
(``MESSAGE_CREATE``, ``PRESENCE_UPDATE``, ...), before parsing it, whether or not debug events are
on. A listener (``on_socket_event_type``) would cost a task per event; the count here is a
standing ``wait_for`` check (:mod:`monitoring_cog.vitals.watch`) that ``dispatch`` calls inline:
one dictionary increment per event. ``benchmarks/gateway_events.py`` measures both.
"""

from __future__ import annotations

import discord

from .watch import EventWatch

__all__ = ("MAX_EVENT_TYPES", "OTHER_EVENT_TYPE", "GatewayEventCounter")

MAX_EVENT_TYPES = 200
"""Distinct types counted by name; Discord has fewer than a hundred. Past this bound (a gateway
that invents names), the rest are counted under :data:`OTHER_EVENT_TYPE`, so the metric's label
stays bounded whatever arrives."""
OTHER_EVENT_TYPE = "(other)"


class GatewayEventCounter:
    """Counts the gateway events ``client`` receives, per type, while installed.

    Parameters
    ----------
    client:
        The bot (a plain or an auto-sharded client: every shard's events are counted).
    """

    def __init__(self, client: discord.Client) -> None:
        self.counts: dict[str, int] = {}
        """Events received per type since the counter was made (install to uninstall)."""
        self.watch = EventWatch(
            client, {"socket_event_type": self._seen}, "monitoring_cog-gateway-events"
        )

    def install(self) -> None:
        """Start counting (needs the client's running event loop)."""
        self.watch.install()

    def uninstall(self) -> None:
        """Stop counting; the counts stay."""
        self.watch.uninstall()

    @property
    def total(self) -> int:
        """Events counted, of every type."""
        return sum(self.counts.values())

    def _seen(self, event_type: str) -> bool:
        # Inline in discord.py's dispatch, for every gateway event: the common case is one
        # increment of a type seen before.
        counts = self.counts
        try:
            counts[event_type] += 1
        except KeyError:
            self._first(event_type)
        return False

    def _first(self, event_type: object) -> None:
        counts = self.counts
        name = event_type if isinstance(event_type, str) else OTHER_EVENT_TYPE
        if len(counts) >= MAX_EVENT_TYPES + (OTHER_EVENT_TYPE in counts):
            name = OTHER_EVENT_TYPE
        counts[name] = counts.get(name, 0) + 1
