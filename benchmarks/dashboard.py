"""Dashboard: server time of every JSON API call on the generated audit databases, and what five
open live tabs cost a bot's hot path.

Part 1, the API. A :class:`DashboardServer` on a generated database (see ``_data.py``: 1,000
guilds, 50 members each, 60 days; 10 million audit rows by default) read at the moment the data
ends (``ManualClock``), in stored mode (one stored health report), behind aiohttp's test server.
Each call's server time is measured by a middleware placed outermost (access check, handler,
JSON), so the client's own work is left out; a streamed answer (the CSV) is timed to its last
byte. Calls are interleaved round by round; the figure is the median over rounds. ``/api/servers``
is shown twice: read from the database (its 30-second cache emptied before each call) and from
the cache, as the dashboard serves it within those 30 seconds; ``/api/commands`` likewise (its
past days read again, or kept as they are for an hour; today read either way). The first run on
a database made before the dashboard's migration applies it (new indexes on the audit log): its
time is printed.

Part 2, the hot path. Three bots in one process, as in ``hot_path.py``: bare, this project, and
this project with its dashboard enabled and five live tabs open (five event streams, read by a
client in a thread of its own, as a browser elsewhere would). The figure is the event loop's CPU
per no-op prefix and slash command (interleaved rounds, medians); beside it, the CPU the loop
thread spends per second while idle with the five streams open against none (the stream ticks
are periodic, so per-command rounds of a few milliseconds may miss them).

Run: ``benchmarks/.venv/bin/python benchmarks/dashboard.py`` (``--rows 1000000`` for another
database; ``--quick``: 100 thousand rows, few rounds).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from _common import (
    USER_BASE,
    Table,
    add_fixture,
    build_bot,
    close_bot,
    emit,
    interleaved,
    median,
    parser,
    patch_webhooks,
    thread_cpu,
    workdir,
)
from _data import MEMBERS, Dataset, dataset
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from hot_path import Subject

from monitoring_cog import Database, ManualClock, MonitoringConfig, create_monitoring_system
from monitoring_cog.collectors.health_reports import HealthReportWriter
from monitoring_cog.config import DashboardConfig
from monitoring_cog.web.dashboard.params import encode_cursor
from monitoring_cog.web.dashboard.server import DashboardServer

TOKEN = "benchmark-dashboard-token-0123456789"
TARGET_MS = 50.0
TABS = 5


def calls(data: Dataset) -> dict[str, str]:
    """Name -> path and query of every API call measured."""
    guild = data.guild(17)
    user = str(USER_BASE + 17 * MEMBERS + 3)
    deep = encode_cursor(data.at - 45 * 86400, 10**12)
    day = data.at - 86400
    return {
        "health (cached)": "/api/health",
        "health (rebuilt)": "/api/health",
        "servers (db)": "/api/servers",
        "servers (cached)": "/api/servers",
        "servers q+sort users_30d": "/api/servers?q=guild%201&sort=users_30d",
        "report weekly": f"/api/servers/{guild}/report?period=weekly",
        "report monthly": f"/api/servers/{guild}/report?period=monthly",
        "daily 90": f"/api/servers/{guild}/daily?days=90",
        "performance 7": f"/api/servers/{guild}/performance?days=7",
        "performance 90": f"/api/servers/{guild}/performance?days=90",
        "failures": f"/api/servers/{guild}/failures?limit=20",
        "commands 30 (cached)": "/api/commands?days=30",
        "commands 30 (db)": "/api/commands?days=30",
        "audit": "/api/audit?limit=100",
        "audit deep cursor": f"/api/audit?limit=100&cursor={deep}",
        "audit guild": f"/api/audit?guild_id={guild}&limit=100",
        "audit guild deep": f"/api/audit?guild_id={guild}&limit=100&cursor={deep}",
        "audit user": f"/api/audit?user_id={user}&limit=100",
        "audit command": "/api/audit?command=shuffle&limit=100",
        "audit failures": "/api/audit?outcome=failure&limit=100",
        "audit guild failures": f"/api/audit?guild_id={guild}&outcome=failure&limit=100",
        "audit guild+command": f"/api/audit?guild_id={guild}&command=play&limit=100",
        "audit since/until": f"/api/audit?since={day}&until={day + 3600}&limit=500",
        "audit no match": "/api/audit?command=nonexistent&limit=100",
        "audit.csv user": f"/api/audit.csv?user_id={user}",
        "audit.csv guild 1 day": f"/api/audit.csv?guild_id={guild}&since={day}",
        "stalls": "/api/stalls?days=7",
        "errors": "/api/errors?days=7",
        "growth 365": "/api/growth?days=365",
    }


async def api_part(data: Dataset, rounds: int) -> dict[str, Any]:
    db = Database(data.path, config=MonitoringConfig(), clock=ManualClock(data.at))
    started = time.perf_counter()
    await db.connect()
    migrated = time.perf_counter() - started
    print(f"opened {data.path.name} (migrations included) in {migrated:.1f}s")
    system = create_monitoring_system(db, make_current=False)
    writer = HealthReportWriter(db, check_interval=300.0, process_name="benchmark")
    writer.submit(await system.health_check.get_full_health_report())
    await writer.close()
    server = DashboardServer(db, DashboardConfig(port=0), token=TOKEN)
    timings: list[float] = []

    @web.middleware
    async def timed(request: web.Request, handler: Any) -> web.StreamResponse:
        begun = time.perf_counter()
        try:
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            timings.append(time.perf_counter() - begun)

    server.app.middlewares.insert(0, timed)
    paths = calls(data)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with TestClient(TestServer(server.app)) as client:

            async def measure(name: str) -> float:
                if name == "servers (db)":
                    server.api._servers = None  # The cache emptied: read from the database.
                if name == "commands 30 (db)":
                    server.api.command_days._days.clear()  # Every past day read again.
                if name == "health (rebuilt)":
                    server.snapshot._body = None  # Built again, as once a second in a bot.
                response = await client.get(paths[name], headers=headers)
                await response.read()
                assert response.status == 200, (name, response.status, await response.text())
                return timings[-1]

            for name in paths:  # Warm each call once (and fill the servers cache).
                await measure(name)
            samples = await interleaved(list(paths), rounds, measure, warmup=0)
    finally:
        await db.close()
    figures = {name: round(median(samples[name]) * 1e3, 2) for name in paths}
    return {"rows": data.rows, "rounds": rounds, "migration_s": round(migrated, 1), "ms": figures}


class Tabs:
    """``count`` browser tabs on the live stream, read by a client in a thread of its own."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.count = count
        self.events = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Tabs:
        self._thread.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with ClientSession() as session:
            responses = [
                await session.get(f"{self.url}/api/health/stream", headers=headers)
                for _ in range(self.count)
            ]
            assert all(r.status == 200 for r in responses)
            self._ready.set()

            async def read(response: Any) -> None:
                while not self._stop.is_set():
                    try:
                        await asyncio.wait_for(response.content.readuntil(b"\n\n"), 0.5)
                        self.events += 1
                    except TimeoutError:
                        pass

            await asyncio.gather(*(read(r) for r in responses))
            for response in responses:
                response.close()


