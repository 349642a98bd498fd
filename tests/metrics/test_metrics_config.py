"""``[metrics]``: off by default, on this machine only by default, and bad values refused by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitoring_cog import ConfigError, MonitoringConfig, load_config
from monitoring_cog.config import MetricsConfig


def load(tmp_path: Path, text: str) -> MonitoringConfig:
    path = tmp_path / "monitoring.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_defaults_are_off_and_local() -> None:
    metrics = MonitoringConfig().metrics

    assert metrics == MetricsConfig(enabled=False, host="127.0.0.1", port=9811)


def test_a_metrics_section_is_read(tmp_path: Path) -> None:
    config = load(tmp_path, '[metrics]\nenabled = true\nhost = "0.0.0.0"\nport = 0\n')

    assert config.metrics == MetricsConfig(enabled=True, host="0.0.0.0", port=0)


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("port = 65536", "metrics.port", "a TCP port from 0 to 65535"),
        ("port = -1", "metrics.port", "a TCP port from 0 to 65535"),
        ('port = "9811"', "metrics.port", "an integer"),
        ("port = true", "metrics.port", "an integer"),
        ('host = ""', "metrics.host", "a non-empty address"),
        ('host = "  "', "metrics.host", "a non-empty address"),
        ('enabled = "yes"', "metrics.enabled", "true or false"),
        ("enabled = 1", "metrics.enabled", "true or false"),
        ("bind = 1", "metrics.bind", "unknown key"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, line: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[metrics]\n{line}\n")

    message = str(caught.value)
    assert key in message and expected in message, message
    assert str(tmp_path / "monitoring.toml") in message


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"port": 70000}, "metrics.port"),
        ({"port": True}, "metrics.port"),
        ({"host": ""}, "metrics.host"),
        ({"enabled": "true"}, "metrics.enabled"),
    ],
)
def test_a_config_built_in_code_is_checked_too(kwargs: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        MetricsConfig(**kwargs)  # type: ignore[arg-type]
