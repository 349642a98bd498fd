"""The quick reference's "Available Data Fields": each documented dict's keys and types.

:func:`assert_shape` checks a returned dict against one of them, :func:`assert_health_report` a
whole Health Report. The quick reference's tests and the health check's use them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

OVERALL_STATUSES = {"healthy", "degraded", "unhealthy"}
COMPONENT_STATUSES = {"healthy", "warning", "critical", "slow", "error"}
BOTTLENECK_SEVERITIES = {"high", "medium"}

# Key -> documented type.
COMMAND_LOG_ENTRY = {
    "id": int,
    "guild_id": str,
    "guild_name": str,
    "user_id": str,
    "username": str,
    "command": str,
    "parameters": dict,
    "duration": float,
    "success": bool,
    "error_message": str,
    "executed_at": datetime,
}
PERFORMANCE_STATS = {"slowest_commands": list, "cache_metrics": dict}
SLOW_COMMAND = {
    "command": str,
    "avg_duration": float,
    "min_duration": float,
    "max_duration": float,
    "count": int,
}
REPORT = {
    "period": str,
    "days": int,
    "active_days": int,
    "total_songs": int,
    "total_playtime": int,
    "total_playtime_hours": float,
    "total_skips": int,
    "total_pauses": int,
    "total_commands": int,
    "avg_daily_users": float,
    "peak_users": int,
    "avg_song_duration": float,
    "skip_rate": float,
    "top_commands": list,
}
HEALTH_REPORT = {
    "timestamp": str,
    "overall_status": str,
    "memory": dict,
    "database": dict,
    "cpu": dict,
    "error_rate": dict,
    "uptime_seconds": float,
}
MEMORY = {"rss_mb": float, "vms_mb": float, "percent": float, "status": str}
DATABASE = {
    "connected": bool,
    "response_time": float,
    "server_count": int,
    "database_size_mb": float,
    "status": str,
}
CPU = {"percent": float, "user_time": float, "system_time": float, "status": str}
ERROR_RATE = {"total_commands": int, "failed_commands": int, "error_rate": float, "status": str}


def assert_shape(
    value: dict[str, Any], shape: dict[str, type], nullable: tuple[str, ...] = ()
) -> None:
    """Every key of ``shape`` is in ``value`` with exactly that type (``None`` if nullable)."""
    missing = sorted(set(shape) - set(value))
    assert missing == [], f"missing keys {missing}"
    wrong = {
        key: type(value[key]).__name__
        for key, expected in shape.items()
        if type(value[key]) is not expected and not (key in nullable and value[key] is None)
    }
    assert wrong == {}, f"wrong types (expected {shape})"


def assert_health_report(health: dict[str, Any]) -> None:
    """The Health Report's shape, its nested sections and their status vocabularies."""
    assert_shape(health, HEALTH_REPORT)
    for section, shape in (
        ("memory", MEMORY),
        ("database", DATABASE),
        ("cpu", CPU),
        ("error_rate", ERROR_RATE),
    ):
        assert_shape(health[section], shape)
        assert health[section]["status"] in COMPONENT_STATUSES
    assert health["overall_status"] in OVERALL_STATUSES
    datetime.fromisoformat(health["timestamp"])
