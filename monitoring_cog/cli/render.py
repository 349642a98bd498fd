"""Terminal rendering of health reports, statistics reports and performance statistics.

Pure functions from the library's report dicts to :mod:`rich` renderables: they print nothing and
read nothing, so the demo and the operator commands share them and tests can render them into a
string. They mirror what the cog's embeds show in Discord (``/health``, ``/stats weekly``,
``/stats monthly``, ``/stats performance``), laid out for a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from rich import box
from rich.bar import Bar
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..vitals.gateway_summary import gateway_lines
from ..vitals.rate_limit_summary import rate_limit_lines

__all__ = (
    "STATUS_STYLES",
    "format_duration",
    "render_growth",
    "render_health",
    "render_performance",
    "render_report",
)

STATUS_STYLES = {
    "healthy": "green",
    "degraded": "dark_orange",
    "unhealthy": "red",
    "warning": "yellow",
    "slow": "yellow",
    "critical": "red",
    "error": "red",
}
"""Colour of each overall and component status."""

CHART_WIDTH = 32
"""Characters of the longest bar in an activity chart."""
PERFORMANCE_ROWS = 15
"""Commands listed in the performance table before a "+N more" line."""


def _status(status: str | None) -> Text:
    name = status or "unknown"
    return Text(f"● {name}", style=STATUS_STYLES.get(name, "dim"))


def format_duration(seconds: float) -> str:
    """A latency for people: ``"8.0 ms"``, ``"412 ms"``, ``"3.21 s"``."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def _when(timestamp: Any) -> str:
    """An ISO 8601 time as ``2026-03-15 21:31 UTC`` (as given if it is not one)."""
    try:
        moment = datetime.fromisoformat(str(timestamp))
    except ValueError:
        return str(timestamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _uptime(seconds: float) -> str:
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h {rest // 60}m"


def _health_rows(report: Mapping[str, Any]) -> list[tuple[str, str | None, str]]:
    rows: list[tuple[str, str | None, str]] = []
    memory = report.get("memory")
    if memory:
        rows.append(
            (
                "Memory",
                memory.get("status"),
                f"{memory.get('rss_mb', 0):.1f} MB resident, "
                f"{memory.get('percent', 0):.1f} % of RAM",
            )
        )
    cpu = report.get("cpu")
    if cpu:
        rows.append(("CPU", cpu.get("status"), f"{cpu.get('percent', 0):.1f} % of one core"))
    database = report.get("database")
    if database:
        if database.get("connected"):
            detail = (
                f"{database.get('response_time', 0) * 1000:.1f} ms round trip, "
                f"{database.get('server_count', 0)} servers, "
                f"{database.get('database_size_mb', 0):.1f} MB"
            )
        else:
            detail = f"unreachable: {database.get('error', 'unknown error')}"
        rows.append(("Database", database.get("status"), detail))
    errors = report.get("error_rate")
    if errors:
        minutes = round(float(errors.get("window_seconds", 3600)) / 60)
        rows.append(
            (
                f"Errors (last {minutes} min)",
                errors.get("status"),
                f"{errors.get('failed_commands', 0)} of {errors.get('total_commands', 0)} "
                f"commands failed ({errors.get('error_rate', 0) * 100:.1f} %)",
            )
        )
    event_loop = report.get("event_loop")
    if isinstance(event_loop, Mapping):
        rows.append(("Event loop", event_loop.get("status"), _event_loop_detail(event_loop)))
    recording = report.get("recording")
    if recording:
        rows.append(
            (
                "Recording",
                recording.get("status"),
                f"{recording.get('written', 0)} written, {recording.get('pending', 0)} queued, "
                f"{recording.get('dropped', 0)} dropped, "
                f"{recording.get('write_errors', 0)} write errors",
            )
        )
    gateway = report.get("gateway")
    if isinstance(gateway, Mapping):
        rows.append(("Gateway", gateway.get("status"), " · ".join(gateway_lines(gateway))))
    rate_limits = report.get("rate_limits")
    if isinstance(rate_limits, Mapping):
        rows.append(
            ("Rate limits", rate_limits.get("status"), " · ".join(rate_limit_lines(rate_limits)))
        )
    return rows


def _event_loop_detail(section: Mapping[str, Any]) -> str:
    count = int(section.get("stalls", 0))
    minutes = round(float(section.get("window_seconds", 3600)) / 60)
    detail = f"lag {float(section.get('lag_ms', 0)):.1f} ms, {count} stalls in {minutes} min"
    worst = section.get("worst")
    if isinstance(worst, Mapping):
        during = f"in {worst['command']}" if worst.get("command") else "outside any command"
        seconds = float(worst.get("duration_ms", 0)) / 1000
        detail += (
            f"; worst {format_duration(seconds)} {during} at "
            f"{worst.get('location') or 'an unknown place'}"
        )
    return detail


def render_health(report: Mapping[str, Any]) -> RenderableType:
    """A health report (full, or the database-side part the command line can see)."""
    status = str(report.get("overall_status", "unhealthy"))
    style = STATUS_STYLES.get(status, "red")
    title = Text.assemble("Bot health: ", (status, f"bold {style}"))
    if "error" in report and not _health_rows(report):
        body: RenderableType = Text(f"The health check failed: {report['error']}", style="red")
        return Panel(body, title=title, title_align="left", border_style=style, box=box.ROUNDED)
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False)
    table.add_column("Component", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Details")
    for name, component_status, detail in _health_rows(report):
        table.add_row(name, _status(component_status), detail)
    parts: list[RenderableType] = [table]
    internal = report.get("internal_errors") or {}
    if internal.get("count"):
        parts.append(Text(f"Monitoring errors: {internal['count']} (see the bot's log)", "yellow"))
    if "last_recorded_at" in report:
        last = report["last_recorded_at"]
        parts.append(Text(f"Last record: {_when(last) if last else 'never'}"))
    if report.get("note"):
        parts.append(Text(str(report["note"]), style="dim"))
    footer = f"checked {_when(report.get('timestamp'))}"
    if "uptime_seconds" in report:
        footer = f"up {_uptime(float(report['uptime_seconds']))} · {footer}"
    return Panel(
        Group(*parts),
        title=title,
        title_align="left",
        subtitle=Text(footer, style="dim"),
        subtitle_align="right",
        border_style=style,
        box=box.ROUNDED,
    )


def _activity_chart(daily: Sequence[Mapping[str, Any]], key: str = "commands") -> Table:
    peak = max((int(day.get(key, 0)) for day in daily), default=0)
    chart = Table.grid(padding=(0, 1))
    chart.add_column(no_wrap=True, style="dim")
    chart.add_column(width=CHART_WIDTH, no_wrap=True)
    chart.add_column(justify="right", no_wrap=True)
    for day in daily:
        value = int(day.get(key, 0))
        label = date.fromisoformat(str(day["date"])).strftime("%a %d %b")
        bar = Bar(size=max(peak, 1), begin=0, end=value, width=CHART_WIDTH, color="blue")
        chart.add_row(label, bar, str(value))
    return chart


def render_report(report: Mapping[str, Any], guild_name: str | None = None) -> RenderableType:
    """A weekly or monthly statistics report, with the day-by-day activity as a bar chart."""
    period = str(report.get("period", "report"))
    title = f"{period.capitalize()} statistics"
    if guild_name:
        title += f" for {guild_name}"
    if not report:
        return Panel(
            Text("Statistics are unavailable (see the log)."), title=title, title_align="left"
        )
    header = Text(
        f"{report.get('start_date')} to {report.get('end_date')} (UTC) · commands per day",
        style="dim",
    )
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold", no_wrap=True)
    summary.add_column()
    if any(report.get(key) for key in _MUSIC_KEYS):
        summary.add_row(
            "Music",
            f"{report.get('total_songs', 0)} songs · {report.get('total_playtime_hours', 0):.1f}"
            f" h · {report.get('total_skips', 0)} skips ({report.get('skip_rate', 0) * 100:.0f}"
            f" %) · {report.get('total_pauses', 0)} pauses",
        )
    summary.add_row(
        "Commands",
        f"{report.get('total_commands', 0)} run · {report.get('failed_commands', 0)} failed "
        f"({report.get('error_rate', 0) * 100:.1f} %)",
    )
    summary.add_row(
        "Users",
        f"{report.get('avg_daily_users', 0):.1f} a day on average · peak "
        f"{report.get('peak_users', 0)} · {report.get('active_days', 0)} active days",
    )
    top = report.get("top_commands") or []
    if top:
        summary.add_row(
            "Top commands", ", ".join(f"{entry['command']} {entry['count']}" for entry in top)
        )
    components = report.get("top_components") or []
    if components:
        summary.add_row(
            "Top components",
            ", ".join(
                f"{c['component']} ({c['kind']}) {c['uses']} uses, {c['failures']} failed,"
                f" {c['users']} users, {c['avg_ms']:.0f} ms"
                for c in components
            ),
        )
    events = report.get("top_events") or []
    if events:
        summary.add_row(
            "Top events",
            ", ".join(
                f"{e['name']} {e['count']} times, total {_number(e['total'])}, {e['users']} users"
                for e in events
            ),
        )
    return Panel(
        Group(header, _activity_chart(report.get("daily", [])), Text(""), summary),
        title=Text(title, style="bold"),
        title_align="left",
        border_style="blue",
        box=box.ROUNDED,
    )


_MUSIC_KEYS = ("total_songs", "total_playtime", "total_skips", "total_pauses")
"""A report's music figures: the music row is left out when all are 0."""


def _number(value: float) -> str:
    """``value`` without a useless ``.0``: 12 for 12.0, 2.5 as is."""
    number = float(value)
    return f"{number:.0f}" if number.is_integer() else f"{number:g}"


def _components_table(components: Sequence[Mapping[str, Any]], limit: int) -> RenderableType:
    """Per component: kind, uses, average and longest duration, error rate."""
    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False)
    table.add_column("Component", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    for name in ("Uses", "Avg", "Max", "Errors"):
        table.add_column(name, justify="right", no_wrap=True)
    for entry in components[:limit]:
        rate = float(entry.get("error_rate", 0))
        table.add_row(
            str(entry["component"]),
            str(entry["kind"]),
            str(entry["uses"]),
            format_duration(float(entry["avg_ms"]) / 1000),
            format_duration(float(entry["max_ms"]) / 1000),
            Text(f"{rate * 100:.1f} %", style="red" if rate >= 0.05 else ""),
        )
    return table


def render_performance(
    stats: Mapping[str, Any], *, limit: int = PERFORMANCE_ROWS
) -> RenderableType:
    """Per command: runs, p50, p95, p99 and error rate, slowest (by average) first; then the
    message components, most used first."""
    days = stats.get("days", 7)
    title = Text(f"Command performance, last {days} days", style="bold")
    entries = stats.get("slowest_commands") or []
    components = stats.get("components") or []
    if not stats or not entries:
        message = "No commands recorded in this period." if stats else "Unavailable (see the log)."
        if components:
            body: RenderableType = Group(
                Text(message),
                Text("Components", style="bold"),
                _components_table(components, limit),
            )
            return Panel(body, title=title, title_align="left", box=box.ROUNDED)
        return Panel(Text(message), title=title, title_align="left", box=box.ROUNDED)
    stalls = stats.get("stalls") or []
    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False)
    table.add_column("Command", no_wrap=True)
    columns = ("Runs", "p50", "p95", "p99", "Errors", *(("Stalls",) if stalls else ()))
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True)
    for entry in entries[:limit]:
        rate = float(entry.get("error_rate", 0))
        stalled = int(entry.get("stalls", 0))
        table.add_row(
            str(entry["command"]),
            str(entry["count"]),
            format_duration(entry["p50"]),
            format_duration(entry["p95"]),
            format_duration(entry["p99"]),
            Text(f"{rate * 100:.1f} %", style="red" if rate >= 0.05 else ""),
            *((Text(str(stalled), style="red" if stalled else ""),) if stalls else ()),
        )
    parts: list[RenderableType] = [table]
    if len(entries) > limit:
        parts.append(Text(f"+{len(entries) - limit} more commands", style="dim"))
    if stalls:
        parts.append(_stalls(stalls))
    if components:
        parts.append(Text("Components", style="bold"))
        parts.append(_components_table(components, limit))
        if len(components) > limit:
            parts.append(Text(f"+{len(components) - limit} more components", style="dim"))
    parts.append(Text("p95: 95 % of runs were at least this fast.", style="dim"))
    return Panel(
        Group(*parts), title=title, title_align="left", border_style="blue", box=box.ROUNDED
    )


