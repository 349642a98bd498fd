"""``monitoring-cog demo``: a month of a music bot's life, simulated in seconds, then its reports.

A real discord.py bot (:mod:`.demo_bot`) with the monitoring cog loaded is driven through
discord.py's own dispatch with no connection to Discord (:mod:`.offline`): members of several
servers type prefix commands and run slash commands over 30 simulated days. Time is simulated by a
:class:`~monitoring_cog.clock.ManualClock` injected into the database, set to each action's moment
and advanced inside commands by the time they take; nothing waits for it.

The month follows a plan drawn from a seeded generator (:func:`plan_month`): the same seed gives
the same actions, so the number of audited commands is known in advance. On the last evening the
lyrics provider goes down, so ``/health`` has something to say. Members also press the queue's
buttons (the page buttons ``queue:page:{n}``, a shuffle) now and then, and the bot records its
own events (``song_requested``, ``playlist_saved``): the dashboard's component and event charts.

The last hour also shows the bot's vitals (:mod:`.demo_vitals`): the gateway connection drops and
resumes (simulated: dispatched through discord.py, with a drawn heartbeat latency), a member's
``!cover`` really blocks the event loop (the stall monitor blames its line), and one request is
answered 429 (simulated: discord.py's log record for it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import psutil

from ..clock import ManualClock, SystemClock, utc_day
from ..config import DatabaseConfig, MonitoringConfig
from ..database import Database
from ..recording.frames import count_as_own
from . import demo_bot
from .demo_bot import CATALOGUE, QUEUE_PAGES, Latency, MusicBot, MusicCog, QueueButtons
from .demo_vitals import SimulatedGateway, log_simulated_429
from .offline import OfflineDiscord, SlashOption

__all__ = (
    "DEMO_DAYS",
    "DEMO_DOWNTIME",
    "DEMO_GUILDS",
    "RATE_LIMITED_REQUEST",
    "Action",
    "DemoResult",
    "GuildSpec",
    "SimulatedProcess",
    "plan_month",
    "run_demo",
)

_log = logging.getLogger(__name__)

DEMO_DAYS = 30
"""Days simulated: the 30 UTC days ending today, which is what ``/stats monthly`` covers."""
DEMO_DOWNTIME = 23.0
"""Seconds the gateway connection stays down before it resumes (simulated)."""
RATE_LIMITED_REQUEST = ("POST", "https://discord.com/api/v10/channels/{channel}/messages", 1.37)
"""The request answered 429 in the demo: method, URL (of the first server's channel), seconds
discord.py waits before retrying."""


@dataclass(frozen=True, slots=True)
class GuildSpec:
    """A server of the demo: its name, how busy it is, and its members (the first is an admin)."""

    name: str
    sessions_per_day: float
    members: tuple[str, ...]


_PEOPLE = (
    "nova", "lofi_luke", "mira", "djkai", "sam", "juniper", "theo", "ivy", "rex", "lena",
    "marco", "yuki", "ada", "felix", "zoe", "omar", "pia", "hugo", "nina", "arlo",
    "bea", "cyrus", "dara", "eli", "fern", "gus", "hana", "iggy", "jade", "koa",
    "lux", "milo", "noor", "otto", "quinn", "rosa", "sol", "tess", "uma", "vik",
    "wren", "xavi", "yara", "zed",
)  # fmt: skip

DEMO_GUILDS = (
    GuildSpec("Lo-Fi Lounge", 9.0, _PEOPLE[0:16]),
    GuildSpec("Rock Café", 6.0, _PEOPLE[12:28]),
    GuildSpec("Synthwave City", 4.0, _PEOPLE[26:38]),
    GuildSpec("Jazz Cellar", 2.5, (*_PEOPLE[36:44], *_PEOPLE[0:3])),
)
"""Four servers, 44 people; some are in two servers."""

_MISSPELLED = ("midnite city", "bohemian rapsody", "take 5", "blindin lights", "dreamz")
_TYPOS = ("!paly", "!skp", "!quee", "!lyrics", "!volum 50")
_HOURS = [1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 4, 5, 4, 4, 4, 5, 6, 8, 9, 10, 9, 0, 0]
"""Relative chance of a listening session starting in each UTC hour: evenings are busy."""
_WEEKDAY_FACTOR = (0.9, 0.85, 0.9, 1.0, 1.3, 1.5, 1.25)


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a member does: a message in the music channel, or a slash command.

    ``at`` counts seconds from the start of the simulated month (midnight UTC of its first day).
    """

    at: float
    guild: int
    """Index into the guilds of the plan."""
    member: str
    kind: str
    """``"prefix"`` (a message, run as a prefix or hybrid command), ``"slash"``, ``"typo"``
    (a message naming no command: counted as unknown, never audited), or ``"button"`` (a button
    of the queue pressed: a component use, never audited)."""
    text: str
    """The message for prefix and typo actions; the command name for slash actions; the
    button's custom id for button actions."""
    options: tuple[SlashOption, ...] = ()
    subcommand: str | None = None
    admin: bool = False
    """Whether the member has Manage Server (needed for /health)."""

    @property
    def audited(self) -> bool:
        """Whether the monitoring cog writes an audit row for this action."""
        return self.kind not in ("typo", "button")


@dataclass(frozen=True, slots=True)
class Plan:
    """The month to simulate."""

    days: int
    guilds: tuple[GuildSpec, ...]
    actions: tuple[Action, ...]
    incident_at: float
    """When the lyrics provider goes down (seconds from the start)."""
    ends_at: float
    """The simulated "now" when the month is over."""
    disconnect_at: float = 0.0
    """When the gateway connection drops (and resumes :data:`DEMO_DOWNTIME` seconds later)."""
    rate_limited_at: float = 0.0
    """When a request of the bot is answered 429 (simulated)."""


class _Session:
    """Builds one member's listening session: a few minutes between each command."""

    def __init__(
        self,
        rng: random.Random,
        at: float,
        guild: int,
        member: str,
        *,
        admin: bool,
        clicks: random.Random | None = None,
    ) -> None:
        self.rng = rng
        # Button presses draw from their own generator, a few seconds after the command that
        # showed them without moving the session on: the commands stay as the seed has them.
        self.clicks = clicks
        self.at = at
        self.guild = guild
        self.member = member
        self.admin = admin
        self.actions: list[Action] = []

    def _next(self, kind: str, text: str, **extra: Any) -> None:
        self.at += self.rng.uniform(15, 200)
        self.actions.append(
            Action(self.at, self.guild, self.member, kind, text, admin=self.admin, **extra)
        )

    def hybrid(self, name: str, argument: str | int | None = None, option: str = "") -> None:
        """A hybrid command, typed with the prefix about 60 % of the time, else as a slash."""
        if self.rng.random() < 0.6:
            text = f"!{name}" if argument is None else f"!{name} {argument}"
            self._next("prefix", text)
        else:
            options = () if argument is None else (SlashOption(option, argument),)
            self._next("slash", name, options=options)

    def prefix(self, text: str) -> None:
        self._next("prefix", text)

    def buttons(self) -> None:
        """Now and then, a page or two of the queue just shown, or its shuffle button."""
        rng = self.clicks
        if rng is None or rng.random() >= 0.5:
            return
        at = self.at
        for _ in range(rng.choices((1, 2, 3), weights=(5, 3, 1))[0]):
            at += rng.uniform(3, 40)
            if rng.random() < 0.2:
                custom_id = "queue:shuffle"
            else:
                page = rng.choices(range(1, QUEUE_PAGES + 1), (5, 4, 1, 0.5))[0]
                custom_id = f"queue:page:{page}"
            self.actions.append(Action(at, self.guild, self.member, "button", custom_id))

    def typo(self) -> None:
        self._next("typo", self.rng.choice(_TYPOS))

    def slash(self, name: str, *options: SlashOption, subcommand: str | None = None) -> None:
        self._next("slash", name, options=options, subcommand=subcommand)

    def listen(self) -> None:
        """The usual: queue a few songs, look at the queue, skip or pause now and then."""
        rng = self.rng
        for _ in range(rng.choices((1, 2, 3, 4, 5), weights=(3, 4, 3, 2, 1))[0]):
            misspelled = rng.random() < 0.05
            query = rng.choice(_MISSPELLED) if misspelled else rng.choice(CATALOGUE).title
            self.hybrid("play", query, "query")
            if rng.random() < 0.04:
                self.typo()
        if rng.random() < 0.45:
            self.hybrid("queue")
            self.buttons()
        if rng.random() < 0.3:
            self.hybrid("nowplaying")
        for _ in range(rng.choices((0, 1, 2), weights=(5, 4, 1))[0]):
            self.hybrid("skip")
        if rng.random() < 0.2:
            self.hybrid("pause")
            self.hybrid("resume")
        if rng.random() < 0.25:
            # Now and then someone asks for more than the maximum (typed, since Discord's own
            # slash command form would refuse it): a failed argument conversion.
            if rng.random() < 0.15:
                self.prefix("!volume 150")
            else:
                self.hybrid("volume", rng.choice((30, 50, 60, 70, 80, 100)), "level")
        if rng.random() < 0.15:
            self.slash("lyrics")
        if rng.random() < 0.06:
            self.slash("playlist", SlashOption("name", "favourites"), subcommand="save")
        if rng.random() < 0.05:
            name = rng.choice(("favourites", "party"))
            self.slash("playlist", SlashOption("name", name), subcommand="load")
        if rng.random() < 0.08:
            self.prefix("!shuffle")
        if rng.random() < 0.12:
            self.prefix("!stop")


def plan_month(
    seed: int = 7,
    *,
    first_weekday: int = 0,
    days: int = DEMO_DAYS,
    guilds: Sequence[GuildSpec] = DEMO_GUILDS,
) -> Plan:
    """The actions of a simulated month, drawn from ``seed``; pure, so tests can count them.

    Each day, each server gets a number of listening sessions around its ``sessions_per_day``
    (more at weekends, growing over the month); a session is one member playing a few songs
    with the odd skip, pause, volume change, lyrics or playlist. Admins look at ``/stats
    weekly`` on Sundays, and now and then a member who is not one tries ``/health``. On the last
    evening the lyrics provider goes down.

    Parameters
    ----------
    seed:
        Seed of the generator; the same seed and weekday give the same plan.
    first_weekday:
        Weekday of the first day (Monday 0): weekends are busier.
    days, guilds:
        Length of the month and its servers.
    """
    rng = random.Random(seed)
    clicks = random.Random(f"{seed}-buttons")
    actions: list[Action] = []
    last_day = (days - 1) * 86400.0
    for day in range(days):
        weekday = (first_weekday + day) % 7
        factor = _WEEKDAY_FACTOR[weekday] * (0.8 + 0.4 * day / max(1, days - 1))
        for index, spec in enumerate(guilds):
            sessions = max(0, round(rng.gauss(spec.sessions_per_day * factor, 1.5)))
            for _ in range(sessions):
                hour = rng.choices(range(24), weights=_HOURS)[0]
                if day == days - 1:
                    hour = min(hour, 18)  # The last evening belongs to the incident.
                member = rng.choice(spec.members)
                at = day * 86400.0 + hour * 3600 + rng.uniform(0, 3600)
                session = _Session(
                    rng, at, index, member, admin=member == spec.members[0], clicks=clicks
                )
                session.listen()
                actions.extend(session.actions)
            if weekday == 6:
                admin = _Session(rng, day * 86400.0 + 20 * 3600, index, spec.members[0], admin=True)
                admin.slash("stats", subcommand="weekly")
                actions.extend(admin.actions)
            if rng.random() < 0.08:
                curious = _Session(
                    rng, day * 86400.0 + 15 * 3600, index, rng.choice(spec.members[1:]), admin=False
                )
                curious.slash("health")
                actions.extend(curious.actions)
    incident_at = last_day + 21 * 3600.0
    # The last hour: the regulars of the first server keep listening while the lyrics provider
    # fails everyone who asks it. Drawn apart from the rest, so the evening (and so the health
    # report at the end) is the same whatever the weekday the month starts on.
    evening = random.Random(f"{seed}-incident")
    first = guilds[0]
    for n, member in enumerate(first.members[1:9]):
        session = _Session(evening, incident_at + n * 240, 0, member, admin=False)
        session.listen()
        if n < 3:
            session.slash("lyrics")
        actions.extend(a for a in session.actions if a.at < last_day + 86400 - 600)
    # The vitals, inside the last hour (the health report's window): the connection drops and
    # resumes, someone asks for the album art (a command that blocks the loop), a 429.
    last = max(action.at for action in actions)
    actions.append(Action(last - 900, 0, first.members[1], "prefix", "!cover"))
    actions.sort(key=lambda action: action.at)
    ends_at = last + 60
    return Plan(
        days,
        tuple(guilds),
        tuple(actions),
        incident_at,
        ends_at,
        disconnect_at=last - 1500,
        rate_limited_at=last - 600,
    )


class SimulatedProcess:
    """Health readings for the demo: this process's real memory, a music bot's usual CPU.

    The demo keeps a core busy simulating a month in seconds; reporting that as the bot's CPU
    would describe the simulation, not the bot.
    """

    def __init__(self, cpu_percent: float = 6.5) -> None:
        self._process = psutil.Process()
        self._cpu = cpu_percent

    def memory_info(self) -> Any:
        return self._process.memory_info()

    def memory_percent(self) -> float:
        return float(self._process.memory_percent())

    def cpu_percent(self, interval: float | None = None) -> float:
        return self._cpu

    def cpu_times(self) -> Any:
        return self._process.cpu_times()


@dataclass
class DemoResult:
    """What the demo did and what the monitoring cog made of it."""

    database: Path
    started_at: float
    """Epoch seconds at which the simulated month began."""
    ended_at: float
    """Epoch seconds at which it ended (the "now" of the reports)."""
    guilds: list[tuple[str, str]]
    """(guild id, name) of each server, in the plan's order."""
    members: int
    sent: Counter[str] = field(default_factory=Counter)
    """Actions by kind: prefix, slash, typo."""
    failed: int = 0
    """Audited commands that failed, by the audit log."""
    audited: int = 0
    """Audit rows written."""
    health: dict[str, Any] = field(default_factory=dict)
    weekly: dict[str, Any] = field(default_factory=dict)
    monthly: dict[str, Any] = field(default_factory=dict)
    performance: dict[str, Any] = field(default_factory=dict)
    disconnects: int = 0
    """Gateway disconnects simulated (each followed by a resume)."""
    rate_limited: tuple[str, str] | None = None
    """(method, URL) of the request whose 429 was simulated, once it was."""


def default_database() -> Path:
    """A new file in a new temporary folder, so a demo never touches existing data."""
    return Path(tempfile.mkdtemp(prefix="monitoring-cog-demo-")) / "demo.db"


def demo_config(path: Path) -> MonitoringConfig:
    """The configuration the demo runs with: the defaults, recording into ``path``."""
    return dataclasses.replace(MonitoringConfig(), database=DatabaseConfig(path=str(path)))


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    # discord.py and the cog log what a real bot's log should hold (slow commands, handled
    # errors); the demo's reports say it better, so keep the terminal for them. Records are
    # still made (not logging.disable): the cog counts 429s from discord.py's.
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [logging.NullHandler()]
    try:
        yield
    finally:
        root.handlers = saved


async def run_demo(
    database: Path,
    *,
    seed: int = 7,
    today: date | None = None,
    progress: Callable[[int], Callable[[int], None]] | None = None,
    quiet_logs: bool = True,
) -> DemoResult:
    """Simulate the month into ``database`` (a new file) and gather the four reports.

    Parameters
    ----------
    database:
        The SQLite file to create. It must not exist yet.
    seed:
        Seed of the plan and of command durations.
    today:
        The month's last UTC day, for a reproducible run: the month starts at midnight 29 days
        before. By default the month ends now (read once from the system clock).
    progress:
        Given the number of actions planned, returns the ``advance(n)`` told of each one done.
    quiet_logs:
        Silence logging while the bot runs (slow-command warnings, handled errors).
    """
    from ..cog import MonitoringCog  # discord.py's side, only needed here.

    if today is not None:
        first_day = today - timedelta(days=DEMO_DAYS - 1)
        plan = plan_month(seed, first_weekday=first_day.weekday())
        start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC).timestamp()
    else:
        # The month ends now, so what the operator commands read from the demo's database
        # afterwards (the last hour's error rate, the last record) is current.
        now = SystemClock().time()
        rough_start = now - (DEMO_DAYS - 1) * 86400 - 21 * 3600
        plan = plan_month(seed, first_weekday=utc_day(rough_start).weekday())
        start = now - plan.ends_at
    clock = ManualClock(start)
    db = Database(database, config=demo_config(database), clock=clock)
    context = _quiet_logs() if quiet_logs else contextlib.nullcontext()
    members = len({member for guild in plan.guilds for member in guild.members})
    result = DemoResult(database, start, start + plan.ends_at, [], members)
    advance = progress(len(plan.actions)) if progress is not None else None
    # The demo's bot lives in this package, whose frames never take the blame for a stall: here
    # it is the bot being monitored, so its frames are the bot's own.
    count_as_own(demo_bot.__file__)
    with context:
        # Created inside: discord.py warns, rightly for a real bot, that voice is unavailable.
        bot = MusicBot()
        offline = OfflineDiscord(bot)
        try:
            await bot._async_setup_hook()
            monitoring = MonitoringCog(bot, db=db, process=SimulatedProcess())
            await bot.add_cog(monitoring)
            system = monitoring.system
            music = MusicCog(system.stats_collector, Latency(random.Random(seed + 1), clock))
            await bot.add_cog(music)
            offline.start([(g.name, g.members) for g in plan.guilds])
            buttons = QueueButtons(music)
            # Persistent, registered once the connection exists: it answers any message showing
            # its buttons.
            bot.add_view(buttons)
            gateway = SimulatedGateway(bot, random.Random(seed + 2), clock)
            gateway.connect()
            guilds = offline.guilds
            result.guilds = [(str(g.id), g.name) for g in guilds]
            admin = discord.Permissions(manage_guild=True)
            day_index = 0
            for action in plan.actions:
                moment = start + action.at
                if moment > clock.time():
                    clock.set(moment)
                today_index = int(action.at // 86400)
                if today_index != day_index:
                    # Overnight, whatever was queued played to the end.
                    for guild in guilds:
                        await music.finish_playing(guild.id)
                    day_index = today_index
                if action.at >= plan.incident_at and not music.lyrics_down:
                    # The evening starts from silence, so it plays out alike on every run.
                    for guild in guilds:
                        await music.finish_playing(guild.id)
                    music.lyrics_down = True
                if action.at >= plan.disconnect_at and not gateway.disconnects:
                    gateway.drop_and_resume(DEMO_DOWNTIME)
                if action.at >= plan.rate_limited_at and result.rate_limited is None:
                    method, url, retry_after = RATE_LIMITED_REQUEST
                    url = url.format(channel=offline.channels[guilds[0].id].id)
                    log_simulated_429(method, url, retry_after)
                    result.rate_limited = (method, url)
                guild = guilds[action.guild]
                member = offline.member(guild, action.member)
                if action.kind == "slash":
                    await offline.slash(
                        guild,
                        member,
                        action.text,
                        action.options,
                        subcommand=action.subcommand,
                        permissions=admin if action.admin else None,
                    )
                elif action.kind == "button":
                    await offline.click(guild, member, action.text, buttons.to_components())
                else:
                    await offline.message(guild, member, action.text)
                result.sent[action.kind] += 1
                if advance is not None:
                    advance(1)
            clock.set(start + plan.ends_at)
            result.disconnects = gateway.disconnects
            showcase = str(guilds[0].id)
            result.health = await system.health_check.get_full_health_report()
            # Stored as the bot's health loop stores it: the dashboard's overview shows it.
            monitoring.health_writer.submit(result.health)
            result.weekly = await system.stats_collector.generate_weekly_report(showcase)
            result.monthly = await system.stats_collector.generate_monthly_report(showcase)
            result.performance = await system.perf_monitor.get_performance_stats(showcase, 7)
            everything = await system.stats_collector.generate_report(None, plan.days, "monthly")
            result.failed = int(everything.get("failed_commands", 0))
            result.audited = await system.cmd_logger.count_audit_logs()
            gateway.close()
        finally:
            for name in ("Music", "Monitoring"):
                with contextlib.suppress(Exception):
                    await bot.remove_cog(name)
            await offline.close()
            await db.close()
    return result
