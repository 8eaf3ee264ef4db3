"""The real Solidarity bot against an Element-like member in strict mode.

The member is matrix-js-sdk 37.5.0 with its Rust crypto (see ``member.mjs``),
with its own cross-signing set up (as every Element account has) and the
strict isolation mode on (``OnlySignedDevicesIsolationMode``, Element's
"exclude insecure devices", MSC4153). Such a member shares room keys only with
devices cross-signed by their owner and refuses to decrypt anything else, so
the bot is usable for it only if the bot's device is cross-signed.

* the bot publishes a cross-signed identity at start; the strict member's
  ``!echo`` is answered (so the bot decrypted it) in an encrypted room and in
  a DM, and the answer decrypts with no shield;
* a bot restarted from a fresh store (new device) with the recovery key keeps
  its identity (same master key, no "identity changed" state on the member's
  side) and its new device is signed, so it keeps working for the member;
* negative control: a bot with ``crypto.cross_signing: false`` is a plain
  unsigned nio device, whose answers the strict member cannot decrypt
  (``UNSIGNED_SENDER_DEVICE``) and to which it withholds its room keys.
"""


from __future__ import annotations

import pytest

from core.crypto import IdentityAction, WrongRecoveryKeyError
from tests.interop.bot_helpers import (
    MakeBot,
    RegisterUser,
    SpawnMember,
    assert_identity_trusted,
    assert_trusted_answer,
    echo_body,
    echo_round_trip,
    published_master_key,
    strict_member,
    wait_device_signed,
)
from tests.interop.member import JsMemberError

pytestmark = pytest.mark.interop


