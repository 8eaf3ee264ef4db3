"""Secret storage (SSSS / "4S"), algorithm ``m.secret_storage.v1.aes-hmac-sha2``.

Secrets live in the account's global account data, encrypted with a
secret-storage key that never leaves the operator's hands (it is shown once as
a recovery key). This is how Element keeps cross-signing private keys, so an
identity created by the bot can also be opened from Element with the same
recovery key, and the other way round.

Per the spec, for a secret named ``name`` and a 32-byte storage key:

* HKDF-SHA256(key, salt = 32 zero bytes, info = name) → 64 bytes: the first
  32 are the AES-256-CTR key, the next 32 the HMAC-SHA256 key;
* a random 16-byte IV with bit 63 cleared (so the 64-bit counter half never
  wraps, which implementations handle differently);
* ``mac`` = HMAC-SHA256 over the raw ciphertext;
* ``iv``, ``ciphertext`` and ``mac`` are stored as unpadded base64.

The key description (``m.secret_storage.key.<id>``) carries ``iv`` and ``mac``
of 32 zero bytes encrypted with the empty name, so a wrong recovery key is
recognised before any secret is touched.

A key set up in Element with a *security phrase* has ``passphrase:
{algorithm: m.pbkdf2, salt, iterations, bits}`` in its description: the key is
PBKDF2-HMAC-SHA512(phrase, salt, iterations) truncated to ``bits``. Where a
recovery key is accepted, such a phrase is accepted too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .api import MatrixApi
from .canonical import unpadded_b64decode, unpadded_b64encode
from .errors import (
    InvalidRecoveryKeyError,
    SecretDecryptionError,
    SecretStorageError,
    WrongRecoveryKeyError,
)
from .recovery_key import KEY_LENGTH, decode_recovery_key, encode_recovery_key

__all__ = [
    "ALGORITHM",
    "DEFAULT_KEY_TYPE",
    "SecretStorageKey",
    "check_key",
    "decrypt_secret",
    "encrypt_secret",
    "fetch_secret",
    "key_description",
    "key_description_type",
    "open_default_key",
    "passphrase_key",
    "publish_key",
    "restore_account_data",
    "set_default_key",
    "snapshot_account_data",
    "store_secret",
]

log = logging.getLogger(__name__)

ALGORITHM = "m.secret_storage.v1.aes-hmac-sha2"
DEFAULT_KEY_TYPE = "m.secret_storage.default_key"
_KEY_TYPE_PREFIX = "m.secret_storage.key."
_ZERO_SALT = bytes(32)
_IV_LENGTH = 16
_MAC_LENGTH = 32
_KEY_ID_LENGTH = 32
_KEY_ID_ALPHABET = string.ascii_letters + string.digits


def key_description_type(key_id: str) -> str:
    """Account data type holding the description of storage key ``key_id``."""
    return _KEY_TYPE_PREFIX + key_id


@dataclass(frozen=True)
class SecretStorageKey:
    """A secret-storage key and its id. ``repr`` never shows the key bytes."""

    key_id: str
    key: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> SecretStorageKey:
        """A fresh random key with a random 32-character id, as Element makes them."""
        key_id = "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(_KEY_ID_LENGTH))
        return cls(key_id=key_id, key=secrets.token_bytes(KEY_LENGTH))

    def recovery_key(self) -> str:
        """The key as a recovery key string, for showing to the operator once."""
        return encode_recovery_key(self.key)


def _derive(key: bytes, name: str) -> tuple[bytes, bytes]:
    """HKDF the storage key into (AES key, HMAC key) for the secret ``name``."""
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=_ZERO_SALT, info=name.encode()).derive(
        key
    )
    return okm[:32], okm[32:]


def _new_iv() -> bytes:
    iv = bytearray(os.urandom(_IV_LENGTH))
    # Clear bit 63 (top bit of byte 8): the low 64 bits act as the counter and
    # must not carry into the nonce half, which AES-CTR libraries treat differently.
    iv[8] &= 0x7F
    return bytes(iv)


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    # CTR mode is its own inverse, so this both encrypts and decrypts.
    cryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return cryptor.update(data) + cryptor.finalize()


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _encrypt_bytes(key: bytes, name: str, plaintext: bytes, iv: bytes) -> tuple[bytes, bytes]:
    aes_key, mac_key = _derive(key, name)
    ciphertext = _aes_ctr(aes_key, iv, plaintext)
    return ciphertext, _mac(mac_key, ciphertext)


def encrypt_secret(
    key: bytes, name: str, secret: str, *, iv: bytes | None = None
) -> dict[str, str]:
    """Encrypt ``secret`` (a string, as the spec defines secrets) under ``name``.

    Returns the ``{"iv", "ciphertext", "mac"}`` object to put under
    ``encrypted.<key id>`` in the account data. ``iv`` is only for tests.
    """
    iv = _new_iv() if iv is None else iv
    if len(iv) != _IV_LENGTH:
        raise ValueError(f"IV must be {_IV_LENGTH} bytes")
    ciphertext, mac = _encrypt_bytes(key, name, secret.encode("utf-8"), iv)
    return {
        "iv": unpadded_b64encode(iv),
        "ciphertext": unpadded_b64encode(ciphertext),
        "mac": unpadded_b64encode(mac),
    }


def _field_bytes(data: Mapping[str, Any], name: str, what: str) -> bytes:
    value = data.get(name)
    if not isinstance(value, str):
        raise SecretStorageError(f"{what} has no '{name}' string")
    try:
        return unpadded_b64decode(value)
    except ValueError:
        raise SecretStorageError(f"{what} has an invalid base64 '{name}'") from None


def decrypt_secret(key: bytes, name: str, encrypted: Mapping[str, Any]) -> str:
    """Decrypt one ``{"iv", "ciphertext", "mac"}`` object stored under ``name``.

    The MAC is checked (in constant time) before decrypting; a mismatch, which
    is what a wrong key gives, raises :class:`SecretDecryptionError`.
    """
    what = f"secret {name}"
    iv = _field_bytes(encrypted, "iv", what)
    ciphertext = _field_bytes(encrypted, "ciphertext", what)
    mac = _field_bytes(encrypted, "mac", what)
    if len(iv) != _IV_LENGTH:
        raise SecretStorageError(f"{what} has an IV of {len(iv)} bytes, expected {_IV_LENGTH}")
    aes_key, mac_key = _derive(key, name)
    if not hmac.compare_digest(_mac(mac_key, ciphertext), mac):
        raise SecretDecryptionError(
            f"{what} failed its integrity check: wrong secret-storage key, or corrupted data"
        )
    try:
        return _aes_ctr(aes_key, iv, ciphertext).decode("utf-8")
    except UnicodeDecodeError:
        raise SecretStorageError(f"{what} does not decrypt to text") from None


def key_description(
    key: bytes, *, name: str | None = None, iv: bytes | None = None
) -> dict[str, Any]:
    """The ``m.secret_storage.key.<id>`` content for ``key``, with its key check.

    The check is 32 zero bytes encrypted with the empty secret name; only its
    MAC is kept. ``iv`` is only for tests.
    """
    iv = _new_iv() if iv is None else iv
    _, mac = _encrypt_bytes(key, "", bytes(32), iv)
    description: dict[str, Any] = {
        "algorithm": ALGORITHM,
        "iv": unpadded_b64encode(iv),
        "mac": unpadded_b64encode(mac),
    }
    if name is not None:
        description["name"] = name
    return description


def check_key(key: bytes, description: Mapping[str, Any]) -> bool:
    """True if ``key`` is the key that ``description`` describes.

    Raises :class:`SecretStorageError` for an unsupported algorithm or a
    malformed check. Per the spec, a description without ``iv``/``mac`` can't
    be checked and must be assumed to match (secrets' own MACs still protect
    us later).
    """
    algorithm = description.get("algorithm")
    if algorithm != ALGORITHM:
        raise SecretStorageError(
            f"secret storage uses algorithm {algorithm!r}, only {ALGORITHM} is supported"
        )
    if "iv" not in description and "mac" not in description:
        return True
    iv = _field_bytes(description, "iv", "secret storage key description")
    mac = _field_bytes(description, "mac", "secret storage key description")
    if len(iv) != _IV_LENGTH or len(mac) != _MAC_LENGTH:
        raise SecretStorageError("secret storage key description has a malformed iv or mac")
    _, expected = _encrypt_bytes(key, "", bytes(32), iv)
    return hmac.compare_digest(expected, mac)


async def publish_key(api: MatrixApi, storage_key: SecretStorageKey, *, name: str) -> None:
    """Upload the description of ``storage_key`` (not the default yet)."""
    await api.put_account_data(
        key_description_type(storage_key.key_id), key_description(storage_key.key, name=name)
    )


async def set_default_key(api: MatrixApi, key_id: str) -> None:
    """Mark ``key_id`` as the account's default secret-storage key."""
    await api.put_account_data(DEFAULT_KEY_TYPE, {"key": key_id})


