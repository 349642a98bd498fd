"""``report["rate_limits"]`` in a few words, for ``/health`` and the command line alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ("rate_limit_lines",)


def rate_limit_lines(section: Mapping[str, Any]) -> list[str]:
    """One or two short lines: the 429s of the last hour (the global ones among them), and the
    route that got the most."""
    hits = int(section.get("hits_1h") or 0)
    if not hits:
        return ["no 429s in the last hour"]
    head = f"{hits:,} 429{'' if hits == 1 else 's'} in the last hour"
    global_hits = int(section.get("global_hits_1h") or 0)
    if global_hits:
        head += f" · {global_hits:,} global"
    lines = [head]
    top = [route for route in section.get("top_routes") or [] if isinstance(route, Mapping)]
    if top:
        lines.append(f"most: {top[0].get('route')} ({int(top[0].get('hits') or 0):,})")
    return lines
