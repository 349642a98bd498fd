"""``python -m monitoring_cog``: the command line (see :mod:`monitoring_cog.cli`)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
