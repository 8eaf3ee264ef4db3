"""Sending: room events (encrypted where the room is) and to-device messages.

A send is idempotent by its transaction id, so a homeserver that is briefly
away (restarting, a 5xx, a dropped connection) is waited for, up to
SEND_PATIENCE_SECONDS, and asked again with the same id: a reply in flight
when Synapse restarts is neither lost nor sent twice. A refusal (forbidden,
unknown room) fails at once. What an encrypted room needs before a send (its
Megolm session shared with exactly the trusted devices) is core.matrix.keys'
job; it is handed in as `prepare_encryption`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from nio import LocalProtocolError, RoomSendResponse, ToDeviceError, ToDeviceMessage
from nio.exceptions import EncryptionError, SendRetryError

from core.actions import ActionError
from core.matrix.session import Session, reason

log = logging.getLogger(__name__)

# How long a send waits for a homeserver that is briefly away before it fails.
SEND_PATIENCE_SECONDS = 120.0


class _Transient(Exception):
    """The homeserver is away for now (connection refused, 5xx): worth the same send again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SendError(ActionError):
    """A message could not be sent; `reason` is the homeserver's answer (no content).

    An ActionError like every other refusal, so plugins catch one type with
    `.forbidden`, `.not_found` and `.retry_after` for sends and room actions alike.
    """

    def __init__(self, room_id: str, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__("send", reason, forbidden="M_FORBIDDEN" in reason,
                         not_found="not in this room" in reason, retry_after=retry_after)
        self.room_id = room_id


class Sender:
    """Sends for the bot's device; `prepare_encryption(room)` runs before each encrypted send."""

    def __init__(self, session: Session,
                 prepare_encryption: Callable[[str], Awaitable[None]]) -> None:
        self._session = session
        self._prepare_encryption = prepare_encryption

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        """Encrypt (in encrypted rooms) and send; the txn id makes retries idempotent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEND_PATIENCE_SECONDS
        delay = 0.5
        while True:
            try:
                return await self._send_once(room_id, event_type, content, txn_id)
            except _Transient as exc:
                if self._session.stopping.is_set() or loop.time() + delay > deadline:
                    raise SendError(room_id, exc.reason) from None
                log.info("send to %s waits for the homeserver (%s)", room_id, exc.reason)
                await self._session.wait(delay)
                delay = min(delay * 2, 10.0)

    async def _send_once(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        client = self._session.nio
        room = client.rooms.get(room_id)
        if room is None:
            raise SendError(room_id, "the bot is not in this room")
        try:
            if room.encrypted:
                await self._prepare_encryption(room_id)
            response = await client.room_send(
                room_id, event_type, content, tx_id=txn_id, ignore_unverified_devices=True
            )
        except (SendRetryError, LocalProtocolError, EncryptionError) as exc:
            raise SendError(room_id, type(exc).__name__) from exc
        except (OSError, aiohttp.ClientError, TimeoutError) as exc:
            raise _Transient(type(exc).__name__) from exc
        if not isinstance(response, RoomSendResponse):
            transport = getattr(response, "transport_response", None)
            status = getattr(transport, "status", None)
            code = getattr(response, "status_code", None)
            if (isinstance(status, int) and status >= 500) or code in (None, "M_UNKNOWN"):
                raise _Transient(reason(response))
            raise SendError(room_id, reason(response))
        return str(response.event_id)

    async def send_to_device(
        self, event_type: str, user_id: str, device_id: str, content: dict[str, Any]
    ) -> None:
        """One unencrypted to-device message (verification messages travel that way)."""
        response = await self._session.nio.to_device(
            ToDeviceMessage(event_type, user_id, device_id, content)
        )
        if isinstance(response, ToDeviceError):
            raise SendError(user_id, reason(response))
