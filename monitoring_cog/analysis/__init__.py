"""Pure maths from rollup rows to the figures reports show.

Latency buckets and percentiles (:mod:`.latency`), the packed histograms SQLite sums them with
(:mod:`.packed_histogram`), the day and command totals the backends read (:mod:`.totals`) and the
weekly and monthly report dicts built from them (:mod:`.reports`). No I/O, no discord.py, nothing
from the layers above: the import-linter contract in ``pyproject.toml`` keeps it so.
"""
