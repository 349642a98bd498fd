"""Each shard's connection as its events tell it: up or down, since when, how often it dropped.

A plain state machine over the injectable clock, fed by
:class:`~monitoring_cog.vitals.gateway.GatewayMonitor` from discord.py's connection events; it
knows nothing of discord.py itself.

- A disconnect takes a connected shard down: one disconnect, the outage starts. Further
  disconnects while it is down (reconnect attempts that failed) belong to the same outage.
- A connection (a new session, IDENTIFY then READY) or a resume (RESUMED) brings it back up. Back
  from an outage, it counts as a reconnect; a resume always does (a resume is a reconnection,
  even if its disconnect went unseen), and as a resume.
- Counts "in the last hour" are kept as event times, trimmed to the hour (and to
  :data:`MAX_TIMES` per shard, should a shard flap thousands of times in an hour).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..clock import Clock

__all__ = ("MAX_TIMES", "WINDOW_SECONDS", "ShardState", "ShardTracker")

WINDOW_SECONDS = 3600.0
"""What "in the last hour" covers."""
MAX_TIMES = 1000
"""Event times kept per shard and kind: a count in the last hour stops at this."""


@dataclass(slots=True)
class ShardState:
    """One shard, as its events have shown it."""

    shard_id: int
    connected: bool | None = None
    """``None`` until an event (or the live connection, when the watch starts) has shown it."""
    down_since: float | None = None
    """Monotonic time the current outage started; ``None`` while connected."""
    down_since_epoch: float | None = None
    """The same moment as epoch seconds (for messages)."""
    last_disconnect: float | None = None
    """Monotonic time of the latest disconnect; ``None`` if none was seen."""
    alerted: bool = False
    """Whether the current outage has been reported (once per outage)."""
    disconnects_total: int = 0
    reconnects_total: int = 0
    resumes_total: int = 0
    disconnects: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_TIMES))
    reconnects: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_TIMES))
    resumes: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_TIMES))


class ShardTracker:
    """The state of every shard seen, by shard id."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.shards: dict[int, ShardState] = {}

    def state(self, shard_id: int) -> ShardState:
        """The shard's state (a new, unknown one if it was never seen)."""
        found = self.shards.get(shard_id)
        if found is None:
            found = self.shards[shard_id] = ShardState(shard_id)
        return found

    def seed(self, shard_id: int, connected: bool) -> None:
        """Take the shard's live state when nothing is known of it yet (the watch starting on
        a bot already running): no event is counted. A shard found down is taken to have gone
        down now."""
        state = self.state(shard_id)
        if state.connected is not None:
            return
        state.connected = connected
        if not connected:
            state.down_since = self.clock.monotonic()
            state.down_since_epoch = self.clock.time()

    def disconnected(self, shard_id: int) -> None:
        """The shard lost its connection."""
        state = self.state(shard_id)
        if state.connected is False:
            return  # A reconnect attempt that failed: the same outage.
        now = self.clock.monotonic()
        state.connected = False
        state.down_since = now
        state.down_since_epoch = self.clock.time()
        state.last_disconnect = now
        state.alerted = False
        state.disconnects_total += 1
        state.disconnects.append(now)

    def connected(self, shard_id: int, *, resumed: bool) -> None:
        """The shard has a connection again: a new session (``resumed`` False) or a resumed
        one."""
        state = self.state(shard_id)
        now = self.clock.monotonic()
        if resumed or state.connected is False:
            state.reconnects_total += 1
            state.reconnects.append(now)
        if resumed:
            state.resumes_total += 1
            state.resumes.append(now)
        self._up(state)

    def ready(self, shard_id: int) -> None:
        """The shard has received its guilds: it is connected (its connection was counted)."""
        self._up(self.state(shard_id))

    def _up(self, state: ShardState) -> None:
        state.connected = True
        state.down_since = state.down_since_epoch = None
        state.alerted = False

    def down_for(self, state: ShardState) -> float | None:
        """Seconds the shard has been down, or ``None`` while it is connected (or unknown)."""
        if state.down_since is None:
            return None
        return max(0.0, self.clock.monotonic() - state.down_since)

    def since_disconnect(self, state: ShardState) -> float | None:
        """Seconds since the shard's latest disconnect, or ``None`` if none was seen."""
        if state.last_disconnect is None:
            return None
        return max(0.0, self.clock.monotonic() - state.last_disconnect)

    def recent(self, times: deque[float]) -> int:
        """How many of ``times`` fall in the last hour (older ones are dropped)."""
        horizon = self.clock.monotonic() - WINDOW_SECONDS
        while times and times[0] < horizon:
            times.popleft()
        return len(times)
