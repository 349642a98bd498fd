"""``report`` and ``export`` with message components and custom events: the report's
``top_components`` and ``top_events``, the performance table's components, and the per-day rows
exported as CSV and JSON."""

from __future__ import annotations

import json

import pytest
from cli_support import Cli, Command, Event, epoch, populate

from monitoring_cog.recording.records import ComponentRecord, EventRecord


def week() -> list[Event]:
    """Guild 111: a command, three uses of two components, events over two days."""
    return [
        Command(epoch(2026, 3, 15, 9), "111", "1", "ticket", 0.5),
        ComponentRecord("111", "1", "ticket:close", "button", 0.25, True, epoch(2026, 3, 14, 9)),
        ComponentRecord("111", "2", "ticket:close", "button", 0.75, False, epoch(2026, 3, 15, 9)),
        ComponentRecord("111", "1", "ticket:close", "button", 0.5, True, epoch(2026, 3, 15, 10)),
        ComponentRecord("111", "2", "survey", "modal", 2.0, True, epoch(2026, 3, 15, 11)),
        ComponentRecord("222", "9", "survey", "modal", 1.0, True, epoch(2026, 3, 15, 11)),
        EventRecord("111", "ticket_opened", 1.0, "1", epoch(2026, 3, 14, 8)),
        EventRecord("111", "ticket_opened", 1.0, "2", epoch(2026, 3, 15, 8)),
        EventRecord("111", "xp_gained", 25.0, "1", epoch(2026, 3, 15, 8)),
        EventRecord("111", "xp_gained", 12.5, None, epoch(2026, 3, 15, 9)),
    ]


@pytest.fixture
def recorded(cli: Cli) -> Cli:
    populate(cli.db_path, week())
    return cli


def test_report_json_has_the_components_and_events(recorded: Cli) -> None:
    result = recorded.run("report", "--guild", "111", "--as-of", "2026-03-15", "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["report"]["top_components"] == [
        {
            "component": "ticket:close",
            "kind": "button",
            "uses": 3,
            "failures": 1,
            "users": 2,
            "avg_ms": 500.0,
        },
        {
            "component": "survey",
            "kind": "modal",
            "uses": 1,
            "failures": 0,
            "users": 1,
            "avg_ms": 2000.0,
        },
    ]
    assert data["report"]["top_events"] == [
        {"name": "ticket_opened", "count": 2, "total": 2.0, "users": 2},
        {"name": "xp_gained", "count": 2, "total": 37.5, "users": 1},
    ]
    assert data["report"]["total_commands"] == 1
    assert [
        (c["component"], c["max_ms"], c["error_rate"]) for c in data["performance"]["components"]
    ] == [
        ("ticket:close", 750.0, 1 / 3),
        ("survey", 2000.0, 0.0),
    ]


def test_bot_report_json_sums_the_guilds_components(recorded: Cli) -> None:
    result = recorded.run("report", "--bot", "--as-of", "2026-03-15", "--json")
    data = json.loads(result.stdout)
    assert [(c["component"], c["uses"], c["users"]) for c in data["report"]["top_components"]] == [
        ("ticket:close", 3, 2),
        ("survey", 2, 2),
    ]
    assert [c["component"] for c in data["performance"]["components"]] == ["ticket:close", "survey"]


def test_report_tables_show_components_and_events_and_no_music_row(recorded: Cli) -> None:
    result = recorded.run("report", "--guild", "111", "--as-of", "2026-03-15")

    assert result.returncode == 0, result.stderr
    # A long row wraps inside the panel: compare its words, borders left out.
    out = " ".join(result.stdout.replace("│", " ").split())
    assert (
        "Top components ticket:close (button) 3 uses, 1 failed, 2 users, 500 ms, survey (modal)"
        " 1 uses, 0 failed, 1 users, 2000 ms"
    ) in out
    assert (
        "Top events ticket_opened 2 times, total 2, 2 users, xp_gained 2 times, total 37.5, 1 users"
    ) in out
    assert "Music" not in out
    rows = [line.replace("│", "").split() for line in result.stdout.splitlines()]
    assert ["Component", "Kind", "Uses", "Avg", "Max", "Errors"] in rows
    assert ["ticket:close", "button", "3", "500", "ms", "750", "ms", "33.3", "%"] in rows
    assert ["survey", "modal", "1", "2.00", "s", "2.00", "s", "0.0", "%"] in rows


COMPONENT_CSV = [
    "day,guild_id,component,kind,uses,failures,duration_sum,duration_max,users",
    "2026-03-14,111,ticket:close,button,1,0,0.25,0.25,1",
    "2026-03-15,111,survey,modal,1,0,2.0,2.0,1",
    "2026-03-15,111,ticket:close,button,2,1,1.25,0.75,2",
    "2026-03-15,222,survey,modal,1,0,1.0,1.0,1",
]


def test_export_components_csv(recorded: Cli) -> None:
    result = recorded.run("export", "--format", "csv", "--data", "components")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n".join(COMPONENT_CSV) + "\n"
    since = recorded.run(
        "export", "--format", "csv", "--data", "components", "--since", "2026-03-15"
    )
    assert since.stdout == "\n".join([COMPONENT_CSV[0], *COMPONENT_CSV[2:]]) + "\n"


def test_export_events_json_to_a_file(recorded: Cli) -> None:
    target = recorded.root / "events.json"
    result = recorded.run("export", "--format", "json", "--data", "events", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert "Wrote 3 event rows to" in result.stderr
    assert json.loads(target.read_text(encoding="utf-8")) == [
        {
            "day": "2026-03-14",
            "guild_id": "111",
            "name": "ticket_opened",
            "count": 1,
            "total": 1.0,
            "users": 1,
        },
        {
            "day": "2026-03-15",
            "guild_id": "111",
            "name": "ticket_opened",
            "count": 1,
            "total": 1.0,
            "users": 1,
        },
        {
            "day": "2026-03-15",
            "guild_id": "111",
            "name": "xp_gained",
            "count": 2,
            "total": 37.5,
            "users": 1,
        },
    ]


def test_the_audit_export_is_unchanged_by_components(recorded: Cli) -> None:
    result = recorded.run("export", "--format", "json")
    assert [row["command"] for row in json.loads(result.stdout)] == ["ticket"]
