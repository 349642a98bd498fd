"""Processes that end without ``close()``, a second Ctrl-C while closing, a replay killed midway.

Each scenario runs :mod:`lifecycle_child` as a real process and waits for it to exit by itself
within a bound (a process that hangs fails the test, and is then killed). Afterwards the
database is read through its own connection, and the child's last line reports its recorder's
counters (printed by an ``atexit`` handler, after the library's exit hook): every record it
handed over is written, spilled (then written by the next start, exactly once), or counted as
lost.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from backends import Backend
from db_support import exclusive_lock, stored_indexes

CHILD = Path(__file__).with_name("lifecycle_child.py")
EXIT_BOUND = 10.0
"""Seconds a child may take to exit once it is done or signalled: a hang guard, with room for a
shared machine (the figures observed are in docs/reliability.md)."""
STARTUP_BOUND = 60.0
"""Seconds a child may take to start and hand its records over."""
QUIET = 3600.0
"""A flush interval no child outlives: only the writer's last write or close writes."""


class Child:
    """A running :mod:`lifecycle_child` process, its output going to a file."""

    def __init__(self, mode: str, count: int, config: Path, tmp_path: Path) -> None:
        self.output = tmp_path / f"{mode}-{time.monotonic_ns()}.out"
        self.errors = self.output.with_suffix(".err")
        with open(self.output, "w") as out, open(self.errors, "w") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(CHILD), mode, str(count)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env={**_environment(), "MONITORING_CONFIG": str(config)},
                cwd=tmp_path,
            )

    def lines(self) -> list[str]:
        return self.output.read_text().splitlines()

    def wait_for(self, line: str, bound: float = STARTUP_BOUND) -> None:
        start = time.monotonic()
        while line not in self.lines():
            if self.process.poll() is not None:
                pytest.fail(f"the child exited ({self.process.returncode}): {self.stderr()}")
            if time.monotonic() - start > bound:
                self.process.kill()
                pytest.fail(f"no {line!r} from the child after {bound}s: {self.stderr()}")
            time.sleep(0.01)

    def go(self) -> None:
        """Let a child waiting after ``ready`` end (its stdin closed)."""
        assert self.process.stdin is not None
        self.process.stdin.close()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def exit_time(self, bound: float = EXIT_BOUND) -> float:
        """Seconds until the child exits by itself; the test fails (and it is killed) past
        ``bound``."""
        start = time.monotonic()
        try:
            self.process.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the child did not exit by itself within {bound}s: {self.stderr()}")
        return time.monotonic() - start

    def counters(self) -> dict[str, int]:
        """The recorder's counters, as the child printed them last thing before exiting."""
        [recorder] = json.loads(self.lines()[-1])["recorders"]
        return dict(recorder)

    def stderr(self) -> str:
        return self.errors.read_text()[-3000:]


def _environment() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key != "MONITORING_CONFIG"}


def write_config(tmp_path: Path, database: str, **recording: Any) -> Path:
    """A config file: ``database`` is the ``[database]`` table's body; ``recording`` its keys."""
    settings = {"flush_interval": QUIET, **recording}
    body = "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    path = tmp_path / "monitoring.toml"
    path.write_text(f"[database]\n{database}\n[recording]\n{body}", encoding="utf-8")
    return path


def sqlite_config(tmp_path: Path, **settings: Any) -> tuple[Path, Path]:
    """A config for a SQLite file in ``tmp_path``, and the file; ``busy_timeout_ms`` among
    ``settings`` goes to ``[database]``, the rest to ``[recording]``."""
    db_path = tmp_path / "data" / "bot.db"
    busy = settings.pop("busy_timeout_ms", 5000)
    database = f'path = "{db_path.as_posix()}"\nbusy_timeout_ms = {busy}'
    return write_config(tmp_path, database, **settings), db_path


def spills_of(db_path: Path) -> list[Path]:
    """The spill files beside ``db_path`` (the default place)."""
    return sorted(db_path.parent.glob(f"{db_path.name}.*.spill"))


# --- item 9: processes that end without close() ------------------------------------------------


def test_a_script_using_the_helpers_without_close_exits_and_writes_what_it_queued(
    tmp_path: Path,
) -> None:
    config, db_path = sqlite_config(tmp_path)
    child = Child("helpers", 200, config, tmp_path)
    child.wait_for("ready")

    child.go()
    took = child.exit_time()

    # Before: the process exited, but the 200 queued records were lost, counted nowhere.
    assert child.process.returncode == 0, child.stderr()
    assert stored_indexes(db_path) == list(range(200))
    assert child.counters() == {
        "written": 200,
        "spilled": 0,
        "lost_on_close": 0,
        "dropped": 0,
        "pending": 0,
    }
    print(f"helpers: exited {took:.2f}s after handing over its records")


def test_a_database_never_closed_lets_the_process_exit_and_writes_what_it_queued(
    tmp_path: Path, backend: Backend
) -> None:
    settings = backend.database_config()
    database = f'url = "{settings.url}"' if settings.url else f'path = "{settings.path}"'
    config = write_config(tmp_path, database)
    child = Child("database", 300, config, tmp_path)
    child.wait_for("ready")

    child.go()
    took = child.exit_time()

    # Before (SQLite): aiosqlite's thread kept the process alive for ever, the queue unwritten.
    assert child.process.returncode == 0, child.stderr()
    stored = backend.rows(f"SELECT {backend.json_field('parameters', 'i')} FROM audit_logs")
    assert sorted(row[0] for row in stored) == list(range(300))
    assert child.counters()["written"] == 300
    print(f"database never closed ({backend.name}): exited {took:.2f}s after its last record")


