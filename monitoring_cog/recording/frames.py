"""Code locations: frames as (file, line, function), whose code each is, and their text.

Two things are told by where code was: a failed command's traceback (captured on the command's
path, rendered by the writer) and an event-loop stall (sampled by the stall monitor's watchdog
thread while the loop is blocked). Both keep only code locations, never a frame's local
variables, and both blame "the bot's own code": a frame that is not the standard library's, not
an installed package's (``site-packages``, ``dist-packages``) and not this package's.

Capturing is cheap and does no I/O: a traceback is walked into ``(file, line, function)`` tuples.
Source lines are read (:mod:`linecache`, which reads files) only when a capture is rendered to
text, off the command's path.

File names are shown relative to the import path they were found under (``cogs/music.py``,
``discord/ext/commands/core.py``), so no home folder or machine layout is stored.
"""

from __future__ import annotations

import contextlib
import linecache
import os
import site
import sys
import sysconfig
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import NamedTuple

__all__ = (
    "MAX_FRAMES",
    "MAX_SOURCE_LINE",
    "STACK_HEADER",
    "Frame",
    "RawTraceback",
    "capture_traceback",
    "count_as_own",
    "display_path",
    "format_location",
    "is_own_code",
    "own_frames",
    "render_frames",
    "render_traceback",
)

Frame = tuple[str, int, str]
"""``(file name as the code object has it, line number, function's qualified name)``."""

STACK_HEADER = "Stack (most recent call last):"
"""The first line of a stall's stack as stored (a traceback's is Python's own)."""
MAX_FRAMES = 20
"""Frames kept of a traceback: the innermost, where the error was raised."""
MAX_SOURCE_LINE = 200
"""Characters kept of a source line."""
_CACHE_LIMIT = 4096
"""File names whose classification and display path are remembered (then afresh)."""


class RawTraceback(NamedTuple):
    """A traceback as captured: its innermost frames, and how many outer ones were left out."""

    frames: tuple[Frame, ...]
    """Outermost first, as Python prints them; at most :data:`MAX_FRAMES`."""
    omitted: int
    """Outer frames not kept."""


def capture_traceback(tb: TracebackType | None) -> RawTraceback | None:
    """The code locations of ``tb`` (an exception's ``__traceback__``), innermost kept.

    No I/O, no local variable: runs on a failing command's path.
    """
    if tb is None:
        return None
    frames: list[Frame] = []
    append = frames.append
    while tb is not None:
        code = tb.tb_frame.f_code
        append((code.co_filename, tb.tb_lineno, code.co_qualname))
        tb = tb.tb_next
    omitted = len(frames) - MAX_FRAMES
    if omitted > 0:
        return tuple.__new__(RawTraceback, (tuple(frames[omitted:]), omitted))
    return tuple.__new__(RawTraceback, (tuple(frames), 0))


class _Places:
    """Where code lives: the folders that are not the bot's own, and the import roots."""

    def __init__(self) -> None:
        others: set[str] = set()
        paths = sysconfig.get_paths()
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            if paths.get(key):
                others.add(paths[key])
        # Some embedded interpreters' site module lacks it.
        with contextlib.suppress(AttributeError):
            others.update(site.getsitepackages())
        user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
        if user_site:
            others.add(user_site)
        # This package itself: its frames blame nothing of the bot's.
        others.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.others = tuple(_folder(path) for path in others)
        self.declared: set[str] = set()
        """Files declared the bot's own wherever they lie (:func:`count_as_own`)."""
        self.own: dict[str, bool] = {}
        self.shown: dict[str, str] = {}

    def is_own(self, filename: str) -> bool:
        found = self.own.get(filename)
        if found is None:
            found = _own(filename, self.others) or (
                bool(self.declared) and os.path.normcase(os.path.abspath(filename)) in self.declared
            )
            if len(self.own) >= _CACHE_LIMIT:
                self.own.clear()
            self.own[filename] = found
        return found

    def display(self, filename: str) -> str:
        found = self.shown.get(filename)
        if found is None:
            found = _relative_to_import_root(filename)
            if len(self.shown) >= _CACHE_LIMIT:
                self.shown.clear()
            self.shown[filename] = found
        return found


