"""Gateway events per type: what counting them costs discord.py's dispatch, per event.

discord.py dispatches ``socket_event_type`` for every gateway event it receives (every message,
typing notice, presence and member update). Three ways to see it, each timed over the same
dispatches through a real ``commands.Bot``'s ``dispatch``:

- ``bare``: nothing watches the event (the floor: discord.py's own dispatch of it);
- ``ours``: :class:`~monitoring_cog.vitals.event_types.GatewayEventCounter`, a standing
  ``wait_for`` check that ``dispatch`` calls inline;
- ``listener``: an ``on_socket_event_type`` listener (``bot.add_listener``) doing the same count,
  as a cog listener would: discord.py makes a task per event for it. Timed until every task has
  run, since the bot pays for them too.

Each round dispatches ``EVENTS`` events of a realistic mix of types; rounds are interleaved and
medians quoted, in nanoseconds per event, with the cost over ``bare``.

Run: ``benchmarks/.venv/bin/python benchmarks/gateway_events.py`` (``--quick``: fewer events).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
from typing import Any

import discord
from _common import Table, emit, interleaved, median, now, parser
from discord.ext import commands

from monitoring_cog.vitals.event_types import GatewayEventCounter

CONFIGS = ("bare", "ours", "listener")
MIX = (
    ["MESSAGE_CREATE"] * 5
    + ["TYPING_START"] * 3
    + ["PRESENCE_UPDATE"] * 6
    + ["GUILD_MEMBER_UPDATE", "MESSAGE_UPDATE", "MESSAGE_REACTION_ADD", "VOICE_STATE_UPDATE"]
)
"""A busy bot's gateway, roughly: presences, messages and typing first."""


async def make(config: str) -> tuple[commands.Bot, Any]:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default(), help_command=None)
    await bot._async_setup_hook()
    watcher: Any = None
    if config == "ours":
        watcher = GatewayEventCounter(bot)
        watcher.install()
        await asyncio.sleep(0)  # Its waits started, as in a running bot.
    elif config == "listener":
        counts: dict[str, int] = {}

        async def on_socket_event_type(event_type: str) -> None:
            counts[event_type] = counts.get(event_type, 0) + 1

        bot.add_listener(on_socket_event_type)
        watcher = counts
    return bot, watcher


async def drained(standing: set[asyncio.Task[Any]]) -> None:
    """Until every task scheduled since ``standing`` was taken (the listener's, one per event)
    has run; the standing ones (the counter's waits) never end."""
    while any(not task.done() for task in asyncio.all_tasks() - standing):  # noqa: ASYNC110
        await asyncio.sleep(0)  # Tasks of discord.py's making: no event of ours to wait on.


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    events = 20_000 if args.quick else 200_000
    rounds = 3 if args.quick else 9
    types = list(itertools.islice(itertools.cycle(MIX), events))
    bots = {config: await make(config) for config in CONFIGS}

    async def measure(config: str) -> float:
        bot, watcher = bots[config]
        dispatch = bot.dispatch
        gc.collect()
        standing = asyncio.all_tasks()
        start = now()
        for event_type in types:
            dispatch("socket_event_type", event_type)
        await drained(standing)
        elapsed = now() - start
        if config == "ours":
            assert watcher.total % events == 0  # Every event counted, once.
        elif config == "listener":
            assert sum(watcher.values()) % events == 0
        return elapsed / events * 1e9

    results = await interleaved(CONFIGS, rounds, measure)
    per_event = {config: median(values) for config, values in results.items()}
    table = Table(
        f"Counting gateway events by type: ns per event ({events:,} events, median of {rounds})",
        ["configuration", "ns/event", "over bare"],
    )
    for config in CONFIGS:
        extra = per_event[config] - per_event["bare"]
        table.add(config, f"{per_event[config]:.0f}", f"{extra:+.0f}")
    emit(
        "gateway_events",
        {
            "events": events,
            "rounds": rounds,
            "ns_per_event": {config: round(value, 1) for config, value in per_event.items()},
            "runs": results,
        },
        table,
    )
    for bot, _ in bots.values():
        await bot.close()


if __name__ == "__main__":
    asyncio.run(main())
