"""``monitoring_cog.retention``: the documented path of the scheduled audit-log prune.

The code lives in :mod:`monitoring_cog.collectors.retention`.
"""

from __future__ import annotations

from .collectors.retention import prune_periodically

__all__ = ("prune_periodically",)
