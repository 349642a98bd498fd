"""The ``monitoring-cog`` command line (also ``python -m monitoring_cog``).

Commands: ``demo`` (a simulated month, no Discord token needed), the operator's ``report``,
``health``, ``prune``, ``forget-user``, ``export`` and ``migrate``, ``dashboard`` (the web
dashboard on the database alone), and ``run`` (a minimal bot hosting the cog). All of them read
the config file the bot reads.

:func:`main` is the entry point: it runs the command and turns every user error (bad option, bad
config, unusable database) into one line on stderr and exit code 2, never a traceback (see
:mod:`.errors` for the codes).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..clock import ManualClock
from ..errors import MonitoringError
from .console import err_console, out_console, progress_bar
from .errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, OperationFailed, UserError
from .state import CliState

__all__ = ("PROG_NAME", "cli", "main")

_log = logging.getLogger(__name__)

PROG_NAME = "monitoring-cog"
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


def _utc(value: datetime | None) -> datetime | None:
    """A date given on the command line, read as UTC (the library counts UTC days)."""
    return value.replace(tzinfo=UTC) if value is not None else None


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


class _LazyProgress(contextlib.ExitStack):
    """Opens a progress bar once the operation knows its total: ``start(total) -> advance``."""

    def __init__(self, description: str) -> None:
        super().__init__()
        self.description = description

    def start(self, total: int | None) -> Callable[[int], None]:
        return self.enter_context(progress_bar(self.description, total))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $MONITORING_CONFIG, else ./config.toml, else the defaults).",
)
@click.option("-v", "--verbose", count=True, help="Log more (-vv: with tracebacks).")
@click.version_option(__version__, prog_name=PROG_NAME)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """Monitoring for discord.py bots: try the demo, read reports, look after the database."""
    ctx.obj = CliState(config_path=config_path, verbose=verbose)
    _configure_logging(verbose)


@cli.command()
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the simulation.")
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file to create (must not exist; default: a new temporary folder).",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of the simulated month, UTC (default: today).",
)
@click.option(
    "--dashboard",
    "with_dashboard",
    is_flag=True,
    help="Then serve the month in the web dashboard (prints the address to open).",
)
@click.option("--host", help="Dashboard address (default: [dashboard] host).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Dashboard port (default: [dashboard] port)."
)
@click.pass_obj
def demo(
    state: CliState,
    seed: int,
    database: Path | None,
    today: datetime | None,
    with_dashboard: bool,
    host: str | None,
    port: int | None,
) -> None:
    """Simulate a month of a music bot in several servers, then show its reports.

    A real discord.py bot with the monitoring cog runs prefix, hybrid and slash commands through
    discord.py's own dispatch, with no connection to Discord and no token. Then what /health,
    /stats weekly, /stats monthly and /stats performance would show is printed here. With
    --dashboard, the month is then served in the web dashboard until Ctrl-C.
    """
    from .demo import DEMO_DAYS, default_database, run_demo
    from .demo_report import demo_footer, render_demo, write_demo_config

    # Looked for, not imported: offline.py imports dpytest (which plays Discord's part) itself.
    if importlib.util.find_spec("discord.ext.test") is None:
        raise UserError(
            "the demo needs dpytest, which the demo extra installs: "
            "pip install 'monitoring_cog[demo]'"
        )
    path = database if database is not None else default_database()
    if path.exists():
        raise UserError(f"{path}: already exists; the demo records into a new file")
    started = time.perf_counter()
    with _LazyProgress("Simulating a month") as bar:
        result = _run(
            run_demo(
                path,
                seed=seed,
                today=today.date() if today is not None else None,
                progress=bar.start,
                quiet_logs=state.verbose == 0,
            )
        )
    elapsed = time.perf_counter() - started
    config_file = write_demo_config(path) if database is None else None
    out_console().print(render_demo(result, DEMO_DAYS, elapsed))
    click.echo(demo_footer(result, config_file))
    if with_dashboard:
        from ..database import Database

        config = state.config()
        demo_db = Database(path, config=config)
        _serve_dashboard(demo_db, config, host, port)


def _serve_dashboard(db: Any, config: Any, host: str | None, port: int | None) -> None:
    """Serve the dashboard on ``db`` until Ctrl-C, printing the address to open."""
    from .dashboard import dashboard_token, serve_dashboard

    token, generated = dashboard_token(config)

    def announce(server: Any) -> None:
        click.echo("")
        click.echo(f"Dashboard: {server.login_url}")
        if generated:
            click.echo("(a token made for this run; set $MONITORING_DASHBOARD_TOKEN to choose one)")
        click.echo("Serving until Ctrl-C.", nl=True)
        sys.stdout.flush()

    with contextlib.suppress(KeyboardInterrupt):
        _run(serve_dashboard(db, config, token=token, host=host, port=port, announce=announce))


@cli.command()
@click.option("--host", help="Address to listen on (default: [dashboard] host).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (default: [dashboard] port; 0: any)."
)
@click.pass_obj
def dashboard(state: CliState, host: str | None, port: int | None) -> None:
    """Serve the web dashboard from the configured database (no bot needed).

    Shows the health reports the bot's processes stored, and every page and API call of the
    dashboard. The token is $MONITORING_DASHBOARD_TOKEN or [dashboard] token, else a random one
    for this run; the address to open, token included, is printed.
    """
    config = state.config()
    _serve_dashboard(state.existing_database(config), config, host, port)


@cli.command()
@click.option("--guild", "guild_id", help="The guild (server) id.")
@click.option(
    "--bot",
    "whole_bot",
    is_flag=True,
    help="Every server together, and the bot's growth (guilds joined and left, counts).",
)
@click.option(
    "--period",
    type=click.Choice(["weekly", "monthly"]),
    default="weekly",
    show_default=True,
    help="The 7 or 30 UTC days ending on the --as-of day.",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of the period, UTC (default: today).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_obj
def report(
    state: CliState,
    guild_id: str | None,
    whole_bot: bool,
    period: str,
    as_of: datetime | None,
    as_json: bool,
) -> None:
    """A server's statistics and command performance, as /stats shows them; or, with --bot,
    the whole bot's, with its growth."""
    from .operations import gather_bot_report, gather_report
    from .render import render_growth, render_performance, render_report

    if (guild_id is None) == (not whole_bot):
        raise click.UsageError("give either --guild ID or --bot")
    clock = None
    if as_of is not None:
        # Noon of the day, so the report's "today" is that UTC day whatever the rounding.
        clock = ManualClock(as_of.replace(tzinfo=UTC, hour=12))
    if guild_id is None:
        data = _run(gather_bot_report(state, period, clock))
        title = "all servers"
    else:
        data = _run(gather_report(state, guild_id, period, clock))
        title = data["guild_name"] or data["guild_id"]
    if as_json:
        _print_json(data)
        return
    console = out_console()
    console.print(render_report(data["report"], title))
    console.print(render_performance(data["performance"]))
    if "growth" in data:
        console.print(render_growth(data["growth"]))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def health(ctx: click.Context, as_json: bool) -> None:
    """The database's health and the bot's recent error rate (exit code 1 when unhealthy)."""
    from .operations import gather_health
    from .render import render_health

    data = _run(gather_health(ctx.obj))
    if as_json:
        _print_json(data)
    else:
        out_console().print(render_health(data))
    if data["overall_status"] == "unhealthy":
        ctx.exit(EXIT_FAILED)


