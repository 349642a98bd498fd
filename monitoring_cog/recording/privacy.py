"""What is stored of a command's arguments and of who ran it (``[privacy]``).

Applied by the writer as it builds a batch
(:class:`~monitoring_cog.recording.rollups.BatchBuilder`), never on a command's path, so a command
pays nothing for it:

- **Redaction**: a parameter whose name contains one of ``redact_keys`` (case-insensitive
  substring: ``api_key``, ``Password``, ``bot_token`` all match ``key``, ``password``, ``token``)
  is stored as :data:`REDACTED`, whatever its value, at any depth of nested dicts and lists.
- **No parameters**: with ``store_parameters = false`` every audit row's parameters are ``{}``.
- **No usernames**: with ``store_usernames = false`` the username column is empty.
- **Tracebacks**: ``store_tracebacks`` is ``"full"`` (a failed command's traceback and a
  stall's stack keep each frame's file, line, function and source line), ``"frames"`` (no
  source lines) or ``"off"`` (none kept). Neither ever holds a local variable or an argument's
  value: only code locations and the code's own text. The error's message is stored as before,
  in ``error_message``.
- **Pseudonymous user ids**: with ``hash_user_ids = true`` every user id stored (audit rows and
  the per-day user rows) is ``"h:"`` plus the first 32 hex digits of HMAC-SHA256(secret, id).
  Lookups by user (audit queries, ``forget_user``) hash the id they are given the same way, so
  they keep working; distinct-user counts are unchanged, since one id always gives one hash.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .frames import RawTraceback, render_traceback

if TYPE_CHECKING:
    from ..config import PrivacyConfig

__all__ = (
    "DEFAULT_REDACT_KEYS",
    "PSEUDONYM_PREFIX",
    "REDACTED",
    "Privacy",
    "is_pseudonym",
)

REDACTED = "[redacted]"
"""What a redacted parameter value is stored as."""
DEFAULT_REDACT_KEYS = ("token", "password", "secret", "key")
"""Parameter names containing any of these (case-insensitive) are redacted by default."""
PSEUDONYM_PREFIX = "h:"
"""Marks a stored user id as a pseudonym (keyed hash), never a Discord id (those are digits)."""
_PSEUDONYM_HEX = 32
"""Hex digits kept of the HMAC: 128 bits, so two users never share a pseudonym in practice."""
_HEX = frozenset("0123456789abcdef")
_CACHE_LIMIT = 4096
_CONTAINERS = (dict, list, tuple, set, frozenset)
"""Names and ids remembered per cache; past it a cache starts afresh (bounded memory)."""


def is_pseudonym(user_id: str) -> bool:
    """Whether ``user_id`` already has the form of a stored pseudonym (``h:`` + 32 hex digits)."""
    return (
        len(user_id) == len(PSEUDONYM_PREFIX) + _PSEUDONYM_HEX
        and user_id.startswith(PSEUDONYM_PREFIX)
        and _HEX.issuperset(user_id[len(PSEUDONYM_PREFIX) :])
    )


class Privacy:
    """The privacy rules one database applies to what it stores.

    Parameters
    ----------
    redact_keys:
        Parameter names containing any of these (case-insensitive) are stored as
        :data:`REDACTED`. Empty: nothing is redacted.
    store_parameters:
        ``False`` stores ``{}`` as every command's parameters.
    store_usernames:
        ``False`` stores no usernames.
    secret:
        The HMAC key for pseudonymous user ids; ``None`` stores user ids as given.
    tracebacks:
        ``"full"``, ``"frames"`` or ``"off"``: what is kept of tracebacks and stall stacks.
    """

    __slots__ = (
        "_hashed",
        "_keys",
        "_secret",
        "_sensitive",
        "store_parameters",
        "store_usernames",
        "tracebacks",
    )

    def __init__(
        self,
        redact_keys: Iterable[str] = DEFAULT_REDACT_KEYS,
        *,
        store_parameters: bool = True,
        store_usernames: bool = True,
        secret: bytes | None = None,
        tracebacks: str = "full",
    ) -> None:
        self._keys = tuple(dict.fromkeys(k.strip().lower() for k in redact_keys if k.strip()))
        self.store_parameters = store_parameters
        self.store_usernames = store_usernames
        self.tracebacks = tracebacks
        self._secret = secret or None
        self._sensitive: dict[Any, bool] = {}
        self._hashed: dict[str, str] = {}

    @classmethod
    def from_config(cls, config: PrivacyConfig) -> Privacy:
        """The rules of a ``[privacy]`` section (its secret read now, from the environment first).

        Raises :class:`~monitoring_cog.errors.ConfigError` naming the key if hashing is on and
        no usable secret is set.
        """
        secret = config.hash_secret_value() if config.hash_user_ids else None
        return cls(
            config.redact_keys,
            store_parameters=config.store_parameters,
            store_usernames=config.store_usernames,
            secret=secret.encode("utf-8") if secret else None,
            tracebacks=config.store_tracebacks,
        )

    # -- what applies -----------------------------------------------------------------------

    @property
    def redacts(self) -> bool:
        """Whether any parameter name is redacted."""
        return bool(self._keys) and self.store_parameters

    @property
    def hashes_user_ids(self) -> bool:
        """Whether user ids are stored as pseudonyms."""
        return self._secret is not None

    @property
    def rewrites_rows(self) -> bool:
        """Whether an audit row may differ from the record it comes from."""
        return (
            self.redacts
            or not self.store_parameters
            or not self.store_usernames
            or self.hashes_user_ids
        )

    @property
    def keeps_rows_identity(self) -> bool:
        """Whether only parameters may change: user ids and usernames are stored as given."""
        return self.store_usernames and not self.hashes_user_ids

    @property
    def stores_tracebacks(self) -> bool:
        """Whether failed commands' tracebacks (and stalls' stacks) are kept at all."""
        return self.tracebacks != "off"

    def traceback_text(
        self, raw: RawTraceback | str | None, header: str = "Traceback (most recent call last):"
    ) -> str | None:
        """A captured traceback as the text stored under these rules (``None`` when off).

        Source lines are read here (files, through :mod:`linecache`): the writer calls this,
        never a command's path. Text already rendered (read back from a spill) is kept as is.
        """
        if raw is None or self.tracebacks == "off":
            return None
        if isinstance(raw, str):
            return raw
        return render_traceback(raw, source=self.tracebacks == "full", header=header)

    # -- user ids ---------------------------------------------------------------------------

    def user_id(self, user_id: str) -> str:
        """The user id as stored: its pseudonym when hashing is on, else unchanged.

        An id that already is a pseudonym is returned as is, so an operator may pass either the
        Discord id or the pseudonym seen in an export (to ``forget_user``, to audit queries).
        """
        secret = self._secret
        if secret is None:
            return user_id
        found = self._hashed.get(user_id)
        if found is not None:
            return found
        if is_pseudonym(user_id):
            return user_id
        digest = hmac.digest(secret, user_id.encode("utf-8"), "sha256").hex()
        pseudonym = PSEUDONYM_PREFIX + digest[:_PSEUDONYM_HEX]
        if len(self._hashed) >= _CACHE_LIMIT:
            self._hashed.clear()
        self._hashed[user_id] = pseudonym
        return pseudonym

    # -- parameters -------------------------------------------------------------------------

    def is_sensitive(self, name: Any) -> bool:
        """Whether a parameter called ``name`` is redacted (its text contains a key)."""
        found = self._sensitive.get(name)
        if found is None:
            lowered = str(name).lower()
            found = any(key in lowered for key in self._keys)
            if len(self._sensitive) >= _CACHE_LIMIT:
                self._sensitive.clear()
            self._sensitive[name] = found
        return found

    def any_sensitive(self, names: Iterable[Any]) -> bool:
        """Whether any of ``names`` is redacted."""
        return bool(self._keys) and any(self.is_sensitive(name) for name in names)

    def redact(self, parameters: dict[Any, Any]) -> dict[Any, Any]:
        """``parameters`` with every sensitive value replaced by :data:`REDACTED`.

        Returns the same dict when nothing is sensitive (the common case costs a walk of the
        keys, no copy); otherwise a copy, the caller's dict untouched. Nested dicts, lists,
        tuples and sets are walked too; in a copy, a container that contains itself is replaced
        by ``"[circular]"`` so that no unredacted reference survives.
        """
        if not self._keys:
            return parameters
        # The common case inline: flat arguments with names seen before, one lookup each.
        known = self._sensitive
        for name, item in parameters.items():
            sensitive = known.get(name)
            if sensitive is None:
                sensitive = self.is_sensitive(name)
            if sensitive or isinstance(item, _CONTAINERS):
                break
        else:
            return parameters
        if not self._contains_sensitive(parameters, set()):
            return parameters
        redacted: dict[Any, Any] = self._redacted(parameters, set())
        return redacted

    def redact_json(self, text: str) -> str:
        """Parameters already serialised to JSON text, redacted the same way."""
        if not self._keys or len(text) <= 2:
            return text
        lowered = text.lower()
        if not any(key in lowered for key in self._keys):
            return text  # No key's text anywhere: nothing can be sensitive.
        try:
            value = json.loads(text)
        except ValueError:
            return text  # Not JSON, so no names to match: stored as the caller gave it.
        if not isinstance(value, dict) or not self._contains_sensitive(value, set()):
            return text
        return json.dumps(self._redacted(value, set()), ensure_ascii=False, separators=(",", ":"))

    def _contains_sensitive(self, value: Any, seen: set[int]) -> bool:
        if isinstance(value, dict):
            if id(value) in seen:
                return False
            seen.add(id(value))
            for name, item in value.items():
                if self.is_sensitive(name):
                    return True
                if isinstance(item, _CONTAINERS) and self._contains_sensitive(item, seen):
                    return True
            return False
        if isinstance(value, list | tuple | set | frozenset):
            if id(value) in seen:
                return False
            seen.add(id(value))
            return any(
                self._contains_sensitive(item, seen)
                for item in value
                if isinstance(item, _CONTAINERS)
            )
        return False

    def _redacted(self, value: Any, path: set[int]) -> Any:
        if not isinstance(value, _CONTAINERS):
            return value
        if id(value) in path:
            return "[circular]"
        path.add(id(value))
        try:
            if isinstance(value, dict):
                return {
                    name: REDACTED if self.is_sensitive(name) else self._redacted(item, path)
                    for name, item in value.items()
                }
            return [self._redacted(item, path) for item in value]
        finally:
            path.discard(id(value))
