"""Smoke tests of the js-sdk member itself, without Solidarity's bot.

The counterpart is a plain matrix-nio client with E2EE (no cross-signing),
which is what a bot without core/crypto looks like to Element. These tests
pin down what Element's crypto (matrix-js-sdk + Rust crypto) makes of such a
device, in the default and in the strict ("exclude insecure devices",
MSC4153) isolation mode, and check the member's verification commands
between two js members.

Observed with matrix-js-sdk 37.5.0 (matrix-sdk-crypto-wasm 14.2.1) and
matrix-nio 0.26.0 against Synapse 1.163.2:

* default mode: both sides decrypt; the nio device's messages carry a red
  shield, reason ``UNSIGNED_DEVICE`` ("Encrypted by a device not verified by
  its owner");
* strict mode: the js member withholds its room key from the nio device
  (to-device ``m.room_key.withheld``, code ``m.unverified``), so nio cannot
  decrypt; and the js member refuses to decrypt nio's messages
  (``UNSIGNED_SENDER_DEVICE``);
* two cross-signed js members: no shield even in strict mode, before and
  after verifying each other with emoji SAS.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    MatrixRoom,
    MegolmEvent,
    RoomMessageText,
    UnknownToDeviceEvent,
)

from core.homeserver import RegisteredUser
from tests.interop.conftest import RegisterUser, SpawnMember

pytestmark = pytest.mark.interop


class NioPeer:
    """A plain matrix-nio E2EE client: auto-joins invites, answers "ping"
    with "pong", and answers an undecryptable message with "undecryptable"
    (so the js side still gets something to decrypt in strict mode)."""

    def __init__(self, user: RegisteredUser, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            user.homeserver,
            user.user_id,
            device_id=user.device_id,
            store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        self.client.restore_login(user.user_id, user.device_id, user.access_token)
        self.received: list[RoomMessageText] = []
        self.undecryptable: list[MegolmEvent] = []
        self.to_device: list[dict[str, Any]] = []  # sources of unknown to-device events
        self.changed = asyncio.Event()
        self._replies: set[asyncio.Task[None]] = set()
        self._sync_task: asyncio.Task[None] | None = None
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)
        self.client.add_event_callback(self._on_text, RoomMessageText)
        self.client.add_event_callback(self._on_undecryptable, MegolmEvent)
        # nio does not know m.room_key.withheld: it arrives as an unknown event.
        self.client.add_to_device_callback(self._on_to_device, UnknownToDeviceEvent)

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def start(self) -> None:
        # The first sync uploads the device keys; do it before anyone invites us.
        await self.client.sync(timeout=0, full_state=True)
        await self.client.keys_upload()
        self._sync_task = asyncio.create_task(self.client.sync_forever(timeout=1000))

    async def close(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
        for task in list(self._replies):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()

    # Callbacks only record and spawn tasks: awaiting a send inside a callback
    # blocks the sync loop (see docs/testing-with-synapse.md).
    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == self.user_id and event.membership == "invite":
            self._spawn(self.client.join(room.room_id))

    async def _on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == self.user_id:
            return
        self.received.append(event)
        self.changed.set()
        if event.body == "ping":
            self._spawn(self._reply(room.room_id, "pong"))

    async def _on_undecryptable(self, room: MatrixRoom, event: MegolmEvent) -> None:
        self.undecryptable.append(event)
        self.changed.set()
        self._spawn(self._reply(room.room_id, "undecryptable"))

    async def _on_to_device(self, event: UnknownToDeviceEvent) -> None:
        self.to_device.append(event.source)
        self.changed.set()

    async def _reply(self, room_id: str, body: str) -> None:
        await self.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.notice", "body": body},
            # Plain nio shares keys only with verified devices otherwise.
            ignore_unverified_devices=True,
        )


@pytest.fixture
async def nio_peer(register_user: RegisterUser, tmp_path: Path) -> Any:
    peer = NioPeer(await register_user("nio"), tmp_path / "nio-store")
    try:
        await peer.start()
        yield peer
    finally:
        await peer.close()


async def test_default_mode_unsigned_nio_device_gets_red_shield(
    register_user: RegisterUser, js_member: SpawnMember, nio_peer: NioPeer
) -> None:
    alice = await js_member(await register_user("alice"))
    # A real Element account always has cross-signing.
    assert (await alice.bootstrap_cross_signing())["ready"] is True

    room = await alice.create_room(invite=[nio_peer.user_id])
    await alice.wait_joined(room, nio_peer.user_id)
    await alice.send(room, "ping")

    reply = await alice.wait_message(room, nio_peer.user_id)
    # nio decrypted our ping (it only answers "pong" to a decrypted "ping") ...
    assert [e.body for e in nio_peer.received] == ["ping"]
    assert nio_peer.undecryptable == []
    # ... and we decrypt its answer, but warn: nio's device is not cross-signed.
    assert reply["body"] == "pong"
    assert reply["msgtype"] == "m.notice"
    assert reply["encrypted"] is True
    assert reply["decryption_failed"] is False
    assert reply["shield"] == {"colour": "RED", "reason": "UNSIGNED_DEVICE"}

    # What the js member knows about the nio user: no cross-signing at all.
    status = await alice.user_verification_status(nio_peer.user_id)
    assert status["has_cross_signing_keys"] is False
    assert status["is_verified"] is False
    assert status["cross_signing_verified"] is False
    devices = await alice.device_info(nio_peer.user_id)
    assert [d["device_id"] for d in devices] == [nio_peer.client.device_id]
    assert devices[0]["signed_by_owner"] is False
    assert devices[0]["cross_signing_verified"] is False
    assert devices[0]["is_verified"] is False


async def test_strict_mode_excludes_unsigned_nio_device(
    register_user: RegisterUser, js_member: SpawnMember, nio_peer: NioPeer
) -> None:
    alice = await js_member(await register_user("alice"))
    await alice.bootstrap_cross_signing()
    await alice.set_strict(True)

    room = await alice.create_room(invite=[nio_peer.user_id])
    await alice.wait_joined(room, nio_peer.user_id)
    await alice.send(room, "ping")

    # nio cannot decrypt: the js member withheld the room key from its
    # unsigned device, and said so with m.room_key.withheld / m.unverified.
    # (grace: how long a failed decryption may wait for a late key; none comes.)
    reply = await alice.wait_message(room, nio_peer.user_id, grace=1.0)
    assert nio_peer.received == []
    assert len(nio_peer.undecryptable) == 1
    withheld = [e for e in nio_peer.to_device if e["type"] == "m.room_key.withheld"]
    assert len(withheld) == 1
    assert withheld[0]["sender"] == alice.user_id
    assert withheld[0]["content"]["code"] == "m.unverified"
    assert withheld[0]["content"]["room_id"] == room

    # nio's "undecryptable" answer is itself refused by the strict js member.
    assert reply["encrypted"] is True
    assert reply["decryption_failed"] is True
    assert reply["decryption_failure_reason"] == "UNSIGNED_SENDER_DEVICE"
    assert reply["body"] is None
    assert reply["shield"] is None


async def test_cross_signed_members_verify_with_emoji_sas_in_strict_mode(
    register_user: RegisterUser, js_member: SpawnMember
) -> None:
    alice = await js_member(await register_user("alice"))
    bob = await js_member(await register_user("bob"))
    for member in (alice, bob):
        await member.bootstrap_cross_signing()
        await member.set_strict(True)
    assert alice.user_id is not None and bob.user_id is not None

    dm = await alice.create_dm(bob.user_id)
    invite = await bob.wait_invite(alice.user_id)
    assert invite == {"room_id": dm, "inviter": alice.user_id, "is_direct": True}
    await bob.join(dm)
    await alice.wait_joined(dm, bob.user_id)

    # Cross-signed devices pass strict mode: both directions decrypt, and an
    # unverified (but cross-signed, trusted on first use) user gets no shield.
    await alice.send(dm, "hello bob")
    got = await bob.wait_message(dm, alice.user_id)
    assert got["body"] == "hello bob"
    assert got["shield"] == {"colour": "NONE", "reason": None}
    status = await alice.user_verification_status(bob.user_id)
    assert status["has_cross_signing_keys"] is True
    assert status["is_verified"] is False

    # Emoji SAS in the DM, as Element does it for another user.
    request = await alice.verify_request(bob.user_id, room_id=dm)
    incoming = await bob.verify_wait_incoming(alice.user_id)
    assert incoming["transaction_id"] == request["transaction_id"]
    await bob.verify_accept(incoming["verification"])
    # Concurrently: alice's SAS appears only once bob has accepted her start.
    alice_sas, bob_sas = await asyncio.gather(
        alice.verify_start_sas(request["verification"]),
        bob.verify_wait_sas(incoming["verification"]),
    )
    assert len(alice_sas["emoji"]) == 7
    assert alice_sas["emoji"] == bob_sas["emoji"]
    assert alice_sas["decimal"] == bob_sas["decimal"]
    # Both confirm concurrently: each waits for the other's MAC.
    done = await asyncio.gather(
        alice.verify_confirm(request["verification"]),
        bob.verify_confirm(incoming["verification"]),
    )
    assert [d["phase"] for d in done] == ["Done", "Done"]

    # "Done" comes before the master-key signature is uploaded and re-read.
    status = await alice.wait_user_verified(bob.user_id, timeout=10)
    assert status["cross_signing_verified"] is True
    assert status["is_verified"] is True
    status = await bob.wait_user_verified(alice.user_id, timeout=10)
    assert status["cross_signing_verified"] is True

    await bob.send(dm, "verified now")
    got = await alice.wait_message(dm, bob.user_id)
    assert got["body"] == "verified now"
    assert got["shield"] == {"colour": "NONE", "reason": None}
