"""Webhook alerts: posted over real HTTP to a webhook endpoint on loopback.

What the endpoint receives is checked (the embed's shape, one message per kind per interval, the
latest of a burst last, counting the others), and what goes wrong (429s, 5xx, a 404, no answer in
time, a full queue, closing while the endpoint hangs) is counted and logged without the URL's
token, never raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from loopback_servers import HANG_GUARD, WEBHOOK_TOKEN, Reply, WebhookEndpoint, until

from monitoring_cog.errors import ErrorCounter
from monitoring_cog.vitals.events import VitalEvent, VitalEvents
from monitoring_cog.vitals.kind_limiter import KindLimiter, Release
from monitoring_cog.vitals.webhook import WebhookAlerts
from monitoring_cog.vitals.webhook_payload import SEVERITY_COLOURS, TOTAL_LIMIT, webhook_payload

STALL = VitalEvent(
    "stall_critical",
    "Event loop blocked for 6.2 s",
    detail="`!report` blocked the loop at bot/cogs/report.py:88 in build()",
    fields={"command": "report", "location": "bot/cogs/report.py:88"},
    severity="critical",
    at=1_773_576_000.0,  # 2026-03-15 12:00:00 UTC
)


def global_limit(n: int) -> VitalEvent:
    return VitalEvent("global_rate_limit", f"Global rate limit hit ({n})", severity="warning")


@pytest.fixture
async def endpoint() -> AsyncIterator[WebhookEndpoint]:
    server = WebhookEndpoint()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_alerts(endpoint: WebhookEndpoint) -> AsyncIterator[type[WebhookAlerts]]:
    """``WebhookAlerts`` for the endpoint, started; every one made is closed at the end."""
    made: list[WebhookAlerts] = []

    def make(**kwargs: object) -> WebhookAlerts:
        settings: dict[str, object] = {"source": "test-host pid 1", **kwargs}
        alerts = WebhookAlerts(endpoint.url, **settings)  # type: ignore[arg-type]
        made.append(alerts)
        return alerts

    yield make  # type: ignore[misc]
    for alerts in made:
        await alerts.close(within=1.0)


# -- what is posted ----------------------------------------------------------------------------


async def test_an_event_is_posted_as_one_embed(
    endpoint: WebhookEndpoint, make_alerts: type[WebhookAlerts]
) -> None:
    alerts = make_alerts()
    await alerts.start()
    events = VitalEvents()
    events.subscribe(alerts)

    events.emit(STALL)
    await until(lambda: alerts.posted == 1, "the post")

    (body,) = endpoint.received
    assert body == {
        "username": "monitoring_cog",
        "allowed_mentions": {"parse": []},
        "embeds": [
            {
                "title": "🔴 Event loop blocked for 6.2 s",
                "description": "`!report` blocked the loop at bot/cogs/report.py:88 in build()",
                "color": SEVERITY_COLOURS["critical"],
                "timestamp": "2026-03-15T12:00:00+00:00",
                "footer": {"text": "stall_critical · test-host pid 1"},
                "fields": [
                    {"name": "command", "value": "report", "inline": True},
                    {"name": "location", "value": "bot/cogs/report.py:88", "inline": True},
                ],
            }
        ],
    }
    assert alerts.stats() == {
        "posted": 1,
        "failed": 0,
        "dropped": 0,
        "retried": 0,
        "held": 0,
        "queued": 0,
        "last_error": None,
    }


def test_an_oversized_event_fits_discords_limits() -> None:
    huge = VitalEvent(
        "new_error",
        "T" * 1000,
        detail="D" * 10_000,
        fields={f"field {i}" + "n" * 300: "v" * 2000 for i in range(40)},
    )
    (embed,) = webhook_payload(huge, held=3, min_interval=60)["embeds"]
    assert len(embed["title"]) == 256
    assert len(embed["description"]) == 4096
    assert len(embed["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed["fields"])
    total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= TOTAL_LIMIT
    assert embed["fields"]  # Some fields still fit.


# -- rate limited per kind ---------------------------------------------------------------------


def test_the_limiter_holds_a_burst_and_releases_the_latest_counting_the_others() -> None:
    limiter = KindLimiter(min_interval=60.0)
    assert limiter.offer(global_limit(1), 0.0) == Release(global_limit(1), 0)
    assert limiter.offer(STALL, 1.0) == Release(STALL, 0)  # Another kind: not held back.
    for n, at in ((2, 10.0), (3, 20.0), (4, 30.0)):
        assert limiter.offer(global_limit(n), at) is None
    assert (limiter.held, limiter.held_total, limiter.next_due()) == (3, 3, 60.0)
    assert limiter.due(59.9) == []
    assert limiter.due(60.0) == [Release(global_limit(4), 2)]
    assert limiter.next_due() is None
    # The interval now runs from that release.
    assert limiter.offer(global_limit(5), 100.0) is None
    assert limiter.offer(global_limit(6), 125.0) == Release(global_limit(6), 1)
    assert limiter.drain() == []
    with pytest.raises(ValueError, match="min_interval > 0"):
        KindLimiter(0.0)


async def test_a_burst_of_one_kind_is_two_messages_and_other_kinds_go_through(
    endpoint: WebhookEndpoint, make_alerts: type[WebhookAlerts]
) -> None:
    alerts = make_alerts(min_interval=0.3)
    await alerts.start()

    for n in range(1, 6):
        alerts(global_limit(n))
    alerts(STALL)
    await until(lambda: alerts.posted == 3, "the first of each kind and the held one")

    titles = [embed["title"] for embed in endpoint.embeds()]
    assert titles == [
        "🟠 Global rate limit hit (1)",
        "🔴 Event loop blocked for 6.2 s",
        "🟠 Global rate limit hit (5)",  # The latest, once the interval passed.
    ]
    assert endpoint.embeds()[2]["description"] == (
        "3 more global_rate_limit alert(s) since the previous message, held back by the alert "
        "rate limit (at most one per 0.3 s: `alerts.min_interval`); this is the latest."
    )
    assert "description" not in endpoint.embeds()[0]
    assert (alerts.held, alerts.dropped, alerts.failed) == (4, 0, 0)


# -- failures: counted, logged without the token, never raised ----------------------------------


async def test_a_429_is_waited_out_and_retried(
    endpoint: WebhookEndpoint, make_alerts: type[WebhookAlerts]
) -> None:
    endpoint.replies.extend(
        [
            Reply(
                429,
                {"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
            )
        ]
    )
    alerts = make_alerts()
    await alerts.start()
    alerts(STALL)
    await until(lambda: alerts.posted == 1, "the retried post")
    assert (endpoint.attempts, alerts.retried, alerts.failed) == (2, 1, 0)


async def test_server_errors_are_retried_then_given_up_counted_and_logged_without_the_token(
    endpoint: WebhookEndpoint, make_alerts: type[WebhookAlerts], caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.replies.extend([Reply(502), Reply(503), Reply(500)])
    errors = ErrorCounter()
    alerts = make_alerts(retries=2, errors=errors)
    await alerts.start()

    with caplog.at_level(logging.INFO, logger="monitoring_cog"):
        alerts(STALL)
        await until(lambda: alerts.failed == 1, "the failure")

    assert (endpoint.attempts, alerts.retried, alerts.posted) == (3, 2, 0)
    assert alerts.last_error == "HTTP 500"
    assert errors.by_operation == {"WebhookAlerts.post": 1}
    assert errors.last_error == (
        "WebhookAlerts.post: WebhookDeliveryError: stall_critical: HTTP 500"
    )
    assert "could not post a 'stall_critical' alert to the webhook" in caplog.text
    assert alerts.display_url in caplog.text
    assert WEBHOOK_TOKEN not in caplog.text


async def test_a_refused_post_is_not_retried_and_the_answer_is_scrubbed(
    endpoint: WebhookEndpoint, make_alerts: type[WebhookAlerts], caplog: pytest.LogCaptureFixture
) -> None:
    # An answer that repeats the URL (a proxy's error page, say) must not leak it into logs.
    endpoint.replies.append(Reply(404, f"no webhook at {endpoint.url}"))
    alerts = make_alerts()
    await alerts.start()
    alerts(STALL)
    await until(lambda: alerts.failed == 1, "the failure")
    assert (endpoint.attempts, alerts.retried) == (1, 0)
    assert alerts.last_error == f"HTTP 404: no webhook at {alerts.display_url}"
    assert WEBHOOK_TOKEN not in caplog.text
    assert WEBHOOK_TOKEN not in repr(alerts)


async def test_no_answer_in_time_is_a_counted_failure_and_taking_events_never_waits(
    endpoint: WebhookEndpoint, make_alerts: type[WebhookAlerts], caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.replies.extend([Reply(delay=5.0), Reply(delay=5.0)])
    alerts = make_alerts(timeout=0.2, retries=1)
    await alerts.start()

    alerts(STALL)  # Returns at once: the post happens in the worker task.
    assert alerts.stats()["queued"] == 1

    await until(lambda: alerts.failed == 1, "the timeout")
    assert (alerts.retried, alerts.posted) == (1, 0)
    assert alerts.last_error == "no answer within 0.2 s"
    assert WEBHOOK_TOKEN not in caplog.text


async def test_an_endpoint_that_is_gone_is_a_counted_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = WebhookEndpoint()
    await gone.start()
    url = gone.url
    await gone.stop()  # Nothing listens on that port any more.
    alerts = WebhookAlerts(url, retries=1)
    await alerts.start()
    try:
        alerts(STALL)
        await until(lambda: alerts.failed == 1, "the failure")
    finally:
        await alerts.close(within=1.0)
    assert alerts.last_error is not None and "ClientConnectorError" in alerts.last_error
    assert WEBHOOK_TOKEN not in alerts.last_error
    assert WEBHOOK_TOKEN not in caplog.text


async def test_past_the_queue_bound_events_are_dropped_and_counted(
    endpoint: WebhookEndpoint, make_alerts: type[WebhookAlerts]
) -> None:
    endpoint.replies.append(Reply(delay=2.0))  # The first post hangs a while.
    alerts = make_alerts(queue_size=2, timeout=5.0)
    await alerts.start()
    kinds = [VitalEvent(f"kind_{n}", f"event {n}") for n in range(5)]

    alerts(kinds[0])
    await until(lambda: endpoint.attempts == 1, "the first post to start")
    for event in kinds[1:]:
        alerts(event)

    assert alerts.dropped == 2  # Two wait, two more do not fit.
    await until(lambda: alerts.posted == 3, "the rest")
    assert [e["title"] for e in endpoint.embeds()] == ["🔴 event 0", "🔴 event 1", "🔴 event 2"]


async def test_events_before_start_or_after_close_are_dropped_not_raised(
    endpoint: WebhookEndpoint,
) -> None:
    alerts = WebhookAlerts(endpoint.url)
    alerts(STALL)
    await alerts.start()
    await alerts.close(within=1.0)
    alerts(STALL)
    assert (alerts.dropped, alerts.posted) == (2, 0)
    assert endpoint.attempts == 0


async def test_events_from_another_thread_are_taken_on_the_loop(
    endpoint: WebhookEndpoint, make_alerts: type[WebhookAlerts]
) -> None:
    alerts = make_alerts()
    await alerts.start()
    await asyncio.to_thread(alerts, STALL)
    await until(lambda: alerts.posted == 1, "the post")


# -- closing -----------------------------------------------------------------------------------


async def test_close_posts_what_is_queued_and_held(
    endpoint: WebhookEndpoint, make_alerts: type[WebhookAlerts]
) -> None:
    alerts = make_alerts(min_interval=3600.0)
    await alerts.start()
    alerts(global_limit(1))
    alerts(global_limit(2))
    alerts(global_limit(3))  # Held: the interval is an hour.

    await asyncio.wait_for(alerts.close(within=5.0), HANG_GUARD)

    assert [e["title"] for e in endpoint.embeds()] == [
        "🟠 Global rate limit hit (1)",
        "🟠 Global rate limit hit (3)",
    ]
    assert endpoint.embeds()[1]["description"].startswith("1 more global_rate_limit alert(s)")
    assert (alerts.posted, alerts.dropped) == (2, 0)
    assert not alerts.running


async def test_close_within_its_time_drops_what_a_hanging_endpoint_keeps(
    endpoint: WebhookEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.replies.extend([Reply(delay=30.0)] * 3)
    alerts = WebhookAlerts(endpoint.url, timeout=30.0)
    await alerts.start()
    alerts(STALL)
    alerts(global_limit(1))
    await until(lambda: endpoint.attempts == 1, "the first post to start")

    # A hang guard, not a timing check: close must come back (it is given 0.3 s).
    await asyncio.wait_for(alerts.close(within=0.3), HANG_GUARD)

    assert (alerts.posted, alerts.dropped) == (0, 2)
    assert "closing: 2 alert(s) not posted to the webhook" in caplog.text
    assert WEBHOOK_TOKEN not in caplog.text
    await alerts.close(within=0.3)  # Twice: nothing more happens.
    assert alerts.dropped == 2


def test_a_url_that_is_not_accepted_is_refused_without_showing_its_token() -> None:
    with pytest.raises(ValueError, match="expected an https:// URL") as raised:
        WebhookAlerts(f"http://example.com/api/webhooks/1/{WEBHOOK_TOKEN}")
    assert WEBHOOK_TOKEN not in str(raised.value)
