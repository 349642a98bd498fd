"""The vital event of an overall health status change, from the health report behind it.

The cog's health loop decides when a change is announced (hysteresis, then the alert channel's
rate limit: :mod:`monitoring_cog.cog.alerts`); when it posts to the channel it also emits this
event, so the webhook tells the same story, and reaches someone when the channel cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .events import VitalEvent

__all__ = ("status_change_event",)

_SEVERITY = {"healthy": "info", "degraded": "warning"}
_FIELDS_KEPT = 24
_QUIET = frozenset({"healthy", "unknown"})


def status_change_event(
    previous: str,
    current: str,
    report: Mapping[str, Any],
    *,
    changes: int = 1,
    path: Sequence[str] = (),
    at: float = 0.0,
) -> VitalEvent:
    """``VitalEvent("status_change", ...)`` for a change from ``previous`` to ``current``.

    Its fields are each component's and section's status in ``report``; its detail names those
    not healthy and, when ``changes`` > 1 (changes held back by the alert rate limit), the
    statuses passed through (``path``).
    """
    statuses = {
        name: str(section["status"])
        for name, section in report.items()
        if isinstance(section, Mapping) and "status" in section
    }
    lines = [f"{name}: {status}" for name, status in statuses.items() if status not in _QUIET]
    if "error" in report:
        lines.append(f"report: {report['error']}")
    if changes > 1:
        shown = " → ".join(path)
        if len(path) < changes + 1:
            shown = f"… → {shown}"
        lines.insert(0, f"{changes} changes since the last alert: {shown}")
    fields = dict(list(statuses.items())[:_FIELDS_KEPT])
    return VitalEvent(
        "status_change",
        f"Health changed: {previous} → {current}",
        detail="\n".join(lines),
        fields=fields,
        severity=_SEVERITY.get(current, "critical"),
        at=at,
    )
