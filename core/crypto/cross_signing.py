"""Cross-signing keys: make them, publish them, and sign devices and users with them.

A user's *master* key signs their *self-signing* key (which signs the user's own
devices) and their *user-signing* key (which signs other users' master keys).
Clients that only trust cross-signed devices (Element's MSC4153 "exclude
insecure devices") need the bot's device to carry a self-signing signature,
which is what :func:`sign_own_device` provides.

Everything here talks to the homeserver through :class:`~.api.MatrixApi`; the
orchestration (create vs. restore, what is stored where) is in ``identity.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .api import CrossSigningSession, MatrixApi, error_from_response
from .canonical import (
    private_key_from_seed,
    public_key_b64,
    seed_of,
    sign_json,
    unpadded_b64decode,
    unpadded_b64encode,
    verify_json,
)
from .errors import (
    AuthenticationError,
    DeviceKeysMissingError,
    IdentityMismatchError,
    PasswordRequiredError,
    SignatureUploadError,
)

__all__ = [
    "SECRET_NAMES",
    "CrossSigningKeys",
    "PublishedIdentity",
    "build_key_objects",
    "fetch_published_identity",
    "parse_identity",
    "sign_other_master_key",
    "sign_own_device",
    "upload_cross_signing_keys",
]

log = logging.getLogger(__name__)

# Secret-storage names of the three private keys (what Element uses too).
SECRET_NAMES = {
    "master": "m.cross_signing.master",
    "self_signing": "m.cross_signing.self_signing",
    "user_signing": "m.cross_signing.user_signing",
}


@dataclass(frozen=True)
class CrossSigningKeys:
    """The three private cross-signing keys. ``repr`` shows only public keys."""

    master: Ed25519PrivateKey
    self_signing: Ed25519PrivateKey
    user_signing: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> CrossSigningKeys:
        """Three fresh random Ed25519 keys."""
        return cls(
            Ed25519PrivateKey.generate(),
            Ed25519PrivateKey.generate(),
            Ed25519PrivateKey.generate(),
        )

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str]) -> CrossSigningKeys:
        """Build from unpadded-base64 seeds keyed ``master``/``self_signing``/``user_signing``.

        That is the form secret storage and the local store keep them in.
        Raises :class:`ValueError` (without the secret in the message) if one
        is not a base64 32-byte seed.
        """
        keys: dict[str, Ed25519PrivateKey] = {}
        for role in SECRET_NAMES:
            try:
                keys[role] = private_key_from_seed(unpadded_b64decode(secrets[role]))
            except (KeyError, ValueError):
                raise ValueError(f"the {role} key is missing or not a 32-byte seed") from None
        return cls(keys["master"], keys["self_signing"], keys["user_signing"])

    def to_secrets(self) -> dict[str, str]:
        """The seeds as unpadded base64, keyed by role (inverse of :meth:`from_secrets`)."""
        return {
            "master": unpadded_b64encode(seed_of(self.master)),
            "self_signing": unpadded_b64encode(seed_of(self.self_signing)),
            "user_signing": unpadded_b64encode(seed_of(self.user_signing)),
        }

    @property
    def master_public(self) -> str:
        """Unpadded base64 public master key (the identity's fingerprint)."""
        return public_key_b64(self.master)

    @property
    def self_signing_public(self) -> str:
        """Unpadded base64 public self-signing key."""
        return public_key_b64(self.self_signing)

    @property
    def user_signing_public(self) -> str:
        """Unpadded base64 public user-signing key."""
        return public_key_b64(self.user_signing)

    def __repr__(self) -> str:
        return (
            f"CrossSigningKeys(master={self.master_public}, "
            f"self_signing={self.self_signing_public}, user_signing={self.user_signing_public})"
        )


def build_key_objects(keys: CrossSigningKeys, user_id: str) -> dict[str, dict[str, Any]]:
    """The ``master_key``/``self_signing_key``/``user_signing_key`` upload objects.

    The self-signing and user-signing keys are signed by the master key, which
    is what makes them part of the identity.
    """

    def key_object(usage: str, public: str) -> dict[str, Any]:
        return {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}

    master_id = f"ed25519:{keys.master_public}"
    return {
        "master_key": key_object("master", keys.master_public),
        "self_signing_key": sign_json(
            key_object("self_signing", keys.self_signing_public), user_id, master_id, keys.master
        ),
        "user_signing_key": sign_json(
            key_object("user_signing", keys.user_signing_public), user_id, master_id, keys.master
        ),
    }


@dataclass(frozen=True)
class PublishedIdentity:
    """A user's cross-signing public keys as the homeserver publishes them."""

    master: str
    self_signing: str | None
    user_signing: str | None
    master_object: dict[str, Any]

    def matches(self, keys: CrossSigningKeys) -> bool:
        """True if all published keys are the public halves of ``keys``.

        A key the server does not show (user-signing keys are only shown to their
        owner) is not compared.
        """
        return (
            self.master == keys.master_public
            and self.self_signing == keys.self_signing_public
            and self.user_signing in (None, keys.user_signing_public)
        )


def _single_key(obj: Any, usage: str, user_id: str) -> str | None:
    """The one Ed25519 public key of a cross-signing key object, if well-formed."""
    if not isinstance(obj, Mapping) or obj.get("user_id") != user_id:
        return None
    if usage not in (obj.get("usage") or []):
        return None
    keys = obj.get("keys")
    if not isinstance(keys, Mapping) or len(keys) != 1:
        return None
    ((key_id, public),) = keys.items()
    if not isinstance(public, str) or key_id != f"ed25519:{public}":
        return None
    return public


def parse_identity(response: Mapping[str, Any], user_id: str) -> PublishedIdentity | None:
    """``user_id``'s cross-signing keys from a ``/keys/query`` answer (None if it has none).

    Raises :class:`IdentityMismatchError` for a malformed master key or a
    sub-key the master key did not sign.
    """
    master_obj = (response.get("master_keys") or {}).get(user_id)
    if master_obj is None:
        return None
    master = _single_key(master_obj, "master", user_id)
    if master is None:
        raise IdentityMismatchError(f"the homeserver returned a malformed master key for {user_id}")
    master_id = f"ed25519:{master}"
    subkeys: dict[str, str | None] = {}
    for usage, field_name in (
        ("self_signing", "self_signing_keys"),
        ("user_signing", "user_signing_keys"),
    ):
        obj = (response.get(field_name) or {}).get(user_id)
        public = _single_key(obj, usage, user_id)
        # A sub-key that the master key did not sign is not part of the identity.
        if isinstance(obj, Mapping) and public and not verify_json(obj, user_id, master_id, master):
            raise IdentityMismatchError(
                f"the homeserver's {usage} key for {user_id} is not signed by the master key"
            )
        subkeys[usage] = public
    return PublishedIdentity(
        master=master,
        self_signing=subkeys["self_signing"],
        user_signing=subkeys["user_signing"],
        master_object=dict(master_obj),
    )


async def fetch_published_identity(api: MatrixApi, user_id: str) -> PublishedIdentity | None:
    """The cross-signing keys the homeserver publishes for ``user_id`` (None if none)."""
    response = await api.query_keys([user_id])
    return parse_identity(response, user_id)


async def upload_cross_signing_keys(
    api: MatrixApi, session: CrossSigningSession, keys: CrossSigningKeys
) -> None:
    """Publish ``keys`` via ``/keys/device_signing/upload``.

    First without auth: homeservers let an account set up cross-signing for the
    first time without it (MSC3967). If the server answers 401 with a UIA
    session (replacing existing keys), retry with ``m.login.password``.
    """
    body: dict[str, Any] = build_key_objects(keys, session.user_id)
    status, data = await api.raw("POST", "/keys/device_signing/upload", body)
    if status == 200:
        return
    if status != 401 or "flows" not in data:
        raise error_from_response("cross-signing key upload", status, data)
    if session.password is None:
        raise PasswordRequiredError(
            "the homeserver requires the bot account's password to replace its "
            "cross-signing keys; configure the password (or a password file) and try again"
        )
    flows = data.get("flows") or []
    if not any("m.login.password" in (flow.get("stages") or []) for flow in flows):
        raise AuthenticationError(
            "the homeserver does not offer password authentication for replacing "
            "cross-signing keys (it may delegate auth to an external service); "
            "approve the reset there and try again"
        )
    body["auth"] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": session.user_id},
        "password": session.password,
        "session": data.get("session"),
    }
    status, data = await api.raw("POST", "/keys/device_signing/upload", body)
    if status == 200:
        return
    if status == 401:
        raise AuthenticationError(
            "the homeserver rejected the bot account's password while uploading "
            f"cross-signing keys ({data.get('errcode', 'no errcode')}); check the password"
        )
    raise error_from_response("cross-signing key upload", status, data)


