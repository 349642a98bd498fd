"""Exceptions raised by monitoring_cog.

Inside a running bot the public API never raises (see :func:`monitoring_cog.safe_execute`).
These exceptions are for start-up: a bad config, a database path that can never be opened, or a
database whose schema is newer than this code. They fail loudly, naming what is wrong.
"""

from __future__ import annotations

__all__ = (
    "ConfigError",
    "DatabaseUnavailable",
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
