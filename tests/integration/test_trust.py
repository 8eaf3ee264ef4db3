"""crypto.trust against a real Synapse: who gets the bot's room keys, who may use sensitive plugins.

Members here are matrix-nio devices. ``cross_sign`` gives one a cross-signed
identity with core.crypto's own code (the same a js/Element member has); a
member left without one stands for an unverified session. The bot runs with
the default policy ``cross_signed`` (or ``verified``), not the ``all`` the
other integration tests use.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import pytest

from core.crypto import CrossSigningSession, ensure_cross_signed_identity, reset_identity
from core.i18n import Catalog
from core.matrix.member import Member, Received
from core.plugin import Context, Plugin, command
from tests.integration.conftest import RunningBot, room_with_bot
from tests.integration.plugins import EchoPlugin

pytestmark = pytest.mark.integration

MEMBER_PASSWORD = "member-password"  # what make_member registers with

CATALOG = Catalog("vault", {
    "help_secret": {"en": "Tell a secret.", "ar": "قل سراً."},
    "secret": {"en": "the secret is {text}", "ar": "السر هو {text}"},
    "help_confirm": {"en": "Confirm it is you.", "ar": "أكّد أنّ الحساب لك."},
    "confirmed": {"en": "confirmed", "ar": "تمّ التأكيد"},
})


class VaultPlugin(Plugin):
    """A sensitive plugin: acts only for devices that pass the trust policy."""

    name = "vault"
    catalog = CATALOG
    sensitive = True
    seen: ClassVar[list[str]] = []

    @command("secret", help="help_secret")
    async def secret(self, ctx: Context, *, text: str) -> None:
        await ctx.reply(ctx.t("secret", text=text))

    @command("confirm", help="help_confirm", while_held=True)
    async def confirm(self, ctx: Context, pin: str) -> None:
        """What check-ins does with the member's safe PIN (here a fixed one)."""
        if pin == "2468":
            await self.runtime.holds.release(ctx.sender)
            await ctx.reply(ctx.t("confirmed"))

    async def on_message(self, ctx: Context, event: Any) -> None:
        type(self).seen.append(event.sender)


def session_of(member: Member) -> CrossSigningSession:
    client = member.client
    assert client.olm is not None
    return CrossSigningSession(
        homeserver=client.homeserver,
        user_id=member.user_id,
        device_id=str(client.device_id),
        access_token=str(client.access_token),
        password=MEMBER_PASSWORD,
        device_ed25519=client.olm.account.identity_keys["ed25519"],
    )


async def cross_sign(member: Member, store: Path) -> str:
    """Give the member a cross-signed identity; returns its master key."""
    outcome = await ensure_cross_signed_identity(
        session_of(member), local_store=store, passphrase="p", recovery_key=None
    )
    assert outcome.device_signed
    return outcome.master_key


async def joined_room(admin: Member, bot: RunningBot, *others: Member) -> str:
    room = await room_with_bot(admin, bot)
    for other in others:
        await admin.client.room_invite(room, other.user_id)
        await other.wait_member(room, other.user_id)
        await admin.wait_member(room, other.user_id)
    assert bot.bot is not None
    nio_room = bot.bot.connection.nio.rooms[room]
    async with asyncio.timeout(30):
        while not all(o.user_id in nio_room.users for o in others):
            await asyncio.sleep(0.05)
    return room


def from_bot(bot: RunningBot, room: str, text: str) -> Any:
    return lambda m: m.sender == bot.user_id and m.room_id == room and text in m.body


async def no_message(member: Member, predicate: Any, seconds: float = 3.0) -> None:
    with pytest.raises(TimeoutError):
        await member.wait_for(predicate, timeout=seconds)


def device_blacklisted(bot: RunningBot, member: Member) -> bool:
    assert bot.bot is not None
    devices = bot.bot.connection.nio.device_store[member.user_id]
    return bool(devices[str(member.client.device_id)].blacklisted)


