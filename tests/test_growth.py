"""The bot's growth rollups: joins and leaves per UTC day, the day's latest snapshot, per backend.

Records go through the recorder (``Database.submit``) and are read back through the library
(``StatisticsCollector.get_growth``), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitoring_cog import Database, ManualClock, StatisticsCollector
from monitoring_cog.recording.records import GrowthKind, GrowthRecord, PopulationRecord

DAY = 86400.0


def at(day: int, hour: int = 12) -> float:
    """Epoch seconds of 2026-03-<day> at <hour>:00 UTC."""
    return datetime(2026, 3, day, hour, tzinfo=UTC).timestamp()


def join(when: float) -> GrowthRecord:
    return GrowthRecord(GrowthKind.JOIN, when)


def leave(when: float) -> GrowthRecord:
    return GrowthRecord(GrowthKind.LEAVE, when)


def day(date: str, joins: int, leaves: int, guilds: int | None, members: int | None) -> dict:
    return {
        "date": date,
        "joins": joins,
        "leaves": leaves,
        "net": joins - leaves,
        "guilds": guilds,
        "members": members,
    }


async def test_joins_and_leaves_add_up_per_utc_day_and_days_without_data_are_listed(
    db: Database, clock: ManualClock
) -> None:
    # The clock's today is 2026-03-15 (tests/fakes.py).
    for record in (
        join(at(13, 0)),
        join(at(13, 23)),
        leave(at(13, 23)),
        join(at(15, 0)),
        leave(at(15, 1)),
        leave(at(15, 2)),
        join(at(10)),  # Outside the three days asked for.
    ):
        assert db.submit(record)
    await db.flush()
    # A second batch adds to the stored day rather than replacing it.
    assert db.submit(join(at(13, 5)))

    growth = await StatisticsCollector(db).get_growth(3)

    assert growth == [
        day("2026-03-13", 3, 1, None, None),
        day("2026-03-14", 0, 0, None, None),
        day("2026-03-15", 1, 2, None, None),
    ]


async def test_a_day_keeps_its_latest_snapshot_per_shard_whatever_order_it_is_written_in(
    db: Database,
) -> None:
    stats = StatisticsCollector(db)
    for record in (
        PopulationRecord(0, 2, 10, 100, at(14, 1)),
        PopulationRecord(1, 2, 12, 150, at(14, 1)),
        PopulationRecord(0, 2, 11, 110, at(14, 20)),  # Later: replaces shard 0's.
    ):
        assert db.submit(record)
    await db.flush()
    # An older snapshot written later (a process whose clock lags, a replayed spill) is ignored.
    assert db.submit(PopulationRecord(0, 2, 9, 90, at(14, 5)))
    # Within one batch too: the latest wins, whatever the order.
    assert db.submit(PopulationRecord(1, 2, 14, 170, at(14, 22)))
    assert db.submit(PopulationRecord(1, 2, 13, 160, at(14, 21)))
    await db.flush()

    growth = await stats.get_growth(2)

    assert growth == [
        day("2026-03-14", 0, 0, 11 + 14, 110 + 170),
        day("2026-03-15", 0, 0, None, None),
    ]


async def test_a_bot_resharded_during_a_day_counts_the_latest_layout_only(db: Database) -> None:
    for record in (
        # Two shards in the morning, four from the afternoon: the morning's rows stay stored.
        PopulationRecord(0, 2, 50, 500, at(15, 8)),
        PopulationRecord(1, 2, 50, 500, at(15, 8)),
        PopulationRecord(0, 4, 24, 240, at(15, 16)),
        PopulationRecord(1, 4, 26, 260, at(15, 16)),
        PopulationRecord(2, 4, 25, 250, at(15, 16)),
        PopulationRecord(3, 4, 27, 270, at(15, 16)),
        join(at(15, 9)),
    ):
        assert db.submit(record)

    growth = await StatisticsCollector(db).get_growth(1)

    assert growth == [day("2026-03-15", 1, 0, 24 + 26 + 25 + 27, 240 + 260 + 250 + 270)]


async def test_growth_needs_a_positive_number_of_days(db: Database) -> None:
    stats = StatisticsCollector(db)
    with pytest.raises(ValueError, match="days must be >= 1"):
        await stats.fetch_growth(0)
    assert await stats.get_growth(0) == []  # The safe variant: counted, logged, a default.
    assert db.errors.by_operation == {"StatisticsCollector.get_growth": 1}
