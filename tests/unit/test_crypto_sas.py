"""The SAS responder against a starter written here from the spec, with vodozemac.

The interop tests run it against Element's crypto; these pin down the
protocol rules one at a time: commitment, SAS info string, MAC info strings
for both MAC methods, and each way an exchange must be cancelled.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import vodozemac

from core.crypto.canonical import canonical_json, unpadded_b64encode
from core.crypto.sas import (
    EMOJI,
    MAC_OLD,
    MAC_V2,
    Cancelled,
    Outgoing,
    Party,
    SasState,
    SasVerification,
)

BOT = Party("@bot:hs", "BOTDEV", "botdevicekey", "botmasterkey")
ALICE = Party("@alice:hs", "ALICEDEV", "alicedevicekey", "alicemasterkey")
FLOW = "txn1"


class Starter:
    """Alice's side: requests, starts and checks what the bot sends, per the spec."""

    def __init__(self, mac: str = MAC_V2, in_room: bool = False) -> None:
        self.sas = vodozemac.Sas()
        self.mac = mac
        self.in_room = in_room
        self.start_content: dict[str, Any] = {
            "from_device": ALICE.device_id,
            "method": "m.sas.v1",
            "key_agreement_protocols": ["curve25519-hkdf-sha256"],
            "hashes": ["sha256"],
            "message_authentication_codes": [mac],
            "short_authentication_string": ["decimal", "emoji"],
        }
        if in_room:
            self.start_content["m.relates_to"] = {"rel_type": "m.reference", "event_id": FLOW}
        else:
            self.start_content["transaction_id"] = FLOW
        self.established: vodozemac.EstablishedSas | None = None
        self.commitment: str | None = None

    def key_content(self) -> dict[str, Any]:
        return {"key": self.sas.public_key.to_base64()}

    def receive_accept(self, accept: Outgoing) -> None:
        self.commitment = accept.content["commitment"]

    def receive_key(self, key: Outgoing) -> None:
        their = key.content["key"]
        expected = unpadded_b64encode(
            hashlib.sha256(their.encode() + canonical_json(self.start_content)).digest()
        )
        assert expected == self.commitment, "the bot's commitment does not match its key"
        mine = self.sas.public_key.to_base64()
        self.established = self.sas.diffie_hellman(vodozemac.Curve25519PublicKey.from_base64(their))
        self.info = "|".join(("MATRIX_KEY_VERIFICATION_SAS", ALICE.user_id, ALICE.device_id, mine,
                              BOT.user_id, BOT.device_id, their, FLOW))

    def _mac(self, value: str, info: str) -> str:
        assert self.established is not None
        if self.mac == MAC_V2:
            return str(self.established.calculate_mac(value, info))
        return str(self.established.calculate_mac_invalid_base64(value, info))

    def mac_content(self, *, device_key: str = ALICE.device_ed25519) -> dict[str, Any]:
        base = ("MATRIX_KEY_VERIFICATION_MAC" + ALICE.user_id + ALICE.device_id + BOT.user_id
                + BOT.device_id + FLOW)
        keys = {f"ed25519:{ALICE.device_id}": device_key,
                f"ed25519:{ALICE.master_key}": ALICE.master_key or ""}
        return {
            "mac": {key_id: self._mac(key, base + key_id) for key_id, key in keys.items()},
            "keys": self._mac(",".join(sorted(keys)), base + "KEY_IDS"),
        }

    def check_bot_mac(self, mac: Outgoing) -> None:
        base = ("MATRIX_KEY_VERIFICATION_MAC" + BOT.user_id + BOT.device_id + ALICE.user_id
                + ALICE.device_id + FLOW)
        macs = mac.content["mac"]
        assert set(macs) == {f"ed25519:{BOT.device_id}", f"ed25519:{BOT.master_key}"}
        assert macs[f"ed25519:{BOT.device_id}"] == self._mac(
            BOT.device_ed25519, base + f"ed25519:{BOT.device_id}")
        assert macs[f"ed25519:{BOT.master_key}"] == self._mac(
            BOT.master_key or "", base + f"ed25519:{BOT.master_key}")
        assert mac.content["keys"] == self._mac(",".join(sorted(macs)), base + "KEY_IDS")


def responder(in_room: bool = False) -> SasVerification:
    return SasVerification(flow_id=FLOW, us=BOT, them=ALICE, in_room=in_room, now=0.0)


