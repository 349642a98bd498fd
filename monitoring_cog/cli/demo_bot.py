"""The demo's bot: a small music bot with the commands such bots have, and none of the audio.

Its commands come in the three kinds the monitoring cog audits: hybrid (``play``, ``skip``,
``pause``, ``resume``, ``queue``, ``volume``, ``nowplaying``: run as ``!play`` or ``/play``),
prefix only (``!stop``, ``!shuffle``, ``!cover``) and slash only (``/lyrics``, ``/playlist
save|load``). Like a real music bot it tells the statistics collector about songs, skips and
pauses, and records two events of its own (``song_requested``, ``playlist_saved``, with
``record_event``); it never records a command itself: the monitoring cog audits every one through
discord.py's hooks. Its queue has buttons (:class:`QueueButtons`: a page of the queue, a
shuffle), a persistent view whose uses the cog records with no code in the view.

The time a command takes is simulated: its callback advances the injected
:class:`~monitoring_cog.clock.ManualClock` by a drawn duration (a song search is sometimes slow),
so the audit log shows realistic latencies without the demo waiting for them. One command is
the exception: ``!cover`` fetches album art with a blocking call, the classic mistake, and really
holds the event loop for :data:`COVER_FETCH_SECONDS`, so the stall monitor has a stall to blame.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

import discord
from discord import app_commands, ui
from discord.ext import commands

from ..clock import ManualClock
from ..collectors.statistics import StatisticsCollector

__all__ = (
    "CATALOGUE",
    "COVER_FETCH_SECONDS",
    "LyricsUnavailable",
    "MusicBot",
    "MusicCog",
    "Player",
    "QueueButtons",
    "Song",
    "SongNotFound",
    "fetch_cover_art",
)

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Song:
    """A track the bot can find."""

    title: str
    artist: str
    length: int
    """Seconds."""


CATALOGUE = (
    Song("Midnight City", "M83", 243),
    Song("Blinding Lights", "The Weeknd", 200),
    Song("Take Five", "Dave Brubeck", 324),
    Song("Nightcall", "Kavinsky", 258),
    Song("So What", "Miles Davis", 562),
    Song("Bohemian Rhapsody", "Queen", 354),
    Song("Feel Good Inc.", "Gorillaz", 222),
    Song("Resonance", "Home", 212),
    Song("Back in Black", "AC/DC", 255),
    Song("Clair de Lune", "Debussy", 300),
    Song("Tadow", "Masego", 302),
    Song("Everlong", "Foo Fighters", 250),
    Song("Sweater Weather", "The Neighbourhood", 240),
    Song("Redbone", "Childish Gambino", 327),
    Song("Around the World", "Daft Punk", 429),
    Song("Summertime", "Ella Fitzgerald", 298),
    Song("Smells Like Teen Spirit", "Nirvana", 301),
    Song("Let It Happen", "Tame Impala", 467),
    Song("Autumn Leaves", "Chet Baker", 420),
    Song("Dreams", "Fleetwood Mac", 257),
    Song("Lofi Rain", "Chillhop Essentials", 150),
    Song("Snowman", "WYS", 134),
    Song("Tokyo Drift", "Teriyaki Boyz", 255),
    Song("Hotel California", "Eagles", 391),
)
_BY_TITLE = {song.title.lower(): song for song in CATALOGUE}


COVER_FETCH_SECONDS = 0.45
"""How long ``!cover`` blocks the event loop (real seconds: the demo waits for them)."""


def fetch_cover_art(song: Song | None) -> str:
    """The album art's address, fetched the way a bot should not: with a blocking call (a
    synchronous HTTP client's, here a sleep), on the event loop."""
    time.sleep(COVER_FETCH_SECONDS)  # Blocks the whole bot, heartbeat included.
    name = song.title.lower().replace(" ", "-") if song else "silence"
    return f"https://covers.example/{name}.jpg"


class SongNotFound(LookupError):
    """A search found nothing."""


class LyricsUnavailable(TimeoutError):
    """The lyrics provider did not answer in time."""


