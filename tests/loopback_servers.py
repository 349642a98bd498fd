"""Discord's REST API and a Discord webhook, served on loopback by aiohttp, for real HTTP clients.

:class:`DiscordApi` answers like Discord: a planned number of 429s on a path (with Discord's
headers: ``Via``, ``Retry-After``, ``X-RateLimit-*``, ``X-RateLimit-Global``,
``X-RateLimit-Scope``, and the JSON body discord.py reads ``retry_after`` and ``global`` from),
then 200. discord.py's own ``HTTPClient`` is pointed at it through ``Route.BASE``.

:class:`WebhookEndpoint` receives webhook posts and answers them as planned (204 by default, or
429s, 5xx, 404, or no answer in time), keeping every JSON body it was sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

WEBHOOK_ID = "112233445566778899"
WEBHOOK_TOKEN = "s3cr3t-T0ken_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQR"
HANG_GUARD = 20.0
"""Seconds a wait for something asynchronous may take before the test fails (a hang guard, not a
timing assertion)."""


async def until(predicate: Callable[[], bool], what: str, limit: float = HANG_GUARD) -> None:
    """Wait until ``predicate()`` holds; fail the test if it does not within ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting, after {limit} s, for {what}")
        await asyncio.sleep(0.01)


@dataclass
class Reply:
    """One planned answer."""

    status: int = 204
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (longer than the client's timeout: no answer in time)."""


class _Server:
    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError


async def _answer(reply: Reply) -> web.Response:
    if reply.delay:
        await asyncio.sleep(reply.delay)
    if reply.body is None:
        return web.Response(status=reply.status, headers=reply.headers)
    text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
    # Exactly "application/json", as Discord sends it: discord.py compares the header whole.
    content_type = "text/plain" if isinstance(reply.body, str) else "application/json"
    headers = {**reply.headers, "Content-Type": content_type}
    return web.Response(status=reply.status, body=text.encode(), headers=headers)


def rate_limited(retry_after: float, *, is_global: bool = False, bucket: str = "b7c1") -> Reply:
    """A 429 as Discord sends it (behind its Google front end, hence ``Via``)."""
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, round(retry_after))),
        "X-RateLimit-Scope": "global" if is_global else "user",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    else:
        headers.update(
            {
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": bucket,
            }
        )
    body = {"message": "You are being rate limited.", "retry_after": retry_after}
    body["global"] = is_global
    return Reply(429, body, headers)


class DiscordApi(_Server):
    """Discord's REST API on loopback: ``/api/v10/...``; 429s as planned per path, then 200."""

    def __init__(self) -> None:
        super().__init__()
        self.plans: dict[str, deque[Reply]] = {}
        self.requests: list[tuple[str, str, int]] = []
        """(method, path, status answered), in order."""

    @property
    def base(self) -> str:
        """What discord.py's ``Route.BASE`` is set to."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    def plan(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` (below ``/api/v10``) with ``replies`` first."""
        self.plans.setdefault(path, deque()).extend(replies)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/api/v10")
        planned = self.plans.get(path)
        if planned:
            reply = planned.popleft()
        elif path == "/users/@me":
            user = {"id": "4242", "username": "bot", "discriminator": "0", "avatar": None}
            reply = Reply(200, user)
        else:
            reply = Reply(
                200,
                {"id": "1", "path": path},
                {
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "4",
                    "X-RateLimit-Reset-After": "1.000",
                    "X-RateLimit-Bucket": "b7c1",
                },
            )
        self.requests.append((request.method, path, reply.status))
        return await _answer(reply)


class WebhookEndpoint(_Server):
    """A webhook on loopback: keeps each JSON body posted; answers as planned, else 204."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: deque[Reply] = deque()
        self.received: list[dict[str, Any]] = []
        """Bodies of the posts answered 2xx, in order."""
        self.attempts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"

    def embeds(self) -> list[dict[str, Any]]:
        """The embed of each message received."""
        return [body["embeds"][0] for body in self.received]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.attempts += 1
        if request.path != f"/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}":
            return web.Response(status=404)
        body = await request.json()
        reply = self.replies.popleft() if self.replies else Reply()
        if 200 <= reply.status < 300:
            self.received.append(body)
        return await _answer(reply)
