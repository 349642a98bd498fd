"""A local stand-in for Discord's gateway (and the one REST call a login makes), on loopback.

discord.py connects to it as to Discord: HELLO, IDENTIFY or RESUME, READY with the shard's
guilds (each then sent as a GUILD_CREATE), heartbeats acknowledged, RESUMED. Everything the bot
then does (its shards, heartbeat latencies, disconnects, resumes, guilds joined and left) is
discord.py's own handling of real gateway payloads. The test drives it: :meth:`drop` closes a
shard's connection as Discord does when it wants a reconnect (close code 4000: discord.py
resumes), :meth:`hold` leaves the next RESUME of a shard unanswered until :meth:`release`,
:meth:`join` and :meth:`leave` send GUILD_CREATE and GUILD_DELETE, and ``ack_delay`` delays each
heartbeat acknowledgement.

Point discord.py at it with :meth:`install` (its class attributes for Discord's addresses,
``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``, set through ``monkeypatch``), then
``await bot.http.static_login("token")`` and ``bot.connect()`` in a task.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
import yarl
from aiohttp import WSMsgType, web
from discord.gateway import DiscordWebSocket
from discord.http import Route

BOT_ID = 1_100_000_000_000_000_001
APPLICATION_ID = 1_100_000_000_000_000_002
HEARTBEAT_INTERVAL_MS = 45_000
"""Long: after the one discord.py sends at once, no other comes during a test."""
_SNOWFLAKES = itertools.count(1)


def guild_id_for(shard_id: int, shard_count: int) -> int:
    """A new guild id that Discord would route to ``shard_id`` of ``shard_count``."""
    while True:
        # Timestamp part in 2024 (epoch ms since Discord's 2015 epoch), a sequence below it.
        candidate = ((283_000_000_000 + next(_SNOWFLAKES)) << 22) | 1
        if (candidate >> 22) % shard_count == shard_id:
            return candidate


def guild_payload(guild_id: int, name: str, member_count: int) -> dict[str, Any]:
    """A GUILD_CREATE payload (the fields discord.py reads), without channels or members."""
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "splash": None,
        "owner_id": str(BOT_ID + 100),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [
            {
                "id": str(guild_id),
                "name": "@everyone",
                "permissions": "0",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            }
        ],
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "member_count": member_count,
        "large": False,
        "channels": [],
        "members": [],
        "voice_states": [],
        "presences": [],
        "threads": [],
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
    }


@dataclass
class _Session:
    shard_id: int
    shard_count: int
    sequence: int = 0


@dataclass
class FakeDiscord:
    """The gateway of a bot in ``guilds`` (id -> member count), routed to shards by id."""

    guilds: dict[int, int] = field(default_factory=dict)
    ack_delay: float = 0.0
    """Seconds each heartbeat acknowledgement waits: the latency discord.py measures."""
    identifies: int = 0
    resumes: int = 0
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _sockets: dict[int, tuple[web.WebSocketResponse, _Session]] = field(default_factory=dict)
    _held: set[int] = field(default_factory=set)
    _waiting: dict[int, tuple[web.WebSocketResponse, _Session]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._gateway)
        app.router.add_get("/api/v10/users/@me", self._me)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for ws, _ in list(self._sockets.values()) + list(self._waiting.values()):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point discord.py's REST base and default gateway here."""
        monkeypatch.setattr(Route, "BASE", f"{self.url}/api/v10")
        monkeypatch.setattr(
            DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.url.replace("http", "ws") + "/")
        )

    # -- control ------------------------------------------------------------------------------

    def connected_shards(self) -> list[int]:
        return sorted(shard for shard, (ws, _) in self._sockets.items() if not ws.closed)

    async def drop(self, shard_id: int, code: int = 4000) -> None:
        """Close the shard's connection as Discord does when it wants a reconnect."""
        ws, _ = self._sockets.pop(shard_id)
        await ws.close(code=code)

    def hold(self, shard_id: int) -> None:
        """Leave the shard's next RESUME unanswered (connected, but not resumed) for now."""
        self._held.add(shard_id)

    async def release(self, shard_id: int) -> None:
        """Answer the held RESUME: the shard resumes."""
        self._held.discard(shard_id)
        waiting = self._waiting.pop(shard_id, None)
        if waiting is not None:
            ws, session = waiting
            self._sockets[shard_id] = waiting
            await self._dispatch(ws, session, "RESUMED", {})

    async def join(self, guild_id: int, name: str, member_count: int) -> None:
        """The bot is added to a guild: GUILD_CREATE on the guild's shard."""
        self.guilds[guild_id] = member_count
        ws, session = self._shard_socket(guild_id)
        guild = guild_payload(guild_id, name, member_count)
        await self._dispatch(ws, session, "GUILD_CREATE", guild)

    async def leave(self, guild_id: int) -> None:
        """The bot is removed from a guild: GUILD_DELETE on the guild's shard."""
        del self.guilds[guild_id]
        ws, session = self._shard_socket(guild_id)
        await self._dispatch(ws, session, "GUILD_DELETE", {"id": str(guild_id)})

    async def send_event(self, shard_id: int, event: str, data: dict[str, Any]) -> None:
        """Any other gateway event, on a shard."""
        ws, session = self._sockets[shard_id]
        await self._dispatch(ws, session, event, data)

    def _shard_socket(self, guild_id: int) -> tuple[web.WebSocketResponse, _Session]:
        for ws, session in self._sockets.values():
            if (guild_id >> 22) % session.shard_count == session.shard_id:
                return ws, session
        raise AssertionError(f"no connected shard for guild {guild_id}")

    # -- the gateway --------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        return web.json_response(_user())

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}
        await ws.send_str(json.dumps(hello))
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            op, data = payload["op"], payload.get("d")
            if op == 1:  # HEARTBEAT
                if self.ack_delay:
                    await asyncio.sleep(self.ack_delay)
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:  # IDENTIFY
                await self._identify(ws, data)
            elif op == 6:  # RESUME
                session = self._sessions[data["session_id"]]
                self.resumes += 1
                if session.shard_id in self._held:
                    self._waiting[session.shard_id] = (ws, session)
                else:
                    self._sockets[session.shard_id] = (ws, session)
                    await self._dispatch(ws, session, "RESUMED", {})
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identifies += 1
        shard_id, shard_count = data.get("shard", [0, 1])
        session_id = secrets.token_hex(8)
        session = self._sessions[session_id] = _Session(shard_id, shard_count)
        self._sockets[shard_id] = (ws, session)
        mine = [g for g in self.guilds if (g >> 22) % shard_count == shard_id]
        ready: dict[str, Any] = {
            "v": 10,
            "user": _user(),
            "guilds": [{"id": str(g), "unavailable": True} for g in mine],
            "session_id": session_id,
            "resume_gateway_url": self.url.replace("http", "ws") + "/",
            "application": {"id": str(APPLICATION_ID), "flags": 0},
        }
        if "shard" in data:
            ready["shard"] = [shard_id, shard_count]
        await self._dispatch(ws, session, "READY", ready)
        for guild_id in mine:
            guild = guild_payload(guild_id, f"Guild {guild_id}", self.guilds[guild_id])
            guild["unavailable"] = False  # Lazy-loaded after READY, as Discord sends them.
            await self._dispatch(ws, session, "GUILD_CREATE", guild)

    async def _dispatch(
        self, ws: web.WebSocketResponse, session: _Session, event: str, data: dict[str, Any]
    ) -> None:
        session.sequence += 1
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": session.sequence, "d": data}))


