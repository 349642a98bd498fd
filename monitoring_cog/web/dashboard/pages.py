"""The pages (static HTML files), ``/login`` and ``/logout``.

Each page is a static file of ``static/`` whose script reads the JSON API; the server only picks
the file for the path. ``/login`` takes the token from a form and sets the session cookie; a page
asked for with ``?token=`` does the same and redirects to the address without it (the token
leaves the address bar and the history). ``/logout`` clears the cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from aiohttp import web

from .auth import COOKIE_NAME, FailureLimiter, TokenGate

__all__ = ("PAGES", "STATIC_DIR", "Pages", "safe_next", "set_session_cookie")

STATIC_DIR = Path(__file__).with_name("static")
"""The pages, their scripts and styles."""
PAGES = {
    "/": "overview.html",
    "/servers": "servers.html",
    "/servers/{guild_id}": "server.html",
    "/commands": "commands.html",
    "/audit": "audit.html",
    "/stalls": "stalls.html",
    "/growth": "growth.html",
}
"""Path -> the file of ``static/`` served for it."""
_FALLBACK_LOGIN = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Monitoring dashboard: log in</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main><h1>Monitoring dashboard</h1>
<form method="post" action="/login"><label>Access token
<input type="password" name="token" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form></main></body></html>
"""
"""Served for ``/login`` when the package has no ``static/login.html``."""


def safe_next(value: str | None) -> str:
    """A path on this server to go to after login: ``value`` if it is one, else ``/``.

    Refuses anything that would leave the server (``//host``, ``/\\host``, a scheme).
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ch in value for ch in "\r\n\\") or "://" in value.split("?", 1)[0]:
        return "/"
    return value


def set_session_cookie(response: web.StreamResponse, request: web.Request, gate: TokenGate) -> None:
    """Log the browser in: the signed session cookie on ``response``."""
    response.set_cookie(
        COOKIE_NAME,
        gate.issue(),
        max_age=int(gate.lifetime),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


class Pages:
    """Handlers of the pages, ``/login`` and ``/logout``."""

    def __init__(self, gate: TokenGate, limiter: FailureLimiter, static_dir: Path = STATIC_DIR):
        self.gate = gate
        self.limiter = limiter
        self.static_dir = static_dir

    def routes(self) -> list[web.AbstractRouteDef]:
        """Every page, the login and logout; ``/static/`` when the folder exists."""
        routes: list[web.AbstractRouteDef] = [
            web.get(path, self._page(name)) for path, name in PAGES.items()
        ]
        routes += [
            web.get("/login", self.login_page),
            web.post("/login", self.login),
            web.post("/logout", self.logout),
        ]
        if self.static_dir.is_dir():
            routes.append(web.static("/static/", self.static_dir))
        return routes

    def _page(self, name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def page(request: web.Request) -> web.StreamResponse:
            path = self.static_dir / name
            if not path.is_file():
                raise web.HTTPNotFound(text=f"{name} is not part of this installation")
            return web.FileResponse(path)

        return page

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        """``GET /login``: the form."""
        path = self.static_dir / "login.html"
        if path.is_file():
            return web.FileResponse(path)
        return web.Response(body=_FALLBACK_LOGIN, content_type="text/html")

    async def login(self, request: web.Request) -> web.StreamResponse:
        """``POST /login`` (form field ``token``): the cookie and on to ``next``, or back."""
        address = request.remote or "?"
        if self.limiter.blocked(address):
            return too_many(self.limiter, address)
        form = await request.post()
        token = form.get("token")
        target = safe_next(str(form.get("next") or request.query.get("next") or "/"))
        if not isinstance(token, str) or not self.gate.token_ok(token):
            self.limiter.failed(address)
            query = {"error": "1"}
            if target != "/":
                query["next"] = target
            raise web.HTTPSeeOther(f"/login?{urlencode(query, quote_via=quote)}")
        response = web.HTTPSeeOther(target)
        set_session_cookie(response, request, self.gate)
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """``POST /logout``: clear the cookie, back to the login form."""
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE_NAME, path="/")
        raise response


def too_many(limiter: FailureLimiter, address: str) -> web.Response:
    """The 429 answer to an address that presented too many wrong tokens."""
    return web.json_response(
        {"error": "too many wrong tokens; try again later"},
        status=429,
        headers={"Retry-After": str(limiter.retry_after(address))},
    )
