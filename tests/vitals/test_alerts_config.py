"""``[alerts]`` and ``health.rate_limit_warning_hits``: read, defaulted, and refused by key.

The webhook URL is a secret: a refused one is named by where it came from (the key, or the
environment variable) and shown redacted, never whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback_servers import WEBHOOK_TOKEN

from monitoring_cog import ConfigError, MonitoringConfig, load_config
from monitoring_cog.config import AlertsConfig
from monitoring_cog.config.webhooks import redact_webhook_url, webhook_url_problem

ENV = "MONITORING_ALERT_WEBHOOK_URL"
DISCORD_URL = f"https://discord.com/api/webhooks/112233445566778899/{WEBHOOK_TOKEN}"


@pytest.fixture(autouse=True)
def _no_webhook_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv("OTHER_WEBHOOK", raising=False)


def load(tmp_path: Path, text: str) -> MonitoringConfig:
    path = tmp_path / "monitoring.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_defaults_post_nowhere() -> None:
    config = MonitoringConfig()
    assert config.alerts == AlertsConfig(
        webhook_url="",
        webhook_url_env=ENV,
        min_interval=60.0,
        timeout=10.0,
        retries=2,
        queue_size=100,
    )
    assert config.alerts.webhook_url_value() == ""
    assert config.health.rate_limit_warning_hits == 1000


def test_an_alerts_section_is_read_and_the_url_kept_out_of_repr(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        f'[alerts]\nwebhook_url = "{DISCORD_URL}"\nmin_interval = 30\ntimeout = 2.5\n'
        "retries = 0\nqueue_size = 5\n[health]\nrate_limit_warning_hits = 0\n",
    )
    alerts = config.alerts
    assert (alerts.min_interval, alerts.timeout, alerts.retries, alerts.queue_size) == (
        30.0,
        2.5,
        0,
        5,
    )
    assert alerts.webhook_url_value() == DISCORD_URL
    assert config.health.rate_limit_warning_hits == 0
    assert WEBHOOK_TOKEN not in repr(config)


def test_the_environment_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    other = "https://discordapp.com/api/v10/webhooks/998877665544332211/another_token?thread_id=5"
    monkeypatch.setenv(ENV, other)
    assert AlertsConfig(webhook_url=DISCORD_URL).webhook_url_value() == other
    # Named otherwise, or not read at all.
    monkeypatch.setenv("OTHER_WEBHOOK", DISCORD_URL)
    assert AlertsConfig(webhook_url_env="OTHER_WEBHOOK").webhook_url_value() == DISCORD_URL
    assert AlertsConfig(webhook_url_env="").webhook_url_value() == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://example.com/api/webhooks/1/{WEBHOOK_TOKEN}", "an https:// URL; plain http://"),
        (f"ftp://example.com/{WEBHOOK_TOKEN}", "an https:// URL"),
        (WEBHOOK_TOKEN, "an https:// URL"),
        ("https://discord.com/channels/1234567890123456/1234567890123456", "a Discord webhook URL"),
        ("https://discord.com/api/webhooks/112233445566778899", "a Discord webhook URL"),
        (f"https://canary.discord.com/api/webhooks/12/{WEBHOOK_TOKEN}", "a Discord webhook URL"),
        (f"https://example.com:99999/{WEBHOOK_TOKEN}", "a URL (it does not parse)"),
    ],
)
def test_a_bad_url_in_the_file_names_the_key_and_hides_the_token(
    tmp_path: Path, url: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f'[alerts]\nwebhook_url = "{url}"\n')
    message = str(caught.value)
    assert "alerts.webhook_url: expected " + expected in message, message
    assert str(tmp_path / "monitoring.toml") in message
    assert WEBHOOK_TOKEN not in message


def test_a_bad_url_in_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, f"http://10.0.0.5/api/webhooks/1/{WEBHOOK_TOKEN}")
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "")  # A file without [alerts]: the defaults read the variable.
    message = str(caught.value)
    assert f"${ENV}: expected an https:// URL" in message
    assert "'http://10.0.0.5/[redacted]'" in message
    assert WEBHOOK_TOKEN not in message


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("min_interval = 0", "alerts.min_interval", "a number of seconds > 0"),
        ("timeout = -1", "alerts.timeout", "a number of seconds > 0"),
        ("retries = -1", "alerts.retries", "an integer >= 0"),
        ("retries = 1.5", "alerts.retries", "an integer"),
        ("queue_size = 0", "alerts.queue_size", "an integer >= 1"),
        ('webhook_url_env = "NOT A NAME"', "alerts.webhook_url_env", "an environment variable"),
        ("webhook_url = 5", "alerts.webhook_url", "a string"),
        ("channel = 1", "alerts.channel", "unknown key"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, line: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[alerts]\n{line}\n")
    message = str(caught.value)
    assert key in message and expected in message, message


def test_a_negative_rate_limit_warning_count_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"health.rate_limit_warning_hits: expected an integer >= 0"
    ):
        load(tmp_path, "[health]\nrate_limit_warning_hits = -1\n")


@pytest.mark.parametrize(
    "url",
    [
        DISCORD_URL,
        f"https://ptb.discord.com/api/v9/webhooks/112233445566778899/{WEBHOOK_TOKEN}/",
        f"https://relay.example.org/hooks/{WEBHOOK_TOKEN}",  # A relay speaking Discord's format.
        f"http://127.0.0.1:8080/api/webhooks/1/{WEBHOOK_TOKEN}",  # This machine: a local relay.
        f"http://[::1]:8080/{WEBHOOK_TOKEN}",
        f"http://localhost/{WEBHOOK_TOKEN}",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert webhook_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (DISCORD_URL, "https://discord.com/api/webhooks/112233445566778899/[redacted]"),
        (
            f"https://relay.example.org:8443/hooks/{WEBHOOK_TOKEN}?key=abc",
            "https://relay.example.org:8443/[redacted]",
        ),
        (f"https://user:{WEBHOOK_TOKEN}@relay.example.org", "https://relay.example.org"),
        (f"http://[::1]:8080/{WEBHOOK_TOKEN}", "http://[::1]:8080/[redacted]"),
        (WEBHOOK_TOKEN, "[redacted]"),
    ],
)
def test_redaction_keeps_where_it_goes_and_hides_the_secret(url: str, shown: str) -> None:
    assert redact_webhook_url(url) == shown
