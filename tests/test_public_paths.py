"""Every import path the README documents still works after the package was regrouped.

The code behind some of them lives deeper in the package (``monitoring_cog.collectors``,
``monitoring_cog.web``); the documented path must stay the same object, and importing it must
not load what plain library use never needs.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import monitoring_cog

DOCUMENTED = [
    ("monitoring_cog.retention", "prune_periodically", "monitoring_cog.collectors.retention"),
    ("monitoring_cog.periodic", "PeriodicTask", "monitoring_cog.collectors.periodic"),
    ("monitoring_cog.periodic", "periodic", "monitoring_cog.collectors.periodic"),
    ("monitoring_cog.metrics", "MetricsServer", "monitoring_cog.web.metrics_server"),
    ("monitoring_cog.metrics", "MonitoringCollector", "monitoring_cog.web.metrics_collector"),
    ("monitoring_cog.metrics", "CommandTotals", "monitoring_cog.recording.metric_totals"),
    ("monitoring_cog.metrics", "DURATION_BUCKETS", "monitoring_cog.recording.metric_totals"),
]


@pytest.mark.parametrize(("public", "name", "home"), DOCUMENTED)
def test_a_documented_path_gives_the_object_where_it_lives(
    public: str, name: str, home: str
) -> None:
    assert getattr(importlib.import_module(public), name) is getattr(
        importlib.import_module(home), name
    )


def test_every_name_in_all_resolves() -> None:
    missing = [name for name in monitoring_cog.__all__ if not hasattr(monitoring_cog, name)]
    assert missing == []


def test_the_metrics_path_loads_no_http_server_until_used() -> None:
    code = (
        "import sys; from monitoring_cog.metrics import CommandTotals;"
        "print('prometheus_client' in sys.modules, 'aiohttp.web' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
