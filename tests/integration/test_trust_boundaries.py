"""Attacks on the bot's view of a room, by a real E2EE member on a real Synapse.

Any member can encrypt any payload. nio applied the plaintext of a decrypted
event to its room model as if it were state, so one encrypted "power levels"
or "create" payload made an ordinary member an admin in the bot's eyes, and a
fake member event made the bot believe someone had joined. The attacker here
builds those Megolm payloads itself (nio's group session, vodozemac inside).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from nio import Api, RoomSendResponse

from bots.admin import AdminPlugin
from core.events import MemberJoined, RoomEvent, StateChanged
from core.matrix.member import Member
from core.network import NetworkRole
from tests.integration.conftest import RunningBot, room_with_bot
from tests.integration.plugins import EchoPlugin, WhisperPlugin


async def send_encrypted_payload(member: Member, room_id: str, plaintext: dict[str, Any]) -> str:
    """Encrypt `plaintext` (any shape) with the member's Megolm session and send it."""
    client = member.client
    assert client.olm is not None
    payload = client.olm.group_encrypt(room_id, dict(plaintext))
    method, path, data = Api.room_send(
        client.access_token, room_id, "m.room.encrypted", payload, str(uuid.uuid4()))
    response = await client._send(RoomSendResponse, method, path, data, (room_id,))
    assert isinstance(response, RoomSendResponse), response
    return str(response.event_id)


async def join(member: Member, room_id: str) -> None:
    response = await member.client.join(room_id)
    assert not hasattr(response, "status_code") or response.room_id, response


async def test_encrypted_state_payloads_change_nothing(
    make_bot: Callable[..., Awaitable[RunningBot]],
    make_member: Callable[..., Awaitable[Member]],
) -> None:
    admin = await make_member()
    attacker = await make_member()
    outsider = "@outsider-never-joined:localhost"
    bot = await make_bot()
    assert bot.bot is not None
    seen: list[RoomEvent] = []
    bot.bot.on_event = seen.append
    room = await room_with_bot(admin, bot)
    await admin.client.room_invite(room, attacker.user_id)
    await asyncio.sleep(0.3)
    await join(attacker, room)
    await admin.wait_member(room, attacker.user_id)
    connection = bot.bot.connection
    # A first, ordinary message shares the attacker's Megolm session with the bot.
    reply = await attacker.ask(room, "!echo hello")
    assert "hello" in reply.body

    forged = [
        {"type": "m.room.power_levels", "state_key": "",
         "content": {"users": {admin.user_id: 100, attacker.user_id: 100}, "users_default": 0}},
        # Without a state_key too: nio parses the type alone.
        {"type": "m.room.power_levels",
         "content": {"users": {attacker.user_id: 100}, "users_default": 100}},
        {"type": "m.room.create", "state_key": "",
         "content": {"room_version": "12", "additional_creators": [attacker.user_id]}},
        {"type": "m.room.member", "state_key": outsider, "content": {"membership": "join"}},
        {"type": "m.policy.rule.user", "state_key": "rule",
         "content": {"entity": admin.user_id, "recommendation": "m.ban", "reason": "x"}},
    ]
    for plaintext in forged:
        await send_encrypted_payload(attacker, room, plaintext)

    # An admin command: refused as for any member, in the bot's view nothing changed.
    answer = await attacker.ask(room, "!plugins")
    assert answer.body.startswith("Sorry"), answer.body
    assert connection.power_level(room, attacker.user_id) == 0
    # An organizer command: refused too.
    answer = await attacker.ask(room, "!config --network admin min_role moderator")
    assert "organizers" in answer.body or answer.body.startswith("Sorry"), answer.body
    admin_plugin = type(bot.bot.runtime.plugins["admin"])
    assert bot.bot.runtime.settings.effective("", admin_plugin).model_dump()["min_role"] == "admin"
    # A join-driven action: the outsider is no member (no room keys for them,
    # no welcome or raid count), and no plugin saw the forged state.
    assert outsider not in connection.members(room)
    assert not any(isinstance(e, MemberJoined) and e.user_id == outsider for e in seen)
    assert not any(isinstance(e, StateChanged) and e.sender == attacker.user_id for e in seen)
    assert connection.nio.forged_state_dropped == len(forged)
    # The room's real admin is still an admin.
    assert connection.power_level(room, admin.user_id) >= 100


