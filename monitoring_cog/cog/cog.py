"""``MonitoringCog``: what a bot owner installs with ``await bot.load_extension("monitoring_cog")``.

It composes the pieces: the :class:`~monitoring_cog.cog.auditing.CommandAuditor` (every command
audited through discord.py's hooks), the :class:`~monitoring_cog.vitals.gateway.GatewayMonitor`
(shards, guilds and members: ``report["gateway"]``, and the growth), a background health check
that alerts a channel when the overall status changes, a background prune of audit rows past
``retention.audit_days``, and the ``/health`` and ``/stats`` slash commands. Urgent happenings (a
shard down, a status change, a global rate limit, records dropped) are emitted on
:attr:`MonitoringCog.vital_events`; with ``[alerts] webhook_url`` set, a
:class:`~monitoring_cog.vitals.webhook.WebhookAlerts` posts them to a webhook.

The background loops are :class:`~monitoring_cog.collectors.periodic.PeriodicTask` schedules on the
event loop's monotonic clock, not ``discord.ext.tasks`` loops: those schedule by the wall clock,
which a system clock stepped back silences for as long, and stepped forward runs back to back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from ..collectors.cpu import SAMPLES_PER_WINDOW
from ..collectors.health import ProcessSampler
from ..collectors.health_reports import HealthReportWriter
from ..collectors.periodic import periodic
from ..collectors.statistics import PERIODS
from ..collectors.system import (
    MonitoringSystem,
    create_monitoring_system,
    peek_current_system,
    set_current_system,
)
from ..config import MonitoringConfig, load_config
from ..database import Database
from ..errors import DatabaseUnavailable
from ..vitals.drops import DropWatch
from ..vitals.error_kinds import ErrorKinds
from ..vitals.events import VitalEvents
from ..vitals.gateway import GatewayMonitor
from ..vitals.rate_limits import RateLimitMonitor
from ..vitals.stalls import StallMonitor
from ..vitals.status_change import status_change_event
from ..vitals.webhook import WebhookAlerts
from .alerts import AlertThrottle, StatusAlerter
from .auditing import CommandAuditor
from .embeds import alert_embed, health_embed, performance_embed, report_embed
from .error_replies import error_reply

if TYPE_CHECKING:
    from ..web.dashboard.server import DashboardServer
    from ..web.metrics_server import MetricsServer

__all__ = ("MonitoringCog", "setup")

_T = TypeVar("_T")

_log = logging.getLogger(__name__)

REGISTER_SLICE = 2_000
"""Guilds registered per turn of the event loop on READY: a bot in 150,000 guilds registers them
in 75 steps of about a millisecond each, rather than one that holds the loop for a tenth of a
second or more."""
_LOOPS_SHARE = 0.25
"""Part of ``recording.close_timeout`` that unloading waits for its background loops to stop."""
DROP_CHECK_INTERVAL = 5.0
"""Seconds between two looks at the recorder's drop count (an attribute read): records dropped
are alerted within this long."""
PRUNE_START_DELAY = 60.0
"""Seconds after the bot is ready before the first prune (or ``prune_interval`` if shorter):
start-up is busy enough, and a prune right at load would race whatever the bot does first."""


def _permission_check(setting: str) -> Callable[[_T], _T]:
    """An app command check enforcing the guild permission named by a ``[cog]`` setting."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        cog = getattr(interaction.command, "binding", None)
        permission = getattr(cog.config.cog, setting, "") if isinstance(cog, MonitoringCog) else ""
        if not permission:
            return True
        permissions = interaction.permissions
        if getattr(permissions, permission, False) or permissions.administrator:
            return True
        raise app_commands.MissingPermissions([permission])

    return app_commands.check(predicate)


@app_commands.check
async def _in_guild(interaction: discord.Interaction[Any]) -> bool:
    # guild_only is what Discord shows; this refuses a DM that gets through anyway.
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage("Server statistics are only available in a server.")
    return True


