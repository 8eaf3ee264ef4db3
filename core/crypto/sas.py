"""The SAS (emoji / decimal) key verification protocol, responder side, without I/O.

A member's client (Element) asks the bot to verify: it sends
``m.key.verification.request``, the bot answers ``ready``, the member's client
sends ``start`` (method ``m.sas.v1``), the bot ``accept``s with a commitment to
its ephemeral key, both exchange ``key``s, both show the same emoji and
numbers, each side confirms and sends a ``mac`` over its identity keys, and
both finish with ``done``. Either side may ``cancel`` at any time.

:class:`SasVerification` is one such exchange as a state machine: it is fed
the member's messages (:meth:`receive`) and the bot's confirmation
(:meth:`confirm`) and returns the messages to send; any protocol violation
raises :class:`Cancelled` with the spec's cancel code, and the caller sends
:meth:`cancel_content`. The same machine serves to-device exchanges (flow id =
``transaction_id``) and in-room ones in a DM (flow id = the request's event
id, referenced with ``m.relates_to``); only the envelope differs.

The cryptography is vodozemac's: ``Sas.diffie_hellman`` and
``EstablishedSas.bytes`` (the short authentication string),
``calculate_mac`` for MAC method ``hkdf-hmac-sha256.v2`` and
``calculate_mac_invalid_base64`` for the old ``hkdf-hmac-sha256``, whose
encoding libolm got wrong and every client kept for compatibility.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import vodozemac

from .canonical import CanonicalJsonError, canonical_json, unpadded_b64encode

__all__ = [
    "EMOJI",
    "CancelCode",
    "Cancelled",
    "Outgoing",
    "Party",
    "SasState",
    "SasVerification",
    "Verified",
]

METHOD_SAS = "m.sas.v1"
KEY_AGREEMENT = "curve25519-hkdf-sha256"
HASH = "sha256"
MAC_V2 = "hkdf-hmac-sha256.v2"
MAC_OLD = "hkdf-hmac-sha256"
# Preference order: the old method only for clients that offer nothing better.
MAC_METHODS = (MAC_V2, MAC_OLD)
SAS_METHODS = ("decimal", "emoji")

# The 64 SAS emoji of the spec, by index (emoji, English name as Element shows it).
EMOJI: tuple[tuple[str, str], ...] = (
    ("🐶", "Dog"), ("🐱", "Cat"), ("🦁", "Lion"), ("🐎", "Horse"), ("🦄", "Unicorn"),
    ("🐷", "Pig"), ("🐘", "Elephant"), ("🐰", "Rabbit"), ("🐼", "Panda"), ("🐓", "Rooster"),
    ("🐧", "Penguin"), ("🐢", "Turtle"), ("🐟", "Fish"), ("🐙", "Octopus"),
    ("🦋", "Butterfly"), ("🌷", "Flower"), ("🌳", "Tree"), ("🌵", "Cactus"),
    ("🍄", "Mushroom"), ("🌏", "Globe"), ("🌙", "Moon"), ("☁️", "Cloud"), ("🔥", "Fire"),
    ("🍌", "Banana"), ("🍎", "Apple"), ("🍓", "Strawberry"), ("🌽", "Corn"), ("🍕", "Pizza"),
    ("🎂", "Cake"), ("❤️", "Heart"), ("😀", "Smiley"), ("🤖", "Robot"), ("🎩", "Hat"),
    ("👓", "Glasses"), ("🔧", "Spanner"), ("🎅", "Santa"), ("👍", "Thumbs Up"),
    ("☂️", "Umbrella"), ("⌛", "Hourglass"), ("⏰", "Clock"), ("🎁", "Gift"),
    ("💡", "Light Bulb"), ("📕", "Book"), ("✏️", "Pencil"), ("📎", "Paperclip"),
    ("✂️", "Scissors"), ("🔒", "Lock"), ("🔑", "Key"), ("🔨", "Hammer"), ("☎️", "Telephone"),
    ("🏁", "Flag"), ("🚂", "Train"), ("🚲", "Bicycle"), ("✈️", "Aeroplane"), ("🚀", "Rocket"),
    ("🏆", "Trophy"), ("⚽", "Ball"), ("🎸", "Guitar"), ("🎺", "Trumpet"), ("🔔", "Bell"),
    ("⚓", "Anchor"), ("🎧", "Headphones"), ("📁", "Folder"), ("📌", "Pin"),
)


class CancelCode(StrEnum):
    """The spec's ``m.key.verification.cancel`` codes."""

    USER = "m.user"
    TIMEOUT = "m.timeout"
    UNKNOWN_TRANSACTION = "m.unknown_transaction"
    UNKNOWN_METHOD = "m.unknown_method"
    UNEXPECTED_MESSAGE = "m.unexpected_message"
    KEY_MISMATCH = "m.key_mismatch"
    USER_MISMATCH = "m.user_mismatch"
    INVALID_MESSAGE = "m.invalid_message"
    ACCEPTED = "m.accepted"
    MISMATCHED_COMMITMENT = "m.mismatched_commitment"
    MISMATCHED_SAS = "m.mismatched_sas"


