"""Faults of the PostgreSQL server while records stream in: what the library survives, at what cost.

A bot logs commands without pause (``CommandLogger.log_command``, ``flush_interval = 0.05``) while
the server is restarted for real, stopped for a while, not yet up when the bot starts, or cuts the
pool's connections (``pg_terminate_backend``). Each test states its fault; the accounting after
it is the same for all (``FaultRun.finish``), as ``test_faults.py`` does it for SQLite: no
exception reached the bot (nor the event loop), every record handed over is stored exactly once
(read back by number, in order, and counted by the rollups) or counted as lost, and the recorder
recovered by itself; ``HealthCheck`` reports the database unhealthy while the server is down and
healthy once it is back. ``docs/reliability.md`` tabulates
the figures.

The restarts happen on a private PostgreSQL server of this module's own (a cluster made with
Debian's ``pg_createcluster`` on a free port, dropped at the end), never on the server the other
tests share. Without those tools (or root, which they need) these tests skip saying why, or fail
when ``CI`` is set. Cutting connections needs no server of its own: it runs on the shared server,
in a database of the test's own.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fakes import FakeProcess
from polling import wait_until

from monitoring_cog import Database, MonitoringConfig, MonitoringSystem, create_monitoring_system
from monitoring_cog.config import DatabaseConfig, RecordingConfig
from monitoring_cog.recording.pipeline import Recorder

GUILD = "111"
RECORDING = RecordingConfig(flush_interval=0.05, retry_backoff_max=0.2, max_queue=50_000)
"""Flushes every 50 ms; retries at most 0.2 s apart (the default is 30 s); room for a minute of
the stream, so an outage of a few seconds loses nothing."""
BURST, PAUSE = 10, 0.01
"""The stream: 10 commands, then 10 ms to the bot's other work (at most 1,000 commands a second)."""
OUTAGE = 0.5
"""Seconds the server stays stopped, on top of the time it takes to stop and start."""
CLUSTER_PREFIX = "moncog_fault_"
"""Names of the private clusters: ``moncog_fault_<pid>_<random>``."""
POSTGRES_ROOT = Path("/usr/lib/postgresql")


# --- the private server --------------------------------------------------------------------------


