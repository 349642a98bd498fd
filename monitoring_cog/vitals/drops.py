"""``DropWatch``: a vital event as soon as the recorder drops records.

The recorder counts what it drops (``Recorder.dropped``: the queue past ``recording.max_queue``,
records submitted after close, records the database can never take) and says so in the health
report, at the next check. Lost records deserve to be heard of sooner: :meth:`DropWatch.check`
compares the count with the one it saw last (an attribute read, nothing more, so it can run every
few seconds) and emits one ``"records_dropped"`` event for whatever was dropped since. The
webhook's per-kind rate limit keeps a long flood to one message per ``alerts.min_interval``.
"""

from __future__ import annotations

from ..clock import Clock
from ..recording.pipeline import Recorder
from .events import VitalEvent, VitalEvents

__all__ = ("DropWatch",)


class DropWatch:
    """Emits ``"records_dropped"`` on ``events`` when ``recorder`` has dropped records since the
    previous :meth:`check` (drops before the watch was made are not news)."""

    def __init__(self, recorder: Recorder, events: VitalEvents, clock: Clock) -> None:
        self.recorder = recorder
        self.events = events
        self.clock = clock
        self._seen = recorder.dropped

    def check(self) -> int:
        """Emit an event if records were dropped since the last check; return how many were."""
        recorder = self.recorder
        total = recorder.dropped
        new = total - self._seen
        self._seen = total
        if new <= 0:
            return 0
        stats = recorder.stats()
        self.events.emit(
            VitalEvent(
                "records_dropped",
                f"{new} monitoring record(s) dropped",
                detail=(
                    "Commands and statistics were lost: the recording queue is full (the "
                    "database is slow, down or refusing writes), the recorder closed, or a "
                    "record held a value the database can never take. See /health's recording "
                    "section and the bot's log."
                ),
                fields={
                    "dropped now": str(new),
                    "dropped since start": str(total),
                    "queued": f"{stats['pending']} of {stats['max_queue']}",
                    "writes failing": "yes" if stats["failing"] else "no",
                },
                severity="critical",
                at=self.clock.time(),
            )
        )
        return new
