"""``monitoring-cog dashboard`` and ``demo --dashboard``, run as an operator runs them.

The command serves the configured database, prints the address to open with the token in it (a
random one when none is configured, the configured one otherwise), answers with the stored data,
and stops cleanly on Ctrl-C. A missing database is refused before any address is printed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cli_support import Cli, Command, assert_user_error, populate

GUILD = "123456789012345678"
TOKEN = "configured-token-0123456789"
STARTUP = 120.0
"""Seconds the command may take to print its address (the demo simulates a month first)."""


@contextmanager
def serving(cli: Cli, *args: str, **env: str) -> Iterator[tuple[str, str]]:
    """Run the command until it prints ``Dashboard: URL``; yield (base URL, token); Ctrl-C it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "monitoring_cog", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env(**env),
        cwd=cli.root,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + STARTUP
        url = None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("Dashboard: "):
                url = line.removeprefix("Dashboard: ").strip()
                break
        if url is None:  # stderr is read only then: it blocks until the process ends
            stderr = process.stderr.read() if process.stderr else ""
            pytest.fail(f"no address printed; stderr: {stderr}")
        parts = urlsplit(url)
        assert parts.path == "/"
        [token] = parse_qs(parts.query)["token"]
        yield f"{parts.scheme}://{parts.netloc}", token
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def fetch(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def now_commands() -> list[Command]:
    now = time.time()
    return [
        Command(now - 3600 + i, GUILD, str(1000 + i % 3), "play", 0.1, success=i % 5 != 0)
        for i in range(20)
    ]


def test_a_random_token_is_made_and_printed_in_the_address(cli: Cli) -> None:
    populate(cli.db_path, now_commands())
    with serving(cli, "dashboard", "--port", "0", MONITORING_DASHBOARD_TOKEN="") as (base, token):
        assert len(token) >= 32
        status, body = fetch(f"{base}/api/health", token)
        assert (status, body["source"]) == (200, "stored")
        status, servers = fetch(f"{base}/api/servers", token)
        assert status == 200
        assert [s["guild_id"] for s in servers["servers"]] == [GUILD]
        assert servers["servers"][0]["commands_7d"] == 20
        status, _ = fetch(f"{base}/api/health", "wrong-token-0123456789")
        assert status == 401


def test_the_configured_token_is_used(cli: Cli) -> None:
    populate(cli.db_path, now_commands())
    with serving(cli, "dashboard", "--port", "0", MONITORING_DASHBOARD_TOKEN=TOKEN) as (
        base,
        token,
    ):
        assert token == TOKEN
        assert (fetch(f"{base}/api/audit", TOKEN))[0] == 200


def test_a_missing_database_is_refused(cli: Cli) -> None:
    result = cli.run("dashboard", "--port", "0")
    assert_user_error(result, "no such database")
    assert "Dashboard:" not in result.stdout


def test_demo_serves_its_month(cli: Cli) -> None:
    database = cli.root / "demo" / "demo.db"
    with serving(cli, "demo", "--database", str(database), "--dashboard", "--port", "0") as (
        base,
        token,
    ):
        status, health = fetch(f"{base}/api/health", token)
        assert status == 200
        assert health["source"] == "stored"
        assert health["status"] in ("healthy", "degraded", "unhealthy")
        assert health["components"]
        status, servers = fetch(f"{base}/api/servers", token)
        assert status == 200 and servers["total"] >= 3