class MonitoringCog(commands.Cog, name="Monitoring"):
    """Audits every command, checks the bot's health, answers /health and /stats.

    Parameters
    ----------
    bot:
        The bot to monitor.
    config:
        The configuration; ``None`` reads it (``$MONITORING_CONFIG``, ``./config.toml``, defaults).
    db:
        A database to record into. By default the cog opens ``[database] path`` and closes it on
        unload; a database passed here is flushed on unload but left open for its owner.
    process:
        Process sampler for the health check (tests inject one); defaults to this process.
    """

    stats = app_commands.Group(
        name="stats", description="Usage statistics for this server", guild_only=True
    )

    def __init__(
        self,
        bot: commands.Bot,
        *,
        config: MonitoringConfig | None = None,
        db: Database | None = None,
        process: ProcessSampler | None = None,
    ) -> None:
        self.bot = bot
        self.config = config if config is not None else (db.config if db else load_config())
        self._owns_db = db is None
        self.db = db if db is not None else Database(config=self.config)
        self.system: MonitoringSystem = create_monitoring_system(
            self.db, process=process, make_current=False
        )
        self.auditor = CommandAuditor(bot, self.system)
        self.vital_events = VitalEvents(self.db.errors)
        """Where the bot's vitals emit what needs saying at once (the webhook alerts subscribe)."""
        self.gateway = GatewayMonitor(
            bot, self.config.gateway, db=self.db, events=self.vital_events
        )
        """The bot's shards and population: ``report["gateway"]``, the metrics, the growth."""
        self.error_kinds = ErrorKinds(self.vital_events)
        """Emits ``new_error`` for the first failure of each kind of error in an hour."""
        self.stall_monitor: StallMonitor | None = (
            StallMonitor(self.db, self.vital_events) if self.config.health.stall_monitor else None
        )
        """Watches the event loop for stalls from load to unload (``[health] stall_monitor``);
        its section is the health report's ``event_loop``."""
        self.alerter = StatusAlerter(recovery_checks=self.config.cog.alert_recovery_checks)
        self.alert_throttle = AlertThrottle(self.config.cog.alert_min_interval)
        self._previous_system: MonitoringSystem | None = None
        self._population_counted = False
        self.metrics_server: MetricsServer | None = None
        """The ``/metrics`` and ``/healthz`` endpoint while it runs (``[metrics] enabled``); when
        it shares the dashboard's host and port, the dashboard's server serves it."""
        self.dashboard: DashboardServer | None = None
        """The web dashboard while it runs (``[dashboard] enabled``)."""
        # Read now: a missing token fails at start-up, naming dashboard.token.
        self._dashboard_token = (
            self.config.dashboard.token_value() if self.config.dashboard.enabled else None
        )
        self.health_writer = HealthReportWriter(
            self.db,
            check_interval=self.config.health.check_interval,
            process_name=self.config.dashboard.process_name,
            shard_ids=self._shard_ids,
        )
        """Stores each background check's report as this process's row of ``health_reports``
        (the dashboard's list of processes, and what it shows run without the bot)."""
        self.rate_limits = RateLimitMonitor(
            events=self.vital_events,
            clock=self.db.clock,
            warning_hits=self.config.health.rate_limit_warning_hits,
        )
        """HTTP 429s from discord.py's logs: the health report's ``rate_limits``."""
        self.drop_watch = DropWatch(self.db.recorder, self.vital_events, self.db.clock)
        self.webhook: WebhookAlerts | None = None
        """The webhook alerts go to while loaded (``[alerts] webhook_url``), else ``None``."""
        # Read now (the environment variable may hold it): a bad URL fails before any hook is in.
        self._webhook_url = self.config.alerts.webhook_url_value()
        self._apply_permissions()

    def _apply_permissions(self) -> None:
        # What Discord shows (default permissions); the runtime checks enforce the same setting.
        for command, setting in (
            (self.health, self.config.cog.health_permission),
            (self.stats, self.config.cog.stats_permission),
        ):
            command.default_permissions = (
                discord.Permissions(**{setting: True}) if setting else None
            )

    # -- lifecycle ----------------------------------------------------------------------------

    async def cog_load(self) -> None:
        """Connect, hook in, start the loops.

        A database that cannot be opened now (a corrupt or unreadable file, a server down) does
        not take the bot down with it: the error is logged, naming it; records queue (bounded)
        and their writes are retried; ``/health`` reports the database unhealthy meanwhile. A
        schema newer than this code still fails the load.
        """
        # Hooked in first: records queue while the database opens, so a command that ends
        # meanwhile (one that reloads this extension, say) is not missed.
        self.auditor.install()
        self.gateway.install()
        self.gateway.attach(self.system.health_check)
        self.error_kinds.attach(self.db)
        self._start_stall_monitor()
        self._previous_system = peek_current_system()
        set_current_system(self.system)
        try:
            await self.db.connect()
        except DatabaseUnavailable as exc:
            _log.error(
                "monitoring: %s; the bot carries on, writes are retried and /health shows the "
                "database unhealthy until it can be opened",
                exc,
            )
        except BaseException:
            # The load fails (a schema newer than this code): leave the bot as it was.
            self.auditor.uninstall()
            self.gateway.uninstall()
            self.gateway.detach(self.system.health_check)
            self.error_kinds.detach()
            self._stop_stall_monitor()
            if peek_current_system() is self.system:
                set_current_system(self._previous_system)
            raise
        if self.bot.is_ready():  # Loaded after start-up: on_ready has been and gone.
            await self._register_all()
        self.rate_limits.attach()
        self.system.health_check.add_section("rate_limits", self.rate_limits)
        await self._start_webhook()
        self.drop_watch_loop.change_interval(seconds=DROP_CHECK_INTERVAL)
        self.drop_watch_loop.start()
        self.cpu_sample_loop.change_interval(
            seconds=self.config.health.cpu_window / SAMPLES_PER_WINDOW
        )
        self.cpu_sample_loop.start()
        self.health_loop.change_interval(seconds=self.config.health.check_interval)
        self.health_loop.start()
        self.population_loop.change_interval(seconds=self.config.gateway.population_interval)
        self.population_loop.start()
        if self.config.retention.audit_days > 0:  # 0 keeps audit rows forever.
            self.prune_loop.change_interval(seconds=self.config.retention.prune_interval)
            self.prune_loop.start()
        await self._start_http()
        _log.info("monitoring: loaded; recording into %s", self.db.path)

    async def cog_unload(self) -> None:
        """Unhook, stop the background loops, and write every queued record before returning.

        Returns within ``recording.close_timeout`` seconds whatever the database does (a bot
        stopping in a container has 10): records not written by then are saved to a spill file
        and written on the next start. A database passed in by its owner is flushed, not closed:
        what it cannot write in that time stays queued in it.
        """
        clock = asyncio.get_running_loop()
        limit = self.config.recording.close_timeout
        deadline = clock.time() + limit
        self.auditor.uninstall()
        self.rate_limits.detach()
        self.system.health_check.remove_section("rate_limits", self.rate_limits)
        self.gateway.uninstall()
        self.gateway.detach(self.system.health_check)
        self.error_kinds.detach()
        self._stop_stall_monitor()
        await self._stop_dashboard()
        await self._stop_metrics()
        # A prune cut short loses nothing: each batch is its own transaction. A health check
        # cut short may be waiting on the database: it gets a share of the time, no more, so
        # that the database's close keeps the most of it (what the check was writing is the
        # recorder's to store or spill).
        loops_done_by = clock.time() + limit * _LOOPS_SHARE
        loops = (
            self.health_loop,
            self.prune_loop,
            self.cpu_sample_loop,
            self.drop_watch_loop,
            self.population_loop,
        )
        for loop in loops:
            loop.cancel()
        for loop in loops:
            task = loop.get_task()
            if task is not None and not task.done():
                await asyncio.wait({task}, timeout=max(0.0, loops_done_by - clock.time()))
        if peek_current_system() is self.system:
            set_current_system(self._previous_system)
        # The last report's row: a share of the time, like the loops.
        await self.health_writer.close(within=max(0.0, loops_done_by - clock.time()))
        remaining = max(0.0, deadline - clock.time())
        # The webhook posts what it holds while the database closes, within the same deadline.
        webhook_closing = self._close_webhook(remaining)
        try:
            if self._owns_db:
                await self.db.close(within=remaining)
            else:
                await self._flush_for_owner(remaining)
        except Exception:
            _log.exception("monitoring: could not write queued records on unload")
        if webhook_closing is not None:
            await asyncio.wait({webhook_closing}, timeout=max(0.0, deadline - clock.time()))

    def _start_stall_monitor(self) -> None:
        monitor = self.stall_monitor
        if monitor is not None:
            monitor.start()
            self.system.health_check.add_section("event_loop", monitor)

    def _stop_stall_monitor(self) -> None:
        monitor = self.stall_monitor
        if monitor is not None:
            # The watchdog wakes at once when told to stop: this waits a few microseconds.
            monitor.stop()
            self.system.health_check.remove_section("event_loop", monitor)

    async def _flush_for_owner(self, within: float) -> None:
        flushing = asyncio.ensure_future(self.db.flush())
        await asyncio.wait({flushing}, timeout=within)
        if not flushing.done():
            # Not cancelled: a write in progress ends on its own; the records stay queued.
            flushing.add_done_callback(_retrieve)
            _log.warning(
                "monitoring: unloading without waiting for the database (%s): %d records stay"
                " queued in it for its owner to write or close",
                self.db.path,
                self.db.recorder.pending,
            )
            return
        flushing.result()

    async def _start_webhook(self) -> None:
        settings = self.config.alerts
        if not self._webhook_url:
            return
        webhook = WebhookAlerts(
            self._webhook_url,
            min_interval=settings.min_interval,
            timeout=settings.timeout,
            retries=settings.retries,
            queue_size=settings.queue_size,
            errors=self.db.errors,
        )
        await webhook.start()
        self.vital_events.subscribe(webhook)
        self.webhook = webhook

    def _close_webhook(self, within: float) -> asyncio.Future[None] | None:
        webhook, self.webhook = self.webhook, None
        if webhook is None:
            return None
        self.vital_events.unsubscribe(webhook)
        return asyncio.ensure_future(webhook.close(within=within))

    def _shard_ids(self) -> list[int]:
        """The shard ids this process runs (none known before it connects)."""
        bot: Any = self.bot
        ids = getattr(bot, "shard_ids", None)
        if ids is None and isinstance(bot, commands.AutoShardedBot):
            ids = list(bot.shards)
        if ids is None:
            ids = [bot.shard_id] if bot.shard_id is not None else []
        return [int(shard) for shard in ids]

    async def _start_http(self) -> None:
        metrics, dashboard = self.config.metrics, self.config.dashboard
        shared = (
            metrics.enabled
            and dashboard.enabled
            and (metrics.host, metrics.port) == (dashboard.host, dashboard.port)
            and metrics.port != 0
        )
        if metrics.enabled and not shared:
            await self._start_metrics()
        if dashboard.enabled:
            await self._start_dashboard(with_metrics=shared)

    def _new_metrics_server(self) -> MetricsServer:
        # Imported here: prometheus_client is only loaded when the endpoint is on.
        from ..web.metrics_server import MetricsServer

        settings = self.config.metrics
        return MetricsServer(
            self.system,
            settings.host,
            settings.port,
            rate_limits=self.rate_limits,
            webhook=self.webhook,
            gateway=self.gateway,
        )

    async def _start_dashboard(self, *, with_metrics: bool) -> None:
        # Imported here: the dashboard's modules load only when it is on.
        from ..web.dashboard.server import DashboardServer

        settings = self.config.dashboard
        metrics = self._new_metrics_server() if with_metrics else None
        assert self._dashboard_token is not None
        server = DashboardServer(
            self.db,
            settings,
            health=self.system.health_check,
            writer=self.health_writer,
            token=self._dashboard_token,
            public_routes=metrics.add_routes if metrics is not None else None,
        )
        try:
            await server.start()
        except OSError as exc:
            # Monitoring never stops the bot: without its dashboard, it still records everything.
            _log.error(
                "monitoring: the dashboard cannot listen on %s:%s (%s); the bot runs on without "
                "it. Free the port or change [dashboard] port.",
                settings.host,
                settings.port,
                exc.strerror or exc,
            )
            return
        self.dashboard = server

    async def _stop_dashboard(self) -> None:
        server, self.dashboard = self.dashboard, None
        if server is not None:
            try:
                await server.stop()
            except Exception:
                _log.exception("monitoring: could not stop the dashboard cleanly")

    async def _start_metrics(self) -> None:
        settings = self.config.metrics
        server = self._new_metrics_server()
        try:
            await server.start()
        except OSError as exc:
            # Monitoring never stops the bot: without its endpoint, it still records everything.
            _log.error(
                "monitoring: the metrics endpoint cannot listen on %s:%s (%s); the bot runs on "
                "without /metrics and /healthz. Free the port or change [metrics] port.",
                settings.host,
                settings.port,
                exc.strerror or exc,
            )
            return
        self.metrics_server = server

    async def _stop_metrics(self) -> None:
        server, self.metrics_server = self.metrics_server, None
        if server is not None:
            try:
                await server.stop()
            except Exception:
                _log.exception("monitoring: could not stop the metrics endpoint cleanly")

    # -- listeners ----------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self._register_all()

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        self._register(guild)

    @commands.Cog.listener()
    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        if before.name != after.name:
            self._register(after)

    def _register(self, guild: discord.Guild) -> None:
        self.db.register_guild(str(guild.id), guild.name)

    async def _register_all(self) -> None:
        """Register every guild the bot is in, ``REGISTER_SLICE`` per turn of the event loop."""
        guilds = self.bot.guilds
        at = self.db.clock.time()
        for start in range(0, len(guilds), REGISTER_SLICE):
            if start:
                await asyncio.sleep(0)  # Commands arriving meanwhile run between the slices.
            chunk = guilds[start : start + REGISTER_SLICE]
            self.db.register_guilds(((str(guild.id), guild.name) for guild in chunk), at)

    # -- background health checks -------------------------------------------------------------

    @periodic(seconds=300)
    async def health_loop(self) -> None:
        """Run the full health check; post an alert when the overall status changes.

        Alerts go out at most once per ``cog.alert_min_interval``; a change within it is logged
        and held, and the latest status is posted at the first check after it. Each alert posted
        is also emitted as a ``"status_change"`` vital event (the webhook's).
        """
        report = await self.system.health_check.get_full_health_report()
        self.health_writer.submit(report)  # Written in the background: the loop goes on.
        change = self.alerter.observe(str(report.get("overall_status", "unhealthy")))
        if change is not None:
            log = _log.warning if change.current != "healthy" else _log.info
            log("monitoring: health changed from %s to %s", change.previous, change.current)
        throttle = self.alert_throttle
        now = self.db.clock.monotonic()
        alert = throttle.offer(change, now)
        if alert is not None:
            self.vital_events.emit(
                status_change_event(
                    alert.previous,
                    alert.current,
                    report,
                    changes=alert.changes,
                    path=alert.path,
                    at=self.db.clock.time(),
                )
            )
            embed = alert_embed(
                alert.previous, alert.current, report, changes=alert.changes, path=alert.path
            )
            await self._send_alert(embed)
        elif change is not None:
            allowed = throttle.next_allowed()
            if allowed is not None and now < allowed:
                _log.info(
                    "monitoring: alert held back (%d change(s) since the last one, at most one "
                    "alert per %g s: cog.alert_min_interval); the latest status goes out at the "
                    "first check in %.0f s or later",
                    throttle.held,
                    throttle.min_interval,
                    allowed - now,
                )
            else:
                _log.info(
                    "monitoring: health is back to %s, the status last alerted; no alert",
                    throttle.posted,
                )

    @health_loop.before_loop
    async def _before_health_loop(self) -> None:
        await self.bot.wait_until_ready()

    async def _send_alert(self, embed: discord.Embed) -> None:
        channel_id = self.config.cog.alert_channel_id
        if not channel_id:
            return
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            _log.warning("monitoring: alert channel %s not found or not a text channel", channel_id)
            return
        try:
            await channel.send(embed=embed)
        except discord.HTTPException:
            _log.exception("monitoring: could not post the health alert to %s", channel_id)

    # -- background pruning of the audit log ---------------------------------------------------

    @periodic(seconds=3600)
    async def prune_loop(self) -> None:
        """Delete audit rows older than ``retention.audit_days`` (rollups, so reports, stay).

        Rows go in batches of 5000, each a short transaction on the database's worker thread
        with a turn of the event loop between them (:meth:`CommandLogger.clear_old_logs`).
        """
        days = self.config.retention.audit_days
        if days > 0:
            await self.system.cmd_logger.clear_old_logs(days)

    @prune_loop.before_loop
    async def _before_prune_loop(self) -> None:
        await self.bot.wait_until_ready()
        await asyncio.sleep(min(PRUNE_START_DELAY, self.config.retention.prune_interval))

    # -- records dropped, alerted at once ------------------------------------------------------

    @periodic(seconds=DROP_CHECK_INTERVAL)
    async def drop_watch_loop(self) -> None:
        """Emit ``"records_dropped"`` when the recorder dropped records since the last look.

        Runs every :data:`DROP_CHECK_INTERVAL` seconds from load on, ready or not: an attribute
        read, off the command's path.
        """
        self.drop_watch.check()

    # -- the bot's population -----------------------------------------------------------------

    @periodic(seconds=300)
    async def population_loop(self) -> None:
        """Count the bot's guilds and members (a slice per event-loop turn) for ``/health`` and
        the metrics, every ``gateway.population_interval`` seconds once the bot is ready, and
        record them as the day's snapshot.

        The first count, as the bot becomes ready, is not recorded: the day keeps the figures
        of a bot that has been up a while, and a bot restarting in a loop adds no rows for it.
        """
        first, self._population_counted = not self._population_counted, True
        await self.gateway.refresh(record=not first)

    @population_loop.before_loop
    async def _before_population_loop(self) -> None:
        await self.bot.wait_until_ready()

    # -- CPU samples for the health check's window ---------------------------------------------

    @periodic(seconds=10)
    async def cpu_sample_loop(self) -> None:
        """Sample this process's CPU, so that checks read it over ``health.cpu_window``.

        Runs every sixth of the window from load on, ready or not. A reading is judged only
        once it covers a whole window, in which the start-up weighs no more than its share.
        """
        self.system.health_check.cpu.sample()

    # -- slash commands -----------------------------------------------------------------------

    async def cog_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """Answer a refused or failed ``/health`` or ``/stats`` privately, saying why.

        The failure is still recorded (by the tree's error handler, which runs after this) and
        still reaches the bot's own error handling.
        """
        command = interaction.command
        name = command.qualified_name if command is not None else "command"
        text = error_reply(name, error)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as exc:
            _log.warning("monitoring: could not tell the member why /%s failed: %s", name, exc)

    async def _respond(self, interaction: discord.Interaction[Any], embed: discord.Embed) -> None:
        await interaction.followup.send(embed=embed, ephemeral=self.config.cog.ephemeral)

    async def _defer(self, interaction: discord.Interaction[Any]) -> None:
        # Reports flush pending records first; defer so a slow flush never misses the 3 s window.
        await interaction.response.defer(ephemeral=self.config.cog.ephemeral, thinking=True)

    @app_commands.command(name="health")
    @_permission_check("health_permission")
    async def health(self, interaction: discord.Interaction[Any]) -> None:
        """Show the bot's health: memory, CPU, database, error rate, recording."""
        await self._defer(interaction)
        report = await self.system.health_check.get_full_health_report()
        await self._respond(interaction, health_embed(report))

    async def _report(self, interaction: discord.Interaction[Any], period: str) -> None:
        await self._defer(interaction)
        report = await self.system.stats_collector.fetch_report(
            str(interaction.guild_id), PERIODS[period], period
        )
        name = interaction.guild.name if interaction.guild else None
        await self._respond(interaction, report_embed(report, name))

    @stats.command(name="weekly")
    @_permission_check("stats_permission")
    @_in_guild  # Innermost, so it runs first: a DM is refused as a DM.
    async def stats_weekly(self, interaction: discord.Interaction[Any]) -> None:
        """This server's statistics for the last 7 days."""
        await self._report(interaction, "weekly")

    @stats.command(name="monthly")
    @_permission_check("stats_permission")
    @_in_guild
    async def stats_monthly(self, interaction: discord.Interaction[Any]) -> None:
        """This server's statistics for the last 30 days."""
        await self._report(interaction, "monthly")

    @stats.command(name="performance")
    @app_commands.describe(days="How many days to cover (1 to 90)")
    @_permission_check("stats_permission")
    @_in_guild
    async def stats_performance(
        self, interaction: discord.Interaction[Any], days: app_commands.Range[int, 1, 90] = 7
    ) -> None:
        """Per command: runs, p50/p95/p99 latency and error rate, slowest first."""
        await self._defer(interaction)
        stats = await self.system.perf_monitor.fetch_performance_stats(
            str(interaction.guild_id), days
        )
        await self._respond(interaction, performance_embed(stats))


def _retrieve(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.warning("monitoring: a write left running on unload failed: %s", task.exception())


async def setup(bot: commands.Bot) -> None:
    """Extension entry point: ``await bot.load_extension("monitoring_cog")``."""
    await bot.add_cog(MonitoringCog(bot))
