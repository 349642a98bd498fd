"""Security headers on every dashboard response, streamed ones and errors included.

Set in ``on_response_prepare``, the moment headers are sent, so an answer built anywhere (a
handler, an error raised by aiohttp, the event stream, the CSV download) carries them:

- a Content-Security-Policy allowing scripts, styles, fetches and images from the dashboard
  itself only (no inline script or style), forbidding framing, ``<base>`` and foreign forms;
- ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``;
- ``Referrer-Policy: no-referrer``: a first address holds the token;
- ``Cache-Control: no-store`` on everything but the static files (the data is private).

No ``Access-Control-Allow-*`` header is ever sent: other origins cannot read the API.
"""

from __future__ import annotations

from aiohttp import web

__all__ = ("CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "add_security_headers")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` handler: the headers above on ``response``."""
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