async def idle_loop_cpu(seconds: float) -> float:
    """Seconds of the loop thread's CPU per second while the loop waits."""
    start_cpu, start = thread_cpu(), time.perf_counter()
    await asyncio.sleep(seconds)
    return (thread_cpu() - start_cpu) / (time.perf_counter() - start)


async def hot_path_part(rounds: int, per_round: int, idle_seconds: float) -> dict[str, Any]:
    patch_webhooks()
    configs = ("bare", "ours", "ours+tabs")
    dashboard = f'[dashboard]\nenabled = true\nport = 0\ntoken = "{TOKEN}"\n'
    with workdir("dashboard-hot-path-") as scratch:
        subjects: dict[str, Subject] = {}
        try:
            for name in configs:
                folder = Path(scratch) / name.replace("+", "-")
                folder.mkdir()
                extra = dashboard if name == "ours+tabs" else ""
                kind = "bare" if name == "bare" else "ours"
                bot, monitor = await build_bot(kind, folder, extra_config=extra)
                subjects[name] = Subject(kind, bot, monitor, add_fixture(bot))
            server = subjects["ours+tabs"].monitor.dashboard
            assert server is not None
            quiet = await idle_loop_cpu(idle_seconds)
            with Tabs(server.url, TABS) as tabs:
                samples: dict[str, dict[str, list[Any]]] = {}
                for command in ("prefix", "slash"):

                    async def measure(name: str, command: str = command) -> Any:
                        return await subjects[name].run(command, per_round)

                    samples[command] = await interleaved(list(configs), rounds, measure)
                busy = await idle_loop_cpu(idle_seconds)
                events = tabs.events
        finally:
            for subject in subjects.values():
                await close_bot(subject.bot)
    us: dict[str, dict[str, float]] = {}
    for command, by_config in samples.items():
        us[command] = {
            name: round(median(run[0] for run in runs) * 1e6, 2) for name, runs in by_config.items()
        }
    return {
        "rounds": rounds,
        "per_round": per_round,
        "loop_cpu_us": us,
        "idle_loop_cpu_ms_per_s": {
            "no tabs": round(quiet * 1e3, 3),
            f"{TABS} tabs": round(busy * 1e3, 3),
        },
        "events_received": events,
    }


