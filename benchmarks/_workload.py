"""The synthetic workload every ingest benchmark writes: standard library only.

Kept apart from ``_common`` (which imports discord.py and this package's payload builder) so that
``versions.py`` can run it against an older revision of the package.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ("COMMANDS", "GUILD_BASE", "USER_BASE", "Call", "workload")

GUILD_BASE = 100_000_000_000_000_000
"""Synthetic guild ids are ``GUILD_BASE + n``."""
USER_BASE = 200_000_000_000_000_000
"""Synthetic user ids are ``USER_BASE + guild * members + n``."""

COMMANDS = (
    "play", "skip", "queue", "pause", "resume", "volume", "nowplaying", "lyrics", "shuffle",
    "loop", "stop", "seek", "remove", "help", "ping", "stats weekly", "stats monthly", "rank",
    "daily", "balance", "profile", "remind", "poll", "ban", "kick",
)  # fmt: skip
"""Command names, most used first (Zipf-like weights)."""


@dataclass(frozen=True)
class Call:
    """One audited command, as the arguments of ``log_command``."""

    guild_id: str
    guild_name: str
    user_id: str
    username: str
    command: str
    parameters: dict[str, Any] | None
    duration: float
    success: bool
    error_message: str | None
    error_type: str | None

    async def log(self, log_command: Callable[..., Awaitable[bool]]) -> bool:
        """``await log_command(...)`` with this call's arguments (``CommandLogger.log_command``)."""
        return await log_command(
            self.guild_id,
            self.guild_name,
            self.user_id,
            self.username,
            self.command,
            self.parameters,
            self.duration,
            self.success,
            self.error_message,
            error_type=self.error_type,
        )


def workload(count: int, *, guilds: int = 1000, users: int = 50, seed: int = 1) -> list[Call]:
    """``count`` commands across ``guilds`` guilds of ``users`` members each.

    Commands follow a Zipf-like popularity, durations a log-normal around 50 ms, 2 % fail.
    Deterministic for a given seed, so every configuration writes the same rows.
    """
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(COMMANDS))]
    chosen = rng.choices(COMMANDS, weights, k=count)
    calls = []
    for command in chosen:
        guild = rng.randrange(guilds)
        user = rng.randrange(users)
        failed = rng.random() < 0.02
        calls.append(
            Call(
                guild_id=str(GUILD_BASE + guild),
                guild_name=f"Guild {guild}",
                user_id=str(USER_BASE + guild * users + user),
                username=f"user{guild}_{user}",
                command=command,
                parameters={"query": f"song {rng.randrange(10_000)}"}
                if command == "play"
                else None,
                duration=min(rng.lognormvariate(-3.0, 1.0), 60.0),
                success=not failed,
                error_message="Something went wrong" if failed else None,
                error_type="CommandInvokeError" if failed else None,
            )
        )
    return calls
