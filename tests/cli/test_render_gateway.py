"""The gateway section in a few words: the health table's row and the /health embed's field."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from monitoring_cog.cli.render import render_health
from monitoring_cog.cog.embeds import health_embed
from monitoring_cog.vitals.gateway_summary import gateway_lines


def shard(shard_id: int, connected: bool | None, latency: float | None, down: float | None) -> dict:
    return {
        "shard_id": shard_id,
        "latency_ms": latency,
        "connected": connected,
        "disconnects_1h": 0,
        "reconnects_1h": 0,
        "resumes_1h": 0,
        "down_seconds": down,
        "seconds_since_disconnect": down,
    }


def section(status: str, shards: list[dict], **figures: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": status,
        "ready": True,
        "shard_count": len(shards),
        "shards": shards,
        "disconnects_1h": 0,
        "reconnects_1h": 0,
        "guilds": 1834,
        "members": 412977,
        "cached_members": 0,
        "voice_clients": 0,
        "event_types": 12,
    }
    base.update(figures)
    return base


def test_shards_up_with_the_worst_latency_and_the_population() -> None:
    lines = gateway_lines(
        section("healthy", [shard(0, True, 41.7, None), shard(1, True, 88.2, None)])
    )
    assert lines == ["2/2 shards up · 88 ms", "1,834 guilds · 412,977 members"]


def test_shards_down_reconnects_and_voice() -> None:
    shards = [
        shard(i, i not in (1, 3, 5, 6), 40.0, 75.0 if i in (1, 3, 5, 6) else None) for i in range(8)
    ]
    lines = gateway_lines(section("critical", shards, reconnects_1h=1, voice_clients=3))
    assert lines == [
        "4/8 shards up · 40 ms · shard 1 down 75 s, shard 3 down 75 s, shard 5 down 75 s (+1)",
        "1,834 guilds · 412,977 members · 3 in voice",
        "1 reconnect in the last hour",
    ]


def test_before_ready_and_before_anything_is_seen() -> None:
    not_ready = section("unknown", [shard(0, None, None, None)], ready=False, members=None)
    assert gateway_lines(not_ready) == ["not ready yet", "1,834 guilds"]
    unseen = section("unknown", [shard(0, None, None, None)], guilds=1)
    assert gateway_lines(unseen)[0] == "connection not seen yet"
    assert gateway_lines(unseen)[1] == "1 guild · 412,977 members"


def test_the_health_table_and_the_embed_show_the_gateway() -> None:
    gateway = section("warning", [shard(0, True, 812.0, None)])
    report = {"overall_status": "degraded", "timestamp": "2026-03-15T12:00:00+00:00"}
    report["memory"] = {"rss_mb": 10.0, "percent": 1.0, "status": "healthy"}
    report["gateway"] = gateway

    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(render_health(report))
    rows = [" ".join(line.split()) for line in console.export_text().splitlines()]
    assert "│ Gateway ● warning up · 812 ms · 1,834 guilds · 412,977 members │" in rows

    fields = {field.name: field.value for field in health_embed(report).fields}
    assert fields["🟡 Gateway"] == "up · 812 ms\n1,834 guilds · 412,977 members"
