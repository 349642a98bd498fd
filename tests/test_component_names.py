"""Component names: custom_ids with their variable parts replaced, templates, the per-guild cap."""

from __future__ import annotations

import pytest

from monitoring_cog.recording.component_names import (
    MAX_NAME_LENGTH,
    OTHER_COMPONENT,
    ComponentNames,
    normalise_custom_id,
    template_name,
)


@pytest.mark.parametrize(
    ("custom_id", "name"),
    [
        ("ticket:close:1051316846342131803", "ticket:close:{id}"),
        ("ticket:close:105131684634213", "ticket:close:{id}"),  # 15 digits: an id.
        ("page:10513168463421", "page:{n}"),  # 14 digits: a number.
        ("page_3", "page_{n}"),
        ("role:12:34", "role:{n}:{n}"),
        ("vote:8c1f2e3a-1111-2222-3333-44445555abcd:yes", "vote:{uuid}:yes"),
        ("session:e3b0c44298fc1c149afbf4c8996fb924", "session:{hex}"),
        ("tok_a1b2c3d4", "tok_{hex}"),
        # Words are words: hex letters without digits, short runs, or inside a longer word.
        ("confirm", "confirm"),
        ("deadbeef:accept", "deadbeef:accept"),
        ("a1b2c3d", "a{n}b{n}c{n}d"),
        ("xa1b2c3d4e", "xa{n}b{n}c{n}d{n}e"),
        ("", "(empty)"),
    ],
)
def test_variable_parts_are_replaced(custom_id: str, name: str) -> None:
    assert normalise_custom_id(custom_id) == name


def test_long_names_are_cut() -> None:
    name = normalise_custom_id("x" * 150)
    assert len(name) == MAX_NAME_LENGTH
    assert name == "x" * (MAX_NAME_LENGTH - 1) + "…"


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        (r"ticket:close:(?P<id>[0-9]+)", "ticket:close:{id}"),
        (r"^counter:(?P<count>\d+):user:(?P<user>\d+)$", "counter:{count}:user:{user}"),
        (r"role:(\d+)", "role:{}"),
        # Parentheses inside a class or escaped are not groups; nested groups are one.
        (r"a\:b:(?P<x>[)(]+)-(?P<y>(a|b)+)", "a:b:{x}-{y}"),
        (r"price:\$(?P<amount>\d+)", "price:${amount}"),
        (r"menu:[a-z]+", "menu:[a-z]+"),
        (r"cost\$", "cost$"),
    ],
)
def test_templates_read_as_names(pattern: str, name: str) -> None:
    assert template_name(pattern) == name


def test_a_guild_gets_its_cap_of_names_a_day_then_other() -> None:
    names = ComponentNames(max_per_guild=2)
    day = 20_000
    used = [names.bounded("g1", day, name) for name in ("a", "b", "a", "c", "b", "d")]
    assert used == ["a", "b", "a", OTHER_COMPONENT, "b", OTHER_COMPONENT]
    # Each guild has its own share.
    assert [names.bounded("g2", day, name) for name in ("c", "d", "e")] == [
        "c",
        "d",
        OTHER_COMPONENT,
    ]
    # A new day starts afresh; a use dated back (a clock stepped back) counts against today's.
    assert [names.bounded("g1", day + 1, name) for name in ("c", "d", "a")] == [
        "c",
        "d",
        OTHER_COMPONENT,
    ]
    assert names.bounded("g1", day, "c") == "c"
    assert names.bounded("g1", day, "b") == OTHER_COMPONENT


def test_custom_ids_are_named_once_and_the_same_text_is_reused() -> None:
    names = ComponentNames(max_per_guild=5)
    first = names.of_custom_id("ticket:close:1051316846342131803")
    again = names.of_custom_id("ticket:close:1051316846342131803")
    assert first == "ticket:close:{id}"
    assert again is first