def _user() -> dict[str, Any]:
    return {
        "id": str(BOT_ID),
        "username": "monitored",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": True,
        "flags": 0,
        "verified": True,
        "mfa_enabled": False,
    }


class QuickIdentify:
    """Mixed into a test bot: IDENTIFY without discord.py's default 5 s pause between shards
    (``before_identify_hook``, a public hook, exactly for controlling this)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


HANG_GUARD = 30.0
"""Seconds a wait on the fake Discord may take before the test fails (never a timing)."""


async def connect(bot: discord.Client) -> asyncio.Task[None]:
    """Log ``bot`` in to the fake Discord and connect it; return once it is ready."""
    await bot.http.static_login("a-token")
    task = asyncio.get_running_loop().create_task(bot.connect(reconnect=True))
    async with asyncio.timeout(HANG_GUARD):
        while not bot.is_ready():
            if task.done():
                task.result()  # Raises what stopped it.
            await asyncio.sleep(0.01)
    return task


async def wait_until(condition: Any) -> None:
    """Poll ``condition()`` until it is true (what discord.py did with a gateway payload)."""
    async with asyncio.timeout(HANG_GUARD):
        while not condition():  # noqa: ASYNC110  # discord.py's state, not an event of ours.
            await asyncio.sleep(0.01)
