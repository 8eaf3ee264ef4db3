"""Secret storage, m.secret_storage.v1.aes-hmac-sha2 (core/crypto/secret_storage.py)."""

from __future__ import annotations

import os
from typing import Any, cast

import pytest

from core.crypto.api import MatrixApi
from core.crypto.canonical import unpadded_b64decode
from core.crypto.errors import (
    InvalidRecoveryKeyError,
    SecretDecryptionError,
    SecretStorageError,
    WrongRecoveryKeyError,
)
from core.crypto.recovery_key import decode_recovery_key
from core.crypto.secret_storage import (
    ALGORITHM,
    DEFAULT_KEY_TYPE,
    SecretStorageKey,
    check_key,
    decrypt_secret,
    encrypt_secret,
    fetch_secret,
    key_description,
    key_description_type,
    open_default_key,
    publish_key,
    set_default_key,
    store_secret,
)

# A key description written by another implementation (matrix-rust-sdk's test
# data, padded base64 as some clients still write it) and its recovery key.
FOREIGN_RECOVERY_KEY = "EsTj 3yST y93F SLpB jJsz eAXc 2XzA ygD3 w69H fGaN TKBj jXEd"
FOREIGN_DESCRIPTION = {
    "algorithm": ALGORITHM,
    "iv": "xv5b6/p3ExEw++wTyfSHEg==",
    "mac": "ujBBbXahnTAMkmPUX2/0+VTfUh63pGyVRuBcDMgmJC8=",
}


def test_encrypt_decrypt_round_trip() -> None:
    key = os.urandom(32)
    encrypted = encrypt_secret(key, "m.cross_signing.master", "It's a secret to everybody")
    assert set(encrypted) == {"iv", "ciphertext", "mac"}
    assert all("=" not in value for value in encrypted.values())
    assert decrypt_secret(key, "m.cross_signing.master", encrypted) == "It's a secret to everybody"


def test_iv_has_bit_63_cleared() -> None:
    for _ in range(50):
        iv = unpadded_b64decode(encrypt_secret(bytes(32), "n", "s")["iv"])
        assert len(iv) == 16 and iv[8] & 0x80 == 0


def test_wrong_key_fails_mac_check() -> None:
    encrypted = encrypt_secret(os.urandom(32), "m.cross_signing.master", "secret")
    with pytest.raises(SecretDecryptionError, match="integrity"):
        decrypt_secret(os.urandom(32), "m.cross_signing.master", encrypted)


def test_secret_name_is_bound_into_the_keys() -> None:
    key = os.urandom(32)
    encrypted = encrypt_secret(key, "m.cross_signing.master", "secret")
    with pytest.raises(SecretDecryptionError):
        decrypt_secret(key, "m.cross_signing.self_signing", encrypted)


def test_tampered_ciphertext_fails_mac_check() -> None:
    key = os.urandom(32)
    encrypted = encrypt_secret(key, "name", "secret")
    tampered = dict(encrypted, ciphertext=encrypt_secret(key, "name", "secreT")["ciphertext"])
    with pytest.raises(SecretDecryptionError):
        decrypt_secret(key, "name", tampered)


def test_malformed_encrypted_data() -> None:
    key = os.urandom(32)
    good = encrypt_secret(key, "name", "secret")
    with pytest.raises(SecretStorageError, match="'mac'"):
        decrypt_secret(key, "name", {"iv": good["iv"], "ciphertext": good["ciphertext"]})
    with pytest.raises(SecretStorageError, match="IV"):
        decrypt_secret(key, "name", dict(good, iv="AAAA"))


def test_fixed_iv_is_deterministic_and_padded_input_accepted() -> None:
    key, iv = bytes(range(32)), bytes(16)
    first = encrypt_secret(key, "name", "secret", iv=iv)
    assert first == encrypt_secret(key, "name", "secret", iv=iv)
    padded = {k: v + "=" * (-len(v) % 4) for k, v in first.items()}
    assert decrypt_secret(key, "name", padded) == "secret"


def test_key_check_accepts_foreign_description() -> None:
    key = decode_recovery_key(FOREIGN_RECOVERY_KEY)
    assert check_key(key, FOREIGN_DESCRIPTION)
    assert not check_key(os.urandom(32), FOREIGN_DESCRIPTION)


def test_key_check_round_trip_and_edge_cases() -> None:
    key = os.urandom(32)
    description = key_description(key, name="test")
    assert description["algorithm"] == ALGORITHM and description["name"] == "test"
    assert check_key(key, description)
    assert not check_key(os.urandom(32), description)
    # Without iv and mac the spec says to assume the key is right.
    assert check_key(os.urandom(32), {"algorithm": ALGORITHM})
    with pytest.raises(SecretStorageError, match="algorithm"):
        check_key(key, {**description, "algorithm": "m.secret_storage.custom"})
    with pytest.raises(SecretStorageError, match="malformed"):
        check_key(key, {**description, "mac": "AAAA"})


def test_generated_key_and_repr() -> None:
    storage_key = SecretStorageKey.generate()
    assert len(storage_key.key) == 32 and len(storage_key.key_id) == 32
    assert storage_key.key_id.isalnum()
    assert decode_recovery_key(storage_key.recovery_key()) == storage_key.key
    assert storage_key.key.hex() not in repr(storage_key)
    assert key_description_type("abc") == "m.secret_storage.key.abc"


class FakeAccountData:
    """Stands in for MatrixApi's account data calls; only for these tests."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    async def get_account_data(self, event_type: str) -> dict[str, Any] | None:
        return self.data.get(event_type)

    async def put_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        self.data[event_type] = dict(content)


async def test_publish_store_open_fetch_round_trip() -> None:
    fake = FakeAccountData()
    api = cast(MatrixApi, fake)
    storage_key = SecretStorageKey.generate()
    await publish_key(api, storage_key, name="bot")
    await store_secret(api, storage_key, "m.cross_signing.master", "seed")
    with pytest.raises(SecretStorageError, match="no default"):
        await open_default_key(api, storage_key.recovery_key())
    await set_default_key(api, storage_key.key_id)
    assert fake.data[DEFAULT_KEY_TYPE] == {"key": storage_key.key_id}
    assert set(fake.data["m.cross_signing.master"]["encrypted"]) == {storage_key.key_id}

    opened = await open_default_key(api, storage_key.recovery_key())
    assert opened == storage_key
    assert await fetch_secret(api, opened, "m.cross_signing.master") == "seed"
    with pytest.raises(SecretStorageError, match=r"no m\.cross_signing\.user_signing"):
        await fetch_secret(api, opened, "m.cross_signing.user_signing")

    with pytest.raises(WrongRecoveryKeyError, match="--recovery-key-file"):
        await open_default_key(api, SecretStorageKey.generate().recovery_key())
    with pytest.raises(InvalidRecoveryKeyError):
        await open_default_key(api, "not a key")

    # A secret encrypted for another key id is reported, not mis-decrypted.
    other = SecretStorageKey.generate()
    await store_secret(api, other, "m.cross_signing.master", "seed")
    with pytest.raises(SecretStorageError, match="not encrypted with the default"):
        await fetch_secret(api, opened, "m.cross_signing.master")
