"""Latency histogram maths (``monitoring_cog.analysis.latency``).

Covers the bucket layout (bucket ``i`` holds ``(upper(i-1), upper(i)]``, bucket 0 everything up to
``BASE``, the last bucket everything huge), the nearest-rank percentile over bucket counts, the
clamping to the observed min and max, and the promised accuracy (within 5 % of the exact
nearest-rank percentile).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence

import pytest

from monitoring_cog.analysis.latency import (
    BASE,
    GROWTH,
    MAX_BUCKET,
    bucket_index,
    bucket_upper_bound,
    percentile,
    percentiles,
)

QUANTILES = (0.5, 0.95, 0.99)


def histogram(durations: Sequence[float]) -> dict[int, int]:
    """Bucket counts for ``durations``, as the rollups store them."""
    return dict(Counter(bucket_index(d) for d in durations))


def exact_nearest_rank(durations: Sequence[float], q: float) -> float:
    """The textbook nearest-rank percentile of the raw durations."""
    ordered = sorted(durations)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def geometric_middle(index: int) -> float:
    """The documented representative of bucket ``index >= 1``."""
    return math.sqrt(bucket_upper_bound(index - 1) * bucket_upper_bound(index))


# --- bucket layout -----------------------------------------------------------------------------


def test_bucket_zero_upper_bound_is_base() -> None:
    assert bucket_upper_bound(0) == BASE


def test_upper_bounds_strictly_increase_by_growth() -> None:
    bounds = [bucket_upper_bound(i) for i in range(MAX_BUCKET + 1)]
    for lower, upper in itertools.pairwise(bounds):
        assert upper > lower
        assert upper / lower == pytest.approx(GROWTH, rel=1e-12)


def test_each_upper_bound_lies_in_its_own_bucket() -> None:
    for i in range(MAX_BUCKET + 1):
        assert bucket_index(bucket_upper_bound(i)) == i


def test_durations_lie_between_neighbouring_bounds() -> None:
    # A dense log-spaced sweep from below BASE to above the last bound.
    for step in range(-80, 3000):
        d = BASE * 10 ** (step / 300)
        i = bucket_index(d)
        assert 0 <= i <= MAX_BUCKET
        if i == 0:
            assert d <= BASE
            continue
        assert d > bucket_upper_bound(i - 1)
        if i < MAX_BUCKET:
            assert d <= bucket_upper_bound(i)


def test_bucket_index_is_monotonic() -> None:
    durations = sorted({BASE * 10 ** (step / 97) for step in range(-50, 1000)} | {0.0, BASE})
    indices = [bucket_index(d) for d in durations]
    assert indices == sorted(indices)


def test_just_above_a_bound_goes_to_the_next_bucket() -> None:
    for i in range(MAX_BUCKET):
        upper = bucket_upper_bound(i)
        assert bucket_index(upper * (1 + 1e-6)) == i + 1
        assert bucket_index(upper * (1 - 1e-6)) == i


def test_one_ulp_above_a_bound_goes_to_the_next_bucket() -> None:
    """Bucket ``i`` is ``(upper(i-1), upper(i)]``: even the next float past a bound is outside."""
    misplaced = [
        i
        for i in range(MAX_BUCKET)
        if bucket_index(math.nextafter(bucket_upper_bound(i), math.inf)) != i + 1
    ]
    assert misplaced == []


@pytest.mark.parametrize("value", [0.0, -0.0, -1.0, -1e300, -math.inf, math.nan, BASE / 2, BASE])
def test_zero_negative_nan_and_tiny_go_to_bucket_zero(value: float) -> None:
    assert bucket_index(value) == 0


@pytest.mark.parametrize("value", [1e7, 1e300, bucket_upper_bound(MAX_BUCKET) * 2])
def test_huge_durations_go_to_the_last_bucket(value: float) -> None:
    assert bucket_index(value) == MAX_BUCKET


def test_infinity_goes_to_the_last_bucket() -> None:
    assert bucket_index(math.inf) == MAX_BUCKET


def test_one_day_fits_below_the_last_bucket() -> None:
    # Durations are clamped to one day before bucketing; that must still be resolvable.
    assert bucket_index(86_400.0) < MAX_BUCKET


# --- percentile on known bucket counts --------------------------------------------------------


def test_empty_histogram_gives_zero() -> None:
    assert percentile({}, 0.5) == 0.0
    assert percentile({5: 0, 9: 0}, 0.99) == 0.0
    assert percentiles({}) == {"p50": 0.0, "p95": 0.0, "p99": 0.0}


@pytest.mark.parametrize(
    ("q", "expected_bucket"),
    [
        (0.0, 3),  # rank 1
        (0.25, 3),  # rank ceil(1.0) = 1
        (0.26, 7),  # rank ceil(1.04) = 2
        (0.5, 7),  # rank 2
        (0.75, 12),  # rank 3
        (0.76, 20),  # rank 4
        (1.0, 20),  # rank 4
    ],
)
def test_percentile_uses_nearest_rank(q: float, expected_bucket: int) -> None:
    buckets = {20: 1, 3: 1, 12: 1, 7: 1}  # insertion order must not matter
    assert percentile(buckets, q) == pytest.approx(geometric_middle(expected_bucket), rel=1e-12)


def test_percentile_on_weighted_buckets() -> None:
    buckets = {10: 50, 20: 45, 30: 5}  # 100 durations
    assert percentile(buckets, 0.50) == pytest.approx(geometric_middle(10), rel=1e-12)
    assert percentile(buckets, 0.95) == pytest.approx(geometric_middle(20), rel=1e-12)  # rank 95
    assert percentile(buckets, 0.951) == pytest.approx(geometric_middle(30), rel=1e-12)  # rank 96
    assert percentile(buckets, 0.99) == pytest.approx(geometric_middle(30), rel=1e-12)


def test_percentile_is_inside_its_bucket() -> None:
    for i in (1, 2, 40, 100, MAX_BUCKET):
        value = percentile({i: 3}, 0.5)
        assert bucket_upper_bound(i - 1) < value < bucket_upper_bound(i)
        assert bucket_index(value) == i


def test_bucket_zero_percentile_is_at_most_base() -> None:
    assert 0.0 <= percentile({0: 10}, 0.5) <= BASE


def test_zero_and_negative_counts_are_ignored() -> None:
    buckets = {5: 0, 6: -4, 9: 2}
    assert percentile(buckets, 0.01) == pytest.approx(geometric_middle(9), rel=1e-12)


def test_percentiles_keys_follow_the_quantiles() -> None:
    buckets = {10: 50, 20: 45, 30: 5}
    result = percentiles(buckets)
    assert list(result) == ["p50", "p95", "p99"]
    assert result["p50"] == percentile(buckets, 0.5)
    assert result["p99"] == percentile(buckets, 0.99)
    assert list(percentiles(buckets, (0.25, 0.75))) == ["p25", "p75"]


# --- clamping to the observed min and max -----------------------------------------------------


@pytest.mark.parametrize("duration", [0.0, 0.00005, 0.0123, 0.25, 1.0, 7.5, 86_400.0])
def test_identical_durations_report_exactly_that_duration(duration: float) -> None:
    buckets = histogram([duration] * 17)
    result = percentiles(buckets, low=duration, high=duration)
    assert result == {"p50": duration, "p95": duration, "p99": duration}


def test_result_is_clamped_to_high() -> None:
    # Just above the bucket's lower bound: the geometric middle is above the only duration seen.
    d = bucket_upper_bound(40) * 1.01
    buckets = histogram([d])
    assert percentile(buckets, 0.5) > d
    assert percentile(buckets, 0.5, high=d) == d


def test_result_is_clamped_to_low() -> None:
    # Just below the bucket's upper bound: the geometric middle is below the only duration seen.
    d = bucket_upper_bound(40) * 0.99
    buckets = histogram([d])
    assert percentile(buckets, 0.5) < d
    assert percentile(buckets, 0.5, low=d) == d


# --- accuracy against exact percentiles -------------------------------------------------------

DATASETS = {
    "1..1000 ms": [k / 1000 for k in range(1, 1001)],
    "geometric 1 ms..10 s": [0.001 * 1.01**k for k in range(926)],
    "bimodal": [0.02 + k * 1e-4 for k in range(900)] + [3.0 + k * 0.05 for k in range(100)],
    "sub-millisecond": [0.0002 + k * 1e-6 for k in range(500)],
}


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("q", QUANTILES)
def test_percentile_within_five_percent_of_exact(name: str, q: float) -> None:
    durations = DATASETS[name]
    estimate = percentile(histogram(durations), q, low=min(durations), high=max(durations))
    exact = exact_nearest_rank(durations, q)
    assert abs(estimate - exact) / exact <= 0.05


def test_percentile_of_one_to_thousand_ms_lands_in_the_exact_values_bucket() -> None:
    durations = [k / 1000 for k in range(1, 1001)]
    buckets = histogram(durations)
    for q in QUANTILES:
        exact = exact_nearest_rank(durations, q)
        assert exact == pytest.approx({0.5: 0.5, 0.95: 0.95, 0.99: 0.99}[q])
        assert bucket_index(percentile(buckets, q)) == bucket_index(exact)
