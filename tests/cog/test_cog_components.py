"""Buttons, selects and modals recorded as their own kind, through discord.py's real dispatch.

Real views (a bot's own ``View`` subclasses, persistent or bound to a message), a real ``Modal``
and (discord.py 2.4 and later) a real ``DynamicItem`` are used by INTERACTION_CREATE payloads
handed to ``parse_interaction_create`` (see ``component_support.py``). What the capture hands to
the recorder is read at its boundary (every record still goes on to the recorder).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from component_support import (
    CLOSE,
    FAIL,
    HANDLE,
    PICK,
    SUBMIT,
    ColourView,
    FeedbackModal,
    HandledView,
    TicketView,
    component_payload,
    member,
    modal_payload,
    use,
    view_message,
)
from discord import ui
from fakes import NOW
from harness import Harness, Monitored, make_config
from interactions import Responses, run_command

from monitoring_cog.cli.payloads import STRING_SELECT
from monitoring_cog.cog.components import ComponentCapture
from monitoring_cog.config import ComponentsConfig
from monitoring_cog.recording.records import DM_GUILD_ID, ComponentRecord

TICKETS = (1051316846342131803, 1051316846342131999)
START = NOW.timestamp()

_VIEW_TASK_OWNER = next(k for k in ui.View.__mro__ if "_scheduled_task" in vars(k))
PRISTINE = {
    (_VIEW_TASK_OWNER, "_scheduled_task"): vars(_VIEW_TASK_OWNER)["_scheduled_task"],
    (ui.Modal, "_scheduled_task"): vars(ui.Modal)["_scheduled_task"],
}
"""discord.py's own methods, as imported (before any cog was loaded)."""
if hasattr(discord.ui.view.ViewStore, "schedule_dynamic_item_call"):
    _store = discord.ui.view.ViewStore
    PRISTINE[(_store, "schedule_dynamic_item_call")] = vars(_store)["schedule_dynamic_item_call"]

needs_dynamic_items = pytest.mark.skipif(
    not hasattr(ui, "DynamicItem"), reason="DynamicItem arrived in discord.py 2.4"
)


def spy(capture: ComponentCapture | None) -> list[ComponentRecord]:
    """Every record ``capture`` submits from now on, in order (each still goes to the recorder)."""
    assert capture is not None
    records: list[ComponentRecord] = []
    submit = capture._submit

    def spied(record: ComponentRecord) -> bool:
        records.append(record)
        return submit(record)

    capture._submit = spied  # type: ignore[method-assign]
    return records


def patched_now() -> dict[tuple[type, str], Any]:
    return {(owner, name): vars(owner)[name] for owner, name in PRISTINE}


@pytest.fixture
def used(monitored: Monitored) -> list[ComponentRecord]:
    return spy(monitored.cog.components)


def guild_id(m: Monitored) -> str:
    return str(m.guild.id)


# -- what is recorded ----------------------------------------------------------------------------


