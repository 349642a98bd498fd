"""Storage backends behind one small interface (:class:`Storage`).

:func:`open_storage` picks one: SQLite (the embedded default) or PostgreSQL for a
``postgresql://`` URL. ``PostgresStorage`` is imported on first access, so that importing this
package never imports asyncpg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import AuditQuery, CommandTotals, DayTotals, ServerInfo, Storage
from .factory import open_storage
from .sqlite import SQLiteStorage

if TYPE_CHECKING:
    from .postgres import PostgresStorage

__all__ = (
    "AuditQuery",
    "CommandTotals",
    "DayTotals",
    "PostgresStorage",
    "SQLiteStorage",
    "ServerInfo",
    "Storage",
    "open_storage",
)


def __getattr__(name: str) -> Any:
    if name == "PostgresStorage":
        from .postgres import PostgresStorage

        return PostgresStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
