"""The cog's background loops keep their pace when the system clock is stepped.

A bot process (``tests/clock_step_child.py``) runs the cog with a health check and a prune every
0.2 s; libfaketime steps its wall clock an hour back or a day forward while monotonic time runs
on. That is what an NTP correction, a VM restored from a snapshot or an operator's ``date -s``
does to a real bot, and the machine cannot do it to the test process itself. Loops scheduled by
the wall clock (``discord.ext.tasks``) fall silent for the hour, or run back to back to catch up
the day; the cog's loops must run every 0.2 s through both.

libfaketime is the Debian/Ubuntu package ``faketime``; ``.ci/run`` installs it. Elsewhere, where
it is missing, these tests skip saying so (with ``CI`` set they fail instead).

The bot records into PostgreSQL (a database of the test's own on the suite's server), not SQLite:
with ``FAKETIME_DONT_FAKE_MONOTONIC`` (needed, since a real clock step leaves monotonic time
alone), libfaketime 0.9.10 slows every hand-over between threads of the process to tenths of a
second (200 executor round trips: 0.02 s without it, 1.7 to 5.9 s with it), and aiosqlite runs
each statement on a thread of its own: every health check took 1 to 2.5 s and the test measured
libfaketime. asyncpg needs no thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).resolve().parents[1] / "clock_step_child.py"
LIBFAKETIME_PLACES = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)
CHILD_DEADLINE = 120.0
"""Seconds the child may take in all (a hang guard: it runs about 4 s)."""

pytestmark = pytest.mark.slow


def libfaketime() -> str:
    """The libfaketime library to preload; skips (fails under CI) when there is none."""
    named = os.environ.get("LIBFAKETIME")
    for place in (named, *LIBFAKETIME_PLACES):
        if place and Path(place).is_file():
            return place
    reason = (
        "libfaketime is not installed (Debian/Ubuntu: apt-get install faketime; or name the "
        "library in $LIBFAKETIME): the clock-step tests need it"
    )
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def run_child(tmp_path: Path, database: str, step: str) -> dict[str, Any]:
    timestamp_file = tmp_path / "faketime"
    timestamp_file.write_text("+0\n", "utf-8")
    env = {
        **os.environ,
        "LD_PRELOAD": libfaketime(),
        "FAKETIME_TIMESTAMP_FILE": str(timestamp_file),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    done = subprocess.run(
        [sys.executable, str(CHILD), database, step],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_DEADLINE,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def after_step(times: list[float], result: dict[str, Any]) -> int:
    return sum(1 for t in times if t > result["stepped_at"])


@pytest.mark.parametrize(
    ("step", "jump"), [("-3600", -3600.0), ("+86400", 86400.0)], ids=["hour-back", "day-forward"]
)
def test_health_checks_and_prunes_keep_their_pace_through_a_clock_step(
    tmp_path: Path, fresh_database: str, step: str, jump: float
) -> None:
    result = run_child(tmp_path, fresh_database, step)

    # The step happened, as the process's wall clock saw it (otherwise this proves nothing).
    assert result["wall_jump"] == pytest.approx(jump, abs=5.0)
    # 2 s at one every 0.2 s: 10 of each. Margins for a busy machine waking the loop late;
    # a loop on the wall clock runs 0 or 1 (an hour back) or hundreds (a day forward).
    expected = result["after"] / result["interval"]
    runs = {loop: after_step(result[loop], result) for loop in ("health", "prune")}
    assert all(expected - 4 <= count <= expected + 1 for count in runs.values()), runs
