"""The demo's gateway and its one rate limit: what cannot happen offline, simulated in the open.

The demo's bot has no connection to Discord (:mod:`.offline`), so two of its vitals are staged:

- **The gateway.** dpytest, which plays Discord's part, refuses sharded clients, so the demo's bot
  is a plain ``commands.Bot``: one shard. In place of its websocket the bot is given a
  :class:`SimulatedWebSocket`, whose heartbeat latency is a drawn number; discord.py's own
  ``Client.latency`` reads it, as it reads a real websocket's. The connection's events
  (``connect``, ``disconnect``, ``resumed``) are dispatched through discord.py's
  ``Client.dispatch``, as its gateway code dispatches them, so the monitoring cog sees them the
  way it sees a real bot's.
- **An HTTP 429.** A real one needs Discord (or a server posing as it). The demo logs the record
  discord.py's ``discord.http`` logger emits when a request is answered 429: the same logger,
  level, format string and arguments, so the cog counts it as it counts a real one.

The event-loop stall is not staged: the demo bot's ``!cover`` really blocks the loop.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

from ..clock import ManualClock

__all__ = ("RATE_LIMIT_FORMAT", "SimulatedGateway", "SimulatedWebSocket", "log_simulated_429")

RATE_LIMIT_FORMAT = "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds."
"""The warning ``discord/http.py`` logs for a 429 it waits out and retries (discord.py 2.x)."""
_HTTP_LOGGER = "discord.http"


@dataclass
class SimulatedWebSocket:
    """Stands in for the bot's gateway websocket: what ``Client.latency`` reads, and no more."""

    latency: float
    """Seconds between a heartbeat and its acknowledgement."""
    open: bool = True


class SimulatedGateway:
    """The demo bot's connection to Discord: a drawn heartbeat latency and real dispatches.

    Parameters
    ----------
    bot:
        The bot (a plain client: one shard).
    rng:
        Draws the heartbeat latencies.
    clock:
        The demo's clock, advanced by the time a connection stays down.
    """

    def __init__(self, bot: Any, rng: random.Random, clock: ManualClock) -> None:
        self.bot = bot
        self.rng = rng
        self.clock = clock
        self.socket = SimulatedWebSocket(self._draw())
        self.disconnects = 0

    def _draw(self) -> float:
        return round(self.rng.uniform(0.035, 0.095), 4)

    def connect(self) -> None:
        """The bot connects: its websocket is in place and ``connect`` is dispatched."""
        self.bot.ws = self.socket
        self.bot.dispatch("connect")

    def drop_and_resume(self, down_for: float) -> None:
        """Discord drops the connection; ``down_for`` seconds later the session resumes (with a
        new heartbeat latency)."""
        self.socket.open = False
        self.bot.dispatch("disconnect")
        self.disconnects += 1
        self.clock.advance(down_for)
        self.socket.latency = self._draw()
        self.socket.open = True
        self.bot.dispatch("resumed")

    def close(self) -> None:
        """The bot has no websocket any more (nothing is dispatched: the demo is over)."""
        self.socket.open = False
        self.bot.ws = None


def log_simulated_429(method: str, url: str, retry_after: float) -> None:
    """Log what discord.py logs when ``method url`` is answered 429 and retried."""
    logging.getLogger(_HTTP_LOGGER).warning(RATE_LIMIT_FORMAT, method, url, retry_after)
