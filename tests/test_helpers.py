"""The helper functions, ``safe_execute``, and how ``log_command`` copes with bad input.

The helpers need no set-up: they use the system most recently created, else a default one on the
configured database path. ``safe_execute`` turns an exception into a logged, counted default.
``log_command`` never raises on odd input: it stores a normalised value and counts the correction.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from monitoring_cog import (
    DM_GUILD_ID,
    ConfigError,
    Database,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    create_monitoring_system,
    get_current_system,
    get_statistics_report,
    log_command_execution,
    safe_execute,
)
from monitoring_cog.config import CONFIG_ENV_VAR
from monitoring_cog.errors import GLOBAL_ERRORS, ErrorCounter
from monitoring_cog.recording.normalize import MAX_DURATION

VOLUME = {
    "guild_id": "111",
    "guild_name": "Guild",
    "user_id": "222",
    "username": "user",
    "command": "volume",
    "duration": 0.234,
    "success": True,
    "details": {"volume": 75},
}
"""Arguments of one ``log_command_execution`` call."""


async def commands_in(system: MonitoringSystem) -> list[str]:
    """The command names in a system's audit log, newest first."""
    return [entry["command"] for entry in await system.cmd_logger.get_recent_commands()]


# Which system the helpers use


async def test_helpers_use_the_most_recently_created_system(
    system: MonitoringSystem, tmp_path: Path, clock: ManualClock
) -> None:
    second_db = Database(tmp_path / "second.db", config=MonitoringConfig(), clock=clock)
    second = create_monitoring_system(second_db)
    try:
        assert await log_command_execution(**VOLUME) is True

        assert get_current_system() is second
        assert await commands_in(second) == ["volume"]
        assert await commands_in(system) == []
    finally:
        await second_db.close()


async def test_without_a_system_a_default_one_opens_the_configured_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "configured" / "monitoring.db"
    config_file = tmp_path / "monitoring.toml"
    config_file.write_text(f"[database]\npath = '{target}'\n", encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(config_file))
    monkeypatch.chdir(tmp_path)

    try:
        assert await log_command_execution(**VOLUME) is True
        await get_current_system().db.flush()

        assert get_current_system().db.path == str(target)
        assert target.is_file()
        with sqlite3.connect(target) as conn:
            rows = conn.execute("SELECT guild_id, command, parameters FROM audit_logs").fetchall()
        conn.close()
        assert rows == [("111", "volume", '{"volume":75}')]
    finally:
        await get_current_system().db.close()


async def test_unknown_report_period_returns_empty_and_warns(
    system: MonitoringSystem, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="monitoring_cog"):
        report = await get_statistics_report("111", period="yearly")

    assert report == {}
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert "yearly" in message
    for period in ("daily", "weekly", "monthly"):
        assert period in message
    assert system.db.errors.rejected_inputs == 1


# safe_execute


class Owner:
    """A class whose methods are wrapped by ``safe_execute``; its ``errors`` gets the counts."""

    def __init__(self, errors: ErrorCounter | None = None) -> None:
        self.errors = errors if errors is not None else ErrorCounter()

    @safe_execute
    async def bare(self) -> str:
        raise RuntimeError("bare failed")

    @safe_execute(default=False)
    async def with_default(self) -> bool:
        raise RuntimeError("with_default failed")

    @safe_execute(default_factory=list)
    async def with_factory(self) -> list[int]:
        raise RuntimeError("with_factory failed")

    @safe_execute(default=0)
    async def working(self) -> int:
        return 42

    @safe_execute
    async def misconfigured(self) -> None:
        raise ConfigError("monitoring.toml: unknown key colour")

    @safe_execute
    async def cancelled(self) -> None:
        raise asyncio.CancelledError


@safe_execute(default="fallback")
async def ownerless() -> str:
    raise RuntimeError("ownerless failed")


async def test_bare_form_returns_none_on_error() -> None:
    assert await Owner().bare() is None


async def test_parametrised_form_returns_its_default() -> None:
    assert await Owner().with_default() is False


async def test_a_working_call_returns_its_value_and_counts_nothing() -> None:
    owner = Owner()

    assert await owner.working() == 42
    assert owner.errors.snapshot()["count"] == 0


async def test_default_factory_gives_a_fresh_value_each_time() -> None:
    owner = Owner()

    first = await owner.with_factory()
    first.append(1)
    second = await owner.with_factory()

    assert second == []
    assert second is not first


async def test_the_exception_is_logged_with_its_traceback_at_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="monitoring_cog"):
        await Owner().bare()

    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert "Owner.bare" in record.getMessage()


async def test_errors_are_counted_by_qualified_name_in_the_owner_counter() -> None:
    owner = Owner()

    await owner.bare()
    await owner.with_default()
    await owner.with_default()

    assert owner.errors.errors == 3
    assert owner.errors.by_operation == {"Owner.bare": 1, "Owner.with_default": 2}
    assert owner.errors.last_error == "Owner.with_default: RuntimeError: with_default failed"


async def test_a_function_without_an_owner_counts_in_the_global_counter() -> None:
    before = GLOBAL_ERRORS.by_operation.get("ownerless", 0)

    assert await ownerless() == "fallback"

    assert GLOBAL_ERRORS.by_operation["ownerless"] == before + 1