@dataclass
class PrivateServer:
    """A PostgreSQL cluster of this module's own, which the tests may stop and restart."""

    version: str
    name: str
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def ctl(self, action: str) -> float:
        """``pg_ctlcluster <action>`` without blocking the event loop; the seconds it took.

        ``start`` and ``restart`` return once the server accepts connections; ``stop`` (fast
        mode: open sessions are cut, their transactions rolled back) once it has exited.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        proc = await asyncio.create_subprocess_exec(
            "pg_ctlcluster",
            self.version,
            self.name,
            action,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode:
            pytest.fail(f"pg_ctlcluster {action} failed ({proc.returncode}): {out.decode()}")
        return loop.time() - started

    async def new_database(self) -> str:
        """The URL of a new, empty database on this server."""
        name = f"faults_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(self.url(), timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)


def _unavailable(reason: str) -> None:
    reason = f"no private PostgreSQL server for the restart tests: {reason}"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_version() -> str | None:
    """The newest PostgreSQL server installed (Debian's layout), if any."""
    if not POSTGRES_ROOT.is_dir():
        return None
    versions = [p.name for p in POSTGRES_ROOT.iterdir() if (p / "bin" / "initdb").is_file()]
    return max(versions, key=lambda v: [int(x) for x in re.findall(r"\d+", v)], default=None)


def _drop_stale_clusters() -> None:
    """Drop private clusters left by test runs that were killed before their teardown."""
    listing = _run("pg_lsclusters", "--no-header")
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) < 2 or not fields[1].startswith(CLUSTER_PREFIX):
            continue
        pid = fields[1][len(CLUSTER_PREFIX) :].split("_", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            _run("pg_dropcluster", "--stop", fields[0], fields[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="module")
def private_server() -> Iterator[PrivateServer]:
    """A new PostgreSQL cluster on a free port, trusting local connections; always dropped."""
    missing = [
        tool
        for tool in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "pg_lsclusters")
        if shutil.which(tool) is None
    ]
    if missing:
        _unavailable(f"{', '.join(missing)} not found (Debian's postgresql-common)")
    version = _server_version()
    if version is None:
        _unavailable(f"no PostgreSQL server under {POSTGRES_ROOT}")
    if os.geteuid() != 0:
        _unavailable("pg_createcluster needs root")
    assert version is not None
    _drop_stale_clusters()
    server = PrivateServer(version, f"{CLUSTER_PREFIX}{os.getpid()}_{secrets.token_hex(3)}", 0)
    try:
        server.port = _free_port()
        # Trust, for local and 127.0.0.1 connections, as .ci/ensure-postgres sets up for the
        # shared server; --no-sync: a scratch cluster need not survive an OS crash.
        created = _run(
            "pg_createcluster",
            "--quiet",
            version,
            server.name,
            "--port",
            str(server.port),
            "--",
            "--auth-local=trust",
            "--auth-host=trust",
            "--no-sync",
        )
        if created.returncode:
            _unavailable(f"pg_createcluster failed: {created.stderr or created.stdout}")
        started = _run("pg_ctlcluster", version, server.name, "start")
        if started.returncode:
            _unavailable(f"pg_ctlcluster start failed: {started.stderr or started.stdout}")
        yield server
    finally:
        # Whatever happened above, leave no cluster behind (a no-op if none was created).
        _run("pg_dropcluster", "--stop", version, server.name)


# --- the stream and the accounting ---------------------------------------------------------------


@dataclass
class Stream:
    """The bot: logs numbered commands without pause until stopped."""

    system: MonitoringSystem
    accepted: int = 0
    """Commands ``log_command`` returned ``True`` for: numbered 0 to ``accepted - 1``."""
    refused: int = 0
    raised: list[BaseException] = field(default_factory=list)
    """Exceptions ``log_command`` raised into the bot: there must be none."""
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        i = 0
        logger = self.system.cmd_logger
        while not self._stop.is_set():
            for _ in range(BURST):
                try:
                    ok = await logger.log_command(
                        GUILD,
                        "Guild",
                        f"user{i % 50}",
                        None,
                        f"cmd{i % 5}",
                        {"i": i},
                        duration=(i % 10) / 10,
                    )
                except Exception as exc:  # The bot would have seen this.
                    self.raised.append(exc)
                    ok = False
                if ok:
                    self.accepted += 1
                    i += 1
                else:
                    self.refused += 1
            await asyncio.sleep(PAUSE)

    async def stop(self) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task


async def fetch(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def stored_indexes(url: str) -> list[int]:
    """The ``i`` of every audit row, in insertion order, read on a connection of the test's own."""
    rows = await fetch(url, "SELECT (parameters::json ->> 'i')::int FROM audit_logs ORDER BY id")
    return [row[0] for row in rows]


async def rollup_commands(url: str) -> int:
    """Commands counted by the daily rollup: must always agree with the audit rows."""
    return int((await fetch(url, "SELECT COALESCE(SUM(commands), 0) FROM bot_stats"))[0][0])


@dataclass
class Outcome:
    """What a stream through a fault came to, every record accounted for."""

    recovery: float
    """Seconds from the end of the fault until every record accepted before it was stored."""
    backlog: int
    """The records accepted before the end of the fault."""
    write_errors: int
    """Writes the recorder saw fail, counted once the backlog was stored."""
    health: dict[str, Any]
    """The full health report, taken once the stream had gone on for a while after recovery."""
    submitted: int
    """Records handed over in all, each stored exactly once."""


@dataclass
class FaultRun:
    """A bot streaming commands into one database while the test breaks the server."""

    url: str
    stream: Stream
    loop_errors: list[dict[str, Any]]

    @property
    def system(self) -> MonitoringSystem:
        return self.stream.system

    @property
    def recorder(self) -> Recorder:
        return self.stream.system.db.recorder

    async def start(self, written: int = 200) -> None:
        """Start the stream; return once ``written`` records are in the database."""
        self.stream.start()
        await wait_until(lambda: self.recorder.written >= written, f"{written} records written")

    async def finish(self) -> Outcome:
        """Once the fault is over: check the writer recovers by itself, the database is healthy
        again, and every record is stored exactly once (or the test fails); what it took."""
        stream, recorder = self.stream, self.recorder
        backlog = stream.accepted
        recovery = await wait_until(lambda: recorder.written >= backlog, "writes to resume")
        write_errors = recorder.write_errors
        await asyncio.sleep(0.2)  # The stream goes on a little after the recovery.
        health = await self.system.health_check.get_full_health_report()
        await stream.stop()
        await wait_until(lambda: recorder.written == stream.accepted, "the writer to catch up")
        submitted = stream.accepted
        assert stream.raised == []  # The bot never saw an exception.
        assert self.loop_errors == []  # Nor did the event loop.
        assert stream.refused == 0
        assert (recorder.dropped, recorder.pending) == (0, 0)
        assert await stored_indexes(self.url) == list(range(submitted))  # Each once, in order.
        assert await rollup_commands(self.url) == submitted
        await self.system.db.close()
        assert recorder.lost_on_close == 0
        assert health["database"]["status"] == "healthy"
        assert recovery < 5.0  # Retries are 0.2 s apart at most: a hang guard, not a benchmark.
        return Outcome(recovery, backlog, write_errors, health, submitted)


@pytest.fixture
async def streaming(loop_errors: list[dict[str, Any]]) -> AsyncIterator[Callable[[str], FaultRun]]:
    """A bot's monitoring system recording into the database at a URL, closed after the test."""
    made: list[Database] = []

    def make(url: str) -> FaultRun:
        config = MonitoringConfig(database=DatabaseConfig(url=url), recording=RECORDING)
        db = Database(url, config=config)
        made.append(db)
        system = create_monitoring_system(db, process=FakeProcess(), make_current=False)
        return FaultRun(url, Stream(system), loop_errors)

    yield make
    for db in made:
        await db.close()


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What reached the event loop's exception handler (an exception no one caught)."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    yield seen
    loop.set_exception_handler(previous)


# --- the server restarted ------------------------------------------------------------------------


async def test_server_restarted_mid_stream_loses_nothing_and_recovers_by_itself(
    private_server: PrivateServer, streaming: Callable[[str], FaultRun]
) -> None:
    run = streaming(await private_server.new_database())
    await run.start()

    errors_before = run.recorder.write_errors
    took = await private_server.ctl("restart")  # Stop (fast: sessions cut), then start.
    outcome = await run.finish()

    failed_writes = outcome.write_errors - errors_before
    assert failed_writes >= 1  # The restart was felt: writes failed, were retried.
    assert outcome.health["recording"]["status"] == "healthy"
    print(
        f"restart took {took:.2f}s; {failed_writes} failed writes; backlog of {outcome.backlog}"
        f" stored {outcome.recovery:.3f}s after the server was back; {outcome.submitted} records,"
        " 0 lost"
    )


async def test_server_down_for_a_while_is_unhealthy_then_healthy_and_loses_nothing(
    private_server: PrivateServer, streaming: Callable[[str], FaultRun]
) -> None:
    run = streaming(await private_server.new_database())
    health = run.system.health_check
    await run.start()
    before = await health.get_full_health_report()

    await private_server.ctl("stop")
    await asyncio.sleep(OUTAGE)
    during = await health.get_full_health_report()
    queued_while_down = run.recorder.pending
    await private_server.ctl("start")
    outcome = await run.finish()

    assert before["overall_status"] == "healthy"
    assert during["overall_status"] == "unhealthy"
    assert during["database"]["status"] == "error"
    assert during["database"]["connected"] is False
    assert during["recording"]["status"] == "critical"  # Writes are failing: records wait.
    assert during["recording"]["dropped"] == 0
    assert queued_while_down > 0
    assert outcome.health["overall_status"] == "healthy"
    assert outcome.health["recording"]["status"] == "healthy"
    print(
        f"{queued_while_down} records queued while down; backlog of {outcome.backlog} stored"
        f" {outcome.recovery:.3f}s after the server was back; {outcome.submitted} records, 0 lost"
    )


async def test_server_down_when_the_bot_starts_keeps_records_until_it_is_up(
    private_server: PrivateServer, streaming: Callable[[str], FaultRun]
) -> None:
    """The first connection fails (the pool is never made): later attempts must make it."""
    url = await private_server.new_database()
    await private_server.ctl("stop")
    try:
        run = streaming(url)
        await run.start(written=0)
        await wait_until(lambda: run.recorder.write_errors >= 2, "writes to fail")
        during = await run.system.health_check.check_database()
    finally:
        await private_server.ctl("start")
    outcome = await run.finish()

    assert during["status"] == "error"
    assert "cannot use the PostgreSQL database" in during["error"]
    print(
        f"backlog of {outcome.backlog} stored {outcome.recovery:.3f}s after the server was up;"
        f" {outcome.submitted} records, 0 lost"
    )


# --- connections cut by the server ---------------------------------------------------------------


async def test_pool_connections_terminated_mid_stream_lose_nothing(
    fresh_database: str, streaming: Callable[[str], FaultRun]
) -> None:
    """``pg_terminate_backend`` on the pool's sessions, 5 times 0.1 s apart: what a restart does
    to the connections, on the shared server (only this test's database is touched)."""
    run = streaming(fresh_database)
    await run.start()

    cut = 0
    admin = await asyncpg.connect(fresh_database, timeout=10)
    try:
        for _ in range(5):
            rows = await admin.fetch(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE application_name = 'monitoring_cog' AND datname = current_database()"
            )
            cut += sum(1 for row in rows if row[0])
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    outcome = await run.finish()

    assert cut >= 5  # At least the writer's connection, each time.
    print(
        f"{cut} connections cut; backlog of {outcome.backlog} stored {outcome.recovery:.3f}s"
        f" after the last cut; {outcome.submitted} records, 0 lost"
    )
