"""``demo``: a real bot's simulated month ends in the four reports and a database that holds it."""

from __future__ import annotations

import inspect
import logging
import re
import sqlite3
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cli_support import Cli, assert_user_error

from monitoring_cog.cli.demo import DEMO_DAYS, DEMO_GUILDS, RATE_LIMITED_REQUEST, plan_month
from monitoring_cog.cli.demo_bot import COVER_FETCH_SECONDS, fetch_cover_art
from monitoring_cog.cli.demo_vitals import RATE_LIMIT_FORMAT, log_simulated_429
from monitoring_cog.recording.frames import count_as_own, is_own_code
from monitoring_cog.vitals.routes import route_template

TODAY = date(2026, 3, 15)
FIRST_DAY = date(2026, 2, 14)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path, str]:
    cli = Cli(tmp_path_factory.mktemp("demo"))
    path = cli.root / "demo.db"
    result = cli.run("demo", "--database", str(path), "--today", TODAY.isoformat())
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return cli, path, result.stdout


def test_the_plan_is_a_month_of_every_kind_of_command() -> None:
    plan = plan_month(7, first_weekday=FIRST_DAY.weekday())
    assert plan.days == DEMO_DAYS
    kinds = {action.kind for action in plan.actions}
    assert kinds == {"prefix", "slash", "typo", "button"}
    assert {int(action.at // 86400) for action in plan.actions} == set(range(DEMO_DAYS))
    assert len({(action.guild, action.member) for action in plan.actions}) > 40
    assert plan_month(7, first_weekday=FIRST_DAY.weekday()) == plan
    assert plan_month(8, first_weekday=FIRST_DAY.weekday()) != plan


def test_demo_prints_the_four_reports_and_the_database(demo_run: tuple[Cli, Path, str]) -> None:
    _, path, out = demo_run
    headings = [
        line.split()[0] + (" " + line.split()[1] if line.startswith("/stats") else "")
        for line in out.splitlines()
        if re.match(r"^/(health|stats \w+) ─", line)
    ]
    assert headings == ["/health", "/stats weekly", "/stats monthly", "/stats performance"]
    plan = plan_month(7, first_weekday=FIRST_DAY.weekday())
    end = datetime(2026, 2, 14, tzinfo=UTC).timestamp() + plan.ends_at
    assert end < datetime(2026, 3, 16, tzinfo=UTC).timestamp()
    ended = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d %H:%M")
    assert f"30 days to {ended} UTC · 4 servers · 44 members" in out
    assert "Weekly statistics for Lo-Fi Lounge" in out
    assert "Monthly statistics for Lo-Fi Lounge" in out
    assert "Command performance, last 7 days" in out
    assert "Bot health: degraded" in out  # The lyrics provider's outage on the last evening.
    assert f"\nDatabase: {path}\n" in out
    assert "Explore it" not in out  # Only for a demo in its own folder, with its own config.


def test_the_database_holds_every_audited_command(demo_run: tuple[Cli, Path, str]) -> None:
    _, path, out = demo_run
    plan = plan_month(7, first_weekday=FIRST_DAY.weekday())
    expected = sum(action.audited for action in plan.actions)
    typos = sum(action.kind == "typo" for action in plan.actions)
    assert typos > 0
    conn = sqlite3.connect(path)
    try:
        (audited,) = conn.execute("SELECT COUNT(*) FROM audit_logs").fetchone()
        guilds = [row[0] for row in conn.execute("SELECT guild_name FROM servers ORDER BY 1")]
        (users,) = conn.execute("SELECT COUNT(DISTINCT user_id) FROM audit_logs").fetchone()
        (failed,) = conn.execute("SELECT COUNT(*) FROM audit_logs WHERE success = 0").fetchone()
        (slow,) = conn.execute("SELECT COUNT(*) FROM audit_logs WHERE duration > 2").fetchone()
        commands = {row[0] for row in conn.execute("SELECT DISTINCT command FROM audit_logs")}
        errors = {row[0] for row in conn.execute("SELECT DISTINCT error_type FROM audit_logs")}
        first, last = conn.execute(
            "SELECT date(MIN(executed_at), 'unixepoch'), date(MAX(executed_at), 'unixepoch')"
            " FROM audit_logs"
        ).fetchone()
    finally:
        conn.close()
    assert audited == expected
    assert f"{expected:,} commands audited" in out
    assert guilds == sorted(spec.name for spec in DEMO_GUILDS)
    assert users == 44
    assert failed > 0 and slow > 0
    assert {"play", "skip", "pause", "queue", "volume", "lyrics", "playlist save"} <= commands
    assert {"stats weekly", "health", "stop", "cover"} <= commands
    assert {"SongNotFound", "CheckFailure", "RangeError", "LyricsUnavailable"} <= errors
    assert "MissingPermissions" in errors
    assert (first, last) == (FIRST_DAY.isoformat(), TODAY.isoformat())


def test_the_database_holds_the_queue_buttons_and_the_bots_events(
    demo_run: tuple[Cli, Path, str],
) -> None:
    """Each button press of the plan is one component use; each song found one song_requested."""
    _, path, _ = demo_run
    plan = plan_month(7, first_weekday=FIRST_DAY.weekday())
    presses = Counter(
        "queue:page:{n}" if action.text.startswith("queue:page:") else action.text
        for action in plan.actions
        if action.kind == "button"
    )
    assert set(presses) == {"queue:page:{n}", "queue:shuffle"}
    conn = sqlite3.connect(path)
    try:
        components = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT component, kind, SUM(uses), SUM(failures), SUM(duration_sum),"
                " COUNT(DISTINCT day) FROM component_stats GROUP BY component, kind"
            )
        }
        events = dict(conn.execute("SELECT name, SUM(count) FROM event_stats GROUP BY name"))
        (plays,) = conn.execute(
            "SELECT COUNT(*) FROM audit_logs WHERE command = 'play' AND success = 1"
        ).fetchone()
        (saves,) = conn.execute(
            "SELECT COUNT(*) FROM audit_logs WHERE command = 'playlist save' AND success = 1"
        ).fetchone()
    finally:
        conn.close()
    assert set(components) == set(presses)
    for name, (kind, uses, _, seconds, days) in components.items():
        assert kind == "button"
        assert uses == presses[name]
        assert seconds > 0  # timed: the view's callback ran
        assert days > 20
    # A page past the end of a shrunk queue fails in the view; the shuffle never does.
    assert 0 < components["queue:page:{n}"][2] < presses["queue:page:{n}"]
    assert components["queue:shuffle"][2] == 0
    assert events == {"song_requested": plays, "playlist_saved": saves}


