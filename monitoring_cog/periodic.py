"""``monitoring_cog.periodic``: the documented path of the monotonic schedules.

The code lives in :mod:`monitoring_cog.collectors.periodic`.
"""

from __future__ import annotations

from .collectors.periodic import PeriodicMethod, PeriodicTask, periodic

__all__ = ("PeriodicMethod", "PeriodicTask", "periodic")
