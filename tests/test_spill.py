"""Spill files: every record kind survives one, privacy holds in it, each is written exactly once.

A spill is made by :func:`monitoring_cog.recording.spill.write_spill` (what closing does when it
runs out of time) on the real file system, and written into the database the way the next start
does it: ``Database.connect()``. What the database then holds is compared, through the library's own
reads, with what it holds when the same records are written directly.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import typing
from pathlib import Path
from typing import Any

import pytest
from backends import Backend

from monitoring_cog import Database, ManualClock, MonitoringConfig
from monitoring_cog.clock import utc_day
from monitoring_cog.config import DatabaseConfig, PrivacyConfig, RecordingConfig
from monitoring_cog.recording.frames import RawTraceback, capture_traceback
from monitoring_cog.recording.records import (
    CommandRecord,
    ComponentRecord,
    EventRecord,
    GrowthKind,
    GrowthRecord,
    GuildRecord,
    PopulationRecord,
    Record,
    StallRecord,
    StatKind,
    StatRecord,
)
from monitoring_cog.recording.spill import (
    CODECS,
    SpillError,
    find_spills,
    read_spill,
    write_spill,
)
from monitoring_cog.storage.base import AuditQuery

NOW = 1_750_000_000.0


def _raised() -> RawTraceback:
    try:
        {}["missing"]  # raises: the traceback spilled below
    except KeyError as error:
        captured = capture_traceback(error.__traceback__)
    assert captured is not None
    return captured


TRACEBACK = _raised()


class Member:
    """A Discord object among a command's arguments: stored as its id."""

    id = 4242


RECORDS: list[Record] = [
    CommandRecord(
        "111", "Guild", "7", "alice", "play", {"song": "é😀", "n": [1, 2], "who": Member()},
        0.25, True, None, None, NOW - 100,
    ),
    CommandRecord(
        "111", None, "8", None, "skip", '{"raw": 1}', 1.5, False, "ValueError", "bad\nthing",
        NOW - 50,
    ),
    CommandRecord("dm", None, "9", "carol", "help", None, 0.0, True, None, None, NOW - 10),
    CommandRecord(
        "111", "Guild", "7", "alice", "queue", None, 0.5, False, "KeyError", "'missing'",
        NOW - 40, TRACEBACK,
    ),
    StatRecord(StatKind.SONG, "111", "7", 180.0, NOW - 90),
    StatRecord(StatKind.SKIP, "111", None, 0.0, NOW - 80),
    StatRecord(StatKind.PAUSE, "222", "8", 0.0, NOW - 70),
    StatRecord(StatKind.COMMAND, "222", "9", 0.0, NOW - 5),
    GuildRecord("333", "Third", NOW - 1),
    GrowthRecord(GrowthKind.JOIN, NOW - 60),
    GrowthRecord(GrowthKind.LEAVE, NOW - 86400),
    PopulationRecord(0, 2, 40, 1200, NOW - 30),
    PopulationRecord(1, 2, 38, 1100, NOW - 20),
    StallRecord(NOW - 30, 1.25, "play", "slash", "111", "bot.py:12 in play", TRACEBACK),
    StallRecord(NOW - 20, 0.5, None, None, None, None, None),
    ComponentRecord("111", "7", "ticket:open", "button", 0.05, True, NOW - 45),
    ComponentRecord("111", "8", "ticket:open", "button", 0.25, False, NOW - 44),
    ComponentRecord("dm", "9", "feedback", "modal", 1.5, True, NOW - 43),
    EventRecord("111", "ticket_opened", 1.0, "7", NOW - 42),
    EventRecord("222", "xp_gained", 12.5, None, NOW - 41),
    EventRecord("222", "xp_gained", 0.5, "8", NOW - 86400),
]  # fmt: skip
"""One of every record kind, with the values that need care: ids that are not JSON, text outside
ASCII, a newline, parameters already text and none at all."""


def config_for(target: Path | str, tmp_path: Path, **privacy: Any) -> MonitoringConfig:
    database = (
        DatabaseConfig(url=str(target))
        if str(target).startswith("postgresql")
        else DatabaseConfig(path=str(target))
    )
    return MonitoringConfig(
        database=database,
        recording=RecordingConfig(flush_interval=3600.0, spill_dir=str(tmp_path / "spill")),
        privacy=PrivacyConfig(**privacy),
    )


