"""Reading the API's query parameters: each one checked, a bad one a 400 naming it.

Every value the API reads goes through one of these functions. What they return is typed and in
range (ids are digits, numbers are numbers, choices are known), and what reaches SQL travels as a
query parameter, never as text of the query: bad input is refused with a message, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from ...recording.privacy import is_pseudonym
from ...recording.records import DM_GUILD_ID

__all__ = (
    "BadInput",
    "choice",
    "decode_cursor",
    "encode_cursor",
    "epoch_seconds",
    "guild_id",
    "integer",
    "optional_guild_id",
    "optional_text",
    "optional_user_id",
)

_SNOWFLAKE = re.compile(r"[0-9]{1,20}")
_MAX_TEXT = 100
"""Longest free-text filter accepted (a command name)."""
_T = TypeVar("_T", bound=str)


class BadInput(ValueError):
    """A query parameter the API cannot accept; the message names it and what was expected."""


def guild_id(value: str, name: str = "guild_id") -> str:
    """A guild id: a Discord snowflake (digits), or ``dm`` for direct messages."""
    if value == DM_GUILD_ID or _SNOWFLAKE.fullmatch(value):
        return value
    raise BadInput(f"{name}: expected a numeric guild id (or {DM_GUILD_ID!r}), got {value!r}")


def optional_guild_id(query: Mapping[str, str], name: str = "guild_id") -> str | None:
    """``query[name]`` as a guild id, ``None`` when absent or empty."""
    value = query.get(name, "")
    return guild_id(value, name) if value else None


def optional_user_id(query: Mapping[str, str], name: str = "user_id") -> str | None:
    """``query[name]`` as a user id (digits, or a stored ``h:`` pseudonym), ``None`` if absent."""
    value = query.get(name, "")
    if not value:
        return None
    if _SNOWFLAKE.fullmatch(value) or is_pseudonym(value):
        return value
    raise BadInput(f"{name}: expected a numeric user id, got {value!r}")


def optional_text(query: Mapping[str, str], name: str) -> str | None:
    """``query[name]`` as a short text (a command name), ``None`` if absent or empty."""
    value = query.get(name, "").strip()
    if not value:
        return None
    if len(value) > _MAX_TEXT or not value.isprintable():
        raise BadInput(f"{name}: expected a name of at most {_MAX_TEXT} printable characters")
    return value


def integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """``query[name]`` as an integer from ``low`` to ``high``; ``default`` if absent."""
    value = query.get(name, "")
    if value == "":
        return default
    if not re.fullmatch(r"-?[0-9]{1,12}", value):
        raise BadInput(f"{name}: expected an integer from {low} to {high}, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise BadInput(f"{name}: expected an integer from {low} to {high}, got {number}")
    return number


def choice(query: Mapping[str, str], name: str, default: _T, options: Sequence[_T]) -> _T:
    """``query[name]`` if it is one of ``options``; ``default`` if absent."""
    value = query.get(name, "")
    if value == "":
        return default
    for option in options:
        if value == option:
            return option
    allowed = ", ".join(options)
    raise BadInput(f"{name}: expected one of {allowed}, got {value!r}")


def epoch_seconds(query: Mapping[str, str], name: str) -> float | None:
    """``query[name]`` as epoch seconds (a finite number >= 0), ``None`` if absent."""
    value = query.get(name, "")
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadInput(f"{name}: expected epoch seconds (a number), got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise BadInput(f"{name}: expected epoch seconds (a number >= 0), got {value!r}")
    return number


def encode_cursor(executed_at: float, row_id: int) -> str:
    """The opaque cursor of the page after the row ``(executed_at, row_id)``."""
    raw = f"{executed_at!r}:{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(query: Mapping[str, str], name: str = "cursor") -> tuple[float, int] | None:
    """The ``(executed_at, id)`` a cursor of :func:`encode_cursor` holds; ``None`` if absent."""
    value = query.get(name, "")
    if value == "":
        return None
    problem = BadInput(f"{name}: not a cursor this API returned")
    if len(value) > 64:
        raise problem
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        at_text, _, id_text = raw.partition(":")
        at, row_id = float(at_text), int(id_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise problem from None
    if not math.isfinite(at) or row_id < 0:
        raise problem
    return at, row_id
