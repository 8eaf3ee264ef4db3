"""The trust policy's decisions from /keys/query answers (core/crypto/trust.py), no homeserver.

Key query answers are built here with real Ed25519 signatures, so each rule
is exercised by the signature it depends on: a device self-signed and signed
by its owner's self-signing key, that key signed by the master key, the
master key pinned on first use, and for ``verified`` signed by the bot.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.clock import ManualClock
from core.crypto import CrossSigningSession
from core.crypto import trust as trust_module
from core.crypto.canonical import public_key_b64, sign_json
from core.crypto.cross_signing import CrossSigningKeys, build_key_objects
from core.crypto.errors import HomeserverError
from core.crypto.trust import TrustMode, TrustPolicy
from core.storage import Database

BOT = "@bot:hs"
ALICE = "@alice:hs"
SESSION = CrossSigningSession(homeserver="http://hs", user_id=BOT, device_id="BOTDEV",
                              access_token="t")


class Account:
    """A user with a cross-signing identity and devices, as /keys/query shows them."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.keys = CrossSigningKeys.generate()
        self.devices: dict[str, Ed25519PrivateKey] = {}
        self.signed: set[str] = set()

    def add_device(self, device_id: str, *, cross_signed: bool = True) -> None:
        self.devices[device_id] = Ed25519PrivateKey.generate()
        if cross_signed:
            self.signed.add(device_id)

    def device_object(self, device_id: str) -> dict[str, Any]:
        key = self.devices[device_id]
        device = {
            "user_id": self.user_id, "device_id": device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {f"ed25519:{device_id}": public_key_b64(key),
                     f"curve25519:{device_id}": "curve"},
        }
        device = sign_json(device, self.user_id, f"ed25519:{device_id}", key)
        if device_id in self.signed:
            ssk = self.keys.self_signing_public
            device = sign_json(device, self.user_id, f"ed25519:{ssk}", self.keys.self_signing)
        return device

    def answer(self, into: dict[str, Any]) -> None:
        objects = build_key_objects(self.keys, self.user_id)
        into.setdefault("device_keys", {})[self.user_id] = {
            device_id: self.device_object(device_id) for device_id in self.devices
        }
        into.setdefault("master_keys", {})[self.user_id] = objects["master_key"]
        into.setdefault("self_signing_keys", {})[self.user_id] = objects["self_signing_key"]


class FakeHomeserver:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.tamper: Any = None
        self.down = False
        self.queries = 0

    def response(self, users: list[str]) -> dict[str, Any]:
        if self.down:
            raise HomeserverError("could not reach the homeserver")
        self.queries += 1
        answer: dict[str, Any] = {}
        for user in users:
            if user in self.accounts:
                self.accounts[user].answer(answer)
        if self.tamper is not None:
            self.tamper(answer)
        return answer


@pytest.fixture
async def homeserver(monkeypatch: pytest.MonkeyPatch) -> FakeHomeserver:
    server = FakeHomeserver()

    class FakeApi:
        def __init__(self, session: CrossSigningSession) -> None:
            self.session = session

        async def __aenter__(self) -> FakeApi:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def query_keys(self, users: list[str]) -> dict[str, Any]:
            return server.response(list(users))

    monkeypatch.setattr(trust_module, "MatrixApi", FakeApi)
    return server


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "t.db")
    await database.open()
    yield database
    await database.close()


async def policy(db: Database, mode: TrustMode = "cross_signed",
                 usk: str | None = None) -> TrustPolicy:
    result = TrustPolicy(mode=mode, session=SESSION, db=db, clock=ManualClock(),
                         user_signing_key=usk)
    await result.setup()
    return result


async def test_cross_signed_device_trusted_others_not(homeserver: FakeHomeserver,
                                                      db: Database) -> None:
    alice = homeserver.accounts[ALICE] = Account(ALICE)
    alice.add_device("PHONE")
    alice.add_device("LAPTOP", cross_signed=False)
    trust = await policy(db)
    await trust.refresh([ALICE])
    assert trust.device_trusted(ALICE, "PHONE")
    assert not trust.device_trusted(ALICE, "LAPTOP")
    assert trust.may_receive_keys(ALICE, "PHONE")
    assert not trust.may_receive_keys(ALICE, "LAPTOP")
    assert not trust.device_trusted(ALICE, "NOSUCH")
    assert not trust.device_trusted("@bob:hs", "X")  # never fetched
    phone_key = public_key_b64(alice.devices["PHONE"])
    assert trust.device_trusted(ALICE, "PHONE", phone_key)
    assert not trust.device_trusted(ALICE, "PHONE", "another key the local store holds")
    # Cached: a second refresh asks nothing.
    await trust.refresh([ALICE])
    assert homeserver.queries == 1


