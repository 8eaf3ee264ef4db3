"""Recovery key encoding (core/crypto/recovery_key.py)."""

from __future__ import annotations

import os

import pytest

from core.crypto.errors import IdentityError, InvalidRecoveryKeyError
from core.crypto.recovery_key import decode_recovery_key, encode_recovery_key

# Interoperability vectors used by matrix-rust-sdk's tests (Element's crypto core).
KNOWN_KEY = "EsTpRvZTnjck8YrhRAtwXLS84Nr2r9S9LGAWDaExVAPBvLRK"
KNOWN_BYTES = bytes(
    [
        159, 189, 70, 187, 52, 81, 113, 198, 246, 2, 44, 154, 37, 213, 104, 27,
        165, 78, 236, 106, 108, 73, 83, 243, 173, 192, 185, 110, 157, 145, 173, 163,
    ]
)  # fmt: skip


def test_decodes_known_key_ignoring_whitespace() -> None:
    messy = "EsT           pRvZTnjck8    YrhRAtw XLS84Nr2r9S9LGAWDaExVAPBvLRK   "
    assert decode_recovery_key(messy) == KNOWN_BYTES
    assert decode_recovery_key(KNOWN_KEY) == KNOWN_BYTES


def test_encodes_known_key_in_groups_of_four() -> None:
    encoded = encode_recovery_key(KNOWN_BYTES)
    assert encoded.replace(" ", "") == KNOWN_KEY
    groups = encoded.split(" ")
    assert all(len(group) == 4 for group in groups[:-1]) and 1 <= len(groups[-1]) <= 4


@pytest.mark.parametrize("key", [bytes(32), b"\xff" * 32, os.urandom(32), os.urandom(32)])
def test_round_trip(key: bytes) -> None:
    text = encode_recovery_key(key)
    assert text.startswith("Es")
    assert decode_recovery_key(text) == key
    assert decode_recovery_key(f"\n {text}\t") == key


def test_parity_error() -> None:
    with pytest.raises(InvalidRecoveryKeyError, match="parity"):
        decode_recovery_key("EsTpRvZTnjck8YrhRAtwXLS84Nr2r9S9LGAWDaExVAPBvLRk")


def test_single_typo_is_caught() -> None:
    text = encode_recovery_key(os.urandom(32)).replace(" ", "")
    # Swap one character for another base58 character.
    position = 20
    replacement = "2" if text[position] != "2" else "3"
    mistyped = text[:position] + replacement + text[position + 1 :]
    with pytest.raises(InvalidRecoveryKeyError):
        decode_recovery_key(mistyped)


def test_prefix_error() -> None:
    with pytest.raises(InvalidRecoveryKeyError, match="prefix"):
        decode_recovery_key("AATpRvZTnjck8YrhRAtwXLS84Nr2r9S9LGAWDaExVAPBvLRk")


@pytest.mark.parametrize(
    "text", ["AATpRvZTnjck8YrhRAtwXLS84Nr2r9S9", KNOWN_KEY + "1", KNOWN_KEY[:-4]]
)
def test_length_error(text: str) -> None:
    with pytest.raises(InvalidRecoveryKeyError, match="length"):
        decode_recovery_key(text)


@pytest.mark.parametrize("char", ["0", "O", "I", "l", "+", "é"])
def test_character_error_names_position_not_key(char: str) -> None:
    text = KNOWN_KEY[:10] + char + KNOWN_KEY[11:]
    with pytest.raises(InvalidRecoveryKeyError, match="position 11") as excinfo:
        decode_recovery_key(text)
    assert KNOWN_KEY[:8] not in str(excinfo.value)


def test_empty_and_error_types() -> None:
    with pytest.raises(InvalidRecoveryKeyError, match="empty"):
        decode_recovery_key("   ")
    # Callers may catch either the identity base class or ValueError.
    assert issubclass(InvalidRecoveryKeyError, IdentityError)
    assert issubclass(InvalidRecoveryKeyError, ValueError)
    with pytest.raises(ValueError):
        encode_recovery_key(b"\x00" * 31)
