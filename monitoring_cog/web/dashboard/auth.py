"""The dashboard's access token, its signed session cookies and the limit on wrong tokens.

One secret, the token, opens the dashboard. It is compared in constant time
(:func:`hmac.compare_digest`). A login turns it into a session cookie, so the token leaves the
address bar after the first page: the cookie holds an expiry time and a random nonce, signed with
an HMAC key derived from the token (changing the token logs every session out; restarting the
bot does not). The cookie is ``HttpOnly``, ``SameSite=Strict``, ``Path=/``, expires with the
session, and is ``Secure`` when the request came over HTTPS.

Wrong tokens are counted per client address: past :data:`MAX_FAILURES` in :data:`FAILURE_WINDOW`
seconds, every token that address presents is refused (429) until the window has passed, right or
wrong, so guessing costs a window per few tries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from collections.abc import Callable

__all__ = (
    "COOKIE_NAME",
    "FAILURE_WINDOW",
    "MAX_FAILURES",
    "FailureLimiter",
    "TokenGate",
    "generate_token",
)

COOKIE_NAME = "monitoring_dashboard"
MAX_FAILURES = 5
"""Wrong tokens an address may present within :data:`FAILURE_WINDOW` before it is refused."""
FAILURE_WINDOW = 60.0
"""Seconds over which wrong tokens are counted."""
_MAX_ADDRESSES = 10_000
"""Addresses tracked at most: a flood of addresses cannot grow the table without bound."""


def generate_token() -> str:
    """A random token (32 URL-safe characters, 192 bits) for a dashboard run without one."""
    return secrets.token_urlsafe(24)


class TokenGate:
    """Checks tokens and issues and checks session cookies.

    Parameters
    ----------
    token:
        The access token.
    lifetime:
        Seconds a session lasts.
    now:
        The wall clock (epoch seconds); the cookie's expiry is read against it.
    """

    def __init__(self, token: str, *, lifetime: float, now: Callable[[], float]) -> None:
        if not token:
            raise ValueError("the dashboard needs a non-empty token")
        self._token = token.encode()
        self._key = hmac.new(self._token, b"monitoring_cog dashboard session", "sha256").digest()
        self.lifetime = lifetime
        self._now = now

    def token_ok(self, candidate: str) -> bool:
        """Whether ``candidate`` is the token (constant time for candidates of any length)."""
        # Compared as digests: compare_digest's time then does not depend on the lengths.
        given = hashlib.sha256(candidate.encode("utf-8", "surrogatepass")).digest()
        return hmac.compare_digest(given, hashlib.sha256(self._token).digest())

    def issue(self) -> str:
        """A new session cookie's value, valid for :attr:`lifetime` seconds."""
        expires = int(self._now() + self.lifetime)
        payload = f"{expires}.{secrets.token_urlsafe(12)}"
        return f"{payload}.{self._sign(payload)}"

    def session_ok(self, value: str | None) -> bool:
        """Whether ``value`` is a cookie this gate issued that has not expired."""
        if not value:
            return False
        payload, _, signature = value.rpartition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return False
        expires = payload.partition(".")[0]
        return expires.isdigit() and int(expires) > self._now()

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), "sha256").hexdigest()


class FailureLimiter:
    """Counts wrong tokens per client address over a sliding window.

    Parameters
    ----------
    monotonic:
        A monotonic clock (seconds).
    """

    def __init__(
        self,
        monotonic: Callable[[], float],
        *,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
    ) -> None:
        self._monotonic = monotonic
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, address: str) -> bool:
        """Whether ``address`` has presented too many wrong tokens lately."""
        times = self._failures.get(address)
        if times is None:
            return False
        self._expire(address, times)
        return len(times) >= self.max_failures

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` may try again (at least 1)."""
        times = self._failures.get(address)
        if not times:
            return 1
        return max(1, int(times[0] + self.window - self._monotonic()) + 1)

    def failed(self, address: str) -> None:
        """Count a wrong token from ``address``."""
        if address not in self._failures and len(self._failures) >= _MAX_ADDRESSES:
            # Forget the address tracked longest; the table never outgrows its bound.
            self._failures.pop(next(iter(self._failures)))
        times = self._failures.setdefault(address, deque())
        times.append(self._monotonic())
        self._expire(address, times)

    def _expire(self, address: str, times: deque[float]) -> None:
        cutoff = self._monotonic() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            self._failures.pop(address, None)
