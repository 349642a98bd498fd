"""How the command line fails: one line on stderr and an exit code that says whose fault it is.

Exit codes:

- ``0``: done (``health``: the bot is healthy or degraded).
- ``1``: the operation failed while running (a database error mid-way, Discord unreachable), or
  ``health`` found the bot unhealthy.
- ``2``: the request cannot be carried out as given: a bad option or argument, a bad config file,
  a missing, corrupt or too new database, a missing token. Fix the command or the setup and retry.
"""

from __future__ import annotations

import click

__all__ = ("EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "OperationFailed", "UserError")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UserError(click.ClickException):
    """The command, its config or its database is not usable as given (exit code 2)."""

    exit_code = EXIT_USAGE


class OperationFailed(click.ClickException):
    """The operation started but could not finish (exit code 1)."""

    exit_code = EXIT_FAILED
