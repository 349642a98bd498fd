"""The TOML configuration: loading, the documented example, validation messages, resolution order.

A bad config must fail at start-up with a :class:`ConfigError` naming the file, the key and what
was expected; these tests pin those messages and where the file is looked for.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import tomllib
from pathlib import Path

import pytest

from monitoring_cog import ConfigError, Database, MonitoringConfig, load_config
from monitoring_cog.config import CONFIG_ENV_VAR

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"

SECTIONS = tuple(
    f.name
    for f in dataclasses.fields(MonitoringConfig)
    if f.name != "source"  # set by load_config, not a TOML key
)
"""The TOML tables: one per section dataclass of MonitoringConfig."""


def section_fields(section: str) -> list[str]:
    """The keys of one ``[section]``: the fields of its dataclass."""
    cls = type(getattr(MonitoringConfig(), section))
    return [f.name for f in dataclasses.fields(cls)]


def write_config(directory: Path, text: str, name: str = "config.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(directory: Path, text: str) -> tuple[Path, str]:
    """Write ``text`` as a config file, load it, and return the file and the ConfigError message."""
    path = write_config(directory, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return path, str(caught.value)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MONITORING_CONFIG from the developer's shell, and an empty working directory."""
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)


# Loading a valid file


def test_load_config_reads_the_given_values(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[database]\npath = "custom/bot.db"\n'
        "[recording]\nflush_interval = 0.25\nbatch_size = 50\n"
        "[health]\nhistory_size = 7\n",
    )

    config = load_config(path)

    assert config.database.path == "custom/bot.db"
    assert config.recording.flush_interval == 0.25
    assert config.recording.batch_size == 50
    assert config.health.history_size == 7
    assert config.source == str(path)


def test_keys_left_out_keep_their_defaults(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[recording]\nbatch_size = 50\n"))

    defaults = MonitoringConfig()
    assert config.recording.max_queue == defaults.recording.max_queue
    assert config.database == defaults.database
    assert config.health == defaults.health


def test_an_integer_is_accepted_where_a_number_is_expected(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[recording]\nflush_interval = 2\n"))

    assert config.recording.flush_interval == 2.0
    assert type(config.recording.flush_interval) is float


# The documented example


def test_example_has_every_section_and_no_other() -> None:
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))

    assert sorted(example) == sorted(SECTIONS)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_example_documents_every_key_of_each_section(section: str) -> None:
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))

    assert sorted(example[section]) == sorted(section_fields(section))


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_example_sets_every_key_to_its_default(section: str) -> None:
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    defaults = getattr(MonitoringConfig(), section)

    for key in section_fields(section):
        default = getattr(defaults, key)
        # A TOML array is read as a list; the config holds it as a tuple.
        default = list(default) if isinstance(default, tuple) else default
        assert example[section][key] == default, f"{section}.{key}"


def test_example_loads_equal_to_the_defaults() -> None:
    config = load_config(EXAMPLE)

    assert config == MonitoringConfig()
    assert config.source == str(EXAMPLE)


def test_example_comments_every_key() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    assignment = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")

    uncommented = [
        match.group(1)
        for previous, line in itertools.pairwise(lines)
        if (match := assignment.match(line)) and not previous.lstrip().startswith("#")
    ]

    assert uncommented == []


def test_example_header_says_where_the_file_goes() -> None:
    header = EXAMPLE.read_text(encoding="utf-8").split("[", 1)[0]

    assert "config.toml" in header
    assert CONFIG_ENV_VAR in header


# Unknown keys


def test_unknown_top_level_key_names_file_key_and_known_keys(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, "colour = 1\n")

    assert str(path) in message
    assert "colour" in message
    assert "known keys" in message
    for section in SECTIONS:
        assert section in message


def test_unknown_key_in_a_section_names_file_key_and_known_keys(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, '[database]\nfile = "bot.db"\n')

    assert str(path) in message
    assert "database.file" in message
    assert "known keys" in message
    for key in section_fields("database"):
        assert key in message


def test_source_is_not_a_toml_key(tmp_path: Path) -> None:
    _, message = config_error(tmp_path, 'source = "elsewhere.toml"\n')

    assert "unknown key source" in message