async def main(
    rows: int, rounds: int, hot_rounds: int, per_round: int, idle: float, part: str
) -> None:
    if part == "hot":
        hot = await hot_path_part(hot_rounds, per_round, idle)
        emit("dashboard", {"hot_path": hot}, _hot_table(hot, hot_rounds, per_round))
        return
    api = await api_part(dataset(rows), rounds)
    table = Table(
        f"Dashboard API: median server ms over {rounds} interleaved rounds,"
        f" {rows:,} audit rows, 1,000 guilds (target {TARGET_MS:.0f} ms)",
        ["call", "ms", "within target"],
    )
    for name, ms in api["ms"].items():
        table.add(name, f"{ms:.2f}", "yes" if ms <= TARGET_MS else "NO")
    if part == "api":
        emit("dashboard", {"api": api}, table)
        return
    hot = await hot_path_part(hot_rounds, per_round, idle)
    emit("dashboard", {"api": api, "hot_path": hot}, table)
    print()
    _hot_table(hot, hot_rounds, per_round).render()


def _hot_table(hot: dict[str, Any], hot_rounds: int, per_round: int) -> Table:
    hot_table = Table(
        f"Hot path with the dashboard: µs of event-loop CPU per no-op command, median of"
        f" {hot_rounds} interleaved rounds x {per_round}; {TABS} live tabs open on ours+tabs",
        ["configuration", "prefix", "slash"],
    )
    for name in ("bare", "ours", "ours+tabs"):
        hot_table.add(
            name,
            f"{hot['loop_cpu_us']['prefix'][name]:.2f}",
            f"{hot['loop_cpu_us']['slash'][name]:.2f}",
        )
    idle_cpu = hot["idle_loop_cpu_ms_per_s"]
    hot_table.add(
        "idle loop, ms CPU/s",
        f"{idle_cpu['no tabs']} without tabs",
        f"{idle_cpu[f'{TABS} tabs']} with {TABS} tabs",
    )
    return hot_table


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--rows", type=int, help="audit rows of the database (default 10,000,000)")
    cli.add_argument("--rounds", type=int, help="interleaved rounds of API calls (default 15)")
    cli.add_argument(
        "--part", choices=("api", "hot", "both"), default="both", help="what to measure"
    )
    args = cli.parse_args()
    if args.quick:
        asyncio.run(main(args.rows or 100_000, args.rounds or 3, 3, 500, 2.0, args.part))
    else:
        asyncio.run(main(args.rows or 10_000_000, args.rounds or 15, 21, 3000, 10.0, args.part))
