"""The built wheel works on its own: it carries the SQL migrations and ``py.typed``, installs into
a fresh virtual environment, and can create, migrate, write and read a database there: a SQLite
file, and a PostgreSQL database (whose migrations ship in the same folder).

The install test runs from a folder outside the repository with the new environment's Python and
checks that ``monitoring_cog`` is imported from that environment, not from the source tree (whose
top-level ``migrations/`` folder would otherwise hide a wheel that lacks them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from monitoring_cog.storage.migrations import latest_version

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DIALECTS = ("sqlite", "postgresql")
TIMEOUT = 300.0
"""Seconds each subprocess (build, venv, pip install, the script) may take."""

SCRIPT = """\
import asyncio
import sys
from pathlib import Path

import monitoring_cog
from monitoring_cog import Database, MonitoringConfig, create_monitoring_system
from monitoring_cog.storage.migrations import _folder

venv = Path(sys.argv[1]).resolve()
package = Path(monitoring_cog.__file__).resolve()
assert venv in package.parents, f"imported from {package}, not from {venv}"
migrations = Path(str(_folder(sys.argv[3]))).resolve()
assert venv in migrations.parents, f"migrations read from {migrations}"


async def main() -> None:
    db = Database(sys.argv[2], config=MonitoringConfig())
    cmd_logger, *_ = create_monitoring_system(db, make_current=False)
    queued = await cmd_logger.log_command(1, "Guild", 2, "alice", "play", {"song": "x"}, 0.25)
    rows = await cmd_logger.get_recent_commands()
    version = await db.migrate()
    await db.close()
    print(f"queued={queued}")
    print(f"rows={[(r['command'], r['user_id'], r['parameters']) for r in rows]}")
    print(f"schema_version={version}")


asyncio.run(main())
"""


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``command``; fail the test with its output if it fails or times out."""
    argv = [str(part) for part in command]
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{argv} timed out after {TIMEOUT}s\n"
            f"stdout:\n{_text(exc.stdout)}\nstderr:\n{_text(exc.stderr)}"
        )
    if done.returncode != 0:
        pytest.fail(
            f"{argv} exited with {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return done.stdout


def _text(output: str | bytes | None) -> str:
    """Captured output as text (a timed-out run hands it over as bytes)."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def clean_env() -> dict[str, str]:
    """This process's environment without anything that points Python at the source tree."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MONITORING_CONFIG"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--wheel", "--outdir", outdir, REPO, cwd=REPO)
    built = sorted(outdir.glob("monitoring_cog-*.whl"))
    assert len(built) == 1, f"expected one wheel in {outdir}, found {built}"
    return built[0]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_wheel_carries_migrations_and_type_marker(wheel: Path, dialect: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped_sql = archive.read(f"monitoring_cog/migrations/{dialect}/0001_initial.sql")

    assert f"monitoring_cog/migrations/{dialect}/0001_initial.sql" in names
    assert "monitoring_cog/py.typed" in names
    assert shipped_sql == (REPO / "migrations" / dialect / "0001_initial.sql").read_bytes()
    sql_files = {n for n in names if n.startswith(f"monitoring_cog/migrations/{dialect}/")}
    assert sql_files == {
        f"monitoring_cog/migrations/{dialect}/{p.name}"
        for p in (REPO / "migrations" / dialect).glob("*.sql")
    }


def test_wheel_carries_the_dashboard_pages(wheel: Path) -> None:
    """Every file of the dashboard's static folder (pages, scripts, styles, the vendored chart
    library and its licence) is in the wheel, byte for byte."""
    static = REPO / "monitoring_cog" / "web" / "dashboard" / "static"
    files = sorted(p for p in static.rglob("*") if p.is_file())
    assert static / "vendor" / "chartjs" / "LICENSE.md" in files
    assert static / "overview.html" in files
    with zipfile.ZipFile(wheel) as archive:
        for path in files:
            name = path.relative_to(REPO).as_posix()
            assert archive.read(name) == path.read_bytes(), name


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A new venv with only the wheel (and its dependencies) installed: its folder, its python
    and the script above in a folder away from the source tree."""
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    script = elsewhere / "use_it.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = clean_env()
    run(sys.executable, "-m", "venv", venv, cwd=root, env=env)
    run(
        venv / "bin" / "python", "-m", "pip", "install", "--no-input", wheel, cwd=elsewhere, env=env
    )
    return venv, venv / "bin" / "python", script


def test_installed_wheel_records_and_reads_back(installed: tuple[Path, Path, Path]) -> None:
    venv, python, script = installed
    elsewhere = script.parent
    output = run(
        python,
        script,
        venv,
        elsewhere / "data" / "bot.db",
        "sqlite",
        cwd=elsewhere,
        env=clean_env(),
    )

    assert output.splitlines() == [
        "queued=True",
        "rows=[('play', '2', {'song': 'x'})]",
        f"schema_version={latest_version('sqlite')}",
    ], textwrap.indent(output, "  ")
    assert (elsewhere / "data" / "bot.db").is_file()


def test_installed_wheel_migrates_a_postgresql_database(
    installed: tuple[Path, Path, Path], fresh_database: str
) -> None:
    venv, python, script = installed
    output = run(
        python, script, venv, fresh_database, "postgresql", cwd=script.parent, env=clean_env()
    )

    assert output.splitlines() == [
        "queued=True",
        "rows=[('play', '2', {'song': 'x'})]",
        f"schema_version={latest_version('postgresql')}",
    ], textwrap.indent(output, "  ")
