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

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bots.admin import AdminPlugin
from core.bot import Bot
from core.config import Config
from core.crypto import IdentityAction
from core.homeserver import LocalSynapse, RegisteredUser
from tests.integration.plugins import EchoPlugin
from tests.interop.conftest import RegisterUser, SpawnMember
from tests.interop.member import JsMember, JsMemberError

pytestmark = pytest.mark.interop

NO_SHIELD = {"colour": "NONE", "reason": None}
# How long the helpers here wait for the bot or the member to catch up.
WAIT_SECONDS = 30.0


def echo_body(text: str) -> str:
    """EchoPlugin's answer: the member's text isolated with U+2068/U+2069."""
    return f"echo: \u2068{text}\u2069"


@dataclass
class InteropBot:
    """A real Solidarity bot (Admin + Echo plugins) on the interop Synapse.

    ``fresh_store`` moves the data dir aside, so the next ``start`` logs in as
    a new device with the password, like an operator who lost the store.
    """

    synapse: LocalSynapse
    secret_dir: Path
    user_id: str
    cross_signing: bool = True
    crypto: dict[str, Any] = field(default_factory=dict)  # more crypto.* settings
    data_dirs: list[Path] = field(default_factory=list)
    bot: Bot | None = None
    task: asyncio.Task[None] | None = None

    @property
    def data_dir(self) -> Path:
        return self.data_dirs[-1]

    def config(self) -> Config:
        return Config.model_validate({
            "matrix": {
                "homeserver": self.synapse.url,
                "user_id": self.user_id,
                "password": {"file": str(self.secret_dir / "password")},
            },
            "storage": {
                "data_dir": str(self.data_dir),
                "store_passphrase": {"file": str(self.secret_dir / "passphrase")},
            },
            "bot": {"invites": {"allowed_servers": ["localhost"]}},
            "crypto": {"cross_signing": self.cross_signing, **self.crypto},
        })

    async def start(self, *, recovery_key: str | None = None) -> Bot:
        self.bot = Bot(self.config(), plugins=[AdminPlugin, EchoPlugin], recovery_key=recovery_key)
        await self.bot.start()
        self.task = asyncio.create_task(self.bot.run())
        await asyncio.wait_for(self.bot.connection.synced.wait(), WAIT_SECONDS)
        return self.bot

    async def stop(self) -> None:
        if self.bot is None:
            return
        self.bot.stop()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        await self.bot.close()
        self.bot = None
        self.task = None

    def fresh_store(self) -> Path:
        """Use a new, empty data dir; returns the old one (left untouched)."""
        old = self.data_dir
        self.data_dirs.append(self.secret_dir / f"data{len(self.data_dirs)}")
        return old

    @property
    def device_id(self) -> str:
        assert self.bot is not None
        return str(self.bot.connection.nio.device_id)

    async def wait_knows_encrypted_room(self, room_id: str) -> None:
        """Wait until the bot has synced ``room_id`` and knows it is encrypted."""
        assert self.bot is not None
        connection = self.bot.connection
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                if room_id in connection.nio.rooms and connection.is_encrypted(room_id):
                    return
                await asyncio.sleep(0.05)


MakeBot = Callable[..., Awaitable[InteropBot]]


@pytest.fixture
async def make_bot(
    interop_synapse: LocalSynapse, register_user: RegisterUser, tmp_path: Path
) -> AsyncIterator[MakeBot]:
    """``await make_bot(cross_signing=True, **crypto)`` -> a started :class:`InteropBot`."""
    bots: list[InteropBot] = []

    async def factory(*, cross_signing: bool = True, **crypto: Any) -> InteropBot:
        user = await register_user("bot")
        secret_dir = tmp_path / user.user_id.split(":")[0].lstrip("@")
        secret_dir.mkdir()
        (secret_dir / "password").write_text(user.password)
        (secret_dir / "passphrase").write_text("interop store passphrase")
        running = InteropBot(
            interop_synapse,
            secret_dir,
            user.user_id,
            cross_signing=cross_signing,
            crypto=crypto,
            data_dirs=[secret_dir / "data0"],
        )
        bots.append(running)
        await running.start()
        return running

    try:
        yield factory
    finally:
        for running in bots:
            await running.stop()


async def strict_member(
    register_user: RegisterUser, js_member: SpawnMember, prefix: str = "alice"
) -> tuple[JsMember, RegisteredUser]:
    """A js member with its own cross-signing, in strict isolation mode."""
    user = await register_user(prefix)
    member = await js_member(user)
    assert (await member.bootstrap_cross_signing())["ready"] is True
    await member.set_strict(True)
    return member, user


async def published_master_key(user: RegisteredUser, of_user: str) -> str:
    """``of_user``'s master key as the homeserver publishes it (``/keys/query``)."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{user.homeserver}/_matrix/client/v3/keys/query",
            json={"device_keys": {of_user: []}},
            headers={"Authorization": f"Bearer {user.access_token}"},
        ) as resp,
    ):
        resp.raise_for_status()
        body: dict[str, Any] = await resp.json()
    keys = body["master_keys"][of_user]["keys"]
    assert len(keys) == 1
    return str(next(iter(keys.values())))


async def wait_device_signed(member: JsMember, user_id: str, device_id: str) -> dict[str, Any]:
    """Poll the member's view of ``user_id``'s devices until ``device_id`` is
    there and signed by its owner (a new device's keys and its signature come
    in separate device-list updates); return that device's info."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        devices = {d["device_id"]: d for d in await member.device_info(user_id)}
        device = devices.get(device_id)
        if device is not None and device["signed_by_owner"]:
            return device
        if time.monotonic() > deadline:
            raise AssertionError(f"{device_id} not signed by its owner for the member: {devices}")
        await asyncio.sleep(0.2)


async def echo_round_trip(
    member: JsMember, bot: InteropBot, room_id: str, text: str
) -> dict[str, Any]:
    """``!echo <text>`` from the member; returns the bot's answer as decrypted."""
    await member.send(room_id, f"!echo {text}")
    return await member.wait_message(room_id, bot.user_id, timeout=30)


def assert_trusted_answer(reply: dict[str, Any], text: str) -> None:
    assert reply["encrypted"] is True
    assert reply["decryption_failed"] is False, reply["decryption_failure_reason"]
    assert reply["msgtype"] == "m.notice"
    assert reply["body"] == echo_body(text)
    assert reply["shield"] == NO_SHIELD


def assert_identity_trusted(status: dict[str, Any]) -> None:
    """Cross-signed, trusted on first use, not verified, no identity warning."""
    assert status["has_cross_signing_keys"] is True
    assert status["needs_user_approval"] is False
    assert status["was_cross_signing_verified"] is False
    assert status["is_verified"] is False


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
