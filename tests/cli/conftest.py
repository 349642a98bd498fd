"""Fixtures for the command line's tests: a config file and database in tmp_path, and a runner.

Every command runs as a subprocess (``python -m monitoring_cog ...``), as an operator runs it,
with ``MONITORING_CONFIG`` naming a config file whose database is in ``tmp_path``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from cli_support import Cli


def _root_conftest() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("_monitoring_cog_tests_root_conftest_cli", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Test modules in tests/ do `from conftest import NOW, FakeProcess`; this file is also a module
# named "conftest" (tests/ is not a package) and may be the one that name resolves to when
# tests/cli is collected first, so it offers the same names.
_root = _root_conftest()
NOW = _root.NOW
FakeProcess = _root.FakeProcess


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """Runs ``python -m monitoring_cog`` against a config and database in ``tmp_path``."""
    return Cli(tmp_path)
