"""``RateLimitMonitor``: the HTTP 429 responses the bot receives, per route and global.

Read from discord.py's own logging, a public path (nothing of discord.py is patched). For every
429 it retries or gives up on, ``discord.http`` logs a warning ``"We are being rate limited. %s
%s responded with 429. ..."`` (method, URL, retry after); when the 429 is global it then logs
``"Global rate limit has been hit. Retrying in %.2f seconds."``, at once, on the same thread. The
adapter behind interaction responses and followups (``discord.webhook.async_``) logs
``"Webhook ID %s is rate limited. ..."``. Their format strings and arguments are on the records,
so nothing is parsed out of formatted text. The records are read through a
:class:`~monitoring_cog.vitals.log_tap.LogTap`, which sees them whatever the bot's logging set-up
and leaves its output as it was.

Not seen, because discord.py does not log them: a 429 without Discord's ``Via`` header or with a
text body (Cloudflare refusing the bot, which discord.py raises as ``HTTPException`` at once),
and the scope header (``X-RateLimit-Scope``). A global 429 whose wait is longer than the client's
``max_ratelimit_timeout`` is raised before discord.py says it was global: it counts as a route's.

Counts are per process: every client in it logs to the same logger.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..clock import Clock, SystemClock
from .events import VitalEvent, VitalEvents
from .log_tap import LogTap, tap
from .routes import route_template

__all__ = (
    "GLOBAL_MESSAGE",
    "HTTP_LOGGER",
    "MAX_ROUTES",
    "OTHER_ROUTE",
    "ROUTE_MESSAGE_PREFIX",
    "TOP_ROUTES",
    "WEBHOOK_LOGGER",
    "WEBHOOK_ROUTE",
    "RateLimitMonitor",
)

HTTP_LOGGER = "discord.http"
WEBHOOK_LOGGER = "discord.webhook.async_"
ROUTE_MESSAGE_PREFIX = "We are being rate limited. %s %s responded with 429."
"""How ``discord.http``'s per-route message starts (two variants follow: retrying, or not)."""
GLOBAL_MESSAGE = "Global rate limit has been hit. Retrying in %.2f seconds."
WEBHOOK_MESSAGE = "Webhook ID %s is rate limited. Retrying in %.2f seconds."
WEBHOOK_ROUTE = "(webhook or interaction response)"
"""The route of a 429 logged by discord.py's webhook adapter, which logs no URL."""
MAX_ROUTES = 100
"""Distinct route templates counted; 429s of further routes count under :data:`OTHER_ROUTE`."""
OTHER_ROUTE = "(other)"
TOP_ROUTES = 5
"""Routes listed in the health section's ``top_routes``."""
WINDOW = 3600.0
"""Seconds covered by ``hits_1h`` and ``global_hits_1h`` (from the start of a minute)."""
_MINUTE = 60.0


@dataclass(slots=True)
class _Minute:
    """429s of one minute (monotonic), for the last hour's figures."""

    index: int
    hits: int = 0
    global_hits: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    global_routes: Counter[str] = field(default_factory=Counter)