class Cancelled(Exception):
    """The exchange must stop; send :meth:`SasVerification.cancel_content` unless ``by_them``."""

    def __init__(self, code: str, reason: str, *, by_them: bool = False) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.by_them = by_them


class SasState(StrEnum):
    REQUESTED = "requested"  # request received, ready not sent yet
    READY = "ready"  # ready sent, waiting for start
    ACCEPTED = "accepted"  # start accepted, waiting for their key
    KEYS_EXCHANGED = "keys_exchanged"  # SAS known, waiting for confirmation and their MAC
    CONFIRMED = "confirmed"  # our MAC sent, waiting for theirs
    MAC_CHECKED = "mac_checked"  # both MACs done and ours sent, done sent; waiting for theirs
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Party:
    """One side: who, which device, and the keys its MAC vouches for."""

    user_id: str
    device_id: str
    device_ed25519: str
    master_key: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message to send to the other side (the envelope is the caller's business)."""

    event_type: str
    content: dict[str, Any]


@dataclass(frozen=True)
class Verified:
    """What the other side's MAC proved: its device key, and its master key if it sent one."""

    user_id: str
    device_id: str
    master_key: str | None


def _b64_sha256(data: bytes) -> str:
    return unpadded_b64encode(hashlib.sha256(data).digest())


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


class SasVerification:
    """One SAS exchange in which the other side requested and starts; we respond.

    ``them`` may be given without keys at first (``device_ed25519=""``) and set
    with :meth:`set_their_keys` once they are fetched; MACs cannot be checked
    before that.
    """

    def __init__(
        self,
        *,
        flow_id: str,
        us: Party,
        them: Party,
        in_room: bool,
        now: float,
        state: SasState = SasState.REQUESTED,
    ) -> None:
        self.flow_id = flow_id
        self.us = us
        self.them = them
        self.in_room = in_room
        self.state = state
        self.created_at = now
        self.last_activity = now
        self.mac_method: str | None = None
        self.sas_methods: tuple[str, ...] = ()
        self.cancel_code: str | None = None
        self.cancel_reason: str | None = None
        self.verified: Verified | None = None
        self.emoji_indices: tuple[int, ...] = ()
        self.decimals: tuple[int, int, int] | None = None
        self._sas: vodozemac.Sas | None = None
        self._established: vodozemac.EstablishedSas | None = None
        self._start_content: dict[str, Any] | None = None
        self._their_key: str | None = None
        self._their_mac: dict[str, Any] | None = None
        self._confirmed = False
        self._done_sent = False
        self._their_done = False

    # -- envelope ---------------------------------------------------------

    def _envelope(self, event_type: str, content: dict[str, Any]) -> Outgoing:
        if self.in_room:
            content["m.relates_to"] = {"rel_type": "m.reference", "event_id": self.flow_id}
        else:
            content["transaction_id"] = self.flow_id
        return Outgoing(event_type, content)

    def cancel_content(self, code: str, reason: str) -> Outgoing:
        """The cancel message for ``code``; also marks this exchange cancelled."""
        self._cancel(code, reason)
        return self._envelope("m.key.verification.cancel", {"code": code, "reason": reason})

    def _cancel(self, code: str, reason: str) -> None:
        self.state = SasState.CANCELLED
        self.cancel_code = code
        self.cancel_reason = reason
        self._sas = None
        self._established = None

    @property
    def finished(self) -> bool:
        return self.state in (SasState.DONE, SasState.CANCELLED)

    # -- steps ------------------------------------------------------------

    def ready(self, methods: object, now: float) -> Outgoing:
        """Answer a request whose ``methods`` were offered."""
        if self.state is not SasState.REQUESTED:
            raise Cancelled(CancelCode.UNEXPECTED_MESSAGE, "request seen twice")
        if METHOD_SAS not in _strings(methods):
            raise Cancelled(CancelCode.UNKNOWN_METHOD, "this bot only verifies with emoji (m.sas.v1)")
        self.state = SasState.READY
        self.last_activity = now
        return self._envelope(
            "m.key.verification.ready", {"from_device": self.us.device_id, "methods": [METHOD_SAS]}
        )

    def set_their_keys(self, device_ed25519: str, master_key: str | None) -> None:
        self.them = Party(self.them.user_id, self.them.device_id, device_ed25519, master_key)

    def receive(self, event_type: str, content: Mapping[str, Any], now: float) -> list[Outgoing]:
        """Handle one of their messages (after the request); returns what to send."""
        if self.finished:
            return []
        kind = event_type.removeprefix("m.key.verification.")
        if kind == "cancel":
            code = content.get("code")
            reason = content.get("reason")
            self._cancel(code if isinstance(code, str) else CancelCode.USER,
                         reason if isinstance(reason, str) else "")
            raise Cancelled(self.cancel_code or CancelCode.USER, self.cancel_reason or "",
                            by_them=True)
        self.last_activity = now
        handler = {
            "start": self._on_start,
            "key": self._on_key,
            "mac": self._on_mac,
            "done": self._on_done,
        }.get(kind)
        if handler is None:
            raise Cancelled(CancelCode.UNEXPECTED_MESSAGE, f"unexpected {event_type}")
        return handler(dict(content))

    def _on_start(self, content: dict[str, Any]) -> list[Outgoing]:
        if self.state is not SasState.READY:
            raise Cancelled(CancelCode.UNEXPECTED_MESSAGE, "start at the wrong time")
        if content.get("method") != METHOD_SAS:
            raise Cancelled(CancelCode.UNKNOWN_METHOD, "only m.sas.v1 is supported")
        if content.get("from_device") not in (None, self.them.device_id):
            raise Cancelled(CancelCode.USER_MISMATCH, "start from another device than the request")
        if KEY_AGREEMENT not in _strings(content.get("key_agreement_protocols")):
            raise Cancelled(CancelCode.UNKNOWN_METHOD, f"key agreement {KEY_AGREEMENT} required")
        if HASH not in _strings(content.get("hashes")):
            raise Cancelled(CancelCode.UNKNOWN_METHOD, f"hash {HASH} required")
        offered_macs = _strings(content.get("message_authentication_codes"))
        mac = next((m for m in MAC_METHODS if m in offered_macs), None)
        if mac is None:
            raise Cancelled(CancelCode.UNKNOWN_METHOD, f"MAC method {MAC_V2} required")
        offered_sas = _strings(content.get("short_authentication_string"))
        if "decimal" not in offered_sas:
            # The spec makes decimal mandatory; a client without it is broken.
            raise Cancelled(CancelCode.UNKNOWN_METHOD, "decimal SAS required")
        self.mac_method = mac
        self.sas_methods = tuple(m for m in SAS_METHODS if m in offered_sas)
        try:
            start_json = canonical_json(content)
        except CanonicalJsonError:
            raise Cancelled(CancelCode.INVALID_MESSAGE, "start is not canonical JSON") from None
        self._start_content = content
        self._sas = vodozemac.Sas()
        commitment = _b64_sha256(self._sas.public_key.to_base64().encode("ascii") + start_json)
        self.state = SasState.ACCEPTED
        return [self._envelope("m.key.verification.accept", {
            "key_agreement_protocol": KEY_AGREEMENT,
            "hash": HASH,
            "message_authentication_code": mac,
            "short_authentication_string": list(self.sas_methods),
            "commitment": commitment,
        })]

    def _on_key(self, content: dict[str, Any]) -> list[Outgoing]:
        if self.state is not SasState.ACCEPTED or self._sas is None:
            raise Cancelled(CancelCode.UNEXPECTED_MESSAGE, "key at the wrong time")
        key = content.get("key")
        if not isinstance(key, str):
            raise Cancelled(CancelCode.INVALID_MESSAGE, "key missing")
        our_key = self._sas.public_key.to_base64()
        try:
            self._established = self._sas.diffie_hellman(vodozemac.Curve25519PublicKey.from_base64(key))
        except (vodozemac.KeyException, vodozemac.SasException, ValueError):
            raise Cancelled(CancelCode.INVALID_MESSAGE, "the key is not a Curve25519 key") from None
        self._sas = None
        self._their_key = key
        # The starter (them) comes first in the info string.
        info = "|".join((
            "MATRIX_KEY_VERIFICATION_SAS",
            self.them.user_id, self.them.device_id, key,
            self.us.user_id, self.us.device_id, our_key,
            self.flow_id,
        ))
        sas_bytes = self._established.bytes(info)
        self.emoji_indices = tuple(sas_bytes.emoji_indices)
        first, second, third = sas_bytes.decimals
        self.decimals = (first, second, third)
        self.state = SasState.KEYS_EXCHANGED
        return [self._envelope("m.key.verification.key", {"key": our_key})]

    @property
    def emoji(self) -> list[tuple[str, str]]:
        """The seven emoji (symbol, English name) both sides show."""
        return [EMOJI[index] for index in self.emoji_indices]

    def confirm(self, now: float) -> list[Outgoing]:
        """The SAS matched (operator said so, or auto-confirm): send our MAC."""
        if self.state is not SasState.KEYS_EXCHANGED or self._confirmed:
            raise Cancelled(CancelCode.UNEXPECTED_MESSAGE, "nothing to confirm")
        self._confirmed = True
        self.last_activity = now
        out = [self._our_mac()]
        self.state = SasState.CONFIRMED
        if self._their_mac is not None:
            out += self._check_their_mac()
        return out

    def mismatch(self) -> Outgoing:
        """The operator saw different emoji."""
        return self.cancel_content(CancelCode.MISMATCHED_SAS, "the short authentication strings differ")

    def _mac(self, value: str, info: str) -> str:
        assert self._established is not None
        if self.mac_method == MAC_V2:
            return str(self._established.calculate_mac(value, info))
        return str(self._established.calculate_mac_invalid_base64(value, info))

    def _mac_info_base(self, sender: Party, receiver: Party) -> str:
        return (
            "MATRIX_KEY_VERIFICATION_MAC" + sender.user_id + sender.device_id
            + receiver.user_id + receiver.device_id + self.flow_id
        )

    def _our_mac(self) -> Outgoing:
        base = self._mac_info_base(self.us, self.them)
        keys = {f"ed25519:{self.us.device_id}": self.us.device_ed25519}
        if self.us.master_key:
            keys[f"ed25519:{self.us.master_key}"] = self.us.master_key
        mac = {key_id: self._mac(key, base + key_id) for key_id, key in keys.items()}
        return self._envelope("m.key.verification.mac", {
            "mac": mac,
            "keys": self._mac(",".join(sorted(keys)), base + "KEY_IDS"),
        })

    def _on_mac(self, content: dict[str, Any]) -> list[Outgoing]:
        if self.state not in (SasState.KEYS_EXCHANGED, SasState.CONFIRMED) or self._their_mac:
            raise Cancelled(CancelCode.UNEXPECTED_MESSAGE, "MAC at the wrong time")
        if not isinstance(content.get("mac"), dict) or not isinstance(content.get("keys"), str):
            raise Cancelled(CancelCode.INVALID_MESSAGE, "malformed MAC")
        self._their_mac = content
        if self.state is SasState.CONFIRMED:
            return self._check_their_mac()
        return []  # checked once we confirm: the SAS may still turn out different

    def _check_their_mac(self) -> list[Outgoing]:
        content = self._their_mac
        assert content is not None
        if not self.them.device_ed25519:
            raise Cancelled(CancelCode.KEY_MISMATCH, "the other device's keys are unknown")
        base = self._mac_info_base(self.them, self.us)
        macs: dict[str, Any] = content["mac"]
        expected_keys = self._mac(",".join(sorted(macs)), base + "KEY_IDS")
        if not hmac.compare_digest(expected_keys, str(content["keys"])):
            raise Cancelled(CancelCode.KEY_MISMATCH, "the MAC of the key list does not match")
        known = {f"ed25519:{self.them.device_id}": self.them.device_ed25519}
        if self.them.master_key:
            known[f"ed25519:{self.them.master_key}"] = self.them.master_key
        checked: set[str] = set()
        for key_id, tag in macs.items():
            key = known.get(key_id)
            if key is None:
                continue  # a key we know nothing about proves nothing; the spec says ignore it
            if not isinstance(tag, str) or not hmac.compare_digest(self._mac(key, base + key_id), tag):
                raise Cancelled(CancelCode.KEY_MISMATCH, f"the MAC of {key_id} does not match")
            checked.add(key_id)
        if not checked:
            raise Cancelled(CancelCode.KEY_MISMATCH, "the MAC covers none of the keys we know")
        master = self.them.master_key
        self.verified = Verified(
            user_id=self.them.user_id,
            device_id=self.them.device_id,
            master_key=master if master and f"ed25519:{master}" in checked else None,
        )
        self.state = SasState.MAC_CHECKED
        self._done_sent = True
        out = [self._envelope("m.key.verification.done", {})]
        if self._their_done:
            self.state = SasState.DONE
        return out

    def finish_without_done(self) -> None:
        """For exchanges started without a request: older clients never send ``done``."""
        if self.state is SasState.MAC_CHECKED:
            self.state = SasState.DONE

    def _on_done(self, content: dict[str, Any]) -> list[Outgoing]:
        if self.state is SasState.MAC_CHECKED:
            self.state = SasState.DONE
            return []
        if self.state in (SasState.KEYS_EXCHANGED, SasState.CONFIRMED) and self._their_mac:
            # Their done may overtake our check: they saw our MAC, we still wait for ours.
            self._their_done = True
            return []
        raise Cancelled(CancelCode.UNEXPECTED_MESSAGE, "done before the MACs were exchanged")
