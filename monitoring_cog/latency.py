"""Latency histograms: fixed log-spaced buckets that rollups can add up, and percentiles from them.

Durations are not kept one by one in the rollups; each is counted in a bucket. Bucket ``i`` (for
``i >= 1``) holds durations in ``(BASE * GROWTH**(i-1), BASE * GROWTH**i]``, bucket 0 everything up
to ``BASE``. With ``GROWTH = 2**(1/8)`` neighbouring bounds differ by about 9 %, and a percentile
(reported as the geometric middle of its bucket, clamped to the observed min and max) is within
about 4.5 % of the exact value. Counts from any number of days, guilds or processes merge by
addition, which is what lets reports stay flat in the size of the audit log.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

__all__ = (
    "BASE",
    "GROWTH",
    "MAX_BUCKET",
    "bucket_index",
    "bucket_upper_bound",
    "percentile",
    "percentiles",
)

BASE = 1e-4
"""Upper bound of bucket 0, in seconds (0.1 ms)."""
GROWTH = 2 ** (1 / 8)
MAX_BUCKET = 256
"""Last bucket; it holds everything from about five days (2**32 * BASE seconds) up."""

_LOG_GROWTH = math.log(GROWTH)


def bucket_index(seconds: float) -> int:
    """The bucket a duration (in seconds) is counted in."""
    if not seconds > BASE:  # also catches NaN
        return 0
    if seconds > _LAST_LOWER_BOUND:
        return MAX_BUCKET
    # The logarithm gives the index up to rounding; settle it against the exact bounds.
    index = max(1, math.ceil(math.log(seconds / BASE) / _LOG_GROWTH))
    while index > 1 and seconds <= bucket_upper_bound(index - 1):
        index -= 1
    while seconds > bucket_upper_bound(index):
        index += 1
    return index


def bucket_upper_bound(index: int) -> float:
    """The largest duration, in seconds, counted in bucket ``index``."""
    return float(BASE * GROWTH**index)


_LAST_LOWER_BOUND = bucket_upper_bound(MAX_BUCKET - 1)


def _representative(index: int) -> float:
    if index == 0:
        return BASE
    return float(BASE * GROWTH ** (index - 0.5))


def percentile(
    buckets: Mapping[int, int], q: float, *, low: float | None = None, high: float | None = None
) -> float:
    """The ``q``-quantile (``0 <= q <= 1``) of the durations counted in ``buckets``.

    Uses the nearest-rank method: the smallest bucket whose cumulative count reaches
    ``ceil(q * total)``. ``low`` and ``high`` (the observed min and max) clamp the result, so a
    command that always takes the same time reports exactly that time. Returns 0.0 when empty.
    """
    total = sum(count for count in buckets.values() if count > 0)
    if total == 0:
        return 0.0
    rank = max(1, math.ceil(q * total))
    seen = 0
    chosen = max(buckets)
    for index in sorted(buckets):
        seen += max(0, buckets[index])
        if seen >= rank:
            chosen = index
            break
    value = _representative(chosen)
    if high is not None:
        value = min(value, high)
    if low is not None:
        value = max(value, low)
    return value


def percentiles(
    buckets: Mapping[int, int],
    quantiles: Iterable[float] = (0.5, 0.95, 0.99),
    *,
    low: float | None = None,
    high: float | None = None,
) -> dict[str, float]:
    """Several percentiles at once, keyed ``p50``, ``p95``, ``p99`` and so on."""
    return {f"p{round(q * 100):d}": percentile(buckets, q, low=low, high=high) for q in quantiles}