async def test_user_without_cross_signing_is_untrusted(homeserver: FakeHomeserver,
                                                       db: Database) -> None:
    alice = homeserver.accounts[ALICE] = Account(ALICE)
    alice.add_device("PHONE")
    homeserver.tamper = lambda answer: (answer.pop("master_keys"),
                                        answer.pop("self_signing_keys"))
    trust = await policy(db)
    await trust.refresh([ALICE])
    assert not trust.device_trusted(ALICE, "PHONE")


@pytest.mark.parametrize("forgery", ["device_signature", "ssk_not_master_signed", "device_self"])
async def test_forged_signatures_are_not_trusted(homeserver: FakeHomeserver, db: Database,
                                                 forgery: str) -> None:
    alice = homeserver.accounts[ALICE] = Account(ALICE)
    alice.add_device("PHONE")
    other = CrossSigningKeys.generate()

    def tamper(answer: dict[str, Any]) -> None:
        device = answer["device_keys"][ALICE]["PHONE"]
        if forgery == "device_signature":
            ssk = alice.keys.self_signing_public
            forged = sign_json({k: v for k, v in device.items() if k != "signatures"}, ALICE,
                               f"ed25519:{ssk}", other.self_signing)
            device["signatures"][ALICE][f"ed25519:{ssk}"] = forged["signatures"][ALICE][
                f"ed25519:{ssk}"]
        elif forgery == "ssk_not_master_signed":
            answer["self_signing_keys"][ALICE] = build_key_objects(other, ALICE)[
                "self_signing_key"]
        else:
            device["keys"]["ed25519:PHONE"] = public_key_b64(Ed25519PrivateKey.generate())

    homeserver.tamper = tamper
    trust = await policy(db)
    await trust.refresh([ALICE])
    assert not trust.device_trusted(ALICE, "PHONE")


async def test_master_key_pinned_and_change_reported_once(homeserver: FakeHomeserver,
                                                          db: Database) -> None:
    alice = homeserver.accounts[ALICE] = Account(ALICE)
    alice.add_device("PHONE")
    trust = await policy(db)
    changes: list[tuple[str, str, str]] = []

    async def changed(user: str, old: str, new: str) -> None:
        changes.append((user, old, new))

    trust.on_identity_change = changed
    await trust.refresh([ALICE])
    first = alice.keys.master_public

    # Alice resets her identity and re-signs her device.
    alice.keys = CrossSigningKeys.generate()
    trust.invalidate([ALICE])
    await trust.refresh([ALICE])
    assert changes == [(ALICE, first, alice.keys.master_public)]
    assert trust.device_trusted(ALICE, "PHONE")  # the new identity is pinned
    trust.invalidate([ALICE])
    await trust.refresh([ALICE])
    assert len(changes) == 1  # reported once

    # A new policy object (restart) keeps the pin: no report for the same key.
    again = await policy(db)
    again.on_identity_change = changed
    await again.refresh([ALICE])
    assert len(changes) == 1


async def test_verified_mode_needs_the_bots_signature(homeserver: FakeHomeserver,
                                                      db: Database) -> None:
    alice = homeserver.accounts[ALICE] = Account(ALICE)
    alice.add_device("PHONE")
    bot_keys = CrossSigningKeys.generate()
    trust = await policy(db, "verified", bot_keys.user_signing_public)
    await trust.refresh([ALICE])
    assert not trust.device_trusted(ALICE, "PHONE")
    # Keys still go to her cross-signed device, so she can verify the bot in a DM.
    assert trust.may_receive_keys(ALICE, "PHONE")

    def bot_signed(answer: dict[str, Any]) -> None:
        master = answer["master_keys"][ALICE]
        usk = bot_keys.user_signing_public
        answer["master_keys"][ALICE] = sign_json(copy.deepcopy(master), BOT, f"ed25519:{usk}",
                                                 bot_keys.user_signing)

    homeserver.tamper = bot_signed
    trust.invalidate([ALICE])
    await trust.refresh([ALICE])
    assert trust.device_trusted(ALICE, "PHONE")
    assert await trust.allows(ALICE, "PHONE")
    assert not await trust.allows(ALICE, None)


async def test_all_mode_and_failures(homeserver: FakeHomeserver, db: Database) -> None:
    everyone = await policy(db, "all")
    assert everyone.device_trusted("@anyone:hs", "ANY")
    assert await everyone.allows("@anyone:hs", None)
    assert homeserver.queries == 0

    homeserver.down = True
    trust = await policy(db)
    with pytest.raises(HomeserverError):
        await trust.refresh([ALICE])
    assert not trust.device_trusted(ALICE, "PHONE")