async def test_buttons_selects_and_modals_are_recorded_with_their_names_and_durations(
    monitored: Monitored, used: list[ComponentRecord], responses: Responses
) -> None:
    bot, clock = monitored.bot, monitored.harness.clock
    tickets = [TicketView(clock, ticket) for ticket in TICKETS]
    for view in tickets:
        bot.add_view(view)
    colours = ColourView(clock)
    message = view_message(bot, colours)
    bot._connection.store_view(colours, int(message["id"]))  # As send(view=...) does.
    named, unnamed = FeedbackModal(clock, custom_id=f"feedback:{TICKETS[0]}"), FeedbackModal(clock)
    for modal in (named, unnamed):
        bot._connection.store_view(modal)  # As interaction.response.send_modal does.
    refresh = colours.refresh.custom_id
    assert refresh is not None and len(refresh) == 32  # Made up by discord.py.

    for ticket in TICKETS:
        await use(bot, component_payload(bot, f"ticket:close:{ticket}", user=member(0)))
    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}", user=member(1)))
    await use(
        bot,
        component_payload(
            bot, "colour", component_type=STRING_SELECT, values=["Blue"], message=message
        ),
    )
    await use(bot, component_payload(bot, refresh, message=message))
    await use(bot, modal_payload(bot, named.custom_id, {"feedback:text": "great"}))
    await use(bot, modal_payload(bot, unnamed.custom_id, {"feedback:text": "fine"}))

    # The bot's callbacks ran as they would without monitoring, and answered.
    assert [view.ran for view in tickets] == [["close", "close"], ["close"]]
    assert colours.picked == [["Blue"]]
    assert (named.received, unnamed.received) == (["great"], ["fine"])
    assert [sent.content for sent in responses.sent if sent.content] == ["closed"] * 3 + [
        "thanks"
    ] * 2
    guild = guild_id(monitored)
    first, second = str(member(0).id), str(member(1).id)
    expected = [
        ("ticket:close:{id}", "button", CLOSE, first),
        ("ticket:close:{id}", "button", CLOSE, first),
        ("ticket:close:{id}", "button", CLOSE, second),
        ("colour", "select", PICK, first),
        ("ColourView.refresh", "button", PICK, first),
        ("feedback:{id}", "modal", SUBMIT, first),
        ("FeedbackModal", "modal", SUBMIT, first),
    ]
    assert [(r.component, r.kind, r.duration, r.user_id) for r in used] == expected
    assert {(r.guild_id, r.success) for r in used} == {(guild, True)}
    # Each dated when it arrived: the clock only moves inside the callbacks.
    starts, at = [], START
    for _, _, duration, _ in expected:
        starts.append(at)
        at += duration
    assert [r.at for r in used] == starts


async def test_failures_in_a_callback_and_in_on_error_are_recorded(
    monitored: Monitored,
    used: list[ComponentRecord],
    responses: Responses,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, clock = monitored.bot, monitored.harness.clock
    ticket = TicketView(clock, TICKETS[0])
    handled = HandledView(clock)
    bot.add_view(ticket)
    bot.add_view(handled)
    failing = FeedbackModal(clock, fail=True, custom_id="feedback:form")
    bot._connection.store_view(failing)

    # discord.py's own on_error (which logs), a View subclass's override, a Modal's default.
    caplog.set_level(logging.ERROR, logger="discord.ui")
    await use(bot, component_payload(bot, f"ticket:broken:{TICKETS[0]}"))
    await use(bot, component_payload(bot, "handled:go"))
    await use(bot, modal_payload(bot, "feedback:form", {"feedback:text": "x"}))
    # A view whose on_error fails too (it takes the custom_id over): the error leaves
    # discord.py's task, as it did before.
    raising = HandledView(clock, handler_fails=True)
    bot.add_view(raising)
    tasks = await use(bot, component_payload(bot, "handled:go"))

    assert ticket.ran == ["broken"]
    assert handled.handled == ["ValueError"] and raising.handled == ["ValueError"]
    (task,) = tasks
    assert isinstance(task.exception(), LookupError)
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("discord.ui")]
    assert any(text.startswith("Ignoring exception in view") for text in logged), logged
    assert any(text.startswith("Ignoring exception in modal") for text in logged), logged
    assert [(r.component, r.kind, r.success, r.duration) for r in used] == [
        ("ticket:broken:{id}", "button", False, FAIL),
        # The bot's own on_error ran within the use: its time is the use's.
        ("handled:go", "button", False, FAIL + HANDLE),
        ("feedback:form", "modal", False, SUBMIT),
        ("handled:go", "button", False, FAIL + HANDLE),
    ]


async def test_a_view_interaction_check_that_refuses_is_a_use_that_did_not_fail(
    monitored: Monitored, used: list[ComponentRecord], responses: Responses
) -> None:
    class Members(HandledView):
        async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
            return False

    view = Members(monitored.harness.clock)
    monitored.bot.add_view(view)

    await use(monitored.bot, component_payload(monitored.bot, "handled:go"))

    assert view.handled == []  # The callback never ran.
    assert [(r.component, r.success, r.duration) for r in used] == [("handled:go", True, 0.0)]


