"""Rate-limit tap: what reading discord.py's log records costs each record discord.py logs.

The rate-limit monitor reads ``discord.http``'s records through a filter placed first on that
logger (``monitoring_cog/vitals/log_tap.py``). This times ``logger.debug(...)`` and
``logger.warning(...)`` calls shaped as discord.py makes them, with and without the tap, in two
set-ups of the bot's logging: discord.py at DEBUG (every request logs three debug lines, each of
which the tap now sees) and at WARNING (the default: only 429s reach the tap). Nothing is printed
(a NullHandler takes the records), so the figures are the logging machinery's and the tap's.

Run: ``.venv/bin/python benchmarks/log_tap.py`` (from a checkout with the package installed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from monitoring_cog.vitals.rate_limits import RateLimitMonitor

ROUNDS = 5
CALLS = 100_000
URL = "https://discord.com/api/v10/channels/123456789012345678/messages"
RATE_LIMITED = "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds."


def per_call(emit: Callable[[], None], calls: int = CALLS) -> float:
    """Best of :data:`ROUNDS`, in microseconds per call."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(calls):
            emit()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> None:
    discord_logger = logging.getLogger("discord")
    discord_logger.addHandler(logging.NullHandler())
    discord_logger.propagate = False
    http = logging.getLogger("discord.http")

    def debug_line() -> None:
        http.debug("%s %s with %s has returned %s", "POST", URL, None, 200)

    def rate_limited() -> None:
        http.warning(RATE_LIMITED, "POST", URL, 0.5)

    print(f"{'bot logs discord.py at':<24}{'record':<14}{'no tap µs':>10}{'tap µs':>10}")
    for level in (logging.DEBUG, logging.WARNING):
        discord_logger.setLevel(level)
        for name, emit in (("debug line", debug_line), ("429 warning", rate_limited)):
            without = per_call(emit)
            monitor = RateLimitMonitor()
            monitor.attach()
            try:
                with_tap = per_call(emit)
            finally:
                monitor.detach()
            label = logging.getLevelName(level)
            print(f"{label:<24}{name:<14}{without:>10.2f}{with_tap:>10.2f}")


if __name__ == "__main__":
    main()