def test_the_demo_database_answers_the_operator_commands(demo_run: tuple[Cli, Path, str]) -> None:
    cli, path, out = demo_run
    config = cli.root / "demo.toml"
    config.write_text(f'[database]\npath = "{path.as_posix()}"\n', encoding="utf-8")
    guild = re.search(r"Lo-Fi Lounge \(server (\d+)\)", out)
    assert guild is not None
    result = cli.run(
        "--config",
        str(config),
        "report",
        "--guild",
        guild.group(1),
        "--period",
        "monthly",
        "--as-of",
        TODAY.isoformat(),
    )
    assert result.returncode == 0, result.stderr
    assert "Monthly statistics for Lo-Fi Lounge" in result.stdout


def test_demo_refuses_an_existing_database(demo_run: tuple[Cli, Path, str]) -> None:
    cli, path, _ = demo_run
    assert_user_error(cli.run("demo", "--database", str(path)), "already exists")


def _flat(text: str) -> str:
    """``text`` with its line breaks and padding folded: rendered lines wrap where they fit."""
    return " ".join(text.replace("│", " ").split())


def _blocking_line() -> int:
    lines, first = inspect.getsourcelines(fetch_cover_art)
    (offset,) = [n for n, line in enumerate(lines) if "time.sleep(" in line]
    return first + offset