@cli.command()
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(min=0),
    help="Age in days past which audit rows go (default: [retention] audit_days).",
)
@click.option("--dry-run", is_flag=True, help="Count the rows that would go; delete nothing.")
@click.pass_obj
def prune(state: CliState, older_than: int | None, dry_run: bool) -> None:
    """Delete old audit rows; the statistics and performance figures stay."""
    from .operations import prune as run_prune

    with _LazyProgress("Deleting audit rows") as bar:
        days, count = _run(run_prune(state, older_than, dry_run=dry_run, progress=bar.start))
    if dry_run:
        click.echo(f"{count} audit rows are older than {days} days (dry run: nothing deleted).")
    else:
        click.echo(
            f"Deleted {count} audit rows older than {days} days; reports keep their figures."
        )


@cli.command(name="forget-user")
@click.argument("user_id")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def forget_user(state: CliState, user_id: str, as_json: bool) -> None:
    """Erase a user's audit rows and per-user data; aggregate counts stay."""
    from .operations import forget_user as run_forget

    if not user_id.strip():
        raise click.BadParameter("must not be empty", param_hint="USER_ID")
    deleted = _run(run_forget(state, user_id))
    if as_json:
        _print_json({"user_id": user_id.strip(), "deleted": deleted})
        return
    click.echo(
        f"Forgot user {user_id.strip()}: deleted {deleted['audit_logs']} audit rows and "
        f"{deleted['daily_users']} daily activity rows; aggregate counts are kept."
    )