@dataclass
class Player:
    """One guild's playback state."""

    current: Song | None = None
    requester: int | None = None
    queue: deque[tuple[Song, int]] = field(default_factory=deque)
    paused: bool = False
    volume: int = 80
    playlists: dict[str, list[Song]] = field(default_factory=dict)


@dataclass
class Latency:
    """Draws how long each command takes; the clock is advanced by as much."""

    rng: random.Random
    clock: ManualClock
    slow_search_rate: float = 0.08
    """Share of song searches that hit a slow upstream (2 to 4.5 s)."""

    def spend(self, low: float, high: float) -> None:
        """Advance the clock by a duration between ``low`` and ``high`` seconds."""
        self.clock.advance(round(self.rng.uniform(low, high), 4))

    def search(self) -> None:
        """A song search: usually quick, sometimes slow."""
        if self.rng.random() < self.slow_search_rate:
            self.spend(2.0, 4.5)
        else:
            self.spend(0.25, 1.1)


# discord.py's overloads of hybrid_command defeat mypy's inference on cog methods (its
# commands.command is fine); the decorator is the same, only its type is loosened.
_Callback = Callable[..., Coroutine[Any, Any, None]]
_hybrid_command = cast(
    "Callable[..., Callable[[_Callback], commands.HybridCommand[Any, ..., None]]]",
    commands.hybrid_command,
)


def _playing(ctx: commands.Context[Any]) -> bool:
    cog = ctx.cog
    if (
        isinstance(cog, MusicCog)
        and ctx.guild is not None
        and cog.player(ctx.guild.id).current is not None
    ):
        return True
    raise commands.CheckFailure("Nothing is playing.")


QUEUE_PAGES = 4
"""Pages of the queue a member can turn to (buttons ``queue:page:1`` to ``queue:page:4``)."""
QUEUE_PAGE_SIZE = 5


class _Button(ui.Button["QueueButtons"]):
    """A button whose callback is the given coroutine function."""

    def __init__(
        self,
        label: str,
        custom_id: str,
        action: Callable[[discord.Interaction[Any]], Coroutine[Any, Any, None]],
    ) -> None:
        super().__init__(label=label, custom_id=custom_id)
        self.action = action

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await self.action(interaction)


