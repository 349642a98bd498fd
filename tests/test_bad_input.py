"""Bad input, generated: every public method of the quick reference, fed what callers really pass.

Hypothesis draws ``None``, empty, huge, unicode, control-character and SQL-injection strings;
parameters JSON cannot hold; NaN, negative and infinite durations and times; ids as ``int`` or
``str``. For each call:

- nothing raises into the caller (where the contract raises, it raises the documented error);
- nothing malformed is stored: the rows read back through the storage and the rollups read back
  through the reports are normalised (no control characters, the length limits of
  :mod:`monitoring_cog.recording.normalize`, durations finite within ``[0, 86400]``, ids as
  text), and a
  value that had to be changed is counted (``db.errors.rejected_inputs``);
- no exception was swallowed on the way (``db.errors.errors`` stays 0): bad input is a counted
  correction, never an internal error.

One database per test function, built in the test; examples share it, each reading back its own
row (the newest id).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import sqlite3
import typing
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from fakes import FakeProcess
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring_cog import (
    ConfigError,
    Database,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    clear_old_audit_logs,
    create_monitoring_system,
    get_health_report,
    get_performance_stats,
    get_statistics_report,
    load_config,
    log_command_execution,
    safe_execute,
)
from monitoring_cog.config import RecordingConfig
from monitoring_cog.errors import ErrorCounter
from monitoring_cog.recording.normalize import (
    MAX_COMMAND_LENGTH,
    MAX_DURATION,
    MAX_ERROR_LENGTH,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TIMESTAMP,
)
from monitoring_cog.recording.privacy import REDACTED

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
"""Moderate: each example writes to and reads from a real SQLite file."""

NOW = 1_773_576_000.0  # 2026-03-15 12:00:00 UTC

# --- strategies ----------------------------------------------------------------------------------

SQL_INJECTIONS = [
    "'; DROP TABLE audit_logs; --",
    "1' OR '1'='1",
    'Robert"); DROP TABLE servers;--',
    "x' UNION SELECT name, sql FROM sqlite_master --",
    "\\'; DELETE FROM bot_stats WHERE '1'='1",
    "%' AND 1=0 UNION ALL SELECT NULL --",
]

any_char = st.characters(codec=None, exclude_categories=())
"""Every code point: control characters, C1 controls, lone surrogates, astral planes."""
LONE_SURROGATES = ["\ud800", "a\udfffb"]
"""Valid in a Python str, impossible in UTF-8: what SQLite (or PostgreSQL) must be given."""
control_text = st.text(
    alphabet=st.sampled_from([chr(c) for c in (*range(32), *range(127, 160))] + ["a", "é"]),
    max_size=20,
)
huge_text = st.builds(lambda c, n: c * n, any_char, st.integers(1000, 20_000))
texts = st.one_of(
    st.none(),
    st.just(""),
    st.text(any_char, max_size=200),
    control_text,
    st.sampled_from(LONE_SURROGATES),
    huge_text,
    st.sampled_from(SQL_INJECTIONS),
)
ids = st.one_of(
    st.none(),
    st.integers(-(2**70), 2**70),
    st.integers(10**17, 2**63 - 1),  # Real snowflakes.
    texts,
)
durations = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**400), 10**400),
    st.sampled_from([None, "1.5", "fast", True, [], object()]),
)
times = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.datetimes(timezones=st.sampled_from([None, UTC])),
    st.sampled_from(["yesterday", object()]),
)


class Opaque:
    """A value JSON cannot hold; stored as its text."""

    def __repr__(self) -> str:
        return "Opaque()"


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(any_char, max_size=30),
    st.sampled_from(SQL_INJECTIONS + LONE_SURROGATES),
)
odd_leaves = st.one_of(
    json_leaves,
    st.builds(Opaque),
    st.binary(max_size=8),
    st.sets(st.integers(0, 5), max_size=3),
    st.complex_numbers(allow_nan=True),
    st.datetimes(),
)
parameters = st.one_of(
    st.none(),
    st.dictionaries(
        st.one_of(st.text(any_char, max_size=10), st.sampled_from(LONE_SURROGATES), st.integers()),
        st.recursive(odd_leaves, lambda inner: st.lists(inner, max_size=3), max_leaves=6),
        max_size=5,
    ),
    st.lists(json_leaves, max_size=3),  # Untyped callers pass lists or scalars too.
    st.sampled_from(SQL_INJECTIONS),
)


# --- helpers -------------------------------------------------------------------------------------


@asynccontextmanager
async def fresh_system(path: Path) -> AsyncIterator[MonitoringSystem]:
    """A monitoring system on a new SQLite file (only reads and flush() write)."""
    config = MonitoringConfig(recording=RecordingConfig(flush_interval=3600.0))
    db = Database(path, config=config, clock=ManualClock(NOW))
    try:
        yield create_monitoring_system(db, process=FakeProcess(), make_current=True)
    finally:
        await db.close()


def has_control(text: str, *, multiline: bool = False) -> bool:
    allowed = "\t\n" if multiline else ""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def is_clean(text: Any, limit: int, *, multiline: bool = False) -> bool:
    """Text as stored: one line of printable text (or multi-line), within ``limit``, UTF-8."""
    if not isinstance(text, str) or len(text) > limit or has_control(text, multiline=multiline):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_given(value: Any) -> str | None:
    """What storing ``value`` unchanged would give (text, outer spaces aside)."""
    return None if value is None else str(value)


async def newest_row(system: MonitoringSystem) -> dict[str, Any] | None:
    """The audit row with the highest id, read back through the storage (queue flushed)."""
    await system.db.flush()
    storage = await system.db.storage()
    newest: dict[str, Any] | None = None
    async for row in storage.iter_audit_logs():
        if newest is None or row["id"] > newest["id"]:
            newest = row
    return newest


def raw_types(path: Path, row_id: int) -> tuple[str, ...]:
    """SQLite's own types of a stored row's ids, duration and time."""
    with closing(sqlite3.connect(path)) as conn:
        row = conn.execute(
            "SELECT typeof(guild_id), typeof(user_id), typeof(duration), typeof(executed_at)"
            " FROM audit_logs WHERE id = ?",
            (row_id,),
        ).fetchone()
    return tuple(row)


def assert_finite_numbers(value: Any, where: str) -> None:
    """Every number in a (nested) report is finite."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert_finite_numbers(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_finite_numbers(item, f"{where}[{index}]")
    elif isinstance(value, float):
        assert math.isfinite(value), f"{where} = {value}"