async def test_forged_power_in_the_organizers_room_grants_no_network_role(
    make_bot: Callable[..., Awaitable[RunningBot]],
    make_member: Callable[..., Awaitable[Member]],
) -> None:
    organizer = await make_member()
    attacker = await make_member()
    bot = await make_bot()
    assert bot.bot is not None
    room = await room_with_bot(organizer, bot)
    # The room becomes the organizers room (members at role_level are organizers).
    await bot.bot.runtime.network.set_role_room(NetworkRole.ORGANIZER, room)
    await organizer.client.room_invite(room, attacker.user_id)
    await asyncio.sleep(0.3)
    await join(attacker, room)
    await organizer.wait_member(room, attacker.user_id)
    reply = await attacker.ask(room, "!echo hi")
    assert "hi" in reply.body
    authority = bot.bot.runtime.authority
    assert authority.is_organizer(organizer.user_id)
    assert not authority.is_organizer(attacker.user_id)

    await send_encrypted_payload(attacker, room, {
        "type": "m.room.power_levels", "state_key": "",
        "content": {"users": {organizer.user_id: 100, attacker.user_id: 100}}})
    answer = await attacker.ask(room, "!config --network admin min_role moderator")
    assert "organizers" in answer.body or answer.body.startswith("Sorry"), answer.body
    assert not authority.is_organizer(attacker.user_id)
    admin_plugin = type(bot.bot.runtime.plugins["admin"])
    assert bot.bot.runtime.settings.effective("", admin_plugin).model_dump()["min_role"] == "admin"


async def test_the_network_is_the_children_of_its_space(
    make_bot: Callable[..., Awaitable[RunningBot]],
    make_member: Callable[..., Awaitable[Member]],
) -> None:
    organizer = await make_member()
    bot = await make_bot()
    assert bot.bot is not None
    network = bot.bot.runtime.network
    created = await organizer.client.room_create(name="Network", space=True,
                                                 invite=[bot.user_id])
    space = created.room_id
    network.config = network.config.model_copy(update={"space": space})
    await organizer.wait_member(space, bot.user_id)
    room = await room_with_bot(organizer, bot)
    # Being invited (by an allowed user) does not make a room part of the network.
    assert not network.contains(room)

    async def until(condition: Callable[[], bool]) -> None:
        while not condition():
            await asyncio.sleep(0.05)

    await organizer.client.room_put_state(space, "m.space.child", {"via": ["localhost"]},
                                          state_key=room)
    await asyncio.wait_for(until(lambda: network.contains(room)), 30)
    # Removing the child from the space (empty content) takes it out again.
    await organizer.client.room_put_state(space, "m.space.child", {}, state_key=room)
    await asyncio.wait_for(until(lambda: not network.contains(room)), 30)


async def test_a_private_command_in_a_group_is_removed_and_answered_in_the_dm(
    make_bot: Callable[..., Awaitable[RunningBot]],
    make_member: Callable[..., Awaitable[Member]],
) -> None:
    admin = await make_member()
    member = await make_member()
    bot = await make_bot(plugins=[AdminPlugin, EchoPlugin, WhisperPlugin])
    assert bot.bot is not None
    group = await room_with_bot(admin, bot)
    await admin.client.room_invite(group, member.user_id)
    await asyncio.sleep(0.3)
    await join(member, group)
    await admin.wait_member(group, member.user_id)
    await member.ask(group, "!echo ready")

    # The bot has no power to redact here: the member is told how, in the DM.
    typed = await member.send(group, "!whisper at the safe house on Main street")
    answer = await member.wait_for(lambda m: m.body.startswith("whispered:"), timeout=30)
    assert answer.room_id != group
    note = await member.wait_for(lambda m: "delete it yourself" in m.body, timeout=30)
    assert note.room_id == answer.room_id
    # Nothing was answered in the group.
    await member.ask(group, "!echo after")
    assert not [m for m in member.received
                if m.room_id == group and m.sender == bot.user_id and m.reply_to == typed]

    # With the power to redact, the message is removed from the group.
    levels = await admin.client.room_get_state_event(group, "m.room.power_levels")
    content = dict(levels.content)
    content["users"] = {**content.get("users", {}), bot.user_id: 50}
    await admin.client.room_put_state(group, "m.room.power_levels", content)

    async def bot_may_redact() -> None:
        while bot.bot is not None and bot.bot.connection.power_level(group, bot.user_id) < 50:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(bot_may_redact(), 30)
    second = await member.send(group, "!whisper my contact is Sam")
    await member.wait_for(lambda m: m.body.startswith("whispered:") and "Sam" in m.body,
                          timeout=30)
    event = await admin.client.room_get_event(group, second)
    assert not event.event.source.get("content"), "the private command is still readable"
