"""Core services plugins stand on: DMs, the outbox, room actions and state events."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest

from bots.admin import AdminPlugin
from core.actions import ActionError
from core.events import StateChanged
from core.i18n import Catalog
from core.plugin import Context, Plugin, message_content
from tests.integration.conftest import room_with_bot

pytestmark = pytest.mark.integration


class StateWatcher(Plugin):
    """Records the state events plugins are shown."""

    name = "statewatch"
    catalog = Catalog("statewatch", {})
    seen: ClassVar[list[StateChanged]] = []

    async def on_state(self, ctx: Context, event: StateChanged) -> None:
        type(self).seen.append(event)


async def test_dm_is_created_encrypted_and_reused(make_bot, make_member) -> None:
    bot = await make_bot()
    member = await make_member()
    assert bot.bot is not None
    dms = bot.bot.dms
    room_id = await dms.room_for(member.user_id)
    assert bot.bot.connection.is_encrypted(room_id)
    assert dms.is_dm(room_id) and dms.user_of(room_id) == member.user_id
    assert await dms.room_for(member.user_id) == room_id
    assert dms.created == 1
    # Remembered across a restart.
    await bot.restart()
    assert bot.bot is not None
    assert await bot.bot.dms.room_for(member.user_id) == room_id
    assert bot.bot.dms.created == 0


async def test_outbox_delivers_to_a_dm_once_per_key(make_bot, make_member) -> None:
    bot = await make_bot()
    member = await make_member()
    assert bot.bot is not None
    outbox = bot.bot.outbox
    results: list[Any] = []

    async def record(item: Any) -> None:
        results.append(item)

    outbox.on_result("test", record)
    assert await outbox.enqueue("test", "k1", message_content("first words"), user_id=member.user_id)
    assert not await outbox.enqueue("test", "k1", message_content("first words"),
                                    user_id=member.user_id)
    received = await member.wait_for(lambda m: m.body == "first words")
    assert received.encrypted and received.sender == bot.user_id
    await asyncio.wait_for(outbox.idle(), 30)
    item = await outbox.status("test", "k1")
    assert item is not None and item.state == "sent" and item.event_id == received.event_id
    assert [r.key for r in results] == ["k1"]
    await asyncio.sleep(1)
    assert [m.body for m in member.received].count("first words") == 1


async def test_outbox_resend_after_crash_is_dropped_by_homeserver(make_bot, make_member) -> None:
    """A crash after the homeserver accepted a send, before the row was marked: no duplicate."""
    bot = await make_bot()
    member = await make_member()
    room = await room_with_bot(member, bot)
    assert bot.bot is not None
    outbox = bot.bot.outbox
    # The "crash": the row is queued, and the send already reached the homeserver.
    [(sql, params)] = outbox.enqueue_statements("test", "crash", message_content("only once"),
                                                room_id=room)
    await bot.bot.db.execute(sql, params)
    txn_id = params[6]
    first = await bot.bot.runtime.actions.send_event(
        room, "m.room.message", message_content("only once"), txn_id
    )
    await bot.restart()
    assert bot.bot is not None
    await asyncio.wait_for(bot.bot.outbox.idle(), 30)
    item = await bot.bot.outbox.status("test", "crash")
    assert item is not None and item.state == "sent" and item.event_id == first
    await member.wait_for(lambda m: m.body == "only once")
    await asyncio.sleep(1)
    assert [m.body for m in member.received].count("only once") == 1


async def test_outbox_fails_at_once_when_the_bot_is_not_in_the_room(make_bot) -> None:
    bot = await make_bot()
    assert bot.bot is not None
    outbox = bot.bot.outbox
    await outbox.enqueue("test", "nowhere", message_content("x"), room_id="!nowhere:localhost")
    await asyncio.wait_for(outbox.idle(), 30)
    item = await outbox.status("test", "nowhere")
    assert item is not None and item.state == "failed" and item.attempts == 1
    assert item.error and "not in this room" in item.error


async def test_power_levels_state_and_forbidden_actions(make_bot, make_member) -> None:
    bot = await make_bot()
    owner = await make_member()
    guest = await make_member()
    room = await room_with_bot(owner, bot)
    await owner.client.room_invite(room, guest.user_id)
    await owner.wait_member(room, guest.user_id)
    assert bot.bot is not None
    actions = bot.bot.runtime.actions
    # The bot is an ordinary member: the homeserver refuses, and says it is about power.
    with pytest.raises(ActionError) as refused:
        await actions.kick(room, guest.user_id)
    assert refused.value.forbidden
    # Once the owner makes it an admin it can change power levels and read state back.
    await owner.client.room_put_state(room, "m.room.power_levels", {
        **(await actions.get_state(room, "m.room.power_levels") or {}),
        "users": {bot.user_id: 100},
    })
    await actions.set_power_level(room, guest.user_id, -1)
    levels = await actions.get_state(room, "m.room.power_levels")
    assert levels is not None and levels["users"][guest.user_id] == -1
    await actions.set_power_level(room, guest.user_id, None)
    levels = await actions.get_state(room, "m.room.power_levels")
    assert levels is not None and guest.user_id not in levels["users"]
    assert await actions.get_state(room, "m.room.topic") is None
    state_types = {event["type"] for event in await actions.room_state(room)}
    assert {"m.room.create", "m.room.power_levels", "m.room.encryption"} <= state_types


async def test_recent_events_are_decrypted_and_edits_and_reactions_arrive(
    make_bot, make_member
) -> None:
    bot = await make_bot()
    member = await make_member()
    room = await room_with_bot(member, bot)
    reply = await member.ask(room, "!echo remember me")
    assert bot.bot is not None
    actions = bot.bot.runtime.actions
    recent = await actions.recent_events(room, 20)
    bodies = [getattr(event, "body", None) for event in recent]
    assert "!echo remember me" in bodies
    assert all(event.encrypted for event in recent if getattr(event, "body", None))
    fetched = await actions.get_event(room, reply.event_id)
    assert fetched is not None and "remember me" in getattr(fetched, "body", "")
    await actions.edit(room, reply.event_id, message_content("edited text"), "edit-txn-1")
    edit = await member.wait_for(lambda m: m.content.get("m.new_content", {}).get("body")
                                 == "edited text")
    assert edit.content["m.relates_to"] == {"rel_type": "m.replace", "event_id": reply.event_id}
    await actions.redact(room, reply.event_id, reason="test")


async def test_state_events_reach_plugins(make_bot, make_member) -> None:
    StateWatcher.seen = []
    bot = await make_bot(plugins=[AdminPlugin, StateWatcher])
    member = await make_member()
    room = await room_with_bot(member, bot)
    await member.client.room_put_state(
        room, "m.policy.rule.user", {"entity": "@spam*:example.org", "recommendation": "m.ban",
                                     "reason": "spam"}, state_key="rule1",
    )

    async def seen() -> StateChanged:
        while True:
            for event in StateWatcher.seen:
                if event.type == "m.policy.rule.user" and event.state_key == "rule1":
                    return event
            await asyncio.sleep(0.05)

    event = await asyncio.wait_for(seen(), 30)
    assert event.content["entity"] == "@spam*:example.org"
    assert event.room_id == room and event.sender == member.user_id


async def test_redactions_reach_plugins(make_bot, make_member) -> None:
    """An RSVP withdrawn by removing the reaction: the plugin is told of the redaction."""
    from core.events import Reaction, Redaction

    seen: list[tuple[str, str]] = []

    class Rsvp(Plugin):
        name = "rsvp"
        catalog = Catalog("rsvp", {})

        async def on_reaction(self, ctx: Context, event: Reaction) -> None:
            seen.append(("reaction", event.event_id))

        async def on_redaction(self, ctx: Context, event: Redaction) -> None:
            seen.append(("redaction", event.redacts))

    bot = await make_bot(plugins=[AdminPlugin, Rsvp])
    member = await make_member()
    room = await room_with_bot(member, bot)
    message = await member.send(room, "event on friday")
    reacted = await member.client.room_send(room, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": message, "key": "👍"}},
        ignore_unverified_devices=True)
    reaction_id = reacted.event_id
    await member.client.room_redact(room, reaction_id)

    async def told() -> None:
        while ("redaction", reaction_id) not in seen:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(told(), 30)
    assert ("reaction", reaction_id) in seen
