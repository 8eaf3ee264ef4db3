"""Room set-up for the moderation integration tests: power levels, members, the network, waiting on state.

The network (core/network.py) is config: which rooms are in it, which room is
the network moderators' room and who else is a network moderator. Rooms are
created while the bot runs, so `join_network` writes them into the running
bot's config (and into the config a restart uses), as an operator would.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nio import RoomGetStateEventResponse

from core.matrix.member import Member
from tests.integration.conftest import RunningBot, room_with_bot

BOT_LEVEL = 90


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:  # noqa: ASYNC109
    """Wait until `check()` holds (the homeserver offers no event to wait on for state)."""

    async def loop() -> None:
        while not await check():
            await asyncio.sleep(0.1)

    await asyncio.wait_for(loop(), timeout)


async def state(member: Member, room: str, event_type: str, state_key: str = "") -> dict[str, Any]:
    response = await member.client.room_get_state_event(room, event_type, state_key)
    if isinstance(response, RoomGetStateEventResponse):
        return dict(response.content)
    return {}


async def membership(member: Member, room: str, user_id: str) -> str | None:
    return (await state(member, room, "m.room.member", user_id)).get("membership")


async def set_levels(owner: Member, room: str, users: dict[str, int], bot: RunningBot | None = None,
                     events: dict[str, int] | None = None) -> None:
    content = await state(owner, room, "m.room.power_levels")
    content["users"] = {**content.get("users", {}), **users}
    content["events"] = {**content.get("events", {}), **(events or {})}
    await owner.client.room_put_state(room, "m.room.power_levels", content)
    if bot is not None and bot.user_id in users:
        assert bot.bot is not None
        connection = bot.bot.connection

        async def bot_sees() -> bool:
            return connection.power_level(room, bot.user_id) == users[bot.user_id]

        await until(bot_sees)


async def add_member(owner: Member, room: str, member: Member, bot: RunningBot) -> None:
    """Invite `member` (who joins on invite) and wait until the bot sees them joined."""
    await owner.client.room_invite(room, member.user_id)
    await member.wait_member(room, member.user_id)
    assert bot.bot is not None
    connection = bot.bot.connection

    async def bot_sees() -> bool:
        return member.user_id in connection.members(room)

    await until(bot_sees)


def join_network(bot: RunningBot, *rooms: str, moderators_room: str | None = None,
                 moderators: tuple[str, ...] = ()) -> None:
    """Add rooms to the network, name its moderators' room or its moderators (bot config)."""
    current = bot.config.network
    update: dict[str, Any] = {"rooms": [*current.rooms, *rooms],
                              "moderators": [*current.moderators, *moderators]}
    if moderators_room is not None:
        update["moderators_room"] = moderators_room
    network = current.model_copy(update=update)
    bot.config = bot.config.model_copy(update={"network": network})
    assert bot.bot is not None
    bot.bot.runtime.network.config = network


async def protected_room(owner: Member, bot: RunningBot, *others: Member,
                         bot_level: int = BOT_LEVEL, network: bool = True) -> str:
    """An encrypted room owned by `owner`, the bot at `bot_level`, moderation on, `others` joined.

    A network room unless `network=False` (a room whose admin merely invited the bot).
    """
    room = await room_with_bot(owner, bot)
    if network:
        join_network(bot, room)
    await knows_devices(owner, bot.user_id)
    if bot_level:
        # Muting changes power levels, server bans the ACL: let moderators (and the bot) do that.
        await set_levels(owner, room, {bot.user_id: bot_level}, bot,
                         events={"m.room.power_levels": 50, "m.room.server_acl": 50})
    reply = await owner.ask(room, "!enable moderation")
    assert "moderation" in reply.body
    for member in others:
        await add_member(owner, room, member, bot)
    return room


async def config(owner: Member, room: str, key: str, value: str) -> None:
    reply = await owner.ask(room, f"!config moderation {key} {value}")
    assert "Saved" in reply.body, reply.body


def from_bot(bot: RunningBot, member: Member, room: str | None = None) -> list[str]:
    return [m.body for m in member.received
            if m.sender == bot.user_id and (room is None or m.room_id == room)]


async def knows_devices(member: Member, user_id: str) -> None:
    """Wait until `member` has the devices of `user_id`, so its first message is readable."""
    client = member.client

    async def known() -> bool:
        if any(True for _ in client.device_store.active_user_devices(user_id)):
            return True
        if client.should_query_keys:
            await client.keys_query()
        return False

    await until(known)


async def management_room(owner: Member, bot: RunningBot) -> str:
    """The network moderators' encrypted room (config), where reports and raid alerts arrive.

    Its members at the role level (the owner, an admin there) are network moderators.
    """
    room = await room_with_bot(owner, bot)
    await knows_devices(owner, bot.user_id)
    join_network(bot, moderators_room=room)
    await owner.ask(room, "!enable moderation")
    return room


def readable_at_rest(bot: RunningBot, *texts: str) -> list[str]:
    """Which of `texts` someone holding the disk reads in the bot's database (tables and bytes)."""
    assert bot.bot is not None
    path = Path(bot.bot.db.path)
    connection = sqlite3.connect(path)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        cells = [value for table in tables
                 for row in connection.execute(f'SELECT * FROM "{table}"')  # names from the schema
                 for value in row if isinstance(value, str)]
    finally:
        connection.close()
    blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    return [text for text in texts
            if any(text in cell for cell in cells) or text.encode() in blob]
