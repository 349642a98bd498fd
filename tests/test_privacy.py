"""Privacy: redacted parameters, no parameters or usernames, hashed user ids, forgetting a user,
and pruning old audit rows on a schedule.

The strongest checks read the SQLite file itself, byte for byte, after the database is closed
(its WAL checkpointed into it): a secret or a raw user id that reached any table, index or free
page would be found there.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fakes import NOW

from monitoring_cog import (
    CommandLogger,
    ConfigError,
    Database,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    create_monitoring_system,
    load_config,
    log_command_execution,
)
from monitoring_cog.config import PrivacyConfig, RetentionConfig
from monitoring_cog.recording.privacy import REDACTED, Privacy, is_pseudonym
from monitoring_cog.recording.records import CommandRecord
from monitoring_cog.recording.rollups import BatchBuilder
from monitoring_cog.retention import prune_periodically

SECRET_ENV = "MONITORING_HASH_SECRET"
HASH_SECRET = "correct horse battery staple"
GUILD, OTHER_GUILD = "111", "222"
USER = "424242424242424242"
"""A raw Discord id, distinctive enough that finding its digits anywhere means it leaked."""
OTHER_USER = "535353535353535353"
DAY = 86_400.0

SECRETS = {
    "password": "hunter2-pw-7f3a91",
    "api_key": "sk-live-api-key-55c1e0",
    "Token": "bot-token-9d9d9d9d",
    "client_secret": "client-secret-0b0b0b",
}


@pytest.fixture(autouse=True)
def _no_secret_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)


def hashing_config(**privacy: Any) -> MonitoringConfig:
    return MonitoringConfig(
        privacy=PrivacyConfig(hash_user_ids=True, hash_secret=HASH_SECRET, **privacy)
    )


def expected_pseudonym(user_id: str, secret: str = HASH_SECRET) -> str:
    """The documented scheme, computed independently: "h:" + 32 hex digits of HMAC-SHA256."""
    return "h:" + hmac.new(secret.encode(), user_id.encode(), "sha256").hexdigest()[:32]


async def open_current_system(
    path: Path, config: MonitoringConfig, clock: ManualClock
) -> tuple[Database, MonitoringSystem]:
    """A Database at ``path`` and the current system on it (log_command_execution records there).
    The test closes it (it reads the files afterwards)."""
    db = Database(path, config=config, clock=clock)
    return db, create_monitoring_system(db)


def stored_bytes(path: Path) -> bytes:
    """Every byte of the database's files (the main file, and a WAL if one is left)."""
    data = path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            data += extra.read_bytes()
    return data