async def contents(db: Database) -> dict[str, Any]:
    """Everything stored, through the library's reads (ids and insertion order aside)."""
    storage = await db.storage()
    first, last = (NOW - 86400 * 2, NOW + 86400)
    audit = await storage.audit_logs(AuditQuery(limit=1000))
    for row in audit:
        del row["id"]
    return {
        "audit": sorted(audit, key=repr),
        "days": {
            guild: await storage.day_totals(guild, utc_day(first), utc_day(last))
            for guild in ("111", "222", "333", "dm", None)
        },
        "commands": {
            guild: await storage.command_totals(
                guild, utc_day(first), utc_day(last), with_buckets=True
            )
            for guild in ("111", "dm", None)
        },
        "servers": sorted(await storage.list_servers(), key=repr),
        "minutes": await storage.recent_activity(NOW - 3600, None),
        "growth": await storage.growth(utc_day(first), utc_day(last)),
        "stalls": await storage.loop_stalls(),
        "components": {
            guild: await storage.component_totals(guild, utc_day(first), utc_day(last))
            for guild in ("111", "dm", None)
        },
        "events": {
            guild: await storage.event_totals(guild, utc_day(first), utc_day(last))
            for guild in ("111", "222", None)
        },
    }


def test_every_record_kind_has_a_codec() -> None:
    # A record kind added to records.Record without a codec in spill.CODECS fails here.
    assert {codec.kind for codec in CODECS} == set(typing.get_args(Record))


async def test_every_record_kind_survives_a_spill_and_its_replay(
    backend: Backend, request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> None:
    if backend.name == "postgresql":
        other: Path | str = request.getfixturevalue("fresh_database")
    else:
        other = tmp_path / "other.db"
    direct = Database(backend.target, config=config_for(backend.target, tmp_path), clock=clock)
    for record in RECORDS:
        assert direct.submit(record)
    await direct.flush()
    expected = await contents(direct)
    await direct.close()

    replayed = Database(other, config=config_for(other, tmp_path / "b"), clock=clock)
    assert replayed.spill_target is not None
    path, _ = write_spill(replayed.spill_target, RECORDS, replayed.privacy)
    assert [type(r) for r in read_spill(path).records] == [type(r) for r in RECORDS]
    await replayed.connect()  # The next start: writes the spill.
    try:
        assert await contents(replayed) == expected
        assert find_spills(replayed.spill_target) == []
        assert len(expected["servers"]) == 4
        assert [(d.joins, d.leaves, d.guilds, d.members) for d in expected["growth"]] == [
            (0, 0, None, None),
            (0, 1, None, None),
            (1, 0, 78, 2300),
            (0, 0, None, None),
        ]
        assert sorted(repr(row["parameters"]) for row in expected["audit"]) == sorted(
            repr(parameters)
            for parameters in ({"song": "é😀", "n": [1, 2], "who": "4242"}, {"raw": 1}, {}, {})
        )
        # The traceback, rendered by the writer in one and into the spill in the other.
        (traced,) = [row for row in expected["audit"] if row["traceback"] is not None]
        (bare, with_stack) = expected["stalls"]  # Newest first.
        assert (bare["command"], bare["location"], bare["stack"]) == (None, None, None)
        assert with_stack["stack"].splitlines()[0] == "Stack (most recent call last):"
        assert with_stack["stack"].splitlines()[1:] == traced["traceback"].splitlines()[1:]
        last = traced["traceback"].splitlines()[-1]
        assert last == '    {}["missing"]  # raises: the traceback spilled below'
        (ticket, feedback) = expected["components"][None]
        assert (ticket.component, ticket.uses, ticket.failures, ticket.users) == (
            "ticket:open",
            2,
            1,
            2,
        )
        assert (feedback.kind, feedback.duration_sum) == ("modal", 1.5)
        (xp, opened) = expected["events"][None]
        assert (xp.name, xp.count, xp.total, xp.users) == ("xp_gained", 2, 13.0, 1)
        assert (opened.name, opened.count, opened.total, opened.users) == ("ticket_opened", 1, 1, 1)
    finally:
        await replayed.close()


async def test_a_spill_already_written_is_only_deleted(
    backend: Backend, tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(backend.target, tmp_path)
    db = Database(backend.target, config=config, clock=clock)
    assert db.spill_target is not None
    path, _ = write_spill(db.spill_target, RECORDS[:3], db.privacy)
    copy = tmp_path / "copy"
    shutil.copy(path, copy)
    await db.connect()
    await db.close()
    audit = "SELECT COUNT(*) FROM audit_logs"
    assert backend.scalar(audit) == 3

    # What a process killed after the replay's commit and before the file's deletion leaves.
    shutil.copy(copy, path)
    again = Database(backend.target, config=config, clock=clock)
    with caplog.at_level(logging.INFO, logger="monitoring_cog"):
        await again.connect()
    await again.close()

    assert backend.scalar(audit) == 3  # Not 6.
    assert backend.scalar("SELECT SUM(commands) FROM bot_stats") == 3
    assert not path.exists()
    assert any("was already written; deleted it" in r.getMessage() for r in caplog.records)


@pytest.mark.sqlite_only
async def test_a_damaged_spill_is_kept_and_logged_and_the_others_written(
    backend: Backend, tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(backend.target, tmp_path)
    db = Database(backend.target, config=config, clock=clock)
    assert db.spill_target is not None
    damaged, _ = write_spill(db.spill_target, RECORDS[:2], db.privacy)
    good, _ = write_spill(db.spill_target, RECORDS[2:3], db.privacy)
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) - 20])  # Cut short: a copy interrupted, a bad disk.

    with caplog.at_level(logging.ERROR, logger="monitoring_cog"):
        await db.connect()
    await db.close()

    assert backend.scalar("SELECT COUNT(*) FROM audit_logs") == 1  # The good spill's one.
    assert damaged.exists() and not good.exists()
    assert any(
        str(damaged) in r.getMessage() and "damaged" in r.getMessage() for r in caplog.records
    )


