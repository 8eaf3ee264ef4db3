"""Direct messages: one encrypted room per member, found or created, remembered.

A DM is an ordinary room for the dispatcher; this module only knows which
room is whose. A member who opens a DM with the bot from Element (an invite
marked `is_direct`) gets that room remembered; otherwise the bot reuses an
encrypted room it shares with only that member, or creates one.

`is_direct` is written by the inviter (and their server), so it is a hint:
a room is a member's DM only while its members are exactly the bot and that
member, checked from the room's membership each time it is asked. A DM that
gains a third member stops being used for private messages, and the member
gets a new one. A room of the network (its configured rooms, the space's
children, the role rooms) is never taken for a DM: a network room that
shrank to the bot and one member keeps its protection and stays a room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from core.actions import ActionError, RoomActions
from core.clock import Clock
from core.plugin import RoomView
from core.storage import Database

log = logging.getLogger(__name__)

# How long to wait for a new DM room to arrive through sync before sending in it.
ROOM_VISIBLE_TIMEOUT = 30.0


class DirectMessages:
    def __init__(
        self, db: Database, actions: RoomActions, rooms: RoomView, clock: Clock, bot_user_id: str
    ) -> None:
        self.db = db
        self.actions = actions
        self.rooms = rooms
        self.clock = clock
        self.bot_user_id = bot_user_id
        self._room_of: dict[str, str] = {}
        self._user_of: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.created = 0
        # Rooms never a DM whatever their members (the Runtime sets: the network's rooms).
        self.group_rooms: Callable[[str], bool] = lambda room_id: False

    async def load(self) -> None:
        for row in await self.db.fetchall("SELECT user_id, room_id FROM core_dm_rooms"):
            self._room_of[row["user_id"]] = row["room_id"]
            self._user_of[row["room_id"]] = row["user_id"]

    def is_dm(self, room_id: str) -> bool:
        return self.user_of(room_id) is not None

    def user_of(self, room_id: str) -> str | None:
        """The member a DM is with.

        Besides remembered DMs, an encrypted room shared by the bot and exactly
        one member counts: Element marks DMs only on the invite, and a member
        who made a private room with the bot means it as one.
        """
        if self.group_rooms(room_id):
            return None
        members = set(self.rooms.members(room_id))
        known = self._user_of.get(room_id)
        if known is not None:
            return known if members == {self.bot_user_id, known} else None
        others = members - {self.bot_user_id}
        if len(others) == 1 and self.bot_user_id in members and self.rooms.is_encrypted(room_id):
            return next(iter(others))
        return None

    async def room_for(self, user_id: str) -> str:
        """The member's DM room: remembered, found among the bot's rooms, or created.

        Raises ActionError when the homeserver refuses to create it or invite
        the member (e.g. an unknown user), so callers can report it.
        """
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            room_id = self._room_of.get(user_id)
            if room_id is not None and self._usable(room_id, user_id):
                return room_id
            for candidate in self.actions.joined_rooms():
                if self.user_of(candidate) == user_id and self.rooms.is_encrypted(candidate):
                    await self.remember(candidate, user_id)
                    return candidate
            room_id = await self.actions.create_room(invite=[user_id], direct=True, encrypted=True)
            self.created += 1
            await self.remember(room_id, user_id)
            await self._wait_until_visible(room_id, user_id)
            log.info("created DM room %s", room_id)
            return room_id

    async def remember(self, room_id: str, user_id: str) -> None:
        old = self._room_of.get(user_id)
        if old is not None and old != room_id:
            self._user_of.pop(old, None)
        self._room_of[user_id] = room_id
        self._user_of[room_id] = user_id
        await self.db.execute(
            "INSERT INTO core_dm_rooms (user_id, room_id, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET room_id = excluded.room_id",
            (user_id, room_id, self.clock.now()),
        )

    def _usable(self, room_id: str, user_id: str) -> bool:
        return not self.group_rooms(room_id) and \
            set(self.rooms.members(room_id)) == {self.bot_user_id, user_id}

    async def _wait_until_visible(self, room_id: str, user_id: str) -> None:
        # Sending needs the room's encryption state and the invited member in
        # the client's room list, which only the next sync brings.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ROOM_VISIBLE_TIMEOUT
        while loop.time() < deadline:
            if self.rooms.is_encrypted(room_id) and user_id in self.rooms.members(room_id):
                return
            await asyncio.sleep(0.05)
        raise ActionError("create_dm", "the new DM room did not arrive through sync in time")
