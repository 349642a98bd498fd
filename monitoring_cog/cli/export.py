"""Writing audit rows (or per-day component and event rows) as CSV or JSON, one row at a time.

The exporters take rows as they come from
:meth:`~monitoring_cog.collectors.command_logger.CommandLogger.iter_audit_logs` (or the storage's
``iter_component_days`` and ``iter_event_days``) and write each at once, so an export of millions
of rows needs the memory of one row, and a reader at the other end of a pipe sees data as soon as
it is read.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TextIO

from ..storage.base import COMPONENT_DAY_FIELDS, EVENT_DAY_FIELDS

__all__ = (
    "COLUMNS",
    "COMPONENT_COLUMNS",
    "EVENT_COLUMNS",
    "FORMATS",
    "CsvExporter",
    "Exporter",
    "JsonExporter",
    "exporter",
    "flatten",
)

COLUMNS = (
    "id",
    "executed_at",
    "guild_id",
    "guild_name",
    "user_id",
    "username",
    "command",
    "parameters",
    "duration",
    "success",
    "error_type",
    "error_message",
    "traceback",
)
"""Fields of an exported audit row, in order (the CSV header)."""
COMPONENT_COLUMNS = COMPONENT_DAY_FIELDS
"""Fields of an exported per-day component row: ``users`` are the day's distinct users,
``duration_sum`` and ``duration_max`` in seconds."""
EVENT_COLUMNS = EVENT_DAY_FIELDS
"""Fields of an exported per-day event row: ``count`` occurrences, ``total`` the sum of their
values, ``users`` the day's distinct users."""


def flatten(entry: Mapping[str, Any], columns: Sequence[str] = COLUMNS) -> dict[str, Any]:
    """An entry's ``columns`` with JSON-friendly values: an audit row's ``executed_at`` as ISO
    8601 UTC text."""
    row = {name: entry.get(name) for name in columns}
    executed_at = row.get("executed_at")
    if isinstance(executed_at, datetime):
        row["executed_at"] = executed_at.isoformat()
    return row


class Exporter(Protocol):
    """Writes rows to a text stream: :meth:`write` each, then :meth:`close` once."""

    rows: int

    def write(self, entry: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class CsvExporter:
    """RFC 4180 CSV with a header; an audit row's ``parameters`` as compact JSON text, its
    ``success`` as 1 or 0."""

    def __init__(self, stream: TextIO, columns: Sequence[str] = COLUMNS) -> None:
        self._columns = tuple(columns)
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(self._columns)
        self.rows = 0

    def write(self, entry: Mapping[str, Any]) -> None:
        row = flatten(entry, self._columns)
        if "parameters" in row:
            row["parameters"] = json.dumps(
                row["parameters"] or {}, ensure_ascii=False, separators=(",", ":")
            )
        if "success" in row:
            row["success"] = int(bool(row["success"]))
        self._writer.writerow(row[name] for name in self._columns)
        self.rows += 1

    def close(self) -> None:
        """Nothing to finish: every row is complete once written."""


class JsonExporter:
    """A JSON array of objects, one per line, opened on the first write and closed at the end."""

    def __init__(self, stream: TextIO, columns: Sequence[str] = COLUMNS) -> None:
        self._columns = tuple(columns)
        self._stream = stream
        self.rows = 0
        self._stream.write("[")

    def write(self, entry: Mapping[str, Any]) -> None:
        text = json.dumps(flatten(entry, self._columns), ensure_ascii=False, separators=(",", ":"))
        self._stream.write(("\n" if self.rows == 0 else ",\n") + text)
        self.rows += 1

    def close(self) -> None:
        self._stream.write("\n]\n" if self.rows else "]\n")


FORMATS: dict[str, Callable[[TextIO, Sequence[str]], Exporter]] = {
    "csv": CsvExporter,
    "json": JsonExporter,
}
"""Export formats by name."""


def exporter(format_name: str, stream: TextIO, columns: Sequence[str] = COLUMNS) -> Exporter:
    """The exporter for ``format_name`` (``"csv"`` or ``"json"``) writing rows of ``columns``
    (an audit row's by default) to ``stream``."""
    return FORMATS[format_name](stream, columns)