def test_the_demo_shows_the_stall_of_its_blocking_command_and_its_line(
    demo_run: tuple[Cli, Path, str],
) -> None:
    _, path, out = demo_run
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT duration, command, command_kind, guild_id, location FROM loop_stalls"
        ).fetchall()
    finally:
        conn.close()
    # The month's other commands take simulated time: !cover's sleep is the one real block.
    assert len(rows) == 1
    duration, command, kind, guild_id, location = rows[0]
    assert duration >= COVER_FETCH_SECONDS
    assert (command, kind) == ("cover", "prefix")
    showcase = re.search(r"Lo-Fi Lounge \(server (\d+)\)", out)
    assert showcase is not None and guild_id == showcase.group(1)
    assert location == f"monitoring_cog/cli/demo_bot.py:{_blocking_line()} in fetch_cover_art"
    flat = _flat(out)
    ms = f"{round(duration * 1000, 1):.0f}"
    assert f"Event loop · stall of {ms} ms in cover (prefix) at {location}" in flat
    # /health names the line too.
    assert f"1 stalls in 60 min; worst {ms} ms in cover at {location}" in flat


def test_the_demo_shows_the_gateway_and_its_disconnect(demo_run: tuple[Cli, Path, str]) -> None:
    _, _, out = demo_run
    flat = _flat(out)
    shard = re.search(
        r"Gateway · shard 0: connected, heartbeat ([\d.]+) ms, 1 disconnect and 1 resume in the"
        r" last hour \(simulated\)",
        flat,
    )
    assert shard is not None, flat
    latency = float(shard.group(1))
    assert 35 <= latency <= 95  # Drawn by the simulated gateway, read back through discord.py.
    assert f"up · {latency:.0f} ms · 4 guilds · " in flat
    assert "1 reconnect in the last hour" in flat


def test_the_demo_shows_its_simulated_rate_limit(demo_run: tuple[Cli, Path, str]) -> None:
    _, _, out = demo_run
    method, url, _ = RATE_LIMITED_REQUEST
    route = route_template(method, url.format(channel=1234))
    flat = _flat(out)
    assert f"Rate limits · {route}: 1 HTTP 429 in the last hour, 0 global (simulated" in flat
    # The health table's row, as /health words it.
    assert f"1 429 in the last hour · most: {route} (1)" in flat


def test_the_simulated_429_is_the_record_discord_http_writes() -> None:
    # The rate-limit monitor counts the record by its format string: the demo's must be
    # discord.py's own, logged by the same logger.
    import discord.http

    assert f"fmt = '{RATE_LIMIT_FORMAT}'" in inspect.getsource(discord.http)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = logging.getLogger("discord.http")
    handler = Keep(logging.WARNING)
    logger.addHandler(handler)
    try:
        log_simulated_429("POST", "https://discord.com/api/v10/channels/1/messages", 1.5)
    finally:
        logger.removeHandler(handler)
    assert [(r.levelno, r.msg, r.args) for r in seen] == [
        (
            logging.WARNING,
            RATE_LIMIT_FORMAT,
            ("POST", "https://discord.com/api/v10/channels/1/messages", 1.5),
        )
    ]


def test_a_file_counted_as_own_is_blamed_wherever_it_lies(tmp_path: Path) -> None:
    # The demo's bot ships in this package (installed, among site-packages): declared the bot's
    # own, its frames take the blame for its stall whatever the command that started the demo.
    bot_file = tmp_path / "site-packages" / "shipped_bot.py"
    other = tmp_path / "site-packages" / "library.py"
    assert not is_own_code(str(bot_file))
    count_as_own(str(bot_file))
    assert is_own_code(str(bot_file))
    assert not is_own_code(str(other))
