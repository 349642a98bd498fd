"""The JSON a Discord webhook is sent for one alert: one embed, within Discord's limits.

Built as a plain dict (Discord's "Execute Webhook" body), not a ``discord.Embed``: it is posted
with aiohttp directly, without discord.py's HTTP client, so it goes out while the gateway is down.
Mentions are off: an alert's text (a command name, an error message) must never ping anyone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .events import VitalEvent

__all__ = ("SEVERITY_COLOURS", "webhook_payload")

SEVERITY_COLOURS = {"critical": 0xE74C3C, "warning": 0xE67E22, "info": 0x2ECC71}
"""Embed colours: red, orange, green (discord.py's ``Colour.red()`` and friends)."""
_ICONS = {"critical": "🔴", "warning": "🟠", "info": "🟢"}

# Discord's documented limits.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
FIELDS_LIMIT = 25
TOTAL_LIMIT = 6000
USERNAME = "monitoring_cog"


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def webhook_payload(
    event: VitalEvent, *, held: int = 0, min_interval: float = 0.0, source: str = ""
) -> dict[str, Any]:
    """The webhook body for ``event``.

    ``held`` counts the events of the same kind held back by the rate limit since the previous
    message (``min_interval`` seconds per kind); the description says so. ``source`` names the
    process (host and pid), for bots running as several.
    """
    icon = _ICONS.get(event.severity, "⚪")
    description = event.detail
    if held:
        note = (
            f"{held} more {event.kind} alert(s) since the previous message, held back by the "
            f"alert rate limit (at most one per {min_interval:g} s: `alerts.min_interval`); "
            "this is the latest."
        )
        description = f"{description}\n\n{note}" if description else note
    embed: dict[str, Any] = {
        "title": _trim(f"{icon} {event.title}", TITLE_LIMIT),
        "color": SEVERITY_COLOURS.get(event.severity, SEVERITY_COLOURS["critical"]),
        "fields": [],
    }
    if description:
        embed["description"] = _trim(description, DESCRIPTION_LIMIT)
    if event.at > 0:
        embed["timestamp"] = datetime.fromtimestamp(event.at, UTC).isoformat()
    footer = _trim(" · ".join(part for part in (event.kind, source) if part), FOOTER_LIMIT)
    embed["footer"] = {"text": footer}
    budget = TOTAL_LIMIT - len(embed["title"]) - len(embed.get("description", "")) - len(footer)
    for name, value in list(event.fields.items())[:FIELDS_LIMIT]:
        name = _trim(str(name) or "-", FIELD_NAME_LIMIT)
        value = _trim(str(value) or "-", FIELD_VALUE_LIMIT)
        if len(name) + len(value) > budget:
            break
        budget -= len(name) + len(value)
        embed["fields"].append({"name": name, "value": value, "inline": True})
    return {"username": USERNAME, "embeds": [embed], "allowed_mentions": {"parse": []}}
