"""A strict Element-crypto member verifies the bot with emoji (SAS), in a DM and to-device.

The member is matrix-js-sdk 37.5.0 with its Rust crypto (Element Web's crypto
core), in strict isolation mode. It requests verification the way Element
does (in the DM for another user, or to one device), starts SAS, compares
the emoji and confirms. The bot answers with ``core.crypto.verification``
(MAC method ``hkdf-hmac-sha256.v2``), confirms automatically or once the
operator decided, and signs the member's master key with its user-signing
key. Afterwards the member's crypto reports the bot as cross-signing
verified. Cancel paths: the member cancels before SAS, the member says the
emoji differ, the operator rejects, and a silent member runs into the bot's
timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from core.cli import verify_command
from core.crypto.canonical import verify_json
from core.crypto.sas import SasState
from core.crypto.verification import Flow, VerificationManager
from tests.interop.bot_helpers import (
    WAIT_SECONDS,
    InteropBot,
    MakeBot,
    RegisterUser,
    SpawnMember,
    strict_member,
)
from tests.interop.member import JsMember, JsMemberError

pytestmark = pytest.mark.interop


def manager(bot: InteropBot) -> VerificationManager:
    assert bot.bot is not None and bot.bot.trust_services is not None
    return bot.bot.trust_services.verification


async def finished_flow(bot: InteropBot, user_id: str) -> Flow:
    """The bot's finished exchange with ``user_id`` (waits for it to end)."""
    verification = manager(bot)
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            for flow in verification.finished:
                if flow.user_id == user_id:
                    return flow
            await asyncio.sleep(0.05)


async def waiting_flow(bot: InteropBot, user_id: str) -> Flow:
    """The bot's exchange with ``user_id`` once it waits for the operator."""
    verification = manager(bot)
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            for flow in verification.flows.values():
                if flow.user_id == user_id and flow.row_id is not None:
                    return flow
            await asyncio.sleep(0.05)


async def next_notice(member: JsMember, room_id: str, sender: str) -> dict[str, Any]:
    """The next m.notice from ``sender`` (skipping its in-room verification events)."""
    while True:
        message = await member.wait_message(room_id, sender, timeout=WAIT_SECONDS)
        if message["type"] == "m.room.message" and message["msgtype"] == "m.notice":
            return message


async def bot_signed_master_key(bot: InteropBot, user_id: str) -> bool:
    """True if ``user_id``'s master key carries a valid signature by the bot's user-signing key."""
    assert bot.bot is not None and bot.bot.identity is not None
    session = bot.bot.connection.cross_signing_session()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{session.homeserver}/_matrix/client/v3/keys/query",
            json={"device_keys": {user_id: []}},
            headers={"Authorization": f"Bearer {session.access_token}"},
        ) as resp,
    ):
        resp.raise_for_status()
        body: dict[str, Any] = await resp.json()
    master = body["master_keys"][user_id]
    usk = bot.bot.identity.user_signing_key
    return verify_json(master, bot.user_id, f"ed25519:{usk}", usk)


async def dm_with_bot(member: JsMember, bot: InteropBot) -> str:
    dm = await member.create_dm(bot.user_id)
    await member.wait_joined(dm, bot.user_id)
    await bot.wait_knows_encrypted_room(dm)
    return dm


def emoji_names(sas: dict[str, Any]) -> list[str]:
    return [item["name"] for item in sas["emoji"]]


