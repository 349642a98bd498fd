"""Command parameters as the JSON text stored in the audit log.

Whatever a command was given is stored: Discord objects as their id, other values JSON cannot
hold as text (counted), structures nested past :data:`MAX_PARAMETER_DEPTH` levels cut and marked.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ("MAX_PARAMETER_DEPTH", "TOO_DEEP", "cut_parameters", "serialize_parameters")

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
"""Plain JSON values only (no ``default``): what almost every command's arguments are."""

MAX_PARAMETER_DEPTH = 100
"""Levels of nesting kept of parameters too deep to serialise whole (see :func:`cut_parameters`)."""
TOO_DEEP = "[too deep]"
"""What stands in for each container past :data:`MAX_PARAMETER_DEPTH` levels."""


def serialize_parameters(parameters: dict[str, Any] | str | None) -> tuple[str, int]:
    """Parameters as compact JSON text, and how many values JSON could not hold as they were.

    Discord objects (members, channels, roles, messages) are stored as their id and sets as
    lists: faithful conversions. Anything else JSON cannot encode is stored as its ``str`` and
    counted; so are NaN and circular structures (the whole dict then falls back to text values).
    Parameters nested deeper than :data:`MAX_PARAMETER_DEPTH` levels (however deep this
    Python's encoder could go) are stored cut to that many levels, counted once.
    """
    try:
        text, fallbacks = _serialize(parameters)
    except RecursionError:
        if not isinstance(parameters, dict):
            raise
    else:
        # The same cut whether or not this Python's encoder went deeper (3.13's goes past
        # 5,000 levels, 3.11's stops near 1,000): what is stored never depends on the version.
        # Nesting past the limit needs that many brackets: the scan is for such texts only.
        if not (isinstance(parameters, dict) and _may_nest_too_deep(text)):
            return text, fallbacks
        if _nesting_depth(text) <= MAX_PARAMETER_DEPTH:
            return text, fallbacks
    # Only structures built to be deep get here (a command's arguments nest a few levels).
    text, fallbacks = _serialize(cut_parameters(parameters))
    return text, fallbacks + 1


def _may_nest_too_deep(text: str) -> bool:
    """Whether the JSON ``text`` has enough brackets to nest past :data:`MAX_PARAMETER_DEPTH`."""
    limit = MAX_PARAMETER_DEPTH
    return len(text) > 2 * limit and text.count("{") + text.count("[") > limit


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _nesting_depth(text: str) -> int:
    """How deep the containers of the JSON ``text`` nest (0 for a scalar)."""
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text):
        if char in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "}]":
            depth -= 1
    return deepest


def cut_parameters(parameters: dict[Any, Any]) -> dict[Any, Any]:
    """``parameters`` nested at most :data:`MAX_PARAMETER_DEPTH` levels: each dict, list,
    tuple or set below that is replaced by :data:`TOO_DEEP`. A new structure; values are kept.

    For parameters too deep to store whole (some too deep even to walk or serialise: Python's
    recursion limit is about 1,000 levels): cut, they are stored rather than lost, and the cut
    shows where it was made.
    """
    return _cut(parameters, MAX_PARAMETER_DEPTH)  # type: ignore[no-any-return]


def _cut(value: Any, levels: int) -> Any:
    """``value`` with at most ``levels`` levels of containers; recursion at most that deep."""
    if isinstance(value, dict):
        if levels <= 0:
            return TOO_DEEP
        return {key: _cut(item, levels - 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        if levels <= 0:
            return TOO_DEEP
        return [_cut(item, levels - 1) for item in value]
    return value


def _serialize(parameters: dict[str, Any] | str | None) -> tuple[str, int]:
    if parameters is None:
        return "{}", 0
    if isinstance(parameters, str):
        return parameters, 0
    if not parameters and isinstance(parameters, dict):
        return "{}", 0
    try:
        # One shared encoder, no per-call set-up: the same text json.dumps gives when no value
        # needs the conversions below (those raise here and take the full path).
        return _ENCODE(parameters), 0
    except (TypeError, ValueError):
        pass
    fallbacks = 0

    def default(value: Any) -> Any:
        nonlocal fallbacks
        ident = getattr(value, "id", None)
        if isinstance(ident, int) and not isinstance(ident, bool):
            return str(ident)
        if isinstance(value, set | frozenset | tuple):
            return list(value)
        fallbacks += 1
        return str(value)

    try:
        text = json.dumps(
            parameters, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=default
        )
        return text, fallbacks
    except (TypeError, ValueError):
        # Circular structures, NaN, keys JSON cannot take: keep what can be kept, as text.
        text = json.dumps(
            {str(k): _safe_value(v) for k, v in parameters.items()},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return text, 1


def _safe_value(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)
