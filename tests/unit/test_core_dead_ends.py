"""No silent dead ends: a command of a plugin that is off, an unencrypted room, the right role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.checkins import CheckinsPlugin
from tests.unit.test_checkins_harness import Harness

ALICE = "@alice:test"
BOB = "@bob:test"
ROOM = "!group:test"
PLAIN = "!plain:test"


def plain(text: str) -> str:
    return "".join(char for char in text if char not in "\u2068\u2069\u200f\u2066")


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path / "bot.db", admin=True)
    await h.start()
    h.matrix.add_room(ROOM, [ALICE, BOB])
    h.matrix.add_room(PLAIN, [ALICE, BOB], encrypted=False)
    yield h
    await h.stop()


async def test_a_command_of_a_plugin_that_is_off_says_whose_it_is(harness: Harness) -> None:
    await harness.runtime.settings.set_enabled(ROOM, CheckinsPlugin, False)
    body = plain((await harness.reply(ROOM, ALICE, "!checkin 2h")).body)
    assert body == ("!checkin belongs to the checkins plugin, which is off in this room. "
                    "A room admin can turn it on with !enable checkins.")
    assert plain((await harness.reply(ROOM, ALICE, "!help checkin")).body) == body
    await harness.runtime.languages.set_user(ALICE, "ar")
    arabic = plain((await harness.reply(ROOM, ALICE, "!checkin 2h")).body)
    assert "!enable checkins" in arabic and "checkins" in arabic and "غير مفعّلة" in arabic


async def test_an_unknown_command_is_still_unknown(harness: Harness) -> None:
    body = plain((await harness.reply(ROOM, ALICE, "!frobnicate")).body)
    assert body.startswith("I don't know the command frobnicate.")


async def test_an_unencrypted_room_is_explained_to_each_member_who_asks(
        harness: Harness) -> None:
    first = await harness.reply(PLAIN, ALICE, "!help")
    assert "not end-to-end encrypted" in first.body
    assert first.content["m.mentions"] == {"user_ids": [ALICE]}
    assert await harness.say(PLAIN, ALICE, "!help") == []  # once per member
    assert await harness.say(PLAIN, BOB, "hello everyone") == []  # chatter is not for the bot
    assert await harness.say(PLAIN, BOB, "!help") == []  # a minute has not passed here
    await harness.clock.advance(61)
    later = await harness.reply(PLAIN, BOB, "!help")
    assert "not end-to-end encrypted" in later.body
    await harness.restart(advance=120)
    assert await harness.say(PLAIN, ALICE, "!help") == []  # remembered across restarts
    stored = await harness.db.fetchall("SELECT key FROM core_state WHERE key LIKE 'unencrypted%'")
    assert stored and not any(ALICE in row["key"] or BOB in row["key"] for row in stored)


async def test_enable_refused_names_the_role_it_needs(harness: Harness) -> None:
    harness.matrix.levels[(ROOM, ALICE)] = 50  # a moderator; admin decides by default
    body = plain((await harness.reply(ROOM, ALICE, "!enable checkins")).body)
    assert body == "Sorry, !enable is for room admins only."
    body = plain((await harness.reply(ROOM, BOB, "!enable checkins")).body)
    assert body == "Sorry, !enable is for room admins only."
