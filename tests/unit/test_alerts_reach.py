"""Where an alert goes, as organizers see it before and after sending (issue 16, item 7).

The preview names the rooms; staff rooms (moderators, curators, the check-ins
safety team) are left out unless the organizer adds --staff; status lines name
rooms; `!alert status` alone is the latest alert. On core.testing.PluginHarness
(real dispatcher, database, outbox; homeserver in memory), with the network of
tests/unit/alerts_helpers.py.
"""

from __future__ import annotations

from pathlib import Path

from bots.checkins import CheckinsPlugin
from core.testing import PluginHarness
from tests.unit.alerts_helpers import (
    ORGANIZER,
    ORGANIZERS_ROOM,
    alert_id_of,
    alerts_bot,
    alerts_in,
    network_rooms,
    say,
    send_alert,
    tag,
)

MODERATORS, CURATORS, TEAM = "!moderators:x", "!curators:x", "!team:x"
STAFF_ROOMS = ((MODERATORS, "Moderators"), (CURATORS, "Curators"), (TEAM, "Safety team"))


def staffed(tmp_path: Path, rooms: list[str]) -> PluginHarness:
    """A network with member `rooms` and three staff rooms, all of them network rooms."""
    h = alerts_bot(
        tmp_path, rooms, others={CheckinsPlugin: {"team_room": TEAM}},
        network={"moderators_room": MODERATORS, "curators_room": CURATORS,
                 "rooms": [room for room, _ in STAFF_ROOMS]})
    for room, name in STAFF_ROOMS:
        h.room(room, [f"@in-{name[:4].lower()}:x"], name=name)
    return h


def listed(preview: str, label: str) -> set[str]:
    """The room names on the preview line that starts with `label`."""
    [line] = [line for line in preview.split("\n") if line.startswith(label)]
    return {name.strip() for name in line.split(":", 1)[1].split(",")}


async def test_preview_names_the_rooms_and_leaves_staff_rooms_out(tmp_path: Path) -> None:
    rooms = network_rooms(3)
    async with staffed(tmp_path, rooms) as h:
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert Meeting moved to the library")
        assert "Goes to 3 rooms" in preview
        assert listed(preview, "Rooms:") == {"Room 0", "Room 1", "Room 2"}
        assert listed(preview, "Staff rooms left out (add --staff to include them)") == {
            "Moderators", "Curators", "Safety team"}
        assert not any(room in preview for room in (*rooms, MODERATORS, CURATORS, TEAM))
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        assert [len(alerts_in(h, room)) for room in rooms] == [1, 1, 1]
        assert all(alerts_in(h, room) == [] for room in (MODERATORS, CURATORS, TEAM))

        # Asked for, they get it too; the organizers room never does (it composes them).
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER,
                            "!alert --staff Everyone: new phone tree")
        assert "Goes to 6 rooms" in preview and "left out" not in preview
        assert listed(preview, "Rooms:") == {
            "Room 0", "Room 1", "Room 2", "Moderators", "Curators", "Safety team"}
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        assert all(len(alerts_in(h, room)) == 1 for room in (MODERATORS, CURATORS, TEAM))
        assert not [s for s in h.homeserver.messages(ORGANIZERS_ROOM)
                    if "new phone tree" in s.body and "Alert from the organizers" in s.body]


async def test_a_tagged_staff_room_is_left_out_unless_asked(tmp_path: Path) -> None:
    [member_room] = rooms = network_rooms(1)
    async with staffed(tmp_path, rooms) as h:
        await tag(h, member_room, "legal")
        await tag(h, CURATORS, "legal")
        await tag(h, TEAM, "night")
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms legal Court at nine")
        assert listed(preview, "Rooms:") == {"Room 0"}
        assert listed(preview, "Staff rooms left out") == {"Curators"}
        # Only staff rooms carry the tag: nothing would be sent, and the answer says why.
        nobody = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms night Shift change")
        assert "would reach no room" in nobody and "Staff rooms left out" in nobody
        assert "Safety team" in nobody
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER,
                            "!alert --rooms night --staff Shift change")
        assert listed(preview, "Rooms:") == {"Safety team"}


async def test_the_preview_in_arabic_lists_rooms_with_the_arabic_comma(tmp_path: Path) -> None:
    async with staffed(tmp_path, network_rooms(2)) as h:
        await h.set_language(ORGANIZER, "ar")
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert اجتماع الليلة")
        assert "Room 0، Room 1" in preview  # read as shown: without bidi marks
        assert "غرف فرق العمل المستثناة" in preview and "--staff" in preview


async def test_the_first_status_message_names_rooms_not_ids(tmp_path: Path) -> None:
    rooms = network_rooms(2)
    async with alerts_bot(tmp_path, rooms) as h:
        h.homeserver.hold(*rooms)  # deliveries wait at the homeserver: the status is posted first
        await send_alert(h, "Bring water", settle=False)
        [status] = [s for s in h.homeserver.messages(ORGANIZERS_ROOM) if "delivered," in s.body]
        assert "Room 0: on the way" in status.plain and "Room 1: on the way" in status.plain
        assert not any(room in status.body for room in rooms)
        h.homeserver.release()
        await h.settle()
        assert [len(alerts_in(h, room)) for room in rooms] == [1, 1]


async def test_status_without_an_id_is_the_latest_alert(tmp_path: Path) -> None:
    async with alerts_bot(tmp_path, network_rooms(1)) as h:
        first = alert_id_of(await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert First notice"))
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        await h.advance(60)
        latest = alert_id_of(await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert Second notice"))
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        report = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert status")
        assert report.startswith(f"Alert {latest} (delivered)")
        assert "Second notice" in report and first not in report
        assert "Room 0: delivered, 0 acknowledged" in report