def _check_failures(response: Mapping[str, Any], what: str) -> None:
    failures = response.get("failures") or {}
    if failures:
        details = "; ".join(
            f"{user}/{target}: {failure.get('errcode', '?')} {failure.get('message', '')}".strip()
            for user, targets in failures.items()
            for target, failure in targets.items()
        )
        raise SignatureUploadError(f"the homeserver refused {what}: {details}")


async def _own_device_keys(api: MatrixApi, session: CrossSigningSession) -> dict[str, Any]:
    """The bot's device keys as published, checked against what we know of them."""
    response = await api.query_keys([session.user_id], device_ids=[session.device_id])
    device = ((response.get("device_keys") or {}).get(session.user_id) or {}).get(session.device_id)
    if not isinstance(device, dict):
        raise DeviceKeysMissingError(
            f"device {session.device_id} has not uploaded its device keys yet; "
            "start the Matrix client with encryption once (it uploads them), then retry"
        )
    device_key_id = f"ed25519:{session.device_id}"
    ed25519 = (device.get("keys") or {}).get(device_key_id)
    if (
        device.get("user_id") != session.user_id
        or device.get("device_id") != session.device_id
        or not isinstance(ed25519, str)
    ):
        raise IdentityMismatchError(
            f"the homeserver returned malformed device keys for {session.device_id}"
        )
    if session.device_ed25519 is not None and ed25519 != session.device_ed25519:
        # Signing these would vouch for a key this device does not hold.
        raise IdentityMismatchError(
            f"the homeserver's Ed25519 key for device {session.device_id} is not the one in "
            "the local crypto store; refusing to cross-sign it"
        )
    if not verify_json(device, session.user_id, device_key_id, ed25519):
        raise IdentityMismatchError(
            f"the device keys of {session.device_id} are not self-signed correctly; "
            "refusing to cross-sign them"
        )
    return device


