"""Storage backends behind one small interface (:class:`Storage`)."""

from __future__ import annotations

from .base import AuditQuery, CommandTotals, DayTotals, ServerInfo, Storage
from .sqlite import SQLiteStorage

__all__ = (
    "AuditQuery",
    "CommandTotals",
    "DayTotals",
    "SQLiteStorage",
    "ServerInfo",
    "Storage",
)
