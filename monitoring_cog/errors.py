"""Errors raised by monitoring_cog, and errors counted instead of raised.

Inside a running bot the public API never raises (see :func:`monitoring_cog.safe_execute`): what
goes wrong is counted in an :class:`ErrorCounter` and shown in the health report. The exceptions
are for start-up: a bad config, a database path that can never be opened, or a database whose
schema is newer than this code. They fail loudly, naming what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = (
    "GLOBAL_ERRORS",
    "ConfigError",
    "DatabaseUnavailable",
    "ErrorCounter",
    "EventNameError",
    "EventValueError",
    "InvalidEventError",
    "MonitoringError",
    "SchemaError",
)


class MonitoringError(Exception):
    """Base class of every exception raised by monitoring_cog."""


class ConfigError(MonitoringError, ValueError):
    """A configuration value is missing, unknown or of the wrong type.

    The message names the file, the key and what was expected.
    """


class DatabaseUnavailable(MonitoringError):
    """The database cannot be opened or used (bad path, corrupt file, server down)."""


class SchemaError(MonitoringError):
    """The database schema cannot be used by this version of monitoring_cog."""


class InvalidEventError(MonitoringError, ValueError):
    """A custom event bot code asked to record cannot be (``record_event``).

    Raised at the call site, unlike the rest of the recording API: it is a mistake in the bot's
    code, and recording the event anyway would store something other than what was asked.
    """


class EventNameError(InvalidEventError):
    """An event name breaks the naming rule; the message names the name and the rule."""

    def __init__(self, name: object, rule: str) -> None:
        super().__init__(f"invalid event name {name!r}: {rule}")
        self.name = name
        """The name given."""
        self.rule = rule
        """The rule it breaks."""


class EventValueError(InvalidEventError):
    """An event value that is not a finite number, 0 or more."""


@dataclass
class ErrorCounter:
    """Counts exceptions swallowed by :func:`safe_execute` and inputs that had to be corrected."""

    errors: int = 0
    """Exceptions caught and turned into a default value."""
    by_operation: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    rejected_inputs: int = 0
    """Values that were invalid and were normalised, trimmed or dropped (with a warning)."""

    def record(self, operation: str, exc: BaseException) -> None:
        """Count one swallowed exception."""
        self.errors += 1
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
        self.last_error = f"{operation}: {type(exc).__name__}: {exc}"

    def snapshot(self) -> dict[str, Any]:
        """The counts as a plain dict (for the health report)."""
        return {
            "count": self.errors,
            "by_operation": dict(self.by_operation),
            "last_error": self.last_error,
            "rejected_inputs": self.rejected_inputs,
        }


GLOBAL_ERRORS = ErrorCounter()
"""Where errors are counted when the wrapped callable has no ``errors`` attribute of its own."""
