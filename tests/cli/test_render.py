"""Terminal rendering: pure functions from report dicts to what an operator reads."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, RenderableType

from monitoring_cog.cli.render import (
    format_duration,
    render_health,
    render_performance,
    render_report,
)


def text(renderable: RenderableType, width: int = 100) -> str:
    """The renderable as plain text, with runs of spaces (table padding) made single."""
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return "\n".join(" ".join(line.split()) for line in console.export_text().splitlines())


FULL_HEALTH: dict[str, Any] = {
    "timestamp": "2026-03-15T21:31:06.469924+00:00",
    "overall_status": "unhealthy",
    "memory": {"rss_mb": 1100.0, "vms_mb": 2000.0, "percent": 6.5, "status": "critical"},
    "cpu": {"percent": 12.5, "user_time": 1.0, "system_time": 0.5, "status": "healthy"},
    "database": {
        "connected": True,
        "response_time": 0.0123,
        "server_count": 4,
        "database_size_mb": 5.7,
        "status": "healthy",
    },
    "error_rate": {
        "total_commands": 40,
        "failed_commands": 2,
        "error_rate": 0.05,
        "window_seconds": 3600.0,
        "status": "warning",
    },
    "recording": {
        "written": 10,
        "pending": 1,
        "dropped": 0,
        "write_errors": 0,
        "status": "healthy",
    },
    "internal_errors": {"count": 3},
    "uptime_seconds": 2 * 86400 + 3 * 3600 + 4 * 60 + 5,
}


def test_full_health_report() -> None:
    out = text(render_health(FULL_HEALTH))
    assert "Bot health: unhealthy" in out
    assert "Memory ● critical 1100.0 MB resident, 6.5 % of RAM" in out
    assert "CPU ● healthy 12.5 % of one core" in out
    assert "12.3 ms round trip, 4 servers, 5.7 MB" in out
    assert "Errors (last 60 min) ● warning 2 of 40 commands failed (5.0 %)" in out
    assert "10 written, 1 queued, 0 dropped, 0 write errors" in out
    assert "Monitoring errors: 3 (see the bot's log)" in out
    assert "up 2d 3h 4m · checked 2026-03-15 21:31 UTC" in out


def test_unreachable_database_and_a_failed_check() -> None:
    report = {
        "overall_status": "unhealthy",
        "timestamp": "not a time",
        "database": {"connected": False, "error": "OperationalError: locked", "status": "error"},
    }
    out = text(render_health(report))
    assert "● error" in out and "unreachable: OperationalError: locked" in out
    assert "checked not a time" in out
    failed = text(render_health({"overall_status": "unhealthy", "error": "boom"}))
    assert "The health check failed: boom" in failed


def test_report_chart_scales_to_the_busiest_day() -> None:
    daily = [
        {"date": "2026-03-14", "commands": 10},
        {"date": "2026-03-15", "commands": 40},
        {"date": "2026-03-16", "commands": 0},
    ]
    out = text(render_report({"period": "weekly", "daily": daily}, "Jazz Cellar"))
    lines = {line.split()[1] + line.split()[2]: line for line in out.splitlines() if "Mar" in line}
    bars = {key: line.count("█") for key, line in lines.items()}
    assert bars == {"Sat14": 8, "Sun15": 32, "Mon16": 0}
    assert "Weekly statistics for Jazz Cellar" in out


def test_empty_report_and_performance() -> None:
    assert "Statistics are unavailable" in text(render_report({}))
    assert "Unavailable (see the log)." in text(render_performance({}))
    empty = {"days": 30, "slowest_commands": []}
    assert "No commands recorded in this period." in text(render_performance(empty))


def test_performance_lists_at_most_the_limit() -> None:
    entries = [
        {
            "command": f"cmd{n:02}",
            "count": n + 1,
            "p50": 0.001 * n,
            "p95": 0.5,
            "p99": 2.5,
            "error_rate": 0.1 if n == 0 else 0.0,
        }
        for n in range(20)
    ]
    out = text(render_performance({"days": 7, "slowest_commands": entries}, limit=15))
    assert "cmd14" in out and "cmd15" not in out
    assert "+5 more commands" in out
    assert "cmd00 1 0.0 ms 500 ms 2.50 s 10.0 %" in out


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0.0, 0.0042, 0.0125, 0.4125, 1.0, 3.21)] == [
        "0.0 ms",
        "4.2 ms",
        "12 ms",
        "412 ms",
        "1.00 s",
        "3.21 s",
    ]
