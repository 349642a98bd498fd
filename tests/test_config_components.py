"""``[components]``: read, defaulted, and refused loudly when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitoring_cog import ConfigError, load_config
from monitoring_cog.config import ComponentsConfig


def load(tmp_path: Path, text: str) -> ComponentsConfig:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path).components


def test_defaults_record_components_with_a_cap_of_100(tmp_path: Path) -> None:
    assert load(tmp_path, "") == ComponentsConfig(enabled=True, max_per_guild=100)


def test_settings_are_read(tmp_path: Path) -> None:
    text = "[components]\nenabled = false\nmax_per_guild = 25\n"
    assert load(tmp_path, text) == ComponentsConfig(enabled=False, max_per_guild=25)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("max_per_guild = 0", "components.max_per_guild: expected an integer >= 1, got 0 (int)"),
        ("max_per_guild = -3", "components.max_per_guild: expected an integer >= 1, got -3"),
        ("max_per_guild = 2.5", "components.max_per_guild: expected an integer, got 2.5"),
        ("max_per_guild = true", "components.max_per_guild: expected an integer, got True"),
        ('enabled = "yes"', "components.enabled: expected true or false, got 'yes'"),
        ("enable = true", "unknown key components.enable in [components]"),
    ],
)
def test_a_wrong_value_names_the_file_and_the_key(tmp_path: Path, line: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[components]\n{line}\n")
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "config.toml")), message
    assert expected in message, message


def test_a_wrong_value_in_code_is_refused_too() -> None:
    with pytest.raises(ConfigError, match=r"components\.max_per_guild"):
        ComponentsConfig(max_per_guild=0)
