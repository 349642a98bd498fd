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
from typing import Any, ParamSpec, TypeVar, overload

from ..errors import GLOBAL_ERRORS, ConfigError, ErrorCounter

__all__ = ("safe_execute",)

_log = logging.getLogger("monitoring_cog")

P = ParamSpec("P")
R = TypeVar("R")


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
