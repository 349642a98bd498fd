"""Spill files: records that could not be written in time, saved to disk for the next start.

When closing runs out of time (``recording.close_timeout``), or the process ends without closing,
the records still queued are written to a spill file rather than lost. The next start writes
each spill into the database exactly once (:mod:`monitoring_cog.recording.replay`).

A spill file is two lines of UTF-8 JSON: a header, then the records, each a list tagged with
its kind::

    {"format": "monitoring_cog-spill", "version": 1, "id": "...", "records": 2, ...}
    [["command", guild_id, guild_name, user_id, username, command, parameters, ...],
     ["stat", "song", guild_id, user_id, amount, at],
     ["stall", started_at, duration, command, kind, guild_id, location, stack],
     ["component", guild_id, user_id, component, kind, duration, success, at],
     ["event", guild_id, name, value, user_id, at]]

(the second line shown folded here).

It is written to a hidden temporary file, fsynced, renamed into place and the folder fsynced, so
a file under its final name is always complete. The ``[privacy]`` rules are applied before a
record is written (parameters redacted and serialised, user ids hashed, usernames dropped): a
spill holds nothing the database would not.

Adding a record kind to :mod:`monitoring_cog.recording.records` means adding its
:class:`RecordCodec` to :data:`CODECS`, here and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from .frames import STACK_HEADER
from .parameters import serialize_parameters
from .privacy import Privacy
from .records import (
    CommandRecord,
    ComponentRecord,
    EventRecord,
    GrowthKind,
    GrowthRecord,
    GuildRecord,
    PopulationRecord,
    Record,
    StallRecord,
    StatKind,
    StatRecord,
)

__all__ = (
    "CODECS",
    "RecordCodec",
    "Spill",
    "SpillError",
    "SpillTarget",
    "find_spills",
    "folder_problem",
    "read_spill",
    "remove_spill",
    "spill_target",
    "write_spill",
)

_log = logging.getLogger(__name__)

FORMAT = "monitoring_cog-spill"
VERSION = 3
"""Version 2 adds a command's traceback (a twelfth value) and the ``stall`` records; version 3
the ``component`` and ``event`` records."""
READABLE_VERSIONS = (1, 2, 3)
"""Versions read back: an older spill's records are the current version's without what it
adds."""
SUFFIX = ".spill"

_R = TypeVar(
    "_R",
    CommandRecord,
    StatRecord,
    GuildRecord,
    GrowthRecord,
    PopulationRecord,
    StallRecord,
    ComponentRecord,
    EventRecord,
)


class SpillError(Exception):
    """A spill file that cannot be read back (not one of ours, or damaged)."""


@dataclass(frozen=True, slots=True)
class RecordCodec(Generic[_R]):
    """How one kind of record is stored in a spill line, and read back."""

    tag: str
    """The first value of the record's line."""
    kind: type[_R]
    encode: Callable[[_R], list[Any]]
    """The record's fields as JSON values (after :attr:`private`)."""
    decode: Callable[[list[Any]], _R]
    """The record from :attr:`encode`'s values."""
    private: Callable[[_R, Privacy], tuple[_R, int]]
    """The record as the database would store it under the privacy rules, and how many
    parameter values had to be stored as text on the way."""


def _private_command(record: CommandRecord, privacy: Privacy) -> tuple[CommandRecord, int]:
    (guild, name, user, username, command, parameters, duration, success, kind, message, at, tb) = (
        record
    )
    fallbacks = 0
    if not privacy.store_parameters:
        text = "{}"
    elif isinstance(parameters, str):
        text = privacy.redact_json(parameters)
    else:
        # Redacted before serialising, so a secret never reaches the JSON text (as the writer).
        text, fallbacks = serialize_parameters(
            privacy.redact(parameters) if parameters else parameters
        )
    if not text.isascii():
        # Text UTF-8 cannot encode (a lone surrogate) gets "?" in its place, as the writer does.
        fixed = text.encode("utf-8", "replace").decode("utf-8")
        if fixed != text:
            text, fallbacks = fixed, fallbacks + 1
    private = CommandRecord(
        guild,
        name,
        privacy.user_id(user),
        username if privacy.store_usernames else None,
        command,
        text,
        duration,
        success,
        kind,
        message,
        at,
        privacy.traceback_text(tb),  # Rendered now: a spill holds text, as the database would.
    )
    return private, fallbacks


def _private_stat(record: StatRecord, privacy: Privacy) -> tuple[StatRecord, int]:
    if record.user_id is None or not privacy.hashes_user_ids:
        return record, 0
    return (
        StatRecord(
            record.kind, record.guild_id, privacy.user_id(record.user_id), record.amount, record.at
        ),
        0,
    )


