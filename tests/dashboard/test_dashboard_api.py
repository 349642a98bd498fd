"""The JSON API over both backends: each endpoint's figures against what was recorded, a guild's
pages never holding another guild's rows, the audit search's filters and keyset pages (every row
once, in order), the CSV download, and bad input answered 400 naming the parameter."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from dashboard_support import bearer, get_json

from monitoring_cog import ManualClock, MonitoringSystem
from monitoring_cog.recording.records import (
    GrowthKind,
    GrowthRecord,
    PopulationRecord,
    StallRecord,
)
from monitoring_cog.web.dashboard import api as dashboard_api
from monitoring_cog.web.dashboard.command_days import PAST_DAYS_SECONDS

A, B = "111111111111111111", "222222222222222222"
USERS = ("900000000000000001", "900000000000000002", "900000000000000003")


async def seed(system: MonitoringSystem, clock: ManualClock) -> list[tuple[str, str, str, bool]]:
    """Commands in two guilds over three days (oldest first); returns (guild, user, command, ok)."""
    done = []
    clock.advance(-2 * 86400)
    for day in range(3):
        if day:
            clock.advance(86400 - 12 * 60)
        for i in range(12):
            guild = A if i % 3 else B
            user = USERS[i % 3]
            command = ("play", "skip", "queue")[i % 3] if guild == A else "ban"
            ok = i % 4 != 0
            await system.cmd_logger.log_command(
                guild,
                f"Guild {guild[0]}",
                user,
                f"user{i % 3}",
                command,
                {"i": i, "day": day},
                duration=0.05 * (i + 1),
                success=ok,
                error_message=None if ok else "=cmd|' /C calc'!A0",
            )
            done.append((guild, user, command, ok))
            clock.advance(60)
    await system.db.flush()
    return done


@pytest.fixture
async def seeded(system: MonitoringSystem, clock: ManualClock) -> list[tuple[str, str, str, bool]]:
    return await seed(system, clock)


async def test_servers_lists_each_guild_with_its_figures(
    client: TestClient, seeded: list[tuple[str, str, str, bool]]
) -> None:
    body = await get_json(client, "/api/servers")
    assert body["total"] == 2
    by_id = {row["guild_id"]: row for row in body["servers"]}
    for guild in (A, B):
        mine = [s for s in seeded if s[0] == guild]
        row = by_id[guild]
        assert row["commands_7d"] == row["commands_30d"] == len(mine)
        assert row["failures_7d"] == sum(1 for s in mine if not s[3])
        assert row["users_7d"] == len({s[1] for s in mine})
        assert row["guild_name"] == f"Guild {guild[0]}"
    # Sorted, filtered, paged by key.
    ascending = await get_json(client, "/api/servers", sort="commands_7d", order="asc")
    assert [r["guild_id"] for r in ascending["servers"]] == [B, A]
    found = await get_json(client, "/api/servers", q="guild 2")
    assert [r["guild_id"] for r in found["servers"]] == [B]
    first = await get_json(client, "/api/servers", limit=1)
    assert len(first["servers"]) == 1 and first["next_key"]
    second = await get_json(client, "/api/servers", limit=1, offset_key=first["next_key"])
    assert [r["guild_id"] for r in first["servers"] + second["servers"]] == [A, B]
    assert second["next_key"] is None


async def test_report_daily_performance_and_failures_of_one_guild_only(
    client: TestClient, seeded: list[tuple[str, str, str, bool]]
) -> None:
    mine = [s for s in seeded if s[0] == B]
    report = await get_json(client, f"/api/servers/{B}/report", period="weekly")
    assert report["total_commands"] == len(mine)
    monthly = await get_json(client, f"/api/servers/{B}/report", period="monthly")
    assert monthly["total_commands"] == len(mine)

    daily = await get_json(client, f"/api/servers/{B}/daily", days="7")
    assert len(daily["days"]) == 7
    assert [d["commands"] for d in daily["days"]][-3:] == [4, 4, 4]
    assert sum(d["commands"] for d in daily["days"]) == len(mine)
    assert sum(d["failed"] for d in daily["days"]) == sum(1 for s in mine if not s[3])

    performance = await get_json(client, f"/api/servers/{B}/performance", days=7)
    assert [c["command"] for c in performance["commands"]] == ["ban"]
    [ban] = performance["commands"]
    assert ban["runs"] == len(mine)
    assert ban["p50_ms"] <= ban["p95_ms"] <= ban["p99_ms"]

    failures = await get_json(client, f"/api/servers/{B}/failures")
    assert failures["failures"]
    assert {row["guild_id"] for row in failures["failures"]} == {B}
    assert all(not row["success"] for row in failures["failures"])
    times = [row["executed_at"] for row in failures["failures"]]
    assert times == sorted(times, reverse=True)


async def test_audit_pages_by_keyset_hold_every_row_once(
    client: TestClient, seeded: list[tuple[str, str, str, bool]]
) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = await get_json(client, "/api/audit", **params)
        seen += page["rows"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == -(-len(seeded) // 5)
    assert len(seen) == len(seeded)
    assert len({row["id"] for row in seen}) == len(seeded)
    keys = [(row["executed_at"], row["id"]) for row in seen]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        ({"guild_id": A}, lambda s: s[0] == A),
        ({"guild_id": B, "outcome": "failure"}, lambda s: s[0] == B and not s[3]),
        ({"user_id": USERS[1]}, lambda s: s[1] == USERS[1]),
        ({"command": "skip", "outcome": "success"}, lambda s: s[2] == "skip" and s[3]),
        ({"guild_id": B, "command": "skip"}, lambda s: False),
    ],
)
async def test_audit_filters(
    client: TestClient,
    seeded: list[tuple[str, str, str, bool]],
    filters: dict[str, str],
    keep: Any,
) -> None:
    body = await get_json(client, "/api/audit", limit=500, **filters)
    expected = [s for s in seeded if keep(s)]
    assert len(body["rows"]) == len(expected)
    got = sorted((r["guild_id"], r["user_id"], r["command"], r["success"]) for r in body["rows"])
    assert got == sorted(expected)


async def test_audit_time_bounds(
    client: TestClient, seeded: list[tuple[str, str, str, bool]], clock: ManualClock
) -> None:
    everything = (await get_json(client, "/api/audit", limit=500))["rows"]
    times = sorted(row["executed_at"] for row in everything)
    since, until = times[5], times[20]
    body = await get_json(client, "/api/audit", limit=500, since=since, until=until)
    assert sorted(row["executed_at"] for row in body["rows"]) == times[5:20]


async def test_audit_csv_streams_the_filtered_rows(
    client: TestClient, seeded: list[tuple[str, str, str, bool]]
) -> None:
    response = await client.get("/api/audit.csv", headers=bearer(), params={"guild_id": B})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit.csv"'
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == sum(1 for s in seeded if s[0] == B)
    assert {row["guild_id"] for row in rows} == {B}
    failed = [row for row in rows if row["success"] == "false"]
    # A spreadsheet would run a cell starting with "=": it is quoted.
    assert failed and all(row["error_message"].startswith("'=") for row in failed)


async def test_commands_errors_stalls_growth(
    client: TestClient, system: MonitoringSystem, clock: ManualClock, seeded: Any
) -> None:
    now = clock.time()
    system.db.submit(StallRecord(now - 30, 1.5, "play", "prefix", A, "bot.py:10 in play", None))
    system.db.submit(StallRecord(now - 20, 0.5, None, None, None, None, None))
    system.db.submit(GrowthRecord(GrowthKind.JOIN, now))
    system.db.submit(PopulationRecord(0, 1, 2, 7, now))
    await system.db.flush()

    commands = await get_json(client, "/api/commands", days=7)
    runs = {c["command"]: c["runs"] for c in commands["commands"]}
    assert set(runs) == {s[2] for s in seeded}
    for command in runs:
        assert runs[command] == sum(1 for s in seeded if s[2] == command)
    series = commands["commands"][0]["series"]
    assert len(series) == 7 and series[0]["p50_ms"] is None and series[-1]["p50_ms"] > 0

    errors = await get_json(client, "/api/errors", days=7)
    assert len(errors["errors"]) == sum(1 for s in seeded if not s[3])
    assert all(not row["success"] for row in errors["errors"])

    stalls = await get_json(client, "/api/stalls", days=1)
    assert [s["duration_ms"] for s in stalls["stalls"]] == [500.0, 1500.0]
    assert stalls["stalls"][1]["location"] == "bot.py:10 in play"
    only_a = await get_json(client, "/api/stalls", guild_id=A)
    assert [s["guild_id"] for s in only_a["stalls"]] == [A]

    growth = await get_json(client, "/api/growth", days=7)
    assert len(growth["days"]) == 7
    assert growth["days"][-1] == {
        "date": growth["days"][-1]["date"],
        "joins": 1,
        "leaves": 0,
        "guilds": 2,
        "members": 7,
    }


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/api/servers/abc/report", {}, "guild_id"),
        ("/api/servers/1%3B%20DROP%20TABLE%20audit_logs/report", {}, "guild_id"),
        (f"/api/servers/{A}/report", {"period": "yearly"}, "period"),
        (f"/api/servers/{A}/daily", {"days": "14"}, "days"),
        (f"/api/servers/{A}/performance", {"days": "0"}, "days"),
        (f"/api/servers/{A}/performance", {"days": "ten"}, "days"),
        (f"/api/servers/{A}/failures", {"limit": "501"}, "limit"),
        ("/api/servers", {"sort": "1; DROP TABLE servers"}, "sort"),
        ("/api/servers", {"order": "sideways"}, "order"),
        ("/api/servers", {"limit": "0"}, "limit"),
        ("/api/servers", {"offset_key": "%%%"}, "offset_key"),
        ("/api/audit", {"guild_id": "1 OR 1=1"}, "guild_id"),
        ("/api/audit", {"user_id": "x' OR '1'='1"}, "user_id"),
        ("/api/audit", {"outcome": "maybe"}, "outcome"),
        ("/api/audit", {"limit": "100000"}, "limit"),
        ("/api/audit", {"limit": "-1"}, "limit"),
        ("/api/audit", {"cursor": "not-a-cursor"}, "cursor"),
        ("/api/audit", {"since": "yesterday"}, "since"),
        ("/api/audit", {"until": "nan"}, "until"),
        ("/api/audit", {"since": "10", "until": "5"}, "until"),
        ("/api/audit.csv", {"guild_id": "abc"}, "guild_id"),
        ("/api/commands", {"days": "91"}, "days"),
        ("/api/stalls", {"limit": "0"}, "limit"),
        ("/api/errors", {"days": "1e9"}, "days"),
        ("/api/growth", {"days": "366"}, "days"),
    ],
)
async def test_bad_input_is_400_naming_the_parameter(
    client: TestClient, path: str, params: dict[str, str], named: str
) -> None:
    response = await client.get(path, headers=bearer(), params=params)
    body = await response.json()
    assert response.status == 400, body
    assert body["error"].startswith(f"{named}:")


async def test_sql_in_a_filter_is_only_a_value(
    client: TestClient, system: MonitoringSystem, seeded: Any
) -> None:
    body = await get_json(client, "/api/audit", command="play' OR '1'='1")
    assert body["rows"] == []
    # The table is still there, whole.
    assert len((await get_json(client, "/api/audit", limit=500))["rows"]) == len(seeded)


async def test_unknown_guild_has_empty_figures(client: TestClient, seeded: Any) -> None:
    daily = await get_json(client, "/api/servers/333/daily", days="7")
    assert sum(d["commands"] for d in daily["days"]) == 0
    assert (await get_json(client, "/api/servers/333/performance"))["commands"] == []
    assert (await get_json(client, "/api/servers/333/failures"))["failures"] == []
    assert (await get_json(client, "/api/audit", guild_id="333"))["rows"] == []


async def test_commands_keep_past_days_and_read_today_fresh(
    client: TestClient, system: MonitoringSystem, clock: ManualClock, seeded: Any
) -> None:
    def runs_on(body: dict[str, Any], command: str, index: int) -> int:
        [entry] = [c for c in body["commands"] if c["command"] == command]
        return int(entry["series"][index]["runs"])

    before = await get_json(client, "/api/commands", days=3)
    yesterday, today = runs_on(before, "ban", 1), runs_on(before, "ban", 2)
    # One more run today and one written late for yesterday.
    await system.cmd_logger.log_command(B, "Guild 2", USERS[0], "u", "ban", duration=0.1)
    await system.cmd_logger.log_command(
        B, "Guild 2", USERS[0], "u", "ban", duration=0.1, executed_at=clock.time() - 86400
    )
    await system.db.flush()
    after = await get_json(client, "/api/commands", days=3)
    assert runs_on(after, "ban", 2) == today + 1
    assert runs_on(after, "ban", 1) == yesterday  # A past day is reused for an hour...
    clock.advance(PAST_DAYS_SECONDS + 1)
    later = await get_json(client, "/api/commands", days=3)
    assert runs_on(later, "ban", 1) == yesterday + 1  # ...then read again.


async def test_audit_csv_pages_through_every_row_once(
    client: TestClient, seeded: list[tuple[str, str, str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_api, "CSV_PAGE", 5)  # Many keyset pages for a few rows.
    response = await client.get("/api/audit.csv", headers=bearer())
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == len(seeded)
    assert len({row["id"] for row in rows}) == len(seeded)
    assert [row["executed_at"] for row in rows] == sorted(
        (row["executed_at"] for row in rows), reverse=True
    )
