"""Embeds for /health, /stats and health alerts: pure functions from report dicts.

Every builder keeps within Discord's embed limits whatever the data (long guild or command
names, hundreds of commands, a month of days): text is trimmed and lists are cut with a
"+N more" line, so a send never fails on size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import discord

from ..vitals.gateway_summary import gateway_lines
from ..vitals.rate_limit_summary import rate_limit_lines

__all__ = (
    "STATUS_COLOURS",
    "activity_chart",
    "alert_embed",
    "embed_size",
    "event_loop_text",
    "health_embed",
    "performance_embed",
    "report_embed",
    "stalls_text",
)

STATUS_COLOURS = {
    "healthy": discord.Colour.green(),
    "degraded": discord.Colour.orange(),
    "unhealthy": discord.Colour.red(),
}
_STATUS_ICONS = {
    "healthy": "🟢",
    "warning": "🟡",
    "slow": "🟡",
    "degraded": "🟠",
    "critical": "🔴",
    "error": "🔴",
    "unhealthy": "🔴",
}

# Discord's documented limits.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
FIELDS_LIMIT = 25
TOTAL_LIMIT = 6000

_BLOCKS = " ▏▎▍▌▋▊▉█"
CHART_WIDTH = 16


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def embed_size(embed: discord.Embed) -> int:
    """Characters Discord counts against the 6000 total of an embed."""
    return len(embed)


def _icon(status: str | None) -> str:
    return _STATUS_ICONS.get(status or "", "⚪")


def _escape(text: str) -> str:
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def _code(text: str) -> str:
    """``text`` for an inline code span: shown as is there, but for a backtick, which would end
    the span."""
    return text.replace("`", "'")


def _add_field(embed: discord.Embed, name: str, value: str, *, inline: bool = True) -> None:
    if len(embed.fields) >= FIELDS_LIMIT:
        return
    name = _trim(name, FIELD_NAME_LIMIT)
    embed.add_field(name=name, value=_trim(value or "—", FIELD_VALUE_LIMIT), inline=inline)


def health_embed(report: dict[str, Any]) -> discord.Embed:
    """The health report, coloured by ``overall_status``."""
    status = str(report.get("overall_status", "unhealthy"))
    embed = discord.Embed(
        title=f"{_icon(status)} Bot health: {status}",
        colour=STATUS_COLOURS.get(status, discord.Colour.red()),
    )
    if "error" in report and "memory" not in report:
        embed.description = _trim(f"The health check failed: {report['error']}", DESCRIPTION_LIMIT)
        return embed
    memory = report.get("memory", {})
    cpu = report.get("cpu", {})
    database = report.get("database", {})
    errors = report.get("error_rate", {})
    recording = report.get("recording", {})
    _add_field(
        embed,
        f"{_icon(memory.get('status'))} Memory",
        f"{memory.get('rss_mb', 0):.1f} MB RSS\n{memory.get('percent', 0):.1f} % of RAM",
    )
    _add_field(
        embed,
        f"{_icon(cpu.get('status'))} CPU",
        f"{cpu.get('percent', 0):.1f} %",
    )
    if database.get("connected"):
        db_text = (
            f"{database.get('response_time', 0) * 1000:.1f} ms round trip\n"
            f"{database.get('server_count', 0)} servers, "
            f"{database.get('database_size_mb', 0):.1f} MB"
        )
    else:
        db_text = f"unreachable: {database.get('error', 'unknown error')}"
    _add_field(embed, f"{_icon(database.get('status'))} Database", db_text)
    window_minutes = round(float(errors.get("window_seconds", 3600)) / 60)
    _add_field(
        embed,
        f"{_icon(errors.get('status'))} Errors (last {window_minutes} min)",
        f"{errors.get('failed_commands', 0)} of {errors.get('total_commands', 0)} commands "
        f"({errors.get('error_rate', 0) * 100:.1f} %)",
    )
    _add_field(
        embed,
        f"{_icon(recording.get('status'))} Recording",
        f"{recording.get('pending', 0)} queued, {recording.get('dropped', 0)} dropped\n"
        f"{recording.get('write_errors', 0)} write errors",
    )
    gateway = report.get("gateway")
    if isinstance(gateway, dict):
        _add_field(
            embed, f"{_icon(gateway.get('status'))} Gateway", "\n".join(gateway_lines(gateway))
        )
    rate_limits = report.get("rate_limits")
    if isinstance(rate_limits, dict):
        _add_field(
            embed,
            f"{_icon(rate_limits.get('status'))} Rate limits",
            # Route templates hold underscores: shown as written, not as markdown.
            _escape("\n".join(rate_limit_lines(rate_limits))),
        )
    event_loop = report.get("event_loop")
    if isinstance(event_loop, dict):
        _add_field(
            embed,
            f"{_icon(event_loop.get('status'))} Event loop",
            event_loop_text(event_loop),
            inline=False,
        )
    internal = report.get("internal_errors", {})
    if internal.get("count"):
        _add_field(embed, "Monitoring errors", f"{internal['count']} (see the bot's log)")
    uptime = int(float(report.get("uptime_seconds", 0)))
    days, rest = divmod(uptime, 86400)
    hours, rest = divmod(rest, 3600)
    checked = report.get("timestamp", "")
    embed.set_footer(text=f"Up {days}d {hours}h {rest // 60}m · checked {checked}")
    return embed


def event_loop_text(section: dict[str, Any]) -> str:
    """The health report's ``event_loop`` section in a line or two: lag, stalls, the worst with
    the command it held up and the line of the bot's code that held the loop."""
    if section.get("status") == "unknown" and not section.get("stalls"):
        return "not watched"
    minutes = round(float(section.get("window_seconds", 3600)) / 60)
    count = int(section.get("stalls", 0))
    text = f"lag {float(section.get('lag_ms', 0)):.1f} ms · "
    if not count:
        return text + f"no stalls in the last {minutes} min"
    text += f"{count} stall{'s' if count != 1 else ''} in the last {minutes} min"
    worst = section.get("worst")
    if isinstance(worst, dict):
        command = worst.get("command")
        during = f" in `{_code(str(command))}`" if command else " outside any command"
        seconds = float(worst.get("duration_ms", 0)) / 1000
        where = worst.get("location") or "an unknown place"
        text += f"\nworst {seconds:.2f} s{during}\nat `{_code(_trim(str(where), 300))}`"
    return text


