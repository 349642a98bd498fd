"""The dashboard's rollups of a batch: what the writer adds to ``guild_users`` and
``bot_command_stats`` (with PostgreSQL's ``bot_command_latency``), derived from the per-guild
rows the batch already carries, so both backends write the same figures.

- ``guild_users``: each guild's users with the last day they were active. The distinct users of
  the last N days are then the rows whose ``last_day`` falls within them, one row per guild and
  user instead of one per guild, user and day.
- ``bot_command_stats``: each command's runs, failures, duration sum and latency histogram per
  day, every guild together, for the bot-wide command chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

__all__ = ("bot_commands", "last_days")


def last_days(users: Mapping[tuple[str, date, str], int]) -> dict[tuple[str, str], date]:
    """``(guild, user) -> the latest day`` among a batch's ``(guild, day, user)`` keys."""
    latest: dict[tuple[str, str], date] = {}
    for guild, day, user in users:
        key = (guild, user)
        seen = latest.get(key)
        if seen is None or day > seen:
            latest[key] = day
    return latest


def bot_commands(
    commands: Mapping[tuple[str, date, str], list[float]],
    latency: Mapping[tuple[str, date, str], Mapping[int, int]],
) -> dict[tuple[date, str], tuple[int, int, float, dict[int, int]]]:
    """``(day, command) -> (runs, failures, duration sum, {bucket: count})``, every guild of a
    batch's per-(guild, day, command) rows summed."""
    totals: dict[tuple[date, str], list[float]] = {}
    histograms: dict[tuple[date, str], dict[int, int]] = {}
    for (_, day, command), stats in commands.items():
        key = (day, command)
        total = totals.get(key)
        if total is None:
            totals[key] = [stats[0], stats[1], stats[2]]
        else:
            total[0] += stats[0]
            total[1] += stats[1]
            total[2] += stats[2]
    for (_, day, command), histogram in latency.items():
        merged = histograms.setdefault((day, command), {})
        for bucket, count in histogram.items():
            merged[bucket] = merged.get(bucket, 0) + count
    return {
        key: (int(runs), int(failed), float(total), histograms.get(key, {}))
        for key, (runs, failed, total) in totals.items()
    }