async def store_secret(
    api: MatrixApi, storage_key: SecretStorageKey, name: str, secret: str
) -> None:
    """Encrypt ``secret`` for ``storage_key`` and store it as account data ``name``.

    The content is replaced, not merged: copies under other keys would hold the
    previous value of the secret, and a client opening those would get stale keys.
    """
    content = {"encrypted": {storage_key.key_id: encrypt_secret(storage_key.key, name, secret)}}
    await api.put_account_data(name, content)


PBKDF2_ALGORITHM = "m.pbkdf2"
# Element uses 500 000; refuse absurd values a hostile homeserver could plant
# to make the bot spin (the phrase is checked against the key check anyway).
_MAX_PBKDF2_ITERATIONS = 10_000_000


def passphrase_key(passphrase: str, description: Mapping[str, Any]) -> bytes | None:
    """The storage key derived from a security phrase, or None if the key has no phrase.

    Raises :class:`SecretStorageError` for an unsupported or malformed
    ``passphrase`` block.
    """
    info = description.get("passphrase")
    if info is None:
        return None
    if not isinstance(info, Mapping) or info.get("algorithm") != PBKDF2_ALGORITHM:
        raise SecretStorageError(
            "secret storage's security phrase uses an unsupported derivation "
            f"(only {PBKDF2_ALGORITHM} is supported); use the recovery key instead"
        )
    salt, iterations, bits = info.get("salt"), info.get("iterations"), info.get("bits", 256)
    if (
        not isinstance(salt, str)
        or not isinstance(iterations, int) or isinstance(iterations, bool)
        or not 0 < iterations <= _MAX_PBKDF2_ITERATIONS
        or bits != KEY_LENGTH * 8
    ):
        raise SecretStorageError("secret storage's security phrase settings are malformed")
    return hashlib.pbkdf2_hmac(
        "sha512", passphrase.encode("utf-8"), salt.encode("utf-8"), iterations, KEY_LENGTH
    )


