"""The dashboard in a real browser: Debian's Chromium, driven by Playwright.

The demo's simulated month (:func:`monitoring_cog.cli.demo.run_demo`, ending now) is served live
by the dashboard server, in this process on 127.0.0.1 and a free port. The browser signs in
through the form (and once with ``?token=``), opens every page and checks what a person would see:
each chart drew its data (pixels of the dataset's colour read back from the canvas), no console
error or uncaught exception, and no request left the dashboard's own origin (the pages load
nothing from elsewhere). On the overview, a command recorded through the Database API while the
page is open shows up without a reload, through the event stream, and through polling when the
stream is refused.

Screenshots of every page go to a temporary folder; with ``MONITORING_SCREENSHOTS=<folder>`` the
server page is also written there as ``dashboard-server.png`` (the README's picture:
``MONITORING_SCREENSHOTS=docs``).

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it); without it, or without the
``playwright`` package, these tests skip, saying so, or fail when ``CI`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import random
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from monitoring_cog import Database, create_monitoring_system
from monitoring_cog.cli.demo import demo_config, run_demo
from monitoring_cog.collectors.health_reports import HealthReportWriter
from monitoring_cog.config import DashboardConfig
from monitoring_cog.recording.records import (
    CommandRecord,
    GrowthKind,
    GrowthRecord,
    PopulationRecord,
)
from monitoring_cog.web.dashboard.server import DashboardServer

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
"""Debian's Chromium (Playwright launches it by path: it downloads no browser of its own)."""
TOKEN = "browser-test-token-0123456789"
TIMEOUT_MS = 15_000
PAGES = {
    "overview": "/",
    "servers": "/servers",
    "commands": "/commands",
    "audit": "/audit",
    "stalls": "/stalls",
    "growth": "/growth",
}
"""Pages by name (the server page's path needs a guild id: see ``test_every_page_draws``)."""
CHARTS = {
    "overview": ["cpm-chart"],
    "servers": [],
    "server": [
        "chart-commands",
        "chart-users",
        "chart-music",
        "chart-skips",
        "chart-top",
        "chart-components",
        "chart-events",
    ],
    "commands": ["chart-one", "chart-p95"],
    "audit": [],
    "stalls": ["chart-stalls"],
    "growth": ["chart-guilds", "chart-joins"],
}
"""The charts each page must draw, by the id of the box holding the canvas."""


def _browser_or_skip() -> Any:
    """Playwright's async API, once both it and Chromium are there (else skip, or fail on CI)."""
    problem = None
    try:
        from playwright import async_api
    except ImportError:
        problem = "the playwright package is not installed (pip install -e '.[test]')"
    if problem is None and not os.access(CHROMIUM, os.X_OK):
        problem = f"{CHROMIUM} not found (Debian/Ubuntu: apt-get install chromium chromium-driver)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return async_api


@dataclass
class Watch:
    """What the browser did: every request's URL, console errors and uncaught exceptions."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, context: Any) -> None:
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("page", self._page)

    def _page(self, page: Any) -> None:
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console: {message.text} at {message.location}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def assert_clean(self, origin: str) -> None:
        assert self.errors == []
        foreign = [url for url in self.requests if not url.startswith(origin + "/")]
        assert foreign == []
        assert self.requests, "the browser made no request at all"


@dataclass
class Dashboard:
    url: str
    db: Any
    path: Path
    guilds: list[tuple[str, str]]
    failed: int
    """Failed commands in the demo's audit log (counted with sqlite3)."""
    growth: Growth
    shots: Path


CHECK_INTERVAL = 60.0
CHECKS = 30
"""Health checks run before the browser comes: the overview's timeline."""


@dataclass(frozen=True)
class Growth:
    """The growth recorded for the test (the demo records none): per day, oldest first."""

    joins: list[int]
    leaves: list[int]
    guilds: list[int]