async def test_counted_errors_appear_in_the_health_report(system: MonitoringSystem) -> None:
    await Owner(system.db.errors).bare()
    assert await system.stats_collector.generate_report("111", days=0) == {}

    internal = (await system.health_check.get_full_health_report())["internal_errors"]

    assert internal["count"] == 2
    assert internal["by_operation"] == {"Owner.bare": 1, "StatisticsCollector.generate_report": 1}


async def test_config_error_propagates_uncounted() -> None:
    owner = Owner()

    with pytest.raises(ConfigError, match="unknown key colour"):
        await owner.misconfigured()

    assert owner.errors.errors == 0


async def test_cancellation_propagates_uncounted() -> None:
    owner = Owner()

    with pytest.raises(asyncio.CancelledError):
        await owner.cancelled()

    assert owner.errors.errors == 0


def synchronous() -> int:
    return 1


def test_bare_form_refuses_a_non_async_function() -> None:
    with pytest.raises(TypeError, match="synchronous"):
        safe_execute(synchronous)  # type: ignore[arg-type]


def test_parametrised_form_refuses_a_non_async_function() -> None:
    with pytest.raises(TypeError, match="synchronous"):
        safe_execute(default=0)(synchronous)  # type: ignore[arg-type]


# log_command with bad input


class Opaque:
    """A parameter value JSON cannot encode."""

    def __str__(self) -> str:
        return "opaque!"


class Snowflake:
    """A Discord object (member, channel, role) as a parameter value: it has an int ``id``."""

    def __init__(self, ident: int) -> None:
        self.id = ident


def circular() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


GOOD_COMMAND = {
    "guild_id": "111",
    "guild_name": "Guild",
    "user_id": "222",
    "username": "user",
    "command": "play",
    "parameters": {"song": "x"},
    "duration": 0.5,
    "success": True,
    "error_message": None,
}
"""A valid ``log_command`` call; each bad-input case overrides some of it."""

BAD_INPUTS = [
    # (id, overrides, expected stored values, corrections counted)
    (
        "none-ids",
        {"guild_id": None, "user_id": None, "guild_name": None, "username": None},
        {"guild_id": DM_GUILD_ID, "user_id": "unknown", "guild_name": None, "username": None},
        0,
    ),
    ("int-ids", {"guild_id": 111, "user_id": 222}, {"guild_id": "111", "user_id": "222"}, 0),
    ("huge-guild-name", {"guild_name": "g" * 10_000}, {"guild_name": "g" * 99 + "…"}, 1),
    ("huge-username", {"username": "u" * 10_000}, {"username": "u" * 99 + "…"}, 1),
    ("huge-command", {"command": "c" * 10_000}, {"command": "c" * 99 + "…"}, 1),
    ("huge-user-id", {"user_id": "9" * 10_000}, {"user_id": "9" * 63 + "…"}, 1),
    (
        "huge-error-message",
        {"success": False, "error_message": "e" * 10_000},
        {"success": False, "error_message": "e" * 999 + "…"},
        1,
    ),
    (
        "control-characters",
        {"username": "bad\x00user\x1b[0m\x7f"},
        {"username": "baduser[0m"},
        1,
    ),
    ("nan-duration", {"duration": math.nan}, {"duration": 0.0}, 1),
    ("negative-duration", {"duration": -3.0}, {"duration": 0.0}, 1),
    ("inf-duration", {"duration": math.inf}, {"duration": MAX_DURATION}, 1),
    # A set becomes a JSON list and a Discord object its id: faithful, so not corrections.
    ("set-parameter", {"parameters": {"tags": {1, 2}}}, {"parameters": {"tags": [1, 2]}}, 0),
    (
        "discord-object-parameter",
        {"parameters": {"member": Snowflake(42)}},
        {"parameters": {"member": "42"}},
        0,
    ),
    # Values that can only be kept as their text are.
    (
        "object-parameter",
        {"parameters": {"thing": Opaque()}},
        {"parameters": {"thing": "opaque!"}},
        1,
    ),
    ("nan-parameter", {"parameters": {"ratio": math.nan}}, {"parameters": {"ratio": "nan"}}, 1),
    (
        "circular-parameters",
        {"parameters": circular()},
        {"parameters": {"self": "{'self': {...}}"}},
        1,
    ),
]


@pytest.mark.parametrize(
    ("overrides", "expected", "corrections"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUTS],
)
async def test_log_command_normalises_bad_input(
    system: MonitoringSystem,
    overrides: dict[str, Any],
    expected: dict[str, Any],
    corrections: int,
) -> None:
    logged = await system.cmd_logger.log_command(**{**GOOD_COMMAND, **overrides})

    assert logged is True
    [entry] = await system.cmd_logger.get_recent_commands()
    assert {key: entry[key] for key in expected} == expected
    assert system.db.errors.rejected_inputs == corrections
    assert system.db.errors.errors == 0


@pytest.mark.parametrize("command", ["", "   ", None])
async def test_log_command_rejects_an_empty_command_name(
    system: MonitoringSystem, command: str | None
) -> None:
    logged = await system.cmd_logger.log_command(**{**GOOD_COMMAND, "command": command})

    assert logged is False
    assert system.db.errors.rejected_inputs == 1
    assert await system.cmd_logger.get_recent_commands() == []


async def test_a_command_without_a_guild_is_stored_under_the_dm_marker(
    system: MonitoringSystem,
) -> None:
    await system.cmd_logger.log_command(**{**GOOD_COMMAND, "guild_id": None})

    [entry] = await system.cmd_logger.get_recent_commands(DM_GUILD_ID)
    assert entry["guild_id"] == DM_GUILD_ID == "dm"
