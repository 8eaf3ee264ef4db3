"""Room history as plugins read it (core/matrix/actions.py), over a fake nio client."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nio import EncryptionError, MegolmEvent, RoomMessagesResponse

from core.events import UnknownEvent
from core.matrix.actions import NioRoomActions

ROOM = "!room:x"


def encrypted(event_id: str, sender: str) -> MegolmEvent:
    return MegolmEvent.from_dict({
        "type": "m.room.encrypted", "event_id": event_id, "sender": sender,
        "origin_server_ts": 1_700_000_000_000,
        "content": {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AAAA",
                    "sender_key": "key", "session_id": "session", "device_id": "DEVICE"},
    })


class UnreadableClient:
    """A client that holds no room key: every encrypted event stays unreadable."""

    async def room_messages(self, room_id: str, **_: Any) -> RoomMessagesResponse:
        return RoomMessagesResponse(room_id, [encrypted("$spam", "@spammer:x")], "s", "e")

    def decrypt_event(self, event: MegolmEvent) -> Any:
        raise EncryptionError("no session")


async def test_history_keeps_messages_the_bot_cannot_read_so_they_can_be_removed() -> None:
    actions = NioRoomActions(SimpleNamespace(nio=UnreadableClient()))  # type: ignore[arg-type]
    [event] = await actions.recent_events(ROOM, 10)
    assert isinstance(event, UnknownEvent)
    assert (event.type, event.event_id, event.sender, event.encrypted) == (
        "m.room.encrypted", "$spam", "@spammer:x", True)
    assert event.timestamp_ms == 1_700_000_000_000
