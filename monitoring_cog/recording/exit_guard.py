"""What happens to a database still open when the interpreter exits.

A script that uses the library inside ``asyncio.run`` without closing it, a ``Database`` never
closed, a bot stopped by Ctrl-C outside ``async with bot``: in each, the process reaches its end
with a database open. The writer has already written what it could as ``asyncio.run`` cancelled it
(:meth:`Recorder._run <monitoring_cog.recording.pipeline.Recorder>`); what remains, and the
connection, are dealt with here:

- the records still queued are saved to a spill file (written on the next start), and those of a
  write cut off by the exit are counted as lost and logged;
- the connection is let go. aiosqlite runs each connection on a thread that is not a daemon, and
  the interpreter waits for such threads before exiting: a connection never closed kept the
  process alive for ever.

The hook is registered with ``threading._register_atexit``: private, but the only hook that
runs before the interpreter waits for those threads (``atexit`` runs after; it is what
``concurrent.futures`` uses for its own worker threads, in every Python this package supports).
Where it is missing, ``atexit`` is used: records are still spilled, though an open SQLite
connection then keeps the process from exiting, as before.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = ("Abandonable", "track", "untrack")

_log = logging.getLogger(__name__)


class Abandonable(Protocol):
    """What the exit hook needs of an open database."""

    def abandon(self) -> None:
        """Spill what is queued and let go of the connection, without an event loop."""


_open: weakref.WeakSet[Abandonable] = weakref.WeakSet()
"""Databases open now. Weak: one collected unclosed frees its connection itself (aiosqlite
stops its thread when its connection object is deleted)."""
_registered = False
_lock = threading.Lock()


def track(database: Abandonable) -> None:
    """Have ``database`` let go at exit unless :func:`untrack`-ed first (by its close)."""
    global _registered
    with _lock:
        _open.add(database)
        if _registered:
            return
        register: Callable[[Callable[[], None]], object] = getattr(
            threading, "_register_atexit", atexit.register
        )
        try:
            register(_at_exit)
        except RuntimeError as exc:  # Already shutting down: the process is on its way out.
            _log.debug("monitoring: no exit hook registered (%s)", exc)
            return
        _registered = True


def untrack(database: Abandonable) -> None:
    """``database`` was closed: nothing to do for it at exit."""
    with _lock:
        _open.discard(database)


def _at_exit() -> None:
    with _lock:
        databases = list(_open)
        _open.clear()
    for database in databases:
        try:
            database.abandon()
        except Exception:  # One database's trouble must not keep the others' records unsaved.
            _log.exception("monitoring: could not let go of a database at exit")