async def open_default_key(api: MatrixApi, recovery_key: str) -> SecretStorageKey:
    """Check ``recovery_key`` (or a security phrase) against the default secret-storage key.

    Raises :class:`InvalidRecoveryKeyError` for a malformed string that is no
    recovery key while the key has no security phrase,
    :class:`SecretStorageError` if the account has no usable secret storage,
    and :class:`WrongRecoveryKeyError` if neither matches the default key.
    """
    malformed: InvalidRecoveryKeyError | None = None
    key: bytes | None = None
    try:
        key = decode_recovery_key(recovery_key)
    except InvalidRecoveryKeyError as exc:
        malformed = exc  # perhaps a security phrase: decided once the description is known
    default = await api.get_account_data(DEFAULT_KEY_TYPE)
    key_id = default.get("key") if default else None
    if not isinstance(key_id, str) or not key_id:
        raise SecretStorageError(
            "the account has no default secret-storage key, so its cross-signing keys "
            "cannot be restored; `solidarity identity reset` creates a new identity"
        )
    description = await api.get_account_data(key_description_type(key_id))
    if description is None:
        raise SecretStorageError(
            "the account's default secret-storage key has no description on the "
            "homeserver; `solidarity identity reset` creates a new identity"
        )
    if key is None:
        key = passphrase_key(recovery_key.strip(), description)
        if key is None:
            assert malformed is not None
            raise malformed
        if not check_key(key, description):
            raise WrongRecoveryKeyError(
                "neither a recovery key nor the security phrase of this account's secret "
                "storage; check --recovery-key-file (the identity was NOT reset)"
            )
        return SecretStorageKey(key_id=key_id, key=key)
    if not check_key(key, description):
        raise WrongRecoveryKeyError(
            "the recovery key does not match this account's secret storage; "
            "check that --recovery-key-file holds the recovery key shown when this "
            "bot's identity was created (the identity was NOT reset)"
        )
    return SecretStorageKey(key_id=key_id, key=key)


async def fetch_secret(api: MatrixApi, storage_key: SecretStorageKey, name: str) -> str:
    """Fetch and decrypt secret ``name``, which must be encrypted for ``storage_key``."""
    content = await api.get_account_data(name)
    encrypted = content.get("encrypted") if content else None
    if not isinstance(encrypted, Mapping):
        raise SecretStorageError(f"secret storage has no {name} secret")
    data = encrypted.get(storage_key.key_id)
    if not isinstance(data, Mapping):
        raise SecretStorageError(
            f"secret {name} is not encrypted with the default secret-storage key"
        )
    try:
        return decrypt_secret(storage_key.key, name, data)
    except SecretDecryptionError:
        # The key check passed, so the key is right and the data is bad.
        log.warning("secret %s failed its MAC check with a verified storage key", name)
        raise


async def snapshot_account_data(
    api: MatrixApi, types: list[str]
) -> dict[str, dict[str, Any] | None]:
    """Current contents of several account data types, to roll back to on failure."""
    return {event_type: await api.get_account_data(event_type) for event_type in types}


async def restore_account_data(
    api: MatrixApi, snapshot: Mapping[str, Mapping[str, Any] | None]
) -> None:
    """Best-effort rollback to a :func:`snapshot_account_data` result.

    Account data cannot be deleted through the stable API, so types that did
    not exist before get an empty object, which clients read as "not set".
    """
    for event_type, content in snapshot.items():
        try:
            await api.put_account_data(event_type, content if content is not None else {})
        except Exception as exc:  # rollback must try every type, whatever fails
            log.error("could not roll back account data %s: %s", event_type, exc)
