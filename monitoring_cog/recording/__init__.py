"""What travels from a hook to the database.

A record (:mod:`.records`) is built on the command's path after its input is cleaned
(:mod:`.normalize`) and put in the bounded buffer of the :class:`~.pipeline.Recorder`; the writer
takes it from there: privacy rules (:mod:`.privacy`), parameters as JSON (:mod:`.parameters`), the
rollup increments of a batch (:mod:`.rollups`), values a database refused (:mod:`.repair`), the
per-batch counters the metrics read (:mod:`.metric_totals`). At close, what could not be written
goes to a spill file (:mod:`.spill`), replayed on the next start (:mod:`.replay`); a process that
never closes is let go at exit (:mod:`.exit_guard`).
"""
