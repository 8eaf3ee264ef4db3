"""The code-of-conduct gate: hold a newcomer below the level needed to speak, then release.

Only the newcomer's own entry in `m.room.power_levels` changes; the room's
defaults stay as the admins set them. A member who already has an explicit
level (a moderator rejoining, someone promoted) is never lowered.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.actions import RoomActions

POWER_LEVELS = "m.room.power_levels"
MESSAGE_TYPES = ("m.room.message", "m.room.encrypted")


def _int(value: Any, default: int) -> int:
    # Old rooms may carry levels as strings ("50"); anything unreadable counts as the default.
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def speak_level(levels: dict[str, Any]) -> int:
    """The lowest level that may send a message (plain or encrypted) in the room."""
    events_default = _int(levels.get("events_default"), 0)
    events = levels.get("events")
    events = events if isinstance(events, dict) else {}
    return min(_int(events.get(kind), events_default) for kind in MESSAGE_TYPES)


def explicit_level(levels: dict[str, Any], user_id: str) -> int | None:
    users = levels.get("users")
    if isinstance(users, dict) and user_id in users:
        return _int(users[user_id], 0)
    return None


def hold_level(levels: dict[str, Any], user_id: str) -> int | None:
    """The level to give a newcomer so they cannot speak; None when nothing must change.

    Nothing changes for a member with an explicit level, or when the room's
    default level already cannot speak (an announcement room).
    """
    if explicit_level(levels, user_id) is not None:
        return None
    users_default = _int(levels.get("users_default"), 0)
    needed = speak_level(levels)
    if users_default < needed:
        return None
    return needed - 1


def level_to_manage(levels: dict[str, Any]) -> int:
    """The level the bot needs to change members' power levels here (told to admins)."""
    events = levels.get("events")
    events = events if isinstance(events, dict) else {}
    state_default = _int(levels.get("state_default"), 50)
    return max(_int(events.get(POWER_LEVELS), state_default),
               _int(levels.get("users_default"), 0))


class Gate:
    """Applies and lifts holds through the bot's room actions (raises ActionError).

    Changes to one room's power levels are serialised: each is a read-modify-write
    of the whole `m.room.power_levels` event, and two newcomers held at once
    would otherwise overwrite each other. Holds queued while a write is under way
    go out together in the next one, so a burst of joins makes a few power-level
    events instead of one per newcomer.
    """

    def __init__(self, actions: RoomActions) -> None:
        self.actions = actions
        self._locks: dict[str, asyncio.Lock] = {}
        self._queued: dict[str, dict[str, tuple[int, asyncio.Future[bool]]]] = {}
        self.writes = 0

    def _lock(self, room_id: str) -> asyncio.Lock:
        return self._locks.setdefault(room_id, asyncio.Lock())

    async def levels(self, room_id: str) -> dict[str, Any]:
        return await self.actions.get_state(room_id, POWER_LEVELS) or {}

    async def apply(self, room_id: str, user_id: str, level: int) -> bool:
        """Hold the newcomer at `level`; False when someone gave them another level meanwhile."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued.setdefault(room_id, {})[user_id] = (level, done)
        async with self._lock(room_id):
            if not done.done():
                await self._write_queued(room_id)
        return await done  # the write's ActionError, if any, reaches every newcomer of the batch

    async def _write_queued(self, room_id: str) -> None:
        batch = self._queued.pop(room_id, {})
        try:
            levels = await self.levels(room_id)
            users = levels.get("users")
            users = dict(users) if isinstance(users, dict) else {}
            outcome: dict[str, bool] = {}
            for user_id, (level, _) in batch.items():
                current = explicit_level(levels, user_id)
                outcome[user_id] = current is None or current == level
                if current is None:
                    users[user_id] = level
            if any(explicit_level(levels, user_id) is None for user_id in batch):
                await self.actions.send_state(room_id, POWER_LEVELS, {**levels, "users": users})
                self.writes += 1
        except Exception as exc:
            for _, waiter in batch.values():
                waiter.set_exception(exc)
            return
        except BaseException:
            for _, waiter in batch.values():
                waiter.cancel()  # shutting down: the replayed joins hold them again
            raise
        for user_id, (_, waiter) in batch.items():
            waiter.set_result(outcome[user_id])

    async def release(self, room_id: str, user_id: str, held_at: int) -> bool:
        """Remove the hold if it is still the bot's; False when an admin changed it since."""
        async with self._lock(room_id):
            current = explicit_level(await self.levels(room_id), user_id)
            if current != held_at:
                return False
            await self.actions.set_power_level(room_id, user_id, None)
            return True
