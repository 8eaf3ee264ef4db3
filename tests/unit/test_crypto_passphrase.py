"""Secret-storage keys derived from a security phrase (m.pbkdf2), as Element sets them up."""

from __future__ import annotations

from typing import Any, cast

import pytest

from core.crypto.api import MatrixApi
from core.crypto.errors import InvalidRecoveryKeyError, SecretStorageError, WrongRecoveryKeyError
from core.crypto.secret_storage import (
    DEFAULT_KEY_TYPE,
    SecretStorageKey,
    fetch_secret,
    key_description,
    key_description_type,
    open_default_key,
    passphrase_key,
    store_secret,
)

PHRASE = "correct horse battery staple"
SALT = "MyV5pkTkSv6aSX9Lu0jr6dvmv1xPGA0n"
# matrix-js-sdk 37.5.0's deriveRecoveryKeyFromPassphrase(PHRASE, SALT, 1000), run under Node.
JS_SDK_KEY = bytes.fromhex("5dee4f6e8317fc169aef0451d3b4bddacda5e05c4361330e185bb7d765a3f403")


def pbkdf2(iterations: int = 1000, **extra: Any) -> dict[str, Any]:
    return {"passphrase": {"algorithm": "m.pbkdf2", "salt": SALT, "iterations": iterations,
                           **extra}}


def test_derivation_matches_js_sdk() -> None:
    assert passphrase_key(PHRASE, pbkdf2()) == JS_SDK_KEY
    assert passphrase_key(PHRASE, pbkdf2(bits=256)) == JS_SDK_KEY
    assert passphrase_key(PHRASE, {}) is None  # a key without a phrase


@pytest.mark.parametrize(
    "description",
    [
        {"passphrase": {"algorithm": "m.argon2", "salt": SALT, "iterations": 1}},
        {"passphrase": "text"},
        pbkdf2(iterations=0),
        pbkdf2(iterations=10**9),
        pbkdf2(iterations=True),
        pbkdf2(bits=128),
        {"passphrase": {"algorithm": "m.pbkdf2", "iterations": 1000}},
    ],
)
def test_unsupported_or_malformed_settings(description: dict[str, Any]) -> None:
    with pytest.raises(SecretStorageError):
        passphrase_key(PHRASE, description)


class FakeAccountData:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    async def get_account_data(self, event_type: str) -> dict[str, Any] | None:
        return self.data.get(event_type)

    async def put_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        self.data[event_type] = dict(content)


async def element_like_storage(with_phrase: bool = True) -> tuple[MatrixApi, SecretStorageKey]:
    """Account data as Element writes it after "set up secure backup" with a phrase."""
    fake = FakeAccountData()
    api = cast(MatrixApi, fake)
    key = SecretStorageKey(key_id="phrasekey", key=JS_SDK_KEY)
    description = key_description(key.key, name="phrase")
    if with_phrase:
        description.update(pbkdf2())
    fake.data[key_description_type(key.key_id)] = description
    fake.data[DEFAULT_KEY_TYPE] = {"key": key.key_id}
    await store_secret(api, key, "m.cross_signing.master", "seed")
    return api, key


async def test_open_with_phrase_or_recovery_key() -> None:
    api, key = await element_like_storage()
    opened = await open_default_key(api, PHRASE)
    assert opened == key
    assert await fetch_secret(api, opened, "m.cross_signing.master") == "seed"
    assert await open_default_key(api, f"  {PHRASE}\n") == key  # as read from a file
    assert await open_default_key(api, key.recovery_key()) == key  # the key itself still works


async def test_wrong_phrase_is_refused() -> None:
    api, _ = await element_like_storage()
    with pytest.raises(WrongRecoveryKeyError, match="security phrase"):
        await open_default_key(api, "incorrect horse battery staple")


async def test_text_without_phrase_storage_is_an_invalid_recovery_key() -> None:
    api, _ = await element_like_storage(with_phrase=False)
    with pytest.raises(InvalidRecoveryKeyError):
        await open_default_key(api, PHRASE)
