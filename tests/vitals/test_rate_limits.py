"""Rate limits: discord.py's real HTTP client against a loopback server answering 429 as Discord.

The monitor reads discord.py's own log records (nothing of discord.py is patched: only
``Route.BASE`` points the real client at the loopback server). Each logging set-up a bot may have
(plain, discord silenced, the warnings filtered out, no propagation, ``dictConfig``) is run with
and without the monitor: it counts every 429 either way, and the bot's own output is the same.
"""

from __future__ import annotations

import logging
import logging.config
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import discord
import pytest
from discord.http import HTTPClient, Route
from loopback_servers import DiscordApi, rate_limited

from monitoring_cog import ManualClock
from monitoring_cog.vitals.events import VitalEvent, VitalEvents
from monitoring_cog.vitals.rate_limits import (
    OTHER_ROUTE,
    WEBHOOK_ROUTE,
    RateLimitMonitor,
)
from monitoring_cog.vitals.routes import route_template

CHANNEL = 111111111111111111
OTHER_CHANNEL = 222222222222222222
GUILD, MEMBER = 333333333333333333, 444444444444444444
WAIT = 0.05
"""Seconds discord.py is asked to wait after each 429: tiny, so the tests stay quick."""
LOGGERS = ("", "discord", "discord.http", "discord.webhook.async_")


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def logging_state() -> Iterator[None]:
    """Each test may reconfigure logging as a bot would: everything is put back afterwards.

    ``dictConfig`` disables every logger that exists, the library's own included: each is
    enabled again. The root logger's handlers are pytest's: only those a test added go.
    """
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate, [*logger.filters]))
    discord_handlers = {name: [*logging.getLogger(name).handlers] for name in LOGGERS if name}
    disabled = {
        name: logger.disabled
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    for logger, level, propagate, filters in saved:
        logger.setLevel(level)
        logger.propagate = propagate
        logger.filters[:] = filters
    for name, handlers in discord_handlers.items():
        logging.getLogger(name).handlers[:] = handlers
    for handler in [h for h in logging.root.handlers if isinstance(h, BotOutput)]:
        logging.root.removeHandler(handler)
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.disabled = disabled.get(name, False)


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordApi]:
    server = DiscordApi()
    await server.start()
    monkeypatch.setattr(Route, "BASE", server.base)
    yield server
    await server.stop()


@pytest.fixture
async def http(api: DiscordApi) -> AsyncIterator[HTTPClient]:
    """discord.py's own HTTP client, logged in against the loopback API."""
    import asyncio

    client = HTTPClient(asyncio.get_running_loop())
    await client.static_login("not-a-real-token")
    yield client
    await client.close()


@pytest.fixture
def events() -> tuple[VitalEvents, list[VitalEvent]]:
    vital = VitalEvents()
    seen: list[VitalEvent] = []
    vital.subscribe(seen.append)
    return vital, seen


async def send(http: HTTPClient, channel: int = CHANNEL) -> Any:
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel)
    return await http.request(route, json={"content": "hello"})


