"""Typed, frozen configuration read from a TOML file.

Every key, its default and its meaning is documented in ``config.example.toml``. An unknown key, a
value of the wrong type or out of range raises :class:`~monitoring_cog.errors.ConfigError` naming
the file, the key and what was expected, so a bad config fails at start-up, not in the middle of a
command.

Where the file comes from (:func:`resolve_config_path`): the environment variable
``MONITORING_CONFIG`` names it; without it ``./config.toml`` is used if present; else defaults.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError

__all__ = (
    "CONFIG_ENV_VAR",
    "TRACEBACK_MODES",
    "AlertsConfig",
    "CogConfig",
    "DashboardConfig",
    "DatabaseConfig",
    "GatewayConfig",
    "HealthConfig",
    "MetricsConfig",
    "MonitoringConfig",
    "PrivacyConfig",
    "RecordingConfig",
    "RetentionConfig",
    "ThresholdsConfig",
    "load_config",
    "resolve_config_path",
)

CONFIG_ENV_VAR = "MONITORING_CONFIG"
DEFAULT_CONFIG_FILE = "config.toml"


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """``[database]``: where records are stored."""

    url: str = field(default="", repr=False)
    """A ``postgresql://`` (or ``postgres://``) URL selects PostgreSQL; "" the SQLite ``path``.
    Left out of ``repr``: it may hold a password."""
    path: str = "data/monitoring.db"
    """SQLite file; missing parent folders are created. Unused when ``url`` is set."""
    busy_timeout_ms: int = 5000
    """How long a write waits for a lock held by another connection before failing (and being
    retried): SQLite's busy timeout, PostgreSQL's ``lock_timeout``."""
    pool_min_size: int = 1
    """PostgreSQL: connections the pool keeps open."""
    pool_max_size: int = 5
    """PostgreSQL: connections the pool opens at most."""

    def __post_init__(self) -> None:
        if self.url:
            # Imported here: only a config that names a URL needs it (it imports nothing else).
            from .urls import is_postgres_url, redact_url

            if not is_postgres_url(self.url):
                # The URL may hold a password: the message shows it redacted.
                raise ConfigError(
                    'database.url: expected "" (SQLite at database.path) or a postgresql:// or'
                    f" postgres:// URL, got {redact_url(self.url)!r}"
                )
        _require(self.path.strip() != "", "database.path", "a non-empty file path", self.path)
        _require(
            self.busy_timeout_ms >= 0,
            "database.busy_timeout_ms",
            "an integer >= 0",
            self.busy_timeout_ms,
        )
        _require(
            self.pool_min_size >= 0, "database.pool_min_size", "an integer >= 0", self.pool_min_size
        )
        _require(
            self.pool_max_size >= max(1, self.pool_min_size),
            "database.pool_max_size",
            f"an integer >= 1 and >= database.pool_min_size ({self.pool_min_size})",
            self.pool_max_size,
        )


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    """``[recording]``: the in-memory buffer and the writer that flushes it."""

    flush_interval: float = 1.0
    """Seconds between flushes of the buffer to the database."""
    batch_size: int = 1000
    """Records written per transaction; a full batch is flushed without waiting for the interval.
    While more than a batch is queued (a backlog), the writer takes up to three batches' worth into
    one transaction, so it catches up faster."""
    max_queue: int = 100_000
    """Records held in memory at most; past it new records are dropped and counted."""
    retry_backoff_max: float = 30.0
    """Longest wait, in seconds, between retries of a failed write."""
    close_timeout: float = 8.0
    """Seconds closing (unloading the extension, ``bot.close()``, ``db.close()``) takes at most,
    whatever the database does; what is still unwritten then goes to a spill file, written to the
    database on the next start. Under the 10 seconds a container is given to stop."""
    spill_dir: str = ""
    """Folder of the spill files; "" keeps them beside the SQLite file (with PostgreSQL, in the
    folder of ``database.path``)."""

    def __post_init__(self) -> None:
        _require(
            self.flush_interval > 0, "recording.flush_interval", "a number > 0", self.flush_interval
        )
        _require(self.batch_size >= 1, "recording.batch_size", "an integer >= 1", self.batch_size)
        _require(self.max_queue >= 1, "recording.max_queue", "an integer >= 1", self.max_queue)
        _require(
            self.retry_backoff_max > 0,
            "recording.retry_backoff_max",
            "a number > 0",
            self.retry_backoff_max,
        )
        _require(
            self.close_timeout > 0,
            "recording.close_timeout",
            "a number of seconds > 0",
            self.close_timeout,
        )
        _require(
            self.spill_dir == "" or self.spill_dir.strip() != "",
            "recording.spill_dir",
            'a folder path, or "" (beside the SQLite file)',
            self.spill_dir,
        )


@dataclass(frozen=True, slots=True)
class ThresholdsConfig:
    """``[thresholds]``: durations, in seconds, past which an operation counts as slow."""

    command_slow: float = 2.0
    voice_connect_slow: float = 5.0
    response_slow: float = 1.0

    def __post_init__(self) -> None:
        for name in ("command_slow", "voice_connect_slow", "response_slow"):
            value = getattr(self, name)
            _require(value > 0, f"thresholds.{name}", "a number of seconds > 0", value)


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """``[health]``: what the health check measures and where its statuses change."""

    check_interval: float = 300.0
    """Seconds between background health checks (used by the cog)."""
    history_size: int = 100
    """Health reports kept in memory."""
    error_rate_window: float = 3600.0
    """Seconds of recent commands over which the error rate is computed."""
    error_rate_min_commands: int = 10
    """Below this many commands in the window the error rate is reported but always healthy."""
    error_rate_warning: float = 0.05
    error_rate_critical: float = 0.20
    memory_warning_mb: float = 512.0
    memory_critical_mb: float = 1024.0
    cpu_warning_percent: float = 70.0
    cpu_critical_percent: float = 90.0
    cpu_window: float = 60.0
    """Seconds of process CPU the percent is averaged over (sampled every sixth of it). Until
    one whole window has passed since start-up, the reading is shown but counts as healthy."""
    database_slow_seconds: float = 0.5
    """A database round trip slower than this makes the database ``slow``."""
    rate_limit_warning_hits: int = 1000
    """HTTP 429 responses in the last hour at which ``rate_limits`` turns ``warning`` (a global
    rate limit does at once); 0: only a global one does."""
    stall_monitor: bool = True
    """Whether the cog watches the event loop for stalls (a callback every ``stall_interval``
    on the loop, a watchdog thread beside it)."""
    stall_threshold: float = 0.4
    """Seconds the event loop must go without running a callback to count as a stall."""
    stall_interval: float = 0.2
    """Seconds between two runs of the stall monitor's callback on the loop: a stall's duration
    is known to within it. At most half of ``stall_threshold``."""
    stall_warning: float = 1.0
    """A stall this long or longer in the window (``error_rate_window``) makes the event loop
    ``warning``; shorter ones are counted and shown but healthy."""
    stall_critical: float = 5.0
    """A stall this long or longer makes the event loop ``critical`` (Discord's heartbeat is at
    risk) and is said at once (``VitalEvent("stall_critical")``)."""

    def __post_init__(self) -> None:
        _require(
            self.check_interval > 0, "health.check_interval", "a number > 0", self.check_interval
        )
        _require(
            self.history_size >= 1, "health.history_size", "an integer >= 1", self.history_size
        )
        _require(
            self.error_rate_window > 0,
            "health.error_rate_window",
            "a number > 0",
            self.error_rate_window,
        )
        _require(
            self.error_rate_min_commands >= 0,
            "health.error_rate_min_commands",
            "an integer >= 0",
            self.error_rate_min_commands,
        )
        _ordered("health.error_rate", self.error_rate_warning, self.error_rate_critical, 1.0)
        _ordered("health.memory", self.memory_warning_mb, self.memory_critical_mb, None, "_mb")
        _ordered(
            "health.cpu", self.cpu_warning_percent, self.cpu_critical_percent, None, "_percent"
        )
        _require(
            self.cpu_window > 0, "health.cpu_window", "a number of seconds > 0", self.cpu_window
        )
        _require(
            self.database_slow_seconds > 0,
            "health.database_slow_seconds",
            "a number > 0",
            self.database_slow_seconds,
        )
        _require(
            self.rate_limit_warning_hits >= 0,
            "health.rate_limit_warning_hits",
            "an integer >= 0 (0: only a global rate limit warns)",
            self.rate_limit_warning_hits,
        )
        _require(
            isinstance(self.stall_monitor, bool),
            "health.stall_monitor",
            "true or false",
            self.stall_monitor,
        )
        _require(
            self.stall_interval > 0,
            "health.stall_interval",
            "a number of seconds > 0",
            self.stall_interval,
        )
        _require(
            self.stall_threshold >= 2 * self.stall_interval,
            "health.stall_threshold",
            f"a number of seconds >= twice health.stall_interval ({self.stall_interval})",
            self.stall_threshold,
        )
        _require(
            self.stall_warning >= self.stall_threshold,
            "health.stall_warning",
            f"a number of seconds >= health.stall_threshold ({self.stall_threshold})",
            self.stall_warning,
        )
        _require(
            self.stall_critical >= self.stall_warning,
            "health.stall_critical",
            f"a number of seconds >= health.stall_warning ({self.stall_warning})",
            self.stall_critical,
        )


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """``[gateway]``: when the bot's connection to Discord (its shards) counts as unwell."""

    latency_warning_ms: float = 500.0
    """A shard's heartbeat latency, in milliseconds, at which the gateway turns ``warning``."""
    latency_critical_ms: float = 2000.0
    """Heartbeat latency, in milliseconds (>= the warning level), at which it turns ``critical``."""
    shard_down_seconds: float = 60.0
    """Seconds a shard may stay disconnected before the gateway turns ``critical`` (and a
    ``shard_down`` vital event is emitted, once per outage). Discord asks for reconnects now and
    then; a resume takes a second or two, so a shorter outage only shows as disconnected."""
    population_interval: float = 300.0
    """Seconds between two counts of the bot's guilds and members (shown by ``/health`` and the
    metrics, and kept as the day's snapshot for the growth report)."""

    def __post_init__(self) -> None:
        _ordered("gateway.latency", self.latency_warning_ms, self.latency_critical_ms, None, "_ms")
        _require(
            self.shard_down_seconds > 0,
            "gateway.shard_down_seconds",
            "a number of seconds > 0",
            self.shard_down_seconds,
        )
        _require(
            self.population_interval > 0,
            "gateway.population_interval",
            "a number of seconds > 0",
            self.population_interval,
        )


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    """``[retention]``: how long audit rows are kept (rollups, and so reports, stay)."""

    audit_days: int = 30
    """Audit rows older than this many days may be pruned; 0 keeps them forever."""
    prune_interval: float = 3600.0
    """Seconds between the cog's background prunes of audit rows older than ``audit_days``."""

    def __post_init__(self) -> None:
        _require(self.audit_days >= 0, "retention.audit_days", "an integer >= 0", self.audit_days)
        _require(
            self.prune_interval > 0,
            "retention.prune_interval",
            "a number of seconds > 0",
            self.prune_interval,
        )


