"""Reading a library's log records whatever the bot's logging set-up, without changing its output.

A :class:`LogTap` is a :class:`logging.Filter` placed first among a logger's filters. A logger
calls its filters for every record it creates, before its own handlers and its parents'; so the
tap sees each record whether the bot propagates it, has handlers for it, or filters it out
itself (bots often filter discord.py's rate-limit warnings away as noise).

A logger only creates records at or above its effective level, and none while it is disabled
(``logging.config.dictConfig`` disables every logger it does not name, by default). So the tap
makes sure the logger creates records from ``level`` up: if the bot's set-up would not, the tap
lowers the logger's own level (or enables it) and then keeps the records the bot would not have
seen from everyone else: it answers ``False`` for them, after its observers have seen them. What
the bot's handlers receive stays what they received before. :meth:`LogTap.refresh` follows the
bot's later changes (it is called at each health check); :meth:`LogTap.remove_observer` of the
last observer puts the logger back as it was.

Several observers share one tap per logger: a second tap would see nothing once the first held a
record back. The tap is found on the logger itself (by a marker attribute, not its class), so a
reloaded extension finds the tap its previous import installed.

Not covered: ``logging.disable(level)``, which stops records before any logger sees them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ("LogTap", "Observer", "tap")

_log = logging.getLogger(__name__)

Observer = Callable[[logging.LogRecord], None]
"""Called with each record, on the thread that logs it; it must be quick and must not log to the
tapped logger."""

_MARKER = "monitoring_cog_log_tap"
_EVERYTHING_HIDDEN = logging.CRITICAL + 1
_lock = threading.Lock()


class LogTap(logging.Filter):
    """The first filter of one logger: shows records to observers, keeps the bot's output as it
    was. Get it with :func:`tap`."""

    monitoring_cog_log_tap = True

    def __init__(self, logger: logging.Logger, level: int) -> None:
        super().__init__()
        self.logger = logger
        self.level = level
        self.observers: list[Observer] = []
        self.hidden_below = 0
        """Records below this level are kept from the bot's handlers (they only exist because
        the tap lowered the logger's level or enabled it)."""
        self.observer_errors = 0
        self._our_level: int | None = None
        """The level the tap set on the logger, while it has one set."""
        self._saved_level = logging.NOTSET
        """The logger's own level before the tap set one."""
        self._disabled_by_bot = False

    def filter(self, record: logging.LogRecord) -> bool:
        """Show ``record`` to every observer; keep it from the bot if the bot would not see it."""
        for observer in tuple(self.observers):
            try:
                observer(record)
            except Exception:
                self.observer_errors += 1  # Never logged here: it could come back to this tap.
        return record.levelno >= self.hidden_below

    def add_observer(self, observer: Observer) -> None:
        """Show ``observer`` every record of ``level`` or above from now on."""
        with _lock:
            if observer not in self.observers:
                self.observers.append(observer)
            self._apply()

    def remove_observer(self, observer: Observer) -> None:
        """Stop showing records to ``observer``; the last one out puts the logger back."""
        with _lock:
            if observer in self.observers:
                self.observers.remove(observer)
            if not self.observers:
                self._remove()

    def refresh(self) -> None:
        """Follow what the bot changed since: the tap first again, levels and enabling redone."""
        with _lock:
            if self.observers:
                self._apply()

    def _apply(self) -> None:
        logger = self.logger
        filters = logger.filters
        if not filters or filters[0] is not self:
            if self in filters:
                filters.remove(self)
            filters.insert(0, self)
        if logger.disabled:
            # Disabled by the bot's set-up (the tap re-enables it below): it wants none of these.
            self._disabled_by_bot = True
            logger.disabled = False
        if self._our_level is None or logger.level != self._our_level:
            # Never set, or the bot set a level of its own since: that is what it wants now.
            self._saved_level = logger.level
            self._our_level = None
        natural = self._saved_level or (
            logger.parent.getEffectiveLevel() if logger.parent else logging.WARNING
        )
        if natural <= self.level:
            if self._our_level is not None:
                logger.setLevel(self._saved_level)
                self._our_level = None
            hidden_below = 0
        else:
            if self._our_level is None:
                logger.setLevel(self.level)
                self._our_level = self.level
            hidden_below = natural
        self.hidden_below = _EVERYTHING_HIDDEN if self._disabled_by_bot else hidden_below

    def _remove(self) -> None:
        logger = self.logger
        if self in logger.filters:
            logger.filters.remove(self)
        if self._our_level is not None and logger.level == self._our_level:
            logger.setLevel(self._saved_level)
        self._our_level = None
        if self._disabled_by_bot:
            logger.disabled = True
            self._disabled_by_bot = False
        self.hidden_below = 0


def tap(name: str, level: int = logging.WARNING) -> LogTap:
    """The tap of logger ``name`` (records from ``level`` up), installed if it has none yet."""
    logger = logging.getLogger(name)
    with _lock:
        for existing in logger.filters:
            if getattr(existing, _MARKER, False) and hasattr(existing, "add_observer"):
                found: LogTap = existing  # type: ignore[assignment]
                return found
        created = LogTap(logger, level)
        logger.filters.insert(0, created)
        return created
