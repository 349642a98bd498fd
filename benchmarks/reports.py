"""Reports: latency of the weekly and monthly reports and of ``/stats performance``.

Three generated databases (see ``_data.py``) of 100 thousand, 1 million and 10 million audit rows
across 1,000 guilds, read through this project's public API at the moment the data ends
(``ManualClock``): ``generate_weekly_report``, ``generate_monthly_report`` and
``get_performance_stats(guild, 7)``, each followed by the embed the slash command would send.
Sizes are interleaved round by round, each round asking about a different guild (the same
sequence for every size); the figure is the median over rounds. Reports read the rollups only, so
their time should not grow with the audit log.

Run: ``benchmarks/.venv/bin/python benchmarks/reports.py`` (``--quick``: 100 thousand and 1 million
rows only). The first run generates the databases (a few minutes); later runs reuse them.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from _common import Table, emit, interleaved, median, now, parser
from _data import Dataset, dataset

from monitoring_cog import Database, ManualClock, MonitoringConfig, create_monitoring_system
from monitoring_cog.cog.embeds import performance_embed, report_embed

REPORTS = ("weekly", "monthly", "performance")
TARGET_MS = 20.0
TARGET_GROWTH = 2.0


class Reader:
    """One database opened through the public API, as a bot reading it at the data's end."""

    def __init__(self, data: Dataset) -> None:
        self.data = data
        self.db = Database(data.path, config=MonitoringConfig(), clock=ManualClock(data.at))
        self.system = create_monitoring_system(self.db, make_current=False)

    async def run(self, report: str, guild: str) -> float:
        """Seconds for one report and its embed."""
        started = now()
        if report == "performance":
            stats = await self.system.perf_monitor.get_performance_stats(guild, 7)
            performance_embed(stats)
            assert stats.get("slowest_commands"), "no performance figures: wrong data?"
        else:
            collector = self.system.stats_collector
            if report == "weekly":
                result = await collector.generate_weekly_report(guild)
            else:
                result = await collector.generate_monthly_report(guild)
            report_embed(result, "Benchmark Guild")
            assert result.get("total_commands"), "an empty report: wrong data?"
        return now() - started


async def main(sizes: list[int], rounds: int) -> None:
    datasets = [dataset(rows) for rows in sizes]
    readers = {data.rows: Reader(data) for data in datasets}
    guilds = random.Random(3).sample(range(1000), rounds + 1)
    turn = {rows: 0 for rows in sizes}
    try:
        for reader in readers.values():
            await reader.db.connect()

        async def measure(rows_key: str) -> dict[str, float]:
            rows = int(rows_key)
            reader = readers[rows]
            guild = reader.data.guild(guilds[turn[rows]])
            turn[rows] += 1
            return {report: await reader.run(report, guild) for report in REPORTS}

        samples = await interleaved([str(rows) for rows in sizes], rounds, measure)
    finally:
        for reader in readers.values():
            await reader.db.close()
    report_table(samples, sizes, rounds)


def report_table(samples: dict[str, list[dict[str, float]]], sizes: list[int], rounds: int) -> None:
    table = Table(
        f"Reports: median ms over {rounds} rounds (a different guild each round), 1,000 guilds",
        ["audit rows", *(f"{r} ms" for r in REPORTS)],
    )
    figures: dict[str, dict[str, float]] = {}
    for rows in sizes:
        runs = samples[str(rows)]
        figures[str(rows)] = {r: round(median(run[r] for run in runs) * 1e3, 2) for r in REPORTS}
        table.add(f"{rows:,}", *(f"{figures[str(rows)][r]:.2f}" for r in REPORTS))
    smallest, largest = str(sizes[0]), str(sizes[-1])
    results: dict[str, Any] = {"rounds": rounds, "median_ms": figures, "targets": {}}
    for r in REPORTS:
        growth = figures[largest][r] / figures[smallest][r]
        results["targets"][r] = {
            "ms_at_largest": figures[largest][r],
            "growth_over_smallest": round(growth, 2),
            "met": figures[largest][r] <= TARGET_MS and growth <= TARGET_GROWTH,
        }
    table.add(
        f"{int(largest):,} / {int(smallest):,}",
        *(f"{results['targets'][r]['growth_over_smallest']:.2f}x" for r in REPORTS),
    )
    emit("reports", results, table)


if __name__ == "__main__":
    args = parser(__doc__.splitlines()[0]).parse_args()
    if args.quick:
        asyncio.run(main([100_000, 1_000_000], rounds=5))
    else:
        asyncio.run(main([100_000, 1_000_000, 10_000_000], rounds=31))
