"""Writing spill files into the database on start, each exactly once.

A spill's records are written in one transaction that also records the spill's id in
``spill_replays``; the file is deleted after the commit. A replay interrupted before the commit
(the process killed) wrote nothing, and the file is still there: the next start writes it. One
interrupted between the commit and the deletion left a file whose id is recorded: the next start
only deletes it. Two processes replaying one file (PostgreSQL, a shared folder) cannot both
commit: the id is a primary key.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..storage.base import Storage
from ..storage.batch import WriteBatch
from .event_names import EventNames, load_event_names
from .privacy import Privacy
from .records import Record
from .rollups import BatchBuilder
from .spill import SpillError, SpillTarget, find_spills, read_spill, remove_spill

__all__ = ("ReplayResult", "replay_spills")

_log = logging.getLogger(__name__)

_BUILD_SLICE = 1000
"""Records aggregated per event-loop turn while a spill's batch is built."""


@dataclass(slots=True)
class ReplayResult:
    """What one replay did."""

    records: int = 0
    """Records written from spill files."""
    files: list[Path] = field(default_factory=list)
    """Spill files written and deleted."""
    already: list[Path] = field(default_factory=list)
    """Spill files found already written (a replay interrupted after its commit): deleted."""
    failed: list[Path] = field(default_factory=list)
    """Spill files left for the next start: unreadable, or the write failed (logged)."""


async def replay_spills(
    storage: Storage,
    target: SpillTarget,
    privacy: Privacy | None = None,
    event_names: EventNames | None = None,
) -> ReplayResult:
    """Write every spill file of ``target`` into ``storage`` (connected), exactly once each.

    Never raises but for cancellation: a spill that cannot be written now is logged and left
    for the next start. ``privacy`` is applied again (its rules give the same result twice), so
    a rule turned on since the spill was made holds for its records too; so does the per-guild
    bound on event names, ``event_names``.
    """
    result = ReplayResult()
    for path in await asyncio.to_thread(find_spills, target):
        try:
            spill = await asyncio.to_thread(read_spill, path)
        except SpillError as exc:
            _log.error("monitoring: cannot replay a spill file, left in place: %s", exc)
            result.failed.append(path)
            continue
        try:
            if await storage.spill_replayed(spill.id):
                result.already.append(path)
            else:
                batch = await _build(spill.records, privacy, event_names)
                if event_names is not None and await load_event_names(event_names, storage, batch):
                    batch = await _build(spill.records, privacy, event_names)
                try:
                    await storage.write(batch, spill_id=spill.id)
                except Exception:
                    # Another process may have written it meanwhile: then it is done.
                    if not await storage.spill_replayed(spill.id):
                        raise
                    result.already.append(path)
                else:
                    result.records += len(spill.records)
                    result.files.append(path)
            await asyncio.to_thread(remove_spill, path)
        except Exception as exc:
            _log.error(
                "monitoring: could not write the %d records of %s into %s (%s: %s); the file is"
                " kept and written on a later start",
                len(spill.records),
                path,
                storage.location,
                type(exc).__name__,
                exc,
            )
            result.failed.append(path)
    if result.files:
        _log.warning(
            "monitoring: wrote %d records from %d spill files into %s (records that could not be"
            " written before an earlier close or exit)",
            result.records,
            len(result.files),
            storage.location,
        )
    for path in result.already:
        _log.info("monitoring: %s was already written; deleted it", path)
    return result


async def _build(
    records: list[Record], privacy: Privacy | None, event_names: EventNames | None
) -> WriteBatch:
    """The batch of a spill's records, a slice per event-loop turn (a spill may be large)."""
    builder = BatchBuilder(privacy, event_names=event_names)
    for start in range(0, len(records), _BUILD_SLICE):
        if start:
            await asyncio.sleep(0)
        builder.add(records[start : start + _BUILD_SLICE])
    for _ in builder.finishing():
        await asyncio.sleep(0)
    return builder.finish()
