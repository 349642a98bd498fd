"""Vital events reach every subscriber, inline; a failing subscriber costs the others nothing."""

from __future__ import annotations

import pytest

from monitoring_cog.vitals.events import VitalEvent, VitalEvents


def test_every_subscriber_gets_each_event_in_order_and_failures_are_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = VitalEvents()
    first: list[VitalEvent] = []
    second: list[VitalEvent] = []

    def broken(event: VitalEvent) -> None:
        raise RuntimeError("webhook down")

    events.subscribe(first.append)
    events.subscribe(broken)
    events.subscribe(second.append)
    stall = VitalEvent("stall_critical", "Event loop blocked for 6.2 s", fields={"at": "bot.py:12"})
    shard = VitalEvent("shard_down", "Shard 1 down for 120 s", severity="warning")

    events.emit(stall)
    events.emit(shard)

    assert first == second == [stall, shard]
    assert events.emitted == {"stall_critical": 1, "shard_down": 1}
    assert events.errors.by_operation == {"VitalEvents.emit": 2}
    assert "a subscriber to 'stall_critical' events failed" in caplog.text

    events.unsubscribe(first.append)
    events.unsubscribe(broken)
    events.unsubscribe(broken)  # Not subscribed any more: nothing happens.
    events.emit(stall)
    assert len(first) == 2
    assert second == [stall, shard, stall]
    assert events.errors.errors == 2
