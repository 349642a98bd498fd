"""What the writer spends aggregating a component use or a custom event, beside a command.

The background writer turns every record of a batch into rollup increments
(:class:`~monitoring_cog.recording.rollups.BatchBuilder`); none of it runs on the bot's path.
This measures that step per record, with the metrics' counting on (as with the endpoint), for
batches of 1,000 records spread over 50 guilds, 200 users and 20 names: audited commands (with
their parameters), component uses, and custom events (with a user, under the per-guild bound on
names). Configurations alternate round by round; medians are quoted.
"""

from __future__ import annotations

import asyncio
import time

from _common import Table, emit, interleaved, median, parser

from monitoring_cog.recording.event_names import EventNames
from monitoring_cog.recording.records import CommandRecord, ComponentRecord, EventRecord, Record
from monitoring_cog.recording.rollups import BatchBuilder

BATCH = 1000
NOW = 1_773_576_000.0  # 2026-03-15 12:00 UTC


def records(kind: str) -> list[Record]:
    made: list[Record] = []
    for i in range(BATCH):
        guild, user, at = str(10_000 + i % 50), str(500_000 + i % 200), NOW + i * 0.01
        if kind == "command":
            made.append(
                CommandRecord(
                    guild, "Guild", user, "user", f"cmd{i % 20}", {"query": "lofi", "n": i},
                    0.05 + (i % 7) / 100, i % 10 != 0, None, None, at,
                )
            )  # fmt: skip
        elif kind == "component":
            made.append(
                ComponentRecord(
                    guild, user, f"ticket:{i % 20}", "button", 0.05 + (i % 7) / 100, i % 10 != 0, at
                )
            )
        else:
            made.append(EventRecord(guild, f"event_{i % 20}", float(i % 5), user, at))
    return made


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    rounds = 5 if args.quick else 40
    batches = {kind: records(kind) for kind in ("command", "component", "event")}

    async def measure(kind: str) -> float:
        batch = batches[kind]
        names = EventNames(50)
        started = time.process_time()
        for _ in range(10):
            builder = BatchBuilder(outcomes=True, event_names=names)
            builder.add(batch)
            builder.finish()
        return (time.process_time() - started) / (10 * BATCH) * 1e6

    results = await interleaved(list(batches), rounds, measure)
    table = Table(
        "Writer CPU per record aggregated (µs, median of rounds)", ["record", "µs per record"]
    )
    figures = {kind: median(values) for kind, values in results.items()}
    for kind, value in figures.items():
        table.add(kind, f"{value:.2f}")
    emit("components_events", {"us_per_record": figures, "rounds": rounds}, table)


if __name__ == "__main__":
    asyncio.run(main())
