"""Who gets in: the token (Bearer, ?token=, the login form), the session cookie and its flags,
the limit on wrong tokens, the security headers, and what a request without a token gets."""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path

from aiohttp.test_utils import TestClient
from dashboard_support import TOKEN, bearer
from yarl import URL

from monitoring_cog import ManualClock
from monitoring_cog.web.dashboard.auth import COOKIE_NAME, MAX_FAILURES, TokenGate
from monitoring_cog.web.dashboard.security import CONTENT_SECURITY_POLICY
from monitoring_cog.web.dashboard.server import DashboardServer


def session_cookie(response: object) -> SimpleCookie:
    """The ``Set-Cookie`` of the session in a response, parsed."""
    headers = [v for k, v in response.headers.items() if k.lower() == "set-cookie"]  # type: ignore[attr-defined]
    cookies: SimpleCookie = SimpleCookie()
    for header in headers:
        cookies.load(header)
    return cookies


async def test_api_without_token_is_401_json(client: TestClient) -> None:
    for path in ("/api/health", "/api/servers", "/api/audit", "/api/stalls", "/api/nowhere"):
        response = await client.get(path)
        assert response.status == 401, path
        assert "error" in await response.json()
        assert "Set-Cookie" not in response.headers


async def test_api_with_wrong_bearer_is_401_and_right_one_is_200(client: TestClient) -> None:
    wrong = await client.get("/api/health", headers=bearer("not-the-token-at-all-000"))
    assert wrong.status == 401
    other_scheme = await client.get("/api/health", headers={"Authorization": f"Basic {TOKEN}"})
    assert other_scheme.status == 401
    right = await client.get("/api/health", headers=bearer())
    assert right.status == 200
    assert (await right.json())["source"] == "live"


async def test_page_without_session_redirects_to_login_with_next(client: TestClient) -> None:
    response = await client.get("/servers/123?x=1", allow_redirects=False)
    assert response.status == 303
    location = URL(response.headers["Location"])
    assert location.path == "/login"
    assert location.query["next"] == "/servers/123?x=1"


async def test_token_in_url_sets_a_strict_httponly_cookie_and_drops_the_token(
    client: TestClient, clock: ManualClock, dashboard: DashboardServer
) -> None:
    response = await client.get(f"/audit?token={TOKEN}&guild_id=5", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/audit?guild_id=5"
    morsel = session_cookie(response)[COOKIE_NAME]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) == int(dashboard.gate.lifetime)
    assert not morsel["secure"]  # Plain HTTP here; HTTPS requests get Secure.
    # The cookie now opens pages and the API.
    page = await client.get("/audit", allow_redirects=False)
    assert page.status == 200
    assert "audit page" in await page.text()
    api = await client.get("/api/health")
    assert api.status == 200


async def test_session_expires(
    client: TestClient, clock: ManualClock, dashboard: DashboardServer
) -> None:
    await client.get(f"/?token={TOKEN}", allow_redirects=False)
    assert (await client.get("/api/health")).status == 200
    clock.advance(dashboard.gate.lifetime + 1)
    assert (await client.get("/api/health")).status == 401


async def test_forged_cookie_is_refused(client: TestClient, clock: ManualClock) -> None:
    far = int(clock.time()) + 10**6
    for value in (f"{far}.nonce.deadbeef", f"{far}.nonce", "garbage", ""):
        client.session.cookie_jar.clear()
        client.session.cookie_jar.update_cookies({COOKIE_NAME: value})
        assert (await client.get("/api/health")).status == 401, value


async def test_cookie_of_another_token_is_refused(client: TestClient) -> None:
    gate = TokenGate("another-token-0123456789", lifetime=3600, now=lambda: 1e10)
    client.session.cookie_jar.update_cookies({COOKIE_NAME: gate.issue()})
    assert (await client.get("/api/health")).status == 401


async def test_login_form(client: TestClient) -> None:
    form = await client.get("/login")
    assert form.status == 200
    wrong = await client.post(
        "/login",
        data={"token": "wrong-token-000000000000", "next": "/stalls"},
        allow_redirects=False,
    )
    assert wrong.status == 303
    assert URL(wrong.headers["Location"]).query["error"] == "1"
    assert COOKIE_NAME not in session_cookie(wrong)
    right = await client.post(
        "/login", data={"token": TOKEN, "next": "/stalls"}, allow_redirects=False
    )
    assert right.status == 303
    assert right.headers["Location"] == "/stalls"
    assert session_cookie(right)[COOKIE_NAME]["httponly"] is True
    assert (await client.get("/api/health")).status == 200


async def test_login_never_redirects_off_site(client: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "evil"):
        response = await client.post(
            "/login", data={"token": TOKEN, "next": target}, allow_redirects=False
        )
        assert response.headers["Location"] == "/", target


async def test_logout_clears_the_cookie(client: TestClient) -> None:
    await client.get(f"/?token={TOKEN}", allow_redirects=False)
    assert (await client.get("/api/health")).status == 200
    response = await client.post("/logout", allow_redirects=False)
    assert response.status == 303
    assert session_cookie(response)[COOKIE_NAME].value == ""
    assert (await client.get("/api/health")).status == 401


async def test_wrong_tokens_are_rate_limited(client: TestClient, clock: ManualClock) -> None:
    for _ in range(MAX_FAILURES):
        response = await client.get("/api/health", headers=bearer("wrong-token-000000000000"))
        assert response.status == 401
    # Past the limit even the right token is refused, by every way of presenting it.
    limited = await client.get("/api/health", headers=bearer())
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await client.get(f"/?token={TOKEN}", allow_redirects=False)).status == 429
    assert (await client.post("/login", data={"token": TOKEN}, allow_redirects=False)).status == 429
    clock.advance(61)
    assert (await client.get("/api/health", headers=bearer())).status == 200


async def test_security_headers_on_every_kind_of_answer(client: TestClient) -> None:
    answers = [
        await client.get("/api/health", headers=bearer()),
        await client.get("/api/health"),  # 401
        await client.get("/login"),
        await client.get("/", allow_redirects=False),  # 303
        await client.get("/api/servers/abc/report", headers=bearer()),  # 400
        await client.get("/static/app.css"),
    ]
    for response in answers:
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_no_cors(client: TestClient) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    response = await client.get("/api/health", headers={**bearer(), **origin})
    assert response.status == 200
    assert not any(k.lower().startswith("access-control-") for k in response.headers)
    preflight = await client.options(
        "/api/health", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status in (401, 405)
    assert not any(k.lower().startswith("access-control-") for k in preflight.headers)


async def test_read_only(client: TestClient) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = await client.request(method, "/api/audit", headers=bearer())
        assert response.status == 405, method


async def test_static_files_need_no_token_and_stay_in_their_folder(
    client: TestClient, static_dir: Path
) -> None:
    response = await client.get("/static/app.css")
    assert response.status == 200
    (static_dir.parent / "secret.txt").write_text("not for the web")
    for path in ("/static/..%2Fsecret.txt", "/static/%2E%2E/secret.txt"):
        traversal = await client.get(URL(path, encoded=True), allow_redirects=False)
        assert traversal.status in (403, 404), path
        assert "not for the web" not in await traversal.text()


async def test_api_takes_the_token_in_the_query_too(client: TestClient) -> None:
    right = await client.get("/api/health", params={"token": TOKEN}, allow_redirects=False)
    assert right.status == 200
    assert COOKIE_NAME not in session_cookie(right)  # A script's call: no session is opened.
    wrong = await client.get(
        "/api/health", params={"token": "not-the-token-at-all-000"}, allow_redirects=False
    )
    assert wrong.status == 401
