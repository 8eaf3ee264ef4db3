"""Matrix recovery keys: the human-readable form of a secret-storage key.

The spec's "cryptographic key representation": the bytes ``0x8B 0x01``, then
the 32-byte key, then a parity byte (XOR of all previous bytes), encoded in
Bitcoin's base58 alphabet and shown in groups of four characters. Whitespace
is insignificant when reading one back, so operators can paste it as Element
shows it.

Recovery keys are secrets: nothing here logs them, and error messages never
echo the input.
"""

from __future__ import annotations

from functools import reduce
from operator import xor

from .errors import InvalidRecoveryKeyError

__all__ = ["KEY_LENGTH", "PREFIX", "decode_recovery_key", "encode_recovery_key"]

PREFIX = b"\x8b\x01"
KEY_LENGTH = 32
_DECODED_LENGTH = len(PREFIX) + KEY_LENGTH + 1

# Bitcoin's alphabet: no 0, O, I or l, so hand-copied keys are less ambiguous.
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}


def _b58encode(data: bytes) -> str:
    """Base58-encode ``data``; each leading zero byte becomes a leading '1'."""
    number = int.from_bytes(data, "big")
    chars: list[str] = []
    while number:
        number, rest = divmod(number, 58)
        chars.append(_ALPHABET[rest])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(chars))


def _b58decode(text: str) -> bytes:
    """Decode base58 text; raises :class:`InvalidRecoveryKeyError` on bad characters."""
    number = 0
    for position, char in enumerate(text, start=1):
        value = _INDEX.get(char)
        if value is None:
            # Name the position, not the key: the message may end up in a log.
            raise InvalidRecoveryKeyError(
                f"recovery key has a character that is not base58 at position {position} "
                "(0, O, I and l never occur in a recovery key; check for typos)"
            )
        number = number * 58 + value
    leading_zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading_zeros + body


def _parity(data: bytes) -> int:
    return reduce(xor, data, 0)


def encode_recovery_key(key: bytes) -> str:
    """Encode a 32-byte secret-storage key as a recovery key string.

    The result is groups of four base58 characters separated by spaces, the way
    Element shows it.
    """
    if len(key) != KEY_LENGTH:
        raise ValueError(f"a secret-storage key is {KEY_LENGTH} bytes, got {len(key)}")
    payload = PREFIX + key
    encoded = _b58encode(payload + bytes([_parity(payload)]))
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def decode_recovery_key(text: str) -> bytes:
    """Decode a recovery key string to the 32-byte secret-storage key.

    Whitespace anywhere is ignored. Raises :class:`InvalidRecoveryKeyError`
    with a message saying which check failed (characters, length, prefix,
    parity); the message never contains the key itself.
    """
    compact = "".join(text.split())
    if not compact:
        raise InvalidRecoveryKeyError("recovery key is empty")
    decoded = _b58decode(compact)
    if len(decoded) != _DECODED_LENGTH:
        raise InvalidRecoveryKeyError(
            f"recovery key has the wrong length: it decodes to {len(decoded)} bytes, "
            f"expected {_DECODED_LENGTH}; was it copied completely?"
        )
    if decoded[: len(PREFIX)] != PREFIX:
        raise InvalidRecoveryKeyError(
            "this is not a Matrix recovery key (wrong prefix); "
            "a recovery key usually starts with 'Es'"
        )
    if _parity(decoded) != 0:
        # XOR over payload and parity byte is zero exactly when the parity matches.
        raise InvalidRecoveryKeyError(
            "recovery key failed its parity check; one or more characters are mistyped"
        )
    return decoded[len(PREFIX) : len(PREFIX) + KEY_LENGTH]
