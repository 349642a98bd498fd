"""Tracebacks through the library: kept by ``log_command(exception=...)``, rendered by the writer.

Every test that takes ``db`` runs on both backends.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import linecache
from pathlib import Path
from typing import Any

import pytest

from monitoring_cog import CommandLogger, Database, ManualClock, MonitoringConfig
from monitoring_cog.config import PrivacyConfig
from monitoring_cog.errors import ConfigError
from monitoring_cog.recording.frames import MAX_SOURCE_LINE, RawTraceback

HERE = Path(__file__)


def fails() -> None:
    raise OSError("disk on fire")  # raise-line


def caught() -> BaseException:
    try:
        fails()
    except OSError as error:
        return error
    raise AssertionError("unreachable")


def raise_line() -> int:
    lines = HERE.read_text(encoding="utf-8").splitlines()
    (found,) = [n for n, text in enumerate(lines, 1) if text.endswith("# raise-line")]
    return found


async def test_an_exception_given_to_log_command_keeps_its_traceback(db: Database) -> None:
    logger = CommandLogger(db)
    error = caught()
    assert await logger.log_command("1", "G", "2", "u", "save", None, 0.5, False, exception=error)
    assert await logger.log_command("1", "G", "2", "u", "save", None, 0.5, True, exception=error)
    succeeded, failed = await logger.get_recent_commands(limit=2)  # Newest first.
    assert (failed["success"], succeeded["success"]) == (False, True)
    assert failed["error_type"] == "OSError"
    assert failed["error_message"] == "disk on fire"
    lines = failed["traceback"].splitlines()
    assert lines[-2] == f'  File "{HERE.name}", line {raise_line()}, in fails'
    assert lines[-1] == '    raise OSError("disk on fire")  # raise-line'
    # A success passed an exception keeps none of it.
    assert (succeeded["error_type"], succeeded["traceback"]) == (None, None)
    assert (await logger.get_failed_commands())[0]["traceback"] == failed["traceback"]


def raised_in_a_new_file(folder: Path, text: str) -> BaseException:
    """An exception raised by ``go()`` in a module of its own (a traceback never rendered yet:
    the writer reuses what it rendered for the same frames)."""
    module = folder / "fresh_module.py"
    module.write_text(f"def go():\n    {text}\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("fresh_module", module)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    try:
        loaded.go()
    except Exception as error:
        return error
    raise AssertionError("go() did not raise")


async def test_source_lines_are_read_by_the_writer_never_on_the_commands_path(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    error = raised_in_a_new_file(tmp_path, "raise OSError('fresh')")
    reads: list[str] = []
    for name in ("getline", "getlines", "checkcache", "updatecache"):
        real = getattr(linecache, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            reads.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(linecache, name, counted)
    logger = CommandLogger(db)
    assert logger.log_command_nowait("1", None, "2", None, "save", success=False, exception=error)
    assert reads == []
    (queued,) = list(db.recorder._buffer)
    assert isinstance(queued.traceback, RawTraceback)  # Code locations only, as captured.
    await db.flush()
    assert "getline" in reads
    (row,) = await logger.get_failed_commands()
    assert row["traceback"].splitlines()[-1] == "    raise OSError('fresh')"


async def test_source_lines_are_cut(db: Database, tmp_path: Path) -> None:
    padding = "x" * (2 * MAX_SOURCE_LINE)
    exception = raised_in_a_new_file(tmp_path, f"raise RuntimeError('{padding}')")
    logger = CommandLogger(db)
    assert await logger.log_command("1", None, "2", None, "go", success=False, exception=exception)
    (row,) = await logger.get_failed_commands()
    last = row["traceback"].splitlines()[-1]
    assert last.startswith("    raise RuntimeError('xxx")
    assert len(last.strip()) == MAX_SOURCE_LINE
    assert last.endswith("…")


@pytest.fixture
def config(request: pytest.FixtureRequest) -> MonitoringConfig:
    mode = getattr(request, "param", "full")
    return dataclasses.replace(MonitoringConfig(), privacy=PrivacyConfig(store_tracebacks=mode))


@pytest.mark.parametrize("config", ["off"], indirect=True)
async def test_store_tracebacks_off_keeps_none(db: Database) -> None:
    logger = CommandLogger(db)
    assert await logger.log_command("1", None, "2", None, "save", success=False, exception=caught())
    (row,) = await logger.get_failed_commands()
    assert (row["error_type"], row["traceback"]) == ("OSError", None)


def test_store_tracebacks_is_checked_at_start_up(tmp_path: Path, clock: ManualClock) -> None:
    with pytest.raises(ConfigError, match=r"privacy\.store_tracebacks: expected \"full\""):
        PrivacyConfig(store_tracebacks="sometimes")