def _folder(path: str) -> str:
    """``path`` absolute and normalised, ending with a separator (a prefix of its files)."""
    return os.path.join(os.path.normcase(os.path.abspath(path)), "")


def _own(filename: str, others: tuple[str, ...]) -> bool:
    if not filename or filename.startswith("<"):
        return False  # <frozen importlib._bootstrap>, <string>: not a file of the bot's.
    path = os.path.normcase(os.path.abspath(filename))
    if any(path.startswith(folder) for folder in others):
        return False
    parts = path.split(os.sep)
    return "site-packages" not in parts and "dist-packages" not in parts


def _relative_to_import_root(filename: str) -> str:
    if not filename or filename.startswith("<"):
        return filename
    path = os.path.abspath(filename)
    best = ""
    for entry in sys.path:
        root = os.path.abspath(entry or os.curdir)
        prefix = os.path.join(root, "")
        if path.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return path[len(best) :].replace(os.sep, "/") if best else filename


_places: _Places | None = None


def _get_places() -> _Places:
    global _places
    if _places is None:
        _places = _Places()
    return _places


def is_own_code(filename: str) -> bool:
    """Whether code in ``filename`` is the bot's own: not the standard library's, not an
    installed package's, not this package's (remembered per file name)."""
    return _get_places().is_own(filename)


def count_as_own(filename: str) -> None:
    """Count code in ``filename`` as the bot's own though it lies in this package or among the
    installed ones: the demo's bot, shipped inside this package, is the bot the demo monitors."""
    places = _get_places()
    places.declared.add(os.path.normcase(os.path.abspath(filename)))
    places.own.clear()


def display_path(filename: str) -> str:
    """``filename`` relative to the import path (``sys.path`` entry) it lies under, with ``/``;
    as given when it lies under none."""
    return _get_places().display(filename)


def own_frames(frames: Sequence[Frame]) -> list[Frame]:
    """The frames of ``frames`` that are the bot's own code, in the same order."""
    places = _get_places()
    return [frame for frame in frames if places.is_own(frame[0])]


def format_location(frame: Frame) -> str:
    """``"cogs/music.py:42 in Music.play"``."""
    filename, line, function = frame
    return f"{display_path(filename)}:{line} in {function}"


_RENDERED_KEPT = 1024
"""Rendered tracebacks remembered at most (then afresh)."""
_RENDERED_FOR = 60.0
"""Seconds a rendered traceback is reused: a source file edited meanwhile is read anew after."""
_rendered: dict[tuple[RawTraceback, bool, str], str] = {}
_rendered_since = 0.0


def render_traceback(
    raw: RawTraceback, *, source: bool = True, header: str = "Traceback (most recent call last):"
) -> str:
    """:func:`render_frames` of ``raw``, reused for the same traceback (a failure that repeats
    is read and formatted once a minute, not once a run)."""
    global _rendered_since
    now = time.monotonic()
    if now - _rendered_since > _RENDERED_FOR or len(_rendered) >= _RENDERED_KEPT:
        _rendered.clear()
        _rendered_since = now
    key = (raw, source, header)
    text = _rendered.get(key)
    if text is None:
        text = _rendered[key] = render_frames(
            raw.frames, omitted=raw.omitted, source=source, header=header
        )
    return text


def render_frames(
    frames: Iterable[Frame],
    *,
    omitted: int = 0,
    source: bool = True,
    header: str = "Traceback (most recent call last):",
) -> str:
    """Frames as Python prints a traceback: ``File "path", line N, in function`` and, with
    ``source``, the line's text (read now: call this off the command's path)."""
    lines = [header]
    if omitted:
        lines.append(f"  [{omitted} outer frames not kept]")
    checked: set[str] = set()
    for filename, line, function in frames:
        lines.append(f'  File "{display_path(filename)}", line {line}, in {function}')
        if source:
            if filename not in checked:
                checked.add(filename)
                linecache.checkcache(filename)  # A file edited since it was read is read anew.
            text = linecache.getline(filename, line).strip()
            if text:
                if len(text) > MAX_SOURCE_LINE:
                    text = text[: MAX_SOURCE_LINE - 1] + "…"
                lines.append(f"    {text}")
    return "\n".join(lines)
