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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from metrics_support import metric_names

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "grafana.json"
DATASOURCE_UID = "${datasource}"


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
    # The gateway: each shard's latency and connection, reconnects, the population, events.
    assert some(r"^monitoring_cog_shard_latency_seconds\{"), "latency per shard"
    assert some(r"^monitoring_cog_shard_up\{"), "up per shard"
    assert some(r"monitoring_cog_shard_up\{[^}]*\} == 0"), "shards down"
    assert some(r"increase\(monitoring_cog_shard_reconnects_total"), "reconnects"
    for population in ("guilds", "members", "voice_clients"):
        assert some(rf"monitoring_cog_{population}\{{"), population
    assert some(r"sum by \(type\) \(rate\(monitoring_cog_gateway_events_total"), "events by type"
    # Rate limits: by scope, and the routes that hit them most.
    assert some(r"sum by \(scope\) \(rate\(monitoring_cog_rate_limits_total"), "429s by scope"
    assert some(
        r"topk\(\d+, sum by \(route\) "
        r'\(increase\(monitoring_cog_rate_limits_total\{[^}]*scope="route"'
    ), "top routes"
    # The webhook: posts by outcome (failures among them).
    assert some(r"sum by \(outcome\) \(increase\(monitoring_cog_webhook_posts_total"), "webhook"
    # Message components and custom events, each their own kind.
    assert some(
        r"sum by \(component, kind\) \(rate\(monitoring_cog_component_interactions_total"
    ), "component uses"
    error_rate = r'outcome="failure".*/ .*rate\(monitoring_cog_component_interactions_total'
    assert some(error_rate), "component error rate"
    assert some(
        r"histogram_quantile\(0.95, sum by \(component, le\) "
        r"\(rate\(monitoring_cog_component_duration_seconds_bucket"
    ), "p95 by component"
    assert some(r"sum by \(name\) \(rate\(monitoring_cog_custom_events_total"), "events"
    assert some(r"sum by \(name\) \(rate\(monitoring_cog_custom_event_value_total"), "values"


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
    # The endpoint the queries are checked against serves a bot's gateway, 429s and webhook.
    assert {
        "monitoring_cog_shard_up",
        "monitoring_cog_shard_latency_seconds",
        "monitoring_cog_members",
        "monitoring_cog_gateway_events_total",
        "monitoring_cog_rate_limits_total",
        "monitoring_cog_webhook_posts_total",
        "monitoring_cog_component_interactions_total",
        "monitoring_cog_component_duration_seconds_bucket",
        "monitoring_cog_custom_events_total",
        "monitoring_cog_custom_event_value_total",
    } <= exported


async def test_a_query_on_a_histogram_without_its_suffix_would_be_caught(
    exported: set[str],
) -> None:
    # The bare family names are not series: a query on them shows nothing in Grafana.
    assert "monitoring_cog_command_duration_seconds" not in exported
    assert "monitoring_cog_commands" not in exported
    assert "monitoring_cog_command_duration_seconds_bucket" in exported
