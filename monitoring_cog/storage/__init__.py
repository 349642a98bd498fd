"""Storage backends behind one small interface (:class:`Storage`)."""

from __future__ import annotations

from .base import AuditQuery, CommandTotals, DayTotals, Storage
from .sqlite import SQLiteStorage

__all__ = ("AuditQuery", "CommandTotals", "DayTotals", "SQLiteStorage", "Storage")
