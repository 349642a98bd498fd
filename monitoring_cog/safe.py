"""``safe_execute``: monitoring never raises into the bot.

A method wrapped by :func:`safe_execute` returns its documented default instead of raising. The
exception is logged with its traceback and counted in an :class:`ErrorCounter`, and the count is
part of the health report. Two kinds of exception still propagate: :class:`ConfigError` (a
programmer error that must fail loudly) and anything that is not an :class:`Exception`, such as
:class:`asyncio.CancelledError`, so that cancellation keeps working.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, overload

from .errors import ConfigError

__all__ = ("ErrorCounter", "safe_execute")

_log = logging.getLogger("monitoring_cog")

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class ErrorCounter:
    """Counts exceptions swallowed by :func:`safe_execute` and inputs that had to be corrected."""

    errors: int = 0
    """Exceptions caught and turned into a default value."""
    by_operation: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    rejected_inputs: int = 0
    """Values that were invalid and were normalised, trimmed or dropped (with a warning)."""

    def record(self, operation: str, exc: BaseException) -> None:
        """Count one swallowed exception."""
        self.errors += 1
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
        self.last_error = f"{operation}: {type(exc).__name__}: {exc}"

    def snapshot(self) -> dict[str, Any]:
        """The counts as a plain dict (for the health report)."""
        return {
            "count": self.errors,
            "by_operation": dict(self.by_operation),
            "last_error": self.last_error,
            "rejected_inputs": self.rejected_inputs,
        }


GLOBAL_ERRORS = ErrorCounter()
"""Where errors are counted when the wrapped callable has no ``errors`` attribute of its own."""


def _counter_for(args: tuple[Any, ...]) -> ErrorCounter:
    if args:
        own = getattr(args[0], "errors", None)
        if isinstance(own, ErrorCounter):
            return own
    return GLOBAL_ERRORS


@overload
def safe_execute(func: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...


@overload
def safe_execute(
    *, default: Any = None, default_factory: Callable[[], Any] | None = None
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...


def safe_execute(
    func: Callable[..., Any] | None = None,
    /,
    *,
    default: Any = None,
    default_factory: Callable[[], Any] | None = None,
) -> Any:
    """Make an async callable return a default instead of raising.

    Use bare (``@safe_execute``, the default is ``None``) or with a default
    (``@safe_execute(default=False)``; ``default_factory=dict`` for a fresh mutable default).
    Works on plain ``async def`` functions and methods; a method's ``self.errors``
    (:class:`ErrorCounter`) receives the count, else a process-wide counter does.
    """

    def decorate(inner: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        if not inspect.iscoroutinefunction(inner):
            raise TypeError(f"safe_execute wraps async functions; {inner.__qualname__} is not one")
        operation = inner.__qualname__

        @functools.wraps(inner)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await inner(*args, **kwargs)
            except ConfigError:
                raise
            except Exception as exc:
                _counter_for(args).record(operation, exc)
                _log.exception("monitoring: %s failed; returning its default", operation)
                return default_factory() if default_factory is not None else default

        return wrapper

    if func is not None:
        return decorate(func)
    return decorate
