"""The metrics endpoint, scraped over real HTTP after commands recorded through the public API.

Covers: per-command counters and latency histograms match what was written, exactly, and carry
only the command and outcome labels (never a guild or user id); they count commands once written
(a batch retried after a failed write counts once); queue depth, drops and write errors are the
recorder's; health gauges and ``/healthz`` follow the latest health check (200 before the first,
200 healthy or degraded, 503 unhealthy); the port: 0 picks one, a port in use raises and leaves
nothing running; two servers in one process keep their own figures.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from db_support import exclusive_lock
from fakes import NOW, FakeProcess
from metrics_support import fetch, healthz, label_names, label_values, samples, scrape, value
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

from monitoring_cog import (
    Database,
    ManualClock,
    MonitoringConfig,
    MonitoringSystem,
    create_monitoring_system,
)
from monitoring_cog.config import RecordingConfig
from monitoring_cog.metrics import DURATION_BUCKETS, CommandTotals, MetricsServer
from monitoring_cog.recording.metric_totals import OTHER_COMMANDS
from monitoring_cog.recording.rollups import BatchBuilder

GUILDS = ("111111111111111111", "222222222222222222")
USERS = ("333333333333333333", "444444444444444444", "555555555555555555")

# (command, duration, success) as recorded, across both guilds and all users.
RUNS = [
    ("play", 0.25, True),
    ("play", 0.3, True),
    ("play", 4.0, True),
    ("play", 7.0, False),
    ("skip", 0.004, True),
    ("skip", 0.005, True),  # On a bound: le="0.005" holds it (Prometheus buckets are <=).
    ("skip", 0.02, False),
    ("playlist save", 90.0, True),  # Past the last finite bound: +Inf only.
]


LE = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0")
LE += ("30.0", "60.0", "+Inf")
"""The documented bucket bounds, as exposed."""


def expected_buckets(durations: list[float]) -> dict[str, int]:
    """Cumulative bucket counts, computed independently of the library."""
    return {le: sum(1 for d in durations if d <= float(le)) for le in LE}


def make_db(path: Path, clock: ManualClock, *, max_queue: int = 100_000) -> Database:
    base = MonitoringConfig()
    config = dataclasses.replace(
        base,
        # Only explicit flushes write; a locked database fails a write at once.
        recording=RecordingConfig(flush_interval=3600.0, max_queue=max_queue),
        database=dataclasses.replace(base.database, busy_timeout_ms=10),
    )
    return Database(path, config=config, clock=clock)


@pytest.fixture
async def metrics_system(
    tmp_path: Path, clock: ManualClock, process: FakeProcess
) -> AsyncIterator[MonitoringSystem]:
    db = make_db(tmp_path / "bot.db", clock)
    yield create_monitoring_system(db, process=process, make_current=False)
    await db.close()


@pytest.fixture
async def server(metrics_system: MonitoringSystem) -> AsyncIterator[MetricsServer]:
    async with MetricsServer(metrics_system, port=0) as running:
        yield running


async def record_runs(system: MonitoringSystem) -> None:
    for index, (command, duration, success) in enumerate(RUNS):
        await system.cmd_logger.log_command(
            guild_id=GUILDS[index % 2],
            guild_name=f"Guild {index % 2}",
            user_id=USERS[index % 3],
            username=f"user{index % 3}",
            command=command,
            parameters={"query": "lofi"},
            duration=duration,
            success=success,
            error_message=None if success else "boom",
        )


# -- commands ---------------------------------------------------------------------------------


async def test_command_counters_and_histograms_match_what_was_written(
    metrics_system: MonitoringSystem, server: MetricsServer
) -> None:
    await record_runs(metrics_system)
    # Statistics and guild records are written too, but are not commands.
    await metrics_system.stats_collector.record_song_played(GUILDS[0], 180, user_id=USERS[0])
    await metrics_system.db.flush()

    found = samples(await scrape(server.url))

    for command in {c for c, _, _ in RUNS}:
        for outcome, success in (("success", True), ("failure", False)):
            durations = [d for c, d, s in RUNS if c == command and s is success]
            labels = {"command": command, "outcome": outcome}
            assert value(found, "monitoring_cog_commands_total", **labels) == len(durations)
            name = "monitoring_cog_command_duration_seconds"
            assert value(found, f"{name}_count", **labels) == len(durations)
            assert value(found, f"{name}_sum", **labels) == pytest.approx(sum(durations))
            for le, count in expected_buckets(durations).items():
                assert value(found, f"{name}_bucket", le=le, **labels) == count, (labels, le)
    assert sum(v for (n, _), v in found.items() if n == "monitoring_cog_commands_total") == len(
        RUNS
    )
    assert value(found, "monitoring_cog_records_written_total") == len(RUNS) + 1
    bucket = "monitoring_cog_command_duration_seconds_bucket"
    assert {dict(labels)["le"] for name, labels in found if name == bucket} == set(LE)


async def test_labels_hold_no_guild_or_user_ids(
    metrics_system: MonitoringSystem, server: MetricsServer
) -> None:
    await record_runs(metrics_system)
    await metrics_system.db.flush()
    await metrics_system.health_check.get_full_health_report(GUILDS[0])

    body = await scrape(server.url)
    found = samples(body)

    assert label_names(found) == {"command", "outcome", "le", "component"}
    for ident in (*GUILDS, *USERS, "Guild 0", "user1"):
        assert ident not in body
    assert label_values(found) >= {"play", "skip", "playlist save", "success", "failure"}


async def test_commands_count_once_written_not_when_queued(
    metrics_system: MonitoringSystem, server: MetricsServer
) -> None:
    await record_runs(metrics_system)

    queued = samples(await scrape(server.url))
    assert not [n for n, _ in queued if n.startswith("monitoring_cog_commands")]
    assert value(queued, "monitoring_cog_queue_depth") == len(RUNS)

    await metrics_system.db.flush()
    written = samples(await scrape(server.url))
    assert value(written, "monitoring_cog_commands_total", command="play", outcome="success") == 3
    assert value(written, "monitoring_cog_queue_depth") == 0


async def test_a_batch_retried_after_a_failed_write_counts_once(
    tmp_path: Path, clock: ManualClock, process: FakeProcess
) -> None:
    db = make_db(tmp_path / "bot.db", clock)
    system = create_monitoring_system(db, process=process, make_current=False)
    try:
        async with MetricsServer(system, port=0) as server:
            await db.connect()
            await record_runs(system)
            with exclusive_lock(tmp_path / "bot.db"), pytest.raises(Exception):  # noqa: B017
                await db.flush()
            failing = samples(await scrape(server.url))
            assert value(failing, "monitoring_cog_write_errors_total") == 1
            assert value(failing, "monitoring_cog_writer_failing") == 1
            assert value(failing, "monitoring_cog_queue_depth") == len(RUNS)
            assert not [n for n, _ in failing if n == "monitoring_cog_commands_total"]

            await db.flush()
            found = samples(await scrape(server.url))
    finally:
        await db.close()

    total = sum(v for (n, _), v in found.items() if n == "monitoring_cog_commands_total")
    assert total == len(RUNS)
    assert value(found, "monitoring_cog_writer_failing") == 0
    assert value(found, "monitoring_cog_write_errors_total") == db.recorder.write_errors == 1


async def test_queue_and_dropped_records_are_the_recorders(
    tmp_path: Path, clock: ManualClock, process: FakeProcess
) -> None:
    db = make_db(tmp_path / "bot.db", clock, max_queue=3)
    system = create_monitoring_system(db, process=process, make_current=False)
    try:
        async with MetricsServer(system, port=0) as server:
            await record_runs(system)  # 8 runs into room for 3: 5 dropped.
            found = samples(await scrape(server.url))
            stats = db.recorder.stats()
    finally:
        await db.close()

    assert stats["pending"] == 3 and stats["dropped"] == len(RUNS) - 3
    assert value(found, "monitoring_cog_queue_depth") == stats["pending"]
    assert value(found, "monitoring_cog_queue_capacity") == 3
    assert value(found, "monitoring_cog_dropped_records_total") == stats["dropped"]
    assert value(found, "monitoring_cog_write_errors_total") == stats["write_errors"] == 0


# -- health -----------------------------------------------------------------------------------


async def test_healthz_follows_the_latest_health_check(
    metrics_system: MonitoringSystem, server: MetricsServer, process: FakeProcess
) -> None:
    health = metrics_system.health_check
    # No check yet: a bot still starting up is not to be restarted.
    assert await healthz(server.url) == (200, {"status": "unknown", "checked_at": None})

    await health.get_full_health_report()
    assert await healthz(server.url) == (200, {"status": "healthy", "checked_at": NOW.isoformat()})

    process.rss_mb = 600.0  # Past memory_warning_mb (512): degraded, still alive.
    await health.get_full_health_report()
    assert (await healthz(server.url))[0] == 200
    assert (await healthz(server.url))[1]["status"] == "degraded"

    process.rss_mb = 2048.0  # Past memory_critical_mb (1024): unhealthy.
    await health.get_full_health_report()
    assert await healthz(server.url) == (
        503,
        {"status": "unhealthy", "checked_at": NOW.isoformat()},
    )

    process.rss_mb = 100.0
    await health.get_full_health_report()
    assert (await healthz(server.url))[0] == 200


async def test_health_gauges_come_from_the_latest_report(
    metrics_system: MonitoringSystem,
    server: MetricsServer,
    process: FakeProcess,
    clock: ManualClock,
) -> None:
    before = samples(await scrape(server.url))
    assert not [n for n, _ in before if n.startswith("monitoring_cog_health")]

    process.rss_mb = 600.0
    process.cpu_percent_value = 95.0
    window = metrics_system.health_check.config.cpu_window
    clock.advance(window)  # CPU is judged over a whole window.
    report = await metrics_system.health_check.get_full_health_report()
    found = samples(await scrape(server.url))

    assert report["overall_status"] == "unhealthy"  # CPU past cpu_critical_percent (90).
    assert value(found, "monitoring_cog_health_status") == 2
    component = "monitoring_cog_health_component_status"
    assert value(found, component, component="memory") == 1
    assert value(found, component, component="cpu") == 2
    assert value(found, component, component="database") == 0
    assert value(found, component, component="error_rate") == 0
    assert value(found, component, component="recording") == 0
    assert value(found, "monitoring_cog_memory_rss_bytes") == 600 * 1024 * 1024
    assert value(found, "monitoring_cog_cpu_percent") == 95.0
    assert value(found, "monitoring_cog_error_ratio") == 0.0
    assert value(found, "monitoring_cog_database_latency_seconds") >= 0
    assert value(found, "monitoring_cog_database_size_bytes") > 0
    assert value(found, "monitoring_cog_health_last_check_timestamp_seconds") == (
        NOW.timestamp() + window
    )


async def test_a_server_over_a_database_alone_has_no_health(
    tmp_path: Path, clock: ManualClock
) -> None:
    db = make_db(tmp_path / "bot.db", clock)
    try:
        async with MetricsServer(db, port=0) as server:
            assert await healthz(server.url) == (200, {"status": "unknown", "checked_at": None})
            found = samples(await scrape(server.url))
    finally:
        await db.close()
    assert value(found, "monitoring_cog_queue_depth") == 0
    assert not [n for n, _ in found if "health" in n]


# -- the server -------------------------------------------------------------------------------


async def test_port_zero_picks_a_free_port_and_stop_closes_it(
    metrics_system: MonitoringSystem,
) -> None:
    server = MetricsServer(metrics_system, port=0)
    with pytest.raises(RuntimeError):
        _ = server.port
    await server.start()
    port = server.port
    assert port > 0 and server.running
    assert (await fetch(f"http://127.0.0.1:{port}/metrics"))[0] == 200

    await server.stop()
    await server.stop()  # Twice is fine.

    assert not server.running
    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch(f"http://127.0.0.1:{port}/metrics")


async def test_a_port_in_use_raises_and_leaves_nothing_running(
    metrics_system: MonitoringSystem,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MetricsServer(metrics_system, "127.0.0.1", port)

        with pytest.raises(OSError):
            await server.start()

        assert not server.running
        # The port's owner still has it: nothing was half-opened over it.
        assert taken.getsockname()[1] == port


async def test_two_servers_in_one_process_keep_their_own_figures(
    tmp_path: Path, clock: ManualClock, process: FakeProcess
) -> None:
    first_db, second_db = make_db(tmp_path / "a.db", clock), make_db(tmp_path / "b.db", clock)
    first = create_monitoring_system(first_db, process=process, make_current=False)
    second = create_monitoring_system(second_db, process=process, make_current=False)
    try:
        async with MetricsServer(first, port=0) as a, MetricsServer(second, port=0) as b:
            await record_runs(first)
            await first_db.flush()
            assert a.port != b.port
            found_a, found_b = samples(await scrape(a.url)), samples(await scrape(b.url))
    finally:
        await first_db.close()
        await second_db.close()

    assert value(found_a, "monitoring_cog_commands_total", command="play", outcome="success") == 3
    assert not [n for n, _ in found_b if n == "monitoring_cog_commands_total"]


async def test_openmetrics_is_served_when_asked_for(
    metrics_system: MonitoringSystem, server: MetricsServer
) -> None:
    await record_runs(metrics_system)
    await metrics_system.db.flush()

    status, content_type, body = await fetch(
        f"{server.url}/metrics", accept="application/openmetrics-text; version=1.0.0"
    )

    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    families = {family.name: family for family in parse_om(body)}
    assert families["monitoring_cog_commands"].type == "counter"
    assert families["monitoring_cog_command_duration_seconds"].type == "histogram"


async def test_a_scrape_does_not_touch_the_database(
    metrics_system: MonitoringSystem, server: MetricsServer, tmp_path: Path
) -> None:
    await metrics_system.db.connect()
    # A database locked by another process: scrapes still answer, at once.
    with exclusive_lock(tmp_path / "bot.db"):
        async with asyncio.timeout(5):
            await scrape(server.url)


# -- the bookkeeping behind the counters --------------------------------------------------------


def test_the_writer_counts_commands_only_once_metrics_are_asked_for(
    tmp_path: Path, clock: ManualClock
) -> None:
    from monitoring_cog.recording.records import CommandRecord

    record = CommandRecord(GUILDS[0], "G", USERS[0], "u", "play", "{}", 0.3, True, None, None, 1.0)
    plain = BatchBuilder()
    plain.add([record])
    assert plain.finish().outcomes == {}

    db = make_db(tmp_path / "bot.db", clock)
    assert db.recorder.command_totals is None
    totals = db.recorder.track_commands()
    assert db.recorder.track_commands() is totals


def test_command_names_past_the_cap_are_summed_under_other() -> None:
    totals = CommandTotals(max_commands=2)
    buckets = [0] * len(DURATION_BUCKETS) + [1]
    for name in ("a", "b", "c", "d"):
        totals.add({(name, True): (1, 100.0, buckets)})
    totals.add({("a", False): (1, 100.0, buckets)})

    series = {(s.command, s.outcome): s.runs for s in totals.series()}

    assert series == {
        ("a", "success"): 1,
        ("a", "failure"): 1,
        ("b", "success"): 1,
        ("b", "failure"): 0,
        (OTHER_COMMANDS, "success"): 2,
        (OTHER_COMMANDS, "failure"): 0,
    }
    assert totals.total() == 5
