"""RoomActions over the nio connection: state, membership, redactions, edits, history.

Every homeserver refusal becomes an ActionError carrying the error code, so
plugins can tell "the bot lacks power" from "try again later" without
knowing nio.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from nio import (
    ErrorResponse,
    JoinResponse,
    MegolmEvent,
    MessageDirection,
    ProfileGetResponse,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomPutStateResponse,
    RoomVisibility,
)
from nio.exceptions import EncryptionError

from core.actions import ActionError
from core.events import RoomEvent, UnknownEvent, from_matrix
from core.matrix.connection import MatrixConnection

log = logging.getLogger(__name__)

MEGOLM = "m.megolm.v1.aes-sha2"


class NioRoomActions:
    """The bot account's room operations (implements core.actions.RoomActions)."""

    def __init__(self, connection: MatrixConnection) -> None:
        self.connection = connection
        # Power levels are one state event: two concurrent read-modify-writes
        # in a room would each drop the other's change.
        self._power_locks: dict[str, asyncio.Lock] = {}

    @property
    def user_id(self) -> str:
        return self.connection.user_id

    def joined_rooms(self) -> list[str]:
        client = self.connection.nio
        return sorted(
            room_id for room_id, room in client.rooms.items()
            if self.user_id in room.users and self.user_id not in room.invited_users
        )

    def room_name(self, room_id: str) -> str | None:
        room = self.connection.nio.rooms.get(room_id)
        if room is None:
            return None
        name = room.name or room.canonical_alias
        return str(name) if name else None

    # -- sending ------------------------------------------------------------

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        # SendError is an ActionError (forbidden, not found, retry after) already.
        return await self.connection.send_event(room_id, event_type, content, txn_id)

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self.send_event(room_id, "m.reaction", content, txn_id)

    async def edit(
        self, room_id: str, event_id: str, new_content: dict[str, Any], txn_id: str
    ) -> str:
        content = dict(new_content)
        # Clients without edit support show the fallback body, marked as edited.
        content["body"] = "* " + str(new_content.get("body", ""))
        if "formatted_body" in new_content:
            content["formatted_body"] = "* " + str(new_content["formatted_body"])
        content.pop("m.relates_to", None)
        content["m.new_content"] = {k: v for k, v in new_content.items() if k != "m.relates_to"}
        content["m.relates_to"] = {"rel_type": "m.replace", "event_id": event_id}
        return await self.send_event(room_id, "m.room.message", content, txn_id)

    async def redact(
        self, room_id: str, event_id: str, reason: str | None = None, txn_id: str | None = None
    ) -> None:
        response = await self.connection.nio.room_redact(room_id, event_id, reason, tx_id=txn_id)
        _check("redact", response)

    # -- state --------------------------------------------------------------

    async def get_state(
        self, room_id: str, event_type: str, state_key: str = ""
    ) -> dict[str, Any] | None:
        response = await self.connection.nio.room_get_state_event(room_id, event_type, state_key)
        if isinstance(response, RoomGetStateEventResponse):
            return dict(response.content)
        if isinstance(response, ErrorResponse) and response.status_code == "M_NOT_FOUND":
            return None
        _check("get_state", response)
        return None

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        response = await self.connection.nio.room_get_state(room_id)
        if isinstance(response, RoomGetStateResponse):
            return [dict(event) for event in response.events]
        _check("room_state", response)
        return []

    async def send_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> str:
        response = await self.connection.nio.room_put_state(
            room_id, event_type, content, state_key=state_key
        )
        if isinstance(response, RoomPutStateResponse):
            return str(response.event_id)
        _check("send_state", response)
        return ""

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        # Read from the homeserver, not nio's cache: a stale copy written back
        # would undo changes made meanwhile by the room's admins.
        async with self._power_locks.setdefault(room_id, asyncio.Lock()):
            current = await self.get_state(room_id, "m.room.power_levels") or {}
            users = dict(current.get("users") or {})
            if level is None:
                if users.pop(user_id, None) is None:
                    return
            else:
                if users.get(user_id) == level:
                    return
                users[user_id] = level
            await self.send_state(room_id, "m.room.power_levels", {**current, "users": users})

    # -- membership ---------------------------------------------------------

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        _check("kick", await self.connection.nio.room_kick(room_id, user_id, reason))

    async def ban(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        _check("ban", await self.connection.nio.room_ban(room_id, user_id, reason))

    async def unban(self, room_id: str, user_id: str) -> None:
        _check("unban", await self.connection.nio.room_unban(room_id, user_id))

    async def invite(self, room_id: str, user_id: str) -> None:
        _check("invite", await self.connection.nio.room_invite(room_id, user_id))

    async def join(self, room: str) -> str:
        response = await self.connection.nio.join(room)
        if isinstance(response, JoinResponse):
            return str(response.room_id)
        _check("join", response)
        return ""

    async def leave(self, room_id: str) -> None:
        _check("leave", await self.connection.nio.room_leave(room_id))

    async def create_room(
        self, *, name: str | None = None, topic: str | None = None,
        invite: Sequence[str] = (), direct: bool = False, encrypted: bool = True,
        preset: str = "private_chat",
    ) -> str:
        initial_state: list[dict[str, Any]] = []
        if encrypted:
            initial_state.append(
                {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
            )
        response = await self.connection.nio.room_create(
            visibility=RoomVisibility.private,
            name=name,
            topic=topic,
            is_direct=direct,
            preset=RoomPreset(preset),
            invite=list(invite),
            initial_state=initial_state,
        )
        if isinstance(response, RoomCreateResponse):
            return str(response.room_id)
        _check("create_room", response)
        return ""

    # -- history ------------------------------------------------------------

    async def recent_events(self, room_id: str, limit: int) -> list[RoomEvent]:
        client = self.connection.nio
        response = await client.room_messages(
            room_id, start=None, direction=MessageDirection.back, limit=min(max(limit, 1), 1000)
        )
        if not isinstance(response, RoomMessagesResponse):
            _check("recent_events", response)
            return []
        events = []
        for event in response.chunk:
            # Kept even when unreadable: `!redact @spammer N` must reach what it cannot read.
            converted = self._typed(event, room_id, keep_undecryptable=True)
            if converted is not None:
                events.append(converted)
        return events

    async def get_event(self, room_id: str, event_id: str) -> RoomEvent | None:
        response = await self.connection.nio.room_get_event(room_id, event_id)
        if not isinstance(response, RoomGetEventResponse):
            if isinstance(response, ErrorResponse) and response.status_code == "M_NOT_FOUND":
                return None
            _check("get_event", response)
            return None
        return self._typed(response.event, room_id)

    async def profile(self, user_id: str) -> dict[str, Any]:
        response = await self.connection.nio.get_profile(user_id)
        if not isinstance(response, ProfileGetResponse):
            # Synapse answers an unknown local user 404 with M_NOT_FOUND, or (some
            # versions) M_UNKNOWN "No row found": the HTTP status is what they share.
            transport = getattr(response, "transport_response", None)
            if isinstance(response, ErrorResponse) and getattr(transport, "status", None) == 404:
                raise ActionError("profile", f"{response.status_code}: {response.message}",
                                  not_found=True)
            _check("profile", response)
            return {}
        found: dict[str, Any] = dict(response.other_info)
        if response.displayname is not None:
            found["displayname"] = response.displayname
        if response.avatar_url is not None:
            found["avatar_url"] = response.avatar_url
        return found

    def _typed(self, event: Any, room_id: str, *,
               keep_undecryptable: bool = False) -> RoomEvent | None:
        if isinstance(event, MegolmEvent):
            try:
                event = self.connection.nio.decrypt_event(event)
            except EncryptionError:
                if not keep_undecryptable:
                    return None
                return UnknownEvent(room_id=room_id, event_id=event.event_id,
                                    sender=event.sender, timestamp_ms=event.server_timestamp,
                                    encrypted=True, type="m.room.encrypted")
        # A decrypted event's source is its plaintext (type, content, sender).
        source = getattr(event, "source", None)
        if not isinstance(source, dict) or "event_id" not in source:
            return None
        return from_matrix(source, room_id, encrypted=bool(getattr(event, "decrypted", False)))

def _check(action: str, response: object) -> None:
    if isinstance(response, ErrorResponse):
        code = response.status_code or "error"
        retry_ms = getattr(response, "retry_after_ms", None)
        raise ActionError(
            action,
            f"{code}: {response.message}",
            forbidden=code == "M_FORBIDDEN",
            not_found=code == "M_NOT_FOUND",
            retry_after=retry_ms / 1000 if isinstance(retry_ms, int) else None,
        )
