"""The overview's live updates: one health snapshot cached about a second, server-sent events.

However many tabs are open, the bot builds the ``/api/health`` body at most once per
:data:`SNAPSHOT_SECONDS`: :class:`Snapshot` keeps the encoded body, and callers arriving while it
is being rebuilt wait for that one build (never a second in parallel). Each open stream
(``GET /api/health/stream``) sends the current snapshot as an ``event: health`` every
:data:`STREAM_INTERVAL` seconds. Streams are bounded (``[dashboard] max_streams``): past the
bound a new one is refused with 503, and the page falls back to polling. Stopping the server
ends every stream at its next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

__all__ = ("SNAPSHOT_SECONDS", "STREAM_INTERVAL", "Snapshot", "Streams")

SNAPSHOT_SECONDS = 1.0
"""How long a built snapshot is served before the next caller rebuilds it."""
STREAM_INTERVAL = 1.0
"""Seconds between two events of a stream."""


class Snapshot:
    """The latest ``/api/health`` body, encoded, rebuilt at most once per ``max_age`` seconds.

    Parameters
    ----------
    build:
        Builds the body (a JSON-able dict).
    monotonic:
        A monotonic clock in seconds.
    """

    def __init__(
        self,
        build: Callable[[], Awaitable[dict[str, Any]]],
        monotonic: Callable[[], float],
        max_age: float = SNAPSHOT_SECONDS,
    ) -> None:
        self._build = build
        self._monotonic = monotonic
        self.max_age = max_age
        self._body: bytes | None = None
        self._built_at = -float("inf")
        self._building: asyncio.Future[bytes] | None = None
        self.builds = 0
        """How many times the body was built (what open tabs cost the bot)."""

    async def get(self) -> bytes:
        """The body as JSON bytes: the cached one if fresh, else a new one (one build at once)."""
        if self._body is not None and self._monotonic() - self._built_at < self.max_age:
            return self._body
        if self._building is None:
            self._building = asyncio.ensure_future(self._rebuild())
        building = self._building
        # Shielded: a tab that goes away must not cancel the build the others wait for.
        return await asyncio.shield(building)

    async def _rebuild(self) -> bytes:
        try:
            body = json.dumps(await self._build(), separators=(",", ":")).encode()
            self.builds += 1
            self._body, self._built_at = body, self._monotonic()
            return body
        finally:
            self._building = None


class Streams:
    """The open event streams: bounded, each sending the snapshot every ``interval`` seconds."""

    def __init__(self, snapshot: Snapshot, limit: int, interval: float = STREAM_INTERVAL) -> None:
        self.snapshot = snapshot
        self.limit = limit
        self.interval = interval
        self.open = 0
        """Streams being served now."""
        self._closing = asyncio.Event()

    def close(self) -> None:
        """End every stream at its next tick (the server is stopping)."""
        self._closing.set()

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/health/stream``: ``event: health`` with the snapshot, every interval."""
        if self.open >= self.limit:
            return web.json_response(
                {"error": f"too many live streams open (at most {self.limit}); poll /api/health"},
                status=503,
                headers={"Retry-After": "5"},
            )
        self.open += 1
        try:
            response = web.StreamResponse(
                headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
            )
            await response.prepare(request)
            # The browser reconnects after this many ms if the stream drops.
            await response.write(b"retry: 5000\n\n")
            while not self._closing.is_set():
                body = await self.snapshot.get()
                await response.write(b"event: health\ndata: " + body + b"\n\n")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self.interval)
            return response
        finally:
            self.open -= 1