async def test_member_verifies_bot_in_dm_with_emoji(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    alice, _ = await strict_member(register_user, js_member)
    assert alice.user_id is not None
    dm = await dm_with_bot(alice, bot)
    before = await alice.user_verification_status(bot.user_id)
    assert before["cross_signing_verified"] is False
    assert not await bot_signed_master_key(bot, alice.user_id)

    request = await alice.verify_request(bot.user_id, room_id=dm)
    sas = await alice.verify_start_sas(request["verification"])
    # The bot posts the same emoji and numbers in the DM for the member to compare.
    notice = await next_notice(alice, dm, bot.user_id)
    for name in emoji_names(sas):
        assert name in notice["body"]
    for number in sas["decimal"]:
        assert str(number) in notice["body"]

    done = await alice.verify_confirm(request["verification"])
    assert done["phase"] == "Done"
    status = await alice.wait_user_verified(bot.user_id)
    assert status["cross_signing_verified"] is True
    assert status["is_verified"] is True

    flow = await finished_flow(bot, alice.user_id)
    assert flow.sas.state is SasState.DONE
    assert flow.sas.mac_method == "hkdf-hmac-sha256.v2"
    assert [name for _, name in flow.sas.emoji] == emoji_names(sas)
    assert flow.sas.decimals == tuple(sas["decimal"])
    assert flow.sas.verified is not None and flow.sas.verified.master_key is not None
    assert await bot_signed_master_key(bot, alice.user_id)
    assert "verification done" in (await next_notice(alice, dm, bot.user_id))["body"]

    # Still talking, with no shield, after the verification.
    await alice.send(dm, "!echo verified")
    reply = await next_notice(alice, dm, bot.user_id)
    assert reply["body"] == "echo: \u2068verified\u2069"
    assert reply["shield"] == {"colour": "NONE", "reason": None}


async def test_member_verifies_bot_device_to_device(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    alice, _ = await strict_member(register_user, js_member)
    assert alice.user_id is not None
    # The member must know the bot's device to address it.
    await dm_with_bot(alice, bot)

    request = await alice.verify_request(bot.user_id, device_id=bot.device_id)
    assert request["room_id"] is None
    sas = await alice.verify_start_sas(request["verification"])
    assert len(sas["emoji"]) == 7
    done = await alice.verify_confirm(request["verification"])
    assert done["phase"] == "Done"
    assert (await alice.wait_user_verified(bot.user_id))["cross_signing_verified"] is True
    devices = {d["device_id"]: d for d in await alice.device_info(bot.user_id)}
    assert devices[bot.device_id]["cross_signing_verified"] is True

    flow = await finished_flow(bot, alice.user_id)
    assert flow.room_id is None
    assert [name for _, name in flow.sas.emoji] == emoji_names(sas)
    assert await bot_signed_master_key(bot, alice.user_id)


async def test_member_cancels_before_sas(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    alice, _ = await strict_member(register_user, js_member)
    assert alice.user_id is not None
    dm = await dm_with_bot(alice, bot)

    request = await alice.verify_request(bot.user_id, room_id=dm)
    handle = request["verification"]
    async with asyncio.timeout(WAIT_SECONDS):  # the bot's ready arrives
        while (await alice.verify_status(handle))["phase"] != "Ready":
            await asyncio.sleep(0.1)
    await alice.verify_cancel(handle)
    flow = await finished_flow(bot, alice.user_id)
    assert flow.sas.state is SasState.CANCELLED
    assert flow.sas.cancel_code == "m.user"
    assert flow.sas.verified is None
    assert not await bot_signed_master_key(bot, alice.user_id)
    assert (await alice.user_verification_status(bot.user_id))["cross_signing_verified"] is False


async def test_member_sees_different_emoji(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    # Operator mode: the bot has not sent its MAC when the member says "they don't match".
    bot = await make_bot(verification="operator")
    alice, _ = await strict_member(register_user, js_member)
    assert alice.user_id is not None
    dm = await dm_with_bot(alice, bot)

    request = await alice.verify_request(bot.user_id, room_id=dm)
    await alice.verify_start_sas(request["verification"])
    await waiting_flow(bot, alice.user_id)
    await alice.verify_mismatch(request["verification"])
    flow = await finished_flow(bot, alice.user_id)
    assert flow.sas.state is SasState.CANCELLED
    assert flow.sas.cancel_code == "m.mismatched_sas"
    assert flow.sas.verified is None
    assert not await bot_signed_master_key(bot, alice.user_id)


async def test_operator_confirms_and_rejects(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot = await make_bot(verification="operator")
    alice, _ = await strict_member(register_user, js_member, "alice")
    bob, _ = await strict_member(register_user, js_member, "bob")
    assert alice.user_id is not None and bob.user_id is not None

    # Alice: the operator compares and confirms.
    dm = await dm_with_bot(alice, bot)
    request = await alice.verify_request(bot.user_id, room_id=dm)
    sas = await alice.verify_start_sas(request["verification"])
    confirming = asyncio.create_task(alice.verify_confirm(request["verification"]))
    flow = await waiting_flow(bot, alice.user_id)
    assert [name for _, name in flow.sas.emoji] == emoji_names(sas)
    notice = await next_notice(alice, dm, bot.user_id)
    assert f"verification {flow.row_id}" in notice["body"]
    await asyncio.sleep(0.5)
    assert not confirming.done()  # the member waits for the bot's MAC
    assert flow.row_id is not None
    # The operator: `solidarity verify list`, then `solidarity verify confirm <n>`.
    config = bot.config_file()
    capsys.readouterr()
    assert await verify_command(config, "list", None) == 0
    listed = capsys.readouterr().out
    assert f"{flow.row_id}: {alice.user_id}" in listed
    assert " ".join(f"{symbol} {name}" for symbol, name in flow.sas.emoji) in listed
    assert await verify_command(config, "confirm", flow.row_id) == 0
    assert await verify_command(config, "confirm", flow.row_id) == 1  # decided once
    assert (await confirming)["phase"] == "Done"
    assert (await alice.wait_user_verified(bot.user_id))["cross_signing_verified"] is True
    assert await bot_signed_master_key(bot, alice.user_id)

    # Bob: the operator sees other emoji and rejects.
    bob_dm = await dm_with_bot(bob, bot)
    request = await bob.verify_request(bot.user_id, room_id=bob_dm)
    await bob.verify_start_sas(request["verification"])
    confirming = asyncio.create_task(bob.verify_confirm(request["verification"]))
    flow = await waiting_flow(bot, bob.user_id)
    assert flow.row_id is not None
    assert await verify_command(config, "reject", flow.row_id) == 0
    with pytest.raises(JsMemberError) as cancelled:
        await confirming
    assert cancelled.value.code == "cancelled"
    status = await bob.verify_status(request["verification"])
    assert status["cancellation_code"] == "m.mismatched_sas"
    assert status["cancelling_user_id"] == bot.user_id
    assert not await bot_signed_master_key(bot, bob.user_id)
    assert (await bob.user_verification_status(bot.user_id))["cross_signing_verified"] is False


async def test_silent_member_times_out(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    bot = await make_bot(verification_timeout_seconds=2)
    alice, _ = await strict_member(register_user, js_member)
    assert alice.user_id is not None
    dm = await dm_with_bot(alice, bot)

    request = await alice.verify_request(bot.user_id, room_id=dm)
    handle = request["verification"]
    flow = await finished_flow(bot, alice.user_id)  # never started SAS: the bot gives up
    assert flow.sas.cancel_code == "m.timeout"
    async with asyncio.timeout(WAIT_SECONDS):
        while (await alice.verify_status(handle))["phase"] != "Cancelled":
            await asyncio.sleep(0.1)
    status = await alice.verify_status(handle)
    assert status["cancellation_code"] == "m.timeout"
    assert status["cancelling_user_id"] == bot.user_id


async def test_verification_off_refuses(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    bot = await make_bot(verification="off")
    alice, _ = await strict_member(register_user, js_member)
    dm = await dm_with_bot(alice, bot)
    request = await alice.verify_request(bot.user_id, room_id=dm)
    with pytest.raises(JsMemberError) as cancelled:
        await alice.verify_start_sas(request["verification"])
    assert cancelled.value.code == "cancelled"
    status = await alice.verify_status(request["verification"])
    assert status["cancellation_code"] == "m.user"


async def test_verified_policy_member_verifies_in_dm_and_is_then_trusted(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    """``crypto.trust: verified``: the bot acts for sensitive plugins only for members who
    verified it, yet a member can still do that in a DM (in-room, encrypted messages)."""
    bot = await make_bot(trust="verified")
    alice, _ = await strict_member(register_user, js_member)
    assert alice.user_id is not None and bot.bot is not None
    trust = bot.bot.connection.trust
    assert trust is not None and trust.mode == "verified"
    dm = await dm_with_bot(alice, bot)
    store = bot.bot.connection.nio.device_store
    async with asyncio.timeout(WAIT_SECONDS):  # the bot's key query after the DM join
        while not (devices := list(store.active_user_devices(alice.user_id))):
            await asyncio.sleep(0.05)
    (device,) = devices
    assert not await trust.allows(alice.user_id, device.id)

    request = await alice.verify_request(bot.user_id, room_id=dm)
    await alice.verify_start_sas(request["verification"])
    assert (await alice.verify_confirm(request["verification"]))["phase"] == "Done"
    await finished_flow(bot, alice.user_id)
    assert await bot_signed_master_key(bot, alice.user_id)
    assert await trust.allows(alice.user_id, device.id)
