"""Finding and reading the versioned SQL migrations.

Migrations are numbered SQL files, one folder per dialect: ``migrations/<dialect>/0001_name.sql``.
In the source tree they sit at the top of the repository; the wheel carries them inside the
package (``monitoring_cog/migrations``), which is looked at first. Applying them is the backend's
job (it owns the transaction and the lock); this module only finds, orders and splits them.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ..errors import SchemaError

__all__ = (
    "Migration",
    "latest_version",
    "load_migrations",
    "pending_migrations",
    "split_statements",
)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    statements: tuple[str, ...]


def _folder(dialect: str) -> Traversable:
    packaged = resources.files("monitoring_cog") / "migrations" / dialect
    if packaged.is_dir():
        return packaged
    # Running from a source checkout (or an editable install): the top-level folder.
    source = Path(__file__).resolve().parents[2] / "migrations" / dialect
    if source.is_dir():
        return source
    raise SchemaError(
        f"no migrations for the {dialect!r} dialect: expected monitoring_cog/migrations/{dialect}"
        " inside the installed package (is the installation complete?)"
    )


def load_migrations(dialect: str) -> list[Migration]:
    """All migrations of ``dialect``, in version order (1, 2, 3, ... with no gap)."""
    found: list[Migration] = []
    for entry in _folder(dialect).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        statements = tuple(split_statements(entry.read_text(encoding="utf-8")))
        found.append(Migration(int(match.group(1)), match.group(2), statements))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise SchemaError(
                f"migrations/{dialect}: expected version {expected:04d} next, "
                f"found {migration.version:04d}_{migration.name}.sql"
            )
    return found


def latest_version(dialect: str) -> int:
    """The schema version this code migrates ``dialect`` databases to."""
    migrations = load_migrations(dialect)
    return migrations[-1].version if migrations else 0


def pending_migrations(dialect: str, current: int, location: str) -> list[Migration]:
    """The migrations a database of ``dialect`` at version ``current`` still needs, in order.

    Raises :class:`SchemaError` naming ``location`` and both versions when the database is newer
    than this code: writing into a schema it does not know could corrupt it.
    """
    migrations = load_migrations(dialect)
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise SchemaError(
            f"{location}: database schema is at version {current}, newer than this "
            f"monitoring_cog supports ({latest}); upgrade monitoring_cog to use it"
        )
    return [migration for migration in migrations if migration.version > current]


def split_statements(script: str) -> list[str]:
    """Split an SQL script into statements (comments and blank lines dropped).

    Uses SQLite's own notion of a complete statement, so semicolons inside strings and
    ``CREATE TRIGGER ... BEGIN ... END;`` bodies stay intact.
    """
    statements: list[str] = []
    pending: list[str] = []
    for line in script.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending.append(line)
        text = "\n".join(pending)
        if sqlite3.complete_statement(text):
            statements.append(text.strip())
            pending = []
    leftover = "\n".join(pending).strip()
    if leftover:
        raise SchemaError(f"unterminated SQL statement in a migration: {leftover[:80]!r}")
    return statements