# Wrong types


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        pytest.param(
            '[recording]\nflush_interval = "fast"\n',
            "recording.flush_interval",
            "a number",
            id="string-for-a-number",
        ),
        pytest.param(
            "[recording]\nbatch_size = true\n",
            "recording.batch_size",
            "an integer",
            id="bool-for-an-int",
        ),
        pytest.param(
            "[health]\nmemory_warning_mb = false\n",
            "health.memory_warning_mb",
            "a number",
            id="bool-for-a-float",
        ),
        pytest.param(
            "[recording]\nbatch_size = 1.5\n",
            "recording.batch_size",
            "an integer",
            id="float-for-an-int",
        ),
        pytest.param("[database]\npath = 3\n", "database.path", "a string", id="int-for-a-string"),
        pytest.param("database = 5\n", "database", "a table", id="value-for-a-table"),
    ],
)
def test_wrong_type_names_file_key_and_expected_type(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path, message = config_error(tmp_path, text)

    assert str(path) in message
    assert f"{key}:" in message
    assert f"expected {expected}" in message


# Out-of-range values


def test_negative_flush_interval_names_the_key(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, "[recording]\nflush_interval = -1.0\n")

    assert str(path) in message
    assert "recording.flush_interval" in message
    assert "-1.0" in message


@pytest.mark.parametrize(
    ("section", "key"), [("health", "cpu_window"), ("cog", "alert_min_interval")]
)
@pytest.mark.parametrize("bad", ["0", "-5.0"])
def test_a_window_or_interval_of_no_length_names_the_key(
    tmp_path: Path, section: str, key: str, bad: str
) -> None:
    path, message = config_error(tmp_path, f"[{section}]\n{key} = {bad}\n")

    assert str(path) in message
    assert f"{section}.{key}: expected a number of seconds > 0, got {float(bad)!r}" in message


@pytest.mark.parametrize("key", ["shard_down_seconds", "population_interval"])
@pytest.mark.parametrize("bad", ["0", "-5.0"])
def test_a_gateway_duration_of_no_length_names_the_key(tmp_path: Path, key: str, bad: str) -> None:
    path, message = config_error(tmp_path, f"[gateway]\n{key} = {bad}\n")

    assert str(path) in message
    assert f"gateway.{key}: expected a number of seconds > 0, got {float(bad)!r}" in message


def test_gateway_latency_warning_above_critical_names_both_keys(tmp_path: Path) -> None:
    text = "[gateway]\nlatency_warning_ms = 800\nlatency_critical_ms = 400\n"

    path, message = config_error(tmp_path, text)

    assert str(path) in message
    assert "gateway.latency_critical_ms: expected a number >= gateway.latency_warning_ms" in message
    _, message = config_error(tmp_path, "[gateway]\nlatency_warning_ms = -1\n")
    assert "gateway.latency_warning_ms: expected a number > 0, got -1.0" in message


def test_gateway_settings_are_read(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path,
            "[gateway]\nlatency_warning_ms = 250\nlatency_critical_ms = 900\n"
            "shard_down_seconds = 30\npopulation_interval = 600\n",
        )
    )

    assert (config.gateway.latency_warning_ms, config.gateway.latency_critical_ms) == (250, 900)
    assert (config.gateway.shard_down_seconds, config.gateway.population_interval) == (30, 600)


def test_cpu_window_and_alert_min_interval_are_read(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path, "[health]\ncpu_window = 30\n[cog]\nalert_min_interval = 900\n")
    )

    assert config.health.cpu_window == 30.0
    assert config.cog.alert_min_interval == 900.0


@pytest.mark.parametrize(
    ("warning", "critical", "values"),
    [
        ("error_rate_warning", "error_rate_critical", (0.5, 0.2)),
        ("memory_warning_mb", "memory_critical_mb", (2048.0, 1024.0)),
        ("cpu_warning_percent", "cpu_critical_percent", (95.0, 80.0)),
    ],
)
def test_warning_above_critical_names_both_keys(
    tmp_path: Path, warning: str, critical: str, values: tuple[float, float]
) -> None:
    text = f"[health]\n{warning} = {values[0]}\n{critical} = {values[1]}\n"

    path, message = config_error(tmp_path, text)

    assert str(path) in message
    assert f"health.{critical}" in message
    assert f"health.{warning}" in message