class QueueButtons(ui.View):
    """The buttons under the queue: one per page, and a shuffle. Persistent (fixed custom ids,
    no timeout), as a bot registers with ``bot.add_view`` so they answer after a restart."""

    def __init__(self, music: MusicCog) -> None:
        super().__init__(timeout=None)
        self.music = music
        for page in range(1, QUEUE_PAGES + 1):
            self.add_item(_Button(str(page), f"queue:page:{page}", self._page_action(page)))
        self.add_item(_Button("Shuffle", "queue:shuffle", self._shuffle))

    def _page_action(
        self, page: int
    ) -> Callable[[discord.Interaction[Any]], Coroutine[Any, Any, None]]:
        async def turn(interaction: discord.Interaction[Any]) -> None:
            await self._show_page(interaction, page)

        return turn

    async def _show_page(self, interaction: discord.Interaction[Any], page: int) -> None:
        assert interaction.guild_id is not None
        self.music.latency.spend(0.02, 0.1)
        queue = list(self.music.player(interaction.guild_id).queue)
        start = (page - 1) * QUEUE_PAGE_SIZE
        if page > 2 and start >= len(queue):
            # A button of an old message: the queue has shrunk since (the view's error).
            raise IndexError(f"The queue has no page {page} any more")
        titles = ", ".join(song.title for song, _ in queue[start : start + QUEUE_PAGE_SIZE])
        await interaction.response.edit_message(content=f"Page {page}: {titles or 'nothing'}")

    async def _shuffle(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        self.music.latency.spend(0.02, 0.06)
        player = self.music.player(interaction.guild_id)
        items = list(player.queue)
        self.music.latency.rng.shuffle(items)
        player.queue = deque(items)
        await interaction.response.edit_message(content="Shuffled.")


class MusicCog(commands.Cog, name="Music"):
    """Play, skip, pause, queue: the everyday commands of a music bot.

    Parameters
    ----------
    stats:
        Where songs, skips and pauses are recorded (the monitoring system's collector).
    latency:
        How long commands take, in simulated time.
    """

    playlist = app_commands.Group(name="playlist", description="Save and load queues")

    def __init__(self, stats: StatisticsCollector, latency: Latency) -> None:
        self.stats = stats
        self.latency = latency
        self.players: dict[int, Player] = {}
        self.lyrics_down = False
        """Whether the lyrics provider is failing (the demo's incident)."""

    def player(self, guild_id: int) -> Player:
        """The player of a guild, created on first use."""
        player = self.players.get(guild_id)
        if player is None:
            player = self.players[guild_id] = Player()
        return player

    async def _start(self, guild_id: int, song: Song, requester: int) -> None:
        player = self.player(guild_id)
        player.current, player.requester, player.paused = song, requester, False
        await self.stats.record_song_played(guild_id, duration=song.length, user_id=requester)

    async def finish_playing(self, guild_id: int) -> None:
        """Let the queue play out to the end (the session is over; nobody skips any more)."""
        player = self.player(guild_id)
        while player.queue:
            song, requester = player.queue.popleft()
            await self._start(guild_id, song, requester)
        player.current = player.requester = None

    @_hybrid_command()
    @commands.guild_only()
    async def play(self, ctx: commands.Context[Any], *, query: str) -> None:
        """Play a song, or add it to the queue."""
        assert ctx.guild is not None
        self.latency.search()
        song = _BY_TITLE.get(query.lower())
        if song is None:
            raise SongNotFound(f"No results for {query!r}")
        await self.stats.record_event(ctx.guild.id, "song_requested", user_id=ctx.author.id)
        player = self.player(ctx.guild.id)
        if player.current is None:
            await self._start(ctx.guild.id, song, ctx.author.id)
            await ctx.send(f"Now playing **{song.title}** by {song.artist}")
        else:
            player.queue.append((song, ctx.author.id))
            await ctx.send(f"Queued **{song.title}** (position {len(player.queue)})")

    @_hybrid_command()
    @commands.guild_only()
    @commands.check(_playing)
    async def skip(self, ctx: commands.Context[Any]) -> None:
        """Skip the current song."""
        assert ctx.guild is not None
        self.latency.spend(0.04, 0.2)
        player = self.player(ctx.guild.id)
        await self.stats.record_skip(ctx.guild.id, user_id=ctx.author.id)
        if player.queue:
            song, requester = player.queue.popleft()
            await self._start(ctx.guild.id, song, requester)
            await ctx.send(f"Skipped. Now playing **{song.title}**")
        else:
            player.current = player.requester = None
            await ctx.send("Skipped. The queue is empty.")

    @_hybrid_command()
    @commands.guild_only()
    @commands.check(_playing)
    async def pause(self, ctx: commands.Context[Any]) -> None:
        """Pause playback."""
        assert ctx.guild is not None
        self.latency.spend(0.03, 0.09)
        self.player(ctx.guild.id).paused = True
        await self.stats.record_pause(ctx.guild.id, user_id=ctx.author.id)
        await ctx.send("Paused.")

    @_hybrid_command()
    @commands.guild_only()
    @commands.check(_playing)
    async def resume(self, ctx: commands.Context[Any]) -> None:
        """Resume playback."""
        assert ctx.guild is not None
        self.latency.spend(0.03, 0.09)
        self.player(ctx.guild.id).paused = False
        await ctx.send("Resumed.")

    @_hybrid_command()
    @commands.guild_only()
    async def queue(self, ctx: commands.Context[Any]) -> None:
        """Show what is playing and what comes next."""
        assert ctx.guild is not None
        self.latency.spend(0.02, 0.12)
        player = self.player(ctx.guild.id)
        upcoming = ", ".join(song.title for song, _ in list(player.queue)[:5]) or "nothing"
        await ctx.send(f"Up next: {upcoming}")

    @_hybrid_command()
    @commands.guild_only()
    async def volume(self, ctx: commands.Context[Any], level: commands.Range[int, 0, 100]) -> None:
        """Set the volume (0 to 100)."""
        assert ctx.guild is not None
        self.latency.spend(0.02, 0.06)
        self.player(ctx.guild.id).volume = level
        await ctx.send(f"Volume set to {level} %")

    @_hybrid_command(aliases=["np"])
    @commands.guild_only()
    async def nowplaying(self, ctx: commands.Context[Any]) -> None:
        """Show the current song."""
        assert ctx.guild is not None
        self.latency.spend(0.01, 0.05)
        current = self.player(ctx.guild.id).current
        await ctx.send(f"Now playing: {current.title if current else 'nothing'}")

    @commands.command()
    @commands.guild_only()
    async def stop(self, ctx: commands.Context[Any]) -> None:
        """Stop playback and clear the queue."""
        assert ctx.guild is not None
        self.latency.spend(0.05, 0.15)
        player = self.player(ctx.guild.id)
        player.queue.clear()
        player.current = player.requester = None
        await ctx.send("Stopped.")

    @commands.command()
    @commands.guild_only()
    async def shuffle(self, ctx: commands.Context[Any]) -> None:
        """Shuffle the queue."""
        assert ctx.guild is not None
        self.latency.spend(0.02, 0.06)
        player = self.player(ctx.guild.id)
        items = list(player.queue)
        self.latency.rng.shuffle(items)
        player.queue = deque(items)
        await ctx.send("Shuffled.")

    @commands.command()
    @commands.guild_only()
    async def cover(self, ctx: commands.Context[Any]) -> None:
        """Show the current song's album art."""
        assert ctx.guild is not None
        current = self.player(ctx.guild.id).current
        await ctx.send(fetch_cover_art(current))

    @app_commands.command()
    @app_commands.guild_only()
    async def lyrics(self, interaction: discord.Interaction[Any]) -> None:
        """Show the lyrics of the current song."""
        assert interaction.guild_id is not None
        if self.lyrics_down:
            self.latency.spend(3.0, 3.0)  # The provider's timeout.
            raise LyricsUnavailable("The lyrics provider did not answer within 3 s")
        self.latency.spend(0.4, 1.6)
        current = self.player(interaction.guild_id).current
        title = current.title if current else "nothing"
        await interaction.response.send_message(f"Lyrics of {title}: ...")

    @playlist.command(name="save")
    async def playlist_save(self, interaction: discord.Interaction[Any], name: str) -> None:
        """Save the queue as a playlist."""
        assert interaction.guild_id is not None
        self.latency.spend(0.05, 0.3)
        player = self.player(interaction.guild_id)
        songs = ([player.current] if player.current else []) + [s for s, _ in player.queue]
        player.playlists[name] = songs
        await self.stats.record_event(
            interaction.guild_id, "playlist_saved", len(songs), user_id=interaction.user.id
        )
        await interaction.response.send_message(f"Saved {len(songs)} songs as {name}")

    @playlist.command(name="load")
    async def playlist_load(self, interaction: discord.Interaction[Any], name: str) -> None:
        """Queue a saved playlist."""
        assert interaction.guild_id is not None
        self.latency.spend(0.1, 0.5)
        player = self.player(interaction.guild_id)
        songs = player.playlists.get(name)
        if songs is None:
            raise KeyError(f"No playlist called {name!r}")
        for song in songs:
            player.queue.append((song, interaction.user.id))
        await interaction.response.send_message(f"Queued {len(songs)} songs from {name}")


class MusicBot(commands.Bot):
    """The demo's bot: prefix ``!``, every intent, and an error reply like real bots have."""

    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.all(), help_command=None)

    async def on_command_error(
        self, context: commands.Context[Any], exception: commands.CommandError, /
    ) -> None:
        """Tell the member what went wrong, as a music bot would."""
        if isinstance(exception, commands.CommandNotFound):
            return
        await context.send(f"Sorry, that did not work: {exception}")
