"""Hot path in instructions: what each monitor adds per command, counted rather than timed.

The workload of ``hot_path.py`` (its ``Subject``: a no-op prefix command through
``bot.process_commands``, a no-op slash command and a click on a no-op button of a persistent
view through ``parse_interaction_create``, the loop drained after each, this project's queue
written after each round), but each configuration and kind runs alone in a child process under
valgrind's callgrind, which counts the instructions executed. Counts do not depend on the
machine's load or clock, so they repeat within a fraction of a percent where times vary by half.
``--kinds prefix-fail,slash-fail,click-fail`` counts commands that raise at once instead (the
bot's own error handlers take the error; for the button, its view's ``on_error``): the failure
path.

Each (configuration, kind) runs twice, with N1 and N2 commands after the same warm-up; the
instructions per command are (I(N2) - I(N1)) / (N2 - N1), which cancels start-up, warm-up and
shut-down. Commands run in rounds of ``ROUND`` (the writer's batch size), and every round ends
by writing this project's queue, so the writer's work on the loop for those commands is in the
difference. Its timer is set to an hour: a flush at a time-driven moment would make the count
depend on valgrind's speed, and in ``hot_path.py`` rounds end (and batches fill) well before
a second passes anyway.

The figure is the event loop's thread (as ``hot_path.py`` times that thread); all threads,
SQLite's worker included, are in brackets. On x86-64 instrumentation is switched on only for
the measured commands (a callgrind client request), so start-up runs at valgrind's fast speed.

Run: ``benchmarks/.venv/bin/python benchmarks/hot_path_instructions.py`` (``--quick`` for a
smoke run; ``--keep DIR`` keeps callgrind's files for ``callgrind_annotate``).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import logging
import mmap
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import (
    CONFIGS,
    Table,
    add_fixture,
    build_bot,
    close_bot,
    emit,
    parser,
    patch_webhooks,
    recorded,
    workdir,
)
from hot_path import FAILING_KINDS, KINDS, Subject

ROUND = 1000
"""Commands between writes of this project's queue: its default batch size."""
WARMUP = 300
"""Commands run before counting starts (caches, the interpreter's specialisation, first rows)."""
EXTRA_CONFIG = "[recording]\nflush_interval = 3600.0\n[health]\nstall_monitor = false\n"
"""Only explicit flushes (and full batches) write: none at a moment set by the clock. The stall
monitor is off: it costs per second, not per command (a beat every ``stall_interval``, see
``stall_monitor.py``), and under valgrind, 50 times slower, it would be charged per command for
the seconds valgrind takes, and see the slowed loop as stalled."""


class _Callgrind:
    """Callgrind's START/STOP_INSTRUMENTATION client requests, on x86-64.

    A client request is a no-op instruction sequence that valgrind recognises (valgrind.h's
    ``VALGRIND_DO_CLIENT_REQUEST_EXPR``); outside valgrind it does nothing. Elsewhere this is
    unavailable and the whole child is counted (the subtraction still cancels start-up).
    """

    _BASE = (ord("C") << 24) | (ord("T") << 16)  # VG_USERREQ_TOOL_BASE('C', 'T')
    START = _BASE + 4
    STOP = _BASE + 5
    # rax = rdi (the request's arguments); rdx = 0 (the default result); the special preamble
    # (rdi rotated by 3, 13, 61, 51: back where it was); xchg rbx, rbx; return rdx.
    _CODE = bytes.fromhex("4889f8 31d2 48c1c703 48c1c70d 48c1c73d 48c1c733 4887db 4889d0 c3")

    def __init__(self) -> None:
        self._call: Any = None
        if not self.available():
            return
        self._page = mmap.mmap(
            -1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC
        )
        self._page.write(self._CODE)
        address = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        self._call = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p)(address)

    @staticmethod
    def available() -> bool:
        return sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")

    def request(self, code: int) -> None:
        if self._call is not None:
            args = (ctypes.c_uint64 * 6)(code, 0, 0, 0, 0, 0)
            self._call(ctypes.addressof(args))


