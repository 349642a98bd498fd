"""``dashboards/grafana.json``: a Grafana dashboard that imports, over metrics that exist.

The dashboard must be valid JSON of Grafana's dashboard shape (panels with Prometheus targets,
a datasource variable they all use), cover what operators look at (commands per second, error
rate, p50/p95/p99 by command, health, queue and drops), and every query must name only metrics
a real endpoint exports: the endpoint is started and scraped, and each ``expr``'s metric names
are checked against the sample names it serves (``_total``, ``_bucket``, ``_sum``, ``_count``
included, so a query on a histogram's bare family name fails).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeProcess
from metrics_support import sample_names, scrape

from monitoring_cog import Database, ManualClock, MonitoringConfig, create_monitoring_system
from monitoring_cog.metrics import MetricsServer
from monitoring_cog.vitals import StallMonitor

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "grafana.json"
DATASOURCE_UID = "${datasource}"

_PROMQL_WORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless"}
    | {"bool", "offset", "inf", "nan"}
)
"""PromQL keywords: identifiers that are not metric names."""


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects.

    Strings, label matchers, range and subquery brackets, grouping label lists and function
    names are removed; what identifiers remain are metrics.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w$.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group()
        if text[match.end() :].lstrip().startswith("("):
            continue  # A function or an aggregation.
        if word.lower() not in _PROMQL_WORDS:
            names.add(word)
    return names


def load_dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def query_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel that queries (rows excluded), including those inside collapsed rows."""
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in query_panels(dashboard) for target in panel["targets"]]


@pytest.fixture
async def exported(
    tmp_path: Path, clock: ManualClock, process: FakeProcess
) -> AsyncIterator[set[str]]:
    """The sample names a real endpoint serves once commands and a health check have run."""
    db = Database(tmp_path / "bot.db", config=MonitoringConfig(), clock=clock)
    system = create_monitoring_system(db, process=process, make_current=False)
    try:
        async with StallMonitor(db) as monitor, MetricsServer(system, port=0) as server:
            system.health_check.add_section("event_loop", monitor)
            for success in (True, False):
                await system.cmd_logger.log_command(
                    "1", "G", "2", "u", "play", duration=0.2, success=success
                )
            await db.flush()
            await system.health_check.get_full_health_report()
            yield sample_names(await scrape(server.url))
    finally:
        await db.close()


# -- the extractor itself ---------------------------------------------------------------------


def test_metric_names_are_found_in_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (command, le) (rate(a_bucket{instance=~"$instance",'
        ' le!="x"}[$__rate_interval]))) / on (job) group_left b_total + max(c) offset 5m'
    )

    assert metric_names(expr) == {"a_bucket", "b_total", "c"}
    assert metric_names("sum(rate(monitoring_cog_commandz_total[5m]))") == {
        "monitoring_cog_commandz_total"
    }


# -- shape ------------------------------------------------------------------------------------


def test_the_dashboard_is_grafana_json() -> None:
    dashboard = load_dashboard()

    assert isinstance(dashboard["title"], str) and dashboard["title"]
    assert isinstance(dashboard["uid"], str) and dashboard["uid"]
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard.get("id") is None  # So that importing creates it, never overwrites one.
    panels = list(query_panels(dashboard))
    assert len(panels) >= 6
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["type"] in {"timeseries", "stat", "gauge", "bargauge", "table", "heatmap"}
        assert panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24
        targets = panel["targets"]
        assert targets, panel["title"]
        assert len({t["refId"] for t in targets}) == len(targets)
        for target in [panel, *targets]:
            assert target["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}
        for target in targets:
            assert isinstance(target["expr"], str) and target["expr"].strip()


def test_the_datasource_is_a_variable() -> None:
    variables = {v["name"]: v for v in load_dashboard()["templating"]["list"]}

    datasource = variables[DATASOURCE_UID.strip("${}")]
    assert datasource["type"] == "datasource"
    assert datasource["query"] == "prometheus"


def test_the_dashboard_shows_what_operators_need() -> None:
    queries = [re.sub(r"\s+", " ", expr) for expr in exprs(load_dashboard())]

    def some(pattern: str) -> bool:
        return any(re.search(pattern, query) for query in queries)

    assert some(r"rate\(monitoring_cog_commands_total\{"), "commands per second"
    assert some(r'outcome="failure".*/ .*rate\(monitoring_cog_commands_total'), "error rate"
    for quantile in ("0.5", "0.95", "0.99"):
        assert some(
            rf"histogram_quantile\({quantile}, sum by \(command, le\) "
            r"\(rate\(monitoring_cog_command_duration_seconds_bucket"
        ), f"p{quantile} by command"
    assert some(r"monitoring_cog_health_status"), "health"
    assert some(r"monitoring_cog_queue_depth"), "queue"
    assert some(r"monitoring_cog_dropped_records_total"), "drops"
    assert some(r"monitoring_cog_write_errors_total"), "write errors"


# -- every query over metrics the endpoint exports ----------------------------------------------


async def test_every_query_names_exported_metrics(exported: set[str]) -> None:
    dashboard = load_dashboard()
    queries = exprs(dashboard)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            definition = variable["definition"]
            match = re.fullmatch(r"label_values\((\w+),\s*\w+\)", definition)
            assert match, definition
            queries.append(match.group(1))

    unknown = {}
    for query in queries:
        names = metric_names(query)
        assert names, f"no metric in {query!r}"
        missing = names - exported
        if missing:
            unknown[query] = sorted(missing)

    assert not unknown, f"queries over metrics the endpoint does not export: {unknown}"
    assert {"monitoring_cog_commands_total", "monitoring_cog_health_status"} <= exported


async def test_a_query_on_a_histogram_without_its_suffix_would_be_caught(
    exported: set[str],
) -> None:
    # The bare family names are not series: a query on them shows nothing in Grafana.
    assert "monitoring_cog_command_duration_seconds" not in exported
    assert "monitoring_cog_commands" not in exported
    assert "monitoring_cog_command_duration_seconds_bucket" in exported
