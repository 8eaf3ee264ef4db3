"""Which members' devices the bot trusts: with its room keys, and for sensitive plugins.

``crypto.trust`` is one of

* ``cross_signed`` (default): a device is trusted if its owner's
  self-signing key signed it, and that key is signed by the owner's master
  key. Master keys are trusted on first use (pinned in
  ``crypto_identities``); when a member's master key changes, the change is
  reported (once, through ``on_identity_change``) and the new key is pinned:
  a member who reset their own identity keeps working, and the room's admins
  know it happened, as Element shows everyone an "identity changed" warning;
* ``verified``: for acting (sensitive plugins), as ``cross_signed`` and the
  owner's master key also carries the bot's user-signing signature, i.e. the
  member verified the bot (SAS). Room keys still go to every cross-signed
  device: Element verifies another user in their DM, with encrypted
  in-room messages, so a member the bot could not write to could never
  verify it;
* ``all``: every device (development only; Element's strict members will
  still refuse the bot if its own device is not cross-signed).

The facts come from ``/keys/query`` (cached per user until the homeserver
says the user's devices changed). Everything is checked here, signatures
included; the homeserver is not trusted to have checked anything.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.clock import Clock
from core.storage import Database, Migration

from .api import CrossSigningSession, MatrixApi
from .canonical import verify_json
from .cross_signing import parse_identity
from .errors import IdentityMismatchError

__all__ = ["MIGRATIONS", "TrustMode", "TrustPolicy", "UserKeys"]

log = logging.getLogger(__name__)

TrustMode = Literal["cross_signed", "verified", "all"]
IdentityChanged = Callable[[str, str, str], Awaitable[None]]

MIGRATIONS = [
    Migration(1, "members' master keys, trusted on first use", """
        CREATE TABLE crypto_identities (
            user_id TEXT PRIMARY KEY,
            master_key TEXT NOT NULL,
            first_seen REAL NOT NULL,
            changed_at REAL
        );
    """),
]

# /keys/query for many members at once, but not an unbounded request body.
_QUERY_BATCH = 200


@dataclass
class UserKeys:
    """One user's published keys, checked: devices self-signed, sub-keys master-signed."""

    master: str | None = None
    self_signing: str | None = None
    # device id -> device keys object whose self-signature was checked
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    verified_by_us: bool = False
    # device id -> its self-signing signature checked: every send asks, keys change rarely
    cross_signed: dict[str, bool] = field(default_factory=dict)


