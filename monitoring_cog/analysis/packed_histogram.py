"""Latency histograms packed into one integer, so that adding two histograms is adding two numbers.

Bucket ``i``'s count (see :mod:`monitoring_cog.analysis.latency`) occupies bits ``64*i`` to ``64*i +
63`` of the packed integer. No count comes near 2**64, so fields never carry into each other and the
sum of packed histograms is the packed sum: merging a week of a command's histograms is a handful of
integer additions done in C, whatever the number of buckets used.

SQLite keeps one histogram per guild, day and command this way, as a BLOB (SQLite's integers stop
at 64 bits): two little-endian bytes giving the first non-empty bucket, then the integer shifted
down to it, in as few bytes as hold it. :func:`merge_blobs` (the upsert) and :class:`BlobSum` (the
reports' aggregate) are registered with every SQLite connection the package opens.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Mapping
from itertools import accumulate

__all__ = (
    "FIELD_BITS",
    "BlobPack",
    "BlobSum",
    "PackedBuckets",
    "blob_of",
    "from_blob",
    "merge_blobs",
    "pack",
    "to_blob",
)

FIELD_BITS = 64
"""Bits per bucket count."""
_FIELD_SHIFT = 6  # log2(FIELD_BITS)
_OFFSET_BYTES = 2
"""The blob's header: the first non-empty bucket (buckets go up to 256, past one byte)."""
_BIG_ENDIAN = sys.byteorder == "big"
_from_bytes = int.from_bytes


def pack(buckets: Mapping[int, int]) -> int:
    """``{bucket: count}`` as one integer (negative or zero counts are left out)."""
    packed = 0
    for bucket, count in buckets.items():
        if count > 0:
            packed += count << (bucket << _FIELD_SHIFT)
    return packed


def to_blob(packed: int) -> bytes:
    """The stored form of a packed histogram (empty for an empty histogram)."""
    if packed <= 0:
        return b""
    # The lowest set bit's field is the first non-empty bucket.
    first = ((packed & -packed).bit_length() - 1) >> _FIELD_SHIFT
    rest = packed >> (first << _FIELD_SHIFT)
    return first.to_bytes(_OFFSET_BYTES, "little") + rest.to_bytes(
        (rest.bit_length() + 7) // 8, "little"
    )


def from_blob(blob: bytes | None) -> int:
    """The packed histogram stored as ``blob`` (0 for ``None`` or an empty blob)."""
    if not blob or len(blob) <= _OFFSET_BYTES:
        return 0
    first = int.from_bytes(blob[:_OFFSET_BYTES], "little")
    return int.from_bytes(blob[_OFFSET_BYTES:], "little") << (first << _FIELD_SHIFT)


def merge_blobs(stored: bytes | None, added: bytes | None) -> bytes:
    """The blob of both histograms' sum: what an upsert writes over ``stored``.

    Runs once per upserted row that already existed, inside SQLite, holding the interpreter
    lock: it aligns the two integers on the lower first bucket (the sum's first bucket, since
    counts are never negative) instead of unpacking both in full.
    """
    if not stored or len(stored) <= _OFFSET_BYTES:
        return added or b""
    if not added or len(added) <= _OFFSET_BYTES:
        return stored
    stored_first = stored[0] | stored[1] << 8
    added_first = added[0] | added[1] << 8
    if stored_first <= added_first:
        header, first = stored[:_OFFSET_BYTES], stored_first
    else:
        header, first = added[:_OFFSET_BYTES], added_first
    total = (_from_bytes(stored[_OFFSET_BYTES:], "little") << ((stored_first - first) << 6)) + (
        _from_bytes(added[_OFFSET_BYTES:], "little") << ((added_first - first) << 6)
    )
    return header + total.to_bytes((total.bit_length() + 7) // 8, "little")


def blob_of(buckets: Mapping[int, int]) -> bytes:
    """``to_blob(pack(buckets))`` in one step, for the writer's one histogram per row."""
    present = [bucket for bucket, count in buckets.items() if count > 0 and bucket >= 0]
    if not present:
        return b""
    first = min(present)
    packed = 0
    for bucket in present:
        packed += buckets[bucket] << ((bucket - first) << _FIELD_SHIFT)
    return first.to_bytes(_OFFSET_BYTES, "little") + packed.to_bytes(
        (packed.bit_length() + 7) // 8, "little"
    )


class BlobSum:
    """SQLite aggregate: the blob of the sum of the histogram blobs of a group's rows."""

    __slots__ = ("packed",)

    def __init__(self) -> None:
        self.packed = 0

    def step(self, blob: bytes | None) -> None:
        if blob:
            self.packed += from_blob(blob)

    def finalize(self) -> bytes:
        return to_blob(self.packed)


class BlobPack:
    """SQLite aggregate: the blob of the histogram of a group's ``(bucket, count)`` rows."""

    __slots__ = ("packed",)

    def __init__(self) -> None:
        self.packed = 0

    def step(self, bucket: int, count: int) -> None:
        if count > 0 and bucket >= 0:
            self.packed += count << (bucket << _FIELD_SHIFT)

    def finalize(self) -> bytes:
        return to_blob(self.packed)


class PackedBuckets(Mapping[int, int]):
    """A packed histogram read as ``{bucket: count}`` of its non-empty buckets.

    :func:`monitoring_cog.analysis.latency.percentiles` reads :meth:`cumulative` instead, one pass
    in C over every bucket, rather than sorting and walking the mapping.
    """

    __slots__ = ("_counts",)

    def __init__(self, packed: int = 0) -> None:
        size = -(-max(packed, 0).bit_length() // FIELD_BITS) * (FIELD_BITS // 8)
        counts = array("Q", packed.to_bytes(size, "little") if packed > 0 else b"")
        if _BIG_ENDIAN:
            counts.byteswap()
        self._counts = counts

    @classmethod
    def from_blob(cls, blob: bytes | None) -> PackedBuckets:
        """The histogram stored as ``blob``."""
        return cls(from_blob(blob))

    def cumulative(self) -> list[int]:
        """Running totals by bucket index, from bucket 0 to the last non-empty one."""
        return list(accumulate(self._counts))

    def __getitem__(self, bucket: int) -> int:
        counts = self._counts
        if 0 <= bucket < len(counts) and counts[bucket]:
            return counts[bucket]
        raise KeyError(bucket)

    def __iter__(self) -> Iterator[int]:
        return (bucket for bucket, count in enumerate(self._counts) if count)

    def __len__(self) -> int:
        return len(self._counts) - self._counts.count(0)

    def __repr__(self) -> str:
        return f"PackedBuckets({dict(self.items())!r})"
