"""One way for a plugin to speak outside a reply (Plugin.say), and one error type."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.actions import ActionError
from core.i18n import Catalog
from core.matrix.sending import SendError
from core.outbox import SAFETY
from core.plugin import Plugin
from core.testing import PluginHarness

ALICE = "@alice:test"
ROOM = "!group:test"


class Notes(Plugin):
    name = "notes"
    catalog = Catalog("notes", {
        "reminder": {"en": "Reminder: {what}", "ar": "تذكير: {what}"},
        "starts": {"en": "Starts {when}, in {left}", "ar": "يبدأ {when}، بعد {left}"},
    })


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[tuple[PluginHarness, Notes]]:
    async with PluginHarness(Notes, data_dir=tmp_path) as h:
        h.room(ROOM, [ALICE, "@sam:test"])  # three members: a group room, not a DM
        yield h, h.plugin(Notes)


def plain(text: str) -> str:
    return "".join(char for char in text if char not in "\u2068\u2069\u200f\u2066")


async def test_to_a_room_in_the_rooms_language(harness: tuple[PluginHarness, Notes]) -> None:
    h, notes = harness
    await h.runtime.languages.set_room(ROOM, "ar")
    event_id = await notes.say(ROOM, "reminder", once="r1", what="picnic")
    [sent] = h.homeserver.messages(ROOM)
    assert sent.event_id == event_id
    assert plain(sent.body) == "تذكير: picnic"
    assert sent.content["msgtype"] == "m.notice"


async def test_to_a_member_in_their_dm_and_language(harness: tuple[PluginHarness, Notes]) -> None:
    h, notes = harness
    await h.runtime.languages.set_room(ROOM, "ar")  # the member's own choice wins
    await h.runtime.languages.set_user(ALICE, "en")
    await notes.say(ALICE, "reminder", once="r2", what="picnic", mentions=[ALICE])
    [sent] = h.private(ALICE)
    assert plain(sent.body) == "Reminder: picnic"
    assert sent.content["m.mentions"] == {"user_ids": [ALICE]}


async def test_the_same_key_posts_once_and_another_key_again(
        harness: tuple[PluginHarness, Notes]) -> None:
    h, notes = harness
    await notes.say(ROOM, "reminder", once="r3", what="a")
    await notes.say(ROOM, "reminder", once="r3", what="a")  # a retry after a crash
    assert len(h.homeserver.messages(ROOM)) == 1
    await notes.say(ROOM, "reminder", once="r4", what="a")
    assert len(h.homeserver.messages(ROOM)) == 2


async def test_queued_goes_through_the_outbox_once(harness: tuple[PluginHarness, Notes]) -> None:
    h, notes = harness
    assert await notes.say(ALICE, "reminder", once="q1", queued=True, priority=SAFETY,
                           what="call") is None
    await notes.say(ALICE, "reminder", once="q1", queued=True, priority=SAFETY, what="call")
    await h.settle()
    [sent] = h.private(ALICE)
    assert plain(sent.body) == "Reminder: call"


async def test_a_refused_send_is_an_action_error(harness: tuple[PluginHarness, Notes]) -> None:
    h, notes = harness
    h.homeserver.forbid(ROOM, "send")
    with pytest.raises(ActionError) as raised:
        await notes.say(ROOM, "reminder", once="r5", what="x")
    assert raised.value.forbidden


def test_a_send_error_is_the_one_action_error() -> None:
    error = SendError("!room:test", "403: M_FORBIDDEN You are not allowed")
    assert isinstance(error, ActionError) and error.forbidden and not error.not_found
    assert SendError("!room:test", "the bot is not in this room").not_found


async def test_to_a_members_dm_room_in_the_members_language(
        harness: tuple[PluginHarness, Notes]) -> None:
    h, notes = harness
    dm = await h.dm(ALICE)
    await h.runtime.languages.set_user(ALICE, "ar")  # the DM room itself has no language set
    await notes.say(dm, "reminder", once="r5", what="picnic")
    [sent] = h.homeserver.messages(dm)
    assert plain(sent.body) == "تذكير: picnic"


async def test_say_statements_commit_with_the_callers_writes_or_not_at_all(
        harness: tuple[PluginHarness, Notes]) -> None:
    h, notes = harness
    await h.db.execute("CREATE TABLE notes_done (id TEXT PRIMARY KEY)")
    mark = ("INSERT INTO notes_done (id) VALUES (?)", ("n1",))
    await h.db.execute(*mark)
    # The caller's write fails (already done): the message is not queued either.
    with pytest.raises(Exception, match="UNIQUE"):
        await h.db.transaction([*notes.say_statements(ALICE, "reminder", once="s1", what="x"),
                                mark])
    await h.settle()
    assert h.private(ALICE) == []
    await h.db.transaction([*notes.say_statements(ALICE, "reminder", once="s1", what="x"),
                            ("INSERT INTO notes_done (id) VALUES (?)", ("n2",))])
    h.runtime.outbox.wake()
    await h.settle()
    [sent] = h.private(ALICE)
    assert plain(sent.body) == "Reminder: x"


async def test_times_in_the_readers_zone_and_durations_in_their_words(
        harness: tuple[PluginHarness, Notes]) -> None:
    from datetime import timedelta

    from core.plugin import Moment

    h, notes = harness
    await h.runtime.zones.set(ALICE, ZoneInfo("Asia/Beirut"))
    await h.runtime.languages.set_user(ALICE, "ar")
    moment = Moment(h.clock.now() + 3 * 3600)
    await notes.say(ALICE, "starts", once="z1", when=moment, left=timedelta(hours=2))
    [sent] = h.private(ALICE)
    local = datetime.fromtimestamp(float(moment), ZoneInfo("Asia/Beirut")).strftime("%H:%M")
    assert f"{local} (Asia/Beirut)" in plain(sent.body) and "ساعتين" in plain(sent.body)
    # To a room: the network's default zone, the room's language.
    await notes.say(ROOM, "starts", once="z2", when=moment, left=timedelta(minutes=90))
    [in_room] = h.homeserver.messages(ROOM)
    utc = datetime.fromtimestamp(float(moment), ZoneInfo("UTC")).strftime("%H:%M")
    assert f"{utc} (UTC)" in plain(in_room.body) and "1 h 30 min" in plain(in_room.body)