def stored_values(path: Path) -> str:
    """Every value of every table, as text."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return "\n".join(
            repr(row) for table in tables for row in conn.execute(f"SELECT * FROM {table}")
        )
    finally:
        conn.close()


def table_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# -- configuration ------------------------------------------------------------------------------


def test_privacy_defaults_redact_the_usual_names_and_hash_nothing() -> None:
    config = MonitoringConfig().privacy

    assert config.redact_keys == ("token", "password", "secret", "key")
    assert (config.store_parameters, config.store_usernames) == (True, True)
    assert config.hash_user_ids is False
    assert config.hash_secret_env == SECRET_ENV
    assert MonitoringConfig().retention.prune_interval == 3600.0


def test_hash_user_ids_without_a_secret_fails_at_start_up_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[privacy]\nhash_user_ids = true\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    message = str(caught.value)
    assert str(path) in message
    assert "privacy.hash_secret" in message
    assert SECRET_ENV in message


def test_a_short_secret_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[privacy]\nhash_user_ids = true\nhash_secret = "tiny-s3cret"\n', "utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert "privacy.hash_secret" in str(caught.value)
    assert "at least 16 characters" in str(caught.value)
    assert "tiny-s3cret" not in str(caught.value)


def test_the_secret_may_come_from_the_environment_which_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[privacy]\nhash_user_ids = true\n", encoding="utf-8")
    monkeypatch.setenv(SECRET_ENV, "from-the-environment-1234")

    config = load_config(path)

    assert config.privacy.hash_secret_value() == "from-the-environment-1234"
    file_too = PrivacyConfig(hash_user_ids=True, hash_secret=HASH_SECRET)
    assert file_too.hash_secret_value() == "from-the-environment-1234"
    assert file_too.hash_secret_value(environ={}) == HASH_SECRET


def test_the_secret_is_not_in_the_configs_repr() -> None:
    config = hashing_config()

    assert HASH_SECRET not in repr(config)


def test_a_database_refuses_hashing_when_the_secret_has_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "from-the-environment-1234")
    config = MonitoringConfig(privacy=PrivacyConfig(hash_user_ids=True))
    monkeypatch.delenv(SECRET_ENV)

    with pytest.raises(ConfigError, match=r"privacy\.hash_secret"):
        Database(tmp_path / "bot.db", config=config)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param('[privacy]\nredact_keys = "token"\n', "privacy.redact_keys", id="not-a-list"),
        pytest.param("[privacy]\nredact_keys = [1]\n", "privacy.redact_keys", id="not-strings"),
        pytest.param('[privacy]\nredact_keys = [" "]\n', "privacy.redact_keys", id="blank-name"),
        pytest.param(
            '[privacy]\nhash_secret_env = "NOT A NAME"\n', "privacy.hash_secret_env", id="env"
        ),
        pytest.param("[privacy]\nhash_user_ids = 1\n", "privacy.hash_user_ids", id="not-a-bool"),
        pytest.param(
            "[retention]\nprune_interval = 0\n", "retention.prune_interval", id="zero-interval"
        ),
        pytest.param("[privacy]\nredact = []\n", "privacy.redact", id="unknown-key"),
    ],
)
def test_bad_privacy_and_retention_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert key in str(caught.value)
    assert str(path) in str(caught.value)


def test_redact_keys_are_read_from_a_toml_list(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[privacy]\nredact_keys = ["pin", "Cookie"]\n', encoding="utf-8")

    assert load_config(path).privacy.redact_keys == ("pin", "Cookie")


# -- the redaction rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "password",
        "Password",
        "PASSWORD",
        "api_key",
        "bot_token",
        "client_secret",
        "keyword",
        "Key",
        "secretive",
        "x-api-KEY",
    ],
)
def test_a_name_containing_a_key_in_any_case_is_sensitive(name: str) -> None:
    assert Privacy().is_sensitive(name)


@pytest.mark.parametrize("name", ["song", "volume", "query", "user", "pass", "tok", "ky", ""])
def test_other_names_are_not(name: str) -> None:
    assert not Privacy().is_sensitive(name)


def test_nested_values_are_redacted_and_the_callers_dict_is_untouched() -> None:
    parameters = {
        "song": "So What",
        "auth": {"password": "p", "user": "miles", "deeper": {"api_key": "k"}},
        "accounts": [{"token": "t1"}, {"name": "n"}, ["x", {"Secret": "s"}]],
        "Password": {"whole": "dict"},
    }
    original = repr(parameters)

    redacted = Privacy().redact(parameters)

    assert redacted == {
        "song": "So What",
        "auth": {"password": REDACTED, "user": "miles", "deeper": {"api_key": REDACTED}},
        "accounts": [{"token": REDACTED}, {"name": "n"}, ["x", {"Secret": REDACTED}]],
        "Password": REDACTED,
    }
    assert repr(parameters) == original


def test_parameters_without_a_sensitive_name_are_not_copied() -> None:
    parameters = {"song": "So What", "nested": {"volume": 5}}

    assert Privacy().redact(parameters) is parameters


def test_circular_parameters_with_a_secret_do_not_leak_it() -> None:
    loop: dict[str, Any] = {"password": "circular-secret"}
    loop["self"] = loop
    builder = BatchBuilder(Privacy())
    builder.add([command_record({"outer": loop})])

    (row,) = builder.finish().audit_rows

    assert "circular-secret" not in row[5]
    assert REDACTED in row[5]


def test_parameters_already_serialised_are_redacted_too() -> None:
    builder = BatchBuilder(Privacy())
    builder.add(
        [
            command_record('{"song":"x","api_key":"json-text-secret"}'),
            command_record("not json, mentions a key"),
            command_record("{}"),
        ]
    )

    rows = builder.finish().audit_rows

    assert [row[5] for row in rows] == [
        '{"song":"x","api_key":"[redacted]"}',
        "not json, mentions a key",
        "{}",
    ]


def command_record(parameters: dict[str, Any] | str | None, user: str = USER) -> CommandRecord:
    return CommandRecord(
        GUILD,
        "Guild",
        user,
        "miles#0001",
        "login",
        parameters,
        0.5,
        True,
        None,
        None,
        NOW.timestamp(),
    )


# -- redaction end to end -----------------------------------------------------------------------


async def log_secrets(system: MonitoringSystem) -> None:
    """Secrets through every public way of logging a command."""
    logger = system.cmd_logger
    assert await logger.log_command(
        GUILD, "Guild", USER, "miles", "login", dict(SECRETS), duration=0.2, success=True
    )
    assert await logger.log_command(
        GUILD,
        "Guild",
        USER,
        "miles",
        "connect",
        {"service": {"name": "spotify", "credentials": [{"password": "nested-pw-4242aa"}]}},
        duration=0.1,
        success=False,
        error_message="refused",
    )
    assert logger.log_command_nowait(GUILD, "Guild", USER, "miles", "sync", {"key": "nowait-k-1"})
    assert await log_command_execution(
        GUILD, "Guild", USER, "miles", "volume", details={"api_key": "helper-key-9999", "v": 75}
    )


ALL_SECRETS = (*SECRETS.values(), "nested-pw-4242aa", "nowait-k-1", "helper-key-9999")


async def test_secrets_appear_nowhere_in_the_database_file(
    db_path: Path, clock: ManualClock
) -> None:
    db, system = await open_current_system(db_path, MonitoringConfig(), clock)
    try:
        await log_secrets(system)
        rows = {row["command"]: row for row in await system.cmd_logger.get_recent_commands()}
    finally:
        await db.close()

    assert rows["login"]["parameters"] == dict.fromkeys(SECRETS, REDACTED)
    assert rows["connect"]["parameters"] == {
        "service": {"name": "spotify", "credentials": [{"password": REDACTED}]}
    }
    assert rows["sync"]["parameters"] == {"key": REDACTED}
    assert rows["volume"]["parameters"] == {"api_key": REDACTED, "v": 75}
    data, values = stored_bytes(db_path), stored_values(db_path)
    for secret in ALL_SECRETS:
        assert secret.encode() not in data, secret
        assert secret not in values, secret


async def test_without_redaction_the_same_check_finds_the_secrets(
    db_path: Path, clock: ManualClock
) -> None:
    """The byte search above can fail: with redaction off, it finds every secret."""
    config = MonitoringConfig(privacy=PrivacyConfig(redact_keys=()))
    db, system = await open_current_system(db_path, config, clock)
    try:
        await log_secrets(system)
    finally:
        await db.close()

    data = stored_bytes(db_path)
    for secret in ALL_SECRETS:
        assert secret.encode() in data, secret


async def test_configured_redact_keys_replace_the_defaults(
    db_path: Path, clock: ManualClock
) -> None:
    config = MonitoringConfig(privacy=PrivacyConfig(redact_keys=("pin",)))
    db, system = await open_current_system(db_path, config, clock)
    try:
        await system.cmd_logger.log_command(
            GUILD, "G", USER, "u", "unlock", {"PIN_code": "1234", "token": "kept"}
        )
        (row,) = await system.cmd_logger.get_recent_commands()
    finally:
        await db.close()

    assert row["parameters"] == {"PIN_code": REDACTED, "token": "kept"}


async def test_store_parameters_false_stores_none_at_all(db_path: Path, clock: ManualClock) -> None:
    config = MonitoringConfig(privacy=PrivacyConfig(store_parameters=False))
    db, system = await open_current_system(db_path, config, clock)
    try:
        await system.cmd_logger.log_command(
            GUILD, "G", USER, "u", "play", {"song": "Blue-in-Green-7731"}
        )
        (row,) = await system.cmd_logger.get_recent_commands()
    finally:
        await db.close()

    assert row["parameters"] == {}
    assert row["command"] == "play"
    assert b"Blue-in-Green-7731" not in stored_bytes(db_path)


async def test_store_usernames_false_keeps_the_user_id_only(
    db_path: Path, clock: ManualClock
) -> None:
    config = MonitoringConfig(privacy=PrivacyConfig(store_usernames=False))
    db, system = await open_current_system(db_path, config, clock)
    try:
        await system.cmd_logger.log_command(GUILD, "G", USER, "coltrane#1926", "play")
        (row,) = await system.cmd_logger.get_recent_commands()
    finally:
        await db.close()

    assert (row["user_id"], row["username"]) == (USER, None)
    assert b"coltrane#1926" not in stored_bytes(db_path)


# -- hashed user ids ----------------------------------------------------------------------------


async def record_everything_for(system: MonitoringSystem, user: str | int) -> None:
    """The user through every public method that takes a user id and stores something."""
    logger, stats, perf = system.cmd_logger, system.stats_collector, system.perf_monitor
    assert await logger.log_command(GUILD, "G", user, "miles", "play", {"song": "x"}, 0.5)
    assert await logger.log_command(OTHER_GUILD, "H", user, "miles", "skip", {}, 0.1, False, "no")
    assert logger.log_command_nowait(GUILD, "G", user, "miles", "queue")
    assert await log_command_execution(GUILD, "G", user, "miles", "volume", 0.2, True, {"v": 1})
    assert await stats.record_song_played(GUILD, 180, user_id=user)
    assert await stats.record_skip(GUILD, user_id=user)
    assert await stats.record_pause(GUILD, user_id=user)
    assert await stats.record_command(OTHER_GUILD, user)
    async with perf.track_command("play", GUILD, user):
        pass


async def test_a_hashed_user_id_appears_nowhere_in_the_database_file(
    db_path: Path, clock: ManualClock
) -> None:
    db, system = await open_current_system(db_path, hashing_config(), clock)
    try:
        await record_everything_for(system, USER)
        await record_everything_for(system, int(OTHER_USER))
        await db.flush()
    finally:
        await db.close()

    data, values = stored_bytes(db_path), stored_values(db_path)
    for raw in (USER, OTHER_USER):
        assert raw.encode() not in data
        assert raw not in values
    pseudonyms = {expected_pseudonym(USER), expected_pseudonym(OTHER_USER)}
    assert {r[0] for r in table_rows(db_path, "SELECT user_id FROM audit_logs")} == pseudonyms
    assert {r[0] for r in table_rows(db_path, "SELECT user_id FROM daily_users")} == pseudonyms


async def test_without_hashing_the_same_check_finds_the_raw_id(
    db_path: Path, clock: ManualClock
) -> None:
    db, system = await open_current_system(db_path, MonitoringConfig(), clock)
    try:
        await record_everything_for(system, USER)
    finally:
        await db.close()

    assert USER.encode() in stored_bytes(db_path)


def test_pseudonyms_are_keyed_stable_and_recognisable() -> None:
    privacy = Privacy(secret=HASH_SECRET.encode())
    other_key = Privacy(secret=b"another secret of some length")

    pseudonym = privacy.user_id(USER)

    assert pseudonym == expected_pseudonym(USER)
    assert is_pseudonym(pseudonym) and not is_pseudonym(USER)
    assert privacy.user_id(USER) == Privacy(secret=HASH_SECRET.encode()).user_id(USER)
    assert other_key.user_id(USER) != pseudonym
    assert privacy.user_id(OTHER_USER) != pseudonym
    assert privacy.user_id(pseudonym) == pseudonym  # A stored pseudonym is looked up as is.
    assert Privacy().user_id(USER) == USER  # No secret, no hashing.


async def test_lookups_by_user_hash_the_id_they_are_given(
    db_path: Path, clock: ManualClock
) -> None:
    db, system = await open_current_system(db_path, hashing_config(), clock)
    logger = system.cmd_logger
    try:
        await logger.log_command(GUILD, "G", USER, "miles", "play")
        await logger.log_command(GUILD, "G", OTHER_USER, "trane", "play")
        await logger.log_command(OTHER_GUILD, "H", USER, "miles", "skip", success=False)

        by_str = await logger.get_recent_commands(user_id=USER)
        by_int = await logger.get_user_commands(int(USER))
        by_pseudonym = await logger.get_user_commands(expected_pseudonym(USER))
        in_guild = await logger.get_user_commands(USER, guild_id=GUILD)
        failed = await logger.get_recent_commands(OTHER_GUILD, user_id=USER, failed_only=True)
    finally:
        await db.close()

    assert [r["command"] for r in by_str] == ["skip", "play"]
    assert by_int == by_str == by_pseudonym
    assert {r["user_id"] for r in by_str} == {expected_pseudonym(USER)}
    assert [r["command"] for r in in_guild] == ["play"]
    assert [r["command"] for r in failed] == ["skip"]


async def test_reports_count_distinct_users_the_same_with_hashing(
    tmp_path: Path, clock: ManualClock
) -> None:
    async def figures(config: MonitoringConfig, name: str) -> tuple[Any, ...]:
        db, system = await open_current_system(tmp_path / name, config, clock)
        try:
            for user in (USER, OTHER_USER, USER):
                await system.cmd_logger.log_command(GUILD, "G", user, "u", "play")
            await system.stats_collector.record_song_played(GUILD, 60, user_id="777")
            await system.stats_collector.record_command(GUILD, OTHER_USER)
            weekly = await system.stats_collector.generate_weekly_report(GUILD)
            daily = await system.stats_collector.get_daily_stats(GUILD)
        finally:
            await db.close()
        return (weekly["peak_users"], weekly["avg_daily_users"], weekly["total_commands"], daily)

    plain = await figures(MonitoringConfig(), "plain.db")
    hashed = await figures(hashing_config(), "hashed.db")

    assert plain[0] == 3
    assert hashed == plain


async def test_a_slow_command_warning_logs_the_pseudonym(
    db_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    db, system = await open_current_system(db_path, hashing_config(), clock)
    try:
        with caplog.at_level(logging.WARNING, logger="monitoring_cog"):
            async with system.perf_monitor.track_command("play", GUILD, USER):
                clock.advance(5.0)
    finally:
        await db.close()

    (record,) = [r for r in caplog.records if "slow command" in r.getMessage()]
    assert expected_pseudonym(USER) in record.getMessage()
    assert USER not in record.getMessage()


# -- forgetting a user --------------------------------------------------------------------------


async def two_guilds_of_activity(system: MonitoringSystem, clock: ManualClock) -> None:
    """USER and OTHER_USER active in two guilds over two days."""
    for day in (NOW.timestamp() - DAY, NOW.timestamp()):
        clock.set(day)
        for guild in (GUILD, OTHER_GUILD):
            await system.cmd_logger.log_command(guild, "G", USER, "miles", "play", {}, 0.5)
            await system.cmd_logger.log_command(guild, "G", OTHER_USER, "trane", "play", {}, 0.5)
        await system.stats_collector.record_song_played(GUILD, 100, user_id=USER)
    await system.db.flush()


async def aggregates(db_path: Path) -> list[list[tuple[Any, ...]]]:
    return [
        table_rows(db_path, f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4")
        for table in ("bot_stats", "command_stats", "command_latency")
    ]


@pytest.mark.parametrize("hashing", [True, False], ids=["hashed", "plain"])
async def test_forget_user_erases_them_in_every_guild_and_keeps_the_totals(
    db_path: Path, clock: ManualClock, hashing: bool
) -> None:
    config = hashing_config() if hashing else MonitoringConfig()
    db, system = await open_current_system(db_path, config, clock)
    try:
        await two_guilds_of_activity(system, clock)
        totals_before = await aggregates(db_path)
        report_before = await system.stats_collector.generate_weekly_report(GUILD)

        deleted = await system.cmd_logger.forget_user(int(USER))

        report_after = await system.stats_collector.generate_weekly_report(GUILD)
        left = await system.cmd_logger.get_recent_commands(limit=100)
        theirs = await system.cmd_logger.get_user_commands(USER)
        totals_after = await aggregates(db_path)
        # Read while the bot still runs: nothing waits for a close to checkpoint the WAL.
        files_while_open = stored_bytes(db_path)
    finally:
        await db.close()

    # 2 days x 2 guilds of commands; daily rows: 2 days x 2 guilds.
    assert deleted == {"audit_logs": 4, "daily_users": 4, "component_users": 0, "event_users": 0}
    assert theirs == []
    other = expected_pseudonym(OTHER_USER) if hashing else OTHER_USER
    assert {row["user_id"] for row in left} == {other}
    assert len(left) == 4
    assert totals_after == totals_before
    assert report_after["total_commands"] == report_before["total_commands"] == 4
    assert report_after["total_songs"] == report_before["total_songs"] == 2
    assert (report_before["peak_users"], report_after["peak_users"]) == (2, 1)
    # Erased from the files, not only from the tables: secure_delete and a WAL checkpoint.
    gone = expected_pseudonym(USER) if hashing else USER
    assert gone.encode() not in files_while_open
    assert other.encode() in files_while_open
    assert gone.encode() not in stored_bytes(db_path)


async def test_forget_user_accepts_the_pseudonym_seen_in_an_export(
    db_path: Path, clock: ManualClock
) -> None:
    db, system = await open_current_system(db_path, hashing_config(), clock)
    try:
        await two_guilds_of_activity(system, clock)
        (exported, *_) = await system.cmd_logger.get_user_commands(USER)

        deleted = await system.cmd_logger.forget_user(exported["user_id"])
    finally:
        await db.close()

    assert deleted == {"audit_logs": 4, "daily_users": 4, "component_users": 0, "event_users": 0}


# -- pruning on a schedule ----------------------------------------------------------------------


async def aged_audit(system: MonitoringSystem, clock: ManualClock, old: int, new: int) -> None:
    """``old`` rows 40 days ago and ``new`` rows today (the clock is back at NOW afterwards)."""
    clock.set(NOW.timestamp() - 40 * DAY)
    for _ in range(old):
        system.cmd_logger.log_command_nowait(GUILD, "G", USER, "u", "play", duration=0.5)
    clock.set(NOW)
    for _ in range(new):
        system.cmd_logger.log_command_nowait(GUILD, "G", USER, "u", "queue", duration=0.5)
    await system.db.flush()


async def wait_for(condition: Any) -> None:
    """Poll ``condition`` (real time: the schedule sleeps with asyncio) for up to 10 seconds."""
    for _ in range(1000):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_prune_periodically_deletes_old_rows_on_its_schedule_and_keeps_reports(
    db_path: Path, clock: ManualClock
) -> None:
    config = MonitoringConfig(retention=RetentionConfig(audit_days=30, prune_interval=0.05))
    db, system = await open_current_system(db_path, config, clock)
    logger = system.cmd_logger
    try:
        await aged_audit(system, clock, old=3, new=2)
        before = await system.stats_collector.generate_report(GUILD, 60)
        task = asyncio.create_task(prune_periodically(logger))
        try:
            await wait_for(lambda: _count_is(logger, 2))
            # Later rows age past the retention too, and the next run takes them.
            clock.set(NOW.timestamp() + 31 * DAY)
            await wait_for(lambda: _count_is(logger, 0))
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        clock.set(NOW)
        after = await system.stats_collector.generate_report(GUILD, 60)
    finally:
        await db.close()

    assert after["total_commands"] == before["total_commands"] == 5
    assert after["top_commands"] == before["top_commands"]


async def _count_is(logger: CommandLogger, expected: int) -> bool:
    return await logger.count_audit_logs() == expected


async def test_prune_periodically_returns_at_once_when_rows_are_kept_forever(
    db: Database, system: MonitoringSystem
) -> None:
    async with asyncio.timeout(5):
        await prune_periodically(system.cmd_logger, days=0)


async def test_pruning_goes_in_batches_with_turns_of_the_event_loop_between(
    db_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, system = await open_current_system(db_path, MonitoringConfig(), clock)
    try:
        await aged_audit(system, clock, old=12_000, new=1)
        storage = await db.storage()
        real_prune = storage.prune_audit_logs
        ticks = 0
        seen: list[tuple[int, int, int]] = []

        async def spy(before: float, limit: int) -> int:
            removed = await real_prune(before, limit)
            seen.append((limit, removed, ticks))
            return removed

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        monkeypatch.setattr(storage, "prune_audit_logs", spy)
        beat = asyncio.create_task(heartbeat())
        try:
            deleted = await system.cmd_logger.clear_old_logs(30)
        finally:
            beat.cancel()
        remaining = await system.cmd_logger.count_audit_logs()
    finally:
        await db.close()

    assert deleted == 12_000 and remaining == 1
    assert [(limit, removed) for limit, removed, _ in seen] == [
        (5000, 5000),
        (5000, 5000),
        (5000, 2000),
    ]
    # The event loop ran other tasks between one batch and the next.
    assert seen[0][2] < seen[1][2] < seen[2][2]
