"""Privacy through the real dispatch path: what the cog audits of real commands.

With hashed user ids on, a prefix command with a password, a slash command with an API token
and a command refused by its check (whose typed text is kept) leave neither the secrets nor the
author's Discord id anywhere in the database files.
"""

from __future__ import annotations

import dataclasses
import hmac
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from harness import Monitored, make_config
from interactions import run_command

from monitoring_cog import MonitoringConfig
from monitoring_cog.cli.payloads import option
from monitoring_cog.config import PrivacyConfig
from monitoring_cog.recording.privacy import REDACTED

HASH_SECRET = "a secret that is long enough"
TYPED_SECRET = "hunter2-typed-f00d"
RAW_SECRET = "swordfish-raw-beef"
SLASH_SECRET = "sk-slash-token-c0ffee"


@pytest.fixture(autouse=True)
def _no_secret_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITORING_HASH_SECRET", raising=False)


@pytest.fixture
def cog_config() -> MonitoringConfig:
    return dataclasses.replace(
        make_config(), privacy=PrivacyConfig(hash_user_ids=True, hash_secret=HASH_SECRET)
    )


def add_sensitive_commands(bot: commands.Bot) -> None:
    @bot.command()
    async def login(ctx: commands.Context[Any], account: str, password: str) -> None:
        await ctx.send("logged in")

    @bot.command()
    @commands.check(lambda ctx: False)
    async def vault(ctx: commands.Context[Any], pin_password: str) -> None:
        await ctx.send("never")

    @bot.tree.command()
    async def connect(interaction: discord.Interaction[Any], service: str, api_token: str) -> None:
        await interaction.response.send_message("connected")


def pseudonym(user_id: int) -> str:
    return "h:" + hmac.new(HASH_SECRET.encode(), str(user_id).encode(), "sha256").hexdigest()[:32]


def database_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    wal = Path(f"{path}-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


async def test_secrets_and_the_raw_user_id_never_reach_the_database(
    monitored: Monitored,
) -> None:
    add_sensitive_commands(monitored.bot)
    author = monitored.members[0]

    await dpytest.message(f"!login miles {TYPED_SECRET}")
    with pytest.raises(commands.CheckFailure):
        await dpytest.message(f"!vault {RAW_SECRET}")
    await run_command(
        monitored.bot,
        "connect",
        options=[option("service", "spotify"), option("api_token", SLASH_SECRET)],
    )
    rows = {row["command"]: row for row in await monitored.rows()}
    await monitored.db.flush()

    assert rows["login"]["parameters"] == {"account": "miles", "password": REDACTED}
    # Refused before parsing: only the typed text was kept, and it holds the password.
    assert rows["vault"]["parameters"] == {"_raw": REDACTED}
    assert rows["connect"]["parameters"] == {"service": "spotify", "api_token": REDACTED}
    assert {row["user_id"] for row in rows.values()} == {pseudonym(author.id)}
    data = database_bytes(monitored.harness.db_path)
    for secret in (TYPED_SECRET, RAW_SECRET, SLASH_SECRET, str(author.id)):
        assert secret.encode() not in data, secret
    # Looked up by the Discord id, the rows are found (the id is hashed the same way).
    found = await monitored.cog.system.cmd_logger.get_user_commands(author.id)
    assert {row["command"] for row in found} == {"login", "vault", "connect"}


async def test_a_refused_command_keeps_its_typed_text_when_nothing_is_sensitive(
    monitored: Monitored,
) -> None:
    with pytest.raises(commands.CheckFailure):  # The harness's command whose check fails.
        await dpytest.message("!secret some words")

    (row,) = await monitored.rows()
    assert row["parameters"] == {"_raw": "some words"}
