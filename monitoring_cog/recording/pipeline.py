"""The recording pipeline: a bounded in-memory buffer and the one task that writes it out.

``submit`` is what a command's path calls. It appends to a deque and returns: no I/O, no await,
no lock. A writer task flushes the buffer every ``flush_interval`` seconds, or as soon as a batch
is full, writing each batch (audit rows plus rollup increments) in one transaction. A failed write
puts the batch back at the front of the buffer and is retried with exponential backoff. Past
``max_queue`` records, new ones are dropped and counted; the count is reported by the health check.

Guilds seen (on READY, on joining one, renamed) are kept beside the buffer, one entry per guild,
and written with the batches a slice at a time: a bot in more guilds than ``max_queue`` registers
every one without a command record being refused for it.

Closing writes what is queued within ``close_timeout`` seconds, whatever the database does; what is
left then goes to a spill file (:mod:`monitoring_cog.recording.spill`), written on the next start. A
writer cancelled while the recorder is open (``asyncio.run`` ending with no ``close()``) does the
same before it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from itertools import islice
from pathlib import Path
from typing import Any

from ..clock import Clock
from ..config import RecordingConfig
from ..errors import ErrorCounter
from ..storage.base import Storage
from ..storage.batch import WriteBatch
from .event_names import EventNames, load_event_names
from .interrupts import deferred_interrupts
from .metric_totals import CommandTotals, ComponentCounts, EventCounts
from .privacy import Privacy
from .records import CommandRecord, GuildRecord, Record
from .repair import repaired_records, storable
from .rollups import BatchBuilder

__all__ = ("FailureWatcher", "Recorder")

_log = logging.getLogger(__name__)

_BUILD_SLICE = 100
"""Records aggregated per event-loop turn: a batch of 1,000 is built in ten short steps."""
_FINISH_SLICE = 500
"""(guild, day, command) keys summed per event-loop turn when a batch is completed."""
_DEEP_BATCHES = 3
"""With more than ``batch_size`` records queued, the writer takes up to this many batches' worth
into one transaction. Three measured the writer catching up 1.8 times as fast as one, its longest
event-loop step no longer than before; five, 2.2 times, but with steps (and garbage collections:
more objects alive at once) half as long again, past the 10 ms the loop may be held."""
_BAD_VALUE = (UnicodeError, OverflowError, TypeError)
"""Errors raised converting a record's values for the database (a lone surrogate, an integer
too large): the record is at fault, not the database, and retrying cannot help."""
_RESERVE_BASE = 0.25
_RESERVE_PER_RECORD = 30e-6
"""How much of closing's time is kept back from writing: 0.25 s, and 30 µs a queued record, a
third of the time at most. A spill measured 5 to 10 µs a record (0.5 to 1 s for 100,000) on a
busy machine, about twice that with a line tracer (coverage) on: 20 µs a record left 100,000
records 1.5 s for their spill, and an 8 s close took 8.26 s under coverage. Lock waits end that
long before the deadline; the last nine tenths of it are the spill's."""
_CLOSE_ATTEMPTS = 3
"""Write attempts made while closing (each ending by the deadline) before what is left is
spilled: a database failing fast (a corrupt file) does not hold the close until its deadline."""

FailureWatcher = Callable[[list[CommandRecord]], None]
"""Called with failed commands that carry a captured traceback (see
:meth:`Recorder.watch_failures`)."""

Spiller = Callable[[list[Record]], Path]
"""Writes records to a new spill file durably and returns its path; raises ``OSError``."""

_GUILD_SLICE = 1_000
"""Guild registrations written per transaction, beside that transaction's records: 150,000
registered on READY go in 150 transactions. PostgreSQL's write sorts and encodes its rows on the
event loop: 5,000 a slice measured a 10 ms step there, 2,000 about 4 ms on a quiet machine but
13.6 ms of CPU once on a loaded one (SQLite builds its rows on its own thread)."""

