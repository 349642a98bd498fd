"""Versions: this working tree's ingest against another revision's, side by side in one run.

A change to the writer or the schema is judged against the code before it, on the same machine in
the same hour. Each round runs ``log_command`` for the same commands (1,000 guilds of 50 members,
25 commands, 2 % failures; yielding to the loop every 100 calls) and then ``db.flush()``, once
with this working tree's package and once with the revision's, each in a process of its own
importing only its own package, each appending to its own SQLite file (so the files grow as a
bot's would). The order alternates round by round; figures are medians over rounds: rows
committed per second of wall clock and the event loop's CPU time per row.

The revision's ``monitoring_cog`` and ``migrations`` are taken with ``git archive``; it must be
able to create its own database (any revision of this package can).

``--flush-every N`` awaits ``db.flush()`` after every ``N`` calls instead of once at the end:
many small batches, as a bot under light load writes them, where what a batch costs beyond its
rows (thread hand-overs, the transaction) is most of the work.

Run: ``benchmarks/.venv/bin/python benchmarks/versions.py --against REV`` (``--quick`` for a
smoke run; ``--rounds``, ``--per-round``, ``--flush-every``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POOL = 20_000
"""Distinct commands the rounds cycle through."""


def extract(revision: str, into: Path) -> Path:
    """``monitoring_cog`` and ``migrations`` as of ``revision``, unpacked under ``into``."""
    archive = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "archive",
            "--format=tar",
            revision,
            "monitoring_cog",
            "migrations",
        ],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def run_child(
    package_root: Path, database: Path, count: int, offset: int, flush_every: int
) -> dict[str, Any]:
    """One round in a fresh process that imports the package under ``package_root``."""
    env = dict(os.environ, PYTHONPATH=str(package_root))
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(database),
            str(count),
            str(offset),
            str(flush_every),
        ],
        env=env,
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"round failed for {package_root}:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    expected = (package_root / "monitoring_cog").resolve()
    if Path(result["package"]).resolve().parent != expected:
        raise SystemExit(f"imported {result['package']}, expected the package in {expected}")
    return result


async def child(database: str, count: int, offset: int, flush_every: int) -> None:
    """The round itself: ``count`` ``log_command`` calls, then a flush; prints one JSON line.

    With ``flush_every`` (0: never), a flush also follows every ``flush_every`` calls.
    """
    from _workload import workload

    import monitoring_cog
    from monitoring_cog import Database, MonitoringConfig, create_monitoring_system

    db = Database(database, config=MonitoringConfig())
    await db.connect()
    log = create_monitoring_system(db, make_current=False).cmd_logger.log_command
    calls = workload(POOL)
    started, cpu = time.perf_counter(), time.thread_time()
    for index in range(count):
        await calls[(offset + index) % POOL].log(log)
        if flush_every and index % flush_every == flush_every - 1:
            await db.flush()
        elif index % 100 == 99:
            await asyncio.sleep(0)
    await db.flush()
    elapsed = time.perf_counter() - started
    loop_cpu = time.thread_time() - cpu
    dropped = db.recorder.stats()["dropped"]
    await db.close()
    print(
        json.dumps(
            {
                "rows_per_s": count / elapsed,
                "loop_us_per_row": loop_cpu / count * 1e6,
                "dropped": dropped,
                "package": monitoring_cog.__file__,
            }
        )
    )


def main(revision: str, rounds: int, per_round: int, flush_every: int) -> None:
    # Imported here, not at the top: the child runs the other revision's package, which may not
    # have what _common imports from this one.
    from _common import workdir

    with workdir("versions-") as scratch:
        folder = Path(scratch)
        roots = {"working tree": ROOT, revision: extract(revision, folder / "revision")}
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in roots}
        for index in range(rounds):
            order = list(roots) if index % 2 == 0 else list(reversed(roots))
            for name in order:
                database = folder / f"{'tree' if roots[name] == ROOT else 'revision'}.db"
                samples[name].append(
                    run_child(roots[name], database, per_round, index * per_round, flush_every)
                )
    report(samples, rounds, per_round, flush_every)


def report(
    samples: dict[str, list[dict[str, Any]]], rounds: int, per_round: int, flush_every: int
) -> None:
    from _common import Table, emit, median

    batches = f", a flush every {flush_every:,}" if flush_every else ""
    table = Table(
        f"Versions: log_command into SQLite, median of {rounds} alternated rounds of"
        f" {per_round:,}{batches} (each version in its own process and file)",
        ["version", "rows/s", "loop µs/row", "rows/s by round", "dropped"],
    )
    figures: dict[str, Any] = {}
    for name, runs in samples.items():
        figures[name] = {
            "rows_per_s": round(median(r["rows_per_s"] for r in runs)),
            "loop_us_per_row": round(median(r["loop_us_per_row"] for r in runs), 2),
            "by_round": [round(r["rows_per_s"]) for r in runs],
            "dropped": sum(r["dropped"] for r in runs),
        }
        table.add(
            name,
            f"{figures[name]['rows_per_s']:,}",
            f"{figures[name]['loop_us_per_row']:.2f}",
            " ".join(f"{v:,}" for v in figures[name]["by_round"]),
            str(figures[name]["dropped"]),
        )
    emit(
        "versions",
        {
            "rounds": rounds,
            "per_round": per_round,
            "flush_every": flush_every,
            "versions": figures,
        },
        table,
    )


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        asyncio.run(child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
    else:
        from _common import parser

        cli = parser(__doc__.splitlines()[0])
        cli.add_argument("--against", required=True, help="the git revision to compare with")
        cli.add_argument("--rounds", type=int, help="alternated rounds (default 8)")
        cli.add_argument("--per-round", type=int, help="log_command calls per round (20000)")
        cli.add_argument(
            "--flush-every",
            type=int,
            default=0,
            help="also flush after every N calls: many small batches (default: only at the end)",
        )
        args = cli.parse_args()
        rounds, per_round = (2, 2000) if args.quick else (8, 20_000)
        main(args.against, args.rounds or rounds, args.per_round or per_round, args.flush_every)
