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
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate

from .packed_histogram import PackedBuckets

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
    return _values(buckets, (q,), low, high)[0]


def percentiles(
    buckets: Mapping[int, int],
    quantiles: Iterable[float] = (0.5, 0.95, 0.99),
    *,
    low: float | None = None,
    high: float | None = None,
) -> dict[str, float]:
    """Several percentiles at once, keyed ``p50``, ``p95``, ``p99`` and so on."""
    quantiles = tuple(quantiles)
    values = _values(buckets, quantiles, low, high)
    return {f"p{round(q * 100):d}": value for q, value in zip(quantiles, values, strict=True)}


def _values(
    buckets: Mapping[int, int],
    quantiles: Sequence[float],
    low: float | None,
    high: float | None,
) -> list[float]:
    """Each quantile's value, from one cumulative pass over the buckets."""
    if isinstance(buckets, PackedBuckets):
        # Every bucket from 0, empty ones included: running totals computed in C.
        cumulative = buckets.cumulative()
        indexes: Sequence[int] = range(len(cumulative))
    else:
        indexes = sorted(bucket for bucket, count in buckets.items() if count > 0)
        cumulative = list(accumulate(buckets[bucket] for bucket in indexes))
    total = cumulative[-1] if cumulative else 0
    if total <= 0:
        return [0.0 for _ in quantiles]
    values = []
    for q in quantiles:
        rank = max(1, math.ceil(q * total))
        # The first bucket whose running total reaches the rank (the last if rounding overshot).
        position = min(bisect_left(cumulative, rank), len(cumulative) - 1)
        value = _representative(indexes[position])
        if high is not None:
            value = min(value, high)
        if low is not None:
            value = max(value, low)
        values.append(value)
    return values
