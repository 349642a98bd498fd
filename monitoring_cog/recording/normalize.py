"""Cleaning values from callers before they are recorded.

Ids may arrive as ``int`` or ``str``; names may be ``None``, huge, or carry control characters;
durations may be negative, NaN or infinite. Each is turned into something safe to store, within
the documented limits, and every correction is counted (``ErrorCounter.rejected_inputs``).
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

from ..errors import ErrorCounter
from .records import DM_GUILD_ID

__all__ = (
    "MAX_COMMAND_LENGTH",
    "MAX_DURATION",
    "MAX_ERROR_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_TIMESTAMP",
    "MIN_TIMESTAMP",
    "clean_duration",
    "clean_guild_id",
    "clean_text",
    "clean_timestamp",
    "clean_user_id",
)

_log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100
"""Longest guild name or user name stored (Discord allows 100 and 32)."""
MAX_COMMAND_LENGTH = 100
"""Longest command name stored (a qualified slash command name is at most 3 x 32 + 2)."""
MAX_ERROR_LENGTH = 1000
"""Longest error message stored."""
MAX_ID_LENGTH = 64
MAX_DURATION = 86_400.0
"""Durations are clamped to [0, one day]."""

MIN_TIMESTAMP = 0.0
MAX_TIMESTAMP = 253_402_300_799.0
"""``executed_at`` is kept within 1970-01-01 and 9999-12-31 23:59:59 UTC (what a datetime holds)."""

# C0, DEL and C1 (U+0080-U+009F: 0x9B is a terminal's CSI): removed. Tab and newline stay in
# multi-line text (error messages) and become spaces elsewhere.
_CONTROL: dict[int, str | None] = {
    c: None for c in (*range(32), *range(127, 160)) if chr(c) not in "\t\n"
}
_SINGLE_LINE: dict[int, str | None] = {**_CONTROL, ord("\t"): " ", ord("\n"): " "}


def clean_text(
    value: Any, limit: int, errors: ErrorCounter | None = None, *, multiline: bool = False
) -> str | None:
    """``value`` as text without control characters, trimmed to ``limit``; ``None`` stays.

    Tab and newline are kept only with ``multiline`` (error messages); elsewhere (ids, names,
    commands) they become spaces, so a stored name is always one line. A value that had to be
    changed (control characters, unencodable characters, too long) is counted in ``errors``.
    """
    if value is None:
        return None
    original = value if isinstance(value, str) else str(value)
    text = original
    if not text.isprintable():
        text = text.translate(_CONTROL if multiline else _SINGLE_LINE)
    # Lone surrogates cannot be encoded for storage.
    text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if text != original:
        _reject(errors, "monitoring: a text value was cleaned or trimmed to %d characters", limit)
    return text


def clean_guild_id(value: Any, errors: ErrorCounter | None = None) -> str:
    """A guild id as text; ``None`` or empty means a direct message (:data:`DM_GUILD_ID`)."""
    if value is None:
        return DM_GUILD_ID
    text = (clean_text(value, MAX_ID_LENGTH, errors) or "").strip()
    return text or DM_GUILD_ID


def clean_user_id(value: Any, errors: ErrorCounter | None = None) -> str:
    """A user id as text; ``None`` or empty becomes ``"unknown"``."""
    text = (clean_text(value, MAX_ID_LENGTH, errors) or "").strip() if value is not None else ""
    return text or "unknown"


def clean_duration(value: Any, errors: ErrorCounter | None = None) -> float:
    """A duration in seconds, clamped to ``[0, MAX_DURATION]``; junk becomes 0.0 (counted)."""
    try:
        seconds = float(value)
    except OverflowError:  # An integer past any float: past one end of the range or the other.
        seconds = math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        seconds = math.nan
    if math.isnan(seconds):
        _reject(errors, "monitoring: duration %r is not a number; recorded as 0", value)
        return 0.0
    if seconds < 0:
        _reject(errors, "monitoring: duration %r is negative; recorded as 0", value)
        return 0.0
    if seconds > MAX_DURATION:
        _reject(errors, "monitoring: duration %r exceeds one day; clamped", value)
        return MAX_DURATION
    return seconds


def clean_timestamp(value: Any, default: float, errors: ErrorCounter | None = None) -> float:
    """An ``executed_at`` as epoch seconds; ``None`` means ``default`` (now minus the duration).

    Numbers and datetimes (a naive one is taken as UTC) within years 1970 to 9999 are kept.
    NaN, infinities, other years and anything else become ``default`` (counted): such a time
    cannot be given a UTC day, and would fail the whole batch the writer aggregates it in.
    """
    if value is None:
        return default
    try:
        if isinstance(value, datetime):
            moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            seconds = moment.timestamp()
        elif isinstance(value, bool):
            seconds = math.nan  # True is 1.0 to float(), but it is not a time.
        else:
            seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        seconds = math.nan
    if not MIN_TIMESTAMP <= seconds <= MAX_TIMESTAMP:  # False for NaN as well.
        _reject(
            errors, "monitoring: executed_at %r is not a time in years 1970-9999; now used", value
        )
        return default
    return seconds


def _reject(errors: ErrorCounter | None, message: str, value: Any) -> None:
    if errors is not None:
        errors.rejected_inputs += 1
    _log.warning(message, value)