@cli.command()
@click.option(
    "--format",
    "format_name",
    type=click.Choice(["csv", "json"]),
    required=True,
    help="CSV with a header, or a JSON array.",
)
@click.option(
    "--since",
    type=click.DateTime(formats=list(_DATE_FORMATS)),
    help="Only rows from this UTC date (or date and time) on.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: stdout).",
)
@click.pass_obj
def export(state: CliState, format_name: str, since: datetime | None, output: Path | None) -> None:
    """Stream the audit log, oldest first, as CSV or JSON."""
    from .operations import export_audit_logs

    if output is None:
        with _LazyProgress("Exporting audit rows") as bar:
            _run(
                export_audit_logs(
                    state, format_name, sys.stdout, since=_utc(since), progress=bar.start
                )
            )
        return
    try:
        stream = output.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise UserError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    with stream, _LazyProgress("Exporting audit rows") as bar:
        rows = _run(
            export_audit_logs(state, format_name, stream, since=_utc(since), progress=bar.start)
        )
    err_console().print(f"Wrote {rows} audit rows to {output}")


@cli.command()
@click.pass_obj
def migrate(state: CliState) -> None:
    """Create the database if needed and bring its schema up to date."""
    from .operations import migrate as run_migrate

    path, version, created = _run(run_migrate(state))
    if created:
        click.echo(f"Created {path} at schema version {version}.")
    else:
        click.echo(f"{path} is at schema version {version} (the latest).")


@cli.command()
@click.option("--sync", is_flag=True, help="Publish the slash commands to Discord after login.")
@click.option("--prefix", default="!", show_default=True, help="Prefix of text commands.")
@click.option(
    "--message-content/--no-message-content",
    default=True,
    show_default=True,
    help="Ask for the privileged Message Content intent (prefix commands need it).",
)
@click.pass_obj
def run(state: CliState, sync: bool, prefix: str, message_content: bool) -> None:
    """Run a minimal bot that hosts the cog (token from $DISCORD_TOKEN)."""
    from .host import HostBot, read_token, run_host

    token = read_token()
    config = state.config()
    if state.verbose == 0:
        logging.getLogger().setLevel(logging.INFO)
    bot = HostBot(config, prefix=prefix, sync=sync, message_content=message_content)
    try:
        _run(run_host(bot, token))
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)


class _BriefFormatter(logging.Formatter):
    """One line per record: a traceback belongs in -vv, not in an operator's terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{PROG_NAME}: {record.levelname.lower()}: {record.getMessage()}"


def _configure_logging(verbose: int) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_monitoring_cli", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._monitoring_cli = True  # type: ignore[attr-defined]
    if verbose >= 2:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(_BriefFormatter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 done, 1 failed, 2 usage error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing, since a failure may come before the group's options are read.
    verbose = any(re.fullmatch(r"-v+|--verbose", arg) for arg in args)
    try:
        result = cli.main(args=args, prog_name=PROG_NAME, standalone_mode=False)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else PROG_NAME
        _error(f"{where}: error: {_one_line(exc.format_message())} (see '{where} --help')")
        return EXIT_USAGE
    except (UserError, OperationFailed) as exc:
        _error(f"{PROG_NAME}: error: {_one_line(exc.format_message())}")
        return exc.exit_code
    except click.ClickException as exc:
        _error(f"{PROG_NAME}: error: {_one_line(exc.format_message())}")
        return exc.exit_code
    except MonitoringError as exc:
        # ConfigError, DatabaseUnavailable, SchemaError: each names the file and what is wrong.
        _error(f"{PROG_NAME}: error: {_one_line(str(exc))}")
        return EXIT_USAGE
    except click.exceptions.Abort:
        _error(f"{PROG_NAME}: aborted")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _error(f"{PROG_NAME}: interrupted")
        return 130
    except Exception as exc:
        if verbose:
            raise
        _error(
            f"{PROG_NAME}: error: unexpected {type(exc).__name__}: {_one_line(str(exc))} "
            "(run with -v for the traceback)"
        )
        return EXIT_FAILED
    return result if isinstance(result, int) else EXIT_OK


def _error(line: str) -> None:
    click.echo(line, err=True)
