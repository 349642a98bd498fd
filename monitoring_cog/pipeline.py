"""The recording pipeline: a bounded in-memory buffer and the one task that writes it out.

``submit`` is what a command's path calls. It appends to a deque and returns: no I/O, no await,
no lock. A writer task flushes the buffer every ``flush_interval`` seconds, or as soon as a batch
is full, writing each batch (audit rows plus rollup increments) in one transaction. A failed write
puts the batch back at the front of the buffer and is retried with exponential backoff. Past
``max_queue`` records, new ones are dropped and counted; the count is reported by the health check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .clock import Clock
from .config import RecordingConfig
from .records import Record
from .rollups import BatchBuilder, WriteBatch
from .safe import ErrorCounter
from .storage.base import Storage

__all__ = ("Recorder",)

_log = logging.getLogger(__name__)

_BUILD_SLICE = 100
"""Records aggregated per event-loop turn: a batch of 1,000 is built in ten short steps."""
_CLOSE_ATTEMPTS = 3
"""Write attempts made on close before queued records are given up (and counted as lost)."""


class Recorder:
    """Buffers records and writes them to storage in batches.

    Parameters
    ----------
    storage:
        An awaitable factory returning a connected storage (connection is lazy).
    config:
        Buffer bound, batch size, flush interval and retry backoff.
    clock:
        Used to time-stamp the last successful flush.
    errors:
        Receives the count of parameter values stored as text.
    """

    def __init__(
        self,
        storage: Callable[[], Awaitable[Storage]],
        config: RecordingConfig,
        clock: Clock,
        errors: ErrorCounter | None = None,
    ) -> None:
        self._storage = storage
        self._config = config
        self._clock = clock
        self._errors = errors
        self._buffer: deque[Record] = deque()
        self._in_flight = 0
        self._max_queue = config.max_queue
        self._batch_size = config.batch_size
        self._wake = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._failing = False
        self.dropped = 0
        """Records refused because the buffer was full or the recorder closed."""
        self.written = 0
        """Records stored."""
        self.write_errors = 0
        """Failed write attempts (each batch retried until it succeeds)."""
        self.lost_on_close = 0
        """Records still queued when close gave up on a failing database."""
        self.last_error: str | None = None
        self.last_flush_at: float | None = None

    @property
    def pending(self) -> int:
        """Records waiting to be written."""
        return len(self._buffer)

    @property
    def failing(self) -> bool:
        """Whether the most recent write attempt failed."""
        return self._failing

    def submit(self, record: Record) -> bool:
        """Queue ``record`` for writing; ``False`` if it was dropped (buffer full or closed)."""
        buffer = self._buffer
        # A batch being written is out of the buffer but still in memory: it counts too.
        if len(buffer) + self._in_flight >= self._max_queue or self._closing:
            self._drop()
            return False
        buffer.append(record)
        if self._task is None:
            self._start()
        elif len(buffer) >= self._batch_size:
            self._wake.set()
        return True

    def _drop(self) -> None:
        self.dropped += 1
        # Logging every drop during a flood would make things worse; powers of two suffice.
        if self.dropped & (self.dropped - 1) == 0:
            reason = "recorder closed" if self._closing else f"buffer full ({self._max_queue})"
            _log.warning(
                "monitoring: dropped a record (%s); %d dropped so far", reason, self.dropped
            )

    def _start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # Called outside a loop: records wait for the next flush().
        self._task = loop.create_task(self._run(), name="monitoring_cog-writer")

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stopping():
            if backoff:
                await self._sleep_unless_closing(backoff)
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._config.flush_interval):
                        await self._wake.wait()
            self._wake.clear()
            if self._stopping():
                break
            try:
                await self.flush()
            except Exception:
                backoff = min(max(0.1, backoff * 2), self._config.retry_backoff_max)
                _log.debug("monitoring: retrying the write in %.1fs", backoff)
            else:
                backoff = 0.0

    def _stopping(self) -> bool:
        return self._closing

    async def _sleep_unless_closing(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while not self._closing:
                    await self._wake.wait()
                    self._wake.clear()

    async def flush(self) -> None:
        """Write everything queued before this call; raises if the database refuses it."""
        async with self._flush_lock:
            while self._buffer:
                buffer = self._buffer
                count = min(len(buffer), self._batch_size)
                if count == len(buffer):
                    records = list(buffer)
                    buffer.clear()
                else:
                    records = [buffer.popleft() for _ in range(count)]
                # Out of the buffer, but in memory until written: they count against the bound.
                self._in_flight = count
                batch: WriteBatch | None = None
                try:
                    batch = await _build(records)
                    storage = await self._storage()
                    await storage.write(batch)
                except BaseException as exc:
                    if batch is None and isinstance(exc, Exception):
                        raise  # Records that cannot be aggregated cannot be written either.
                    # Keep the batch, in order, for the next attempt.
                    self._buffer.extendleft(reversed(records))
                    if isinstance(exc, Exception):
                        self._note_failure(exc)
                    raise
                finally:
                    self._in_flight = 0
                self.written += count
                if batch.rejected_inputs and self._errors is not None:
                    self._errors.rejected_inputs += batch.rejected_inputs
                self.last_flush_at = self._clock.time()
                if self._failing:
                    _log.info("monitoring: writes recovered; %d records pending", self.pending)
                self._failing = False
                self.last_error = None

    def _note_failure(self, exc: Exception) -> None:
        self.write_errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if not self._failing:
            _log.error(
                "monitoring: writing %d records failed (%s); will retry",
                self.pending,
                self.last_error,
            )
        self._failing = True

    async def close(self) -> None:
        """Stop the writer and write everything still queued. Safe to call twice."""
        if self._closed:
            return
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            # The writer leaves at a safe point (never mid-transaction), so await, don't cancel.
            await task
        for attempt in range(1, _CLOSE_ATTEMPTS + 1):
            try:
                await self.flush()
                break
            except Exception:
                if attempt == _CLOSE_ATTEMPTS:
                    self.lost_on_close = self.pending
                    _log.error(
                        "monitoring: closing with %d records that could not be written: %s",
                        self.pending,
                        self.last_error,
                    )
                    self._buffer.clear()
                else:
                    await asyncio.sleep(0.1 * attempt)
        self._closed = True

    def stats(self) -> dict[str, Any]:
        """Counters describing the pipeline (for health and metrics)."""
        return {
            "pending": self.pending,
            "max_queue": self._max_queue,
            "written": self.written,
            "dropped": self.dropped,
            "write_errors": self.write_errors,
            "failing": self._failing,
            "last_error": self.last_error,
            "last_flush_at": self.last_flush_at,
        }


async def _build(records: list[Record]) -> WriteBatch:
    """Aggregate ``records``, yielding to the event loop between slices.

    Aggregating costs a few microseconds a record; done in one go, a full batch of records from
    many guilds would hold the loop for tens of milliseconds.
    """
    builder = BatchBuilder()
    for start in range(0, len(records), _BUILD_SLICE):
        if start:
            await asyncio.sleep(0)
        builder.add(records[start : start + _BUILD_SLICE])
    return builder.finish()
