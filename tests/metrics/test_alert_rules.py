"""``dashboards/alerts.yml``: Prometheus alerting rules that load, fire when they should, and
query only metrics the endpoint exports.

``promtool`` (Debian's ``prometheus`` package, installed by ``.ci/run``) checks the rules and
runs their unit tests (``tests/prometheus/alerts_test.yml``: series in, alerts out). Without it
these tests skip, saying so, or fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from metrics_support import metric_names

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "dashboards" / "alerts.yml"
RULE_TESTS = ROOT / "tests" / "prometheus" / "alerts_test.yml"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool not found (Debian/Ubuntu: apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_the_rules_fire_as_their_unit_tests_expect() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test_and_a_severity() -> None:
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    alerts = {rule["alert"] for rule in rules()}
    assert alerts - tested == set()
    assert {rule["labels"]["severity"] for rule in rules()} <= {"critical", "warning"}


async def test_every_rule_queries_exported_metrics(exported: set[str]) -> None:
    unknown = {
        rule["alert"]: sorted(metric_names(rule["expr"]) - exported)
        for rule in rules()
        if metric_names(rule["expr"]) - exported
    }
    assert unknown == {}
    assert all(metric_names(rule["expr"]) for rule in rules())
