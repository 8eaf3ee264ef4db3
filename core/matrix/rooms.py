"""Room facts as the bot sees them: power levels, members, encryption, its display name.

Plugins decide who may do what from these facts (core.events.RoomView), so
they come only from real room state: nio's room model (fed through the
GuardedClient, which drops decrypted payloads shaped as state), plus what
nio 0.26 does not know, the creators of version 12 rooms (MSC4289), who hold
unlimited power without being listed in m.room.power_levels. Every real
state event is also handed to a StateListener (the network's rooms and
spaces are learnt from it).
"""

from __future__ import annotations

from typing import Any, Protocol

from core.matrix.client import ForgedState
from core.matrix.session import Session

# Room versions where the creators hold unlimited power and are not listed in
# m.room.power_levels (MSC4289); nio 0.26 predates them.
CREATOR_POWER_VERSIONS = frozenset({"12", "org.matrix.hydra.11"})
CREATOR_LEVEL = 2**53 - 1


class StateListener(Protocol):
    def note_state(self, room_id: str, source: dict[str, Any]) -> None:
        """Told (room, event source) of every real (unencrypted) state event of a joined room."""


class RoomFacts:
    """What the bot knows of its rooms; `note_state` learns from each sync's state."""

    def __init__(self, session: Session, listener: StateListener) -> None:
        self._session = session
        self.listener = listener
        self._creators: dict[str, frozenset[str]] = {}

    def is_encrypted(self, room_id: str) -> bool:
        room = self._session.nio.rooms.get(room_id)
        return bool(room and room.encrypted)

    def power_level(self, room_id: str, user_id: str) -> int:
        if user_id in self._creators.get(room_id, ()):
            return CREATOR_LEVEL
        room = self._session.nio.rooms.get(room_id)
        if room is None:
            return 0
        return int(room.power_levels.get_user_level(user_id))

    def display_name(self, room_id: str) -> str | None:
        """The bot's display name in a room (Element writes it into mention bodies)."""
        room = self._session.nio.rooms.get(room_id)
        user = room.users.get(self._session.user_id) if room else None
        name = getattr(user, "display_name", None) if user else None
        return name if isinstance(name, str) and name else None

    def members(self, room_id: str) -> list[str]:
        room = self._session.nio.rooms.get(room_id)
        return sorted(room.users) if room else []

    def note_state(self, room_id: str, events: list[Any]) -> None:
        """Learn from real state events: the room's creators, and what the listener hears.

        Decrypted events never count (core.matrix.client already replaced any
        that claimed to be state); neither does anything without a state_key.
        """
        for event in events:
            source = getattr(event, "source", None)
            if (getattr(event, "decrypted", False) or isinstance(event, ForgedState)
                    or not isinstance(source, dict)
                    or not isinstance(source.get("state_key"), str)):
                continue
            if source.get("type") == "m.room.create":
                self._note_creators(room_id, source)
            self.listener.note_state(room_id, source)

    def _note_creators(self, room_id: str, source: dict[str, Any]) -> None:
        content = source.get("content")
        sender = source.get("sender")
        if not isinstance(content, dict) or not isinstance(sender, str):
            return
        if str(content.get("room_version")) in CREATOR_POWER_VERSIONS:
            extra = content.get("additional_creators")
            extra = extra if isinstance(extra, list) else []
            self._creators[room_id] = frozenset(
                [sender] + [u for u in extra if isinstance(u, str)]
            )