Registration = tuple[str | None, float]
"""A pending guild registration: (latest name or None, latest time seen). A tuple of plain
values: the garbage collector stops tracking it, so 150,000 of them cost collections nothing."""


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
    privacy:
        Redaction and user-id hashing applied as each batch is built (off the command's path).
    spill:
        Where closing puts the records it could not write in time; ``None`` counts them as lost.
    event_names:
        The per-guild bound on custom event names, applied as each batch is built; ``None``
        keeps every name.
    """

    def __init__(
        self,
        storage: Callable[[], Awaitable[Storage]],
        config: RecordingConfig,
        clock: Clock,
        errors: ErrorCounter | None = None,
        *,
        privacy: Privacy | None = None,
        spill: Spiller | None = None,
        event_names: EventNames | None = None,
    ) -> None:
        self._storage = storage
        self._event_names = event_names
        self._spill = spill
        self._write_deadline: float | None = None
        """Event-loop time by which writes must end, while closing: their lock waits are cut
        short to fit (see :meth:`_lock_wait`)."""
        self._write_reserve = 0.0
        """Seconds before :attr:`_write_deadline` by which lock waits end."""
        self._late: set[asyncio.Future[None]] = set()
        """Writes still running when closing reached its deadline (their outcome decides)."""
        self._privacy = privacy
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
        """Records not stored: refused (buffer full, recorder closed) or discarded (below)."""
        self.discarded = 0
        """Records the writer could not store however often it tried (a value the database
        cannot take): set aside one by one, counted here and in :attr:`dropped`, and logged."""
        self._one_at_a_time = 0
        """Records left to write singly, to find the one a failed batch cannot store."""
        self._done = 0
        """Records taken off the front of the buffer for good (written or set aside). With the
        buffer's length, it marks where the records queued before a flush's call end."""
        self._guilds: dict[str, Registration] = {}
        """Guilds seen and not yet written, by id, in the order first registered; a guild seen
        again meanwhile only updates its entry. Slices are taken from the front."""
        self._guilds_added = 0
        """Entries ever added to :attr:`_guilds`; the n-th added is the n-th taken."""
        self._guilds_taken = 0
        """Entries ever taken from the front of :attr:`_guilds`. Entries up to ``_guilds_added``
        at a flush's call were registered before it: as ``_done`` does for records, the two
        mark which registrations a flush must write."""
        self._guilds_retry: dict[str, Registration] = {}
        """The slice of a write that failed, written before :attr:`_guilds`."""
        self._repairs = 0
        """Writes refused for text UTF-8 cannot encode, whose records were then repaired."""
        self.written = 0
        """Records stored."""
        self.write_errors = 0
        """Failed write attempts (each batch retried until it succeeds)."""
        self.lost_on_close = 0
        """Records neither written nor spilled when closing ended: the spill file could not be
        written (or there is none, as for ``:memory:``), or the process ended while their write
        was in progress. Logged with the count."""
        self.spilled = 0
        """Records saved to spill files when closing ran out of time (written on the next start)."""
        self.last_error: str | None = None
        self.last_flush_at: float | None = None
        self.command_totals: CommandTotals | None = None
        """Commands written, per name and outcome, once :meth:`track_commands` is called."""
        self.component_counts: ComponentCounts | None = None
        """Component uses written, per component, kind and outcome, from the same call on."""
        self.event_counts: EventCounts | None = None
        """Custom events written, per name, from the same call on."""
        self._failure_watchers: list[FailureWatcher] = []

    @property
    def pending(self) -> int:
        """Records waiting to be written."""
        return len(self._buffer)

    @property
    def pending_guilds(self) -> int:
        """Guild registrations waiting to be written."""
        return len(self._guilds) + len(self._guilds_retry)

    @property
    def writing_late(self) -> bool:
        """Whether a write is still running after closing ended (it outlasted the deadline)."""
        return bool(self._late) or (self._closed and self._in_flight > 0)

    def track_commands(self) -> CommandTotals:
        """Start counting written commands per name and outcome (for the metrics); idempotent.

        Off until asked for: the writer then also counts each command in its histogram bucket.
        Component uses and custom events are counted from then on too
        (:attr:`component_counts`, :attr:`event_counts`).
        """
        if self.command_totals is None:
            self.component_counts = ComponentCounts()
            self.event_counts = EventCounts()
            self.command_totals = CommandTotals()
        return self.command_totals

    def watch_failures(self, watcher: FailureWatcher) -> None:
        """Call ``watcher`` with the failed commands that carry a traceback, as the writer takes
        them into a batch (before the write: a database down holds back no alert).

        A batch retried after a failed write is shown again: a watcher counts kinds, not runs.
        Called on the event loop, inline in the writer; one that raises is counted and logged.
        """
        self._failure_watchers.append(watcher)

    def unwatch_failures(self, watcher: FailureWatcher) -> None:
        """Stop calling ``watcher`` (nothing if it was not watching)."""
        if watcher in self._failure_watchers:
            self._failure_watchers.remove(watcher)

    def _show_failures(self, failures: list[CommandRecord]) -> None:
        for watcher in list(self._failure_watchers):
            try:
                watcher(failures)
            except Exception as exc:
                if self._errors is not None:
                    self._errors.record("Recorder.watch_failures", exc)
                _log.exception("monitoring: a watcher of failed commands failed")

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
        task = self._task
        if task is None or task.done():  # Never started, or cancelled by someone: (re)start.
            self._start()
        elif len(buffer) >= self._batch_size:
            self._wake.set()
        return True

    def refuses(self) -> bool:
        """Whether a record submitted now would be dropped; if so, the drop is counted now.

        Lets a caller skip building a record that could not be queued: during a flood, cleaning
        the inputs of every dropped command would cost the bot more than the flood itself.
        """
        if len(self._buffer) + self._in_flight >= self._max_queue or self._closing:
            self._drop()
            return True
        return False

    def register_guilds(self, guilds: Iterable[tuple[str, str | None]], at: float) -> None:
        """Note the guilds ``guilds``, each ``(guild_id, name or None)``, as seen at ``at``.

        Registrations wait beside the buffer, one per guild, never counting against
        ``max_queue``: registering every guild of a large bot crowds out no command record. The
        writer stores them in slices with its batches; a reader's flush includes those made
        before it. A guild registered again before it is written only has its entry updated.
        Ignored once the recorder is closing.
        """
        if self._closing:
            return
        pending = self._guilds
        known_of = pending.get
        added = 0
        for guild_id, name in guilds:
            known = known_of(guild_id)
            if known is None:
                added += 1
                pending[guild_id] = (name, at)
            else:
                pending[guild_id] = (
                    known[0] if name is None else name,
                    known[1] if known[1] > at else at,
                )
        self._guilds_added += added
        task = self._task
        if task is None or task.done():
            self._start()

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
        try:
            await self._write_until_closing()
        except asyncio.CancelledError:
            if not self._closing:
                # Cancelled while open: most likely asyncio.run ending (it cancels every task
                # left) with no close() to come. Waiting here holds its shutdown only this long.
                limit = self._config.close_timeout
                self._write_reserve = self._reserve(limit)
                await self._write_out(
                    asyncio.get_running_loop().time() + limit,
                    "the writer was cancelled before close()",
                )
            raise

    async def _write_until_closing(self) -> None:
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
        """Write everything queued before this call; raises if the database refuses it.

        What is queued meanwhile is left to the writer task (some may ride along in the last
        batch written): under input faster than the database takes it, a caller waits for what
        was queued when it called, never for the input to stop.
        """
        # Marked before waiting for the lock, which another flush may hold for a while.
        records_due = self._done + self._in_flight + len(self._buffer)
        guilds_due = self._guilds_added
        async with self._flush_lock:
            while True:
                buffer = self._buffer
                take_records = bool(buffer) and self._done < records_due
                # Writing singly isolates a record at fault: registrations wait meanwhile.
                take_guilds = not self._one_at_a_time and self._guilds_pending(guilds_due)
                if not take_records and not take_guilds:
                    break
                count = min(len(buffer), self._next_batch_size(len(buffer))) if take_records else 0
                if count == len(buffer):
                    records = list(buffer)
                    buffer.clear()
                else:
                    records = [buffer.popleft() for _ in range(count)]
                guilds = self._take_guilds() if take_guilds else {}
                # Out of the buffer, but in memory until written: they count against the bound.
                self._in_flight = count
                batch: WriteBatch | None = None
                totals = self.command_totals
                cancelled = False
                names = self._event_names
                try:
                    batch, records = await self._aggregate(
                        records, guilds, outcomes=totals is not None
                    )
                    if batch.failures and self._failure_watchers:
                        self._show_failures(batch.failures)
                    storage = await self._storage()
                    if names is not None and await load_event_names(names, storage, batch):
                        # Built without the names some guilds have stored: built again, so
                        # that the bound counts them.
                        batch, records = await self._aggregate(
                            records, guilds, outcomes=totals is not None
                        )
                    writing = asyncio.get_running_loop().create_task(
                        storage.write(batch, lock_wait=self._lock_wait()),
                        name="monitoring_cog-write",
                    )
                    cancelled = await _wait_out_cancellation(writing)
                    writing.result()
                except BaseException as exc:
                    if batch is not None and isinstance(exc, _BAD_VALUE):
                        # The same values fail the same way on every retry: repair them, or
                        # write singly until the record at fault is found and set aside.
                        self._after_refused_value(exc, batch, records, guilds)
                        if cancelled:
                            raise asyncio.CancelledError from exc
                        continue
                    # Keep the batch, in order, for the next attempt.
                    self._buffer.extendleft(reversed(records))
                    self._put_back_guilds(guilds)
                    if isinstance(exc, Exception):
                        self._note_failure(exc)
                    if cancelled:
                        raise asyncio.CancelledError from exc
                    raise
                finally:
                    self._in_flight = 0
                    if self._closed:  # A write that outlasted closing gave its records back.
                        self._spill_leftovers("a write that outlasted closing failed")
                if self._one_at_a_time:
                    self._one_at_a_time -= 1
                self._done += len(records)
                self.written += len(records)
                if totals is not None:  # Counted once committed, so a retried batch counts once.
                    totals.add(batch.outcomes)
                    if self.component_counts is not None and batch.component_outcomes:
                        self.component_counts.add(batch.component_outcomes)
                    if self.event_counts is not None and batch.event_outcomes:
                        self.event_counts.add(batch.event_outcomes)
                if batch.rejected_inputs and self._errors is not None:
                    self._errors.rejected_inputs += batch.rejected_inputs
                self.last_flush_at = self._clock.time()
                if self._failing:
                    _log.info("monitoring: writes recovered; %d records pending", self.pending)
                self._failing = False
                self.last_error = None
                if cancelled:
                    raise asyncio.CancelledError  # Now that the batch is known to be stored.

    def _after_refused_value(
        self,
        exc: Exception,
        batch: WriteBatch,
        records: list[Record],
        guilds: dict[str, Registration],
    ) -> None:
        """Put back what a write refused for one of its values, repaired if it can be.

        Text UTF-8 cannot encode (lone surrogates) is repaired and the batch retried whole.
        Otherwise the records are retried one at a time, so the one at fault is found and set
        aside alone; a slice of registrations with nothing to repair (never seen) is let go.
        """
        fixed, corrections = repaired_records(records, batch.audit_rows)
        fixed_guilds, guild_corrections = _repaired_guilds(guilds)
        if corrections or guild_corrections:
            self._buffer.extendleft(reversed(fixed))
            self._put_back_guilds(fixed_guilds)
            self._note_repair(corrections + guild_corrections)
        elif len(records) == 1 and not guilds:
            self._discard(exc)
            self._one_at_a_time = max(0, self._one_at_a_time - 1)
        elif records:
            self._buffer.extendleft(reversed(records))
            self._put_back_guilds(guilds)
            self._one_at_a_time = len(records)
        else:
            _log.error(
                "monitoring: %d guild registrations cannot be stored (%s: %s); let go",
                len(guilds),
                type(exc).__name__,
                exc,
            )

    def _guilds_pending(self, due: int) -> bool:
        """Whether any of the first ``due`` entries ever added to :attr:`_guilds` is unwritten."""
        return bool(self._guilds_retry) or (bool(self._guilds) and self._guilds_taken < due)

    def _take_guilds(self) -> dict[str, Registration]:
        """The next slice of registrations (at most ``_GUILD_SLICE``), oldest first."""
        retry = self._guilds_retry
        if retry:
            self._guilds_retry = {}
            return retry
        guilds = self._guilds
        if len(guilds) <= _GUILD_SLICE:
            self._guilds = {}
            self._guilds_taken += len(guilds)
            return guilds
        taken = dict(islice(guilds.items(), _GUILD_SLICE))
        for guild in taken:
            del guilds[guild]
        self._guilds_taken += len(taken)
        return taken

    def _put_back_guilds(self, guilds: dict[str, Registration]) -> None:
        # One flush at a time takes registrations, retried ones first: the retry slot is empty.
        if guilds:
            self._guilds_retry = guilds

    def _next_batch_size(self, pending: int) -> int:
        """Records to take into the next transaction, ``pending`` being queued.

        ``batch_size`` normally; up to ``_DEEP_BATCHES`` times that while more is queued (a
        backlog): a commit per batch costs the same whatever its size, and a larger batch
        merges more records into each rollup row, so the writer catches up faster.
        """
        if self._one_at_a_time:
            return 1
        size = self._batch_size
        return size * _DEEP_BATCHES if pending > size else size

    async def _aggregate(
        self, records: list[Record], guilds: dict[str, Registration], *, outcomes: bool
    ) -> tuple[WriteBatch, list[Record]]:
        """The batch of ``records`` and ``guilds``, and the records it holds.

        Inputs are normalised on submit, so aggregation should not fail; if a record still
        cannot be aggregated, it alone is discarded (and counted), not the whole batch.
        """
        privacy = self._privacy
        names = self._event_names
        try:
            batch = await _build(
                records, privacy, outcomes=outcomes, guilds=guilds, event_names=names
            )
            return batch, records
        except Exception:
            kept: list[Record] = []
            for record in records:
                try:
                    await _build([record], privacy, outcomes=outcomes)
                except Exception as exc:
                    self._discard(exc)
                else:
                    kept.append(record)
            batch = await _build(kept, privacy, outcomes=outcomes, guilds=guilds, event_names=names)
            return batch, kept

    def _note_repair(self, corrections: int) -> None:
        if self._errors is not None:
            self._errors.rejected_inputs += corrections
        self._repairs += 1
        # A guild whose name cannot be stored is in batch after batch: log powers of two.
        if self._repairs & (self._repairs - 1) == 0:
            _log.warning(
                "monitoring: a write held text UTF-8 cannot encode (lone surrogates in a name, "
                "message or parameters); stored with '?' in their place (%d values this time, "
                "%d such writes so far)",
                corrections,
                self._repairs,
            )

    def _discard(self, exc: Exception) -> None:
        self._done += 1  # Off the buffer for good, as a written record is.
        self.discarded += 1
        self.dropped += 1
        if self._errors is not None:
            self._errors.record("Recorder.flush", exc)
        if self.discarded & (self.discarded - 1) == 0:  # Powers of two: never a flood of logs.
            _log.error(
                "monitoring: discarded a record that cannot be stored (%s: %s); %d so far",
                type(exc).__name__,
                exc,
                self.discarded,
            )

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

    async def close(self, within: float | None = None) -> None:
        """Stop the writer and write everything still queued, within ``within`` seconds.

        ``within`` defaults to ``recording.close_timeout``. Records not written by then (the
        database locked, down, or not answering) are saved to a spill file, which the next start
        writes into the database. Never raises, but for its own cancellation or a
        ``KeyboardInterrupt`` (a second Ctrl-C), after spilling what is queued. Safe to call
        twice.
        """
        if self._closed:
            return
        self._closing = True
        self._wake.set()
        limit = self._config.close_timeout if within is None else max(0.0, within)
        deadline = asyncio.get_running_loop().time() + limit
        # From now on every write's lock wait ends by the deadline (even one that starts after
        # it: it then fails at once, and its records are spilled).
        self._write_reserve = self._reserve(limit)
        self._write_deadline = deadline
        task, self._task = self._task, None
        try:
            if task is not None:
                # The writer leaves at a safe point (never mid-transaction): wait, don't cancel.
                # A write it began before close waits for a lock at most busy_timeout_ms; one
                # still running at the deadline is left to finish (see _leave_running).
                if not await self._finished_by(task, deadline):
                    self._spill_leftovers("closing ran out of time")
                    return
                # A writer someone else cancelled is over: its cancellation is not ours to raise.
                if not task.cancelled() and task.exception() is not None:
                    _log.error("monitoring: the writer task failed", exc_info=task.exception())
            await self._write_out(deadline, "closing ran out of time")
        finally:
            self._closed = True
            # Only finds records if closing was itself interrupted (cancelled, a second Ctrl-C).
            self._spill_leftovers("closing was interrupted")

    async def _write_out(self, deadline: float, why: str) -> None:
        """Write what is queued, retrying, until done or ``deadline`` (event-loop time); then
        spill what is left. Lock waits are cut short so that a write ends by the deadline."""
        loop = asyncio.get_running_loop()
        self._write_deadline = deadline
        try:
            for attempt in range(1, _CLOSE_ATTEMPTS + 1):
                if not self._buffer:
                    break
                flushing = asyncio.ensure_future(self.flush())
                if not await self._finished_by(flushing, deadline):
                    break
                if not flushing.cancelled() and flushing.exception() is None:
                    break  # flush() writes everything queued before it returns.
                pause = 0.1 * attempt
                if attempt == _CLOSE_ATTEMPTS or deadline - loop.time() <= pause:
                    break
                await asyncio.sleep(pause)
        finally:
            if not self._closing:  # The writer's last write: the recorder carries on after it.
                self._write_deadline = None
            self._spill_leftovers(why)

    async def _finished_by(self, task: asyncio.Future[None], deadline: float) -> bool:
        """Wait for ``task`` (a flush, or the writer) until shortly before ``deadline``, then
        cancel it and wait a little more; whether it finished.

        Cancelling stops a batch being built, not a write in progress (:meth:`flush` waits
        that out). A write not finished by then, or when the wait is itself interrupted
        (cancelled, a second Ctrl-C), is left to finish (:meth:`_leave_running`).
        """
        reserve = self._write_reserve
        try:
            await _wait_until(task, deadline - reserve)
            if not task.done():
                # Past every lock wait: a batch still being built stops at once (its records
                # back in the buffer); a write the database does not answer runs on.
                task.cancel()
                await _wait_until(task, deadline - reserve * 0.9)
        finally:
            if not task.done():
                self._leave_running(task)
        return task.done()

    def _leave_running(self, task: asyncio.Future[None]) -> None:
        """A write outlasts closing: its records are stored if it commits, and spilled when it
        gives them back to the buffer; if the process ends first, they are counted as lost
        (:meth:`abandon`)."""
        self._late.add(task)
        task.add_done_callback(self._after_late_write)
        _log.warning(
            "monitoring: closing ends with %d records still being written; they are stored if"
            " that write commits, else spilled",
            self._in_flight,
        )

    def _after_late_write(self, task: asyncio.Future[None]) -> None:
        self._late.discard(task)
        if not task.cancelled():
            task.exception()  # Retrieved: the failure is logged by the writer already.
        if self._closed:
            self._spill_leftovers("a write that outlasted closing failed")

    def _spill_leftovers(self, why: str) -> None:
        """Save every queued record to a spill file, or count them as lost; empty the buffer."""
        # Held back: a Ctrl-C between the file's rename and the buffer's emptying would leave
        # the records spilled and queued (then written twice), or neither.
        with deferred_interrupts():
            records = list(self._buffer)
            queued = len(records)
            # Guilds not yet registered go too, as registration records (the latest name wins);
            # the counters below are of queued records, as elsewhere.
            guilds = {**self._guilds_retry, **self._guilds}
            records.extend(GuildRecord(guild, name, at) for guild, (name, at) in guilds.items())
            if not records:
                return
            path: Path | None = None
            error = "no spill file for this database"
            if self._spill is not None:
                try:
                    path = self._spill(records)
                except Exception as exc:  # Counted and logged below: closing goes on.
                    error = f"{type(exc).__name__}: {exc}"
            self._buffer.clear()
            self._guilds_taken += len(self._guilds)
            self._guilds, self._guilds_retry = {}, {}
            if path is not None:
                self.spilled += queued
            else:
                self.lost_on_close += queued
        if path is not None:
            _log.warning(
                "monitoring: %s: %d records saved to %s; they are written to the database on"
                " the next start",
                why,
                len(records),
                path,
            )
        else:
            _log.error(
                "monitoring: %s, and %d records could not be saved (%s); last write error: %s",
                why,
                len(records),
                error,
                self.last_error,
            )

    def abandon(self) -> None:
        """The process is ending and this recorder's event loop is gone: spill what is queued,
        and count as lost the records of a write that can no longer finish. Synchronous."""
        self._closing = self._closed = True
        if self._in_flight:
            self.lost_on_close += self._in_flight
            _log.error(
                "monitoring: the process is ending during a write of %d records; they are"
                " counted as lost (the write may have committed)",
                self._in_flight,
            )
            self._in_flight = 0
        self._spill_leftovers("the process is ending without close()")

    def _reserve(self, limit: float) -> float:
        """Seconds of a close of ``limit`` seconds kept back from writing (see
        ``_RESERVE_PER_RECORD``)."""
        queued = len(self._buffer) + self._in_flight
        return min(limit / 3, _RESERVE_BASE + queued * _RESERVE_PER_RECORD)

    def _lock_wait(self) -> float | None:
        """Seconds a write may wait for a lock: what is left until closing's deadline, or
        ``None`` (the configured busy timeout) when not closing."""
        deadline = self._write_deadline
        if deadline is None:
            return None
        return max(0.0, deadline - self._write_reserve - asyncio.get_running_loop().time())

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


def _repaired_guilds(guilds: dict[str, Registration]) -> tuple[dict[str, Registration], int]:
    """``guilds`` with ids and names UTF-8 can encode, and how many had to change."""
    repaired: dict[str, Registration] = {}
    changed = 0
    for guild, (name, at) in guilds.items():
        clean_guild = storable(guild)
        clean_name = None if name is None else storable(name)
        if clean_guild is not guild or clean_name is not name:
            changed += 1
        repaired[clean_guild] = (clean_name, at)
    return (repaired, changed) if changed else (guilds, 0)


async def _wait_until(task: asyncio.Future[None], deadline: float) -> None:
    """Wait for ``task`` until ``deadline`` (event-loop time) at most, without cancelling it."""
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining > 0 and not task.done():
        await asyncio.wait({task}, timeout=remaining)


async def _wait_out_cancellation(task: asyncio.Future[None]) -> bool:
    """Wait until ``task`` is done even if cancelled meanwhile; return whether we were.

    A write is a transaction on aiosqlite's thread: cancelling the await does not stop it, and
    it may commit after all. Waiting it out tells the writer whether the batch is stored, so a
    cancelled flush neither writes a batch twice nor counts a stored one as lost.
    """
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            cancelled = True
    return cancelled


async def _build(
    records: list[Record],
    privacy: Privacy | None = None,
    *,
    outcomes: bool = False,
    guilds: dict[str, Registration] | None = None,
    event_names: EventNames | None = None,
) -> WriteBatch:
    """Aggregate ``records`` and register ``guilds``, yielding to the event loop between slices.

    Aggregating costs a few microseconds a record; done in one go, a full batch of records from
    many guilds would hold the loop for tens of milliseconds.
    """
    builder = BatchBuilder(privacy, outcomes=outcomes, event_names=event_names)
    if guilds:
        builder.add_guilds(guilds)
    for start in range(0, len(records), _BUILD_SLICE):
        if start:
            await asyncio.sleep(0)
        builder.add(records[start : start + _BUILD_SLICE])
    for _ in builder.finishing(_FINISH_SLICE):
        await asyncio.sleep(0)
    return builder.finish()
