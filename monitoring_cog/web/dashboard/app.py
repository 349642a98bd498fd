"""``create_dashboard_app``: the aiohttp application of the dashboard, routes and middlewares.

Requests pass two middlewares, outermost first:

- **errors**: a :class:`~.params.BadInput` becomes a 400 ``{"error": ...}`` naming the
  parameter; an unknown ``/api/`` path a 404 JSON; the database unreachable a 503; anything else
  under ``/api/`` a 500 JSON (logged), never a traceback page.
- **access**: ``/login``, ``/static/`` and the extra public routes (``/metrics`` and ``/healthz``
  when the metrics share the server) are open. Everything else needs the session cookie, an
  ``Authorization: Bearer <token>`` header or ``?token=<token>``. A page opened with a right
  ``?token=`` gets the cookie and is redirected to its address without it; an ``/api/`` request
  without a valid token gets 401 JSON, a page a 303 to ``/login?next=<path>``. Wrong tokens are
  rate limited per client address (429, see :mod:`.auth`).

Security headers are added to every response (:mod:`.security`). Only GET (and HEAD) reach the
data: the dashboard is read-only; the only POSTs are the login and logout.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from ...errors import DatabaseUnavailable
from .api import DashboardApi
from .auth import COOKIE_NAME, FailureLimiter, TokenGate
from .pages import STATIC_DIR, Pages, set_session_cookie, too_many
from .params import BadInput
from .security import add_security_headers

__all__ = ("Dashboard", "create_dashboard_app")

_log = logging.getLogger(__name__)

_OPEN_PREFIXES = ("/static/",)
_OPEN_PATHS = frozenset({"/login", "/logout"})


class Dashboard:
    """What the application's handlers share: the gate, the limiter, the snapshot, the API."""

    def __init__(
        self,
        api: DashboardApi,
        gate: TokenGate,
        limiter: FailureLimiter,
        open_paths: Iterable[str] = (),
    ) -> None:
        self.api = api
        self.gate = gate
        self.limiter = limiter
        self.open_paths = _OPEN_PATHS | frozenset(open_paths)

    def is_open(self, path: str) -> bool:
        """Whether ``path`` is served without a token."""
        return path in self.open_paths or path.startswith(_OPEN_PREFIXES)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    api = request.path.startswith("/api/")
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except BadInput as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except web.HTTPException as exc:
        if api and exc.status >= 400:
            return web.json_response(
                {"error": exc.reason}, status=exc.status, headers=_kept_headers(exc)
            )
        raise
    except DatabaseUnavailable as exc:
        _log.warning("monitoring: dashboard: database unavailable: %s", exc)
        return web.json_response({"error": "the database is unavailable"}, status=503)
    except Exception:
        if not api:
            raise
        _log.exception("monitoring: dashboard: %s failed", request.path)
        return web.json_response({"error": "internal error (logged)"}, status=500)


def _kept_headers(exc: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}


def _access(dashboard: Dashboard) -> Any:
    # Any: aiohttp's middleware type is a Protocol in some versions, a Callable in others.
    @web.middleware
    async def access(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await _check_access(dashboard, request, handler)

    return access


async def _check_access(
    dashboard: Dashboard, request: web.Request, handler: Handler
) -> web.StreamResponse:
    if dashboard.is_open(request.path):
        return await handler(request)
    api = request.path.startswith("/api/")
    address = request.remote or "?"
    presented = _presented_token(request)
    if presented is not None:
        if dashboard.limiter.blocked(address):
            return too_many(dashboard.limiter, address)
        if not dashboard.gate.token_ok(presented):
            dashboard.limiter.failed(address)
            if api:
                return web.json_response({"error": "wrong token"}, status=401)
            raise web.HTTPSeeOther("/login?error=1")
        if not api and "token" in request.query:
            # Logged in: the cookie, and the same page without the token in its address.
            query = {k: v for k, v in request.query.items() if k != "token"}
            target = request.path + (f"?{urlencode(query)}" if query else "")
            response = web.HTTPSeeOther(target)
            set_session_cookie(response, request, dashboard.gate)
            raise response
        return await handler(request)
    if dashboard.gate.session_ok(request.cookies.get(COOKIE_NAME)):
        return await handler(request)
    if api:
        return web.json_response(
            {"error": "a token is required (the session cookie or Authorization: Bearer)"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="monitoring dashboard"'},
        )
    target = request.path_qs
    raise web.HTTPSeeOther(f"/login?{urlencode({'next': target}, quote_via=quote)}")


def _presented_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
        return ""  # Another scheme: a wrong token, counted as one.
    token = request.query.get("token")
    return token if token is not None else None


def create_dashboard_app(
    api: DashboardApi,
    gate: TokenGate,
    limiter: FailureLimiter,
    *,
    static_dir: Path = STATIC_DIR,
    public_routes: Callable[[web.Application], Iterable[str]] | None = None,
) -> web.Application:
    """The dashboard's application.

    Parameters
    ----------
    api:
        The JSON API's handlers (its database, snapshot and streams).
    gate, limiter:
        The token and session checks, and the count of wrong tokens.
    static_dir:
        The folder of the pages.
    public_routes:
        Adds routes served without a token to the application and returns their paths (the
        metrics endpoint's ``/metrics`` and ``/healthz`` when both share one server).
    """
    app = web.Application()
    open_paths: list[str] = []
    if public_routes is not None:
        open_paths = list(public_routes(app))
    dashboard = Dashboard(api, gate, limiter, open_paths)
    app.middlewares.extend([_errors, _access(dashboard)])
    app.router.add_routes(Pages(gate, limiter, static_dir).routes())
    app.router.add_routes(api.routes())
    app.on_response_prepare.append(add_security_headers)
    return app