async def test_a_custom_id_no_view_owns_counts_as_a_use_of_unknown_duration(
    monitored: Monitored, used: list[ComponentRecord], responses: Responses
) -> None:
    bot = monitored.bot
    seen: list[str] = []

    @bot.listen("on_interaction")
    async def own_handler(interaction: discord.Interaction[Any]) -> None:
        data: Any = interaction.data
        seen.append(data["custom_id"])
        monitored.harness.clock.advance(1.0)

    await use(bot, component_payload(bot, "legacy:vote:42:yes"))
    await use(bot, component_payload(bot, "legacy:vote:43:no", in_guild=False))

    assert seen == ["legacy:vote:42:yes", "legacy:vote:43:no"]
    assert [(r.guild_id, r.component, r.kind, r.success, r.duration) for r in used] == [
        (guild_id(monitored), "legacy:vote:{n}:yes", "button", True, 0.0),
        (DM_GUILD_ID, "legacy:vote:{n}:no", "button", True, 0.0),
    ]


async def test_components_are_neither_audit_rows_nor_commands(
    monitored: Monitored, used: list[ComponentRecord], responses: Responses
) -> None:
    bot = monitored.bot
    bot.add_view(TicketView(monitored.harness.clock, TICKETS[0]))
    await run_command(bot, "add", options=[{"name": "a", "type": 4, "value": 1}])

    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}"))
    await use(bot, component_payload(bot, "nobody:home"))

    assert len(used) == 2
    rows = await monitored.rows()
    assert [row["command"] for row in rows] == ["add"]  # The slash command alone.
    # Nor in the in-memory latency metrics, which are per command.
    assert set(monitored.cog.system.perf_monitor.get_metrics()) == {"command:add"}


