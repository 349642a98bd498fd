"""New kinds of error: the first failure of each kind in an hour is said at once.

A kind is the error's class and where the bot's own code raised it (the innermost frame of the
bot's code in its traceback, ``cogs/music.py:42 in Music.play``; the innermost frame of any code
when none of the bot's is in it). Only failures that keep a traceback count: errors raised by a
command's own code, not refusals (a check, a cooldown, a bad argument).

:class:`ErrorKinds` watches the writer (:meth:`Recorder.watch_failures
<monitoring_cog.recording.pipeline.Recorder.watch_failures>`), so a command's path pays nothing
for it, and emits ``VitalEvent("new_error", ...)`` on the
:class:`~monitoring_cog.vitals.events.VitalEvents` it was given the first time a kind is seen,
and again when it comes back after an hour without it. The alerting (a webhook) subscribes there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..database import Database
from ..recording.frames import Frame, RawTraceback, format_location, own_frames
from ..recording.records import DM_GUILD_ID, CommandRecord
from .events import VitalEvent, VitalEvents

__all__ = ("NEW_ERROR_WINDOW", "ErrorKinds", "error_location")

_log = logging.getLogger(__name__)

NEW_ERROR_WINDOW = 3600.0
"""Seconds a kind of error must be unseen before it is new again."""
_MAX_KINDS = 1000
"""Kinds remembered at most; the one seen longest ago is forgotten first."""
_UNKNOWN: object = object()
_MAX_DETAIL = 300
"""Characters of the error's message in an event's detail."""


_locations: dict[tuple[Frame, ...], str | None] = {}
"""Frames of a traceback -> :func:`error_location` (bounded like the kinds)."""


def error_location(trace: RawTraceback) -> str | None:
    """Where the bot's own code raised: its innermost frame in ``trace`` (or the innermost frame
    of any code when none of the bot's is in it), as ``path:line in function``."""
    found = _locations.get(trace.frames, _UNKNOWN)
    if found is _UNKNOWN:
        frames: Sequence[Frame] = own_frames(trace.frames) or trace.frames
        found = format_location(frames[-1]) if frames else None
        if len(_locations) >= _MAX_KINDS:
            _locations.clear()
        _locations[trace.frames] = found
    return found  # type: ignore[return-value]


class ErrorKinds:
    """Emits ``new_error`` for the first failure of each kind (class and location) in an hour.

    Parameters
    ----------
    events:
        Where ``new_error`` events go.
    window:
        Seconds a kind must go unseen before it counts as new again (a failure is dated by its
        record's ``executed_at``).
    """

    def __init__(self, events: VitalEvents, *, window: float = NEW_ERROR_WINDOW) -> None:
        self.events = events
        self.window = window
        self._seen: dict[tuple[str, str | None], float] = {}
        """Kind -> when it was last seen (epoch seconds), oldest first."""
        self._db: Database | None = None

    @property
    def kinds(self) -> int:
        """Kinds of error seen (and still remembered)."""
        return len(self._seen)

    def attach(self, db: Database) -> None:
        """Watch the failures ``db``'s writer takes from now on."""
        self.detach()
        db.recorder.watch_failures(self.observe)
        self._db = db

    def detach(self) -> None:
        """Stop watching (nothing if not attached)."""
        if self._db is not None:
            self._db.recorder.unwatch_failures(self.observe)
            self._db = None

    def observe(self, failures: Sequence[CommandRecord]) -> None:
        """Look at failed commands; emit ``new_error`` for each kind new in the window."""
        for record in failures:
            trace = record.traceback
            if not isinstance(trace, RawTraceback):
                continue  # Already text (a replayed spill): an old failure, not news.
            kind = (record.error_type or "Exception", error_location(trace))
            at = record.executed_at
            last = self._seen.pop(kind, None)
            if len(self._seen) >= _MAX_KINDS:
                del self._seen[next(iter(self._seen))]
            if last is not None and at - last < self.window:
                self._seen[kind] = max(at, last)  # Seen again: moves to the newest end.
                continue
            self._seen[kind] = at
            self._emit(record, kind[0], kind[1])

    def _emit(self, record: CommandRecord, error_type: str, location: str | None) -> None:
        message = record.error_message or ""
        if len(message) > _MAX_DETAIL:
            message = message[: _MAX_DETAIL - 1] + "…"
        where = location or "an unknown place"
        guild = "a direct message" if record.guild_id == DM_GUILD_ID else record.guild_id
        _log.warning(
            "monitoring: new kind of error: %s in command %s at %s",
            error_type,
            record.command,
            where,
        )
        self.events.emit(
            VitalEvent(
                "new_error",
                f"New error in {record.command}: {error_type}",
                detail=f"{error_type}: {message}\nat {where}" if message else f"at {where}",
                fields={
                    "command": record.command,
                    "error": error_type,
                    "location": where,
                    "guild": guild,
                },
                severity="warning",
                at=record.executed_at,
            )
        )