@pytest.mark.sqlite_only
async def test_a_spill_holds_nothing_the_privacy_rules_would_not_store(
    backend: Backend, tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORING_HASH_SECRET", "a-secret-of-sixteen-chars")
    config = config_for(backend.target, tmp_path, hash_user_ids=True, store_usernames=False)
    db = Database(backend.target, config=config, clock=clock)
    assert db.spill_target is not None
    secret = "hunter2-do-not-store"
    records = [
        CommandRecord(
            "111", "Guild", "987654321", "alice#1", "login", {"password": secret, "v": 75},
            0.1, True, None, None, NOW,
        ),
        CommandRecord(
            "111", "Guild", "987654321", "alice#1", "login", '{"api_token": "' + secret + '"}',
            0.1, True, None, None, NOW,
        ),
        StatRecord(StatKind.SONG, "111", "987654321", 100.0, NOW),
    ]  # fmt: skip

    path, _ = write_spill(db.spill_target, records, db.privacy)
    data = path.read_bytes()
    for forbidden in (secret, "987654321", "alice#1"):
        assert forbidden.encode() not in data
    spilled = read_spill(path).records
    assert [r.parameters for r in spilled[:2]] == [  # type: ignore[union-attr]
        '{"password":"[redacted]","v":75}',
        '{"api_token":"[redacted]"}',
    ]

    await db.connect()
    stored = backend.rows("SELECT user_id, username, parameters FROM audit_logs")
    await db.close()
    assert {row[0] for row in stored} == {db.privacy.user_id("987654321")}
    assert {row[1] for row in stored} == {None}
    assert all(secret not in row[2] for row in stored)


@pytest.mark.sqlite_only
async def test_parameters_utf8_cannot_encode_are_repaired_in_the_spill_and_counted(
    backend: Backend, tmp_path: Path, clock: ManualClock
) -> None:
    config = config_for(backend.target, tmp_path)
    db = Database(backend.target, config=config, clock=clock)
    assert db.spill_target is not None
    record = CommandRecord(
        "111", "Guild", "7", "u", "play", {"text": "a\ud800b"}, 0.1, True, None, None, NOW
    )

    path, fallbacks = write_spill(db.spill_target, [record], db.privacy)
    await db.connect()  # Before the repair, SQLite refused the lone surrogate on every start.
    await db.close()

    assert fallbacks == 1
    assert backend.rows("SELECT parameters FROM audit_logs") == [('{"text":"a?b"}',)]
    assert not path.exists()


async def test_a_full_queue_spills_and_is_replayed_once_with_its_figures(
    backend: Backend, tmp_path: Path, clock: ManualClock
) -> None:
    """The largest spill the defaults allow: ``max_queue`` (100,000) records."""
    count = MonitoringConfig().recording.max_queue
    config = config_for(backend.target, tmp_path)
    db = Database(backend.target, config=config, clock=clock)
    assert db.spill_target is not None
    records = [
        CommandRecord(
            str(100 + i % 50), f"Guild {i % 50}", str(10_000 + i % 997), f"user{i % 997}",
            f"cmd{i % 20}", {"i": i, "query": "some words"}, (i % 100) / 100, i % 10 != 0,
            None if i % 10 else "ValueError", None if i % 10 else "bad input", NOW - i % 86400,
        )
        for i in range(count)
    ]  # fmt: skip

    started = time.perf_counter()
    path, _ = write_spill(db.spill_target, records, db.privacy)
    spilled = time.perf_counter() - started
    size = path.stat().st_size
    started = time.perf_counter()
    await db.connect()
    replayed = time.perf_counter() - started
    await db.close()

    json_i = backend.json_field("parameters", "i")
    rows = backend.rows(f"SELECT COUNT(*), COUNT(DISTINCT {json_i}) FROM audit_logs")
    assert rows == [(count, count)]
    assert backend.scalar("SELECT SUM(commands) FROM bot_stats") == count
    assert not path.exists()
    print(
        f"{backend.name}: {count} records spilled in {spilled:.2f}s ({size / 2**20:.1f} MiB),"
        f" replayed in {replayed:.2f}s"
    )


async def test_a_version_2_spill_is_still_replayed(
    backend: Backend, tmp_path: Path, clock: ManualClock
) -> None:
    # Written by the release before components and events: a command and a stall.
    db = Database(backend.target, config=config_for(backend.target, tmp_path), clock=clock)
    assert db.spill_target is not None
    db.spill_target.folder.mkdir(parents=True, exist_ok=True)
    path = db.spill_target.folder / f"{db.spill_target.prefix}.00000000000000000002-v2.spill"
    header = {"format": "monitoring_cog-spill", "version": 2, "id": "v2", "records": 2}
    rows = [
        ["command", "111", "Guild", "7", "alice", "play", "{}", 0.5, True, None, None, NOW, None],
        ["stall", NOW, 0.75, "play", "slash", "111", "bot.py:1 in play", None],
    ]
    path.write_text(f"{json.dumps(header)}\n{json.dumps(rows)}\n", encoding="utf-8")
    await db.connect()
    try:
        storage = await db.storage()
        (entry,) = await storage.audit_logs(AuditQuery())
        (stall,) = await storage.loop_stalls()
        assert (entry["command"], stall["duration"]) == ("play", 0.75)
        assert find_spills(db.spill_target) == []
    finally:
        await db.close()


def test_a_spill_from_a_newer_release_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "x.spill"
    header = {"format": "monitoring_cog-spill", "version": 4, "id": "new", "records": 0}
    path.write_text(f"{json.dumps(header)}\n[]\n", encoding="utf-8")
    with pytest.raises(SpillError, match="version 4"):
        read_spill(path)


async def test_a_version_1_spill_is_still_replayed(
    backend: Backend, tmp_path: Path, clock: ManualClock
) -> None:
    # Written by the release before tracebacks and stalls: commands of eleven values.
    db = Database(backend.target, config=config_for(backend.target, tmp_path), clock=clock)
    assert db.spill_target is not None
    db.spill_target.folder.mkdir(parents=True, exist_ok=True)
    path = db.spill_target.folder / f"{db.spill_target.prefix}.00000000000000000001-old.spill"
    header = {"format": "monitoring_cog-spill", "version": 1, "id": "old", "records": 1}
    row = ["command", "111", "Guild", "7", "alice", "play", "{}", 0.5, False, "E", "m", NOW]
    path.write_text(f"{json.dumps(header)}\n{json.dumps([row])}\n", encoding="utf-8")
    await db.connect()
    try:
        (entry,) = await (await db.storage()).audit_logs(AuditQuery())
        assert (entry["command"], entry["error_type"], entry["traceback"]) == ("play", "E", None)
        assert find_spills(db.spill_target) == []
    finally:
        await db.close()