TRACEBACK_MODES = ("full", "frames", "off")
"""Values of ``[privacy] store_tracebacks``."""
HASH_SECRET_MIN_LENGTH = 16
"""Shortest accepted HMAC secret: Discord ids are guessable, so a short key would be too."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    """``[privacy]``: what is stored of commands' arguments and of who ran them.

    See :mod:`monitoring_cog.recording.privacy` for the rules. With ``hash_user_ids`` on, the secret
    must be set (``$MONITORING_HASH_SECRET`` or ``hash_secret``), or the config is refused at
    start-up.
    """

    store_parameters: bool = True
    """Whether commands' arguments are stored at all (false: every row's parameters are {})."""
    redact_keys: tuple[str, ...] = ("token", "password", "secret", "key")
    """Arguments whose name contains one of these (any case) are stored as "[redacted]"."""
    store_usernames: bool = True
    """Whether audit rows keep the username (false: only the user id, maybe hashed)."""
    hash_user_ids: bool = False
    """Store user ids as keyed hashes (HMAC-SHA256) instead of Discord ids."""
    hash_secret: str = field(default="", repr=False)
    """The hashing key, if not in the environment variable ``hash_secret_env`` (which wins)."""
    hash_secret_env: str = "MONITORING_HASH_SECRET"
    """Environment variable holding the hashing key ("" to read ``hash_secret`` only)."""
    store_tracebacks: str = "full"
    """What a failed command's traceback keeps in the audit log (and an event-loop stall's
    stack): ``"full"`` each frame's file, line, function and source line; ``"frames"`` the same
    without source lines; ``"off"`` nothing. Never local variables."""

    def __post_init__(self) -> None:
        _require(
            self.store_tracebacks in TRACEBACK_MODES,
            "privacy.store_tracebacks",
            ", ".join(f'"{mode}"' for mode in TRACEBACK_MODES),
            self.store_tracebacks,
        )
        for name in self.redact_keys:
            _require(
                name.strip() != "",
                "privacy.redact_keys",
                "a list of non-empty parameter names",
                list(self.redact_keys),
            )
        _require(
            self.hash_secret_env == "" or _ENV_NAME.fullmatch(self.hash_secret_env) is not None,
            "privacy.hash_secret_env",
            'an environment variable name such as "MONITORING_HASH_SECRET", or ""',
            self.hash_secret_env,
        )
        if self.hash_user_ids:
            self.hash_secret_value()  # Fails now, at start-up, rather than at the first write.

    def hash_secret_value(self, environ: Mapping[str, str] | None = None) -> str:
        """The hashing key: ``$hash_secret_env`` if set and non-empty, else ``hash_secret``.

        Raises :class:`ConfigError` naming ``privacy.hash_secret`` if it is missing or shorter
        than 16 characters (the message never includes the secret).
        """
        env = os.environ if environ is None else environ
        from_env = env.get(self.hash_secret_env, "") if self.hash_secret_env else ""
        secret = from_env or self.hash_secret
        where = (
            f"${self.hash_secret_env} or privacy.hash_secret"
            if self.hash_secret_env
            else "privacy.hash_secret"
        )
        if not secret:
            raise ConfigError(
                f"privacy.hash_secret: privacy.hash_user_ids is true, so a secret of at least "
                f"{HASH_SECRET_MIN_LENGTH} characters is needed in {where}; none is set"
            )
        if len(secret) < HASH_SECRET_MIN_LENGTH:
            source = f"${self.hash_secret_env}" if from_env else "privacy.hash_secret"
            raise ConfigError(
                f"privacy.hash_secret: expected a secret of at least {HASH_SECRET_MIN_LENGTH} "
                f"characters in {where}, got {len(secret)} characters (from {source})"
            )
        return secret


@dataclass(frozen=True, slots=True)
class CogConfig:
    """``[cog]``: the Discord side (alerts and slash commands)."""

    alert_channel_id: int = 0
    """Channel that receives an embed when the overall health status changes; 0 for none."""
    alert_recovery_checks: int = 2
    """Consecutive better checks needed before a recovery is announced (worsening is immediate)."""
    alert_min_interval: float = 60.0
    """Seconds at least between two alerts posted. A change within them is held back, logged, and
    the latest status goes out at the first check after they have passed."""
    ephemeral: bool = True
    """Whether /health and /stats answers are visible only to the member who asked."""
    health_permission: str = "manage_guild"
    """Guild permission required for /health (a discord.Permissions flag name); "" for everyone."""
    stats_permission: str = ""
    """Guild permission required for /stats; "" for everyone."""

    def __post_init__(self) -> None:
        _require(
            self.alert_channel_id >= 0,
            "cog.alert_channel_id",
            "a channel id (or 0)",
            self.alert_channel_id,
        )
        _require(
            self.alert_recovery_checks >= 1,
            "cog.alert_recovery_checks",
            "an integer >= 1",
            self.alert_recovery_checks,
        )
        _require(
            self.alert_min_interval > 0,
            "cog.alert_min_interval",
            "a number of seconds > 0",
            self.alert_min_interval,
        )
        for key in ("health_permission", "stats_permission"):
            value = getattr(self, key)
            _require(
                value == "" or value in _permission_names(),
                f"cog.{key}",
                "a discord.Permissions flag name such as 'manage_guild', or \"\"",
                value,
            )


def _permission_names() -> frozenset[str]:
    import discord  # Only needed to validate; the core library does not import discord.

    return frozenset(discord.Permissions.VALID_FLAGS)


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """``[metrics]``: the HTTP endpoint serving Prometheus ``/metrics`` and ``/healthz``."""

    enabled: bool = False
    """Whether the cog starts the endpoint (off by default: it opens a port)."""
    host: str = "127.0.0.1"
    """Address to listen on; "127.0.0.1" is this machine only, "0.0.0.0" every interface."""
    port: int = 9811
    """TCP port to listen on (0 picks a free one)."""

    def __post_init__(self) -> None:
        # Checked here too, not only when read from TOML: a config built in code is validated.
        _require(isinstance(self.enabled, bool), "metrics.enabled", "true or false", self.enabled)
        _require(
            isinstance(self.host, str) and self.host.strip() != "",
            "metrics.host",
            'a non-empty address such as "127.0.0.1" or "0.0.0.0"',
            self.host,
        )
        _require(
            isinstance(self.port, int)
            and not isinstance(self.port, bool)
            and 0 <= self.port <= 65535,
            "metrics.port",
            "a TCP port from 0 to 65535 (0 picks a free one)",
            self.port,
        )


DASHBOARD_TOKEN_ENV = "MONITORING_DASHBOARD_TOKEN"
"""The default environment variable holding the dashboard's access token."""
DASHBOARD_TOKEN_MIN_LENGTH = 16
"""Shortest accepted dashboard token: it is the only thing between the network and the data."""


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    """``[dashboard]``: the built-in web dashboard (pages and a JSON API behind a token).

    The token is a secret: it is read from ``$token_env`` (which wins) or ``token``. With the
    dashboard enabled, a missing or short token fails at start-up naming ``dashboard.token``.
    """

    enabled: bool = False
    """Whether the cog serves the dashboard (off by default: it opens a port)."""
    host: str = "127.0.0.1"
    """Address to listen on; "127.0.0.1" is this machine only."""
    port: int = 9812
    """TCP port (0 picks a free one). The same host and port as ``[metrics]`` serve both from
    one server."""
    token: str = field(default="", repr=False)
    """The access token, if not in the environment variable ``token_env``."""
    token_env: str = DASHBOARD_TOKEN_ENV
    """Environment variable holding the token ("" to read ``token`` only)."""
    session_hours: float = 12.0
    """How long a login lasts (the session cookie's lifetime)."""
    max_streams: int = 20
    """Live-update streams (open overview tabs) served at once; more are refused with 503."""
    process_name: str = ""
    """This process's name in the list of processes; "" for ``host:pid``."""

    def __post_init__(self) -> None:
        _require(isinstance(self.enabled, bool), "dashboard.enabled", "true or false", self.enabled)
        _require(
            isinstance(self.host, str) and self.host.strip() != "",
            "dashboard.host",
            'a non-empty address such as "127.0.0.1"',
            self.host,
        )
        _require(
            isinstance(self.port, int)
            and not isinstance(self.port, bool)
            and 0 <= self.port <= 65535,
            "dashboard.port",
            "a TCP port from 0 to 65535 (0 picks a free one)",
            self.port,
        )
        _require(
            self.token_env == "" or _ENV_NAME.fullmatch(self.token_env) is not None,
            "dashboard.token_env",
            f'an environment variable name such as "{DASHBOARD_TOKEN_ENV}", or ""',
            self.token_env,
        )
        _require(
            self.session_hours > 0,
            "dashboard.session_hours",
            "a number of hours > 0",
            self.session_hours,
        )
        _require(
            self.max_streams >= 1, "dashboard.max_streams", "an integer >= 1", self.max_streams
        )
        if self.enabled:
            self.token_value()  # A missing token fails now, at start-up, naming the key.

    def token_value(self, environ: Mapping[str, str] | None = None) -> str:
        """The token: ``$token_env`` if set and non-empty, else ``token``.

        Raises :class:`ConfigError` naming ``dashboard.token`` when there is none or it is
        shorter than 16 characters (the message never includes the token).
        """
        found = self.token_or_none(environ)
        where = f"${self.token_env} or dashboard.token" if self.token_env else "dashboard.token"
        if found is None:
            raise ConfigError(
                f"dashboard.token: the dashboard needs an access token of at least "
                f"{DASHBOARD_TOKEN_MIN_LENGTH} characters in {where}; none is set"
            )
        return found

    def token_or_none(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The token if one is set, ``None`` if none is; a short one raises
        :class:`ConfigError` naming where it came from."""
        env = os.environ if environ is None else environ
        from_env = env.get(self.token_env, "") if self.token_env else ""
        token = from_env or self.token
        if not token:
            return None
        if len(token) < DASHBOARD_TOKEN_MIN_LENGTH:
            source = f"${self.token_env}" if from_env else "dashboard.token"
            raise ConfigError(
                f"dashboard.token: expected a token of at least {DASHBOARD_TOKEN_MIN_LENGTH} "
                f"characters, got {len(token)} characters (from {source})"
            )
        return token


WEBHOOK_URL_ENV = "MONITORING_ALERT_WEBHOOK_URL"
"""The default environment variable holding the alert webhook's URL."""


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """``[alerts]``: alerts that reach someone when the bot cannot post (a Discord webhook).

    The webhook URL is a secret: it is read from ``$webhook_url_env`` (which wins) or
    ``webhook_url``, checked at start-up (see :mod:`monitoring_cog.config.webhooks` for what is
    accepted) and never shown unredacted.
    """

    webhook_url: str = field(default="", repr=False)
    """The webhook to post alerts to, if not in the environment variable; "" for none."""
    webhook_url_env: str = WEBHOOK_URL_ENV
    """Environment variable holding the webhook URL ("" to read ``webhook_url`` only)."""
    min_interval: float = 60.0
    """Seconds at least between two webhook messages of the same kind. Events of that kind
    within them are held; the latest goes out when they have passed, counting the others."""
    timeout: float = 10.0
    """Seconds one attempt to post may take."""
    retries: int = 2
    """Further attempts after a post fails with 429, a 5xx or a network error."""
    queue_size: int = 100
    """Messages waiting to be posted at most; past it new ones are dropped and counted."""

    def __post_init__(self) -> None:
        _require(
            self.webhook_url_env == "" or _ENV_NAME.fullmatch(self.webhook_url_env) is not None,
            "alerts.webhook_url_env",
            f'an environment variable name such as "{WEBHOOK_URL_ENV}", or ""',
            self.webhook_url_env,
        )
        _require(
            self.min_interval > 0,
            "alerts.min_interval",
            "a number of seconds > 0",
            self.min_interval,
        )
        _require(self.timeout > 0, "alerts.timeout", "a number of seconds > 0", self.timeout)
        _require(self.retries >= 0, "alerts.retries", "an integer >= 0", self.retries)
        _require(self.queue_size >= 1, "alerts.queue_size", "an integer >= 1", self.queue_size)
        self.webhook_url_value()  # A bad URL fails now, at start-up, not at the first alert.

    def webhook_url_value(self, environ: Mapping[str, str] | None = None) -> str:
        """The webhook URL: ``$webhook_url_env`` if set and non-empty, else ``webhook_url``;
        "" for none.

        Raises :class:`ConfigError` naming where it came from if it is not an accepted webhook
        URL (the message shows it redacted).
        """
        from .webhooks import redact_webhook_url, webhook_url_problem

        env = os.environ if environ is None else environ
        from_env = env.get(self.webhook_url_env, "") if self.webhook_url_env else ""
        url = (from_env or self.webhook_url).strip()
        if not url:
            return ""
        problem = webhook_url_problem(url)
        if problem is not None:
            key = f"${self.webhook_url_env}" if from_env else "alerts.webhook_url"
            raise ConfigError(f"{key}: expected {problem}, got {redact_webhook_url(url)!r}")
        return url


@dataclass(frozen=True, slots=True)
class MonitoringConfig:
    """The whole configuration. Build it with :func:`load_config` or directly in code."""

    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    thresholds: ThresholdsConfig = field(default_factory=ThresholdsConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    cog: CogConfig = field(default_factory=CogConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    source: str | None = field(default=None, compare=False)
    """The file this config was read from, if any (not a TOML key)."""


def resolve_config_path(
    environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path | None:
    """The config file to read: ``$MONITORING_CONFIG``, else ``./config.toml`` if it exists.

    Returns ``None`` when neither applies (the defaults are used). A ``MONITORING_CONFIG`` that
    names a missing file is an error, not a silent fall-back to defaults.
    """
    env = os.environ if environ is None else environ
    named = env.get(CONFIG_ENV_VAR)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV_VAR}={named}: no such config file")
        return path
    local = (cwd or Path.cwd()) / DEFAULT_CONFIG_FILE
    return local if local.is_file() else None


def load_config(path: str | os.PathLike[str] | None = None) -> MonitoringConfig:
    """Read and validate a config file.

    Parameters
    ----------
    path:
        The TOML file. ``None`` resolves it with :func:`resolve_config_path`; when that finds
        nothing, the defaults are returned.

    Raises
    ------
    ConfigError
        The file is missing or not valid TOML, a key is unknown, or a value has the wrong type or
        is out of range. The message names the file and the key.
    """
    resolved = Path(path) if path is not None else resolve_config_path()
    if resolved is None:
        return MonitoringConfig()
    try:
        raw = tomllib.loads(resolved.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{resolved}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{resolved}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{resolved}: not valid TOML: {exc}") from None
    try:
        config = config_from_mapping(raw)
    except ConfigError as exc:
        raise ConfigError(f"{resolved}: {exc}") from None
    return dataclasses.replace(config, source=str(resolved))


def config_from_mapping(raw: Mapping[str, Any]) -> MonitoringConfig:
    """Build a :class:`MonitoringConfig` from parsed TOML (or any nested mapping)."""
    return _build(MonitoringConfig, raw, prefix="")


_T = TypeVar("_T")


def _build(cls: type[_T], raw: Mapping[str, Any], prefix: str) -> _T:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(known))
    if unknown:
        where = f"[{prefix.rstrip('.')}]" if prefix else "the top level"
        allowed = ", ".join(sorted(known))
        raise ConfigError(f"unknown key {prefix}{unknown[0]!s} in {where} (known keys: {allowed})")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        key = f"{prefix}{name}"
        expected = hints[name]
        if dataclasses.is_dataclass(expected):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{key}: expected a table [{key}], got {_describe(value)}")
            values[name] = _build(expected, value, prefix=f"{key}.")  # type: ignore[arg-type]
        else:
            values[name] = _coerce(key, value, expected)
    return cls(**values)


def _coerce(key: str, value: Any, expected: Any) -> Any:
    if isinstance(expected, types.UnionType) or typing.get_origin(expected) is typing.Union:
        options = [t for t in typing.get_args(expected) if t is not type(None)]
        expected = options[0]
    # bool is an int in Python; a TOML `true` where a number is expected is still a mistake.
    if expected is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ConfigError(f"{key}: expected a finite number, got {_describe(value)}")
        return float(value)
    if expected is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if expected is str and isinstance(value, str):
        return value
    if expected is bool and isinstance(value, bool):
        return value
    if expected == tuple[str, ...]:
        # A TOML array of strings; a tuple keeps the frozen config immutable and hashable.
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise ConfigError(f"{key}: expected a list of strings, got {_describe(value)}")
    names = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}
    raise ConfigError(f"{key}: expected {names.get(expected, expected)}, got {_describe(value)}")


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _require(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key}: expected {expected}, got {_describe(value)}")


def _ordered(
    prefix: str, warning: float, critical: float, upper: float | None, suffix: str = ""
) -> None:
    low, high = f"{prefix}_warning{suffix}", f"{prefix}_critical{suffix}"
    _require(
        warning > 0 and (upper is None or warning <= upper),
        low,
        f"a number in (0, {upper}]" if upper is not None else "a number > 0",
        warning,
    )
    _require(
        critical >= warning and (upper is None or critical <= upper),
        high,
        f"a number >= {low} ({warning})" + (f" and <= {upper}" if upper else ""),
        critical,
    )
