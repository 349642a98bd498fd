"""The config file and database every command works on.

All commands read one config file, found as the bot finds it (``--config``, else
``$MONITORING_CONFIG``, else ``./config.toml``, else the defaults), so they act on the database
the bot records into. Commands that only read or trim data refuse a database file that does not
exist instead of creating an empty one: a typo in a path should not look like a quiet bot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..clock import Clock
from ..config import MonitoringConfig, load_config
from ..database import Database
from .errors import OperationFailed, UserError

__all__ = ("CliState", "checked")

_log = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass
class CliState:
    """Options given before the command: the config file and how much to log."""

    config_path: Path | None = None
    verbose: int = 0

    def config(self) -> MonitoringConfig:
        """The configuration (raises :class:`~monitoring_cog.errors.ConfigError` if invalid)."""
        return load_config(self.config_path)

    def database_path(self, config: MonitoringConfig) -> Path:
        """Where the configured database lives."""
        return Path(config.database.path).expanduser()

    def existing_database(self, config: MonitoringConfig, clock: Clock | None = None) -> Database:
        """The configured database, which must exist already.

        A PostgreSQL ``url`` is used as it is: a missing database is refused by the server on
        first use (:class:`~monitoring_cog.errors.DatabaseUnavailable`), never created.
        """
        if config.database.url:
            return Database(config=config, clock=clock)
        path = self.database_path(config)
        if not path.exists():
            origin = f"[database] path in {config.source}" if config.source else "the default path"
            raise UserError(
                f"{path}: no such database (from {origin}); "
                "check the path, or create it with 'monitoring-cog migrate'"
            )
        return Database(path, config=config, clock=clock)


async def checked(db: Database, result: Awaitable[_T]) -> _T:
    """Await a library call that returns a default on error; raise if it hit one.

    The library's collectors never raise into a bot: they log, count and return ``{}`` or ``0``.
    On the command line a silent default would read as "nothing there", so a new count in the
    database's error counter turns into :class:`OperationFailed` with the error it recorded.
    """
    before = db.errors.errors
    value = await result
    if db.errors.errors != before:
        raise OperationFailed(db.errors.last_error or "the operation failed (see the log)")
    return value
