"""Packed latency histograms (``monitoring_cog.analysis.packed_histogram``).

Covers: a histogram survives packing and storing as a blob; merging blobs (the SQLite upsert) and
the ``BlobSum`` / ``BlobPack`` aggregates give the histogram of all counts together; the packed
form read back as a mapping equals the dict it came from; percentiles read from the packed form
equal those read from the dict; the blob stays small (it starts at the first non-empty bucket).
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from monitoring_cog.analysis.latency import MAX_BUCKET, percentile, percentiles
from monitoring_cog.analysis.packed_histogram import (
    BlobPack,
    BlobSum,
    PackedBuckets,
    blob_of,
    from_blob,
    merge_blobs,
    pack,
    to_blob,
)

histograms = st.dictionaries(
    st.integers(min_value=0, max_value=MAX_BUCKET),
    st.integers(min_value=1, max_value=2**40),
    max_size=40,
)


@given(histograms)
def test_a_histogram_survives_packing_and_storing(buckets: dict[int, int]) -> None:
    packed = pack(buckets)
    assert from_blob(to_blob(packed)) == packed
    assert blob_of(buckets) == to_blob(packed)
    assert dict(PackedBuckets.from_blob(to_blob(packed))) == buckets
    assert PackedBuckets(packed) == buckets
    assert len(PackedBuckets(packed)) == len(buckets)


@given(histograms, histograms)
def test_merged_blobs_hold_the_summed_counts(first: dict[int, int], second: dict[int, int]) -> None:
    merged = merge_blobs(to_blob(pack(first)), to_blob(pack(second)))
    assert dict(PackedBuckets.from_blob(merged)) == dict(Counter(first) + Counter(second))
    assert merged == to_blob(pack(first) + pack(second))  # The canonical blob of the sum.


@given(st.lists(histograms, max_size=8))
def test_blob_sum_aggregates_rows(rows: list[dict[int, int]]) -> None:
    aggregate = BlobSum()
    total: Counter[int] = Counter()
    for buckets in rows:
        aggregate.step(to_blob(pack(buckets)))
        total.update(buckets)
    aggregate.step(None)  # A row without a histogram adds nothing.
    aggregate.step(b"")
    assert dict(PackedBuckets.from_blob(aggregate.finalize())) == dict(total)


def test_blob_pack_builds_a_histogram_from_bucket_rows() -> None:
    aggregate = BlobPack()
    for bucket, count in [(3, 2), (200, 1), (3, 5), (7, 0)]:
        aggregate.step(bucket, count)
    assert dict(PackedBuckets.from_blob(aggregate.finalize())) == {3: 7, 200: 1}
    assert BlobPack().finalize() == b""


def test_empty_histograms() -> None:
    assert pack({}) == 0
    assert to_blob(0) == b""
    assert from_blob(b"") == from_blob(None) == 0
    assert merge_blobs(b"", b"") == b""
    # A blob too short to hold a histogram counts as empty, rather than failing every upsert.
    blob = to_blob(pack({4: 1}))
    assert merge_blobs(b"\x01", blob) == blob
    assert merge_blobs(blob, b"\x01") == blob
    assert dict(PackedBuckets(0)) == {}
    assert percentiles(PackedBuckets(0)) == {"p50": 0.0, "p95": 0.0, "p99": 0.0}


def test_a_blob_starts_at_the_first_non_empty_bucket() -> None:
    # Two adjacent buckets far up: the header and two 64-bit fields at most, not 100 fields.
    assert len(to_blob(pack({100: 1, 101: 1}))) <= 2 + 16
    assert PackedBuckets.from_blob(to_blob(pack({100: 1, 101: 1}))) == {100: 1, 101: 1}


def test_a_missing_bucket_is_a_key_error() -> None:
    packed = PackedBuckets(pack({5: 2}))
    assert packed[5] == 2
    for absent in (4, 6, -1, 10_000):
        assert absent not in packed


@given(histograms, st.floats(min_value=0.0, max_value=1.0))
def test_percentiles_agree_with_the_dict_form(buckets: dict[int, int], q: float) -> None:
    packed = PackedBuckets(pack(buckets))
    assert percentile(packed, q) == percentile(buckets, q)
    assert percentile(packed, q, low=0.001, high=0.5) == percentile(buckets, q, low=0.001, high=0.5)
