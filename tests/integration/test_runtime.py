"""The core runtime against a real Synapse with real E2EE members."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.integration.conftest import room_with_bot

pytestmark = pytest.mark.integration


async def test_command_round_trip_in_encrypted_room(make_bot, make_member) -> None:
    bot = await make_bot()
    member = await make_member()
    room = await room_with_bot(member, bot)
    reply = await member.ask(room, "!echo hello there")
    assert reply.encrypted
    assert reply.sender == bot.user_id
    assert reply.content["msgtype"] == "m.notice"
    assert "hello there" in reply.body
    assert reply.reply_to is not None


async def test_help_lists_commands_and_explains_one(make_bot, make_member) -> None:
    bot = await make_bot()
    member = await make_member()
    other = await make_member()
    room = await room_with_bot(member, bot)
    # A group room (with only the bot and its admin it would be a DM, where room
    # staff commands are not listed).
    await member.client.room_invite(room, other.user_id)
    assert bot.bot is not None

    async def bot_sees_the_invite() -> None:
        while other.user_id not in bot.bot.connection.members(room):  # type: ignore[union-attr]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(bot_sees_the_invite(), 30)
    listing = await member.ask(room, "!help")
    for name in ("!echo", "!help", "!language", "!config"):
        assert name in listing.body
    detail = await member.ask(room, "!help echo")
    assert "!echo <text>" in detail.body
    unknown = await member.ask(room, "!ecko hi")
    assert "!echo" in unknown.body  # closest command suggested


async def test_admin_commands_refused_for_non_admin(make_bot, make_member) -> None:
    bot = await make_bot()
    owner = await make_member()
    guest = await make_member()
    room = await room_with_bot(owner, bot)
    await owner.client.room_invite(room, guest.user_id)
    await guest.wait_member(room, guest.user_id)
    await owner.wait_member(room, guest.user_id)
    refused = await guest.ask(room, "!disable echo")
    assert "Sorry" in refused.body
    assert bot.bot is not None
    from tests.integration.plugins import EchoPlugin

    assert bot.bot.runtime.settings.is_enabled(room, EchoPlugin)
    done = await owner.ask(room, "!disable echo")
    assert "off" in done.body
    assert not bot.bot.runtime.settings.is_enabled(room, EchoPlugin)


async def test_invalid_setting_refused_and_nothing_stored(make_bot, make_member) -> None:
    bot = await make_bot()
    member = await make_member()
    room = await room_with_bot(member, bot)
    refused = await member.ask(room, "!config admin min_role overlord")
    assert "Nothing was changed" in refused.body
    assert bot.bot is not None
    rows = await bot.bot.db.fetchall("SELECT * FROM core_room_settings WHERE room_id = ?", (room,))
    assert rows == []
    saved = await member.ask(room, "!config admin min_role moderator")
    assert "Saved" in saved.body
    rows = await bot.bot.db.fetchall("SELECT value FROM core_room_settings WHERE room_id = ?",
                                     (room,))
    assert [r["value"] for r in rows] == ['"moderator"']


async def test_organizers_change_a_setting_for_every_room_and_a_room_may_differ(
        make_bot, make_member) -> None:
    organizer, room_admin = await make_member(), await make_member()
    bot = await make_bot(roles={"organizers": [organizer.user_id]})
    organizers_room = await room_with_bot(organizer, bot)
    other_room = await room_with_bot(room_admin, bot)
    refused = await room_admin.ask(other_room, "!config --network admin min_role moderator")
    assert "Only the network's organizers" in refused.body
    saved = await organizer.ask(organizers_room, "!config --network admin min_role moderator")
    assert "Saved" in saved.body
    # The other room, which never changed it, follows the network...
    listing = await room_admin.ask(other_room, "!config admin")
    assert "min_role = moderator" in listing.body
    shown = await organizer.ask(organizers_room, "!config --network admin")
    assert "Network-wide settings of admin" in shown.body and "min_role = moderator *" in shown.body
    # ...until it sets its own value, which wins there.
    assert "Saved" in (await room_admin.ask(other_room, "!config admin min_role admin")).body
    assert "min_role = admin *" in (await room_admin.ask(other_room, "!config admin")).body
    bad = await organizer.ask(organizers_room, "!config --network admin min_role overlord")
    assert "Nothing was changed" in bad.body


async def test_plugin_that_raises_does_not_stop_the_bot(make_bot, make_member, caplog) -> None:
    bot = await make_bot()
    member = await make_member()
    room = await room_with_bot(member, bot)
    with caplog.at_level(logging.ERROR):
        apology = await member.ask(room, "!boom my secret words")
    assert "something went wrong" in apology.body
    error_id = apology.body.rsplit(" ", 1)[-1].strip("\u2068\u2069")
    assert error_id in caplog.text
    assert "secret words" not in caplog.text
    assert "echo" in (await member.ask(room, "!echo still alive")).body


async def test_language_choice_answers_in_arabic(make_bot, make_member) -> None:
    bot = await make_bot()
    member = await make_member()
    room = await room_with_bot(member, bot)
    await member.ask(room, "!language ar")
    reply = await member.ask(room, "!echo مرحبا")
    # Laid out right to left in Element: the first strong character is Arabic's.
    assert reply.body.startswith("\u200fصدى")
    assert "\u2068مرحبا\u2069" in reply.body  # user text isolated for bidi


async def test_invite_from_disallowed_user_is_rejected(make_bot, make_member) -> None:
    bot = await make_bot(invites={"allowed_users": ["@nobody:elsewhere"]})
    member = await make_member()
    room = await member.create_room(invite=[bot.user_id])
    assert bot.bot is not None

    async def rejected() -> None:
        while True:
            response = await member.client.joined_members(room)
            members = {m.user_id for m in getattr(response, "members", [])}
            invited = member.client.rooms[room].invited_users if room in member.client.rooms else {}
            if bot.user_id not in members and bot.user_id not in invited:
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(rejected(), 20)
    assert room not in bot.bot.connection.nio.rooms


async def test_unencrypted_room_is_refused_once(make_bot, make_member) -> None:
    bot = await make_bot()
    member = await make_member()
    room = await room_with_bot(member, bot, encrypted=False)
    await member.send(room, "!echo should not be answered")
    notice = await member.wait_for(lambda m: m.sender == bot.user_id and m.room_id == room, 20)
    assert "not end-to-end encrypted" in notice.body
    await member.send(room, "!echo nor this")
    marker = await member.send(room, "!help")
    assert bot.bot is not None
    await asyncio.sleep(0)  # let the bot's sync deliver the commands

    async def handled() -> None:
        while not await bot.bot.db.fetchone(  # type: ignore[union-attr]
            "SELECT 1 FROM core_handled_events WHERE event_id = ?", (marker,)
        ):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(handled(), 20)
    from_bot = [m for m in member.received if m.sender == bot.user_id and m.room_id == room]
    assert len(from_bot) == 1


async def test_unreadable_message_is_explained_once(make_bot, make_member) -> None:
    """A member whose client keeps its room key from the bot is told why, once."""
    bot = await make_bot()
    member = await make_member()
    room = await room_with_bot(member, bot)
    await member.ask(room, "!echo readable")
    assert bot.bot is not None
    bot.bot.connection.undecryptable_grace_seconds = 1.0
    # Keep the next room keys from the bot's device, as a strict client would.
    client = member.client
    for device in client.device_store.active_user_devices(bot.user_id):
        client.blacklist_device(device)
    client.olm.outbound_group_sessions.pop(room, None)  # force a new Megolm session
    unreadable = [await member.send(room, f"!echo hidden {i}") for i in range(2)]
    notice = await member.wait_for(
        lambda m: m.sender == bot.user_id and "couldn't read your last message" in m.body, 30
    )
    assert member.user_id in notice.content["m.mentions"]["user_ids"]
    assert bot.bot.connection.undecryptable >= 2
    await member.send(room, "!echo nudge")  # one more sync round on the bot
    await asyncio.sleep(2)
    notices = [m for m in member.received if "couldn't read" in m.body]
    assert len(notices) == 1
    assert not any(m.reply_to in unreadable for m in member.received)
