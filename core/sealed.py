"""Sealed fields: what would expose people if the server's disk were seized.

Contacts, check-in notes, pronouns, reports, alert texts and queued messages
are stored sealed (AES-256-GCM) under a key derived with scrypt from the
store passphrase, which is never written to the database: the database file
alone reveals none of them. Field encryption with `cryptography` (already a
dependency for cross-signing) was chosen over SQLCipher: aiosqlite runs on
the standard sqlite3 module, SQLCipher needs a compiled library that is not
on every machine, and the non-sensitive columns (ids, times, states) stay
queryable for indexes and the operator's tools.

Each value is bound to its place (`context`, e.g. "checkins.note"), so a
sealed value copied into another column does not open there. Values written
before sealing existed (no prefix) are read as they are, so a database
upgrades in place as rows are rewritten.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

PREFIX = "sealed1:"
# The demo and tests run without a passphrase; a real bot refuses to start without one.
DEMO_PASSPHRASE = "solidarity-demo-only"


class SealError(Exception):
    """A sealed value does not open: wrong passphrase, or it was moved or altered."""


class Sealer:
    def __init__(self, passphrase: str, installation: str) -> None:
        self._passphrase = passphrase.encode()
        # The salt only has to differ between installations (no precomputation
        # across them); the bot's user id does, and needs no storage.
        self._salt = hashlib.sha256(f"solidarity/sealed/v1/{installation}".encode()).digest()
        self._aead: AESGCM | None = None
        self._lookup_key: bytes | None = None

    def _keys(self) -> tuple[AESGCM, bytes]:
        if self._aead is None or self._lookup_key is None:
            master = Scrypt(salt=self._salt, length=32, n=2**14, r=8, p=1).derive(self._passphrase)
            # Two keys from one: sealing, and keyed look-ups (never the same key twice).
            self._aead = AESGCM(hmac.new(master, b"seal", hashlib.sha256).digest())
            self._lookup_key = hmac.new(master, b"lookup", hashlib.sha256).digest()
        return self._aead, self._lookup_key

    def _cipher(self) -> AESGCM:
        return self._keys()[0]

    def lookup(self, text: str, *, context: str) -> str:
        """A keyed hash of `text`: equal inputs match, the file alone tells nothing.

        For columns that must be found by value (a member's contact) without
        storing the value: only the store passphrase gives the key.
        """
        digest = hmac.new(self._keys()[1], f"{context}\0{text}".encode(), hashlib.sha256)
        return "l1:" + digest.hexdigest()[:40]

    def seal(self, text: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._cipher().encrypt(nonce, text.encode(), context.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, value: str, *, context: str) -> str:
        if not value.startswith(PREFIX):
            return value  # written before sealing existed
        raw = base64.b64decode(value[len(PREFIX):])
        try:
            return self._cipher().decrypt(raw[:12], raw[12:], context.encode()).decode()
        except Exception as exc:
            raise SealError(f"a sealed {context} value does not open") from exc

    def seal_json(self, value: Any, *, context: str) -> str:
        return self.seal(json.dumps(value), context=context)

    def open_json(self, value: str, *, context: str) -> Any:
        return json.loads(self.open(value, context=context))

    def seal_optional(self, text: str | None, *, context: str) -> str | None:
        return None if text is None else self.seal(text, context=context)

    def open_optional(self, value: str | None, *, context: str) -> str | None:
        return None if value is None else self.open(value, context=context)
