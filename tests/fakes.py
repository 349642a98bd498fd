"""Fakes shared by the tests: a fixed "now" and a psutil.Process stand-in."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

# A fixed "now": 2026-03-15 12:00:00 UTC. Reports count UTC days back from it.
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


class FakeProcess:
    """A psutil.Process stand-in whose readings the test sets."""

    def __init__(
        self,
        rss_mb: float = 100.0,
        vms_mb: float = 400.0,
        memory_percent: float = 1.0,
        cpu_percent: float = 5.0,
    ) -> None:
        self.rss_mb = rss_mb
        self.vms_mb = vms_mb
        self.memory_percent_value = memory_percent
        self.cpu_percent_value = cpu_percent
        self.cpu_percent_calls = 0

    def memory_info(self) -> Any:
        return SimpleNamespace(
            rss=int(self.rss_mb * 1024 * 1024), vms=int(self.vms_mb * 1024 * 1024)
        )

    def memory_percent(self) -> float:
        return self.memory_percent_value

    def cpu_percent(self, interval: float | None = None) -> float:
        self.cpu_percent_calls += 1
        return self.cpu_percent_value

    def cpu_times(self) -> Any:
        return SimpleNamespace(user=1.5, system=0.5)
