"""``WebhookAlerts``: vital events posted to a Discord webhook, even while the gateway is down.

A subscriber of :class:`~monitoring_cog.vitals.events.VitalEvents`. Each event becomes one embed
(:func:`~monitoring_cog.vitals.webhook_payload.webhook_payload`) posted by a worker task with an
aiohttp session of its own, not discord.py's HTTP client: a bot that lost its gateway, or whose
client is rate limited, still gets its alerts out.

- **Never raises into the bot, never waits.** Taking an event is a dict lookup and a queue put;
  a failure is logged and counted (:attr:`failed`, and in the monitoring system's
  ``ErrorCounter`` when one is given), never raised.
- **No floods.** At most one message per kind per ``min_interval`` seconds
  (:class:`~monitoring_cog.vitals.kind_limiter.KindLimiter`): what comes within it is held, and
  the latest goes out once it has passed, saying how many it stands for. The queue is bounded:
  past ``queue_size`` waiting messages, new ones are dropped and counted.
- **Bounded attempts.** Each post may take ``timeout`` seconds; a 429 (waiting what Discord
  asks, up to ``timeout``), a 5xx or a network error is retried ``retries`` times.
- **The URL is a secret**: logs, errors and ``repr`` show it redacted
  (:func:`~monitoring_cog.config.webhooks.redact_webhook_url`); an exception's text is scrubbed
  of it before it is logged or counted.
- **Closing** (:meth:`close`) posts what is queued (and what the rate limit held) within the time
  it is given, then drops the rest, counted, and closes the session.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ..config.webhooks import redact_webhook_url, webhook_url_problem
from ..errors import ErrorCounter
from .events import VitalEvent
from .kind_limiter import KindLimiter, Release
from .webhook_payload import webhook_payload

__all__ = ("WebhookAlerts", "WebhookDeliveryError")

_log = logging.getLogger(__name__)

_USER_AGENT = "monitoring_cog (webhook alerts)"
_BACKOFF_FIRST = 0.5
"""Seconds before the first retry after a 5xx or a network error (doubled each time)."""
_SECRET_MIN_LENGTH = 16
"""A path segment or query value this long may be a token: it is scrubbed from logged text."""
_SESSION_CLOSE_SHARE = 0.1
"""Part of :meth:`WebhookAlerts.close`'s time kept for closing the session (a second at most)."""


class WebhookDeliveryError(Exception):
    """An alert could not be posted (what the ``ErrorCounter`` records; the URL never in it)."""