def run_to_sas(starter: Starter, bot: SasVerification) -> None:
    ready = bot.ready(["m.sas.v1", "m.qr_code.show.v1"], 1.0)
    assert ready.event_type == "m.key.verification.ready"
    assert ready.content["methods"] == ["m.sas.v1"]
    (accept,) = bot.receive("m.key.verification.start", starter.start_content, 2.0)
    assert accept.event_type == "m.key.verification.accept"
    assert accept.content["message_authentication_code"] == starter.mac
    assert accept.content["short_authentication_string"] == ["decimal", "emoji"]
    starter.receive_accept(accept)
    (key,) = bot.receive("m.key.verification.key", starter.key_content(), 3.0)
    starter.receive_key(key)
    assert bot.state is SasState.KEYS_EXCHANGED


@pytest.mark.parametrize("mac", [MAC_V2, MAC_OLD])
@pytest.mark.parametrize("in_room", [False, True])
def test_full_exchange(mac: str, in_room: bool) -> None:
    starter, bot = Starter(mac, in_room), responder(in_room)
    run_to_sas(starter, bot)
    assert starter.established is not None
    expected = starter.established.bytes(starter.info)
    assert bot.emoji_indices == tuple(expected.emoji_indices)
    assert bot.decimals == tuple(expected.decimals)
    assert len(bot.emoji) == 7 and all(e in EMOJI for e in bot.emoji)

    # Their MAC arrives before we confirm: kept, checked on confirmation.
    assert bot.receive("m.key.verification.mac", starter.mac_content(), 4.0) == []
    assert bot.verified is None
    our_mac, done = bot.confirm(5.0)
    starter.check_bot_mac(our_mac)
    assert done.event_type == "m.key.verification.done"
    if in_room:
        assert done.content["m.relates_to"] == {"rel_type": "m.reference", "event_id": FLOW}
    else:
        assert done.content["transaction_id"] == FLOW
    assert bot.verified is not None
    assert bot.verified.master_key == ALICE.master_key
    assert bot.receive("m.key.verification.done", {}, 6.0) == []
    assert bot.state is SasState.DONE


def test_confirm_before_their_mac() -> None:
    starter, bot = Starter(), responder()
    run_to_sas(starter, bot)
    (our_mac,) = bot.confirm(4.0)
    starter.check_bot_mac(our_mac)
    (done,) = bot.receive("m.key.verification.mac", starter.mac_content(), 5.0)
    assert done.event_type == "m.key.verification.done"
    assert bot.state is SasState.MAC_CHECKED


def test_mismatching_mac_cancels_with_key_mismatch() -> None:
    starter, bot = Starter(), responder()
    run_to_sas(starter, bot)
    bot.confirm(4.0)
    # The MAC is over another device key than the one the homeserver published.
    with pytest.raises(Cancelled) as cancelled:
        bot.receive("m.key.verification.mac", starter.mac_content(device_key="forged"), 5.0)
    assert cancelled.value.code == "m.key_mismatch"
    assert bot.verified is None


def test_tampered_key_list_cancels() -> None:
    starter, bot = Starter(), responder()
    run_to_sas(starter, bot)
    content = starter.mac_content()
    content["keys"] = "AAAA"
    bot.confirm(4.0)
    with pytest.raises(Cancelled) as cancelled:
        bot.receive("m.key.verification.mac", content, 5.0)
    assert cancelled.value.code == "m.key_mismatch"


def test_mac_with_no_known_key_cancels() -> None:
    starter, bot = Starter(), responder()
    run_to_sas(starter, bot)
    content = starter.mac_content()
    only_unknown = {"ed25519:OTHER": "x"}
    content["mac"] = only_unknown
    assert starter.established is not None
    base = ("MATRIX_KEY_VERIFICATION_MAC" + ALICE.user_id + ALICE.device_id + BOT.user_id
            + BOT.device_id + FLOW)
    content["keys"] = starter.established.calculate_mac("ed25519:OTHER", base + "KEY_IDS")
    bot.confirm(4.0)
    with pytest.raises(Cancelled) as cancelled:
        bot.receive("m.key.verification.mac", content, 5.0)
    assert cancelled.value.code == "m.key_mismatch"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"method": "m.reciprocate.v1"}, "m.unknown_method"),
        ({"message_authentication_codes": ["hmac-sha256"]}, "m.unknown_method"),
        ({"key_agreement_protocols": ["curve25519"]}, "m.unknown_method"),
        ({"hashes": ["sha512"]}, "m.unknown_method"),
        ({"short_authentication_string": ["emoji"]}, "m.unknown_method"),
        ({"from_device": "OTHERDEVICE"}, "m.user_mismatch"),
        ({"extra": 1.5}, "m.invalid_message"),  # floats are not canonical JSON
    ],
)
def test_bad_start_cancels(change: dict[str, Any], code: str) -> None:
    starter, bot = Starter(), responder()
    bot.ready(["m.sas.v1"], 1.0)
    with pytest.raises(Cancelled) as cancelled:
        bot.receive("m.key.verification.start", {**starter.start_content, **change}, 2.0)
    assert cancelled.value.code == code
    assert not cancelled.value.by_them