def assert_latency_in_range(stats: dict[str, Any]) -> None:
    assert stats, "performance stats came back empty (an error)"
    for entry in stats["slowest_commands"]:
        for key in ("avg_duration", "min_duration", "max_duration", "p50", "p95", "p99"):
            assert 0.0 <= entry[key] <= MAX_DURATION, (key, entry)
    assert_finite_numbers(stats, "performance")


# --- CommandLogger.log_command and the helper log_command_execution -----------------------------


COMMAND_CALLS = st.fixed_dictionaries(
    {
        "guild_id": ids,
        "guild_name": texts,
        "user_id": ids,
        "username": texts,
        "command": texts,
        "parameters": parameters,
        "duration": durations,
        "success": st.one_of(st.booleans(), st.none(), st.integers(-1, 2), st.just("no")),
        "error_message": texts,
    },
    optional={"error_type": texts, "executed_at": times},
)


@SETTINGS
@given(call=COMMAND_CALLS, helper=st.booleans())
async def test_log_command_stores_only_normalised_rows(
    tmp_path: Path, call: dict[str, Any], helper: bool
) -> None:
    path = tmp_path / "log.db"
    async with fresh_system(path) as system:
        db = system.db
        before = await newest_row(system)
        if helper:
            # The helper takes ``details`` for the parameters, and no error_type/executed_at.
            call = {k: v for k, v in call.items() if k not in ("error_type", "executed_at")}
            kwargs = {("details" if k == "parameters" else k): v for k, v in call.items()}
            queued = await log_command_execution(**kwargs)
        else:
            queued = await system.cmd_logger.log_command(**call)
        await db.flush()  # Raises if a record poisons the batch.
        row = await newest_row(system)

        assert db.errors.errors == 0, db.errors.last_error
        assert type(queued) is bool
        if not queued:
            # Refused only for want of a command name: counted, nothing stored.
            given = as_given(call["command"]) or ""
            assert not "".join(c for c in given if unicodedata.category(c) != "Cc").strip()
            assert db.errors.rejected_inputs >= 1
            assert row == before
            return
        assert row is not None and (before is None or row["id"] > before["id"])
        assert_row_is_normalised(row, call, db.errors)
        assert raw_types(path, row["id"]) == ("text", "text", "real", "real")
        assert_latency_in_range(await system.perf_monitor.get_performance_stats(row["guild_id"]))
        report = await system.stats_collector.generate_weekly_report(row["guild_id"])
        assert report and report["total_commands"] >= 0
        assert_finite_numbers(report, "weekly")
        assert db.errors.errors == 0, db.errors.last_error