def stalls_text(stalls: Sequence[dict[str, Any]], limit: int = 5) -> str:
    """Event-loop stalls per command (``/stats performance``), most first, one line each."""
    lines = []
    for entry in stalls[:limit]:
        command = entry.get("command")
        name = f"`{_code(str(command))}`" if command else "outside any command"
        where = entry.get("location") or "an unknown place"
        lines.append(
            f"{name}: {entry.get('count', 0)} times, worst"
            f" {float(entry.get('max_seconds', 0)):.2f} s at `{_code(_trim(str(where), 200))}`"
        )
    if len(stalls) > limit:
        lines.append(f"+{len(stalls) - limit} more")
    return "\n".join(lines)


def activity_chart(daily: Sequence[dict[str, Any]], key: str = "commands") -> str:
    """One line per day with a Unicode bar proportional to ``key``, in a code block."""
    peak = max((int(day.get(key, 0)) for day in daily), default=0)
    lines = []
    for day in daily:
        value = int(day.get(key, 0))
        eighths = round(value / peak * CHART_WIDTH * 8) if peak else 0
        if value and not eighths:
            eighths = 1  # Any activity shows, however small next to the peak.
        bar = _BLOCKS[8] * (eighths // 8) + (_BLOCKS[eighths % 8] if eighths % 8 else "")
        label = date.fromisoformat(str(day["date"])).strftime("%a %d %b")
        lines.append(f"{label} {bar.ljust(CHART_WIDTH)} {value}")
    return "```\n" + "\n".join(lines) + "\n```" if lines else ""


def report_embed(report: dict[str, Any], guild_name: str | None = None) -> discord.Embed:
    """A weekly or monthly report with the day-by-day activity drawn as a bar chart."""
    period = str(report.get("period", "report"))
    title = f"{period.capitalize()} statistics"
    if guild_name:
        title += f" for {guild_name}"
    embed = discord.Embed(title=_trim(title, TITLE_LIMIT), colour=discord.Colour.blurple())
    if not report:
        embed.description = "Statistics are unavailable right now (see the bot's log)."
        return embed
    chart = activity_chart(report.get("daily", []))
    header = f"{report.get('start_date')} to {report.get('end_date')} (UTC) · commands per day\n"
    embed.description = _trim(header + chart, DESCRIPTION_LIMIT)
    if has_music(report):
        _add_field(
            embed,
            "🎵 Music",
            f"{report.get('total_songs', 0)} songs · {report.get('total_playtime_hours', 0):.1f}"
            f" h\n{report.get('total_skips', 0)} skips ({report.get('skip_rate', 0) * 100:.0f} %)"
            f" · {report.get('total_pauses', 0)} pauses",
        )
    _add_field(
        embed,
        "⌨️ Commands",
        f"{report.get('total_commands', 0)} run · {report.get('error_rate', 0) * 100:.1f} % failed",
    )
    _add_field(
        embed,
        "👥 Users",
        f"{report.get('avg_daily_users', 0):.1f} a day on average\n"
        f"peak {report.get('peak_users', 0)} · {report.get('active_days', 0)} active days",
    )
    top = report.get("top_commands", [])
    if top:
        lines = [f"`{_escape(str(c['command']))}`: {c['count']}" for c in top]
        _add_field(embed, "Top commands", _join_within(lines, FIELD_VALUE_LIMIT), inline=False)
    components = report.get("top_components") or []
    if components:
        lines = [
            f"`{_code(str(c['component']))}` ({_escape(str(c['kind']))}): {c['uses']} uses · "
            f"{c['failures']} failed · {c['users']} users · {c['avg_ms']:.0f} ms"
            for c in components
        ]
        _add_field(embed, "🔘 Top components", _join_within(lines, FIELD_VALUE_LIMIT), inline=False)
    events = report.get("top_events") or []
    if events:
        lines = [
            f"`{_code(str(e['name']))}`: {e['count']} times · total {_number(e['total'])} · "
            f"{e['users']} users"
            for e in events
        ]
        _add_field(embed, "📌 Top events", _join_within(lines, FIELD_VALUE_LIMIT), inline=False)
    return embed


def has_music(report: dict[str, Any]) -> bool:
    """Whether ``report`` has any music figure (songs, playtime, skips or pauses) to show."""
    return any(
        report.get(key) for key in ("total_songs", "total_playtime", "total_skips", "total_pauses")
    )


def _number(value: float) -> str:
    """``value`` without a useless ``.0``: 12 for 12.0, 2.5 as is."""
    number = float(value)
    return f"{number:.0f}" if number.is_integer() else f"{number:g}"


def performance_embed(stats: dict[str, Any], *, limit: int = 15) -> discord.Embed:
    """Per command: count, p50, p95, p99 and error rate, slowest first; then the message
    components: uses, average and longest duration, error rate."""
    days = stats.get("days", 7)
    embed = discord.Embed(
        title=f"Command performance, last {days} days", colour=discord.Colour.blurple()
    )
    entries = stats.get("slowest_commands", [])
    components = stats.get("components") or []
    if not stats:
        embed.description = "Performance statistics are unavailable right now."
        return embed
    if not entries and not components:
        embed.description = "No commands recorded in this period."
        return embed
    component_block = ""
    if components:
        rows = ["component         kind    uses    avg    max   err"]
        for entry in components[:limit]:
            name = _trim(str(entry["component"]), 16).ljust(16)
            rows.append(
                f"{name} {str(entry['kind'])[:6]:<6} {entry['uses']:>5} "
                f"{_ms(entry['avg_ms'] / 1000)} {_ms(entry['max_ms'] / 1000)} "
                f"{entry['error_rate'] * 100:>4.0f}%"
            )
        component_block = "\n**Components**\n```\n" + _join_within(rows, 900) + "\n```"
        if len(components) > limit:
            component_block += f"\n+{len(components) - limit} more components"
    if not entries:
        embed.description = _trim(
            "No commands recorded in this period." + component_block, DESCRIPTION_LIMIT
        )
        return embed
    lines = ["command           runs    p50    p95    p99   err"]
    for entry in entries[:limit]:
        name = _trim(str(entry["command"]), 16).ljust(16)
        lines.append(
            f"{name} {entry['count']:>5} {_ms(entry['p50'])} {_ms(entry['p95'])} "
            f"{_ms(entry['p99'])} {entry['error_rate'] * 100:>4.0f}%"
        )
    more = len(entries) - limit
    stalls = stats.get("stalls") or []
    # The table keeps most of the room; the stalls' lines get what is left of it.
    room = DESCRIPTION_LIMIT - 20 - (800 if stalls else 0) - len(component_block)
    body = "```\n" + _join_within(lines, room) + "\n```"
    if more > 0:
        body += f"\n+{more} more commands"
    body += component_block
    if stalls:
        body += "\n**Event loop blocked** (the bot answered nothing meanwhile):\n" + stalls_text(
            stalls
        )
    embed.description = _trim(body, DESCRIPTION_LIMIT)
    embed.set_footer(text="Times are per run; p95 = 95 % of runs were at least this fast.")
    return embed


def alert_embed(
    previous: str,
    current: str,
    report: dict[str, Any],
    *,
    changes: int = 1,
    path: Sequence[str] = (),
) -> discord.Embed:
    """An alert posted when the overall status changes.

    When the alert rate limit held changes back, ``changes`` counts the changes this alert covers
    and ``path`` lists the latest statuses passed through (``current`` last); the description
    says so.
    """
    embed = health_embed(report)
    embed.title = _trim(f"{_icon(current)} Health changed: {previous} → {current}", TITLE_LIMIT)
    if changes > 1:
        shown = " → ".join(path)
        if len(path) < changes + 1:
            shown = f"… → {shown}"
        held = (
            f"{changes} changes since the last alert, held back by the alert rate limit "
            f"(`cog.alert_min_interval`): {shown}"
        )
        embed.description = _trim(
            f"{held}\n{embed.description}" if embed.description else held, DESCRIPTION_LIMIT
        )
    return embed


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:>5.0f}ms" if ms >= 10 else f"{ms:>5.1f}ms"


def _join_within(lines: Sequence[str], limit: int) -> str:
    """Join lines while they fit in ``limit``, then say how many were left out."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        suffix = f"\n+{len(lines) - index} more"
        if used + len(line) + 1 + len(suffix) > limit:
            kept.append(suffix.strip())
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)
