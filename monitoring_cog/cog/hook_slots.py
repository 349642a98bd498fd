"""Single-hook slots of a bot (``bot.before_invoke``, ``tree.on_error``...) with our hook in front.

discord.py keeps one coroutine per slot, and anyone may put another there at any time: an
error-handler cog loaded after ours sets ``bot.tree.on_error``, a ``setup_hook`` calls
``bot.before_invoke(...)``. A :class:`HookSlot` puts our hook in front of whatever the slot holds,
and :meth:`HookSlot.ensure` (called where the auditor is sure to pass before the slot is used)
notices a slot the bot has refilled and puts a new hook of ours in front of the bot's, which it
then calls. The bot's latest hook therefore always runs, once, after ours; on
:meth:`HookSlot.restore` it is put back alone.

A hook of ours made for an earlier occupant may still be called, by a bot hook that chained to it
itself; the auditor's records are marked done on the context or interaction, so such a second
pass records nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ("Hook", "HookSlot")

_log = logging.getLogger(__name__)

Hook = Callable[..., Any]


class HookSlot:
    """One attribute of ``owner`` that holds a hook, with ours in front of the bot's.

    Parameters
    ----------
    owner:
        The bot or its command tree.
    attribute:
        The attribute holding the hook (``"_before_invoke"``, ``"on_error"``...). When the owner's
        instance does not hold it, its class's method is the occupant (``CommandTree.on_error``).
    wrap:
        Makes our hook for an occupant: called with the occupant (``None`` for an empty slot), it
        returns a coroutine function that does our part and then awaits the occupant.
    """

    __slots__ = ("_made", "_owner_dict", "attribute", "hook", "installed", "owner", "wrap")

    def __init__(self, owner: object, attribute: str, wrap: Callable[[Any], Hook]) -> None:
        self.owner = owner
        self.attribute = attribute
        self.wrap = wrap
        self._owner_dict: dict[str, Any] = vars(owner)
        self.installed = False
        self.hook: Hook | None = None
        """Our hook in the slot while installed."""
        self._made: dict[Hook, tuple[Any, bool]] = {}
        """Every hook of ours made since install: what it calls, and whether that was an
        attribute of the instance (else the class's method, given back by deleting ours). A
        bot that took one of ours as its "previous" hook may put it back later."""

    def install(self) -> None:
        """Put our hook in front of the slot's occupant."""
        self.installed = True
        self._chain()

    def ensure(self) -> None:
        """Put a hook of ours back in front if the bot has refilled the slot since."""
        occupant = self._owner_dict.get(self.attribute)
        if occupant is self.hook or not self.installed:
            return
        if occupant in self._made:
            # One of ours the bot gave back (an error-handler cog unloaded): in front still.
            self.hook = occupant
        else:
            _log.debug("monitoring: %s was refilled; chaining in front of it", self.attribute)
            self._chain()

    def _chain(self) -> None:
        previous = getattr(self.owner, self.attribute)
        hook = self.wrap(previous)
        self._made[hook] = (previous, self.attribute in self._owner_dict)
        self._owner_dict[self.attribute] = self.hook = hook

    def restore(self) -> None:
        """Leave the bot's latest occupant alone in the slot (or the class's method if none)."""
        if not self.installed:
            return
        self.installed = False
        self.hook = None
        made, self._made = self._made, {}
        owner_dict = self._owner_dict
        occupant = owner_dict.get(self.attribute)
        if occupant not in made:
            # Refilled after our last look: the bot's latest is already there.
            return
        # Ours, perhaps in front of an older hook of ours a bot hook handed back: unwrap them all.
        previous, had_own = made[occupant]
        while previous in made:
            previous, had_own = made[previous]
        if had_own:
            owner_dict[self.attribute] = previous
        else:
            del owner_dict[self.attribute]  # Back to the class's own method.
