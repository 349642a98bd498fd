"""The library API of the quick reference: the classes bot code calls directly.

:class:`~.command_logger.CommandLogger`, :class:`~.performance.PerformanceMonitor`,
:class:`~.statistics.StatisticsCollector` and :class:`~.health.HealthCheck`, built together by
:func:`~.system.create_monitoring_system`; the helpers that need no set-up (:mod:`.helpers`),
:func:`~.safe.safe_execute`, and the schedules that run beside them (:mod:`.periodic`,
:mod:`.retention`). Everything public here is re-exported by ``monitoring_cog``.
"""
