"""``GatewayMonitor``: the bot's connection to Discord, shard by shard, as a health section.

It watches discord.py's connection events inline (standing checks, no task per event: see
:mod:`monitoring_cog.vitals.watch`): ``shard_connect``, ``shard_resumed``, ``shard_ready`` and
``shard_disconnect`` for an :class:`~discord.AutoShardedClient` (``commands.AutoShardedBot``);
``connect``, ``resumed``, ``ready`` and ``disconnect`` for a plain client (``commands.Bot``),
which is one shard: ``shard_id`` if given one, else 0. Heartbeat latencies are read live from
discord.py at each report.

The section, ``report["gateway"]``::

    {"status", "ready", "shard_count",
     "shards": [{"shard_id", "latency_ms", "connected", "disconnects_1h", "reconnects_1h",
                 "resumes_1h", "down_seconds", "seconds_since_disconnect"}, ...],
     "disconnects_1h", "reconnects_1h", "guilds", "members", "cached_members",
     "voice_clients", "event_types"}

Status rule (thresholds in ``[gateway]``):

- ``unknown`` before the bot is ready (shards still connecting, guilds still arriving), and when
  no shard's connection can be seen (no event yet and no websocket to look at): it does not
  count in the overall status;
- ``critical`` if a shard has been disconnected for ``shard_down_seconds`` or more; a
  ``shard_down`` :class:`~monitoring_cog.vitals.events.VitalEvent` is emitted then, once per
  outage, once the bot is ready (checked when the threshold passes, and at every report);
- ``critical`` or ``warning`` if a connected shard's heartbeat latency is at or past
  ``latency_critical_ms`` or ``latency_warning_ms``;
- ``healthy`` otherwise. A shard down for less than ``shard_down_seconds`` (Discord asks for
  reconnects now and then) shows as disconnected without changing the status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import discord

from ..clock import Clock, SystemClock
from ..config import GatewayConfig
from ..database import Database
from ..errors import ErrorCounter
from .event_types import GatewayEventCounter
from .events import VitalEvent, VitalEvents
from .population import Population, shard_layout
from .shards import ShardState, ShardTracker
from .watch import EventWatch

__all__ = ("GatewayMonitor", "ShardFigures")

_log = logging.getLogger(__name__)

_TIMER_MARGIN = 0.05
"""Seconds past ``shard_down_seconds`` the outage timer fires: the event loop's clock and the
monitor's may differ by a hair, and a check a hair early would wait for the next report."""
_SEVERITY = {"healthy": 0, "warning": 1, "critical": 2}


class ShardFigures(NamedTuple):
    """One shard's figures for the metrics."""

    shard_id: int
    latency: float | None
    """Heartbeat latency in seconds; ``None`` before the first acknowledged heartbeat."""
    connected: bool | None
    """``None`` while nothing shows the shard's connection."""
    disconnects: int
    reconnects: int
    resumes: int
    """Counted since the monitor was installed."""


def _finite_ms(seconds: float | None) -> float | None:
    if seconds is None or not math.isfinite(seconds):
        return None  # No heartbeat acknowledged yet (discord.py reports inf or nan).
    return round(seconds * 1000, 1)