def record_growth(db: Database, days: int = 30, seed: int = 11) -> Growth:
    """Servers joined and left over the last ``days`` UTC days, and each day's population."""
    draw = random.Random(seed)
    now = db.clock.time()
    today = now // 86400 * 86400
    growth = Growth([], [], [])
    guilds = 120
    for back in range(days - 1, -1, -1):
        start = today - back * 86400
        joins, leaves = draw.randint(0, 6), draw.randint(0, 3)
        for n in range(joins + leaves):
            kind = GrowthKind.JOIN if n < joins else GrowthKind.LEAVE
            assert db.submit(GrowthRecord(kind, min(start + 3600 + n * 60, now - 1)))
        guilds += joins - leaves
        at = min(start + 20 * 3600, now - 1)
        assert db.submit(PopulationRecord(0, 1, guilds, guilds * 37, at))
        growth.joins.append(joins)
        growth.leaves.append(leaves)
        growth.guilds.append(guilds)
    return growth


@contextlib.asynccontextmanager
async def serve(path: Path) -> AsyncIterator[tuple[str, Database, Growth]]:
    """The dashboard on the demo's database, live: this process's health check, and two other
    processes of the bot in ``health_reports``, one of them silent for ten minutes (down)."""
    db = Database(path, config=demo_config(path))
    system = create_monitoring_system(db, make_current=False)
    growth = record_growth(db)
    await db.flush()
    mine = HealthReportWriter(
        db, check_interval=CHECK_INTERVAL, process_name="bot-1", shard_ids=lambda: (0, 1)
    )
    for _ in range(CHECKS):
        mine.submit(await system.health_check.get_full_health_report())
    report = await system.health_check.get_full_health_report()
    mine.submit(report)
    other = HealthReportWriter(
        db, check_interval=CHECK_INTERVAL, process_name="bot-2", shard_ids=lambda: (2, 3)
    )
    other.submit(report)
    silent = HealthReportWriter(
        db, check_interval=CHECK_INTERVAL, process_name="bot-3", shard_ids=lambda: (4, 5)
    )
    then = datetime.fromtimestamp(db.clock.time() - 600, UTC).isoformat()
    silent.submit({**report, "timestamp": then})
    for writer in (mine, other, silent):
        await writer.close()
    server = DashboardServer(
        db,
        DashboardConfig(port=0),
        health=system.health_check,
        writer=mine,
        token=TOKEN,
        host="127.0.0.1",
    )
    await server.start()
    try:
        yield server.url, db, growth
    finally:
        await server.stop()
        await db.close()


@pytest.fixture(scope="module")
def screenshot_target() -> Path | None:
    """Where the README's picture of the server page goes (``MONITORING_SCREENSHOTS``), if set."""
    folder = os.environ.get("MONITORING_SCREENSHOTS")
    return Path(folder) if folder else None


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dashboard(
    tmp_path_factory: pytest.TempPathFactory, shots: Path
) -> AsyncIterator[Dashboard]:
    _browser_or_skip()
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    result = await run_demo(path)
    with contextlib.closing(sqlite3.connect(path)) as plain:
        [(failed,)] = plain.execute("SELECT count(*) FROM audit_logs WHERE success = 0")
    async with serve(path) as (url, db, growth):
        yield Dashboard(url, db, path, result.guilds, failed, growth, shots)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(dashboard: Dashboard) -> AsyncIterator[Any]:
    api = _browser_or_skip()
    async with api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


async def new_context(browser: Any, watch: Watch, scheme: str = "light") -> Any:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, color_scheme=scheme, locale="en-GB"
    )
    context.set_default_timeout(TIMEOUT_MS)
    watch.attach(context)
    return context