def test_a_bot_stopped_by_ctrl_c_outside_async_with_exits_and_writes_what_it_queued(
    tmp_path: Path,
) -> None:
    config, db_path = sqlite_config(tmp_path)
    child = Child("bot", 20, config, tmp_path)
    child.wait_for("ready")  # 20 commands run through discord.py's dispatch, none written yet.
    assert stored_indexes(db_path) == []

    child.signal(signal.SIGINT)
    took = child.exit_time()

    # asyncio.run turns the Ctrl-C into KeyboardInterrupt: the process ends by SIGINT.
    assert child.process.returncode == -signal.SIGINT, child.stderr()
    assert stored_indexes(db_path) == list(range(20))
    counters = child.counters()
    assert counters["written"] == 20
    assert counters["spilled"] == counters["lost_on_close"] == 0
    print(f"bot.start() and Ctrl-C: exited {took:.2f}s after SIGINT")


def test_a_database_locked_when_the_process_ends_spills_and_the_next_start_writes_it_once(
    tmp_path: Path,
) -> None:
    config, db_path = sqlite_config(tmp_path, busy_timeout_ms=300, close_timeout=2.0)
    child = Child("database", 300, config, tmp_path)
    child.wait_for("ready")

    with exclusive_lock(db_path):  # Held by this process until the child has exited.
        child.go()
        took = child.exit_time()
        assert child.process.returncode == 0, child.stderr()
        assert child.counters() == {
            "written": 0,
            "spilled": 300,
            "lost_on_close": 0,
            "dropped": 0,
            "pending": 0,
        }
        assert "300 records saved to" in child.stderr()
        assert len(spills_of(db_path)) == 1
    assert stored_indexes(db_path) == []

    for _ in range(2):  # The next start writes the spill; the one after finds nothing to do.
        again = Child("replay", 0, config, tmp_path)
        again.exit_time(STARTUP_BOUND)
        assert again.process.returncode == 0, again.stderr()
        assert stored_indexes(db_path) == list(range(300))
        assert spills_of(db_path) == []
    # Within close_timeout (2 s) plus the interpreter's own exit.
    assert took < 2.0 + 3.0
    print(f"locked at exit: exited {took:.2f}s after its last record, 300 spilled")


# --- item 10: a second Ctrl-C while closing ---------------------------------------------------


def test_a_second_ctrl_c_while_closing_loses_nothing_uncounted(tmp_path: Path) -> None:
    config, db_path = sqlite_config(tmp_path, busy_timeout_ms=300, close_timeout=4.0)
    child = Child("bot-async-with", 30, config, tmp_path)
    child.wait_for("ready")

    with exclusive_lock(db_path):
        child.signal(signal.SIGINT)  # async with bot: closing begins, its writes fail.
        time.sleep(0.5)
        child.signal(signal.SIGINT)  # The impatient second Ctrl-C, while it retries.
        took = child.exit_time()
        counters = child.counters()
    stderr = child.stderr()

    assert child.process.returncode == -signal.SIGINT, stderr
    assert counters["written"] == 0
    # Every record accounted for: spilled, or counted as lost (and then logged).
    assert counters["spilled"] + counters["lost_on_close"] == 30, counters
    assert counters["lost_on_close"] == 0, stderr
    assert counters["pending"] == 0
    again = Child("replay", 0, config, tmp_path)
    again.exit_time(STARTUP_BOUND)
    assert stored_indexes(db_path) == list(range(30))  # Each once.
    assert spills_of(db_path) == []
    print(f"second Ctrl-C: exited {took:.2f}s after the second SIGINT, {counters}")


# --- item 10: a replay killed midway ------------------------------------------------------------


def test_a_replay_killed_midway_writes_each_spilled_record_exactly_once(tmp_path: Path) -> None:
    records = 30_000
    config, db_path = sqlite_config(
        tmp_path, busy_timeout_ms=300, close_timeout=1.0, batch_size=records + 1
    )
    child = Child("database", records, config, tmp_path)
    child.wait_for("ready", STARTUP_BOUND)
    with exclusive_lock(db_path):
        child.go()
        child.exit_time(STARTUP_BOUND)
    assert child.counters()["spilled"] == records
    [spill] = spills_of(db_path)

    outcomes: list[int] = []
    for delay in (0.05, 0.2, 0.4, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0):
        replay = Child("replay", 0, config, tmp_path)
        replay.wait_for("connecting")
        time.sleep(delay)
        replay.signal(signal.SIGKILL)
        replay.process.wait()
        stored = stored_indexes(db_path)
        # All of the spill or none of it, whenever the kill came: never part, never twice.
        assert stored in ([], list(range(records))), len(stored)
        outcomes.append(len(stored))
        if stored:
            break
    finished = Child("replay", 0, config, tmp_path)
    finished.exit_time(STARTUP_BOUND)

    assert stored_indexes(db_path) == list(range(records))
    assert spills_of(db_path) == []
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM spill_replays").fetchone()[0] == 1
    assert not spill.exists()
    print(f"replay killed {len(outcomes)} times; rows seen after each kill: {outcomes}")
