"""Event-loop stalls per command: pure functions from stored stalls to report entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ("stalls_by_command",)


def stalls_by_command(stalls: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per command the stalls happened in (``command`` ``None``: outside any).

    Each entry: ``command``, ``count``, ``total_seconds``, ``max_seconds`` and ``location`` and
    ``stack`` of its longest stall; most stalls first, then longest, then by name.
    """
    entries: dict[str | None, dict[str, Any]] = {}
    for stall in stalls:
        command = stall.get("command")
        duration = float(stall.get("duration") or 0.0)
        entry = entries.get(command)
        if entry is None:
            entry = entries[command] = {
                "command": command,
                "count": 0,
                "total_seconds": 0.0,
                "max_seconds": -1.0,
                "location": None,
                "stack": None,
            }
        entry["count"] += 1
        entry["total_seconds"] += duration
        if duration > entry["max_seconds"]:
            entry["max_seconds"] = duration
            entry["location"] = stall.get("location")
            entry["stack"] = stall.get("stack")
    result = list(entries.values())
    for entry in result:
        entry["total_seconds"] = round(entry["total_seconds"], 3)
        entry["max_seconds"] = round(entry["max_seconds"], 3)
    result.sort(key=lambda e: (-e["count"], -e["max_seconds"], e["command"] or ""))
    return result