def assert_row_is_normalised(
    row: dict[str, Any], call: dict[str, Any], errors: ErrorCounter
) -> None:
    """Each field within its limits; a field that differs from what was given was counted."""
    for key, limit in (("guild_id", MAX_ID_LENGTH), ("user_id", MAX_ID_LENGTH)):
        assert is_clean(row[key], limit) and row[key].strip() == row[key] != "", (key, row[key])
    assert is_clean(row["command"], MAX_COMMAND_LENGTH) and row["command"].strip()
    for key, limit in (("guild_name", MAX_NAME_LENGTH), ("username", MAX_NAME_LENGTH)):
        assert row[key] is None or is_clean(row[key], limit), (key, row[key])
    assert row["error_type"] is None or is_clean(row["error_type"], MAX_NAME_LENGTH)
    message = row["error_message"]
    assert message is None or is_clean(message, MAX_ERROR_LENGTH, multiline=True)
    assert type(row["duration"]) is float and 0.0 <= row["duration"] <= MAX_DURATION
    assert row["executed_at"].tzinfo is not None
    assert 1970 <= row["executed_at"].year <= 9999
    assert isinstance(row["parameters"], dict)
    json.dumps(row["parameters"], allow_nan=False)  # Plain JSON, whatever was given.

    changed = [
        row[key] != as_given(call.get(key))
        for key in ("guild_name", "username", "error_message", "error_type")
        if key in call
    ]
    changed.append(row["command"] != (as_given(call["command"]) or "").strip())
    for key in ("guild_id", "user_id"):
        given = (as_given(call[key]) or "").strip()
        changed.append(bool(given) and row[key] != given)
    changed.append(not duration_kept(call["duration"]))
    if call.get("executed_at") is not None:
        kept = time_kept(call["executed_at"])
        changed.append(kept is None)
        if kept is not None:
            assert abs(row["executed_at"].timestamp() - kept) < 1e-3, (row, call)
    if any(changed):
        assert errors.rejected_inputs >= 1, (row, call)


