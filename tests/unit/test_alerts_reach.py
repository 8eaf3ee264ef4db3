"""Where an alert goes, as organizers see it before and after sending (issue 16, item 7).

The preview names the rooms; staff rooms (moderators, curators, the check-ins
safety team) are left out unless the organizer adds --staff; status lines name
rooms; `!alert status` alone is the latest alert. Same harness as
test_alerts_plugin.py (real dispatcher, database, outbox; fake homeserver).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.checkins import CheckinsPlugin
from tests.unit.test_alerts_plugin import (
    BOT,
    ORGANIZER,
    ORGANIZERS_ROOM,
    Harness,
    alert_id_of,
    alerts_in,
    close,
    make_harness,
    network,
    plain,
    tag,
)

MODERATORS, CURATORS, TEAM = "!moderators:x", "!curators:x", "!team:x"


@pytest.fixture
async def staffed(tmp_path: Path) -> AsyncIterator[Harness]:
    """A network with three member rooms and three staff rooms, all of them network rooms."""
    h = await make_harness(
        tmp_path, network_block={"moderators_room": MODERATORS, "curators_room": CURATORS},
        others={CheckinsPlugin: {"team_room": TEAM}})
    for room, name in ((MODERATORS, "Moderators"), (CURATORS, "Curators"), (TEAM, "Safety team")):
        h.hs.members_of[room] = [BOT, f"@in-{name[:4].lower()}:x"]
        h.hs.names[room] = name
        h.runtime.config.network.rooms.append(room)
    try:
        yield h
    finally:
        await close(h)


def listed(preview: str, label: str) -> set[str]:
    """The room names on the preview line that starts with `label`."""
    [line] = [line for line in plain(preview).split("\n") if line.startswith(label)]
    return {name.strip() for name in line.split(":", 1)[1].split(",")}


async def test_preview_names_the_rooms_and_leaves_staff_rooms_out(staffed: Harness) -> None:
    h = staffed
    rooms = network(h, 3)
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Meeting moved to the library")
    assert "Goes to 3 rooms" in preview
    assert listed(preview, "Rooms:") == {"Room 0", "Room 1", "Room 2"}
    assert listed(preview, "Staff rooms left out (add --staff to include them)") == {
        "Moderators", "Curators", "Safety team"}
    assert not any(room in preview for room in (*rooms, MODERATORS, CURATORS, TEAM))
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    assert [len(alerts_in(h, room)) for room in rooms] == [1, 1, 1]
    assert all(alerts_in(h, room) == [] for room in (MODERATORS, CURATORS, TEAM))

    # Asked for, they get it too; the organizers room never does (it composes them).
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --staff Everyone: new phone tree")
    assert "Goes to 6 rooms" in preview and "left out" not in preview
    assert listed(preview, "Rooms:") == {
        "Room 0", "Room 1", "Room 2", "Moderators", "Curators", "Safety team"}
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    assert all(len(alerts_in(h, room)) == 1 for room in (MODERATORS, CURATORS, TEAM))
    assert not [s for s in h.hs.in_room(ORGANIZERS_ROOM) if "new phone tree" in s.content["body"]
                and "Alert from the organizers" in s.content["body"]]


async def test_a_tagged_staff_room_is_left_out_unless_asked(staffed: Harness) -> None:
    h = staffed
    [member_room] = network(h, 1)
    await tag(h, member_room, "legal")
    await tag(h, CURATORS, "legal")
    await tag(h, TEAM, "night")
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms legal Court at nine")
    assert listed(preview, "Rooms:") == {"Room 0"}
    assert listed(preview, "Staff rooms left out") == {"Curators"}
    # Only staff rooms carry the tag: nothing would be sent, and the answer says why.
    nobody = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms night Shift change"))
    assert "would reach no room" in nobody and "Staff rooms left out" in nobody
    assert "Safety team" in nobody
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms night --staff Shift change")
    assert listed(preview, "Rooms:") == {"Safety team"}


async def test_the_preview_in_arabic_lists_rooms_with_the_arabic_comma(staffed: Harness) -> None:
    h = staffed
    network(h, 2)
    await h.runtime.languages.set_user(ORGANIZER, "ar")
    shown = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert اجتماع الليلة")
    preview = plain(shown).replace("\u200f", "").replace("\u2066", "")  # marks, not letters
    assert "Room 0، Room 1" in preview
    assert "غرف فرق العمل المستثناة" in preview and "--staff" in preview


async def test_the_first_status_message_names_rooms_not_ids(tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    try:
        rooms = network(h, 2)
        h.hs.hold = asyncio.Event()  # deliveries wait at the homeserver: the status is posted first
        await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Bring water")
        await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        [status] = [s.content["body"] for s in h.hs.in_room(ORGANIZERS_ROOM)
                    if "delivered," in s.content["body"]]
        assert "Room 0: on the way" in plain(status) and "Room 1: on the way" in plain(status)
        assert not any(room in status for room in rooms)
        h.hs.hold.set()
        await h.delivered()
    finally:
        await close(h)


async def test_status_without_an_id_is_the_latest_alert(tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    try:
        network(h, 1)
        first = alert_id_of(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert First notice"))
        await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        await h.delivered()
        await h.clock.advance(60)
        latest = alert_id_of(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Second notice"))
        await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        await h.delivered()
        report = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert status"))
        assert report.startswith(f"Alert {latest} (delivered)")
        assert "Second notice" in report and first not in report
        assert "Room 0: delivered, 0 acknowledged" in report
    finally:
        await close(h)
