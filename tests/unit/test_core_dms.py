"""A room is a member's DM only while its members are exactly the bot and that member."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.clock import ManualClock
from core.dms import DirectMessages
from core.storage import CORE_MIGRATIONS, Database

BOT = "@bot:localhost"
ALEX = "@alex:localhost"
EVE = "@eve:evil.example"


class Rooms:
    """Room membership the test controls; every room encrypted."""

    def __init__(self) -> None:
        self.membership: dict[str, set[str]] = {}
        self.names: dict[str, str] = {}
        self.created = 0

    def is_encrypted(self, room_id: str) -> bool:
        return True

    def members(self, room_id: str) -> list[str]:
        return sorted(self.membership.get(room_id, set()))

    def power_level(self, room_id: str, user_id: str) -> int:
        return 0

    def display_name(self, room_id: str) -> str | None:
        return None

    def joined_rooms(self) -> list[str]:
        return sorted(self.membership)

    def room_name(self, room_id: str) -> str | None:
        return self.names.get(room_id)

    async def create_room(self, **options: Any) -> str:
        self.created += 1
        room_id = f"!new{self.created}:localhost"
        self.membership[room_id] = {BOT, *options["invite"]}
        return room_id


async def test_a_dm_that_gains_a_third_member_is_no_longer_used(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.db")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    rooms = Rooms()
    dms = DirectMessages(db, rooms, rooms, ManualClock(0.0), BOT)  # type: ignore[arg-type]
    # A room opened as a DM (is_direct on the invite) is remembered as Alex's.
    rooms.membership["!dm:localhost"] = {BOT, ALEX}
    await dms.remember("!dm:localhost", ALEX)
    assert await dms.room_for(ALEX) == "!dm:localhost"
    assert dms.user_of("!dm:localhost") == ALEX
    # Someone else joins: private messages must not go there any more.
    rooms.membership["!dm:localhost"].add(EVE)
    assert dms.user_of("!dm:localhost") is None
    assert not dms.is_dm("!dm:localhost")
    fresh = await dms.room_for(ALEX)
    assert fresh != "!dm:localhost"
    assert set(rooms.members(fresh)) == {BOT, ALEX}
    await db.close()


async def test_is_direct_from_an_attacker_does_not_make_the_room_a_members_dm(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "bot.db")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    rooms = Rooms()
    dms = DirectMessages(db, rooms, rooms, ManualClock(0.0), BOT)  # type: ignore[arg-type]
    # Eve's room, with Alex invited too, was claimed as Alex's DM.
    rooms.membership["!trap:evil.example"] = {BOT, ALEX, EVE}
    await dms.remember("!trap:evil.example", ALEX)
    room = await dms.room_for(ALEX)
    assert room != "!trap:evil.example"
    assert set(rooms.members(room)) == {BOT, ALEX}
    await db.close()


async def test_a_group_room_that_shrinks_to_two_is_not_a_dm(tmp_path: Path) -> None:
    """A network room left with the bot and one member stays a room.

    Otherwise moderation would drop it from the protected rooms and private
    commands would answer there as if in a DM.
    """
    db = Database(tmp_path / "bot.db")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    rooms = Rooms()
    dms = DirectMessages(db, rooms, rooms, ManualClock(0.0), BOT)  # type: ignore[arg-type]
    network = {"!net:localhost"}
    dms.group_rooms = lambda room_id: room_id in network
    rooms.membership["!net:localhost"] = {BOT, ALEX}
    rooms.membership["!private:localhost"] = {BOT, ALEX}
    assert dms.user_of("!net:localhost") is None
    assert dms.user_of("!private:localhost") == ALEX  # another two-member room is one
    # Even an is_direct claim does not make a network room someone's DM.
    await dms.remember("!net:localhost", ALEX)
    assert not dms.is_dm("!net:localhost")
    assert await dms.room_for(ALEX) != "!net:localhost"
    await db.close()
