"""Several processes, one PostgreSQL database: a sharded bot's processes recording at once.

Four OS processes (``pg_writer_child.py``) connect to a new database together (so they also race
to migrate it), then each audits 50,000 commands through ``CommandLogger.log_command`` at the same
time, over the same guilds, days, commands and users, so every rollup upsert collides with the
other processes'. Afterwards the reports must add up exactly to what was logged: nothing lost to
a race, nothing counted twice, no guild registered twice, no record dropped, and no write failed
(a deadlock would show as a failed write, and a hang as the test's timeout).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from backends import PostgresServer
from pg_writer_child import COMMANDS, GUILDS, NOW, planned

from monitoring_cog import Database, ManualClock, MonitoringConfig, create_monitoring_system

pytestmark = pytest.mark.slow

PROCESSES = 4
PER_PROCESS = 50_000
TOTAL = PROCESSES * PER_PROCESS
CHILD = Path(__file__).with_name("pg_writer_child.py")
TIMEOUT = 300
"""Seconds the processes get: a deadlocked writer would hang, and must fail the test instead."""
CLEAN_RUN = {
    "written": PER_PROCESS,
    "dropped": 0,
    "lost_on_close": 0,
    "write_errors": 0,
    "internal_errors": 0,
}
"""Each process's counters when nothing was lost, dropped or retried."""


def run_processes(url: str) -> tuple[list[dict[str, Any]], float]:
    """Start the processes, let them all write at once, return their figures and the time."""
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), url, str(worker), str(PER_PROCESS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for worker in range(PROCESSES)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", "a process could not connect"
        started = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, _ = child.communicate(timeout=TIMEOUT)
            assert child.returncode == 0, f"a writer process failed: {out}"
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results, time.perf_counter() - started
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def expected() -> dict[str, Any]:
    """What the database must hold, computed from the same plan the processes followed."""
    week: Counter[str] = Counter()
    month: Counter[str] = Counter()
    week_failed: Counter[str] = Counter()
    month_failed: Counter[str] = Counter()
    users: defaultdict[tuple[str, int], set[str]] = defaultdict(set)
    per_command: Counter[str] = Counter()
    for n in range(TOTAL):
        cmd = planned(n)
        month[cmd.guild] += 1
        month_failed[cmd.guild] += not cmd.success
        if cmd.days_ago < 7:
            week[cmd.guild] += 1
            week_failed[cmd.guild] += not cmd.success
            per_command[cmd.command] += 1
        users[(cmd.guild, cmd.days_ago)].add(cmd.user)
    return {
        "week": week,
        "month": month,
        "week_failed": week_failed,
        "month_failed": month_failed,
        "users": users,
        "per_command_week": per_command,
    }


async def test_four_processes_auditing_at_once_add_up_exactly(
    postgres_server: PostgresServer, fresh_database: str
) -> None:
    results, seconds = run_processes(fresh_database)
    print(f"\n{TOTAL:,} commands from {PROCESSES} processes in {seconds:.1f} s: {results}")

    for result in results:
        counters = {name: result[name] for name in CLEAN_RUN}
        # A deadlock (or a lock wait past a minute) counts in write_errors. What the process
        # logged leads the message: a recovered failure leaves no last_error.
        assert counters == CLEAN_RUN, f"worker {result['worker']} logged {result['logged']}"

    want = expected()
    db = Database(fresh_database, config=MonitoringConfig(), clock=ManualClock(NOW))
    system = create_monitoring_system(db, make_current=False)
    try:
        storage = await db.storage()
        assert await system.cmd_logger.count_audit_logs() == TOTAL
        assert await storage.server_count() == len(GUILDS)
        assert sorted(s.guild_id for s in await storage.list_servers()) == sorted(GUILDS)

        for guild in GUILDS:
            weekly = await system.stats_collector.generate_weekly_report(guild)
            monthly = await system.stats_collector.generate_monthly_report(guild)
            assert weekly["total_commands"] == want["week"][guild]
            assert weekly["failed_commands"] == want["week_failed"][guild]
            assert monthly["total_commands"] == want["month"][guild]
            assert monthly["failed_commands"] == want["month_failed"][guild]
            per_day = {
                entry["date"]: entry["users"] for entry in monthly["daily"] if entry["users"]
            }
            assert per_day == {
                (NOW.date() - timedelta(days=days_ago)).isoformat(): len(users)
                for (g, days_ago), users in want["users"].items()
                if g == guild
            }
            assert monthly["peak_users"] == max(per_day.values())
            assert monthly["avg_daily_users"] == round(sum(per_day.values()) / len(per_day), 2)

        everything = await system.stats_collector.generate_monthly_report(None)
        assert everything["total_commands"] == TOTAL
        assert everything["failed_commands"] == sum(want["month_failed"].values())

        performance = await system.perf_monitor.get_performance_stats(None, days=7)
        assert performance["total_commands"] == sum(want["per_command_week"].values())
        assert {c["command"]: c["count"] for c in performance["slowest_commands"]} == dict(
            want["per_command_week"]
        )
        assert set(want["per_command_week"]) == set(COMMANDS)

        pool = storage._connected()  # type: ignore[attr-defined]
        sums = await pool.fetchrow(
            "SELECT (SELECT SUM(count) FROM command_stats), (SELECT SUM(count) FROM"
            " command_latency), (SELECT SUM(commands) FROM bot_stats), (SELECT SUM(commands)"
            " FROM daily_users), (SELECT SUM(commands) FROM command_minutes),"
            " (SELECT COUNT(*) FROM daily_users)"
        )
        assert list(sums[:5]) == [TOTAL] * 5
        assert sums[5] == sum(len(users) for users in want["users"].values())
    finally:
        await db.close()