async def test_strict_member_and_bot_in_encrypted_room(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    assert bot.bot is not None and bot.bot.identity is not None
    assert bot.bot.identity.action is IdentityAction.CREATED
    assert bot.bot.identity.device_signed is True
    assert (bot.data_dir / "RECOVERY-KEY.txt").exists()
    alice, _ = await strict_member(register_user, js_member)

    room = await alice.create_room(invite=[bot.user_id])
    await alice.wait_joined(room, bot.user_id)
    await bot.wait_knows_encrypted_room(room)

    # The bot answered, so it decrypted the strict member's message, and the
    # member decrypts the answer with no shield.
    assert_trusted_answer(await echo_round_trip(alice, bot, room, "hi"), "hi")

    device = await wait_device_signed(alice, bot.user_id, bot.device_id)
    assert device["cross_signing_verified"] is False  # nobody verified the bot yet
    assert_identity_trusted(await alice.user_verification_status(bot.user_id))


async def test_strict_member_and_bot_in_dm(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    alice, _ = await strict_member(register_user, js_member)

    dm = await alice.create_dm(bot.user_id)
    await alice.wait_joined(dm, bot.user_id)
    await bot.wait_knows_encrypted_room(dm)
    assert bot.bot is not None
    bot_room = bot.bot.connection.nio.rooms[dm]
    assert bot_room.member_count == 2

    assert_trusted_answer(await echo_round_trip(alice, bot, dm, "hi"), "hi")
    await wait_device_signed(alice, bot.user_id, bot.device_id)


async def test_bot_restored_from_recovery_key_keeps_identity(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    bot = await make_bot()
    alice, alice_user = await strict_member(register_user, js_member)
    room = await alice.create_room(invite=[bot.user_id])
    await alice.wait_joined(room, bot.user_id)
    await bot.wait_knows_encrypted_room(room)
    assert_trusted_answer(await echo_round_trip(alice, bot, room, "before"), "before")

    assert bot.bot is not None and bot.bot.identity is not None
    master_before = bot.bot.identity.master_key
    assert await published_master_key(alice_user, bot.user_id) == master_before
    old_device = bot.device_id

    # Lost store: a new, empty data dir; the operator gives the recovery key.
    await bot.stop()
    old_dir = bot.fresh_store()
    recovery_key = (old_dir / "RECOVERY-KEY.txt").read_text(encoding="utf-8").strip()
    assert recovery_key
    restored = await bot.start(recovery_key=recovery_key)
    assert restored.identity is not None
    assert restored.identity.action is IdentityAction.RESTORED
    assert restored.identity.master_key == master_before
    assert restored.identity.device_signed is True
    assert restored.identity.recovery_key is None  # no new recovery key: nothing reset
    assert not (bot.data_dir / "RECOVERY-KEY.txt").exists()
    assert bot.device_id != old_device
    await bot.wait_knows_encrypted_room(room)

    # The homeserver still publishes the same identity; the member sees the
    # new device signed by it, and no identity change.
    assert await published_master_key(alice_user, bot.user_id) == master_before
    await wait_device_signed(alice, bot.user_id, bot.device_id)
    assert_identity_trusted(await alice.user_verification_status(bot.user_id))

    assert_trusted_answer(await echo_round_trip(alice, bot, room, "after"), "after")
    assert_identity_trusted(await alice.user_verification_status(bot.user_id))


async def test_negative_control_bot_without_cross_signing(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    """Without cross-signing the bot is invisible to a strict member.

    A second member in the default mode (``lax``) sends the command, so the
    bot gets the room key and answers; the strict member cannot decrypt that
    answer. The strict member's own command never reaches the bot.
    """
    bot = await make_bot(cross_signing=False)
    assert bot.bot is not None and bot.bot.identity is None
    assert not (bot.data_dir / "RECOVERY-KEY.txt").exists()
    strict, _ = await strict_member(register_user, js_member, "strict")
    lax = await js_member(await register_user("lax"))
    assert (await lax.bootstrap_cross_signing())["ready"] is True
    assert lax.user_id is not None

    room = await strict.create_room(invite=[bot.user_id, lax.user_id])
    await lax.wait_invite(strict.user_id)
    await lax.join(room)
    await strict.wait_joined(room, bot.user_id)
    await strict.wait_joined(room, lax.user_id)
    await lax.wait_joined(room, bot.user_id)
    await bot.wait_knows_encrypted_room(room)

    # The bot's device has no owner signature.
    devices = {d["device_id"]: d for d in await strict.device_info(bot.user_id)}
    assert devices[bot.device_id]["signed_by_owner"] is False
    status = await strict.user_verification_status(bot.user_id)
    assert status["has_cross_signing_keys"] is False

    # Lax member: the bot answers; red shield for the unsigned device.
    await lax.send(room, "!echo from lax")
    got = await lax.wait_message(room, bot.user_id)
    assert got["body"] == echo_body("from lax")
    assert got["shield"] == {"colour": "RED", "reason": "UNSIGNED_DEVICE"}

    # Strict member: the same answer does not decrypt.
    got = await strict.wait_message(room, bot.user_id, grace=1.0)
    assert got["encrypted"] is True
    assert got["decryption_failed"] is True
    assert got["decryption_failure_reason"] == "UNSIGNED_SENDER_DEVICE"
    assert got["body"] is None

    # The strict member's command: its room key is withheld from the bot
    # (m.room_key.withheld, m.unverified), so the bot cannot answer it. It
    # explains why instead, once, mentioning the member; the lax member can
    # read that explanation (the strict one could not, which is the point).
    undecryptable_before = bot.bot.connection.undecryptable
    await strict.send(room, "!echo from strict")
    explained = await lax.wait_message(room, bot.user_id, timeout=20)
    assert "couldn't read your last message" in explained["body"]
    assert "m.unverified" in explained["body"]
    assert strict.user_id in explained["body"]
    assert bot.bot.connection.undecryptable > undecryptable_before
    assert bot.bot.connection.withheld_received >= 1
    with pytest.raises(JsMemberError) as timed_out:
        await lax.wait_message(room, bot.user_id, timeout=3)
    assert timed_out.value.code == "timeout"  # no answer to the command itself


async def test_bot_restores_identity_set_up_in_element_with_security_phrase(
    register_user: RegisterUser, js_member: SpawnMember, make_bot: MakeBot
) -> None:
    """The operator set the bot account up in Element with a security phrase (m.pbkdf2):
    the bot restores that identity from the phrase, and never resets it."""
    phrase = "solidarity forever, one two three"
    account = await register_user("bot")
    element = await js_member(account)
    setup = await element.bootstrap_secret_storage(phrase)
    assert setup["ready"] is True and setup["key_id"]
    master = await published_master_key(account, account.user_id)
    await element.close()

    # A wrong phrase: a clear error, and the published identity is untouched.
    with pytest.raises(WrongRecoveryKeyError, match="security phrase"):
        await make_bot(user=account, recovery_key="not the phrase")
    assert await published_master_key(account, account.user_id) == master

    bot = await make_bot(user=account, recovery_key=phrase)
    assert bot.bot is not None and bot.bot.identity is not None
    assert bot.bot.identity.action is IdentityAction.RESTORED
    assert bot.bot.identity.master_key == master
    assert bot.bot.identity.device_signed is True

    alice, _ = await strict_member(register_user, js_member)
    room = await alice.create_room(invite=[bot.user_id])
    await alice.wait_joined(room, bot.user_id)
    await bot.wait_knows_encrypted_room(room)
    assert_trusted_answer(await echo_round_trip(alice, bot, room, "phrase"), "phrase")
    await wait_device_signed(alice, bot.user_id, bot.device_id)
    assert_identity_trusted(await alice.user_verification_status(bot.user_id))
