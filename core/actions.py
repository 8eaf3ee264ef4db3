"""What plugins may do in rooms beyond replying: the RoomActions protocol.

Plugins depend on this protocol, never on nio; `core/matrix/actions.py`
implements it over the homeserver connection and tests may fake it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from core.events import RoomEvent


class ActionError(Exception):
    """The homeserver refused or failed an action.

    `forbidden` is True when the bot lacks the power (M_FORBIDDEN), so a
    plugin can tell the room's admins instead of retrying. `reason` is the
    homeserver's error code and message, never content the bot sent.
    """

    def __init__(self, action: str, reason: str, *, forbidden: bool = False,
                 not_found: bool = False, retry_after: float | None = None) -> None:
        super().__init__(f"{action} failed: {reason}")
        self.action = action
        self.reason = reason
        self.forbidden = forbidden
        self.not_found = not_found
        self.retry_after = retry_after


class RoomActions(Protocol):
    """Room and membership operations of the bot's account.

    Every method raises ActionError when the homeserver refuses; sends take a
    caller-chosen transaction id so that a retry after a crash is dropped by
    the homeserver instead of posting twice.
    """

    @property
    def user_id(self) -> str: ...

    def joined_rooms(self) -> list[str]: ...

    def room_name(self, room_id: str) -> str | None: ...

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str: ...

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str: ...

    async def edit(
        self, room_id: str, event_id: str, new_content: dict[str, Any], txn_id: str
    ) -> str:
        """Replace an earlier message of the bot's (m.replace); returns the edit's id."""
        ...

    async def redact(
        self, room_id: str, event_id: str, reason: str | None = None, txn_id: str | None = None
    ) -> None: ...

    async def get_state(
        self, room_id: str, event_type: str, state_key: str = ""
    ) -> dict[str, Any] | None:
        """The content of a state event from the homeserver, None when absent."""
        ...

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        """Every current state event of a room (type, state_key, sender, content)."""
        ...

    async def send_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> str: ...

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        """Give `user_id` this level in the room; None removes their entry (room default)."""
        ...

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None: ...

    async def ban(self, room_id: str, user_id: str, reason: str | None = None) -> None: ...

    async def unban(self, room_id: str, user_id: str) -> None: ...

    async def invite(self, room_id: str, user_id: str) -> None: ...

    async def join(self, room: str) -> str:
        """Join a room by id or alias; returns its id."""
        ...

    async def leave(self, room_id: str) -> None: ...

    async def create_room(
        self, *, name: str | None = None, topic: str | None = None,
        invite: Sequence[str] = (), direct: bool = False, encrypted: bool = True,
        preset: str = "private_chat",
    ) -> str: ...

    async def recent_events(self, room_id: str, limit: int) -> list[RoomEvent]:
        """The room's latest events, decrypted where the bot holds the keys, newest first."""
        ...

    async def get_event(self, room_id: str, event_id: str) -> RoomEvent | None:
        """One event, decrypted where possible; None when it is unknown or unreadable."""
        ...

    async def profile(self, user_id: str) -> dict[str, Any]:
        """A user's public profile (`displayname`, `avatar_url` when set).

        Raises ActionError with `not_found` when the homeserver knows no such
        user; other refusals (profiles shown only to users sharing a room, a
        remote server unreachable) say nothing about whether the user exists.
        """
        ...