class WebhookAlerts:
    """Posts vital events to a webhook; subscribe it: ``events.subscribe(alerts)``.

    Parameters
    ----------
    url:
        The webhook (see :mod:`monitoring_cog.config.webhooks` for what is accepted: a loopback
        ``http://`` URL serves a local relay or a test). ``ValueError`` if it is not accepted.
    min_interval:
        Seconds at least between two messages of the same kind.
    timeout:
        Seconds one attempt may take.
    retries:
        Further attempts after a 429, a 5xx or a network error.
    queue_size:
        Messages waiting at most; past it new ones are dropped and counted.
    errors:
        Where failed deliveries are also counted (the health report's ``internal_errors``).
    source:
        Names this process in each message's footer; default ``"<host> pid <pid>"``.

    :meth:`start` inside the running event loop before events come; :meth:`close` at the end.
    """

    def __init__(
        self,
        url: str,
        *,
        min_interval: float = 60.0,
        timeout: float = 10.0,
        retries: int = 2,
        queue_size: int = 100,
        errors: ErrorCounter | None = None,
        source: str | None = None,
    ) -> None:
        url = url.strip()
        problem = webhook_url_problem(url)
        if problem is not None:
            raise ValueError(f"webhook URL: expected {problem}, got {redact_webhook_url(url)!r}")
        if not timeout > 0:
            raise ValueError(f"expected timeout > 0, got {timeout!r}")
        self._url = url
        self.display_url = redact_webhook_url(url)
        """The URL as it may be shown: its secret replaced."""
        self._secrets = _secret_parts(url)
        self.limiter = KindLimiter(min_interval)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.queue_size = max(1, queue_size)
        self.errors = errors if errors is not None else ErrorCounter()
        self.source = source if source is not None else f"{socket.gethostname()} pid {os.getpid()}"
        self.posted = 0
        """Messages the webhook accepted."""
        self.failed = 0
        """Messages given up on after their attempts (or refused: a 4xx other than 429)."""
        self.dropped = 0
        """Events never attempted: the queue full, not started, or closing."""
        self.retried = 0
        """Attempts repeated after a 429, a 5xx or a network error."""
        self.last_error: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._queue: asyncio.Queue[Release] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight = False
        self._closing = False

    def __repr__(self) -> str:
        return f"<WebhookAlerts {self.display_url} posted={self.posted} failed={self.failed}>"

    @property
    def held(self) -> int:
        """Events held back by the per-kind rate limit so far."""
        return self.limiter.held_total

    @property
    def running(self) -> bool:
        """Whether events are being taken and posted."""
        return self._worker is not None and not self._closing

    # -- taking events (any thread; never raises, never waits) --------------------------------

    def __call__(self, event: VitalEvent) -> None:
        """Take ``event`` (the :class:`VitalEvents` subscriber)."""
        try:
            loop = self._loop
            if loop is None or self._closing or loop.is_closed():
                self._drop(event.kind, "the webhook sender is not running")
            elif threading.get_ident() != self._thread:
                loop.call_soon_threadsafe(self._accept, event)
            else:
                self._accept(event)
        except Exception as exc:
            self.errors.record("WebhookAlerts.take", exc)
            _log.warning("monitoring: could not take a %r alert: %s", event.kind, exc)

    def _accept(self, event: VitalEvent) -> None:
        if self._closing or self._loop is None:
            self._drop(event.kind, "the webhook sender is closing")
            return
        release = self.limiter.offer(event, self._loop.time())
        if release is not None:
            self._enqueue(release)
        else:
            self._arm_timer()

    def _arm_timer(self) -> None:
        due = self.limiter.next_due()
        if due is None or self._loop is None:
            return
        if self._timer is not None:
            if self._timer.when() <= due:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(due, self._release_due, due)

    def _release_due(self, due: float) -> None:
        self._timer = None
        if self._closing or self._loop is None:
            return
        # The loop may run a timer a hair early (its clock resolution): it is due all the same.
        for release in self.limiter.due(max(self._loop.time(), due)):
            self._enqueue(release)
        self._arm_timer()

    def _enqueue(self, release: Release) -> None:
        queue = self._queue
        if queue is None:
            self._drop(release.event.kind, "the webhook sender is not running")
            return
        try:
            queue.put_nowait(release)
        except asyncio.QueueFull:
            self._drop(release.event.kind, f"{self.queue_size} messages already wait")

    def _drop(self, kind: str, why: str) -> None:
        self.dropped += 1
        if self.dropped & (self.dropped - 1) == 0:  # 1, 2, 4, 8, ...: a flood logs a few lines.
            _log.warning(
                "monitoring: dropped a %r alert for %s (%s); %d dropped so far",
                kind,
                self.display_url,
                why,
                self.dropped,
            )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the session and start posting (inside the running event loop)."""
        if self._worker is not None:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._thread = threading.get_ident()
        self._closing = False
        self._queue = asyncio.Queue(maxsize=self.queue_size)
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": _USER_AGENT},
        )
        self._worker = loop.create_task(self._run(), name="monitoring_cog webhook alerts")
        _log.info("monitoring: posting alerts to the webhook %s", self.display_url)

    async def close(self, within: float = 5.0) -> None:
        """Post what is queued and held within ``within`` seconds, drop the rest (counted), and
        close the session. Returns within ``within`` seconds (and a few milliseconds); never
        raises. Safe to call twice."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, within)
        session_share = min(1.0, max(0.0, within) * _SESSION_CLOSE_SHARE)
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        worker, self._worker = self._worker, None
        queue = self._queue
        try:
            if queue is not None:
                # Held events are the latest word of their kind: they go out too, if there is time.
                for release in self.limiter.drain():
                    try:
                        queue.put_nowait(release)
                    except asyncio.QueueFull:
                        self._drop(release.event.kind, "closing with a full queue")
            if worker is not None and queue is not None:
                draining = asyncio.ensure_future(queue.join())
                await asyncio.wait(
                    {draining, worker},
                    timeout=max(0.0, deadline - session_share - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                draining.cancel()
                left = queue.qsize() + (1 if self._in_flight else 0)
                worker.cancel()
                await asyncio.wait({worker}, timeout=max(0.0, deadline - loop.time()))
                if left:
                    self.dropped += left
                    _log.warning(
                        "monitoring: closing: %d alert(s) not posted to the webhook %s in time",
                        left,
                        self.display_url,
                    )
            session, self._session = self._session, None
            if session is not None:
                closing = asyncio.ensure_future(session.close())
                await asyncio.wait({closing}, timeout=max(0.0, deadline - loop.time()))
                if not closing.done():
                    closing.cancel()
        except Exception as exc:
            self.errors.record("WebhookAlerts.close", exc)
            _log.warning("monitoring: closing the webhook sender failed: %s", self._scrub(exc))
        finally:
            self._queue = None

    # -- posting (the worker task) -------------------------------------------------------------

    async def _run(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            release = await queue.get()
            self._in_flight = True
            try:
                await self._deliver(release)
            except Exception as exc:
                self._failure(release.event.kind, f"{type(exc).__name__}: {self._scrub(exc)}")
            finally:
                self._in_flight = False
                queue.task_done()

    async def _deliver(self, release: Release) -> None:
        payload = webhook_payload(
            release.event,
            held=release.others,
            min_interval=self.limiter.min_interval,
            source=self.source,
        )
        body = json.dumps(payload)
        problem = "not attempted"
        for attempt in range(self.retries + 1):
            wait, problem_or_none = await self._attempt(body, attempt)
            if problem_or_none is None:
                self.posted += 1
                return
            problem = problem_or_none
            if wait is None or attempt == self.retries:
                break
            self.retried += 1
            _log.info(
                "monitoring: posting a %r alert to the webhook %s failed (%s); retrying in %.2f s",
                release.event.kind,
                self.display_url,
                problem,
                wait,
            )
            await asyncio.sleep(wait)
        self._failure(release.event.kind, problem)

    async def _attempt(self, body: str, attempt: int) -> tuple[float | None, str | None]:
        """One post: ``(None, None)`` if accepted, else ``(seconds to wait before a retry, or
        None for no retry, what went wrong)``."""
        session = self._session
        if session is None:
            return None, "the session is closed"
        backoff = min(self.timeout, _BACKOFF_FIRST * 2**attempt)
        try:
            async with session.post(
                self._url, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                status = response.status
                if 200 <= status < 300:
                    return None, None
                text = (await response.text(errors="replace"))[:300]
                if status == 429:
                    retry_after = _retry_after(response.headers, text)
                    if retry_after is None or retry_after > self.timeout:
                        shown = "?" if retry_after is None else f"{retry_after:g}"
                        return None, f"HTTP 429, retry after {shown} s (longer than alerts.timeout)"
                    return retry_after, f"HTTP 429, retry after {retry_after:g} s"
                if status >= 500:
                    return backoff, f"HTTP {status}"
                return None, f"HTTP {status}: {self._scrub(text)}"
        except TimeoutError:
            return backoff, f"no answer within {self.timeout:g} s"
        except aiohttp.ClientError as exc:
            return backoff, f"{type(exc).__name__}: {self._scrub(exc)}"

    def _failure(self, kind: str, problem: str) -> None:
        self.failed += 1
        self.last_error = problem
        self.errors.record("WebhookAlerts.post", WebhookDeliveryError(f"{kind}: {problem}"))
        _log.warning(
            "monitoring: could not post a %r alert to the webhook %s: %s",
            kind,
            self.display_url,
            problem,
        )

    def _scrub(self, text: object) -> str:
        """``text`` (an exception's, a response's) with the URL and its secret parts hidden."""
        shown = str(text).replace(self._url, self.display_url)
        for secret in self._secrets:
            shown = shown.replace(secret, "[redacted]")
        return shown

    def stats(self) -> dict[str, Any]:
        """The counts, for metrics and tests."""
        return {
            "posted": self.posted,
            "failed": self.failed,
            "dropped": self.dropped,
            "retried": self.retried,
            "held": self.held,
            "queued": self._queue.qsize() if self._queue is not None else 0,
            "last_error": self.last_error,
        }


def _secret_parts(url: str) -> tuple[str, ...]:
    """The parts of ``url`` that may hold its secret, longest first: the path with its query,
    and each path segment or query value long enough to be a token."""
    parts = urlsplit(url)
    tail = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
    pieces = [tail] if len(tail) > 1 else []
    for piece in [*parts.path.split("/"), *parts.query.replace("&", "=").split("=")]:
        if len(piece) >= _SECRET_MIN_LENGTH:
            pieces.append(piece)
    return tuple(sorted(set(pieces), key=len, reverse=True))


def _retry_after(headers: Any, text: str) -> float | None:
    """Seconds Discord asks to wait: the body's ``retry_after``, else the ``Retry-After`` header."""
    try:
        data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("retry_after"), int | float):
            return max(0.0, float(data["retry_after"]))
    except ValueError:
        pass
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None
