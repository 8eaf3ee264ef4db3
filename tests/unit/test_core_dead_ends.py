"""No silent dead ends: a command of a plugin that is off, an unencrypted room, the right role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.admin import AdminPlugin
from bots.checkins import CheckinsPlugin
from core.testing import PluginHarness

ALICE = "@alice:test"
BOB = "@bob:test"
ROOM = "!group:test"
PLAIN = "!plain:test"


def plain(text: str) -> str:
    return "".join(char for char in text if char not in "\u2068\u2069\u200f\u2066")


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with PluginHarness(CheckinsPlugin, AdminPlugin, data_dir=tmp_path) as h:
        h.room(ROOM, [ALICE, BOB])
        h.room(PLAIN, [ALICE, BOB], encrypted=False)
        yield h


async def test_a_command_of_a_plugin_that_is_off_says_whose_it_is(harness: PluginHarness) -> None:
    await harness.runtime.settings.set_enabled(ROOM, CheckinsPlugin, False)
    body = plain((await harness.reply(ROOM, ALICE, "!checkin 2h")).body)
    assert body == ("!checkin belongs to the checkins plugin, which is off in this room. "
                    "A room admin can turn it on with !enable checkins.")
    assert plain((await harness.reply(ROOM, ALICE, "!help checkin")).body) == body
    await harness.runtime.languages.set_user(ALICE, "ar")
    arabic = plain((await harness.reply(ROOM, ALICE, "!checkin 2h")).body)
    assert "!enable checkins" in arabic and "checkins" in arabic and "غير مفعّلة" in arabic


async def test_an_unknown_command_is_still_unknown(harness: PluginHarness) -> None:
    body = plain((await harness.reply(ROOM, ALICE, "!frobnicate")).body)
    assert body.startswith("I don't know the command frobnicate.")


async def test_an_unencrypted_room_is_explained_to_each_member_who_asks(
        harness: PluginHarness) -> None:
    first = await harness.reply(PLAIN, ALICE, "!help")
    assert "not end-to-end encrypted" in first.body
    assert first.content["m.mentions"] == {"user_ids": [ALICE]}
    assert not (await harness.send(PLAIN, ALICE, "!help")).messages  # once per member
    assert not (await harness.send(PLAIN, BOB, "hello everyone")).messages  # chatter
    assert not (await harness.send(PLAIN, BOB, "!help")).messages  # a minute has not passed
    await harness.clock.advance(61)
    later = await harness.reply(PLAIN, BOB, "!help")
    assert "not end-to-end encrypted" in later.body
    await harness.restart(advance=120)
    assert not (await harness.send(PLAIN, ALICE, "!help")).messages  # remembered
    stored = await harness.runtime.db.fetchall("SELECT key FROM core_state WHERE key LIKE 'unencrypted%'")
    assert stored and not any(ALICE in row["key"] or BOB in row["key"] for row in stored)


async def test_enable_refused_names_the_role_it_needs(harness: PluginHarness) -> None:
    harness.set_level(ROOM, ALICE, 50)  # a moderator; admin decides by default
    body = plain((await harness.reply(ROOM, ALICE, "!enable checkins")).body)
    assert body == "Sorry, !enable is for room admins only."
    body = plain((await harness.reply(ROOM, BOB, "!enable checkins")).body)
    assert body == "Sorry, !enable is for room admins only."