def test_error_rate_above_one_is_out_of_range(tmp_path: Path) -> None:
    _, message = config_error(tmp_path, "[health]\nerror_rate_critical = 1.5\n")

    assert "health.error_rate_critical" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param(
            "[recording]\nflush_interval = inf\n", "recording.flush_interval", id="inf-interval"
        ),
        # An infinite window makes every health report "unhealthy" (the error rate check fails).
        pytest.param(
            "[health]\nerror_rate_window = inf\n", "health.error_rate_window", id="inf-window"
        ),
        pytest.param("[thresholds]\ncommand_slow = nan\n", "thresholds.command_slow", id="nan"),
    ],
)
def test_non_finite_numbers_are_out_of_range(tmp_path: Path, text: str, key: str) -> None:
    path, message = config_error(tmp_path, text)

    assert str(path) in message
    assert key in message


@pytest.mark.parametrize("value", ["0", "-1.5"])
def test_close_timeout_must_be_positive(tmp_path: Path, value: str) -> None:
    path, message = config_error(tmp_path, f"[recording]\nclose_timeout = {value}\n")

    assert str(path) in message
    assert "recording.close_timeout: expected a number of seconds > 0" in message


def test_a_spill_dir_that_cannot_hold_files_fails_at_start_naming_the_key(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    config = load_config(
        write_config(
            tmp_path,
            f'[database]\npath = "{(tmp_path / "bot.db").as_posix()}"\n'
            f'[recording]\nspill_dir = "{(not_a_folder / "spill").as_posix()}"\n',
        )
    )

    with pytest.raises(ConfigError) as caught:
        Database(config=config)

    assert "recording.spill_dir" in str(caught.value)
    assert f"{not_a_folder} is not a folder" in str(caught.value)


def test_a_missing_spill_dir_is_made_only_when_a_spill_is_written(tmp_path: Path) -> None:
    spill_dir = tmp_path / "later" / "spill"
    config = load_config(
        write_config(
            tmp_path,
            f'[database]\npath = "{(tmp_path / "bot.db").as_posix()}"\n'
            f'[recording]\nspill_dir = "{spill_dir.as_posix()}"\n',
        )
    )

    Database(config=config)

    assert not (tmp_path / "later").exists()


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path, message = config_error(tmp_path, "[database\npath = 'x'\n")

    assert str(path) in message
    assert "not valid TOML" in message


def test_missing_explicit_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"

    with pytest.raises(ConfigError, match=re.escape(str(missing))):
        load_config(missing)


# Where the file comes from


def test_environment_variable_wins_over_local_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, "[recording]\nbatch_size = 11\n")
    named = write_config(tmp_path, "[recording]\nbatch_size = 22\n", name="named.toml")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(named))

    config = load_config()

    assert config.recording.batch_size == 22
    assert config.source == str(named)


def test_local_config_toml_is_used_without_the_variable(tmp_path: Path) -> None:
    local = write_config(tmp_path, "[recording]\nbatch_size = 11\n")

    config = load_config()

    assert config.recording.batch_size == 11
    assert Path(config.source or "").resolve() == local.resolve()


def test_defaults_without_variable_or_local_file() -> None:
    config = load_config()

    assert config == MonitoringConfig()
    assert config.source is None


def test_variable_naming_a_missing_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, "[recording]\nbatch_size = 11\n")  # must not be a silent fall-back
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv(CONFIG_ENV_VAR, str(missing))

    with pytest.raises(ConfigError) as caught:
        load_config()

    assert CONFIG_ENV_VAR in str(caught.value)
    assert str(missing) in str(caught.value)


# Immutability and use


def test_config_is_frozen() -> None:
    config = MonitoringConfig()

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.recording = config.recording  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.database.path = "elsewhere.db"  # type: ignore[misc]


async def test_database_path_sets_the_file_of_a_database_built_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "configured" / "monitoring.db"
    named = write_config(tmp_path, f"[database]\npath = '{target}'\n", name="bot.toml")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(named))

    db = Database()
    try:
        await db.connect()
        assert db.path == str(target)
        assert db.config.source == str(named)
        assert target.is_file()
    finally:
        await db.close()


async def test_database_path_from_an_explicit_config(tmp_path: Path) -> None:
    target = tmp_path / "explicit.db"
    config = load_config(write_config(tmp_path, f"[database]\npath = '{target}'\n"))

    db = Database(config=config)
    try:
        await db.connect()
        assert db.path == str(target)
        assert target.is_file()
    finally:
        await db.close()