class GatewayMonitor:
    """Watches the bot's shards; a health section (``report["gateway"]``) and metrics source.

    Parameters
    ----------
    client:
        The bot: ``commands.Bot``, ``commands.AutoShardedBot`` or any :class:`discord.Client`.
    config:
        The ``[gateway]`` thresholds; by default the database's, else the defaults.
    db:
        Where the bot's growth is recorded (joins, leaves, daily counts); ``None`` keeps the
        counts in memory only.
    clock:
        Durations and dates; by default the database's clock, else the system's.
    events:
        Where a shard down past its threshold is emitted as a ``shard_down`` vital event.
    errors:
        Where failures inside the monitor are counted; by default the database's counter.

    Call :meth:`install` from a coroutine (it needs the running event loop) and
    :meth:`uninstall` when done; add it to a health check with :meth:`attach`.
    """

    def __init__(
        self,
        client: discord.Client,
        config: GatewayConfig | None = None,
        *,
        db: Database | None = None,
        clock: Clock | None = None,
        events: VitalEvents | None = None,
        errors: ErrorCounter | None = None,
    ) -> None:
        self.client = client
        self.config = config or (db.config.gateway if db is not None else GatewayConfig())
        self.clock: Clock = clock or (db.clock if db is not None else SystemClock())
        self.errors = errors or (db.errors if db is not None else ErrorCounter())
        self.events = events
        self.sharded = isinstance(client, discord.AutoShardedClient)
        self.shards = ShardTracker(self.clock)
        self.event_types = GatewayEventCounter(client)
        self.population = Population(client, db=db, clock=self.clock, errors=self.errors)
        self._timers: dict[int, asyncio.TimerHandle] = {}
        checks: dict[str, Callable[..., bool]]
        if self.sharded:
            checks = {
                "shard_connect": self._on_shard_connect,
                "shard_resumed": self._on_shard_resumed,
                "shard_ready": self._on_shard_ready,
                "shard_disconnect": self._on_shard_disconnect,
            }
        else:
            # A plain client dispatches no shard_* events; the generic ones are its one shard's.
            checks = {
                "connect": self._on_connect,
                "resumed": self._on_resumed,
                "ready": self._on_ready,
                "disconnect": self._on_disconnect,
            }
        self.watch = EventWatch(client, checks, "monitoring_cog-gateway")

    # -- installation -------------------------------------------------------------------------

    @property
    def installed(self) -> bool:
        """Whether the monitor is watching."""
        return self.watch.installed

    def install(self) -> None:
        """Start watching the connection, the gateway events and the guilds joined and left."""
        if self.watch.installed:
            return
        self._seed()
        self.watch.install()
        self.event_types.install()
        self.population.install()

    def uninstall(self) -> None:
        """Stop watching (what was counted stays)."""
        self.watch.uninstall()
        self.event_types.uninstall()
        self.population.uninstall()
        timers, self._timers = self._timers, {}
        for timer in timers.values():
            timer.cancel()

    def attach(self, health: Any) -> None:
        """Add this monitor's section to ``health`` (a
        :class:`~monitoring_cog.collectors.health.HealthCheck`) as ``report["gateway"]``."""
        health.add_section("gateway", self)

    def detach(self, health: Any) -> None:
        """Take this monitor's section out of ``health`` (if it is still this monitor's)."""
        health.remove_section("gateway", self)

    def _seed(self) -> None:
        """Each shard's live state, for a bot already connected when the watch starts."""
        # Nothing to see (no websocket yet, or one without a socket: a test double): the
        # shard stays unknown until an event says.
        if self.sharded:
            client: Any = self.client
            for shard_id, info in client.shards.items():
                with contextlib.suppress(AttributeError):
                    self.shards.seed(shard_id, not info.is_closed())
            return
        ws = getattr(self.client, "ws", None)
        if ws is not None:
            with contextlib.suppress(AttributeError):
                self.shards.seed(self._plain_shard(), bool(ws.open))

    def _plain_shard(self) -> int:
        return self.client.shard_id or 0

    # -- events (inline in discord.py's dispatch: they never raise) ---------------------------

    def _on_shard_connect(self, shard_id: int) -> bool:
        return self._safely(self.shards.connected, shard_id, resumed=False)

    def _on_shard_resumed(self, shard_id: int) -> bool:
        return self._safely(self.shards.connected, shard_id, resumed=True)

    def _on_shard_ready(self, shard_id: int) -> bool:
        return self._safely(self.shards.ready, shard_id)

    def _on_shard_disconnect(self, shard_id: int) -> bool:
        return self._safely(self._disconnected, shard_id)

    def _on_connect(self) -> bool:
        return self._safely(self.shards.connected, self._plain_shard(), resumed=False)

    def _on_resumed(self) -> bool:
        return self._safely(self.shards.connected, self._plain_shard(), resumed=True)

    def _on_ready(self) -> bool:
        return self._safely(self.shards.ready, self._plain_shard())

    def _on_disconnect(self) -> bool:
        return self._safely(self._disconnected, self._plain_shard())

    def _safely(self, action: Callable[..., None], *args: Any, **kwargs: Any) -> bool:
        try:
            action(*args, **kwargs)
        except Exception as exc:
            self.errors.record("GatewayMonitor.event", exc)
            _log.exception("monitoring: could not follow a gateway connection event")
        return False

    def _disconnected(self, shard_id: int) -> None:
        self.shards.disconnected(shard_id)
        self._arm(shard_id, self.config.shard_down_seconds)

    def _arm(self, shard_id: int, seconds: float) -> None:
        """Check the shard again once its outage may have passed the threshold."""
        previous = self._timers.pop(shard_id, None)
        if previous is not None:
            previous.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # Reports still check (outside a loop, only a test would dispatch).
        self._timers[shard_id] = loop.call_later(seconds + _TIMER_MARGIN, self._timer, shard_id)

    def _timer(self, shard_id: int) -> None:
        self._timers.pop(shard_id, None)
        if not self.watch.installed:
            return
        try:
            self.poll()
        except Exception as exc:
            self.errors.record("GatewayMonitor.poll", exc)
            _log.exception("monitoring: could not check the shards")

    # -- judging ------------------------------------------------------------------------------

    def poll(self) -> None:
        """Emit ``shard_down`` for each shard down past ``shard_down_seconds`` and not yet
        reported in this outage (re-arming the timer of one that is not there yet). Nothing
        before the bot is ready: its shards are still connecting."""
        if not self.client.is_ready():
            return
        threshold = self.config.shard_down_seconds
        for state in list(self.shards.shards.values()):
            down = self.shards.down_for(state)
            if down is None or state.alerted:
                continue
            if down >= threshold:
                state.alerted = True
                self._emit_down(state, down)
            elif self.watch.installed and state.shard_id not in self._timers:
                self._arm(state.shard_id, threshold - down)

    def _emit_down(self, state: ShardState, down: float) -> None:
        if self.events is None:
            return
        since = state.down_since_epoch
        since_text = (
            datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if since is not None
            else "unknown"
        )
        disconnects = self.shards.recent(state.disconnects)
        self.events.emit(
            VitalEvent(
                "shard_down",
                f"Shard {state.shard_id} down for {down:.0f} s",
                detail=(
                    f"Shard {state.shard_id} has been disconnected from Discord's gateway since"
                    f" {since_text} ({disconnects} disconnect(s) in the last hour); its guilds"
                    " get no events and their commands no answers until it is back."
                ),
                fields={
                    "shard": str(state.shard_id),
                    "down for": f"{down:.0f} s",
                    "since": since_text,
                    "threshold": f"{self.config.shard_down_seconds:g} s",
                },
                severity="critical",
                at=self.clock.time(),
            )
        )

    def shard_ids(self) -> list[int]:
        """Every shard this process runs or has seen, in order."""
        ids = set(self.shards.shards)
        if self.sharded:
            client: Any = self.client
            ids.update(client.shards)
            if client.shard_count is not None:
                ids.update(shard_layout(self.client)[0])
        else:
            ids.add(self._plain_shard())
        return sorted(ids)

    def latencies(self) -> dict[int, float | None]:
        """Heartbeat latency per shard in seconds, ``None`` where none was measured yet."""
        found: dict[int, float | None] = {}
        if self.sharded:
            client: Any = self.client
            for shard_id, latency in client.latencies:
                found[shard_id] = latency if math.isfinite(latency) else None
        elif getattr(self.client, "ws", None) is not None:
            latency = self.client.latency
            found[self._plain_shard()] = latency if math.isfinite(latency) else None
        return found

    def shard_figures(self) -> list[ShardFigures]:
        """Every shard's figures now, in order (for the metrics)."""
        latencies = self.latencies()
        figures = []
        for shard_id in self.shard_ids():
            state = self.shards.shards.get(shard_id)
            figures.append(
                ShardFigures(
                    shard_id,
                    latencies.get(shard_id),
                    None if state is None else state.connected,
                    state.disconnects_total if state else 0,
                    state.reconnects_total if state else 0,
                    state.resumes_total if state else 0,
                )
            )
        return figures

    def connected(self, shard_id: int) -> bool | None:
        """Whether the shard is connected; ``None`` if nothing shows it yet."""
        state = self.shards.shards.get(shard_id)
        return None if state is None else state.connected

    def _shard_status(self, state: ShardState | None, latency_ms: float | None) -> str | None:
        if state is None or state.connected is None:
            return None
        if not state.connected:
            down = self.shards.down_for(state)
            if down is not None and down >= self.config.shard_down_seconds:
                return "critical"
            return "healthy"
        if latency_ms is None:
            return "healthy"
        if latency_ms >= self.config.latency_critical_ms:
            return "critical"
        if latency_ms >= self.config.latency_warning_ms:
            return "warning"
        return "healthy"

    def health_section(self) -> dict[str, Any]:
        """``report["gateway"]`` now (see the module for the keys and the status rule)."""
        self.poll()
        latencies = self.latencies()
        shards: list[dict[str, Any]] = []
        statuses: list[str] = []
        disconnects_1h = reconnects_1h = 0
        for shard_id in self.shard_ids():
            state = self.shards.shards.get(shard_id)
            latency_ms = _finite_ms(latencies.get(shard_id))
            status = self._shard_status(state, latency_ms)
            if status is not None:
                statuses.append(status)
            disconnects = self.shards.recent(state.disconnects) if state else 0
            reconnects = self.shards.recent(state.reconnects) if state else 0
            disconnects_1h += disconnects
            reconnects_1h += reconnects
            down = self.shards.down_for(state) if state else None
            since = self.shards.since_disconnect(state) if state else None
            shards.append(
                {
                    "shard_id": shard_id,
                    "latency_ms": latency_ms,
                    "connected": None if state is None else state.connected,
                    "disconnects_1h": disconnects,
                    "reconnects_1h": reconnects,
                    "resumes_1h": self.shards.recent(state.resumes) if state else 0,
                    "down_seconds": None if down is None else round(down, 1),
                    "seconds_since_disconnect": None if since is None else round(since, 1),
                }
            )
        ready = self.client.is_ready()
        if not ready or not statuses:
            status = "unknown"
        else:
            status = max(statuses, key=lambda name: _SEVERITY[name])
        figures = self.population.figures
        return {
            "status": status,
            "ready": ready,
            "shard_count": shard_layout(self.client)[1],
            "shards": shards,
            "disconnects_1h": disconnects_1h,
            "reconnects_1h": reconnects_1h,
            "guilds": len(self.client.guilds),
            "members": figures.members if figures is not None else None,
            "cached_members": figures.cached_members if figures is not None else None,
            "voice_clients": len(self.client.voice_clients),
            "event_types": len(self.event_types.counts),
        }

    async def refresh(self, *, record: bool = True) -> None:
        """Count guilds and members (with ``record``, recording the day's snapshot once the bot
        is ready) and check the shards: the cog runs this every ``gateway.population_interval``.
        """
        await self.population.refresh(record=record)
        self.poll()
