"""``/metrics`` for message components and custom events, scraped over real HTTP.

Covers: per-component counters and duration histograms, and per-event counts and value sums, match
what was written exactly; they carry only the component, kind, outcome and name labels (never a
guild or user id); names past the bound are summed under ``(other)``; they count once written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes import FakeProcess
from metrics_support import label_names, samples, scrape, value

from monitoring_cog import (
    Database,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    create_monitoring_system,
)
from monitoring_cog.config import EventsConfig, RecordingConfig
from monitoring_cog.metrics import MetricsServer
from monitoring_cog.recording.metric_totals import OTHER_COMMANDS, ComponentCounts, EventCounts
from monitoring_cog.recording.records import ComponentRecord

GUILDS = ("111111111111111111", "222222222222222222")
USERS = ("333333333333333333", "444444444444444444")
LE = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0")
LE += ("30.0", "60.0", "+Inf")

# (component, kind, duration, success), across both guilds and users.
USES = [
    ("ticket:open", "button", 0.02, True),
    ("ticket:open", "button", 0.3, True),
    ("ticket:open", "button", 1.5, False),
    ("roles", "select", 0.1, True),
    ("survey", "modal", 45.0, True),
    ("survey", "modal", 120.0, False),
]
# (name, value)
EVENTS = [("ticket_opened", 1), ("ticket_opened", 1), ("xp_gained", 12.5), ("xp_gained", 30)]


@pytest.fixture
async def metrics_system(
    tmp_path: Path, clock: ManualClock, process: FakeProcess
) -> AsyncIterator[MonitoringSystem]:
    config = dataclasses.replace(
        MonitoringConfig(),
        recording=RecordingConfig(flush_interval=3600.0),
        events=EventsConfig(max_names_per_guild=50),
    )
    db = Database(tmp_path / "bot.db", config=config, clock=clock)
    yield create_monitoring_system(db, process=process, make_current=False)
    await db.close()


@pytest.fixture
async def server(metrics_system: MonitoringSystem) -> AsyncIterator[MetricsServer]:
    async with MetricsServer(metrics_system, port=0) as running:
        yield running


def by_name(found: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str) -> dict:
    """The samples of ``metric`` by their ``name`` label."""
    return {dict(labels)["name"]: v for (n, labels), v in found.items() if n == metric}


async def record(system: MonitoringSystem) -> None:
    now = system.db.clock.time()
    for index, (component, kind, duration, success) in enumerate(USES):
        assert system.db.submit(
            ComponentRecord(
                GUILDS[index % 2], USERS[index % 2], component, kind, duration, success, now
            )
        )
    for index, (name, amount) in enumerate(EVENTS):
        assert await system.stats_collector.record_event(
            GUILDS[index % 2], name, amount, user_id=USERS[index % 2]
        )


async def test_component_and_event_series_match_what_was_written(
    metrics_system: MonitoringSystem, server: MetricsServer
) -> None:
    await record(metrics_system)
    queued = samples(await scrape(server.url))
    assert not [n for n, _ in queued if "component" in n or "custom_event" in n]

    await metrics_system.db.flush()
    body = await scrape(server.url)
    found = samples(body)

    for component, kind in {(c, k) for c, k, _, _ in USES}:
        for outcome, success in (("success", True), ("failure", False)):
            durations = [d for c, _, d, s in USES if c == component and s is success]
            labels = {"component": component, "kind": kind, "outcome": outcome}
            total = value(found, "monitoring_cog_component_interactions_total", **labels)
            assert total == len(durations)
            name = "monitoring_cog_component_duration_seconds"
            assert value(found, f"{name}_count", **labels) == len(durations)
            assert value(found, f"{name}_sum", **labels) == pytest.approx(sum(durations))
            for le in LE:
                expected = sum(1 for d in durations if d <= float(le))
                assert value(found, f"{name}_bucket", le=le, **labels) == expected
    assert by_name(found, "monitoring_cog_custom_events_total") == {
        "ticket_opened": 2,
        "xp_gained": 2,
    }
    assert by_name(found, "monitoring_cog_custom_event_value_total") == {
        "ticket_opened": 2.0,
        "xp_gained": 42.5,
    }
    # Not commands.
    assert not [n for n, _ in found if n == "monitoring_cog_commands_total"]
    assert label_names(found) <= {"command", "outcome", "le", "component", "kind", "name"}
    for ident in (*GUILDS, *USERS):
        assert ident not in body


async def test_names_past_the_bound_are_summed_under_other(
    metrics_system: MonitoringSystem, server: MetricsServer
) -> None:
    recorder = metrics_system.db.recorder
    assert recorder.component_counts is not None and recorder.event_counts is not None
    recorder.component_counts.max_components = 2
    recorder.event_counts.max_names = 2
    now = metrics_system.db.clock.time()
    for name in ("a", "b", "c", "d"):
        metrics_system.db.submit(
            ComponentRecord(GUILDS[0], USERS[0], name, "button", 0.1, True, now)
        )
        await metrics_system.stats_collector.record_event(GUILDS[0], f"e_{name}", 2)
    await metrics_system.db.flush()

    found = samples(await scrape(server.url))

    components = {
        dict(labels)["component"]: v
        for (n, labels), v in found.items()
        if n == "monitoring_cog_component_interactions_total"
        and dict(labels)["outcome"] == "success"
    }
    assert components == {"a": 1, "b": 1, OTHER_COMMANDS: 2}
    assert by_name(found, "monitoring_cog_custom_event_value_total") == {
        "e_a": 2.0,
        "e_b": 2.0,
        OTHER_COMMANDS: 4.0,
    }
    assert by_name(found, "monitoring_cog_custom_events_total") == {
        "e_a": 1,
        "e_b": 1,
        OTHER_COMMANDS: 2,
    }


def test_the_counts_keep_a_name_seen_before_the_bound_was_reached() -> None:
    components = ComponentCounts(max_components=1)
    components.add({("a", "button", True): (1, 0.5, [0] * 14)})
    components.add({("b", "button", True): (2, 1.0, [0] * 14)})
    components.add({("a", "button", False): (3, 1.5, [0] * 14)})
    assert [(s.component, s.outcome, s.uses) for s in components.series()] == [
        (OTHER_COMMANDS, "success", 2),
        (OTHER_COMMANDS, "failure", 0),
        ("a", "success", 1),
        ("a", "failure", 3),
    ]
    events = EventCounts(max_names=1)
    events.add({"a": (1, 5.0), "b": (2, 1.0)})
    events.add({"a": (1, 5.0), "c": (1, 1.0)})
    assert events.series() == [(OTHER_COMMANDS, 3, 2.0), ("a", 2, 10.0)]