@needs_dynamic_items
async def test_dynamic_items_are_named_by_their_template(
    monitored: Monitored,
    used: list[ComponentRecord],
    responses: Responses,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, clock = monitored.bot, monitored.harness.clock
    pressed: list[int] = []

    class Counter(ui.DynamicItem[ui.Button[Any]], template=r"counter:(?P<count>[0-9]+)"):  # type: ignore[call-arg,misc]
        def __init__(self, count: int) -> None:
            super().__init__(ui.Button(label=str(count), custom_id=f"counter:{count}"))
            self.count = count

        @classmethod
        async def from_custom_id(
            cls, interaction: discord.Interaction[Any], item: ui.Item[Any], match: Any, /
        ) -> Counter:
            return cls(int(match["count"]))

        async def callback(self, interaction: discord.Interaction[Any]) -> None:
            pressed.append(self.count)
            clock.advance(CLOSE)
            if self.count == 13:
                raise RuntimeError("unlucky")
            await interaction.response.defer()

    bot.add_dynamic_items(Counter)
    caplog.set_level(logging.ERROR, logger="discord.ui.view")
    for count in (1, 2, 13):
        shown = ui.View(timeout=None)
        shown.add_item(ui.Button(label=str(count), custom_id=f"counter:{count}"))
        message = view_message(bot, shown)
        await use(bot, component_payload(bot, f"counter:{count}", message=message))

    assert pressed == [1, 2, 13]
    assert any("dynamic item callback" in r.getMessage() for r in caplog.records)  # As before.
    assert [(r.component, r.kind, r.success, r.duration) for r in used] == [
        ("counter:{count}", "button", True, CLOSE),
        ("counter:{count}", "button", True, CLOSE),
        ("counter:{count}", "button", False, CLOSE),
    ]


# -- names bounded per guild and day -------------------------------------------------------------


@pytest.fixture
async def two_guilds(harness: Harness, responses: Responses) -> Monitored:
    bot = await harness.new_bot()
    cog = await harness.load(bot, make_config(flush_interval=3600.0))
    harness.configure(bot, guilds=2)
    return Monitored(bot, cog, harness)


async def test_names_past_the_cap_of_a_guild_and_day_are_other(
    two_guilds: Monitored, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = two_guilds
    capture = m.cog.components
    assert capture is not None
    assert capture.names.max_per_guild == ComponentsConfig().max_per_guild == 100
    capture.names.max_per_guild = 2
    used = spy(capture)
    bot, config = m.bot, dpytest.get_config()
    first, second = config.guilds
    other_member = next(x for x in second.members if not x.bot)

    async def press(custom_id: str, guild: discord.Guild = first) -> None:
        payload = component_payload(bot, custom_id, user=member() if guild is first else None)
        if guild is second:
            payload["guild_id"] = str(second.id)
            channel = second.text_channels[0]
            payload["channel_id"] = payload["channel"]["id"] = str(channel.id)
            payload["channel"]["guild_id"] = str(second.id)
            payload["member"]["user"]["id"] = str(other_member.id)
        await use(bot, payload)

    for custom_id in ("a:1", "b:2", "a:3", "c:4", "d:5", "b:6"):
        await press(custom_id)
    await press("z:1", second)
    m.harness.clock.advance(timedelta(days=1).total_seconds())
    await press("c:7")

    day_one = [r.component for r in used if r.guild_id == str(first.id)]
    assert day_one == ["a:{n}", "b:{n}", "a:{n}", "(other)", "(other)", "b:{n}", "c:{n}"]
    assert [r.component for r in used if r.guild_id == str(second.id)] == ["z:{n}"]


# -- configuration, unload, reload ---------------------------------------------------------------


async def test_disabled_records_nothing_and_leaves_discord_py_alone(
    harness: Harness, responses: Responses
) -> None:
    base = make_config(flush_interval=3600.0)
    config = dataclasses.replace(base, components=ComponentsConfig(enabled=False))
    bot = await harness.new_bot()
    cog = await harness.load(bot, config)
    harness.configure(bot)
    assert cog.components is None
    assert patched_now() == PRISTINE
    view = TicketView(harness.clock, TICKETS[0])
    bot.add_view(view)

    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}"))

    assert view.ran == ["close"]
    assert "on_error" not in vars(view)


async def test_unload_leaves_discord_py_as_it_was(
    monitored: Monitored, used: list[ComponentRecord], responses: Responses
) -> None:
    bot, clock = monitored.bot, monitored.harness.clock
    assert all(patched_now()[key] is not PRISTINE[key] for key in PRISTINE)
    view, handled = TicketView(clock, TICKETS[0]), HandledView(clock)
    bot.add_view(view)
    bot.add_view(handled)
    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}"))
    await use(bot, component_payload(bot, "handled:go"))
    assert "on_error" in vars(view) and "on_error" in vars(handled)  # Wrapped on first use.
    logger_filters = list(logging.getLogger("discord.ui.view").filters)

    await bot.remove_cog("Monitoring")

    assert patched_now() == PRISTINE
    # The views' own on_error is back: the class's for both.
    assert "on_error" not in vars(view) and "on_error" not in vars(handled)
    assert handled.on_error.__func__ is HandledView.on_error  # type: ignore[attr-defined]
    assert len(logging.getLogger("discord.ui.view").filters) == len(logger_filters) - 1
    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}"))
    await use(bot, component_payload(bot, "handled:go"))
    assert view.ran == ["close", "close"] and handled.handled == ["ValueError"] * 2
    assert len(used) == 2  # Nothing after the unload.


async def test_a_bots_own_on_error_set_on_the_view_is_called_and_given_back(
    monitored: Monitored, used: list[ComponentRecord], responses: Responses
) -> None:
    bot, clock = monitored.bot, monitored.harness.clock
    view = TicketView(clock, TICKETS[0])
    calls: list[str] = []

    async def own_on_error(interaction: Any, error: Exception, item: Any, /) -> None:
        calls.append(type(error).__name__)

    view.on_error = own_on_error  # type: ignore[method-assign]
    bot.add_view(view)
    await use(bot, component_payload(bot, f"ticket:broken:{TICKETS[0]}"))
    assert calls == ["RuntimeError"]
    assert [r.success for r in used] == [False]

    await bot.remove_cog("Monitoring")

    assert vars(view)["on_error"] is own_on_error


