"""Records the database cannot take as they are: stored repaired or cut, never dropped.

- Arguments nested deeper than the JSON encoder goes (5,000 levels): stored cut at 100 levels,
  the cut marked ``"[too deep]"``, counted as one correction; redaction still applies to what
  is kept.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from backends import Backend

from monitoring_cog import Database, ManualClock, MonitoringConfig, MonitoringSystem
from monitoring_cog import create_monitoring_system as create_system
from monitoring_cog.config import PrivacyConfig, RecordingConfig

DEPTH = 5_000
MAX_PARAMETER_DEPTH = 100
"""Levels of nesting kept, as documented (``monitoring_cog.rollups.MAX_PARAMETER_DEPTH``)."""
TOO_DEEP = "[too deep]"
"""The documented marker of the cut (``monitoring_cog.rollups.TOO_DEEP``)."""

MakeSystem = Callable[..., MonitoringSystem]


@pytest.fixture
async def make_system(
    backend: Backend, clock: ManualClock, process: Any
) -> AsyncIterator[MakeSystem]:
    """A monitoring system on the backend's database; only readers and close write."""
    made: list[Database] = []

    def make(privacy: PrivacyConfig | None = None) -> MonitoringSystem:
        config = MonitoringConfig(
            database=backend.database_config(),
            recording=RecordingConfig(flush_interval=3600.0),
            privacy=privacy or PrivacyConfig(),
        )
        db = Database(backend.target, config=config, clock=clock)
        made.append(db)
        return create_system(db, process=process, make_current=False)

    yield make
    for db in made:
        await db.close()


def nested(depth: int) -> dict[str, Any]:
    """``{"next": {"next": ...}}``, ``depth`` dicts deep, built without recursion."""
    node: dict[str, Any] = {"leaf": True}
    for _ in range(depth - 1):
        node = {"next": node}
    return node


@pytest.mark.parametrize(
    "privacy",
    [PrivacyConfig(), PrivacyConfig(redact_keys=())],
    ids=["redacting", "not-redacting"],
)
async def test_parameters_nested_deeper_than_the_encoder_goes_are_stored_cut_and_marked(
    make_system: MakeSystem, privacy: PrivacyConfig
) -> None:
    system = make_system(privacy)
    db = system.db
    tree = nested(DEPTH)
    tree["password"] = "hunter2"  # Redacted, if redacting, though the tree is cut.
    parameters = {"query": "lo-fi", "tree": tree}

    assert await system.cmd_logger.log_command(1, "g", 2, "u", "play", parameters, 0.5)
    assert await system.cmd_logger.log_command(1, "g", 2, "u", "skip", {"n": 1}, 0.5)
    await db.flush()

    # Before the fix the encoder (or the redaction's walk) raised RecursionError and the
    # record was set aside: dropped, counted as an internal error.
    assert (db.recorder.dropped, db.recorder.written) == (0, 2)
    play, skip = reversed(await system.cmd_logger.get_recent_commands(limit=10))
    assert skip["parameters"] == {"n": 1}
    stored = play["parameters"]
    assert stored["query"] == "lo-fi"
    assert stored["tree"]["password"] == ("[redacted]" if privacy.redact_keys else "hunter2")
    # The parameters are level 1, the tree level 2: levels up to MAX_PARAMETER_DEPTH are kept,
    # the container below the last of them is the marker.
    node, level = stored["tree"], 2
    while isinstance(node, dict):
        node, level = node["next"], level + 1
    assert (node, level) == (TOO_DEEP, MAX_PARAMETER_DEPTH + 1)
    assert db.errors.rejected_inputs == 1
    assert db.errors.errors == 0
