"""One bot process of ``test_dashboard_processes.py``: checks its health and stores each report.

Run as ``python health_writer_child.py URL NAME INTERVAL``. It opens the PostgreSQL database,
then every INTERVAL seconds runs the full health check and hands the report to a
:class:`HealthReportWriter` (as the cog's health loop does), printing ``stored`` after the first
row is written. A line ``stop`` on stdin ends it: the process goes silent, as a crashed one would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys

from monitoring_cog import Database, MonitoringConfig, create_monitoring_system
from monitoring_cog.collectors.health_reports import HealthReportWriter
from monitoring_cog.config import HealthConfig


async def main(url: str, name: str, interval: float) -> None:
    config = dataclasses.replace(MonitoringConfig(), health=HealthConfig(check_interval=interval))
    db = Database(url, config=config)
    system = create_monitoring_system(db, make_current=False)
    writer = HealthReportWriter(
        db, check_interval=interval, process_name=name, shard_ids=lambda: (int(name[-1]),)
    )
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: stop.done() or stop.set_result(None))
    first = True
    while not stop.done():
        writer.submit(await system.health_check.get_full_health_report())
        if first:
            await writer.close()
            print("stored", flush=True)
            first = False
        await asyncio.wait({stop}, timeout=interval)
    loop.remove_reader(sys.stdin.fileno())
    await writer.close()
    await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