async def wait_until(page: Any, function: str, arg: Any = None) -> None:
    """Wait until ``function(arg)``, evaluated in the page, is truthy.

    Not Playwright's ``wait_for_function``: before Playwright 1.5x it evaluates its predicate with
    ``eval`` in the page, which the dashboard's Content-Security-Policy refuses (as it should).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_MS / 1000
    while True:
        try:
            if await page.evaluate(function, arg):
                return
        except Exception as exc:
            # The page reloading (a theme switch) or moving on: ask the next one.
            if "context was destroyed" not in str(exc):
                raise
        if loop.time() > deadline:
            raise AssertionError(f"still false after {TIMEOUT_MS} ms: {function} ({arg!r})")
        await asyncio.sleep(0.1)


async def sign_in(page: Any, url: str, path: str = "/") -> None:
    """Sign in through the login form, starting from ``path`` (which the form returns to)."""
    await page.goto(url + path)
    assert page.url.startswith(url + "/login")
    await page.fill("#token", TOKEN)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + path)


CHART_PIXELS = """
(ids) => ids.map((id) => {
  const canvas = document.querySelector('#' + id + ' canvas');
  if (!canvas) return { id, error: 'no canvas' };
  const chart = Chart.getChart(canvas);
  if (!chart) return { id, error: 'no chart' };
  // Only the plot area: the legend's boxes are drawn in the datasets' colours too.
  const ratio = chart.currentDevicePixelRatio || 1;
  const area = chart.chartArea;
  const x = Math.ceil(area.left * ratio), y = Math.ceil(area.top * ratio);
  const w = Math.floor((area.right - area.left) * ratio);
  const h = Math.floor((area.bottom - area.top) * ratio);
  const { data } = canvas.getContext('2d').getImageData(x, y, w, h);
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const counts = chart.data.datasets.map((set) => {
    const colour = String(set.borderColor);
    if (!/^#[0-9a-f]{6}$/i.test(colour)) return 0;
    const [r, g, b] = rgb(colour);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - r) < 16 && Math.abs(data[i + 1] - g) < 16
          && Math.abs(data[i + 2] - b) < 16) n++;
    }
    return n;
  });
  const values = chart.data.datasets.flatMap((set) => set.data).filter((v) => v);
  return { id, counts, values: values.length, width: canvas.width };
})
"""


async def assert_charts_drew(page: Any, ids: list[str]) -> None:
    """Each chart has a canvas with data in it, and the data's colours are on the canvas."""
    if not ids:
        return
    await wait_until(
        page,
        "(ids) => ids.every((id) => { const c = document.querySelector('#' + id + ' canvas');"
        " return c && Chart.getChart(c); })",
        ids,
    )
    for chart in await page.evaluate(CHART_PIXELS, ids):
        assert "error" not in chart, chart
        assert chart["width"] > 100, chart
        assert chart["values"] > 0, f"{chart['id']} has no data"
        assert max(chart["counts"]) > 30, f"{chart['id']} drew no data: {chart}"