class BotOutput(logging.Handler):
    """What the bot's own logging prints (a handler it set up), as messages."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("discord"):
            self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


# -- counting ----------------------------------------------------------------------------------


async def test_429s_are_counted_per_route_template_and_a_global_one_is_told_at_once(
    api: DiscordApi, http: HTTPClient, clock: ManualClock, events: Any
) -> None:
    vital, seen = events
    monitor = RateLimitMonitor(events=vital, clock=clock)
    monitor.attach()
    try:
        api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT), rate_limited(WAIT))
        api.plan(f"/channels/{OTHER_CHANNEL}/messages", rate_limited(WAIT, is_global=True))
        api.plan(f"/guilds/{GUILD}/members/{MEMBER}", rate_limited(WAIT))

        assert (await send(http))["path"] == f"/channels/{CHANNEL}/messages"
        assert (await send(http, OTHER_CHANNEL))["path"] == f"/channels/{OTHER_CHANNEL}/messages"
        member = Route(
            "PATCH", "/guilds/{guild_id}/members/{user_id}", guild_id=GUILD, user_id=MEMBER
        )
        await http.request(member, json={"nick": "x"})
    finally:
        monitor.detach()

    # The real client got each 429 and retried until the 200.
    assert [status for _, _, status in api.requests[1:]] == [429, 429, 200, 429, 200, 429, 200]
    assert monitor.health_section() == {
        "status": "warning",  # A global rate limit in the last hour.
        "hits_1h": 4,
        "global_hits_1h": 1,
        "top_routes": [
            {"route": "POST /channels/{id}/messages", "hits": 3, "global_hits": 1},
            {"route": "PATCH /guilds/{id}/members/{id}", "hits": 1, "global_hits": 0},
        ],
        "last_global_at": datetime.fromtimestamp(clock.time(), UTC).isoformat(),
    }
    assert monitor.route_hits == {
        "POST /channels/{id}/messages": 3,
        "PATCH /guilds/{id}/members/{id}": 1,
    }
    assert monitor.global_hits == {"POST /channels/{id}/messages": 1}
    (event,) = seen
    assert event.kind == "global_rate_limit"
    assert event.severity == "warning"
    assert event.fields == {
        "route": "POST /channels/{id}/messages",
        "retry after": "0.05 s",
        "global 429s in the last hour": "1",
    }
    assert event.at == clock.time()


async def test_the_last_hour_moves_on_and_the_status_recovers(
    api: DiscordApi, http: HTTPClient, clock: ManualClock
) -> None:
    monitor = RateLimitMonitor(clock=clock)
    monitor.attach()
    try:
        api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT, is_global=True))
        await send(http)
        clock.advance(30 * 60)
        api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT))
        await send(http)

        half_way = monitor.health_section()
        assert (half_way["status"], half_way["hits_1h"], half_way["global_hits_1h"]) == (
            "warning",
            2,
            1,
        )
        clock.advance(31 * 60 + 60)  # The global one is over an hour (and a minute) old.
        later = monitor.health_section()
        assert (later["status"], later["hits_1h"], later["global_hits_1h"]) == ("healthy", 1, 0)
        clock.advance(3600 + 60)
        assert monitor.health_section()["top_routes"] == []
        assert monitor.health_section()["hits_1h"] == 0
        # The totals since start (what /metrics exports) stay.
        assert monitor.route_hits == {"POST /channels/{id}/messages": 2}
    finally:
        monitor.detach()


@pytest.mark.parametrize(
    ("warning_hits", "status"), [(2, "warning"), (3, "healthy"), (0, "healthy")]
)
async def test_many_route_429s_warn_from_the_configured_count(
    api: DiscordApi, http: HTTPClient, clock: ManualClock, warning_hits: int, status: str
) -> None:
    monitor = RateLimitMonitor(clock=clock, warning_hits=warning_hits)
    monitor.attach()
    try:
        api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT), rate_limited(WAIT))
        await send(http)
    finally:
        monitor.detach()
    assert monitor.health_section()["status"] == status


async def test_interaction_and_webhook_429s_from_discord_pys_webhook_adapter_count(
    api: DiscordApi, clock: ManualClock
) -> None:
    monitor = RateLimitMonitor(clock=clock)
    monitor.attach()
    token = "interaction-token_abcdefghijklmnopqrstuvwxyz0123456789"
    api.plan(f"/webhooks/{CHANNEL}/{token}", rate_limited(WAIT))
    try:
        async with aiohttp.ClientSession() as session:
            webhook = discord.Webhook.partial(CHANNEL, token, session=session)
            await webhook.send("hello")
    finally:
        monitor.detach()
    assert [status for _, _, status in api.requests] == [429, 200]
    assert monitor.route_hits == {WEBHOOK_ROUTE: 1}
    assert token not in str(monitor.health_section())


async def test_routes_past_the_bound_are_counted_under_other(
    api: DiscordApi, http: HTTPClient, clock: ManualClock
) -> None:
    monitor = RateLimitMonitor(clock=clock, max_routes=1)
    monitor.attach()
    try:
        api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT))
        api.plan(f"/guilds/{GUILD}/members/{MEMBER}", rate_limited(WAIT))
        api.plan(f"/channels/{CHANNEL}/typing", rate_limited(WAIT))
        await send(http)
        member = Route(
            "PATCH", "/guilds/{guild_id}/members/{user_id}", guild_id=GUILD, user_id=MEMBER
        )
        await http.request(member, json={})
        await http.request(Route("POST", "/channels/{channel_id}/typing", channel_id=CHANNEL))
    finally:
        monitor.detach()
    assert monitor.route_hits == {"POST /channels/{id}/messages": 1, OTHER_ROUTE: 2}


async def test_nothing_is_counted_before_attach_or_after_detach(
    api: DiscordApi, http: HTTPClient, clock: ManualClock
) -> None:
    monitor = RateLimitMonitor(clock=clock)
    api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT))
    await send(http)
    monitor.attach()
    monitor.attach()  # Twice: still counted once.
    api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT))
    await send(http)
    monitor.detach()
    api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT))
    await send(http)
    assert monitor.route_hits == {"POST /channels/{id}/messages": 1}
    assert not monitor.attached


async def test_two_monitors_share_the_logs_and_one_leaving_leaves_the_other_counting(
    api: DiscordApi, http: HTTPClient, clock: ManualClock
) -> None:
    logging.getLogger("discord").setLevel(logging.ERROR)  # Records the bot hides: a gate.
    first, second = RateLimitMonitor(clock=clock), RateLimitMonitor(clock=clock)
    first.attach()
    second.attach()
    api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT))
    await send(http)
    first.detach()
    api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT))
    await send(http)
    second.detach()
    assert first.route_hits == {"POST /channels/{id}/messages": 1}
    assert second.route_hits == {"POST /channels/{id}/messages": 2}
    assert logging.getLogger("discord.http").filters == []


# -- whatever the bot's logging set-up, the same output ---------------------------------------


def plain(output: BotOutput) -> None:
    logging.getLogger().addHandler(output)


def discord_silenced(output: BotOutput) -> None:
    logging.getLogger().addHandler(output)
    logging.getLogger("discord").setLevel(logging.ERROR)


def warnings_filtered_out(output: BotOutput) -> None:
    logging.getLogger().addHandler(output)
    logging.getLogger("discord.http").addFilter(lambda r: "rate limited" not in r.getMessage())


def not_propagated(output: BotOutput) -> None:
    logging.getLogger().addHandler(output)
    logging.getLogger("discord").propagate = False


def dict_config(output: BotOutput) -> None:
    # disable_existing_loggers defaults to true: discord.http, imported already, is disabled.
    logging.config.dictConfig(
        {"version": 1, "handlers": {"bot": {"()": lambda: output}}, "root": {"handlers": ["bot"]}}
    )


def debug_everything(output: BotOutput) -> None:
    logging.getLogger().addHandler(output)
    logging.getLogger("discord").setLevel(logging.DEBUG)


SET_UPS: dict[str, tuple[Callable[[BotOutput], None], int]] = {
    # set-up: (how the bot configures logging, lines it prints for one 429 on its own)
    "plain": (plain, 1),
    "discord silenced": (discord_silenced, 0),
    "warnings filtered out": (warnings_filtered_out, 0),
    "not propagated": (not_propagated, 0),
    "dictConfig": (dict_config, 0),
    "debug": (debug_everything, 0),  # Checked below: many lines, the same ones either way.
}


async def one_429(api: DiscordApi, http: HTTPClient) -> None:
    api.plan(f"/channels/{CHANNEL}/messages", rate_limited(WAIT))
    await send(http)


@pytest.mark.parametrize("set_up", list(SET_UPS))
async def test_every_logging_set_up_is_counted_and_prints_what_it_printed(
    api: DiscordApi,
    http: HTTPClient,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    set_up: str,
) -> None:
    configure, lines_alone = SET_UPS[set_up]
    output = BotOutput()
    configure(output)
    http_logger = logging.getLogger("discord.http")
    before = (http_logger.level, http_logger.disabled, [*http_logger.filters])

    async def a_429() -> tuple[list[str], str]:
        output.lines.clear()
        capsys.readouterr()
        await one_429(api, http)
        lines = [*output.lines]
        output.lines.clear()
        return lines, capsys.readouterr().err

    # discord.py learns the route's bucket from a first 429, so both runs below start alike
    # (discord.py 2.3 logs a "sub-ratelimit" line for a 429 once the bucket is known).
    await send(http)
    await a_429()
    alone, stderr_alone = await a_429()  # The bot on its own.
    monitor = RateLimitMonitor(clock=clock)
    monitor.attach()
    try:
        monitored, stderr_monitored = await a_429()  # The same, monitored.
    finally:
        monitor.detach()

    assert monitor.route_hits == {"POST /channels/{id}/messages": 1}
    assert monitored == alone
    assert stderr_monitored == stderr_alone
    if set_up == "debug":
        assert any("responded with 429" in line for line in alone)
        assert any("has returned 429" in line for line in alone)  # A debug line, still shown.
    else:
        assert len([line for line in alone if "429" in line]) == lines_alone
    # Detached: the logger is as the bot left it.
    assert (http_logger.level, http_logger.disabled, [*http_logger.filters]) == before


async def test_the_bot_changing_its_logging_later_is_followed_at_the_next_check(
    api: DiscordApi, http: HTTPClient, clock: ManualClock
) -> None:
    output = BotOutput()
    plain(output)
    monitor = RateLimitMonitor(clock=clock)
    monitor.attach()
    try:
        await one_429(api, http)
        assert len(output.lines) == 1
        # Later, the bot quietens discord.py and then configures logging anew.
        logging.getLogger("discord").setLevel(logging.CRITICAL)
        monitor.health_section()  # A health check re-applies the tap.
        await one_429(api, http)
        logging.config.dictConfig({"version": 1, "root": {"handlers": []}})
        monitor.health_section()
        await one_429(api, http)
        # And then turns it all back up.
        logging.getLogger("discord.http").disabled = False
        logging.getLogger("discord").setLevel(logging.WARNING)
        logging.getLogger().addHandler(output)
    finally:
        monitor.detach()
    assert len(output.lines) == 1  # Only the first: the bot hid the others.
    assert monitor.route_hits == {"POST /channels/{id}/messages": 3}


# -- route templates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "template"),
    [
        (
            "POST",
            "https://discord.com/api/v10/channels/1234567/messages",
            "POST /channels/{id}/messages",
        ),
        ("GET", "https://discord.com/api/v10/users/@me/guilds?limit=200", "GET /users/@me/guilds"),
        (
            "PUT",
            "https://discord.com/api/v10/channels/12/messages/34/reactions/%F0%9F%91%8D/@me",
            "PUT /channels/{id}/messages/{id}/reactions/{emoji}/@me",
        ),
        (
            "POST",
            "https://discord.com/api/v10/interactions/987/aW50ZXJhY3Rpb246MTIz0/callback",
            "POST /interactions/{id}/{token}/callback",
        ),
        (
            "PATCH",
            "https://discord.com/api/v10/webhooks/55/tok_en-abc/messages/@original",
            "PATCH /webhooks/{id}/{token}/messages/@original",
        ),
        ("GET", "https://discord.com/api/v10/invites/discord-developers", "GET /invites/{code}"),
        (
            "GET",
            "https://discord.com/api/v10/guilds/templates/hgM48av5Q69A",
            "GET /guilds/templates/{code}",
        ),
        (
            "POST",
            "http://127.0.0.1:8080/api/v10/channels/9/messages/bulk-delete",
            "POST /channels/{id}/messages/bulk-delete",
        ),
        ("delete", "/guilds/1/bans/2", "DELETE /guilds/{id}/bans/{id}"),
        (
            "GET",
            "https://discord.com/api/v10/guilds/1/members/search?query=Alice",
            "GET /guilds/{id}/members/search",
        ),
        ("GET", "https://discord.com/api/v10/some/WeirdThing", "GET /some/{value}"),
    ],
)
def test_route_templates_keep_the_words_and_drop_ids_tokens_and_codes(
    method: str, url: str, template: str
) -> None:
    assert route_template(method, url) == template
