"""Where the command line writes: results on stdout, progress and errors on stderr.

Progress bars appear only when stderr is a terminal, so piping a command's output (an export, a
JSON report) or running it from cron leaves no bar fragments in logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ("err_console", "out_console", "progress_bar")


def out_console() -> Console:
    """A console on stdout (colour only on a terminal; ``NO_COLOR`` is honoured by rich)."""
    return Console(soft_wrap=False)


def err_console() -> Console:
    """A console on stderr, for progress and messages."""
    return Console(stderr=True)


def _no_progress(steps: int) -> None:
    """``advance`` where no bar is drawn."""


@contextmanager
def progress_bar(
    description: str, total: int | None, console: Console | None = None
) -> Iterator[Callable[[int], None]]:
    """Show a progress bar while the block runs; yields ``advance(n)``.

    Parameters
    ----------
    description:
        What is being done, shown left of the bar.
    total:
        Steps expected (``None`` when unknown: the bar pulses).
    console:
        Where to draw; stderr by default. Nothing is drawn unless it is a terminal.
    """
    target = console or err_console()
    if not target.is_terminal:
        # No Progress at all: rich before 14.3 prints an empty line when even a disabled
        # one stops on a console that is not a terminal.
        yield _no_progress
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=target,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)

        def advance(steps: int) -> None:
            progress.advance(task, steps)

        yield advance
