"""Fixtures for the cog's tests: a real discord.py bot driven by dpytest, with its own commands.

Interactions are real ``discord.Interaction`` objects (see ``interactions.py``); only the webhook
adapter (Discord's HTTP for interactions), the clock and psutil readings are faked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from harness import Harness, Monitored, make_config
from interactions import Responses

from monitoring_cog import ManualClock, MonitoringConfig


@pytest.fixture
def responses(monkeypatch: pytest.MonkeyPatch) -> Responses:
    captured = Responses()
    captured.install(monkeypatch)
    return captured


@pytest.fixture
async def harness(
    clock: ManualClock, process: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    monkeypatch.delenv("MONITORING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # No ./config.toml of the developer's is picked up.
    h = Harness(clock, process, tmp_path, monkeypatch)
    yield h
    await h.close()


@pytest.fixture
def cog_config() -> MonitoringConfig:
    """The config of the ``monitored`` fixture's cog; override in a module to change it."""
    return make_config()


@pytest.fixture
async def monitored(
    harness: Harness, cog_config: MonitoringConfig, responses: Responses
) -> Monitored:
    bot = await harness.new_bot()
    cog = await harness.load(bot, cog_config)
    harness.configure(bot)
    return Monitored(bot, cog, harness)
