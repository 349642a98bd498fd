"""Route templates: a Discord API URL with its ids, tokens and codes taken out.

discord.py logs a rate-limited request by its method and full URL
(``POST https://discord.com/api/v10/channels/1234/messages``). Counting per URL would make one
series per channel, and an interaction's or webhook's URL holds its token. The template keeps
only the words of the path: ``POST /channels/{id}/messages``.

Rules, per path segment: digits are ``{id}``; the segment after ``reactions`` is ``{emoji}``;
after ``webhooks/{id}`` and ``interactions/{id}``, ``{token}``; after ``invites`` and
``templates``, ``{code}``; lower-case words (``bulk-delete``, ``@me``, ``@original``) stay;
anything else is ``{value}``. The scheme, host, ``/api/vN`` prefix and query are dropped.
"""

from __future__ import annotations

import re

__all__ = ("route_template",)

_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
_API = re.compile(r"^/api(?:/v\d+)?(?=/|$)")
_WORD = re.compile(r"@?[a-z][a-z0-9_-]{0,39}")
"""A word of Discord's API (``messages``, ``bulk-delete``) or a name of its own (``@me``,
``@original``)."""
_PLACEHOLDER_AFTER = {"reactions": "{emoji}", "invites": "{code}", "templates": "{code}"}
_TOKEN_AFTER = frozenset({"webhooks", "interactions"})


def route_template(method: str, url: str) -> str:
    """``METHOD /path/{id}/...`` for a request ``url`` (see the module's rules)."""
    path = _PREFIX.sub("", url, count=1).split("?", 1)[0].split("#", 1)[0]
    path = _API.sub("", path, count=1)
    segments = [segment for segment in path.split("/") if segment]
    out: list[str] = []
    for index, segment in enumerate(segments):
        previous = segments[index - 1] if index else ""
        if index >= 2 and segments[index - 2] in _TOKEN_AFTER and out[-1] == "{id}":
            out.append("{token}")
        elif previous in _PLACEHOLDER_AFTER:
            out.append(_PLACEHOLDER_AFTER[previous])
        elif segment.isdigit():
            out.append("{id}")
        elif _WORD.fullmatch(segment):
            out.append(segment)
        else:
            out.append("{value}")
    return f"{method.upper()[:10]} /{'/'.join(out)}"
