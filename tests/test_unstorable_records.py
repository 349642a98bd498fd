"""Records the database cannot take as they are: stored repaired or cut, never dropped.

- Text UTF-8 cannot encode (a lone surrogate) in any text a record carries: a guild's name, a
  user's, the command's, its error, its arguments. The public ``log_command`` cleans names on
  the way in; records queued as they are (the cog's, or ``Database.submit``) are repaired by the
  writer once the database refuses them: each lone surrogate stored as ``?``, every repaired
  record counted as a correction.
- Arguments nested deeper than the JSON encoder goes (5,000 levels): stored cut at 100 levels,
  the cut marked ``"[too deep]"``, counted as one correction; redaction still applies to what
  is kept.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from backends import Backend, OpenSystem

from monitoring_cog import ManualClock, MonitoringConfig, MonitoringSystem
from monitoring_cog.config import PrivacyConfig, RecordingConfig
from monitoring_cog.recording.records import CommandRecord, GuildRecord, StatKind, StatRecord

DEPTHS = (150, 5_000)
"""Past the kept levels only, and past every Python's recursion limit too."""
MAX_PARAMETER_DEPTH = 100
"""Levels of nesting kept, as documented (``recording.parameters.MAX_PARAMETER_DEPTH``)."""
TOO_DEEP = "[too deep]"
"""The documented marker of the cut (``monitoring_cog.recording.parameters.TOO_DEEP``)."""

MakeSystem = Callable[..., MonitoringSystem]


@pytest.fixture
def make_system(backend: Backend, open_system: OpenSystem) -> MakeSystem:
    """A monitoring system on the backend's database; only readers and close write."""

    def make(privacy: PrivacyConfig | None = None) -> MonitoringSystem:
        config = MonitoringConfig(
            database=backend.database_config(),
            recording=RecordingConfig(flush_interval=3600.0),
            privacy=privacy or PrivacyConfig(),
        )
        return open_system(backend.target, config)

    return make


def nested(depth: int) -> dict[str, Any]:
    """``{"next": {"next": ...}}``, ``depth`` dicts deep, built without recursion."""
    node: dict[str, Any] = {"leaf": True}
    for _ in range(depth - 1):
        node = {"next": node}
    return node


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(
    "privacy",
    [PrivacyConfig(), PrivacyConfig(redact_keys=())],
    ids=["redacting", "not-redacting"],
)
async def test_parameters_nested_deeper_than_the_encoder_goes_are_stored_cut_and_marked(
    make_system: MakeSystem, privacy: PrivacyConfig, depth: int
) -> None:
    system = make_system(privacy)
    db = system.db
    tree = nested(depth)
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


async def test_parameters_at_the_depth_kept_are_stored_whole(make_system: MakeSystem) -> None:
    system = make_system(PrivacyConfig(redact_keys=()))
    db = system.db
    # Level 1 the parameters, levels 2 to 100 the tree: nothing past the limit. Beside it, a
    # string full of brackets, which is text and no nesting at all.
    parameters = {"tree": nested(MAX_PARAMETER_DEPTH - 1), "text": "[{" * 300}

    assert await system.cmd_logger.log_command(1, "g", 2, "u", "play", parameters, 0.5)
    await db.flush()

    (stored,) = await system.cmd_logger.get_recent_commands(limit=10)
    assert stored["parameters"] == parameters
    assert db.errors.rejected_inputs == 0


async def test_text_with_lone_surrogates_anywhere_is_stored_repaired_and_counted(
    make_system: MakeSystem, clock: ManualClock
) -> None:
    system = make_system()
    db = system.db
    now = clock.time()

    def command(i: int, **changes: Any) -> CommandRecord:
        return CommandRecord(
            "10", "Guild", "20", "user", "play", {"i": i}, 0.5, True, None, None, now
        )._replace(**changes)

    records = [
        command(0),
        command(1, guild_id="11", guild_name="Caf\ud800"),  # Also in the servers upsert.
        command(2, username="Ze\udfffd", command="pl\udc80y"),
        command(3, success=False, error_type="Bad\ud800Error", error_message="no \udfff here"),
        command(4, parameters={"i": 4, "text": "a\ud800b"}),
        command(5, parameters='{"i": 5, "raw": "x\ud800"}'),  # Already JSON text.
        command(6),
    ]
    for record in records:
        assert db.submit(record)
    assert db.submit(GuildRecord("30", "Sal\ud800on", now))
    assert db.submit(StatRecord(StatKind.SONG, "10", "2\ud8000", 180.0, now))

    await db.flush()  # Before the fix (SQLite): every record with such text set aside.

    recorder = db.recorder
    assert (recorder.dropped, recorder.discarded, recorder.written) == (0, 0, 9)
    rows = list(reversed(await system.cmd_logger.get_recent_commands(limit=10)))
    assert [row["parameters"]["i"] for row in rows] == list(range(7))
    assert rows[1]["guild_name"] == "Caf?"
    assert (rows[2]["username"], rows[2]["command"]) == ("Ze?d", "pl?y")
    assert (rows[3]["error_type"], rows[3]["error_message"]) == ("Bad?Error", "no ? here")
    assert rows[4]["parameters"] == {"i": 4, "text": "a?b"}
    assert rows[5]["parameters"] == {"i": 5, "raw": "x?"}
    servers = {s.guild_id: s.guild_name for s in await system.stats_collector.get_servers()}
    assert servers == {"10": "Guild", "11": "Caf?", "30": "Sal?on"}
    report = await system.stats_collector.get_daily_stats("10")
    assert (report["commands"], report["songs_played"]) == (6, 1)
    # One correction per record repaired: five commands, the guild, the song.
    assert db.errors.rejected_inputs == 7
    assert db.errors.errors == 0
