"""Hot path: time added per command by each monitor, through discord.py's real dispatch.

Four bots in one process, each with a no-op prefix command, a no-op slash command and a
persistent view with a no-op button: the bare bot, this project (loaded as its extension,
recording into a SQLite file with its writer running at the default interval),
``discord-ext-prometheus`` and ``argus-dpy``. A prefix command runs through
``bot.process_commands`` (what ``on_message`` calls); a slash command and a button click through
``parse_interaction_create``, the gateway's own handler, which builds the Interaction, starts the
tree's invoker task (for a click, the view's task) and dispatches ``on_interaction``. Each
command arrives in a loop iteration of its own, and the loop then runs until no callback is
ready, so listener tasks are timed with the commands that caused them.

A click is what each monitor does for one: this project records a component use (its name,
duration and outcome, per guild, day and user); both peers count it among the interactions
received (an ``on_interaction`` listener task), without the component, its duration or failure.

The figure is CPU time of the event loop's thread per command (wall clock beside it). After each
round this project's queue is written: the wait is SQLite's worker thread (off the loop), but
the writer's work on the loop (aggregating, handing statements over) is counted with the
commands that caused it, wherever it falls.

A second table charges every thread: the process's CPU time (``time.process_time``) from the
round's first command until the process is idle again, that is until this project's writer has
committed the round's records and the loop has nothing ready. SQLite's worker thread, the stall
monitor's watchdog and any other background thread are in it, so writes deferred past the
commands are charged to them too.

Configurations are interleaved round by round (rotating the order); each figure is the median
over rounds of the mean per command in a round. "Added" is the median, over rounds, of the
difference to the bare bot measured in the same round.

Run: ``benchmarks/.venv/bin/python benchmarks/hot_path.py`` (``--quick`` for a smoke run;
``--writer-batch 10000`` defers this project's writes to the end of each round, so its commands
run without SQLite's thread working beside them: what the commands cost alone).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from _common import (
    CLICK_ID,
    CONFIGS,
    FAILING_CLICK_ID,
    Fixture,
    Table,
    add_fixture,
    build_bot,
    close_bot,
    drain_ready,
    emit,
    interleaved,
    median,
    now,
    parser,
    patch_webhooks,
    process_cpu,
    quiesce,
    recorded,
    thread_cpu,
    workdir,
)
from discord.ext import commands

KINDS = ("prefix", "slash", "click")
FAILING_KINDS = ("prefix-fail", "slash-fail", "click-fail")
"""A prefix and a slash command that raise at once (the bot's own error handlers take the
error), and a button whose callback does (its view's own ``on_error`` takes it): the failure
path, where the audit keeps a traceback."""
TARGET_ADDED_US = 5.0


class Subject:
    """One configured bot and the ready-made inputs its commands are run from."""

    def __init__(self, kind: str, bot: commands.Bot, monitor: Any, fixture: Fixture) -> None:
        self.kind = kind
        self.bot = bot
        self.monitor = monitor
        self.messages = {"prefix": fixture.message(bot, "!ping")}
        self.messages["prefix-fail"] = fixture.message(bot, "!fail")
        self.payloads = {"slash": fixture.interaction_payload("ping")}
        self.payloads["slash-fail"] = fixture.interaction_payload("fail")
        self.payloads["click"] = fixture.click_payload(CLICK_ID)
        self.payloads["click-fail"] = fixture.click_payload(FAILING_CLICK_ID)

    async def run(self, command: str, n: int) -> tuple[float, float, float]:
        """Seconds per command over ``n`` runs: (event-loop thread CPU, wall clock, CPU of every
        thread until the process is idle).

        ``command`` is a kind of :data:`KINDS` or :data:`FAILING_KINDS`.
        """
        drain = drain_ready()
        sleep = asyncio.sleep
        cpu_start = thread_cpu()
        all_start = process_cpu()
        if command.startswith("prefix"):
            process = self.bot.process_commands
            message = self.messages[command]
            start = now()
            for _ in range(n):
                await process(message)
                # Each command arrives in a loop iteration of its own, as from the gateway.
                await sleep(0)
                await drain()
        else:
            parse = self.bot._connection.parse_interaction_create
            payload: Any = self.payloads[command]
            start = now()
            for _ in range(n):
                parse(payload)
                await sleep(0)
                await drain()
        wall = now() - start
        await quiesce(self.monitor)
        loop_cpu = thread_cpu() - cpu_start
        # quiesce returns once the writer has committed: nothing of the round is left running.
        return loop_cpu / n, wall / n, (process_cpu() - all_start) / n


async def main(rounds: int, per_round: int, writer_batch: int | None = None) -> None:
    logging.getLogger("discord").setLevel(logging.WARNING)
    patch_webhooks()
    with workdir("hot-path-") as scratch:
        subjects: dict[str, Subject] = {}
        try:
            for kind in CONFIGS:
                folder = Path(scratch) / kind
                folder.mkdir()
                # A batch larger than a round writes only at the round's end, when the loop is
                # idle: the commands then run without SQLite's thread working beside them.
                extra = f"[recording]\nbatch_size = {writer_batch}\n" if writer_batch else ""
                bot, monitor = await build_bot(kind, folder, extra_config=extra)
                subjects[kind] = Subject(kind, bot, monitor, add_fixture(bot))

            samples: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
            for command in KINDS:

                async def measure(kind: str, command: str = command) -> tuple[float, float, float]:
                    return await subjects[kind].run(command, per_round)

                samples[command] = await interleaved(CONFIGS, rounds, measure)
            checks = {kind: recorded(kind, subject.monitor) for kind, subject in subjects.items()}
        finally:
            for subject in subjects.values():
                await close_bot(subject.bot)

    report(samples, rounds, per_round, checks)


_Sample = tuple[float, float, float]


def _figures(runs: list[_Sample], bare: list[_Sample]) -> dict[str, float]:
    """Medians in µs: per command and added over bare (paired by round): loop-thread CPU,
    wall clock, and CPU of every thread until idle (``all``)."""
    out: dict[str, float] = {}
    for index, name in enumerate(("cpu", "wall", "all")):
        out[f"{name}_us"] = round(median(r[index] for r in runs) * 1e6, 2)
        added = median(r[index] - b[index] for r, b in zip(runs, bare, strict=True))
        out[f"{name}_added_us"] = round(added * 1e6, 2)
    return out


def report(
    samples: dict[str, dict[str, list[_Sample]]],
    rounds: int,
    per_round: int,
    checks: dict[str, str],
) -> None:
    kind_columns = [column for command in KINDS for column in (command, "added")]
    table = Table(
        f"Hot path: µs per no-op command (event-loop thread CPU), median of {rounds}"
        f" interleaved rounds x {per_round} runs; wall clock in brackets",
        ["configuration", *kind_columns, "recorded"],
    )
    every_thread = Table(
        f"Hot path: µs per no-op command, CPU on all threads, run until the process is idle"
        f" (writes included), median of {rounds} interleaved rounds x {per_round} runs",
        ["configuration", *kind_columns],
    )
    results: dict[str, Any] = {"rounds": rounds, "per_round": per_round, "configs": {}}
    for kind in CONFIGS:
        cells: list[str] = [kind]
        all_cells: list[str] = [kind]
        entry: dict[str, Any] = {}
        for command in KINDS:
            fig = _figures(samples[command][kind], samples[command]["bare"])
            entry[command] = fig
            cells.append(f"{fig['cpu_us']:.2f} ({fig['wall_us']:.2f})")
            cells.append(
                "-"
                if kind == "bare"
                else f"{fig['cpu_added_us']:+.2f} ({fig['wall_added_us']:+.2f})"
            )
            all_cells.append(f"{fig['all_us']:.2f}")
            all_cells.append("-" if kind == "bare" else f"{fig['all_added_us']:+.2f}")
        entry["recorded"] = checks[kind]
        results["configs"][kind] = entry
        table.add(*cells, checks[kind])
        every_thread.add(*all_cells)
    results["targets"] = _targets(results["configs"])
    emit("hot_path", results, table)
    print()
    every_thread.render()


def _targets(configs: dict[str, Any]) -> dict[str, Any]:
    """Ours against the limit and against every peer, per command kind."""
    ours = configs["ours"]
    targets: dict[str, Any] = {}
    for command in KINDS:
        added = ours[command]["cpu_added_us"]
        bare = configs["bare"][command]["cpu_us"]
        peers = {k: configs[k][command]["cpu_added_us"] for k in ("prometheus", "argus")}
        targets[command] = {
            "added_us": added,
            "limit_us": TARGET_ADDED_US,
            # The limit was set where a bare no-op prefix command takes about 8 µs.
            "limit_scaled_us": round(TARGET_ADDED_US * configs["bare"]["prefix"]["cpu_us"] / 8, 2),
            "bare_us": bare,
            "below_every_peer": all(added < v for v in peers.values()),
        }
    return targets


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--rounds", type=int, help="interleaved rounds (default 21)")
    cli.add_argument("--per-round", type=int, help="commands per round and configuration (3000)")
    cli.add_argument(
        "--writer-batch",
        type=int,
        help="this project's recording.batch_size (default 1000); above --per-round, every write"
        " waits for the end of its round",
    )
    args = cli.parse_args()
    rounds, per_round = (3, 500) if args.quick else (21, 3000)
    asyncio.run(main(args.rounds or rounds, args.per_round or per_round, args.writer_batch))