async def test_login_form_then_every_page_draws(
    browser: Any, dashboard: Dashboard, screenshot_target: Path | None
) -> None:
    watch = Watch()
    context = await new_context(browser, watch)
    page = await context.new_page()
    origin = dashboard.url

    # A wrong token is turned away with a message; the right one opens the page asked for.
    await page.goto(origin + "/servers")
    assert page.url.startswith(origin + "/login")
    await page.fill("#token", "not-the-token")
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r".*/login\?.*error=1.*"))
    assert await page.is_visible("#error")
    await sign_in(page, origin, "/servers")

    showcase_id, showcase_name = dashboard.guilds[0]
    paths = {**PAGES, "server": f"/servers/{showcase_id}"}
    for name, path in paths.items():
        await page.goto(origin + path)
        await page.wait_for_load_state("networkidle") if name != "overview" else None
        await assert_charts_drew(page, CHARTS[name])
        await page.screenshot(path=str(dashboard.shots / f"{name}.png"), full_page=True)
        assert not await page.query_selector(".banner"), await page.inner_text(".banner")

    # What each page shows, beyond the charts.
    await page.goto(origin + "/servers")
    await page.wait_for_selector("#servers tbody tr")
    names = await page.locator("#servers tbody tr td:first-child a").all_inner_texts()
    assert sorted(names) == sorted(name for _, name in dashboard.guilds)
    # Sorted by a click on a heading: 7-day commands, most first, then fewest first.
    column = "() => [...document.querySelectorAll('#servers tbody tr')].map((r) => r.dataset.guild)"
    by_commands = await page.evaluate(column)
    await page.click("th[data-sort=commands_7d]")
    await page.wait_for_selector("th.sorted-asc[data-sort=commands_7d]")
    assert await page.evaluate(column) == by_commands[::-1]
    # A page at a time.
    await page.goto(origin + "/servers?limit=3")
    await page.wait_for_selector("#more")
    assert await page.locator("#servers tbody tr").count() == 3
    await page.click("#more")
    await wait_until(page, "() => !document.getElementById('more')")
    assert await page.evaluate(column) == by_commands
    await page.fill("#search", showcase_name[:5])
    await wait_until(page, "() => document.querySelectorAll('#servers tbody tr').length === 1")
    assert await page.locator("#servers tbody tr a").inner_text() == showcase_name

    await page.goto(origin + paths["server"])
    await page.wait_for_selector("#performance tbody tr")
    assert await page.inner_text("#title") == showcase_name
    await page.click("#range button[data-value='30']")
    await wait_until(
        page,
        "() => Chart.getChart(document.querySelector('#chart-commands canvas'))"
        ".data.labels.length === 30",
    )
    await assert_charts_drew(page, CHARTS["server"])
    # The demo's queue buttons and its bot's own events, by name, over the 30 days chosen.
    legend = (
        "(id) => { const c = Chart.getChart(document.querySelector('#' + id + ' canvas'));"
        " return [c.data.labels.length, c.data.datasets.map((d) => d.label)]; }"
    )
    await wait_until(
        page,
        "() => Chart.getChart(document.querySelector('#chart-events canvas'))"
        ".data.labels.length === 30",
    )
    assert await page.evaluate(legend, "chart-components") == [
        30,
        ["queue:page:{n}", "queue:shuffle", "failures"],
    ]
    assert await page.evaluate(legend, "chart-events") == [30, ["song_requested", "playlist_saved"]]
    await page.screenshot(path=str(dashboard.shots / "server-30-days.png"), full_page=True)
    if screenshot_target is not None:
        # The charts and the per-command table (Playwright makes the folder).
        target = screenshot_target / "dashboard-server.png"
        top = {"x": 0, "y": 0, "width": 1280, "height": 1500}
        await page.screenshot(path=str(target), full_page=True, clip=top)

    # The demo's real stall, blamed on its line, and failed commands with their tracebacks.
    await page.goto(origin + "/stalls")
    await page.wait_for_selector("#stalls tbody tr")
    blamed = await page.locator("#stalls tbody tr code").all_inner_texts()
    assert any("demo_bot.py:" in text for text in blamed), blamed
    assert await page.locator("#errors tbody tr").count() > 0
    traceback = page.locator("#errors tbody tr details pre").first
    assert "Traceback" in await traceback.text_content()

    # Another command's percentiles, on choosing it.
    await page.goto(origin + "/commands")
    await page.wait_for_selector("#table tbody tr")
    names = await page.locator("#table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.command)"
    )
    await page.select_option("#command", names[1])
    assert await page.inner_text("#one-title") == f"Percentiles of {names[1]} (ms)"
    await assert_charts_drew(page, CHARTS["commands"])

    await page.goto(origin + "/audit")
    await page.wait_for_selector("#rows tbody tr")
    assert await page.locator("#rows tbody tr").count() == 100
    ids = "() => [...document.querySelectorAll('#rows tbody tr')].map((r) => Number(r.dataset.id))"
    first = await page.evaluate(ids)
    await page.click("#older")
    await wait_until(page, "() => document.getElementById('page-info').textContent"
                                 ".startsWith('page 2')")  # fmt: skip
    second = await page.evaluate(ids)
    assert len(second) == 100
    assert max(second) < min(first)  # newest first, and the next page is older
    await page.click("#newer")
    await wait_until(page, "() => document.getElementById('page-info').textContent"
                                 ".startsWith('page 1')")  # fmt: skip
    assert await page.evaluate(ids) == first
    await page.select_option("select[name=outcome]", "failure")
    await page.click("#filters button[type=submit]")
    await wait_until(
        page,
        "() => [...document.querySelectorAll('#rows tbody tr')]"
        ".every((r) => r.classList.contains('failed'))",
    )
    assert "outcome=failure" in await page.get_attribute("#csv", "href")
    async with page.expect_download() as download_info:
        await page.click("#csv")
    download = await download_info.value
    assert download.suggested_filename == "audit.csv"
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == dashboard.failed
    assert len({row["id"] for row in rows}) == len(rows)
    assert {row["success"] for row in rows} <= {"0", "false", "False"}

    # A server and a start time too: the table and the CSV hold exactly the matching rows.
    await page.fill("input[name=guild_id]", showcase_id)
    await page.evaluate(  # the last week, in the browser's time zone
        "(when) => { const d = new Date(when * 1000); const p = (n) => String(n).padStart(2, '0');"
        " document.querySelector('input[name=since]').value = d.getFullYear() + '-' +"
        " p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' +"
        " p(d.getMinutes()); }",
        dashboard.db.clock.time() - 7 * 86400,
    )
    since = await page.evaluate(
        "() => Math.floor(new Date(document.querySelector('input[name=since]').value)"
        ".getTime() / 1000)"
    )
    await page.click("#filters button[type=submit]")
    await wait_until(
        page,
        "(guild) => { const rows = [...document.querySelectorAll('#rows tbody tr')];"
        " return rows.length && rows.every((r) => r.dataset.guild === guild); }",
        showcase_id,
    )
    shown = await page.locator("#rows tbody tr").evaluate_all(
        "rows => rows.map(r => [Number(r.dataset.at), r.classList.contains('failed')])"
    )
    assert all(at >= since and failed for at, failed in shown)
    with contextlib.closing(sqlite3.connect(dashboard.path)) as plain:
        [(expected,)] = plain.execute(
            "SELECT count(*) FROM audit_logs WHERE success = 0 AND guild_id = ?"
            " AND executed_at >= ?",
            (showcase_id, since),
        )
    assert 0 < len(shown) == min(expected, 100)
    async with page.expect_download() as download_info:
        await page.click("#csv")
    saved = await (await download_info.value).path()
    text = await asyncio.to_thread(Path(saved).read_text, encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == expected
    assert {row["guild_id"] for row in rows} == {showcase_id}

    watch.assert_clean(origin)
    await context.close()


async def test_token_in_the_address_signs_in(browser: Any, dashboard: Dashboard) -> None:
    watch = Watch()
    context = await new_context(browser, watch, scheme="dark")
    page = await context.new_page()
    await page.goto(f"{dashboard.url}/growth?token={TOKEN}")
    assert page.url == dashboard.url + "/growth"
    await assert_charts_drew(page, CHARTS["growth"])
    # The browser asked for dark: the page is dark, and so are the charts' axes and labels.
    background = "() => getComputedStyle(document.body).backgroundColor"
    assert await page.evaluate(background) == "rgb(20, 23, 29)"
    assert await page.evaluate("() => Chart.defaults.color") == "#9aa3b5"
    # Switched to light, the page draws itself again (a new document: the mark is gone).
    await page.evaluate("() => { window.beforeSwitch = true; }")
    await page.emulate_media(color_scheme="light")
    await wait_until(page, "() => !window.beforeSwitch && document.readyState === 'complete'")
    assert await page.evaluate(background) == "rgb(246, 247, 249)"
    await assert_charts_drew(page, CHARTS["growth"])
    assert await page.evaluate("() => Chart.defaults.color") == "#5b6475"
    growth = dashboard.growth
    figures = await page.locator("#growth-figures .figure").all_inner_texts()
    net = sum(growth.joins) - sum(growth.leaves)
    assert figures[0] == f"{growth.guilds[-1]:,}"
    assert figures[2:] == [str(sum(growth.joins)), str(sum(growth.leaves)), f"{net:+d}"]
    drawn = await page.evaluate(
        "Chart.getChart(document.querySelector('#chart-guilds canvas')).data.datasets[0].data"
    )
    assert len(drawn) == 90
    assert drawn[-30:] == growth.guilds
    watch.assert_clean(dashboard.url)
    await context.close()


MINUTE_COUNT = """(minute) => {
  // The commands the overview shows for one minute (epoch seconds), from the chart's figures.
  for (const pair of document.getElementById('cpm-chart').dataset.minutes.split(',')) {
    const [at, commands] = pair.split(':').map(Number);
    if (at === minute) return commands;
  }
  return 0;
}"""


async def wait_for_commands_shown(page: Any, minute: float, before: int, added: int) -> None:
    """Wait until the overview shows ``added`` more commands in ``minute`` than ``before``."""
    await wait_until(
        page,
        f"([minute, expected]) => ({MINUTE_COUNT})(minute) >= expected",
        [minute, before + added],
    )


def record_commands(db: Database, guild: tuple[str, str], count: int, now: float) -> None:
    """``count`` commands run at ``now``, recorded through the Database API."""
    for _ in range(count):
        record = CommandRecord(
            guild[0], guild[1], "424242", "browser_test", "ping", None, 0.05, True,
            None, None, now,
        )  # fmt: skip
        assert db.submit(record)


async def test_the_overview_follows_a_recorded_command_live(
    browser: Any, dashboard: Dashboard
) -> None:
    watch = Watch()
    context = await new_context(browser, watch)
    page = await context.new_page()
    await sign_in(page, dashboard.url, "/")
    await wait_until(page, "() => document.getElementById('live-mode').textContent == 'live'")
    await assert_charts_drew(page, CHARTS["overview"])
    # This one, another reporting, and one silent for ten minutes (and the demo's bot, which
    # stored its health reports as it ran).
    shown = await page.locator("#processes tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.process)"
    )
    assert shown[0] == "bot-1"
    assert {"bot-2", "bot-3"} <= set(shown)
    down = await page.locator("#processes tbody tr.down").evaluate_all(
        "rows => rows.map(r => r.dataset.process)"
    )
    assert down == ["bot-3"]
    assert await page.locator("#timeline .tick").count() == CHECKS + 1
    components = await page.locator("#components .card").evaluate_all(
        "cards => cards.map(c => c.dataset.component)"
    )
    assert {"memory", "cpu", "database", "error_rate", "recording"} <= set(components)

    now = dashboard.db.clock.time()
    minute = now // 60 * 60
    before = await page.evaluate(MINUTE_COUNT, minute)
    record_commands(dashboard.db, dashboard.guilds[0], 5, now)
    await dashboard.db.flush()
    await wait_for_commands_shown(page, minute, before, 5)
    assert any(url.endswith("/api/health/stream") for url in watch.requests)
    watch.assert_clean(dashboard.url)
    await context.close()


async def test_the_overview_polls_when_the_stream_is_refused(
    browser: Any, dashboard: Dashboard
) -> None:
    watch = Watch()
    context = await new_context(browser, watch)
    await context.route("**/api/health/stream", lambda route: route.abort())
    page = await context.new_page()
    await sign_in(page, dashboard.url, "/")
    await wait_until(
        page, "() => document.getElementById('live-mode').textContent === 'updating every 5 s'"
    )
    now = dashboard.db.clock.time()
    minute = now // 60 * 60
    before = await page.evaluate(MINUTE_COUNT, minute)
    polls = sum(url.endswith("/api/health") for url in watch.requests)
    record_commands(dashboard.db, dashboard.guilds[1], 4, now)
    await dashboard.db.flush()
    await wait_for_commands_shown(page, minute, before, 4)
    assert sum(url.endswith("/api/health") for url in watch.requests) > polls
    # The refused stream is the only failure the page met (Chromium reports it as an error).
    watch.errors = [e for e in watch.errors if "/api/health/stream" not in e]
    watch.assert_clean(dashboard.url)
    await context.close()


async def test_a_server_without_components_or_events_shows_neither_chart(
    browser: Any, dashboard: Dashboard
) -> None:
    quiet = ("900000000000000001", "Quiet Corner")
    record_commands(dashboard.db, quiet, 3, dashboard.db.clock.time())
    await dashboard.db.flush()
    watch = Watch()
    context = await new_context(browser, watch)
    page = await context.new_page()
    await sign_in(page, dashboard.url, f"/servers/{quiet[0]}")
    await page.wait_for_selector("#performance tbody tr")
    await assert_charts_drew(page, ["chart-commands"])
    hidden = "(id) => document.getElementById(id).classList.contains('hidden')"
    # Both asked for and answered empty (the page's requests are done once the network is idle).
    await page.wait_for_load_state("networkidle")
    asked = {url.split("?")[0].rsplit("/", 1)[-1] for url in watch.requests}
    assert {"components", "events"} <= asked
    for box in ("activity", "panel-components", "panel-events"):
        assert await page.evaluate(hidden, box), box
    assert await page.query_selector("#chart-components canvas") is None
    assert await page.query_selector("#chart-events canvas") is None
    # The showcase server, for contrast: the same page shows both.
    await page.goto(dashboard.url + f"/servers/{dashboard.guilds[0][0]}")
    await assert_charts_drew(page, ["chart-components", "chart-events"])
    for box in ("activity", "panel-components", "panel-events"):
        assert not await page.evaluate(hidden, box), box
    watch.assert_clean(dashboard.url)
    await context.close()
