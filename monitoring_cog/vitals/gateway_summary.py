"""``report["gateway"]`` in a few words, for ``/health`` and the command line alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ("gateway_lines",)


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def gateway_lines(section: Mapping[str, Any]) -> list[str]:
    """Two or three short lines: the shards (up, worst latency, those down), the population,
    and the reconnects of the last hour if any."""
    shards = [shard for shard in section.get("shards") or [] if isinstance(shard, Mapping)]
    seen = [shard for shard in shards if shard.get("connected") is not None]
    if not section.get("ready"):
        head = "not ready yet"
    elif not seen:
        head = "connection not seen yet"
    else:
        up = sum(1 for shard in seen if shard.get("connected"))
        latencies = [
            float(shard["latency_ms"])
            for shard in seen
            if shard.get("connected") and shard.get("latency_ms") is not None
        ]
        head = f"{up}/{len(shards)} shards up" if len(shards) != 1 else ("up" if up else "down")
        if latencies:
            head += f" · {max(latencies):.0f} ms"
        down = [
            f"shard {shard.get('shard_id')} down {float(shard['down_seconds']):.0f} s"
            for shard in seen
            if shard.get("connected") is False and shard.get("down_seconds") is not None
        ]
        if down:
            head += " · " + ", ".join(down[:3]) + (f" (+{len(down) - 3})" if len(down) > 3 else "")
    population = _count(int(section.get("guilds") or 0), "guild")
    if section.get("members") is not None:
        population += " · " + _count(int(section["members"]), "member")
    if section.get("voice_clients"):
        population += f" · {int(section['voice_clients'])} in voice"
    lines = [head, population]
    reconnects = int(section.get("reconnects_1h") or 0)
    if reconnects:
        lines.append(_count(reconnects, "reconnect") + " in the last hour")
    return lines
