"""Fixtures shared by the tests of what the metrics endpoint serves and who reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes import FakeProcess
from metrics_support import sample_names, scrape

from monitoring_cog import Database, ManualClock, MonitoringConfig, create_monitoring_system
from monitoring_cog.metrics import MetricsServer
from monitoring_cog.vitals import StallMonitor


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
