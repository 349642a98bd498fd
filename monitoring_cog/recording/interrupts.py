"""Holding back Ctrl-C for the length of a block that must not be cut in half.

A second Ctrl-C while the bot closes raises ``KeyboardInterrupt`` wherever the main thread is.
Between a spill file's rename and the records leaving the buffer, it would leave the records both
spilled and queued (written twice) or neither (lost uncounted); held back, it arrives a moment
later, once the block is done.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ("deferred_interrupts",)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Run the block with SIGINT held back, then deliver any that arrived to the handler that
    was in place before.

    Python runs signal handlers on the main thread only; elsewhere (where no handler can be
    set, and none would interrupt the block) the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[FrameType | None] = []

    def note(signum: int, frame: FrameType | None) -> None:
        received.append(frame)

    try:
        previous: Any = signal.signal(signal.SIGINT, note)
    except (ValueError, OSError):  # An interpreter embedded without signal handling.
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        if received:
            _deliver(previous)


def _deliver(handler: Any) -> None:
    """Hand a held-back SIGINT to ``handler`` as the signal would have."""
    if callable(handler):
        # default_int_handler raises KeyboardInterrupt; asyncio.run's cancels its main task.
        handler(signal.SIGINT, None)
    elif handler != signal.SIG_IGN:
        signal.raise_signal(signal.SIGINT)
