"""Waiting for what another task does (the writer, a retry): polled, with a hang guard."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

DEADLINE = 30.0
"""Seconds a poll waits before the test fails: a hang guard, never a timing assertion."""


async def wait_until(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> float:
    """Poll ``condition`` until it holds; return the seconds it took (fail past ``deadline``)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        if loop.time() - start > deadline:
            pytest.fail(f"still waiting after {deadline}s for {what}")
        await asyncio.sleep(0.005)
    return loop.time() - start
