"""Webhook URLs: which ones alerts may be posted to, and how one is shown without its secret.

A Discord webhook URL is a credential: whoever has it can post to the channel. It is checked at
start-up (:func:`webhook_url_problem`) and only ever shown redacted (:func:`redact_webhook_url`).

Accepted:

- ``https://`` to Discord (``discord.com``, ``discordapp.com``, their ``ptb.`` and ``canary.``
  hosts) in the shape of a webhook: ``/api[/vN]/webhooks/<id>/<token>``, a query allowed
  (``?thread_id=...`` posts into a thread). A Discord URL of another shape is refused: it is a
  truncated paste or a channel link, and would fail at the first alert instead of at start-up.
- ``https://`` to any other host: a relay or proxy that speaks Discord's webhook format.
- ``http://`` to this machine only (``localhost``, ``127.0.0.0/8``, ``::1``): a local relay, or a
  test. Plain HTTP anywhere else would carry the secret across a network unencrypted.

No imports from the rest of the package: the config validates ``[alerts] webhook_url`` with these.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ("DISCORD_WEBHOOK_HOSTS", "redact_webhook_url", "webhook_url_problem")

DISCORD_WEBHOOK_HOSTS = frozenset(
    f"{prefix}{domain}"
    for prefix in ("", "ptb.", "canary.")
    for domain in ("discord.com", "discordapp.com")
)
"""Hosts whose URLs must have the shape of a Discord webhook."""

_DISCORD_PATH = re.compile(r"/api(?:/v\d+)?/webhooks/(\d{15,21})/([A-Za-z0-9_-]+)/?")
"""The path of a Discord webhook: its id (a snowflake) and its token."""
_REDACTED = "[redacted]"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as an alert webhook, or ``None`` if it is accepted.

    The answer says what was expected; it never repeats the URL (the caller shows it redacted).
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        return "a URL (it does not parse)"
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        return "an https:// URL (a Discord webhook: https://discord.com/api/webhooks/<id>/<token>)"
    if scheme == "http" and not _is_loopback(host):
        return (
            "an https:// URL; plain http:// only to this machine (localhost, 127.0.0.1, ::1),"
            " since the URL is a secret"
        )
    if host in DISCORD_WEBHOOK_HOSTS and _DISCORD_PATH.fullmatch(parts.path) is None:
        return (
            f"a Discord webhook URL of the shape https://{host}/api/webhooks/<id>/<token>"
            " (copy it whole from the channel's Integrations > Webhooks)"
        )
    return None


def redact_webhook_url(url: str) -> str:
    """``url`` without its secret, for messages and logs.

    A Discord webhook keeps its host and id, its token replaced (``.../webhooks/123/[redacted]``);
    any other URL keeps only its scheme, host and port, since any part of its path or query may be
    the secret.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return _REDACTED
    if not parts.scheme or not host:
        return _REDACTED
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    base = f"{parts.scheme}://{netloc}"
    match = _DISCORD_PATH.fullmatch(parts.path)
    if host.lower() in DISCORD_WEBHOOK_HOSTS and match is not None:
        return f"{base}/api/webhooks/{match.group(1)}/{_REDACTED}"
    if parts.path.strip("/") or parts.query or parts.fragment:
        return f"{base}/{_REDACTED}"
    return base