def _private_stall(record: StallRecord, privacy: Privacy) -> tuple[StallRecord, int]:
    stack = record.stack
    if stack is None or isinstance(stack, str):
        return record, 0
    text = privacy.traceback_text(stack, STACK_HEADER)
    return (
        StallRecord(
            record.started_at,
            record.duration,
            record.command,
            record.command_kind,
            record.guild_id,
            record.location,
            text,
        ),
        0,
    )


def _private_component(record: ComponentRecord, privacy: Privacy) -> tuple[ComponentRecord, int]:
    if not privacy.hashes_user_ids:
        return record, 0
    return record._replace(user_id=privacy.user_id(record.user_id)), 0


def _private_event(record: EventRecord, privacy: Privacy) -> tuple[EventRecord, int]:
    if record.user_id is None or not privacy.hashes_user_ids:
        return record, 0
    return (
        EventRecord(
            record.guild_id, record.name, record.value, privacy.user_id(record.user_id), record.at
        ),
        0,
    )


CODECS: tuple[RecordCodec[Any], ...] = (
    RecordCodec(
        "command",
        CommandRecord,
        encode=list,
        decode=lambda values: CommandRecord(*values),
        private=_private_command,
    ),
    RecordCodec(
        "stat",
        StatRecord,
        encode=lambda r: [r.kind.value, r.guild_id, r.user_id, r.amount, r.at],
        decode=lambda v: StatRecord(StatKind(v[0]), v[1], v[2], v[3], v[4]),
        private=_private_stat,
    ),
    RecordCodec(
        "guild",
        GuildRecord,
        encode=lambda r: [r.guild_id, r.guild_name, r.at],
        decode=lambda v: GuildRecord(v[0], v[1], v[2]),
        private=lambda r, _: (r, 0),
    ),
    RecordCodec(
        "growth",
        GrowthRecord,
        encode=lambda r: [r.kind.value, r.at],
        decode=lambda v: GrowthRecord(GrowthKind(v[0]), v[1]),
        private=lambda r, _: (r, 0),
    ),
    RecordCodec(
        "population",
        PopulationRecord,
        encode=lambda r: [r.shard_id, r.shard_count, r.guilds, r.members, r.at],
        decode=lambda v: PopulationRecord(v[0], v[1], v[2], v[3], v[4]),
        private=lambda r, _: (r, 0),
    ),
    RecordCodec(
        "stall",
        StallRecord,
        encode=lambda r: [
            r.started_at,
            r.duration,
            r.command,
            r.command_kind,
            r.guild_id,
            r.location,
            r.stack,
        ],
        decode=lambda v: StallRecord(v[0], v[1], v[2], v[3], v[4], v[5], v[6]),
        private=_private_stall,
    ),
    RecordCodec(
        "component",
        ComponentRecord,
        encode=list,
        decode=lambda v: ComponentRecord(v[0], v[1], v[2], v[3], v[4], v[5], v[6]),
        private=_private_component,
    ),
    RecordCodec(
        "event",
        EventRecord,
        encode=lambda r: [r.guild_id, r.name, r.value, r.user_id, r.at],
        decode=lambda v: EventRecord(v[0], v[1], v[2], v[3], v[4]),
        private=_private_event,
    ),
)
"""One codec per record kind of :data:`~monitoring_cog.recording.records.Record`."""

_NO_RULES = Privacy(())
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode
"""``default=str``: a value no record should hold still spills, as text, with the rest."""
_BY_KIND: dict[type, RecordCodec[Any]] = {codec.kind: codec for codec in CODECS}
_BY_TAG: dict[str, RecordCodec[Any]] = {codec.tag: codec for codec in CODECS}


@dataclass(frozen=True, slots=True)
class SpillTarget:
    """Where one database's spill files go, and how their names say which database they hold."""

    folder: Path
    prefix: str
    """The start of each file name: spills of other databases in the same folder are left be."""
    location: str
    """The database, as each file's header names it (for people reading the file)."""


@dataclass(frozen=True, slots=True)
class Spill:
    """A spill file read back."""

    id: str
    """Unique to the file; recorded in the database with its records (exactly once)."""
    path: Path
    records: list[Record]


