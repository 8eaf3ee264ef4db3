"""Verification messages the bot must refuse or ignore, sent raw by nio members over a real Synapse.

The happy paths (Element's crypto verifying the bot in a DM and to-device,
operator confirmation, cancels, timeouts) are in
tests/interop/test_bot_verification.py. Here: a request naming a device that
does not exist, a stale request, a message for a transaction the bot does not
know, matrix-nio's own SAS (whose commitment encoding is not the spec's), and
a member written here from the spec over to-device: the bot's MAC checks out,
and a MAC over a forged device key is cancelled with m.key_mismatch.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import pytest
import vodozemac
from nio import KeyVerificationCancel, ToDeviceMessage
from nio.events.to_device import ToDeviceEvent

from core.crypto.canonical import canonical_json, unpadded_b64encode
from core.crypto.sas import MAC_OLD, SasState
from core.crypto.verification import Flow, VerificationManager
from core.matrix.member import Member
from tests.integration.conftest import RunningBot, room_with_bot

pytestmark = pytest.mark.integration


def manager(bot: RunningBot) -> VerificationManager:
    assert bot.bot is not None and bot.bot.trust_services is not None
    return bot.bot.trust_services.verification


def bot_device(bot: RunningBot) -> str:
    assert bot.bot is not None
    return str(bot.bot.connection.nio.device_id)


async def send(member: Member, bot: RunningBot, event_type: str, content: dict[str, Any]) -> None:
    response = await member.client.to_device(
        ToDeviceMessage(event_type, bot.user_id, bot_device(bot), content)
    )
    assert type(response).__name__ == "ToDeviceResponse", response


def request(member: Member, txn: str, *, device: str | None = None,
            age_seconds: float = 0) -> dict[str, Any]:
    return {
        "from_device": device or str(member.client.device_id),
        "methods": ["m.sas.v1"],
        "timestamp": int((time.time() - age_seconds) * 1000),
        "transaction_id": txn,
    }


async def ended(bot: RunningBot, txn: str) -> Flow:
    async with asyncio.timeout(30):
        while True:
            for flow in manager(bot).finished:
                if flow.sas.flow_id == txn:
                    return flow
            await asyncio.sleep(0.05)


async def readied(bot: RunningBot, member: Member, txn: str) -> Flow:
    async with asyncio.timeout(30):
        while (flow := manager(bot).flows.get((member.user_id, txn))) is None \
                or flow.sas.state is SasState.REQUESTED:
            await asyncio.sleep(0.05)
    return flow


async def test_request_from_unknown_device_is_cancelled(make_bot: Any, make_member: Any) -> None:
    bot = await make_bot()
    member = await make_member()
    await send(member, bot, "m.key.verification.request",
               request(member, "t-unknown", device="NOSUCHDEVICE"))
    flow = await ended(bot, "t-unknown")
    assert flow.sas.cancel_code == "m.invalid_message"
    assert "unknown" in (flow.sas.cancel_reason or "")
    assert flow.sas.verified is None


async def test_stale_request_is_ignored(make_bot: Any, make_member: Any) -> None:
    bot = await make_bot()
    member = await make_member()
    await send(member, bot, "m.key.verification.request",
               request(member, "t-stale", age_seconds=20 * 60))
    await send(member, bot, "m.key.verification.request",
               request(member, "t-future", age_seconds=-10 * 60))
    await send(member, bot, "m.key.verification.request", request(member, "t-fresh"))
    # Handled in order: once the fresh one is answered, the others were seen and dropped.
    await readied(bot, member, "t-fresh")
    known = {flow.sas.flow_id for flow in [*manager(bot).flows.values(), *manager(bot).finished]}
    assert known == {"t-fresh"}


async def test_request_replayed_after_restart_is_not_answered_again(
    make_bot: Any, make_member: Any
) -> None:
    bot = await make_bot()
    member = await make_member()
    await send(member, bot, "m.key.verification.request", request(member, "t-replay"))
    await readied(bot, member, "t-replay")
    await bot.restart()
    # The same request again (as a back-fill or redelivery would bring it), then a new one.
    await send(member, bot, "m.key.verification.request", request(member, "t-replay"))
    await send(member, bot, "m.key.verification.request", request(member, "t-after"))
    await readied(bot, member, "t-after")
    known = {flow.sas.flow_id for flow in [*manager(bot).flows.values(), *manager(bot).finished]}
    assert known == {"t-after"}


async def test_unknown_transaction_gets_a_cancel(make_bot: Any, make_member: Any) -> None:
    bot = await make_bot()
    member = await make_member()
    cancels: list[KeyVerificationCancel] = []

    async def on_cancel(event: Any) -> None:
        cancels.append(event)

    member.client.add_to_device_callback(on_cancel, (KeyVerificationCancel,))
    await send(member, bot, "m.key.verification.ready", {
        "from_device": str(member.client.device_id), "methods": ["m.sas.v1"],
        "transaction_id": "t-nobody",
    })
    async with asyncio.timeout(30):
        while not cancels:
            await asyncio.sleep(0.05)
    assert cancels[0].transaction_id == "t-nobody"
    assert cancels[0].code == "m.unknown_transaction"
    assert cancels[0].sender == bot.user_id


async def test_nio_sas_is_cancelled_cleanly(make_bot: Any, make_member: Any) -> None:
    """matrix-nio starts SAS itself (no request, only ``hkdf-hmac-sha256``) and checks the
    commitment as a hex digest where the spec says unpadded base64: it cancels with
    m.mismatched_commitment. The bot ends the exchange and trusts nothing."""
    bot = await make_bot()
    member = await make_member()
    await room_with_bot(member, bot)

    def bot_device_known() -> Any:
        devices = member.client.device_store.active_user_devices(bot.user_id)
        return next((d for d in devices if d.id == bot_device(bot)), None)

    async with asyncio.timeout(30):  # the member must know the bot's device to start
        while bot_device_known() is None:
            await asyncio.sleep(0.1)
    await member.client.start_key_verification(bot_device_known())
    txn = next(iter(member.client.key_verifications))
    flow = await ended(bot, txn)
    assert flow.legacy and flow.sas.mac_method == MAC_OLD
    assert flow.sas.cancel_code == "m.mismatched_commitment"
    assert flow.sas.verified is None and not flow.signed


class RawStarter:
    """A member's side of SAS written from the spec (vodozemac), over to-device."""

    def __init__(self, member: Member, bot: RunningBot, txn: str) -> None:
        self.member, self.bot, self.txn = member, bot, txn
        self.device = str(member.client.device_id)
        self.sas = vodozemac.Sas()
        self.received: list[dict[str, Any]] = []
        self.start = {
            "from_device": self.device, "method": "m.sas.v1", "transaction_id": txn,
            "key_agreement_protocols": ["curve25519-hkdf-sha256"], "hashes": ["sha256"],
            "message_authentication_codes": ["hkdf-hmac-sha256.v2"],
            "short_authentication_string": ["decimal", "emoji"],
        }
        self.established: vodozemac.EstablishedSas | None = None

        async def collect(event: Any) -> None:
            source = getattr(event, "source", {})
            if (source.get("content") or {}).get("transaction_id") == txn:
                self.received.append(source)

        member.client.add_to_device_callback(collect, (ToDeviceEvent,))

    async def next(self, event_type: str) -> dict[str, Any]:
        async with asyncio.timeout(30):
            while True:
                for source in self.received:
                    if source["type"] == event_type:
                        self.received.remove(source)
                        return dict(source["content"])
                await asyncio.sleep(0.05)

    def mac_base(self, sender: tuple[str, str], receiver: tuple[str, str]) -> str:
        return "MATRIX_KEY_VERIFICATION_MAC" + "".join(sender) + "".join(receiver) + self.txn

    async def to_key_exchange(self) -> tuple[str, str]:
        """request .. key; returns (bot's ephemeral key, ours) after checking the commitment."""
        await send(self.member, self.bot, "m.key.verification.request",
                   request(self.member, self.txn))
        assert (await self.next("m.key.verification.ready"))["methods"] == ["m.sas.v1"]
        await send(self.member, self.bot, "m.key.verification.start", self.start)
        accept = await self.next("m.key.verification.accept")
        ours = self.sas.public_key.to_base64()
        await send(self.member, self.bot, "m.key.verification.key",
                   {"key": ours, "transaction_id": self.txn})
        theirs = (await self.next("m.key.verification.key"))["key"]
        commitment = hashlib.sha256(theirs.encode() + canonical_json(self.start)).digest()
        assert accept["commitment"] == unpadded_b64encode(commitment)
        self.established = self.sas.diffie_hellman(vodozemac.Curve25519PublicKey.from_base64(theirs))
        return theirs, ours


