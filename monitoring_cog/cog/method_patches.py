"""A method of a discord.py class replaced by a wrapper of ours while the cog is loaded.

Used where discord.py offers no hook at all (see :mod:`monitoring_cog.cog.components`). The
wrapper goes on the class that defines the method (found at install, so it follows discord.py
moving a method to a base class between versions) and is taken off on :meth:`MethodPatch.restore`,
leaving the class as it was. If something else wrapped the method over ours since, taking ours
off would drop theirs too: ours then stays in their chain, and does nothing but call what it
wraps (its owner checks that it is installed before doing anything).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ("MethodPatch",)

_log = logging.getLogger(__name__)


class MethodPatch:
    """``cls.<name>`` (where ``cls`` or a base class defines it), wrapped while installed.

    Parameters
    ----------
    cls:
        The class whose instances' method is wrapped.
    name:
        The method's name.
    wrap:
        Called with the method in place at install (a plain function); returns its replacement.
    """

    __slots__ = ("cls", "name", "original", "owner", "patched", "wrap")

    def __init__(self, cls: type, name: str, wrap: Callable[[Any], Callable[..., Any]]) -> None:
        self.cls = cls
        self.name = name
        self.wrap = wrap
        self.owner: type | None = None
        """The class the method was found on, while installed."""
        self.original: Any = None
        self.patched: Any = None

    def install(self) -> None:
        """Put the wrapper in place of the method."""
        if self.owner is not None:
            return
        owner = next(klass for klass in self.cls.__mro__ if self.name in vars(klass))
        self.original = vars(owner)[self.name]
        self.patched = self.wrap(self.original)
        setattr(owner, self.name, self.patched)
        self.owner = owner

    def restore(self) -> None:
        """Put the method back, unless something else has wrapped it over ours since."""
        owner, self.owner = self.owner, None
        if owner is None:
            return
        if vars(owner).get(self.name) is self.patched:
            setattr(owner, self.name, self.original)
        else:
            _log.debug(
                "monitoring: %s.%s was wrapped again over ours; ours stays in the chain, inert",
                owner.__name__,
                self.name,
            )
        self.original = self.patched = None