def spill_target(
    location: str, *, is_sqlite: bool, spill_dir: str, sqlite_path: str
) -> SpillTarget | None:
    """Where the spills of the database at ``location`` go; ``None`` for an in-memory database.

    Parameters
    ----------
    location:
        The SQLite file, or the PostgreSQL URL without its password.
    is_sqlite:
        Whether ``location`` is a SQLite file.
    spill_dir:
        ``[recording] spill_dir``: "" keeps a SQLite database's spills beside its file, and a
        PostgreSQL database's in the folder of ``sqlite_path``.
    sqlite_path:
        ``[database] path``.
    """
    if is_sqlite:
        if location == ":memory:":
            return None  # Gone with the process: there is no next start to write it into.
        path = Path(location)
        folder = Path(spill_dir).expanduser() if spill_dir else path.parent
        return SpillTarget(folder, path.name, str(path.resolve()))
    folder = Path(spill_dir).expanduser() if spill_dir else Path(sqlite_path).expanduser().parent
    # Named by a digest of the URL (password left out): several databases may share a folder.
    digest = hashlib.sha256(location.encode("utf-8")).hexdigest()[:16]
    return SpillTarget(folder, f"postgresql-{digest}", location)


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` could not hold spill files, or ``None``; checked at start-up, so a spill
    never fails at shutdown for a reason known all along. A missing folder is fine if it can be
    created (it is, by the first spill: a process that never spills leaves none behind)."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            return "no part of the path exists"
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def write_spill(
    target: SpillTarget, records: Sequence[Record], privacy: Privacy | None = None
) -> tuple[Path, int]:
    """Write ``records`` to a new spill file of ``target``, durably; its path, and how many
    parameter values had to be stored as text (as the writer counts them).

    Raises ``OSError`` if the file cannot be written; then no spill file is left behind.
    """
    # Time first, so that names sort in the order spills were made (and are replayed).
    spill_id = f"{time.time_ns():020d}-{secrets.token_hex(6)}"
    # Without rules of its own a spill still stores parameters as JSON text, as the writer does.
    rules = privacy if privacy is not None else _NO_RULES
    rows: list[list[Any]] = [[]] * len(records)
    fallbacks = 0
    for index, record in enumerate(records):
        codec = _BY_KIND[type(record)]
        record, fallen_back = codec.private(record, rules)
        fallbacks += fallen_back
        rows[index] = [codec.tag, *codec.encode(record)]
    header = {
        "format": FORMAT,
        "version": VERSION,
        "id": spill_id,
        "records": len(records),
        "database": target.location,
        "created_at": time.time(),
    }
    # Encoded in one call: a call per record costs more than the encoding itself.
    text = f"{json.dumps(header)}\n{_encode(rows)}\n"
    target.folder.mkdir(parents=True, exist_ok=True)
    final = target.folder / f"{target.prefix}.{spill_id}{SUFFIX}"
    temporary = target.folder / f".{final.name}.tmp"
    try:
        with open(temporary, "x", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(target.folder)
    return final, fallbacks


def read_spill(path: Path) -> Spill:
    """The spill file at ``path``; :class:`SpillError` if it is not a complete spill file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpillError(f"{path}: cannot read it: {exc}") from exc
    lines = text.split("\n")
    if len(lines) != 3 or lines[-1] != "":
        raise SpillError(f"{path}: damaged: expected a header line and a records line")
    try:
        header = json.loads(lines[0])
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise SpillError(f"{path}: not a monitoring_cog spill file")
        if header.get("version") not in READABLE_VERSIONS:
            raise SpillError(
                f"{path}: spill format version {header.get('version')!r}; this monitoring_cog"
                f" reads version {VERSION}"
            )
        rows = json.loads(lines[1])
        if not isinstance(rows, list):
            raise SpillError(f"{path}: damaged: the records line is not a list")
        records = [_decode(row) for row in rows]
    except SpillError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SpillError(f"{path}: damaged: {exc}") from exc
    if len(records) != header.get("records"):
        raise SpillError(
            f"{path}: holds {len(records)} records, its header says {header.get('records')}"
        )
    return Spill(str(header["id"]), path, records)


def find_spills(target: SpillTarget) -> list[Path]:
    """The spill files of ``target``, oldest first (temporary files, still being written or
    left by a process killed while writing, are not spill files)."""
    try:
        names = os.listdir(target.folder)
    except FileNotFoundError:
        return []
    start = f"{target.prefix}."
    return [
        target.folder / name
        for name in sorted(names)
        if name.startswith(start) and name.endswith(SUFFIX)
    ]


def remove_spill(path: Path) -> None:
    """Delete a spill file once its records are in the database (the deletion made durable)."""
    path.unlink(missing_ok=True)
    _fsync_folder(path.parent)


def _decode(values: Any) -> Record:
    if not isinstance(values, list) or not values:
        raise ValueError(f"expected a record line, got {values!r:.80}")
    codec = _BY_TAG.get(values[0])
    if codec is None:
        raise ValueError(f"unknown record kind {values[0]!r}")
    record: Record = codec.decode(values[1:])
    return record


def _fsync_folder(folder: Path) -> None:
    """Make a rename or deletion in ``folder`` durable (where the platform allows it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open a folder; its renames are durable once they return.
    try:
        os.fsync(descriptor)
    except OSError as exc:
        _log.debug("monitoring: could not fsync the folder %s (%s)", folder, exc)
    finally:
        os.close(descriptor)
