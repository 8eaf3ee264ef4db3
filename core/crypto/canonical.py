"""Canonical JSON and Ed25519 JSON signatures, as the Matrix spec defines them.

Matrix signs JSON objects, not bytes: the signature covers the object's
*canonical* encoding with its ``signatures`` and ``unsigned`` members removed.
Keys and signatures travel as *unpadded* base64. This module is the only place
that knows those rules, so cross-signing and verification code cannot drift
apart on them.

Signing uses ``cryptography`` because vodozemac's Python bindings can verify
Ed25519 signatures but cannot sign with an arbitrary private key.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "CanonicalJsonError",
    "canonical_json",
    "private_key_from_seed",
    "public_key_b64",
    "seed_of",
    "sign_json",
    "signature_for",
    "unpadded_b64decode",
    "unpadded_b64encode",
    "verify_json",
    "verify_signature",
]

# Canonical JSON only allows integers that survive a round trip through an
# IEEE double, so every implementation agrees on their value.
_MAX_SAFE_INT = 2**53 - 1


class CanonicalJsonError(ValueError):
    """A value cannot be encoded as Matrix canonical JSON (floats, big ints, ...)."""


def unpadded_b64encode(data: bytes) -> str:
    """Encode ``data`` as standard base64 without ``=`` padding (Matrix's form)."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def unpadded_b64decode(text: str) -> bytes:
    """Decode standard base64 with or without padding.

    Some clients still send padded base64 (the spec tells us to accept both),
    so the padding is restored before decoding. Raises :class:`ValueError` on
    characters outside the standard alphabet.
    """
    stripped = text.strip().rstrip("=")
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64: {exc}") from None


def _check_canonical(value: Any, path: str) -> None:
    """Reject values whose canonical encoding would be ambiguous across clients."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            raise CanonicalJsonError(f"integer out of canonical JSON range at {path}")
        return
    if isinstance(value, float):
        raise CanonicalJsonError(f"floats are not allowed in canonical JSON (at {path})")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError(f"object keys must be strings (at {path})")
            _check_canonical(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_canonical(item, f"{path}[{index}]")
        return
    raise CanonicalJsonError(f"unsupported type {type(value).__name__} at {path}")


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as Matrix canonical JSON (UTF-8 bytes).

    Keys sorted by code point, no insignificant whitespace, non-ASCII left as
    UTF-8 rather than ``\\u`` escapes, integers only within ±(2**53 - 1).
    """
    _check_canonical(value, "$")
    # Python's sort of str keys is by code point, and with ensure_ascii=False
    # it escapes only '"', '\\' and control characters, as the spec's grammar does.
    return json.dumps(
        value,
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """Build an Ed25519 private key from its 32-byte seed (Matrix's private key form)."""
    if len(seed) != 32:
        raise ValueError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def seed_of(key: Ed25519PrivateKey) -> bytes:
    """Return the 32-byte seed of ``key`` (what Matrix stores as the private key)."""
    # The *_raw methods, not serialization's formats: importing
    # cryptography's serialization loads its SSH support and bcrypt (1.2 MiB
    # resident in every bot process) for two raw byte strings.
    return key.private_bytes_raw()


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Unpadded base64 of the raw 32-byte public key; also the key's id in Matrix."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return unpadded_b64encode(public.public_bytes_raw())


def _signable(obj: Mapping[str, Any]) -> bytes:
    """The bytes a Matrix signature covers: canonical JSON minus signatures/unsigned."""
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def signature_for(obj: Mapping[str, Any], key: Ed25519PrivateKey) -> str:
    """Compute the unpadded-base64 Ed25519 signature of ``obj`` with ``key``."""
    return unpadded_b64encode(key.sign(_signable(obj)))


def sign_json(
    obj: Mapping[str, Any], signer: str, key_id: str, key: Ed25519PrivateKey
) -> dict[str, Any]:
    """Return a deep copy of ``obj`` with ``signatures[signer][key_id]`` added.

    Existing signatures are kept (a device already signed by itself keeps that
    signature when we add the self-signing key's). ``unsigned`` is kept too:
    it is not covered by signatures, and dropping it is the caller's choice.
    """
    signed = copy.deepcopy(dict(obj))
    sig = signature_for(obj, key)
    signatures = signed.setdefault("signatures", {})
    signatures.setdefault(signer, {})[key_id] = sig
    return signed


def verify_signature(obj: Mapping[str, Any], signature: str, public_key: str) -> bool:
    """Check one unpadded-base64 ``signature`` of ``obj`` by ``public_key`` (base64)."""
    try:
        raw_key = unpadded_b64decode(public_key)
        raw_sig = unpadded_b64decode(signature)
        Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_sig, _signable(obj))
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_json(obj: Mapping[str, Any], signer: str, key_id: str, public_key: str) -> bool:
    """True if ``obj`` carries a valid signature ``signatures[signer][key_id]``.

    ``public_key`` is the unpadded base64 Ed25519 public key to check against;
    a missing signature counts as invalid.
    """
    signatures = obj.get("signatures")
    if not isinstance(signatures, Mapping):
        return False
    by_signer = signatures.get(signer)
    if not isinstance(by_signer, Mapping):
        return False
    signature = by_signer.get(key_id)
    if not isinstance(signature, str):
        return False
    return verify_signature(obj, signature, public_key)