def _signed(number: int) -> str:
    return f"+{number:,}" if number > 0 else f"{number:,}"


def _counted(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def render_growth(days: Sequence[Mapping[str, Any]]) -> RenderableType:
    """The bot's growth per UTC day: guilds joined and left, and the day's guild and member
    counts ("—" on a day without a snapshot), newest last, with the period's totals."""
    title = Text(f"Growth, last {len(days)} days (UTC)", style="bold")
    if not days:
        return Panel(Text("Unavailable (see the log)."), title=title, title_align="left")
    joins = sum(int(day.get("joins", 0)) for day in days)
    leaves = sum(int(day.get("leaves", 0)) for day in days)
    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False)
    table.add_column("Day", no_wrap=True)
    for name in ("Joined", "Left", "Net", "Guilds", "Members"):
        table.add_column(name, justify="right", no_wrap=True)
    for day in days:
        label = date.fromisoformat(str(day["date"])).strftime("%a %d %b")
        table.add_row(
            label,
            str(int(day.get("joins", 0))),
            str(int(day.get("leaves", 0))),
            _signed(int(day.get("net", 0))),
            _counted(day.get("guilds")),
            _counted(day.get("members")),
        )
    latest = next((day for day in reversed(days) if day.get("guilds") is not None), None)
    summary = f"{joins:,} joined, {leaves:,} left (net {_signed(joins - leaves)})"
    if latest is not None:
        summary += (
            f" · {_counted(latest['guilds'])} guilds, {_counted(latest.get('members'))} members"
            f" on {date.fromisoformat(str(latest['date'])).strftime('%a %d %b')}"
        )
    else:
        summary += " · no guild counts recorded in this period (the bot records them while it runs)"
    return Panel(
        Group(table, Text(summary)),
        title=title,
        title_align="left",
        border_style="blue",
        box=box.ROUNDED,
    )


def _stalls(stalls: Sequence[Mapping[str, Any]], limit: int = 5) -> RenderableType:
    """The event-loop stalls per command, most first, each with where its longest was."""
    lines = Text("Event loop blocked (the bot answered nothing meanwhile):\n", style="bold")
    for entry in stalls[:limit]:
        command = entry.get("command")
        name = str(command) if command else "outside any command"
        lines.append(f"  {name}: ", style="red")
        lines.append(
            f"{entry.get('count', 0)} times, worst "
            f"{format_duration(float(entry.get('max_seconds', 0)))} at "
            f"{entry.get('location') or 'an unknown place'}\n"
        )
    if len(stalls) > limit:
        lines.append(f"  +{len(stalls) - limit} more\n", style="dim")
    lines.rstrip()
    return lines
