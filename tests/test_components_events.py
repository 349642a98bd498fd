"""Component uses and custom events: their rollups, on both backends, exactly.

Component records are submitted as the cog submits them (:class:`ComponentRecord`); custom events
go through the public API (``stats_collector.record_event`` and the ``record_event`` helper). The
figures are read back with plain SQL from the backend's own connection, and through the library's
reads, and compared with sums worked out by hand from the inputs below.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from backends import Backend, OpenSystem
from fakes import NOW
from hypothesis import given
from hypothesis import strategies as st

from monitoring_cog import (
    Database,
    EventNameError,
    EventValueError,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    create_monitoring_system,
    record_event,
)
from monitoring_cog.config import EventsConfig, PrivacyConfig, RecordingConfig
from monitoring_cog.recording.event_names import (
    MAX_EVENT_NAME_LENGTH,
    OTHER_EVENT,
    check_event_name,
)
from monitoring_cog.recording.records import ComponentRecord, EventRecord
from monitoring_cog.recording.rollups import BatchBuilder
from monitoring_cog.recording.spill import read_spill, write_spill

TODAY = NOW.date().isoformat()
YESTERDAY = (NOW - timedelta(days=1)).date().isoformat()
T = NOW.timestamp()
SECRET = "a-secret-of-sixteen-chars"


def component_rows(backend: Backend) -> list[tuple[object, ...]]:
    return backend.rows(
        "SELECT guild_id, CAST(day AS TEXT), component, kind, uses, failures, duration_sum,"
        " duration_max FROM component_stats ORDER BY guild_id, day, component, kind"
    )


def component_user_rows(backend: Backend) -> list[tuple[object, ...]]:
    return backend.rows(
        "SELECT guild_id, CAST(day AS TEXT), component, user_id, uses FROM component_users"
        " ORDER BY guild_id, day, component, user_id"
    )


def event_rows(backend: Backend) -> list[tuple[object, ...]]:
    return backend.rows(
        "SELECT guild_id, CAST(day AS TEXT), name, count, total FROM event_stats"
        " ORDER BY guild_id, day, name"
    )


def event_user_rows(backend: Backend) -> list[tuple[object, ...]]:
    return backend.rows(
        "SELECT guild_id, CAST(day AS TEXT), name, user_id, count FROM event_users"
        " ORDER BY guild_id, day, name, user_id"
    )


COMPONENTS = [
    # guild, user, component, kind, duration, success, at
    ComponentRecord("g1", "u1", "ticket:open", "button", 0.25, True, T),
    ComponentRecord("g1", "u1", "ticket:open", "button", 0.5, True, T + 1),
    ComponentRecord("g1", "u2", "ticket:open", "button", 1.25, False, T + 2),
    ComponentRecord("g1", "u2", "role_menu", "select", 0.125, True, T + 3),
    ComponentRecord("g1", "u3", "ticket:open", "button", 2.0, True, T - 86400),
    ComponentRecord("g2", "u1", "ticket:open", "button", 0.75, False, T + 4),
    ComponentRecord("g2", "u4", "feedback", "modal", 3.5, True, T + 5),
]


async def test_component_uses_failures_durations_and_users_per_guild_day_and_component(
    backend: Backend, db: Database
) -> None:
    for record in COMPONENTS:
        assert db.submit(record)
    await db.flush()

    assert component_rows(backend) == [
        ("g1", YESTERDAY, "ticket:open", "button", 1, 0, 2.0, 2.0),
        ("g1", TODAY, "role_menu", "select", 1, 0, 0.125, 0.125),
        ("g1", TODAY, "ticket:open", "button", 3, 1, 2.0, 1.25),
        ("g2", TODAY, "feedback", "modal", 1, 0, 3.5, 3.5),
        ("g2", TODAY, "ticket:open", "button", 1, 1, 0.75, 0.75),
    ]
    assert component_user_rows(backend) == [
        ("g1", YESTERDAY, "ticket:open", "u3", 1),
        ("g1", TODAY, "role_menu", "u2", 1),
        ("g1", TODAY, "ticket:open", "u1", 2),
        ("g1", TODAY, "ticket:open", "u2", 1),
        ("g2", TODAY, "feedback", "u4", 1),
        ("g2", TODAY, "ticket:open", "u1", 1),
    ]
    # Their own kind: no audit row, no command counted, no command user.
    for table in ("audit_logs", "command_stats", "bot_stats", "daily_users", "command_minutes"):
        assert backend.scalar(f"SELECT COUNT(*) FROM {table}") == 0
    assert {row[0] for row in backend.rows("SELECT guild_id FROM servers")} == {"g1", "g2"}

    storage = await db.storage()
    day = NOW.date()
    week = await storage.component_totals(None, day - timedelta(days=6), day)
    assert [(c.component, c.kind, c.uses, c.failures, c.duration_sum, c.users) for c in week] == [
        ("ticket:open", "button", 5, 2, 4.75, 3),  # u1 in two guilds counts once.
        ("feedback", "modal", 1, 0, 3.5, 1),
        ("role_menu", "select", 1, 0, 0.125, 1),
    ]
    today_g1 = await storage.component_totals("g1", day, day)
    assert [(c.component, c.uses, c.users, c.duration_max) for c in today_g1] == [
        ("ticket:open", 3, 2, 1.25),
        ("role_menu", 1, 1, 0.125),
    ]


async def test_a_second_batch_adds_to_the_stored_rows(backend: Backend, db: Database) -> None:
    for half in (COMPONENTS[:3], COMPONENTS[3:]):
        for record in half:
            db.submit(record)
        await db.flush()
    assert component_rows(backend)[2] == ("g1", TODAY, "ticket:open", "button", 3, 1, 2.0, 1.25)
    assert component_user_rows(backend)[2] == ("g1", TODAY, "ticket:open", "u1", 2)


async def test_custom_events_counted_summed_and_their_users_per_guild_day_and_name(
    backend: Backend, system: MonitoringSystem, clock: ManualClock
) -> None:
    stats = system.stats_collector
    clock.set(T - 86400)
    assert await stats.record_event("g1", "xp_gained", 10, user_id="u1")
    clock.set(T)
    assert await stats.record_event("g1", "xp_gained", 2.5, user_id="u1")
    assert await stats.record_event("g1", "xp_gained", 7, user_id=2)
    assert await stats.record_event(1, "ticket_opened")
    assert await stats.record_event(1, "ticket_opened", user_id="u1")
    assert await stats.record_event("g2", "xp_gained", 100, user_id="u1")
    assert await stats.record_event(None, "game_won", user_id="u9")
    await system.db.flush()

    assert event_rows(backend) == [
        ("1", TODAY, "ticket_opened", 2, 2.0),
        ("dm", TODAY, "game_won", 1, 1.0),
        ("g1", YESTERDAY, "xp_gained", 1, 10.0),
        ("g1", TODAY, "xp_gained", 2, 9.5),
        ("g2", TODAY, "xp_gained", 1, 100.0),
    ]
    assert event_user_rows(backend) == [
        ("1", TODAY, "ticket_opened", "u1", 1),
        ("dm", TODAY, "game_won", "u9", 1),
        ("g1", YESTERDAY, "xp_gained", "u1", 1),
        ("g1", TODAY, "xp_gained", "2", 1),
        ("g1", TODAY, "xp_gained", "u1", 1),
        ("g2", TODAY, "xp_gained", "u1", 1),
    ]
    for table in ("audit_logs", "command_stats", "bot_stats", "daily_users"):
        assert backend.scalar(f"SELECT COUNT(*) FROM {table}") == 0

    storage = await system.db.storage()
    day = NOW.date()
    week = await storage.event_totals(None, day - timedelta(days=6), day)
    assert [(e.name, e.count, e.total, e.users) for e in week] == [
        ("xp_gained", 4, 119.5, 2),
        ("ticket_opened", 2, 2.0, 1),
        ("game_won", 1, 1.0, 1),
    ]
    only_g1 = await storage.event_totals("g1", day - timedelta(days=6), day)
    assert [(e.name, e.count, e.total, e.users) for e in only_g1] == [("xp_gained", 3, 19.5, 2)]


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "empty"),
        ("x" * (MAX_EVENT_NAME_LENGTH + 1), f"longer than {MAX_EVENT_NAME_LENGTH}"),
        ("ticket opened", "ASCII letters, digits"),
        ("_private", "starting with a letter or a digit"),
        ("(other)", "ASCII letters, digits"),
        ("café", "ASCII letters, digits"),
        (42, "expected a string"),
    ],
)
async def test_a_name_breaking_the_rule_raises_at_the_call_site_naming_it(
    system: MonitoringSystem, name: object, rule: str
) -> None:
    with pytest.raises(EventNameError) as raised:
        await system.stats_collector.record_event("g1", name, 1)  # type: ignore[arg-type]
    assert repr(name) in str(raised.value)
    assert rule in str(raised.value)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(EventNameError, match="invalid event name"):
        await record_event("g1", name, 1)  # type: ignore[arg-type]
    assert system.db.recorder.pending == 0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "3", True, None, 10**400, -1, -0.5])
async def test_a_value_that_is_not_a_finite_number_raises(
    system: MonitoringSystem, value: object
) -> None:
    with pytest.raises(EventValueError, match="'xp_gained'"):
        await system.stats_collector.record_event("g1", "xp_gained", value)  # type: ignore[arg-type]
    assert system.db.recorder.pending == 0


async def test_names_accepted_at_the_limits_are_recorded(
    backend: Backend, system: MonitoringSystem
) -> None:
    longest = "a" * MAX_EVENT_NAME_LENGTH
    for name in (longest, "9lives", "Quest.Done:v2-b_c"):
        assert await record_event("g1", name, 0.5)
    await system.db.flush()
    assert sorted(row[0] for row in backend.rows("SELECT name FROM event_stats")) == sorted(
        [longest, "9lives", "Quest.Done:v2-b_c"]
    )


def capped(limit: int) -> MonitoringConfig:
    return MonitoringConfig(events=EventsConfig(max_names_per_guild=limit))


async def test_past_the_cap_a_guilds_new_names_go_to_other_and_stay_there_across_restarts(
    backend: Backend, db_target: Path | str, open_system: OpenSystem
) -> None:
    config = capped(2)
    system = open_system(db_target, config)
    stats = system.stats_collector
    for name in ("a", "b", "c", "a", "d"):
        assert await stats.record_event("g1", name, 1, user_id="u1")
    for name in ("x", "y", "z"):  # Another guild has its own two.
        assert await stats.record_event("g2", name, 2)
    await system.db.flush()
    assert event_rows(backend) == [
        ("g1", TODAY, OTHER_EVENT, 2, 2.0),
        ("g1", TODAY, "a", 2, 2.0),
        ("g1", TODAY, "b", 1, 1.0),
        ("g2", TODAY, OTHER_EVENT, 1, 2.0),
        ("g2", TODAY, "x", 1, 2.0),
        ("g2", TODAY, "y", 1, 2.0),
    ]
    assert backend.rows("SELECT guild_id, name FROM event_names ORDER BY guild_id, name") == [
        ("g1", "a"),
        ("g1", "b"),
        ("g2", "x"),
        ("g2", "y"),
    ]
    await system.db.close()

    # A new process: the names stored bound it from its first write.
    again = open_system(db_target, config)
    assert await again.stats_collector.record_event("g1", "e", 5)
    assert await again.stats_collector.record_event("g1", "b", 5)
    assert await again.stats_collector.record_event("g3", "e", 5)
    await again.db.flush()
    assert event_rows(backend) == [
        ("g1", TODAY, OTHER_EVENT, 3, 7.0),
        ("g1", TODAY, "a", 2, 2.0),
        ("g1", TODAY, "b", 2, 6.0),
        ("g2", TODAY, OTHER_EVENT, 1, 2.0),
        ("g2", TODAY, "x", 1, 2.0),
        ("g2", TODAY, "y", 1, 2.0),
        ("g3", TODAY, "e", 1, 5.0),
    ]
    assert backend.scalar("SELECT COUNT(*) FROM event_names") == 5


async def test_a_raised_cap_admits_new_names_after_a_restart(
    backend: Backend, db_target: Path | str, open_system: OpenSystem
) -> None:
    first = open_system(db_target, capped(1))
    for name in ("a", "b"):
        await first.stats_collector.record_event("g1", name)
    await first.db.close()
    second = open_system(db_target, capped(2))
    for name in ("b", "c"):
        await second.stats_collector.record_event("g1", name)
    await second.db.flush()
    assert [row[2:4] for row in event_rows(backend)] == [(OTHER_EVENT, 2), ("a", 1), ("b", 1)]


def test_a_cap_below_one_fails_naming_the_key() -> None:
    from monitoring_cog import ConfigError

    with pytest.raises(ConfigError, match=r"events\.max_names_per_guild: expected an integer >= 1"):
        EventsConfig(max_names_per_guild=0)


def hashing(tmp_path: Path) -> MonitoringConfig:
    return MonitoringConfig(
        privacy=PrivacyConfig(hash_user_ids=True, hash_secret=SECRET),
        recording=RecordingConfig(spill_dir=str(tmp_path / "spill")),
    )


async def test_user_ids_are_hashed_in_the_per_day_rows_and_in_spills(
    backend: Backend, db_target: Path | str, tmp_path: Path, open_system: OpenSystem
) -> None:
    system = open_system(db_target, hashing(tmp_path))
    privacy = system.db.privacy
    system.db.submit(ComponentRecord("g1", "123456789", "ticket:open", "button", 0.1, True, T))
    await system.stats_collector.record_event("g1", "xp_gained", 3, user_id=123456789)
    await system.db.flush()
    hashed = privacy.user_id("123456789")
    assert hashed.startswith("h:") and hashed != "123456789"
    assert [row[3] for row in component_user_rows(backend)] == [hashed]
    assert [row[3] for row in event_user_rows(backend)] == [hashed]

    target = system.db.spill_target
    assert target is not None
    records = [
        ComponentRecord("g1", "123456789", "ticket:open", "button", 0.1, True, T),
        EventRecord("g1", "xp_gained", 3.0, "123456789", T),
        EventRecord("g1", "xp_gained", 3.0, None, T),
    ]
    path, _ = write_spill(target, records, privacy)
    assert b"123456789" not in path.read_bytes()
    spilled = read_spill(path).records
    assert [getattr(r, "user_id", None) for r in spilled] == [hashed, hashed, None]
    await system.db.close()

    again = open_system(db_target, hashing(tmp_path))
    await again.db.connect()  # Replays the spill, hashing nothing twice.
    assert component_user_rows(backend) == [("g1", TODAY, "ticket:open", hashed, 2)]
    assert event_user_rows(backend) == [("g1", TODAY, "xp_gained", hashed, 2)]
    assert event_rows(backend) == [("g1", TODAY, "xp_gained", 3, 9.0)]


async def test_forget_user_removes_their_component_and_event_rows_and_keeps_the_counts(
    backend: Backend, system: MonitoringSystem
) -> None:
    for record in COMPONENTS:
        system.db.submit(record)
    await system.stats_collector.record_event("g1", "xp_gained", 5, user_id="u1")
    await system.stats_collector.record_event("g1", "xp_gained", 5, user_id="u2")
    await system.db.flush()
    before = component_rows(backend), event_rows(backend)
    assert len(before[0]) == 5 and len(before[1]) == 1

    deleted = await system.cmd_logger.forget_user("u1")

    assert deleted == {"audit_logs": 0, "daily_users": 0, "component_users": 2, "event_users": 1}
    assert backend.scalar("SELECT COUNT(*) FROM component_users WHERE user_id = 'u1'") == 0
    assert backend.scalar("SELECT COUNT(*) FROM event_users WHERE user_id = 'u1'") == 0
    assert backend.scalar("SELECT COUNT(*) FROM component_users") == 4
    assert event_user_rows(backend) == [("g1", TODAY, "xp_gained", "u2", 1)]
    assert (component_rows(backend), event_rows(backend)) == before  # Counts stay.


async def test_retention_prunes_the_audit_log_and_keeps_the_per_day_rows_as_for_commands(
    backend: Backend, system: MonitoringSystem, clock: ManualClock
) -> None:
    old = T - 90 * 86400
    clock.set(old)
    await system.cmd_logger.log_command(
        guild_id="g1",
        guild_name=None,
        user_id="u1",
        username=None,
        command="ping",
        parameters={},
        duration=0.1,
        success=True,
    )
    system.db.submit(ComponentRecord("g1", "u1", "ticket:open", "button", 0.1, True, old))
    await system.stats_collector.record_event("g1", "xp_gained", 5, user_id="u1")
    clock.set(T)

    assert await system.cmd_logger.clear_old_logs(30) == 1

    assert backend.scalar("SELECT COUNT(*) FROM audit_logs") == 0
    for table in ("daily_users", "command_stats", "component_stats", "component_users"):
        assert backend.scalar(f"SELECT COUNT(*) FROM {table}") == 1, table
    for table in ("event_stats", "event_users"):
        assert backend.scalar(f"SELECT COUNT(*) FROM {table}") == 1, table


def test_the_builder_bounds_names_only_when_given_the_bound() -> None:
    from monitoring_cog.recording.event_names import EventNames

    records = [EventRecord("g", name, 1.0, None, T) for name in ("a", "b", "c")]
    unbounded = BatchBuilder()
    unbounded.add(records)
    assert {key[2] for key in unbounded.finish().events} == {"a", "b", "c"}
    bounded = BatchBuilder(event_names=EventNames(2))
    bounded.add(records)
    batch = bounded.finish()
    assert {key[2]: v for key, v in batch.events.items()} == {
        "a": [1, 1.0],
        "b": [1, 1.0],
        OTHER_EVENT: [1, 1.0],
    }
    assert batch.event_names == {("g", "a"), ("g", "b")}


async def test_the_helper_records_into_the_current_system(backend: Backend, db: Database) -> None:
    create_monitoring_system(db)
    assert await record_event(7, "ticket_opened", user_id=9)
    await db.flush()
    assert event_rows(backend) == [("7", TODAY, "ticket_opened", 1, 1.0)]


QUICK_REFERENCE_KEYS = {
    "period",
    "days",
    "start_date",
    "end_date",
    "active_days",
    "total_songs",
    "total_playtime",
    "total_playtime_hours",
    "total_skips",
    "total_pauses",
    "total_commands",
    "failed_commands",
    "error_rate",
    "avg_daily_users",
    "peak_users",
    "avg_song_duration",
    "skip_rate",
    "top_commands",
    "daily",
}


async def test_weekly_and_monthly_reports_gain_top_components_and_top_events(
    system: MonitoringSystem, clock: ManualClock
) -> None:
    for record in COMPONENTS:
        system.db.submit(record)
    stats = system.stats_collector
    clock.set(T - 10 * 86400)  # In the month, not the week.
    await stats.record_event("g1", "xp_gained", 40, user_id="u3")
    clock.set(T)
    await stats.record_event("g1", "xp_gained", 2.5, user_id="u1")
    await stats.record_event("g1", "xp_gained", 7.5, user_id="u2")
    await stats.record_event("g1", "ticket_opened")
    await stats.record_event("g2", "ticket_opened", user_id="u1")

    weekly = await stats.generate_weekly_report("g1")
    monthly = await stats.generate_monthly_report("g1")
    everywhere = await stats.generate_weekly_report(None)

    assert set(weekly) == QUICK_REFERENCE_KEYS | {"top_components", "top_events"}
    assert weekly["total_commands"] == 0 and weekly["top_commands"] == []
    assert weekly["top_components"] == [
        {
            "component": "ticket:open",
            "kind": "button",
            "uses": 4,
            "failures": 1,
            "users": 3,
            "avg_ms": 1000.0,  # (0.25 + 0.5 + 1.25 + 2.0) / 4 s
        },
        {
            "component": "role_menu",
            "kind": "select",
            "uses": 1,
            "failures": 0,
            "users": 1,
            "avg_ms": 125.0,
        },
    ]
    assert weekly["top_events"] == [
        {"name": "xp_gained", "count": 2, "total": 10.0, "users": 2},
        {"name": "ticket_opened", "count": 1, "total": 1.0, "users": 0},
    ]
    assert monthly["top_events"][0] == {"name": "xp_gained", "count": 3, "total": 50.0, "users": 3}
    assert monthly["top_components"] == weekly["top_components"]
    assert everywhere["top_events"] == [
        {"name": "ticket_opened", "count": 2, "total": 2.0, "users": 1},
        {"name": "xp_gained", "count": 2, "total": 10.0, "users": 2},
    ]
    assert [(c["component"], c["uses"], c["users"]) for c in everywhere["top_components"]] == [
        ("ticket:open", 5, 3),
        ("feedback", 1, 1),
        ("role_menu", 1, 1),
    ]


async def test_a_report_lists_at_most_ten_components_and_ten_events(
    system: MonitoringSystem,
) -> None:
    for i in range(12):
        for _ in range(i + 1):
            system.db.submit(ComponentRecord("g1", "u1", f"c{i:02}", "button", 0.01, True, T))
            await system.stats_collector.record_event("g1", f"e{i:02}")
    report = await system.stats_collector.generate_weekly_report("g1")
    assert [c["component"] for c in report["top_components"]] == [
        f"c{i:02}" for i in range(11, 1, -1)
    ]
    assert [e["name"] for e in report["top_events"]] == [f"e{i:02}" for i in range(11, 1, -1)]


async def test_component_and_event_text_utf8_cannot_encode_is_stored_repaired(
    backend: Backend, system: MonitoringSystem
) -> None:
    # Queued as they are (as the cog queues what discord.py hands it); the writer repairs them
    # once the database refuses the batch, each repaired record counted.
    system.db.submit(ComponentRecord("g1", "u\ud800", "menu:\udfff", "select", 0.1, True, T))
    system.db.submit(EventRecord("g\ud800", "xp_gained", 2.0, "u\udc00", T))
    system.db.submit(ComponentRecord("g1", "u1", "fine", "button", 0.1, True, T))
    await system.db.flush()

    assert component_user_rows(backend) == [
        ("g1", TODAY, "fine", "u1", 1),
        ("g1", TODAY, "menu:?", "u?", 1),
    ]
    assert event_user_rows(backend) == [("g?", TODAY, "xp_gained", "u?", 1)]
    assert system.db.errors.rejected_inputs == 2
    assert system.db.recorder.discarded == 0


@given(st.text(max_size=80))
def test_any_text_is_a_name_or_an_event_name_error(name: str) -> None:
    try:
        checked = check_event_name(name)
    except EventNameError as exc:
        assert exc.name == name and exc.rule in str(exc)
    else:
        assert checked == name
        assert 1 <= len(name) <= MAX_EVENT_NAME_LENGTH and name.isascii() and name[0].isalnum()
        assert name != OTHER_EVENT


async def test_only_the_guilds_met_have_their_names_loaded(
    backend: Backend, db_target: Path | str, open_system: OpenSystem
) -> None:
    first = open_system(db_target, capped(2))
    for guild in ("g1", "g2", "g3"):
        for name in ("a", "b"):
            await first.stats_collector.record_event(guild, name)
    await first.db.close()

    again = open_system(db_target, capped(2))
    await again.db.connect()
    assert again.db.event_names.loaded == frozenset()  # Nothing read at connect.
    await again.stats_collector.record_event("g2", "c")
    await again.stats_collector.record_event("g4", "a")
    await again.db.flush()
    assert again.db.event_names.loaded == {"g2", "g4"}
    assert again.db.event_names.names("g2") == {"a", "b"}
    assert backend.rows(
        "SELECT guild_id, name, count FROM event_stats WHERE guild_id IN ('g2', 'g4')"
        " ORDER BY guild_id, name"
    ) == [("g2", OTHER_EVENT, 1), ("g2", "a", 1), ("g2", "b", 1), ("g4", "a", 1)]


async def test_a_spill_replayed_after_a_restart_keeps_to_the_bound(
    backend: Backend, db_target: Path | str, tmp_path: Path, open_system: OpenSystem
) -> None:
    config = MonitoringConfig(
        events=EventsConfig(max_names_per_guild=1),
        recording=RecordingConfig(spill_dir=str(tmp_path / "spill")),
    )
    first = open_system(db_target, config)
    await first.stats_collector.record_event("g1", "a")
    await first.db.close()

    again = open_system(db_target, config)
    target = again.db.spill_target
    assert target is not None
    write_spill(
        target, [EventRecord("g1", "b", 4.0, None, T), EventRecord("g1", "a", 1.0, None, T)]
    )
    await again.db.connect()  # Replays the spill: "b" is past g1's bound.
    assert event_rows(backend) == [("g1", TODAY, OTHER_EVENT, 1, 4.0), ("g1", TODAY, "a", 2, 2.0)]
