"""Component uses from real dispatch to the stored rollups, on both backends.

The bot's real views, select and modal are used through ``parse_interaction_create``; the cog
records into the ``backend`` fixture's database; the figures are read back through the storage's
own read (``component_totals``) and with plain SQL, and compared with sums worked out by hand.
"""

from __future__ import annotations

import dataclasses

import pytest
from backends import Backend
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
from fakes import NOW
from harness import Harness, Monitored, make_config
from interactions import Responses, run_command

from monitoring_cog import Database, ManualClock
from monitoring_cog.analysis.totals import ComponentTotals
from monitoring_cog.cli.payloads import STRING_SELECT, option, subcommand
from monitoring_cog.config import ComponentsConfig

TICKETS = (1051316846342131803, 1051316846342131999)
CAP = 4


@pytest.fixture
async def stored(
    harness: Harness, backend: Backend, clock: ManualClock, responses: Responses
) -> Monitored:
    config = dataclasses.replace(
        make_config(flush_interval=3600.0),
        database=backend.database_config(),
        components=ComponentsConfig(max_per_guild=CAP),
    )
    db = Database(backend.target, config=config, clock=clock)
    harness.databases.append(db)
    bot = await harness.new_bot()
    cog = await harness.load(bot, db=db)
    harness.configure(bot)
    return Monitored(bot, cog, harness)


async def test_uses_failures_durations_and_users_are_stored_per_component(
    stored: Monitored, backend: Backend
) -> None:
    bot, clock = stored.bot, stored.harness.clock
    for ticket in TICKETS:
        bot.add_view(TicketView(clock, ticket))
    bot.add_view(HandledView(clock))
    colours = ColourView(clock)
    message = view_message(bot, colours)
    bot._connection.store_view(colours, int(message["id"]))
    modal = FeedbackModal(clock, custom_id=f"feedback:{TICKETS[0]}")
    bot._connection.store_view(modal)

    for ticket in TICKETS:
        await use(bot, component_payload(bot, f"ticket:close:{ticket}", user=member(0)))
    await use(bot, component_payload(bot, f"ticket:close:{TICKETS[1]}", user=member(1)))
    select = component_payload(
        bot, "colour", component_type=STRING_SELECT, values=["Red"], message=message
    )
    await use(bot, select)
    await use(bot, component_payload(bot, "handled:go", user=member(1)))
    await use(bot, modal_payload(bot, modal.custom_id, {"feedback:text": "ok"}))
    # Past the cap of names for the day: counted, under "(other)".
    await use(bot, component_payload(bot, "legacy:vote:7"))
    await use(bot, component_payload(bot, f"ticket:broken:{TICKETS[0]}"))

    db = stored.cog.db
    await db.flush()
    storage = await db.storage()
    day = NOW.date()
    totals = await storage.component_totals(str(stored.guild.id), day, day)
    assert totals == [
        ComponentTotals("ticket:close:{id}", "button", 3, 0, 3 * CLOSE, CLOSE, 2),
        ComponentTotals("(other)", "button", 2, 1, FAIL, FAIL, 1),
        ComponentTotals("colour", "select", 1, 0, PICK, PICK, 1),
        ComponentTotals("feedback:{id}", "modal", 1, 0, SUBMIT, SUBMIT, 1),
        ComponentTotals("handled:go", "button", 1, 1, FAIL + HANDLE, FAIL + HANDLE, 1),
    ]
    # Their own kind: no audit row, no command counted.
    assert backend.rows("SELECT COUNT(*) FROM audit_logs") == [(0,)]
    assert backend.rows("SELECT COUNT(*) FROM command_stats") == [(0,)]
    assert backend.rows("SELECT COALESCE(SUM(commands), 0) FROM bot_stats") == [(0,)]
    # One row per guild, day, component and kind; one per user of each.
    assert backend.rows("SELECT COUNT(*) FROM component_stats") == [(5,)]
    assert backend.rows("SELECT COUNT(*) FROM component_users") == [(6,)]


async def test_stats_weekly_shows_the_components_used_beside_the_commands(
    stored: Monitored, responses: Responses
) -> None:
    bot, clock = stored.bot, stored.harness.clock
    bot.add_view(TicketView(clock, TICKETS[0]))
    bot.add_view(HandledView(clock))
    await run_command(bot, "add", options=[option("a", 1)])
    for user in (member(0), member(1)):
        await use(bot, component_payload(bot, f"ticket:close:{TICKETS[0]}", user=user))
    await use(bot, component_payload(bot, "handled:go"))
    responses.clear()

    await run_command(bot, "stats", options=[subcommand("weekly")])

    followup = responses.sent[-1]
    (embed,) = followup.embeds
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Top commands"] == "`add`: 1"
    assert fields["🔘 Top components"].splitlines() == [
        "`ticket:close:{id}` (button): 2 uses · 0 failed · 2 users · 250 ms",
        "`handled:go` (button): 1 uses · 1 failed · 1 users · 94 ms",
    ]
