"""Check-ins' command groups: `!contacts`, `!safepin` and `!duress` answer as their routers did.

The groups name a subcommand for the word alone and one for any other word
(core/plugin.py `alone=`, `otherwise=`), so a member typing what worked before
gets the same answer; the PIN groups also delete every message before its words
are read, and never answer in a way that tells the two groups apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.checkins import CheckinsPlugin
from core.testing import PluginHarness
from tests.unit.checkins_helpers import ALICE, BOB, answer, checkins, plugin, redacted, sent_to

ROOM = "!group:test"
USAGE = "Use !contacts, !contacts add @name:server or !contacts remove @name:server"
PIN_USAGE = "Add set <pin> or clear <pin>. A PIN is 4 to 32 characters without spaces."


def plain(text: str) -> str:
    return "".join(char for char in text if char not in "\u2068\u2069\u200f\u2066")


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    # Room for many commands in one test: the rate limit is not what is tested here.
    async with checkins(tmp_path, config={"bot": {"rate_limit": {"commands": 1000}}}) as harness:
        # The bot may remove what members type there (a private command in a shared room).
        harness.room(ROOM, [ALICE, BOB], bot_level=50)
        yield harness


def test_the_four_routers_are_groups_with_a_subcommand_for_each_verb() -> None:
    paths = {spec.path for spec in CheckinsPlugin.commands() if spec.group is not None}
    assert paths == {
        "checkin start", "checkin status",
        "contacts list", "contacts add", "contacts remove", "contacts accept",
        "contacts decline", "contacts allow", "contacts help",
        "safepin set", "safepin clear", "safepin help",
        "duress set", "duress clear", "duress help",
    }
    for spec in CheckinsPlugin.commands():
        if spec.group is not None:
            assert spec.private, spec.path  # every subcommand leaves a shared room


async def test_contacts_alone_lists_and_other_words_get_the_usage(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    empty = "You have no trusted contacts yet"
    assert empty in (await h.reply(dm, ALICE, "!contacts")).body
    assert empty in (await h.reply(dm, ALICE, "!contacts LIST")).body
    for typed in ("!contacts add", "!contacts forget @bob:test", "!contacts @bob:test",
                  "!contacts help", "!contacts remove", "!contacts add @bob:test again"):
        assert (await h.reply(dm, ALICE, typed)).body.startswith(USAGE), typed
    assert "is not a Matrix user id" in (await h.reply(dm, ALICE, "!contacts add bob")).body
    assert "Request sent" in (await answer(h, dm, ALICE, "!contacts ADD @bob:test")).body
    listed = plain((await h.reply(dm, ALICE, "!contacts")).body)
    assert "@bob:test: has not accepted yet" in listed


async def test_contacts_typed_in_a_shared_room_leaves_it(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    for typed, expected in (("!contacts", "no trusted contacts"), ("!contacts forget it", USAGE),
                            ("!contacts add @bob:test", "Request sent")):
        removed = len(redacted(h))
        answers = await h.send(ROOM, ALICE, typed)
        assert len(redacted(h)) == removed + 1, typed
        moved, answered = [sent for sent in answers if sent.room_id == dm]
        assert "I removed it there" in moved.body and expected in answered.body, typed
    assert sent_to(h, ROOM) == []


async def test_help_contacts_shows_each_subcommand(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    listing = plain((await h.reply(dm, ALICE, "!help contacts")).body)
    for usage in ("!contacts add [user]", "!contacts decline [user]", "!contacts list"):
        assert usage in listing, usage
    one = plain((await h.reply(dm, ALICE, "!help contacts allow")).body)
    assert one.splitlines() == ["!contacts allow [user]",
                                "Let someone whose request you declined ask again."]


@pytest.mark.parametrize("words", [
    "", " forgot", " help", " set", " clear", " set 1234 5678", " clear 1234 5678",
    " SETT 1234",
])
async def test_both_pin_groups_answer_alike_and_delete_the_message(h: PluginHarness,
                                                                     words: str) -> None:
    dm = await h.dm(ALICE)
    answers = []
    for group in ("!safepin", "!duress"):
        removed = len(redacted(h))
        answers.append((await h.reply(dm, ALICE, group + words)).body)
        assert len(redacted(h)) == removed + 1, group + words
    assert answers == [PIN_USAGE, PIN_USAGE]


async def test_a_pin_command_whose_words_cannot_be_read_is_still_deleted(
        h: PluginHarness) -> None:
    """Deleted before its words are read (the check runs before binding): an unclosed quote."""
    dm = await h.dm(ALICE)
    typed = await h.send(dm, ALICE, '!safepin set "4821')
    refused = typed.one()
    assert "never closed" in refused.body
    assert redacted(h)[-1] == typed.event_id
    assert "4821" not in refused.body


async def test_pin_subcommands_set_and_clear_in_any_case(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    assert (await h.reply(dm, ALICE, "!safepin SET 1234")).body == "PIN saved."
    assert (await h.reply(dm, ALICE, "!Duress Set 9911")).body == "PIN saved."
    assert (await h.reply(dm, ALICE, "!duress clear 1234")).body == \
        "That isn't right. Nothing was changed."
    assert (await h.reply(dm, ALICE, "!duress clear 9911")).body == "PIN removed."
    assert (await h.reply(dm, ALICE, "!safepin clear 1234")).body == "PIN removed."
    member = await plugin(h).store.member(ALICE)
    assert member["pin_hash"] is None and member["duress_hash"] is None


async def test_help_of_a_pin_subcommand(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    lines = plain((await h.reply(dm, ALICE, "!help duress set")).body).splitlines()
    assert lines[0] == "!duress set [PIN]"
    assert "urgent alert" in lines[1]


async def test_timezone_suggestions_read_as_a_list_in_each_language(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    english = plain((await h.reply(dm, ALICE, "!timezone Damascos")).body)
    assert "The closest I know: Asia/Damascus or " in english
    await h.set_language(ALICE, "ar")
    arabic = plain((await h.reply(dm, ALICE, "!timezone Bierut")).body)
    assert "Asia/Beirut، " in arabic and " أو " in arabic
    assert ", " not in arabic


async def test_checkin_status_is_a_subcommand_and_a_time_starts_one(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    assert "no check-in running" in plain((await h.reply(dm, ALICE, "!checkin status")).plain)
    started = plain((await h.reply(dm, ALICE, "!checkin 2 hours at the bakery")).plain)
    assert "check-in" in started.lower()
    shown = plain((await h.reply(dm, ALICE, "!checkin الحالة")).plain)
    assert "at the bakery" in shown
    # `!checkin` alone lists both, the start as members type it (no `start` word).
    listing = plain((await h.reply(dm, ALICE, "!checkin")).plain)
    assert "!checkin status" in listing and "!checkin start" not in listing
