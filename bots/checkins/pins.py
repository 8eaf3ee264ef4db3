"""PINs for `!safe`: stored only as salted scrypt hashes, checked in a worker thread."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

# scrypt at N=2^14, r=8 costs ~16 MiB and tens of milliseconds: cheap for one
# `!safe`, expensive for someone who copied the database and guesses 4-digit PINs.
_N, _R, _P = 2**14, 8, 1
MIN_LENGTH = 4
MAX_LENGTH = 32


def valid_pin(pin: str) -> bool:
    return MIN_LENGTH <= len(pin) <= MAX_LENGTH and not any(ch.isspace() for ch in pin)


def _derive(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def hash_pin_sync(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _derive(pin, salt, _N, _R, _P)
    encode = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_pin_sync(pin: str, stored: str | None) -> bool:
    """True when `pin` matches; a missing hash still costs one derivation (same timing)."""
    if stored is None:
        _derive(pin, b"\0" * 16, _N, _R, _P)
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        actual = _derive(pin, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


async def hash_pin(pin: str) -> str:
    return await asyncio.to_thread(hash_pin_sync, pin)


async def verify_pin(pin: str, stored: str | None) -> bool:
    return await asyncio.to_thread(verify_pin_sync, pin, stored)
