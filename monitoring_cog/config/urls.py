"""Telling database URLs from file paths, and showing a URL without its password.

No imports from the rest of the package: the config validates ``[database] url`` with these.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

__all__ = ("POSTGRES_SCHEMES", "is_postgres_url", "redact_url", "url_scheme")

POSTGRES_SCHEMES = ("postgresql", "postgres")
"""URL schemes that select the PostgreSQL backend (both are libpq's)."""

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
"""A URL scheme of two characters or more: ``C://x`` is a Windows drive, not a URL."""
_SECRET_PARAMETERS = frozenset({"password"})
"""Query parameters that carry a secret (libpq accepts ``?password=...``)."""


def url_scheme(location: str) -> str | None:
    """The scheme of ``location`` in lower case if it is a URL (``scheme://...``), else None."""
    match = _SCHEME.match(location)
    return match.group(1).lower() if match else None


def is_postgres_url(location: str) -> bool:
    """Whether ``location`` is a ``postgresql://`` or ``postgres://`` URL."""
    return url_scheme(location) in POSTGRES_SCHEMES


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs.

    Covers the password of the user part (``user:secret@host``) and a ``password`` query
    parameter; everything else is kept as written, so the message still names the server.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    marks = [found for found in (rest.find("?"), rest.find("#")) if found != -1]
    cut = min(marks, default=len(rest))
    head, tail = rest[:cut], rest[cut:]
    # The user part ends at the last '@' before the query, so an unescaped '/' or '@' in a
    # password still counts as password.
    userinfo, at, hosts = head.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        head = f"{user}:***@{hosts}" if colon else f"{user}@{hosts}"
    if tail.startswith("?"):
        query, hash_mark, fragment = tail[1:].partition("#")
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_PARAMETERS for key, _ in pairs):
            query = urlencode(
                [(k, "***" if k.lower() in _SECRET_PARAMETERS else v) for k, v in pairs],
                safe="*",
            )
        tail = f"?{query}{hash_mark}{fragment}"
    return f"{scheme}://{head}{tail}"