async def test_reloading_the_extension_records_each_use_once(
    harness: Harness, responses: Responses
) -> None:
    bot = await harness.new_bot()
    cog = await harness.load_extension(bot, "[recording]\nflush_interval = 3600\n")
    harness.configure(bot)
    view, handled = TicketView(harness.clock, TICKETS[0]), HandledView(harness.clock)
    bot.add_view(view)
    bot.add_view(handled)
    before = spy(cog.components)
    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}"))
    await use(bot, component_payload(bot, "handled:go"))

    await bot.reload_extension("monitoring_cog")

    reloaded: Any = bot.get_cog("Monitoring")
    assert reloaded is not cog
    after = spy(reloaded.components)
    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}"))
    await use(bot, component_payload(bot, "handled:go"))
    assert [(r.component, r.success) for r in before] == [
        ("ticket:close:{id}", True),
        ("handled:go", False),
    ]
    assert [(r.component, r.success) for r in after] == [
        ("ticket:close:{id}", True),
        ("handled:go", False),
    ]
    # One wrapper over discord.py's own method, not one per load.
    patches = reloaded.components._patches
    assert {(p.owner, p.name): p.original for p in patches} == PRISTINE
    # The view's on_error was unwrapped at unload and wrapped once again since.
    hook = vars(handled)["on_error"]
    assert hook._monitoring_previous is None
    assert handled.handled == ["ValueError"] * 2


async def test_a_button_that_reloads_the_extension_is_recorded_once(
    harness: Harness, responses: Responses
) -> None:
    bot = await harness.new_bot()
    await harness.load_extension(bot, "[recording]\nflush_interval = 3600\n")
    harness.configure(bot)

    class Admin(ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @ui.button(label="Reload", custom_id="admin:reload")
        async def reload(self, interaction: discord.Interaction[Any], button: Any) -> None:
            await bot.reload_extension("monitoring_cog")
            await interaction.response.send_message("reloaded", ephemeral=True)

    bot.add_view(Admin())
    bot.add_view(TicketView(harness.clock, TICKETS[0]))
    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}"))
    started = time.perf_counter()
    await use(bot, component_payload(bot, "admin:reload"))
    took = time.perf_counter() - started
    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}"))

    reloaded: Any = bot.get_cog("Monitoring")
    await reloaded.db.flush()
    storage = await reloaded.db.storage()
    today = datetime.now(UTC).date()
    totals = {
        (t.component, t.kind): (t.uses, t.failures)
        for t in await storage.component_totals(
            str(dpytest.get_config().guilds[0].id), today, today
        )
    }
    assert totals == {("ticket:close:{id}", "button"): (2, 0), ("admin:reload", "button"): (1, 0)}
    (reload_use,) = [
        t
        for t in await storage.component_totals(None, today, today)
        if t.component == "admin:reload"
    ]
    # Timed on the real clock, from before the reload to after it.
    assert 0.0 < reload_use.duration_sum <= took


async def test_a_use_cancelled_before_it_starts_leaves_nothing_behind(
    monitored: Monitored, used: list[ComponentRecord], responses: Responses
) -> None:
    bot = monitored.bot
    view = TicketView(monitored.harness.clock, TICKETS[0])
    bot.add_view(view)
    before = asyncio.all_tasks()
    bot._connection.parse_interaction_create(  # type: ignore[arg-type]
        component_payload(bot, f"ticket:close:{TICKETS[0]}")
    )
    (task,) = [t for t in asyncio.all_tasks() - before if t.get_name().startswith("discord-ui-")]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task.cancel()  # As a bot closing cancels its tasks, before this one's first step.
        await asyncio.wait({task})
        del task
        gc.collect()

    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []
    assert view.ran == [] and used == []


async def test_a_discord_py_that_calls_differently_is_still_counted_not_timed(
    monitored: Monitored,
    used: list[ComponentRecord],
    responses: Responses,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, clock = monitored.bot, monitored.harness.clock
    view = TicketView(clock, TICKETS[0])
    bot.add_view(view)
    capture = monitored.cog.components
    assert capture is not None
    # As a later discord.py might: the arguments in another order. The wrapper steps aside.
    (item, *_) = view.children
    coroutine = view._scheduled_task(object(), item)  # type: ignore[arg-type]
    coroutine.close()
    assert any("no longer recorded" in r.getMessage() for r in caplog.records)

    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}"))

    assert view.ran == ["close"]  # discord.py's own method ran the callback.
    assert [(r.component, r.success, r.duration) for r in used] == [
        ("ticket:close:{id}", True, 0.0)
    ]
    assert monitored.cog.db.errors.by_operation == {"ComponentCapture.view": 1}