class RateLimitMonitor:
    """Counts 429s from discord.py's logs; a health section and a source of vital events.

    Parameters
    ----------
    events:
        Where a global rate limit is emitted (kind ``"global_rate_limit"``); ``None``: nowhere.
    clock:
        For the last hour's window (monotonic) and the times shown (wall clock).
    warning_hits:
        429s in the last hour at which the status turns ``warning``; 0: only a global 429 does.

    ``attach()`` to start counting, ``detach()`` to stop; add it to a health check with
    ``health_check.add_section("rate_limits", monitor)``.
    """

    def __init__(
        self,
        *,
        events: VitalEvents | None = None,
        clock: Clock | None = None,
        warning_hits: int = 1000,
        max_routes: int = MAX_ROUTES,
    ) -> None:
        self.events = events
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.warning_hits = warning_hits
        self.max_routes = max_routes
        self.route_hits: dict[str, int] = {}
        """Every 429 since creation, per route template (bounded: see :data:`MAX_ROUTES`)."""
        self.global_hits: dict[str, int] = {}
        """The global ones among them, per route template."""
        self.last_global_at: float | None = None
        """Wall-clock time of the latest global 429."""
        self._minutes: deque[_Minute] = deque()
        self._last_route: dict[int, str] = {}
        """Per logging thread, the route of its latest 429: the global message follows it."""
        self._lock = threading.Lock()
        self._taps: list[LogTap] = []

    # -- attaching to discord.py's logs -----------------------------------------------------------

    @property
    def attached(self) -> bool:
        """Whether 429s are being counted."""
        return bool(self._taps)

    def attach(self) -> None:
        """Start counting 429s (from ``discord.http`` and ``discord.webhook.async_``)."""
        if self._taps:
            return
        for name in (HTTP_LOGGER, WEBHOOK_LOGGER):
            log_tap = tap(name, logging.WARNING)
            log_tap.add_observer(self.observe)
            self._taps.append(log_tap)

    def detach(self) -> None:
        """Stop counting; the loggers are left as the bot had them."""
        taps, self._taps = self._taps, []
        for log_tap in taps:
            log_tap.remove_observer(self.observe)

    def refresh(self) -> None:
        """Re-apply the taps after the bot's logging set-up changed (a ``dictConfig``, levels)."""
        for log_tap in self._taps:
            log_tap.refresh()

    # -- counting ---------------------------------------------------------------------------------

    def observe(self, record: logging.LogRecord) -> None:
        """Count ``record`` if it is one of discord.py's rate-limit messages."""
        if record.levelno != logging.WARNING or not isinstance(record.msg, str):
            return
        args = record.args if isinstance(record.args, tuple) else ()
        message = record.msg
        if message.startswith(ROUTE_MESSAGE_PREFIX) and len(args) >= 2:
            route = route_template(str(args[0]), str(args[1]))
            self._count(route, record.thread)
        elif message == GLOBAL_MESSAGE and record.name == HTTP_LOGGER:
            retry_after = args[0] if args and isinstance(args[0], int | float) else None
            self._count_global(record.thread, retry_after)
        elif message == WEBHOOK_MESSAGE and record.name == WEBHOOK_LOGGER:
            self._count(WEBHOOK_ROUTE, record.thread)

    def _minute(self) -> _Minute:
        index = int(self.clock.monotonic() // _MINUTE)
        minutes = self._minutes
        if not minutes or minutes[-1].index != index:
            minutes.append(_Minute(index))
            oldest = index - int(WINDOW // _MINUTE)
            while minutes[0].index < oldest:
                minutes.popleft()
        return minutes[-1]

    def _bounded(self, route: str) -> str:
        if route in self.route_hits or len(self.route_hits) < self.max_routes:
            return route
        return OTHER_ROUTE

    def _count(self, route: str, thread: int | None) -> None:
        with self._lock:
            route = self._bounded(route)
            self.route_hits[route] = self.route_hits.get(route, 0) + 1
            minute = self._minute()
            minute.hits += 1
            minute.routes[route] += 1
            self._last_route[thread or 0] = route

    def _count_global(self, thread: int | None, retry_after: float | None) -> None:
        with self._lock:
            route = self._last_route.pop(thread or 0, OTHER_ROUTE)
            self.global_hits[route] = self.global_hits.get(route, 0) + 1
            minute = self._minute()
            minute.global_hits += 1
            minute.global_routes[route] += 1
            self.last_global_at = self.clock.time()
            in_window = self._window_totals()[1]
        if self.events is not None:
            wait = f"{retry_after:.2f} s" if retry_after is not None else "unknown"
            self.events.emit(
                VitalEvent(
                    "global_rate_limit",
                    "Global rate limit hit",
                    detail=(
                        f"Discord answered {route} with a global 429: every request of the bot "
                        f"waits {wait} before going out."
                    ),
                    fields={
                        "route": route,
                        "retry after": wait,
                        "global 429s in the last hour": str(in_window),
                    },
                    severity="warning",
                    at=self.last_global_at,
                )
            )

    def _window_totals(self) -> tuple[int, int]:
        oldest = int(self.clock.monotonic() // _MINUTE) - int(WINDOW // _MINUTE)
        hits = global_hits = 0
        for minute in self._minutes:
            if minute.index >= oldest:
                hits += minute.hits
                global_hits += minute.global_hits
        return hits, global_hits

    # -- reading ----------------------------------------------------------------------------------

    def health_section(self) -> dict[str, Any]:
        """``{"status", "hits_1h", "global_hits_1h", "top_routes", "last_global_at"}``.

        The last hour counts from the start of the minute it falls in. ``status``: ``warning``
        after a global 429 in the last hour or ``warning_hits`` 429s in it, else ``healthy``.
        ``top_routes``: the routes with most 429s in the last hour, ``{"route", "hits",
        "global_hits"}``, most first.
        """
        self.refresh()
        with self._lock:
            oldest = int(self.clock.monotonic() // _MINUTE) - int(WINDOW // _MINUTE)
            hits = global_hits = 0
            routes: Counter[str] = Counter()
            global_routes: Counter[str] = Counter()
            for minute in self._minutes:
                if minute.index >= oldest:
                    hits += minute.hits
                    global_hits += minute.global_hits
                    routes.update(minute.routes)
                    global_routes.update(minute.global_routes)
            last_global = self.last_global_at
        warn = global_hits > 0 or (self.warning_hits > 0 and hits >= self.warning_hits)
        top = sorted(routes.items(), key=lambda item: (-item[1], item[0]))[:TOP_ROUTES]
        return {
            "status": "warning" if warn else "healthy",
            "hits_1h": hits,
            "global_hits_1h": global_hits,
            "top_routes": [
                {"route": route, "hits": count, "global_hits": global_routes.get(route, 0)}
                for route, count in top
            ],
            "last_global_at": None if last_global is None else _iso(last_global),
        }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