def duration_kept(value: Any) -> bool:
    """Whether a duration is stored as given (a number in range), or must be a correction."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return 0.0 <= seconds <= MAX_DURATION


def time_kept(value: Any) -> float | None:
    """The epoch seconds an ``executed_at`` is stored as, if it is kept (else it is counted)."""
    if isinstance(value, datetime):
        value = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= MAX_TIMESTAMP else None


@SETTINGS
@given(parameters=st.dictionaries(st.text(any_char, max_size=10), json_leaves, max_size=5))
async def test_json_parameters_round_trip_or_are_counted(
    tmp_path: Path, parameters: dict[str, Any]
) -> None:
    async with fresh_system(tmp_path / "params.db") as system:
        corrections = system.db.errors.rejected_inputs
        assert await system.cmd_logger.log_command(1, "g", 2, "u", "play", parameters)
        row = await newest_row(system)

        assert row is not None
        # Arguments named like secrets are redacted by design (``[privacy]``): not a correction.
        stored = {k: v for k, v in row["parameters"].items() if v != REDACTED}
        given = {k: v for k, v in parameters.items() if k in stored}
        if stored != given or set(row["parameters"]) != set(parameters):
            # NaN/inf or a lone surrogate: JSON or UTF-8 cannot hold it as it was.
            assert system.db.errors.rejected_inputs > corrections, (parameters, row)
        assert system.db.errors.errors == 0, system.db.errors.last_error


# --- SQL injection -------------------------------------------------------------------------------


def table_definitions(path: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()


@pytest.mark.parametrize("text", SQL_INJECTIONS)
async def test_sql_injection_is_stored_verbatim_and_found_by_exact_match(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "injection.db"
    async with fresh_system(path) as system:
        await system.db.connect()
        tables = table_definitions(path)
        logger = system.cmd_logger
        assert await logger.log_command(
            text, text, text, text, text, {text: text}, 0.5, False, text, error_type=text
        )
        await system.stats_collector.record_song_played(text, 100, text)

        [row] = await logger.get_recent_commands(text, user_id=text, command=text)
        report = await system.stats_collector.generate_weekly_report(text)

        assert table_definitions(path) == tables
        for key in ("guild_id", "guild_name", "user_id", "username", "command", "error_type"):
            assert row[key] == text
        assert row["error_message"] == text
        assert row["parameters"] == {text: text}
        assert report["total_songs"] == 1 and report["total_commands"] == 1
        assert await logger.get_recent_commands(text + "x") == []
        assert system.db.errors.rejected_inputs == 0
        assert system.db.errors.errors == 0


# --- the known bug: an executed_at of NaN or inf ----------------------------------------------


@pytest.mark.parametrize("executed_at", [math.nan, math.inf, -math.inf, 1e300, -1.0])
async def test_executed_at_that_is_not_a_time_becomes_now_and_is_counted(
    tmp_path: Path, executed_at: float
) -> None:
    async with fresh_system(tmp_path / "time.db") as system:
        logger = system.cmd_logger
        assert await logger.log_command(1, "g", 2, "u", "ok-before", duration=0.5)
        assert await logger.log_command(
            1, "g", 2, "u", "bad", duration=0.5, executed_at=executed_at
        )
        assert await logger.log_command(1, "g", 2, "u", "ok-after", duration=0.5)

        rows = await logger.get_recent_commands(limit=10)

        # Before the fix the writer's aggregation raised, and the whole batch was lost uncounted.
        assert sorted(r["command"] for r in rows) == ["bad", "ok-after", "ok-before"]
        bad = next(r for r in rows if r["command"] == "bad")
        assert bad["executed_at"] == datetime.fromtimestamp(NOW - 0.5, UTC)
        assert system.db.errors.rejected_inputs == 1
        assert system.db.recorder.dropped == 0
        assert system.db.errors.errors == 0


# --- StatisticsCollector ------------------------------------------------------------------------


STAT_CALLS = st.lists(
    st.tuples(st.sampled_from(["song", "skip", "pause", "command"]), ids, ids, durations),
    min_size=1,
    max_size=5,
)


@SETTINGS
@given(calls=STAT_CALLS)
async def test_statistics_record_and_report_whatever_the_input(
    tmp_path: Path, calls: list[tuple[str, Any, Any, Any]]
) -> None:
    async with fresh_system(tmp_path / "stats.db") as system:
        stats = system.stats_collector
        guilds = set()
        for kind, guild_id, user_id, duration in calls:
            if kind == "song":
                done = await stats.record_song_played(guild_id, duration, user_id)
            elif kind == "skip":
                done = await stats.record_skip(guild_id, user_id)
            elif kind == "pause":
                done = await stats.record_pause(guild_id, user_id)
            else:
                done = await stats.record_command(guild_id, user_id)
            assert done is True
            guilds.add(guild_id)

        for guild_id in guilds:
            for report in (
                await stats.generate_weekly_report(guild_id),
                await stats.generate_monthly_report(guild_id),
                await stats.get_daily_stats(guild_id),
            ):
                assert report, "a report came back empty (an error)"
                assert_finite_numbers(report, "report")
        weekly = await stats.generate_weekly_report(None)
        assert 0 <= weekly["total_playtime"] <= MAX_DURATION * weekly["total_songs"]
        servers = await stats.get_servers()
        assert all(is_clean(s.guild_id, MAX_ID_LENGTH) for s in servers)
        assert system.db.errors.errors == 0, system.db.errors.last_error


# --- PerformanceMonitor -------------------------------------------------------------------------


@SETTINGS
@given(
    command=texts,
    guild_id=ids,
    user_id=ids,
    metrics=st.lists(
        st.tuples(st.sampled_from(["command", "voice_connect", "response"]), texts, durations),
        max_size=5,
    ),
    days=st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=True), st.none(), st.just("7")),
)
async def test_performance_monitor_whatever_the_input(
    tmp_path: Path,
    command: Any,
    guild_id: Any,
    user_id: Any,
    metrics: list[tuple[str, Any, Any]],
    days: Any,
) -> None:
    async with fresh_system(tmp_path / "perf.db") as system:
        monitor = system.perf_monitor
        async with monitor.track_command(command, guild_id, user_id) as timer:
            pass
        with monitor.track_voice_connect(guild_id), monitor.track_response(command):
            pass
        for kind, name, duration in metrics:
            monitor.record_metric(kind, name, duration)

        assert timer.duration is not None and timer.duration >= 0
        for summary in monitor.get_metrics().values():
            assert all(0 <= summary[k] < math.inf for k in ("avg_duration", "max_duration", "p99"))
        monitor.get_bottlenecks()
        assert monitor.cache_metrics()["total_entries"] <= 1000 * len(monitor.metrics)
        stats = await monitor.get_performance_stats(guild_id, days)

        if type(days) is int and 1 <= days <= 3650:
            assert stats, "valid days, yet an error"
        if stats:
            assert_latency_in_range(stats)
        # Days it cannot cover (0, negative, NaN, text, past year 1): {} and one counted error.
        assert system.db.errors.errors == (0 if stats else 1)


# --- HealthCheck and the other helpers ----------------------------------------------------------


@SETTINGS
@given(
    guild_id=ids,
    period=st.one_of(st.sampled_from(["weekly", "monthly", "daily"]), texts),
    days=st.one_of(st.integers(-5, 400), st.floats(allow_nan=True, allow_infinity=True)),
)
async def test_health_and_helpers_whatever_the_input(
    tmp_path: Path, guild_id: Any, period: Any, days: Any
) -> None:
    async with fresh_system(tmp_path / "helpers.db") as system:
        health = await system.health_check.get_full_health_report(guild_id)
        helper_health = await get_health_report(guild_id)
        errors = await system.health_check.check_error_rate(guild_id)
        report = await get_statistics_report(guild_id, period)
        stats = await get_performance_stats(guild_id)
        deleted = await clear_old_audit_logs(days)

        assert health["overall_status"] in {"healthy", "degraded", "unhealthy"}
        assert helper_health["overall_status"] == health["overall_status"]
        assert errors["status"] == "healthy"
        assert_finite_numbers(health, "health")
        if period in ("weekly", "monthly", "daily"):
            assert report and report["total_commands"] == 0
        else:
            assert report == {}  # Documented; counted as a rejected input.
            assert system.db.errors.rejected_inputs >= 1
        assert stats["slowest_commands"] == []
        assert type(deleted) is int and deleted == 0
        # Negative days: ValueError inside, returned as 0 and counted; anything else is fine.
        negative = isinstance(days, int | float) and days < 0
        assert system.db.errors.errors == int(negative)


# --- safe_execute -------------------------------------------------------------------------------


EXCEPTIONS = st.sampled_from(
    [ValueError, TypeError, KeyError, RuntimeError, OSError, ZeroDivisionError, sqlite3.Error]
)


@settings(max_examples=50, deadline=None)
@given(error=EXCEPTIONS, message=st.text(any_char, max_size=50), default=json_leaves)
async def test_safe_execute_returns_the_default_and_counts_any_exception(
    error: type[Exception], message: str, default: Any
) -> None:
    class Owner:
        errors = ErrorCounter()

        @safe_execute(default=default)
        async def fail(self) -> Any:
            raise error(message)

    owner = Owner()
    result = await owner.fail()

    assert result is default
    assert owner.errors.errors == 1
    assert list(owner.errors.by_operation.values()) == [1]
    assert owner.errors.last_error is not None and error.__name__ in owner.errors.last_error


@pytest.mark.parametrize("error", [ConfigError("bad key"), asyncio.CancelledError()])
async def test_safe_execute_lets_config_errors_and_cancellation_through(
    error: BaseException,
) -> None:
    @safe_execute(default=0)
    async def fail() -> int:
        raise error

    with pytest.raises(type(error)):
        await fail()


def test_safe_execute_refuses_a_plain_function() -> None:
    def plain() -> None: ...

    with pytest.raises(TypeError, match="async"):
        safe_execute(plain)  # type: ignore[call-overload]


# --- a malformed config fails at load, naming the key --------------------------------------------


def config_keys() -> list[tuple[str, str, Any]]:
    """Every ``(section, key, type)`` of the TOML configuration."""
    found = []
    for section in dataclasses.fields(MonitoringConfig):
        if section.name == "source":
            continue
        cls = typing.get_type_hints(MonitoringConfig)[section.name]
        hints = typing.get_type_hints(cls)
        found.extend((section.name, f.name, hints[f.name]) for f in dataclasses.fields(cls))
    return found


CONFIG_KEYS = config_keys()

toml_scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec="utf-8"), max_size=30),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), inner, max_size=2),
    ),
    max_leaves=5,
)


def to_toml(value: Any) -> str:
    """``value`` as a TOML value (inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # JSON escapes quotes, backslashes and C0 controls as TOML does; DEL must be escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(to_toml(item) for item in value) + "]"
    return "{" + ", ".join(f"{k} = {to_toml(v)}" for k, v in value.items()) + "}"


def coerced(value: Any, expected: Any) -> Any:
    """What a valid ``value`` becomes in the config."""
    if expected is float:
        return float(value)
    if isinstance(value, list):
        return tuple(value)
    return value


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@given(key=st.sampled_from(CONFIG_KEYS), value=toml_values, unknown=st.booleans())
def test_any_value_for_any_key_loads_or_fails_naming_the_key(
    tmp_path: Path, key: tuple[str, str, Any], value: Any, unknown: bool
) -> None:
    section, name, expected = key
    if unknown:
        name += "_typo"
    path = tmp_path / "config.toml"
    path.write_text(f"[{section}]\n{name} = {to_toml(value)}\n", encoding="utf-8")

    try:
        config = load_config(path)
    except ConfigError as error:
        assert f"{section}.{name}" in str(error), str(error)
        assert str(path) in str(error)
    else:
        assert not unknown
        assert getattr(getattr(config, section), name) == coerced(value, expected)