def test_request_without_sas_is_refused() -> None:
    with pytest.raises(Cancelled) as cancelled:
        responder().ready(["m.qr_code.show.v1"], 1.0)
    assert cancelled.value.code == "m.unknown_method"


@pytest.mark.parametrize("step", ["key", "mac", "done", "start_twice", "accept"])
def test_messages_out_of_order_cancel(step: str) -> None:
    starter, bot = Starter(), responder()
    bot.ready(["m.sas.v1"], 1.0)
    with pytest.raises(Cancelled) as cancelled:
        if step == "start_twice":
            bot.receive("m.key.verification.start", starter.start_content, 2.0)
            bot.receive("m.key.verification.start", starter.start_content, 3.0)
        elif step == "key":
            bot.receive("m.key.verification.key", starter.key_content(), 2.0)
        elif step == "mac":
            bot.receive("m.key.verification.mac", {"mac": {}, "keys": ""}, 2.0)
        else:
            bot.receive(f"m.key.verification.{step}", {}, 2.0)
    assert cancelled.value.code == "m.unexpected_message"


def test_confirm_before_sas_is_refused() -> None:
    bot = responder()
    bot.ready(["m.sas.v1"], 1.0)
    with pytest.raises(Cancelled):
        bot.confirm(2.0)


@pytest.mark.parametrize("at", ["ready", "accepted", "keys"])
def test_their_cancel_at_each_step(at: str) -> None:
    starter, bot = Starter(), responder()
    bot.ready(["m.sas.v1"], 1.0)
    if at in ("accepted", "keys"):
        bot.receive("m.key.verification.start", starter.start_content, 2.0)
    if at == "keys":
        bot.receive("m.key.verification.key", starter.key_content(), 3.0)
    with pytest.raises(Cancelled) as cancelled:
        bot.receive("m.key.verification.cancel", {"code": "m.user", "reason": "no"}, 4.0)
    assert cancelled.value.by_them
    assert bot.state is SasState.CANCELLED and bot.cancel_code == "m.user"
    assert bot.finished
    # Anything after a cancel is ignored, and nothing can be confirmed.
    assert bot.receive("m.key.verification.mac", {"mac": {}, "keys": ""}, 5.0) == []
    with pytest.raises(Cancelled):
        bot.confirm(6.0)


def test_mismatch_sends_mismatched_sas() -> None:
    starter, bot = Starter(), responder(in_room=True)
    run_to_sas(starter, bot)
    cancel = bot.mismatch()
    assert cancel.event_type == "m.key.verification.cancel"
    assert cancel.content["code"] == "m.mismatched_sas"
    assert cancel.content["m.relates_to"]["event_id"] == FLOW
    assert bot.state is SasState.CANCELLED


def test_bad_key_cancels() -> None:
    starter, bot = Starter(), responder()
    bot.ready(["m.sas.v1"], 1.0)
    bot.receive("m.key.verification.start", starter.start_content, 2.0)
    with pytest.raises(Cancelled) as cancelled:
        bot.receive("m.key.verification.key", {"key": "not a key"}, 3.0)
    assert cancelled.value.code == "m.invalid_message"


def test_without_master_key_only_the_device_is_verified() -> None:
    starter = Starter()
    bot = SasVerification(flow_id=FLOW, us=BOT, them=Party(ALICE.user_id, ALICE.device_id, ""),
                          in_room=False, now=0.0)
    bot.set_their_keys(ALICE.device_ed25519, None)  # Alice has no cross-signing
    run_to_sas(starter, bot)
    bot.receive("m.key.verification.mac", starter.mac_content(), 4.0)
    bot.confirm(5.0)
    assert bot.verified is not None
    assert bot.verified.master_key is None
    assert bot.verified.device_id == ALICE.device_id
