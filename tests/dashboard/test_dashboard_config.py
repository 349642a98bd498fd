"""``[dashboard]``: validated at start-up, naming the key; the token from the environment or
the file, never shown in a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitoring_cog.config import DashboardConfig, load_config
from monitoring_cog.errors import ConfigError

TOKEN = "a-dashboard-token-of-some-length"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    return path


def test_enabled_without_a_token_fails_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONITORING_DASHBOARD_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"dashboard\.token.*MONITORING_DASHBOARD_TOKEN"):
        load_config(write(tmp_path, "[dashboard]\nenabled = true\n"))


def test_disabled_needs_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITORING_DASHBOARD_TOKEN", raising=False)
    assert DashboardConfig().token_or_none() is None


def test_the_environment_wins_and_short_tokens_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITORING_DASHBOARD_TOKEN", TOKEN)
    config = load_config(
        write(tmp_path, '[dashboard]\nenabled = true\ntoken = "file-token-0123456789"\n')
    )
    assert config.dashboard.token_value() == TOKEN
    monkeypatch.setenv("MONITORING_DASHBOARD_TOKEN", "short")
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, "[dashboard]\nenabled = true\n"))
    assert "dashboard.token" in str(refused.value)
    assert "short" not in str(refused.value).replace("shorter", "")


def test_the_token_is_not_in_repr() -> None:
    assert TOKEN not in repr(DashboardConfig(token=TOKEN))


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("port = 70000", "dashboard.port"),
        ('host = ""', "dashboard.host"),
        ("session_hours = 0", "dashboard.session_hours"),
        ("max_streams = 0", "dashboard.max_streams"),
        ('token_env = "1 bad"', "dashboard.token_env"),
        ("enabled = 1", "dashboard.enabled"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(write(tmp_path, f"[dashboard]\n{body}\n"))