async def test_cross_signed_policy_keys_and_sensitive_plugins(
    make_bot: Any, make_member: Any, tmp_path: Path
) -> None:
    VaultPlugin.seen = []
    bot = await make_bot(plugins=[EchoPlugin, VaultPlugin], crypto={"trust": "cross_signed"})
    admin = await make_member()
    member = await make_member()
    stranger = await make_member()  # no cross-signing: an unverified session
    await cross_sign(admin, tmp_path / "admin.enc")
    await cross_sign(member, tmp_path / "member.enc")
    room = await joined_room(admin, bot, member, stranger)

    # A cross-signed member uses the sensitive plugin and reads the answer.
    answer = await member.ask(room, "!secret alpha")
    assert answer.body == "the secret is \u2068alpha\u2069"

    # The unverified session is refused, told why once, and its device gets no room keys:
    # the admin reads the explanation, the stranger cannot.
    first = await stranger.send(room, "!secret beta")
    refusal = await admin.wait_for(lambda m: m.reply_to == first)
    assert "!secret" in refusal.body and "not verified by your own account" in refusal.body
    assert "beta" not in refusal.body
    await no_message(stranger, lambda m: m.reply_to == first)
    assert device_blacklisted(bot, stranger)
    assert not device_blacklisted(bot, member)
    second = await stranger.send(room, "!secret gamma")
    await no_message(admin, lambda m: m.reply_to == second)  # told once only

    # Non-sensitive commands still work for everyone the bot can read.
    echo = await stranger.send(room, "!echo hello")
    assert "hello" in (await admin.wait_for(lambda m: m.reply_to == echo)).body

    # Sensitive listeners never see the stranger's plain messages, only the member's.
    await stranger.send(room, "just chatting")
    await member.send(room, "me too")
    assert bot.bot is not None
    async with asyncio.timeout(30):
        while member.user_id not in VaultPlugin.seen:
            await asyncio.sleep(0.05)
    await bot.bot.dispatcher.drain()
    assert stranger.user_id not in VaultPlugin.seen

    # The stranger cross-signs its session: from now on it is trusted and gets keys.
    await cross_sign(stranger, tmp_path / "stranger.enc")
    trust = bot.bot.connection.trust
    assert trust is not None
    async with asyncio.timeout(30):  # the device-list change reaches the bot's sync
        while not await trust.allows(stranger.user_id, str(stranger.client.device_id)):
            await asyncio.sleep(0.2)
    answer = await stranger.ask(room, "!secret delta")
    assert answer.body == "the secret is \u2068delta\u2069"
    assert not device_blacklisted(bot, stranger)


async def test_identity_change_reported_to_admins(
    make_bot: Any, make_member: Any, tmp_path: Path
) -> None:
    bot = await make_bot(plugins=[EchoPlugin, VaultPlugin], crypto={"trust": "cross_signed"})
    admin = await make_member()
    member = await make_member()
    await cross_sign(admin, tmp_path / "admin.enc")
    old_master = await cross_sign(member, tmp_path / "member.enc")
    room = await joined_room(admin, bot, member)
    assert "alpha" in (await member.ask(room, "!secret alpha")).body

    # The member resets its identity (lost keys, new login): new master key.
    outcome = await reset_identity(
        session_of(member), local_store=tmp_path / "member.enc", passphrase="p"
    )
    assert outcome.master_key != old_master
    assert bot.bot is not None and bot.bot.trust_services is not None

    async def reported() -> Received:
        return await admin.wait_for(from_bot(bot, room, "encryption identity of"))

    # Whoever holds the new identity may be someone who took the account over:
    # sensitive commands are held (and said so), the member is told in their DM,
    # and the room's admin is told, once, mentioning them.
    async with asyncio.timeout(30):
        while True:
            reply = await member.ask(room, "!secret beta")
            if "on hold" in reply.body:
                break
            assert "beta" not in reply.body
            await asyncio.sleep(0.2)
    told = await member.wait_for(lambda m: "identity just changed" in m.body, timeout=30)
    assert told.room_id != room
    assert not [m for m in admin.received if "identity just changed" in m.body]
    notice = await reported()
    assert member.user_id in notice.body
    assert admin.user_id in notice.content["m.mentions"]["user_ids"]
    assert bot.bot.trust_services.identity_changes == 1
    row = await bot.bot.db.fetchone(
        "SELECT master_key FROM crypto_identities WHERE user_id = ?", (member.user_id,)
    )
    assert row is not None and row["master_key"] == outcome.master_key
    # A wrong confirmation releases nothing; the member's own does.
    await member.send(room, "!confirm 0000")
    assert "on hold" in (await member.ask(room, "!secret still")).body
    assert (await member.ask(room, "!confirm 2468")).body == "confirmed"
    assert "gamma" in (await member.ask(room, "!secret gamma")).body
    assert bot.bot.trust_services.identity_changes == 1


async def test_verified_policy_needs_the_member_to_verify_the_bot(
    make_bot: Any, make_member: Any, tmp_path: Path
) -> None:
    bot = await make_bot(plugins=[EchoPlugin, VaultPlugin], crypto={"trust": "verified"})
    admin = await make_member()
    await cross_sign(admin, tmp_path / "admin.enc")
    room = await joined_room(admin, bot)
    assert bot.bot is not None
    # Cross-signed but not verified by the bot: the sensitive plugin refuses (and the
    # member can read why: keys still go to cross-signed devices, so it can verify the bot).
    refusal = await admin.ask(room, "!secret alpha")
    assert "verified it" in refusal.body and "alpha" not in refusal.body
    assert not device_blacklisted(bot, admin)
    trust = bot.bot.connection.trust
    assert trust is not None and trust.mode == "verified"
    assert not await trust.allows(admin.user_id, str(admin.client.device_id))

    # What a finished SAS does on the bot's side: sign the admin's master key.
    from core.crypto import sign_user_master_key

    identity = bot.bot.identity
    assert identity is not None
    await sign_user_master_key(bot.bot.connection.cross_signing_session(), identity.keys,
                               admin.user_id)
    trust.invalidate([admin.user_id])
    assert await trust.allows(admin.user_id, str(admin.client.device_id))
    answer = await admin.ask(room, "!secret beta")
    assert answer.body == "the secret is \u2068beta\u2069"
