"""The gate's power-level changes against a fake homeserver that yields between read and write."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from bots.onboarding.gate import Gate
from core.actions import ActionError


class FakePowerLevels:
    """Just enough of RoomActions: power levels read and written with a pause in between."""

    def __init__(self, levels: dict[str, Any], *, allowed: bool = True) -> None:
        self.levels = levels
        self.allowed = allowed
        self.writes = 0

    async def get_state(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any]:
        await asyncio.sleep(0)
        return copy.deepcopy(self.levels)

    async def send_state(self, room_id: str, event_type: str, content: dict[str, Any],
                         state_key: str = "") -> str:
        await asyncio.sleep(0)
        if not self.allowed:
            raise ActionError("send_state", "M_FORBIDDEN", forbidden=True)
        self.levels = copy.deepcopy(content)
        self.writes += 1
        return "$event"

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        current = await self.get_state(room_id, "m.room.power_levels")
        await asyncio.sleep(0)  # where a concurrent writer would slip in
        if not self.allowed:
            raise ActionError("set_power_level", "M_FORBIDDEN", forbidden=True)
        users = dict(current.get("users", {}))
        if level is None:
            users.pop(user_id, None)
        else:
            users[user_id] = level
        self.levels = {**current, "users": users}
        self.writes += 1


async def test_concurrent_holds_in_one_room_are_all_kept() -> None:
    fake = FakePowerLevels({"users_default": 0, "events_default": 0, "users": {"@admin:x": 100}})
    gate = Gate(fake)  # type: ignore[arg-type]
    newcomers = [f"@n{i}:x" for i in range(20)]
    results = await asyncio.gather(*(gate.apply("!r:x", user, -1) for user in newcomers))
    assert all(results)
    assert {user: -1 for user in newcomers}.items() <= fake.levels["users"].items()
    assert fake.levels["users"]["@admin:x"] == 100
    # Holds queued during a write go out together: not one power-level event per newcomer.
    assert fake.writes <= 2


async def test_release_only_undoes_the_bots_own_hold() -> None:
    fake = FakePowerLevels({"users": {"@held:x": -1, "@promoted:x": 50}})
    gate = Gate(fake)  # type: ignore[arg-type]
    assert await gate.release("!r:x", "@held:x", -1)
    assert "@held:x" not in fake.levels["users"]
    # An admin promoted this member meanwhile: their level stays.
    assert not await gate.release("!r:x", "@promoted:x", -1)
    assert fake.levels["users"]["@promoted:x"] == 50
    # Someone already holding a different level is not overwritten.
    assert not await gate.apply("!r:x", "@promoted:x", -1)


async def test_apply_without_power_raises_forbidden() -> None:
    fake = FakePowerLevels({"users": {}}, allowed=False)
    gate = Gate(fake)  # type: ignore[arg-type]
    results = await asyncio.gather(*(gate.apply("!r:x", f"@n{i}:x", -1) for i in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, ActionError) and r.forbidden for r in results)
    assert fake.writes == 0
