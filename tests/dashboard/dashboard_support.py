"""What the dashboard tests share beyond fixtures: the token, and ways to present it."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

TOKEN = "dashboard-test-token-0123456789"
"""The token the test dashboards accept."""


def bearer(token: str = TOKEN) -> dict[str, str]:
    """The ``Authorization`` header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


async def get_json(client: TestClient, path: str, status: int = 200, **params: Any) -> Any:
    """GET ``path`` with the token; assert the status and return the JSON body."""
    response = await client.get(path, headers=bearer(), params=params or None)
    body = await response.json()
    assert response.status == status, (response.status, body)
    return body
