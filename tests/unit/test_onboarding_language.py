"""Onboarding in the newcomer's language: re-sent welcomes, rules without a translation, the
✅ thanks, and admin hints kept from newcomers (harness: test_onboarding_plugin.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.onboarding.messages import CATALOG
from tests.unit.test_onboarding_plugin import (
    ADMIN,
    NEWCOMER,
    ROOM,
    Harness,
    close,
    make_harness,
)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    try:
        yield h
    finally:
        await close(h)


def ar(key: str) -> str:
    """An Arabic catalog text up to its first placeholder (what any filling starts with)."""
    return CATALOG.messages[key]["ar"].split("{")[0]


def plain(text: str) -> str:
    """The text as read: without the direction marks and isolates that lay it out."""
    return "".join(c for c in text if c not in "\u200e\u200f\u2066\u2067\u2068\u2069")


async def react(h: Harness, room: str, sender: str, event_id: str) -> list[str]:
    """`sender` ticks an event; the bot's messages in that room meanwhile."""
    return [sent.body for sent in (await h.bot.react(room, sender, event_id, "✅")).in_room(room)]


def is_arabic(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return sum("\u0600" <= c <= "\u06ff" for c in letters) > len(letters) / 2


async def test_the_welcome_comes_again_in_arabic_after_language_ar_and_both_take_a_check(
        harness: Harness) -> None:
    h = harness
    dm = await h.join(ROOM, NEWCOMER)
    [english] = h.hs.messages(dm)
    assert "Taking part in" in english.content["body"]
    answers = await h.answers(dm, NEWCOMER, "!language ar")
    assert len(answers) == 2, [a.content["body"] for a in answers]
    told, welcome = (str(a.content["body"]) for a in answers)
    assert is_arabic(told)
    # The whole welcome again, in Arabic: greeting, rules, how to accept; no language offer.
    assert is_arabic(welcome) and "!agree" in welcome and "✅" in welcome
    assert "!language" not in welcome
    assert plain(CATALOG.text("rules_default", "ar")) in plain(welcome)
    # The same choice again sends nothing more.
    assert len(await h.answers(dm, NEWCOMER, "!language ar")) == 1
    # The ✅ under the English welcome still counts, and is thanked in Arabic.
    [thanks] = await react(h, dm, NEWCOMER, english.event_id)
    assert is_arabic(thanks) and ar("agreed") in plain(thanks)
    assert (await h.plugin.store.get(ROOM, NEWCOMER)).state == "agreed"  # type: ignore[union-attr]


async def test_the_check_on_the_resent_welcome_accepts_too(harness: Harness) -> None:
    h = harness
    dm = await h.join(ROOM, NEWCOMER)
    answers = await h.answers(dm, NEWCOMER, "!language ar")
    [thanks] = await react(h, dm, NEWCOMER, answers[-1].event_id)
    assert ar("agreed") in plain(thanks)


async def test_the_thanks_after_a_check_is_in_the_language_of_an_arabic_rooms_welcome(
        harness: Harness) -> None:
    h = harness
    await h.runtime.languages.set_room(ROOM, "ar")
    dm = await h.join(ROOM, NEWCOMER)
    [welcome] = h.hs.messages(dm)
    assert ar("dm_welcome") in plain(welcome.content["body"])
    [thanks] = await react(h, dm, NEWCOMER, welcome.event_id)
    assert is_arabic(thanks) and ar("agreed") in plain(thanks)
    # The DM itself has no language: `!rules` there follows the welcome too.
    rules = await h.say(dm, NEWCOMER, "!rules")
    assert is_arabic(rules) and plain(CATALOG.text("rules_default", "ar")) in plain(rules)


async def test_rules_without_an_arabic_version_say_so_and_show_the_english_ones(
        harness: Harness) -> None:
    h = harness
    await h.say(ROOM, ADMIN, "!config onboarding rules_en Be kind to each other.")
    dm = await h.join(ROOM, NEWCOMER)
    await h.say(dm, NEWCOMER, "!language ar")
    rules = plain(await h.say(ROOM, NEWCOMER, "!rules"))
    header, text = rules.split("\n", 1)
    assert text == "Be kind to each other."
    assert header.startswith(ar("rules_not_translated"))
    assert "العربية" in header and "الإنجليزية" in header
    # The Arabic welcome says the same above the English rules.
    resent = plain(str(h.hs.messages(dm)[-1].content["body"]))
    assert ar("rules_not_translated") in resent and "Be kind to each other." in resent


async def test_the_arabic_preview_warns_the_admin_of_texts_with_no_arabic_version(
        harness: Harness) -> None:
    h = harness
    await h.say(ROOM, ADMIN, "!config onboarding rules_en Be kind.")
    await h.say(ROOM, ADMIN, "!config onboarding dm_welcome_en Hello from the garden.")
    preview = plain(await h.say(ROOM, ADMIN, "!onboarding preview ar"))
    assert "the rules here are not written in Arabic" in preview
    assert "!config onboarding rules_ar" in preview
    assert "the private welcome is not written in Arabic" in preview
    assert "!config onboarding dm_welcome_ar" in preview
    english = plain(await h.say(ROOM, ADMIN, "!onboarding preview en"))
    assert "not written in" not in english


async def test_newcomers_never_see_how_to_configure_the_directory_but_admins_do(
        harness: Harness) -> None:
    h = harness
    dm = await h.join(ROOM, NEWCOMER)
    welcome = plain(str(h.hs.messages(dm)[0].content["body"]))
    thanks = plain(await h.say(dm, NEWCOMER, "!agree"))
    rooms_in_dm = plain(await h.say(dm, NEWCOMER, "!rooms"))
    rooms_in_room = plain(await h.say(ROOM, NEWCOMER, "!rooms"))
    for seen in (welcome, thanks, rooms_in_dm, rooms_in_room):
        assert "!config" not in seen and "directory_rooms" not in seen
    assert "No other rooms are listed yet." in thanks
    # The room's admin is told how, in the room and in the preview.
    assert "!config onboarding directory_rooms" in plain(await h.say(ROOM, ADMIN, "!rooms"))
    preview = plain(await h.say(ROOM, ADMIN, "!onboarding preview"))
    assert "!rooms lists no other rooms here yet" in preview
    assert "!config onboarding directory_rooms" in preview
