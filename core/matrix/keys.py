"""Encryption and key sharing: who gets the bot's room keys, and the device's key upkeep.

Before each encrypted send the room's members and devices are made known,
the trust policy (core.crypto.trust) decides which devices nio may share
the Megolm session with (nio shares with every device not blacklisted, so
the policy sets the blacklist), missing Olm sessions are claimed once per
device across concurrent sends, and each excluded device is told why it gets
no key (m.room_key.withheld). Between syncs, key upload/query/claim and
queued to-device messages run as maintenance beside the next sync.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from nio import LocalProtocolError, SyncResponse, ToDeviceError, ToDeviceMessage

from core.crypto import IdentityError
from core.crypto.trust import TrustPolicy
from core.matrix.sending import SendError
from core.matrix.session import Session, reason

log = logging.getLogger(__name__)


class KeySharing:
    """The device's room keys; `trust` None shares with every device (nio's default)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        # crypto.trust: who gets the bot's room keys; set by connect_services.
        self.trust: TrustPolicy | None = None
        self._share_locks: dict[str, asyncio.Lock] = {}
        self._claim_lock = asyncio.Lock()
        self._maintenance: asyncio.Task[None] | None = None

    async def prepare_encryption(self, room_id: str) -> None:
        """Share the room's Megolm session (if it needs one) with exactly the trusted devices."""
        # Concurrent replies to one room must not each start sharing a new
        # Megolm session; one task shares it, the others wait for it.
        client = self._session.nio
        lock = self._share_locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            room = client.rooms[room_id]
            if not room.members_synced:
                await client.joined_members(room_id)
            if client.should_query_keys:
                await client.keys_query()
            if self.trust is not None:
                await self._apply_trust(room_id, self.trust)
            if client.olm is not None and client.olm.should_share_group_session(room_id):
                await self._claim_missing_sessions(room_id)
                await client.share_group_session(room_id, ignore_unverified_devices=True)
                if self.trust is not None:
                    await self._send_withheld(room_id)

    async def _claim_missing_sessions(self, room_id: str) -> None:
        # A fan-out to 50 rooms shares 50 Megolm sessions at once, mostly with
        # the same members' devices: claimed room by room in parallel, each
        # device's one-time keys were claimed up to 50 times (and exhausted).
        # One claim at a time, for what is still missing, claims each once.
        client = self._session.nio
        async with self._claim_lock:
            missing = client.get_missing_sessions(room_id)
            if missing:
                await client.keys_claim(missing)

    async def _send_withheld(self, room_id: str) -> None:
        # Tell each excluded device why it gets no key (m.room_key.withheld,
        # m.unverified), so its client can say so instead of a bare "unable
        # to decrypt". Best effort: the message itself is already safe.
        client = self._session.nio
        assert client.olm is not None
        session = client.olm.outbound_group_sessions.get(room_id)
        if session is None:
            return
        content = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "room_id": room_id,
            "session_id": session.id,
            "sender_key": client.olm.account.identity_keys["curve25519"],
            "code": "m.unverified",
            "reason": "this bot only shares keys with sessions verified by their owner",
        }
        for user_id in list(client.rooms[room_id].users):
            for device in client.device_store.active_user_devices(user_id):
                if device.blacklisted:
                    try:
                        response = await client.to_device(ToDeviceMessage(
                            "m.room_key.withheld", user_id, device.id, dict(content)
                        ))
                    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                        log.warning("could not tell a device its key is withheld: %s",
                                    type(exc).__name__)
                        return
                    if isinstance(response, ToDeviceError):
                        log.warning("could not tell a device its key is withheld: %s",
                                    reason(response))

    async def _apply_trust(self, room_id: str, trust: TrustPolicy) -> None:
        # nio shares room keys with every device not blacklisted; the trust
        # policy decides the blacklist. A device whose trust changes makes nio
        # drop the room's outbound session, so the next send shares a new one
        # with exactly the trusted devices.
        client = self._session.nio
        users = list(client.rooms[room_id].users)
        try:
            await trust.refresh(users)
        except IdentityError as exc:
            # Sharing on a guess could hand keys to a device injected by whoever
            # broke the query; the send fails and its caller retries.
            raise SendError(room_id, f"members' keys could not be checked: {exc}") from None
        for user_id in users:
            for device in client.device_store.active_user_devices(user_id):
                if user_id == self._session.user_id and device.id == client.device_id:
                    continue
                trusted = trust.may_receive_keys(user_id, device.id, device.ed25519)
                if trusted and device.blacklisted:
                    client.unblacklist_device(device)
                elif not trusted and not device.blacklisted:
                    client.blacklist_device(device)

    def note_device_changes(self, response: SyncResponse) -> None:
        """Members whose devices changed are checked again before the next share."""
        if self.trust is not None:
            self.trust.invalidate(response.device_list.changed)

    # -- maintenance ------------------------------------------------------

    def start_maintenance(self) -> None:
        # Key upload/query/claim and queued to-device messages run beside the
        # next sync, not in front of it.
        if self._maintenance is not None and not self._maintenance.done():
            return
        self._maintenance = asyncio.create_task(self._maintain(), name="crypto-maintenance")

    async def _maintain(self) -> None:
        client = self._session.nio
        try:
            await client.send_to_device_messages()
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
        except (TimeoutError, aiohttp.ClientError, OSError, LocalProtocolError) as exc:
            log.warning("key maintenance failed (%s); retried after the next sync",
                        type(exc).__name__)

    async def finish_maintenance(self) -> None:
        if self._maintenance is not None:
            await asyncio.gather(self._maintenance, return_exceptions=True)