# -- the child: one configuration, one kind, n commands ---------------------------------------


async def child(config: str, command: str, count: int, round_size: int, warmup: int) -> None:
    logging.getLogger("discord").setLevel(logging.WARNING)
    patch_webhooks()
    callgrind = _Callgrind()
    with workdir("hot-path-instructions-") as scratch:
        bot, monitor = await build_bot(config, Path(scratch), extra_config=EXTRA_CONFIG)
        try:
            subject = Subject(config, bot, monitor, add_fixture(bot))
            await subject.run(command, warmup)
            gc.collect()  # Both runs start counting with the same young generation.
            callgrind.request(_Callgrind.START)
            done = 0
            while done < count:
                step = min(round_size, count - done)
                await subject.run(command, step)  # Ends by writing this project's queue.
                done += step
            callgrind.request(_Callgrind.STOP)
            print(json.dumps({"recorded": recorded(config, monitor)}))
        finally:
            await close_bot(bot)


# -- the parent: every child under callgrind, then the differences ----------------------------


def _count(out: Path) -> tuple[int, int]:
    """Instructions in callgrind's files for one child: (main thread, all threads)."""
    per_thread: dict[int, int] = {}
    for path in out.parent.glob(out.name + "-*"):
        thread = int(path.name.rsplit("-", 1)[1])
        # "totals:" closes the file; the header's "summary:" is 0 when counting started late.
        for line in reversed(path.read_text().splitlines()):
            if line.startswith("totals:"):
                per_thread[thread] = int(line.split()[1])
                break
    if 1 not in per_thread:
        raise RuntimeError(f"no callgrind output for the main thread at {out}")
    return per_thread[1], sum(per_thread.values())


def run_child(
    config: str, command: str, count: int, folder: Path, round_size: int, warmup: int
) -> dict[str, Any]:
    out = folder / f"{config}-{command}-{count}.out"
    valgrind = [
        "valgrind",
        "--tool=callgrind",
        "--separate-threads=yes",
        f"--instr-atstart={'no' if _Callgrind.available() else 'yes'}",
        "--vgdb=no",
        f"--callgrind-out-file={out}",
    ]
    script = [sys.executable, __file__, "--child", config, command, str(count)]
    script += ["--round", str(round_size), "--warmup", str(warmup)]
    # A fixed hash seed: the same dict and set layouts, so the same instructions, in every run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(valgrind + script, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{config} {command} n={count} failed:\n{done.stderr[-3000:]}")
    loop, total = _count(out)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return {"loop": loop, "all": total, **json.loads(lines[-1])}


def main(
    configs: list[str],
    kinds: tuple[str, ...],
    n1: int,
    n2: int,
    round_size: int,
    warmup: int,
    jobs: int,
    keep: Path | None,
) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (it counts the instructions)")
    with tempfile.TemporaryDirectory(prefix="hot-path-instructions-") as scratch:
        folder = keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        runs = [(c, k, n) for c in configs for k in kinds for n in (n1, n2)]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {
                run: pool.submit(run_child, *run, folder, round_size, warmup) for run in runs
            }
            counts = {run: future.result() for run, future in futures.items()}
    report(configs, kinds, counts, n1, n2, round_size, warmup)