@pytest.mark.parametrize("honest", [True, False])
async def test_raw_sas_to_device_checks_macs(make_bot: Any, make_member: Any, honest: bool) -> None:
    bot = await make_bot()  # auto-confirm
    member = await make_member()
    assert bot.bot is not None and bot.bot.identity is not None
    starter = RawStarter(member, bot, f"t-raw-{honest}")
    await starter.to_key_exchange()
    established = starter.established
    assert established is not None
    me = (member.user_id, starter.device)
    them = (bot.user_id, bot_device(bot))

    # The bot's MAC vouches for its device key and its master key, per the spec.
    mac = await starter.next("m.key.verification.mac")
    base = starter.mac_base(them, me)
    master = bot.bot.identity.master_key
    device_key = bot.bot.connection.cross_signing_session().device_ed25519
    assert device_key is not None
    assert set(mac["mac"]) == {f"ed25519:{them[1]}", f"ed25519:{master}"}
    established.verify_mac(device_key, base + f"ed25519:{them[1]}", mac["mac"][f"ed25519:{them[1]}"])
    established.verify_mac(master, base + f"ed25519:{master}", mac["mac"][f"ed25519:{master}"])
    established.verify_mac(",".join(sorted(mac["mac"])), base + "KEY_IDS", mac["keys"])

    # Ours: over our real device key, or over a forged one.
    assert member.client.olm is not None
    key = member.client.olm.account.identity_keys["ed25519"] if honest else "forged" * 7
    base = starter.mac_base(me, them)
    key_id = f"ed25519:{starter.device}"
    await send(member, bot, "m.key.verification.mac", {
        "transaction_id": starter.txn,
        "mac": {key_id: established.calculate_mac(key, base + key_id)},
        "keys": established.calculate_mac(key_id, base + "KEY_IDS"),
    })
    if honest:
        assert await starter.next("m.key.verification.done") == {"transaction_id": starter.txn}
        await send(member, bot, "m.key.verification.done", {"transaction_id": starter.txn})
        flow = await ended(bot, starter.txn)
        assert flow.sas.state is SasState.DONE
        assert flow.sas.verified is not None
        assert flow.sas.verified.device_id == starter.device
        assert flow.sas.verified.master_key is None  # this member has no cross-signing
    else:
        cancel = await starter.next("m.key.verification.cancel")
        assert cancel["code"] == "m.key_mismatch"
        flow = await ended(bot, starter.txn)
        assert flow.sas.cancel_code == "m.key_mismatch"
        assert flow.sas.verified is None
