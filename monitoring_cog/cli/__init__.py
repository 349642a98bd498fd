"""The ``monitoring-cog`` command line: the demo and the operator's commands.

Run it as ``monitoring-cog COMMAND`` (the console script) or ``python -m monitoring_cog COMMAND``;
``--help`` lists the commands.
"""

from __future__ import annotations

from .app import cli, main

__all__ = ("cli", "main")