def report(
    configs: list[str],
    kinds: tuple[str, ...],
    counts: dict[tuple[str, str, int], dict[str, Any]],
    n1: int,
    n2: int,
    round_size: int,
    warmup: int,
) -> None:
    table = Table(
        f"Hot path: instructions per command (event-loop thread), (I({n2}) - I({n1}))"
        f" / {n2 - n1} under callgrind; all threads in brackets",
        ["configuration", *(c for kind in kinds for c in (kind, "added")), "recorded"],
    )
    per: dict[str, dict[str, dict[str, float]]] = {}
    for config in configs:
        per[config] = {}
        for command in kinds:
            low, high = counts[config, command, n1], counts[config, command, n2]
            per[config][command] = {
                name: (high[name] - low[name]) / (n2 - n1) for name in ("loop", "all")
            }
    results: dict[str, Any] = {
        "n1": n1,
        "n2": n2,
        "round": round_size,
        "warmup": warmup,
        "valgrind": subprocess.run(
            ["valgrind", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "configs": {},
    }
    for config in configs:
        cells: list[str] = [config]
        entry: dict[str, Any] = {}
        for command in kinds:
            mine, bare = per[config][command], per["bare"][command]
            fig = {
                "instructions": round(mine["loop"]),
                "added": round(mine["loop"] - bare["loop"]),
                "instructions_all_threads": round(mine["all"]),
                "added_all_threads": round(mine["all"] - bare["all"]),
            }
            entry[command] = fig
            cells.append(f"{fig['instructions']:,} ({fig['instructions_all_threads']:,})")
            cells.append(
                "-" if config == "bare" else f"{fig['added']:+,} ({fig['added_all_threads']:+,})"
            )
        # What the longer prefix run's monitor held at its end (warm-up included).
        entry["recorded"] = counts[config, kinds[0], n2]["recorded"]
        results["configs"][config] = entry
        table.add(*cells, entry["recorded"])
    if set(configs) == set(CONFIGS) and kinds == KINDS:
        results["targets"] = _targets(results["configs"])
    emit("hot_path_instructions", results, table)


def _targets(configs: dict[str, Any]) -> dict[str, Any]:
    """Ours against every peer, per command kind (event-loop thread)."""
    targets: dict[str, Any] = {}
    for command in KINDS:
        added = configs["ours"][command]["added"]
        peers = {k: configs[k][command]["added"] for k in ("prometheus", "argus")}
        targets[command] = {
            "added": added,
            "peers_added": peers,
            "below_every_peer": all(added < v for v in peers.values()),
        }
    return targets


if __name__ == "__main__":
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--n1", type=int, help=f"commands in the shorter run (default {ROUND})")
    cli.add_argument("--n2", type=int, help=f"commands in the longer run (default {3 * ROUND})")
    cli.add_argument("--round", type=int, default=ROUND, help="commands between queue writes")
    cli.add_argument("--warmup", type=int, default=WARMUP, help="commands before counting")
    cli.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="children at once")
    cli.add_argument("--keep", type=Path, help="keep callgrind's output files in this folder")
    cli.add_argument(
        "--configs",
        default=",".join(CONFIGS),
        help=f"comma-separated subset of {','.join(CONFIGS)} (bare is always run)",
    )
    cli.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"comma-separated kinds of command, of {','.join(KINDS + FAILING_KINDS)}"
        " (the -fail ones raise at once: the failure path)",
    )
    cli.add_argument("--child", nargs=3, metavar=("CONFIG", "KIND", "N"), help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.child:
        config, command, count = args.child
        asyncio.run(child(config, command, int(count), args.round, args.warmup))
    else:
        n1, n2 = (100, 300) if args.quick else (ROUND, 3 * ROUND)
        chosen = {"bare", *args.configs.split(",")}
        if not chosen <= set(CONFIGS):
            cli.error(f"--configs: unknown {', '.join(sorted(chosen - set(CONFIGS)))}")
        configs = [c for c in CONFIGS if c in chosen]
        kinds = tuple(args.kinds.split(","))
        unknown = set(kinds) - set(KINDS + FAILING_KINDS)
        if unknown:
            cli.error(f"--kinds: unknown {', '.join(sorted(unknown))}")
        n1, n2 = args.n1 or n1, args.n2 or n2
        main(configs, kinds, n1, n2, args.round, args.warmup, args.jobs, args.keep)