class TrustPolicy:
    """Answers "may the bot trust this device?" under ``crypto.trust``."""

    def __init__(
        self,
        *,
        mode: TrustMode,
        session: CrossSigningSession,
        db: Database,
        clock: Clock,
        user_signing_key: str | None,
    ) -> None:
        self.mode = mode
        self.session = session
        self.db = db
        self.clock = clock
        self.user_signing_key = user_signing_key
        self.on_identity_change: IdentityChanged | None = None
        self._cache: dict[str, UserKeys] = {}
        self.queries = 0
        if mode == "verified" and user_signing_key is None:
            log.warning("crypto.trust is 'verified' but the bot has no cross-signing identity; "
                        "no member can be verified, so no device is trusted")

    async def setup(self) -> None:
        await self.db.migrate("crypto_trust", MIGRATIONS)

    def invalidate(self, user_ids: Iterable[str]) -> None:
        """Forget what is known about these users (their devices or keys changed)."""
        for user_id in user_ids:
            self._cache.pop(user_id, None)

    async def refresh(self, user_ids: Iterable[str]) -> None:
        """Fetch and check the keys of the users not cached yet.

        Raises :class:`HomeserverError` if the homeserver cannot be asked.
        """
        if self.mode == "all":
            return
        missing = sorted({user for user in user_ids if user not in self._cache})
        for start in range(0, len(missing), _QUERY_BATCH):
            batch = missing[start:start + _QUERY_BATCH]
            # A failure raises HomeserverError: the caller must not share keys
            # on a guess (an attacker able to break this query would otherwise
            # get keys to a device it injected).
            async with MatrixApi(self.session) as api:
                response = await api.query_keys(batch)
            self.queries += 1
            for user_id in batch:
                keys = self._parse(response, user_id)
                await self._pin(user_id, keys)
                self._cache[user_id] = keys

    def _parse(self, response: Mapping[str, Any], user_id: str) -> UserKeys:
        keys = UserKeys()
        devices = (response.get("device_keys") or {}).get(user_id) or {}
        for device_id, device in devices.items():
            key_id = f"ed25519:{device_id}"
            ed25519 = (device.get("keys") or {}).get(key_id) if isinstance(device, dict) else None
            if (
                isinstance(ed25519, str)
                and device.get("user_id") == user_id
                and device.get("device_id") == device_id
                and verify_json(device, user_id, key_id, ed25519)
            ):
                keys.devices[device_id] = device
        try:
            identity = parse_identity(response, user_id)
        except IdentityMismatchError as exc:
            log.warning("ignoring the cross-signing keys of %s: %s", user_id, exc)
            identity = None
        if identity is not None:
            keys.master = identity.master
            keys.self_signing = identity.self_signing
            usk = self.user_signing_key
            keys.verified_by_us = bool(usk) and verify_json(
                identity.master_object, self.session.user_id, f"ed25519:{usk}", usk or ""
            )
        return keys

    async def _pin(self, user_id: str, keys: UserKeys) -> None:
        if keys.master is None or user_id == self.session.user_id:
            return
        row = await self.db.fetchone(
            "SELECT master_key FROM crypto_identities WHERE user_id = ?", (user_id,)
        )
        now = self.clock.now()
        if row is None:
            await self.db.execute(
                "INSERT OR IGNORE INTO crypto_identities (user_id, master_key, first_seen) "
                "VALUES (?, ?, ?)",
                (user_id, keys.master, now),
            )
            return
        old = str(row["master_key"])
        if old == keys.master:
            return
        changed = await self.db.execute(
            "UPDATE crypto_identities SET master_key = ?, changed_at = ? "
            "WHERE user_id = ? AND master_key = ?",
            (keys.master, now, user_id, old),
        )
        if changed and self.on_identity_change is not None:
            log.warning("the cross-signing identity of %s changed (%s -> %s)", user_id, old,
                        keys.master)
            await self.on_identity_change(user_id, old, keys.master)

    def may_receive_keys(self, user_id: str, device_id: str, ed25519: str | None = None) -> bool:
        """Should this device get the bot's room keys? (cross-signed, or mode ``all``)"""
        if self.mode == "all":
            return True
        return self._cross_signed(user_id, device_id, ed25519)

    def device_trusted(self, user_id: str, device_id: str, ed25519: str | None = None) -> bool:
        """From what :meth:`refresh` fetched: may the bot act for this device?

        ``ed25519``, when given, is the key the local crypto store holds for the
        device: a device whose published key differs is not trusted.
        """
        if self.mode == "all":
            return True
        if not self._cross_signed(user_id, device_id, ed25519):
            return False
        if self.mode == "verified" and user_id != self.session.user_id:
            keys = self._cache.get(user_id)
            return keys is not None and keys.verified_by_us
        return True

    def _cross_signed(self, user_id: str, device_id: str, ed25519: str | None) -> bool:
        keys = self._cache.get(user_id)
        if keys is None or keys.master is None or keys.self_signing is None:
            return False
        device = keys.devices.get(device_id)
        if device is None:
            return False
        if ed25519 is not None and (device.get("keys") or {}).get(f"ed25519:{device_id}") != ed25519:
            return False
        signed = keys.cross_signed.get(device_id)
        if signed is None:
            ssk = keys.self_signing
            signed = keys.cross_signed[device_id] = verify_json(
                device, user_id, f"ed25519:{ssk}", ssk
            )
        return signed

    async def allows(self, user_id: str, device_id: str | None) -> bool:
        """Refresh if needed, then :meth:`device_trusted` (False for an unknown device)."""
        if self.mode == "all":
            return True
        if device_id is None:
            return False
        await self.refresh([user_id])
        return self.device_trusted(user_id, device_id)