async def sign_own_device(
    api: MatrixApi, session: CrossSigningSession, keys: CrossSigningKeys
) -> bool:
    """Make sure the bot's device carries a valid self-signing-key signature.

    Returns True if a signature was uploaded now, False if a valid one was
    already there. Existing signatures (the device's own) are kept in the
    uploaded object; ``unsigned`` is dropped because it is not signed data.
    """
    device = await _own_device_keys(api, session)
    ssk_id = f"ed25519:{keys.self_signing_public}"
    if verify_json(device, session.user_id, ssk_id, keys.self_signing_public):
        return False
    device.pop("unsigned", None)
    signed = sign_json(device, session.user_id, ssk_id, keys.self_signing)
    response = await api.call(
        "POST", "/keys/signatures/upload", {session.user_id: {session.device_id: signed}}
    )
    _check_failures(response, f"the signature of device {session.device_id}")
    log.info("cross-signed device %s with the self-signing key", session.device_id)
    return True


async def sign_other_master_key(
    api: MatrixApi,
    session: CrossSigningSession,
    keys: CrossSigningKeys,
    target_user_id: str,
    *,
    expected_master_key: str | None = None,
) -> bool:
    """Sign another user's master key with our user-signing key and upload it.

    Call this after the user was verified (e.g. SAS). ``expected_master_key`` is
    the master key the verification established: if the homeserver now
    publishes a different one, nothing is signed. Returns True if a signature
    was uploaded, False if ours was already there.
    """
    if target_user_id == session.user_id:
        raise ValueError("use sign_own_device for our own keys; the user-signing key signs others")
    response = await api.query_keys([target_user_id])
    published = parse_identity(response, target_user_id)
    if published is None:
        raise IdentityMismatchError(f"{target_user_id} has no cross-signing identity to sign")
    if expected_master_key is not None and published.master != expected_master_key:
        raise IdentityMismatchError(
            f"the master key of {target_user_id} changed since it was verified; not signing it"
        )
    usk_id = f"ed25519:{keys.user_signing_public}"
    master_obj = dict(published.master_object)
    if verify_json(master_obj, session.user_id, usk_id, keys.user_signing_public):
        return False
    master_obj.pop("unsigned", None)
    signed = sign_json(master_obj, session.user_id, usk_id, keys.user_signing)
    upload = await api.call(
        "POST", "/keys/signatures/upload", {target_user_id: {published.master: signed}}
    )
    _check_failures(upload, f"the signature of {target_user_id}'s master key")
    log.info("signed the master key of %s with the user-signing key", target_user_id)
    return True
