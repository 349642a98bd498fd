"""The rate-limit section in a few words: the health table's row and the /health embed's field."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from monitoring_cog import ManualClock
from monitoring_cog.cli.render import render_health
from monitoring_cog.cog.embeds import health_embed
from monitoring_cog.vitals.rate_limit_summary import rate_limit_lines
from monitoring_cog.vitals.rate_limits import RateLimitMonitor


def section(status: str, hits: int, global_hits: int, *routes: tuple[str, int]) -> dict[str, Any]:
    return {
        "status": status,
        "hits_1h": hits,
        "global_hits_1h": global_hits,
        "top_routes": [{"route": r, "hits": n, "global_hits": 0} for r, n in routes],
        "last_global_at": None,
    }


def report_with(rate_limits: dict[str, Any]) -> dict[str, Any]:
    return {
        "overall_status": "degraded",
        "timestamp": "2026-03-15T12:00:00+00:00",
        "memory": {"rss_mb": 10.0, "percent": 1.0, "status": "healthy"},
        "rate_limits": rate_limits,
    }


def health_rows(report: dict[str, Any]) -> list[str]:
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(render_health(report))
    return [" ".join(line.split()) for line in console.export_text().splitlines()]


def test_hits_the_global_ones_and_the_top_route() -> None:
    lines = rate_limit_lines(
        section(
            "warning",
            1204,
            2,
            ("POST /channels/{id}/messages", 1100),
            ("PATCH /guilds/{id}/members/{id}", 104),
        )
    )
    assert lines == [
        "1,204 429s in the last hour · 2 global",
        "most: POST /channels/{id}/messages (1,100)",
    ]
    assert rate_limit_lines(section("healthy", 1, 0, ("DELETE /channels/{id}", 1))) == [
        "1 429 in the last hour",
        "most: DELETE /channels/{id} (1)",
    ]


def test_a_monitor_that_saw_no_429_says_so() -> None:
    quiet = RateLimitMonitor(clock=ManualClock()).health_section()
    assert rate_limit_lines(quiet) == ["no 429s in the last hour"]

    fields = {field.name: field.value for field in health_embed(report_with(quiet)).fields}
    assert fields["🟢 Rate limits"] == "no 429s in the last hour"


def test_the_health_table_and_the_embed_show_the_rate_limits() -> None:
    report = report_with(section("warning", 12, 1, ("POST /interactions/{id}/a_b", 9)))

    rows = health_rows(report)
    expected = "│ Rate limits ● warning 12 429s in the last hour · 1 global · most: "
    assert expected + "POST /interactions/{id}/a_b (9) │" in rows

    fields = {field.name: field.value for field in health_embed(report).fields}
    # Shown as written: the route's underscores are escaped, not read as italics.
    assert fields["🟡 Rate limits"] == (
        "12 429s in the last hour · 1 global\nmost: POST /interactions/{id}/a\\_b (9)"
    )


def test_a_report_without_the_section_shows_no_rate_limits() -> None:
    report = report_with(section("healthy", 0, 0))
    del report["rate_limits"]

    assert not any("Rate limits" in row for row in health_rows(report))
    assert not any("Rate limits" in field.name for field in health_embed(report).fields)
