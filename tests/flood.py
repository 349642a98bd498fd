"""Input faster than the writer can store it: a task logging commands until told to stop.

Each loop turn it logs ``burst`` commands through ``log_command_nowait`` (as bot code may do
from a busy event handler), numbered in their ``parameters["i"]``, and pauses a millisecond.
The writer gets its turns in between: the buffer fills to ``max_queue`` and records are dropped
from then on, for as long as the flood lasts. Every
``raw_every``-th command instead goes straight to ``Database.submit`` with a username holding a
lone surrogate, as the cog's hooks queue Discord's names: the writer has to repair those.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from monitoring_cog import MonitoringSystem
from monitoring_cog.recording.records import CommandRecord

GUILD = "4242"


@dataclass
class Flood:
    """Logs commands in bursts from a task of its own; :attr:`accepted` are those queued."""

    system: MonitoringSystem
    guild: str = GUILD
    burst: int = 200
    raw_every: int = 1000
    accepted: list[int] = field(default_factory=list)
    """The numbers of the commands queued (not dropped), in the order they were queued."""
    raw_accepted: int = 0
    """How many of :attr:`accepted` went in raw, with a lone surrogate."""
    _task: asyncio.Task[None] | None = None
    _next: int = 0

    async def _run(self) -> None:
        db = self.system.db
        log = self.system.cmd_logger.log_command_nowait
        now = db.clock.time()
        while True:
            for _ in range(self.burst):
                i = self._next
                self._next += 1
                if i % self.raw_every == self.raw_every - 1:
                    record = CommandRecord(
                        self.guild,
                        "g",
                        "7",
                        "x\ud800",
                        "play",
                        {"i": i},
                        0.01,
                        True,
                        None,
                        None,
                        now,
                    )
                    if db.submit(record):
                        self.accepted.append(i)
                        self.raw_accepted += 1
                elif log(self.guild, "g", i % 50, None, "play", {"i": i}, 0.01):
                    self.accepted.append(i)
            # A millisecond's pause, as a bot's loop waits on the network between events: at
            # 200 commands a millisecond still ten times what the writer stores. Without any
            # pause the loop's thread never lets go of the interpreter lock, and SQLite's
            # thread, which takes it back after each row, waits up to 5 ms for every row.
            await asyncio.sleep(0.001)

    async def saturated(self, within: float = 30.0) -> None:
        """Return once the flood has filled the buffer (records are being dropped)."""
        recorder = self.system.db.recorder
        async with asyncio.timeout(within):
            while not recorder.dropped:  # noqa: ASYNC110  # A counter, not an event.
                await asyncio.sleep(0.01)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="flood")

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
