"""The bot's trust policy as Element's crypto sees it (matrix-js-sdk 37.5.0, Rust crypto).

With the default ``crypto.trust: cross_signed`` the bot shares its room keys
only with devices their owner cross-signed: an Element member whose session is
cross-signed reads the bot with no shield; a session that is not cannot
decrypt the bot's answers, and its client is told why
(``m.room_key.withheld``, ``m.unverified``), which Element shows as "the
sender withheld the key because your session is not verified". Once that
member cross-signs the session, the bot's next answer decrypts.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.interop.bot_helpers import (
    WAIT_SECONDS,
    MakeBot,
    RegisterUser,
    SpawnMember,
    assert_trusted_answer,
    echo_round_trip,
)

pytestmark = pytest.mark.interop


async def test_unverified_session_gets_no_keys_and_is_told_why(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    member = await js_member(await register_user("unsigned"))  # no cross-signing yet
    room = await member.create_room(invite=[bot.user_id])
    await member.wait_joined(room, bot.user_id)
    await bot.wait_knows_encrypted_room(room)

    # The member (default mode) shares its key with the bot, so the bot reads and
    # answers; the answer's key is withheld from the unverified session, with the reason.
    got = await echo_round_trip(member, bot, room, "hello")
    assert got["encrypted"] is True
    assert got["decryption_failed"] is True
    assert got["decryption_failure_reason"] == "MEGOLM_KEY_WITHHELD_FOR_UNVERIFIED_DEVICE"
    assert got["body"] is None
    assert "m.room_key.withheld" in {e["type"] for e in await member.to_device_log()}

    # The member cross-signs its session: the bot's next answer reaches it.
    assert (await member.bootstrap_cross_signing())["ready"] is True
    assert bot.bot is not None and bot.bot.connection.trust is not None
    trust = bot.bot.connection.trust
    assert member.user_id is not None
    store = bot.bot.connection.nio.device_store
    async with asyncio.timeout(WAIT_SECONDS):  # the device-list change reaches the bot's sync
        while not (devices := list(store.active_user_devices(member.user_id))) or \
                not await trust.allows(member.user_id, devices[0].id):
            await asyncio.sleep(0.2)
    assert_trusted_answer(await echo_round_trip(member, bot, room, "again"), "again")
