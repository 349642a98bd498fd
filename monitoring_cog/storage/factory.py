"""Choosing the backend: a ``postgresql://`` URL is PostgreSQL, anything else a SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

from ..clock import Clock
from ..config import DatabaseConfig
from ..config.urls import is_postgres_url, redact_url, url_scheme
from ..errors import DatabaseUnavailable
from .base import Storage
from .sqlite import SQLiteStorage

__all__ = ("open_storage", "prepare_sqlite_path")


def open_storage(
    config: DatabaseConfig,
    path: str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
) -> Storage:
    """The storage backend for ``path``, or for ``config`` when ``path`` is None.

    ``path`` may be a SQLite file, ``":memory:"``, or a ``postgresql://`` (``postgres://``) URL.
    Without it, ``config.url`` names a PostgreSQL database if set, else ``config.path`` the
    SQLite file. Nothing is opened yet: :meth:`Storage.connect` does that.

    Raises
    ------
    DatabaseUnavailable
        A URL of another scheme, or a SQLite path that can never hold a database (see
        :func:`prepare_sqlite_path`).
    """
    location = str(path) if path is not None else (config.url or config.path)
    if is_postgres_url(location):
        # Imported here so that SQLite users never import asyncpg.
        from .postgres import PostgresStorage

        return PostgresStorage(
            location,
            pool_min_size=config.pool_min_size,
            pool_max_size=config.pool_max_size,
            busy_timeout_ms=config.busy_timeout_ms,
            clock=clock,
        )
    scheme = url_scheme(location)
    if scheme is not None:
        raise DatabaseUnavailable(
            f"{redact_url(location)}: unsupported database URL scheme {scheme!r}; expected a"
            " postgresql:// (or postgres://) URL, or the path of a SQLite file"
        )
    if location != ":memory:":
        location = str(prepare_sqlite_path(location))
    return SQLiteStorage(location, busy_timeout_ms=config.busy_timeout_ms, clock=clock)


def prepare_sqlite_path(raw: str) -> Path:
    """``raw`` as a SQLite file path whose folder exists (created if missing) and is writable.

    Raises :class:`DatabaseUnavailable` naming the path when it can never hold a database.
    """
    path = Path(raw).expanduser()
    if path.is_dir():
        raise DatabaseUnavailable(f"{path}: is a folder; expected the path of a SQLite file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"{path}: cannot create the folder {path.parent}: {exc.strerror or exc}"
        ) from exc
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise DatabaseUnavailable(f"{path}: the folder {path.parent} is not writable")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseUnavailable(f"{path}: the file is not readable and writable")
    return path
