"""The dashboard's rollups and the reads built on them, on both backends: the server list's
distinct users (``guild_users``) and the bot-wide command chart (``bot_command_stats``) give the
answers the per-day rows give; the audit search's keyset pages hold each row once whatever its
stored time; a closed event stream ends quietly; a server's components and custom events.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta

import asyncpg
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient
from backends import Backend, PostgresServer
from dashboard_support import bearer, get_json

from monitoring_cog import Database, ManualClock, MonitoringConfig, MonitoringSystem
from monitoring_cog.analysis.latency import percentiles
from monitoring_cog.clock import utc_day
from monitoring_cog.recording.records import ComponentRecord
from monitoring_cog.storage import migrations as migrations_module
from monitoring_cog.storage.migrations import load_migrations
from monitoring_cog.web.dashboard import api as dashboard_api
from monitoring_cog.web.dashboard.server import DashboardServer

A, B, C = "111111111111111111", "222222222222222222", "333333333333333333"


def user(n: int) -> str:
    return str(900000000000000000 + n)


async def spread(system: MonitoringSystem, clock: ManualClock) -> list[tuple[str, str, date]]:
    """Commands over 40 days in three guilds, each user on a few scattered days (some only
    long ago, some again lately, some in two guilds); returns (guild, user, day) of each."""
    now = clock.time()
    done = []
    for n in range(30):
        for back in (n % 37, (n * 7) % 41, (n * 3) % 11):
            guild = (A, B, C)[(n + back) % 3]
            at = now - back * 86400 - n
            await system.cmd_logger.log_command(
                guild,
                f"Guild {guild[0]}",
                user(n),
                f"user{n}",
                ("play", "skip", "ban")[n % 3],
                duration=0.01 * (n + 1) + back / 1000,
                success=n % 5 != 0,
                executed_at=at,
            )
            done.append((guild, user(n), utc_day(at)))
    await system.db.flush()
    return done


def truth(done: list[tuple[str, str, date]], today: date) -> dict[str, tuple[int, int]]:
    """Distinct users per guild over the 7 and 30 days ending today, from the per-day rows."""
    result = {}
    for guild in (A, B, C):
        week = {u for g, u, d in done if g == guild and today - timedelta(days=6) <= d <= today}
        month = {u for g, u, d in done if g == guild and today - timedelta(days=29) <= d <= today}
        result[guild] = (len(week), len(month))
    return result


async def test_server_users_match_the_per_day_rows(
    client: TestClient, system: MonitoringSystem, clock: ManualClock, backend: Backend
) -> None:
    done = await spread(system, clock)
    today = utc_day(clock.time())
    expected = truth(done, today)
    # The per-day rows say the same as the records (what the rollup must agree with).
    week = (today - timedelta(days=6)).isoformat()
    rows = backend.rows(
        "SELECT guild_id, COUNT(DISTINCT user_id) FROM daily_users"
        f" WHERE CAST(day AS TEXT) >= '{week}' GROUP BY guild_id"
    )
    assert {str(g): int(n) for g, n in rows} == {g: w for g, (w, _) in expected.items() if w}
    body = await get_json(client, "/api/servers")
    got = {row["guild_id"]: (row["users_7d"], row["users_30d"]) for row in body["servers"]}
    assert got == expected
    assert any(w != m for w, m in expected.values())  # The two windows differ somewhere.

    # A week later (the cache outlived): users leave the 7-day window as the per-day rows say.
    clock.advance(8 * 86400)
    later = await get_json(client, "/api/servers")
    got = {row["guild_id"]: (row["users_7d"], row["users_30d"]) for row in later["servers"]}
    assert got == truth(done, utc_day(clock.time()))


async def test_forgetting_a_user_removes_them_from_the_server_list(
    client: TestClient,
    dashboard: DashboardServer,
    system: MonitoringSystem,
    clock: ManualClock,
    backend: Backend,
) -> None:
    done = await spread(system, clock)
    gone = user(4)
    guilds = {g for g, u, _ in done if u == gone}
    before = await get_json(client, "/api/servers")
    deleted = await system.cmd_logger.forget_user(gone)
    assert deleted["daily_users"] > 0
    assert backend.rows(f"SELECT * FROM guild_users WHERE user_id = '{gone}'") == []
    dashboard.api._servers = None  # The 30-second cache emptied.
    after = await get_json(client, "/api/servers")
    month = {r["guild_id"]: r["users_30d"] for r in before["servers"]}
    for row in after["servers"]:
        today = utc_day(clock.time())
        recent = any(
            g == row["guild_id"] and u == gone and d >= today - timedelta(days=29)
            for g, u, d in done
        )
        assert row["users_30d"] == month[row["guild_id"]] - (1 if recent else 0)
    assert guilds


async def test_bot_wide_command_days_match_every_guilds_rows(
    client: TestClient, system: MonitoringSystem, clock: ManualClock
) -> None:
    await spread(system, clock)
    storage = await system.db.storage()
    first = utc_day(clock.time()) - timedelta(days=29)
    body = await get_json(client, "/api/commands", days=30)
    assert body["commands"]
    checked = 0
    for entry in body["commands"]:
        for offset, point in enumerate(entry["series"]):
            day = first + timedelta(days=offset)
            # Every guild's per-(guild, day, command) rows, merged: what the rollup must equal.
            totals = {
                t.command: t
                for t in await storage.command_totals(None, day, day, with_buckets=True)
            }
            t = totals.get(entry["command"])
            assert point["runs"] == (t.count if t else 0)
            if t is None:
                assert point["p50_ms"] is None
                continue
            values = percentiles(t.buckets)
            assert point["p50_ms"] == round(values["p50"] * 1000, 3)
            assert point["p99_ms"] == round(values["p99"] * 1000, 3)
            checked += 1
    assert checked > 10


async def test_a_spill_or_a_second_batch_adds_to_the_bot_wide_day(
    client: TestClient, system: MonitoringSystem, clock: ManualClock
) -> None:
    for guild in (A, B):
        for _ in range(2):
            await system.cmd_logger.log_command(guild, "G", user(1), "u", "ban", duration=0.2)
            await system.db.flush()  # One batch each: the rollup row is added to, not replaced.
    body = await get_json(client, "/api/commands", days=1)
    [ban] = body["commands"]
    assert ban["series"][0]["runs"] == 4


NOT_ROUND = (1796531990.3318048, 1796531990.3308048, 1796531990.3298047)
"""Stored times a microsecond datetime rounds (the first two up, the last down)."""


async def log_not_round(system: MonitoringSystem, clock: ManualClock) -> None:
    clock.advance(NOT_ROUND[0] + 1 - clock.time())
    for n, at in enumerate(NOT_ROUND):
        await system.cmd_logger.log_command(A, "G", user(n), "u", "play", executed_at=at)
    await system.db.flush()


async def test_audit_pages_hold_each_row_once_whatever_its_stored_time(
    client: TestClient, system: MonitoringSystem, clock: ManualClock
) -> None:
    await log_not_round(system, clock)
    seen: list[int] = []
    times: list[float] = []
    cursor = ""
    for _ in range(10):
        query = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await get_json(client, "/api/audit", **query)
        seen += [row["id"] for row in page["rows"]]
        times += [row["executed_at"] for row in page["rows"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 3 and len(set(seen)) == 3
    assert times == list(NOT_ROUND)  # The stored times themselves, newest first.


async def test_audit_csv_holds_each_row_once_whatever_its_stored_time(
    client: TestClient,
    system: MonitoringSystem,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await log_not_round(system, clock)
    monkeypatch.setattr(dashboard_api, "CSV_PAGE", 1)  # A page boundary after every row.
    response = await client.get("/api/audit.csv", headers=bearer())
    assert response.status == 200
    lines: list[bytes] = []
    while len(lines) < 10 and (line := await response.content.readline()):
        lines.append(line)  # At most 10: a cursor that repeats a row would page forever.
    response.close()
    ids = [line.split(b",")[0] for line in lines[1:]]
    assert len(ids) == 3 and len(set(ids)) == 3


async def test_a_closed_event_stream_ends_quietly(
    dashboard: DashboardServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The server as a bot runs it (its own runner: a handler is not cancelled when its client
    # goes away, its next write fails), and a client that reads one event and leaves.
    dashboard.streams.interval = 0.02
    caplog.set_level(logging.DEBUG, logger="monitoring_cog")
    await dashboard.start()
    try:
        async with ClientSession() as session:
            response = await session.get(f"{dashboard.url}/api/health/stream", headers=bearer())
            assert response.status == 200
            await response.content.readuntil(b"\n\n")
            assert dashboard.streams.open == 1
            response.close()  # The tab goes away.
            for _ in range(200):
                if dashboard.streams.open == 0:
                    break
                await asyncio.sleep(0.02)
        assert dashboard.streams.open == 0
    finally:
        await dashboard.stop()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("went away" in r.getMessage() for r in caplog.records)


async def record_components_and_events(system: MonitoringSystem, clock: ManualClock) -> None:
    now = clock.time()
    for n in range(12):
        # A: 12 components (the top 10 kept), with uses on two days; C: one of its own.
        for back in (0, 2) if n < 3 else (0,):
            for _ in range(12 - n):
                system.db.submit(
                    ComponentRecord(
                        A,
                        user(n),
                        f"button{n}",
                        "button",
                        0.01 * (n + 1),
                        n != 1,
                        now - back * 86400,
                    )
                )
        await system.stats_collector.record_event(A, f"event{n}", n + 1, user_id=user(n))
    system.db.submit(ComponentRecord(C, user(1), "secret", "select", 0.5, True, now))
    await system.stats_collector.record_event(C, "secret_event", 5, user_id=user(1))
    for _ in range(3):
        await system.stats_collector.record_event(A, "event11", 2, user_id=user(20))
    await system.db.flush()


async def test_server_components_top_ten_with_zero_filled_days(
    client: TestClient, system: MonitoringSystem, clock: ManualClock
) -> None:
    await record_components_and_events(system, clock)
    body = await get_json(client, f"/api/servers/{A}/components", days=7)
    assert body["guild_id"] == A and body["days"] == 7
    names = [c["component"] for c in body["components"]]
    assert names == [f"button{n}" for n in range(10)]  # Most used first, "secret" not there.
    first = body["components"][0]
    assert first["kind"] == "button" and first["uses"] == 24 and first["users"] == 1
    assert [p["uses"] for p in first["series"]] == [0, 0, 0, 0, 12, 0, 12]
    today = utc_day(clock.time())
    assert [p["date"] for p in first["series"]] == [
        (today - timedelta(days=6 - i)).isoformat() for i in range(7)
    ]
    failing = body["components"][1]
    assert failing["failures"] == failing["uses"] == 22
    assert sum(p["failures"] for p in failing["series"]) == 22
    assert first["avg_ms"] == 10.0
    one_day = await get_json(client, f"/api/servers/{A}/components", days=1)
    assert one_day["components"][0]["uses"] == 12
    other = await get_json(client, f"/api/servers/{C}/components", days=90)
    assert [c["component"] for c in other["components"]] == ["secret"]
    assert len(other["components"][0]["series"]) == 90


async def test_server_events_top_ten_with_zero_filled_days(
    client: TestClient, system: MonitoringSystem, clock: ManualClock
) -> None:
    await record_components_and_events(system, clock)
    body = await get_json(client, f"/api/servers/{A}/events", days=3)
    assert body["guild_id"] == A and body["days"] == 3
    events = body["events"]
    assert len(events) == 10
    assert events[0] == {
        "name": "event11",
        "count": 4,
        "total": 18.0,
        "users": 2,
        "series": [
            {
                "date": (utc_day(clock.time()) - timedelta(days=2 - i)).isoformat(),
                "count": 4 if i == 2 else 0,
                "total": 18.0 if i == 2 else 0.0,
            }
            for i in range(3)
        ],
    }
    assert "secret_event" not in [e["name"] for e in events]
    other = await get_json(client, f"/api/servers/{C}/events")
    assert other["days"] == 30
    assert [(e["name"], e["count"], e["total"]) for e in other["events"]] == [
        ("secret_event", 1, 5.0)
    ]


@pytest.mark.parametrize("path", ["components", "events"])
async def test_components_and_events_refuse_bad_input(client: TestClient, path: str) -> None:
    for days in ("0", "91", "x"):
        body = await get_json(client, f"/api/servers/{A}/{path}", status=400, days=days)
        assert "days" in body["error"]
    body = await get_json(client, f"/api/servers/abc/{path}", status=400)
    assert "guild_id" in body["error"]
    unauthorized = await client.get(f"/api/servers/{A}/{path}")
    assert unauthorized.status == 401


async def test_postgres_migration_fills_the_dashboard_rollups(
    postgres_server: PostgresServer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's migration fills ``guild_users``, ``bot_command_stats`` and
    ``bot_command_latency`` from a database's per-guild rows (SQLite's: test_migrations.py)."""
    url = postgres_server.create_database()
    try:
        real = load_migrations("postgresql")
        version = next(m.version for m in real if m.name == "dashboard_rollups")
        with monkeypatch.context() as patch:
            patch.setattr(migrations_module, "load_migrations", lambda dialect: real[: version - 1])
            db = Database(url, config=MonitoringConfig(), clock=clock)
            await db.connect()
            await db.close()
        today = utc_day(clock.time())
        old, recent = today - timedelta(days=12), today - timedelta(days=3)
        conn = await asyncpg.connect(url)
        try:
            await conn.executemany(
                "INSERT INTO daily_users VALUES ($1, $2, $3, 1)",
                [("g1", old, "u1"), ("g1", recent, "u1"), ("g1", old, "u2"), ("g2", today, "u1")],
            )
            await conn.executemany(
                "INSERT INTO command_stats VALUES ($1, $2, 'play', $3, 1, $4, 0.01, 3.0)",
                [("g1", today, 3, 0.53), ("g2", today, 2, 3.02)],
            )
            await conn.executemany(
                "INSERT INTO command_latency VALUES ($1, $2, 'play', $3, $4)",
                [
                    ("g1", today, 5, 2),
                    ("g1", today, 9, 1),
                    ("g2", today, 5, 1),
                    ("g2", today, 12, 1),
                ],
            )
            db = Database(url, config=MonitoringConfig(), clock=clock)
            await db.connect()
            await db.close()
            users = await conn.fetch("SELECT * FROM guild_users ORDER BY guild_id, user_id")
            assert [tuple(r) for r in users] == [
                ("g1", "u1", recent),
                ("g1", "u2", old),
                ("g2", "u1", today),
            ]
            stats = await conn.fetch("SELECT * FROM bot_command_stats")
            assert [tuple(r) for r in stats] == [(today, "play", 5, 2, pytest.approx(3.55))]
            latency = await conn.fetch(
                "SELECT bucket, count FROM bot_command_latency ORDER BY bucket"
            )
            assert [tuple(r) for r in latency] == [(5, 3), (9, 1), (12, 1)]
        finally:
            await conn.close()
    finally:
        postgres_server.drop_database(url)
