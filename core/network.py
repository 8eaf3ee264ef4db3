"""The network: which rooms belong to it, and which rooms hold its roles.

A room is in the network when the operator lists it in config
(`network.rooms`) or when it is a child of the network's Matrix space
(`network.space`), read from the space's real `m.space.child` state, so
organizers add a room in Element by adding it to the space. Being invited
somewhere does not make a room part of the network.

Network roles (organizers, moderators, curators) are held by the people named
in config and by the members of each role's room at `network.role_level` or
more; an organizer may point a role at another room (`set_role_room`), which
is stored and wins over config.
"""

from __future__ import annotations

import enum
from typing import Any

from core.config import Config
from core.storage import Database


class NetworkRole(enum.StrEnum):
    """Roles that act on the whole network; an organizer holds every one."""

    ORGANIZER = "organizer"
    MODERATOR = "moderator"
    CURATOR = "curator"


SPACE_CHILD = "m.space.child"


class Network:
    """The network's rooms and role rooms, from config, the space's state and organizers."""

    def __init__(self, config: Config, db: Database) -> None:
        self.organizers = frozenset(config.bot.roles.organizers)
        self.config = config.network
        self.db = db
        self._children: set[str] = set()
        self._role_rooms: dict[NetworkRole, str] = {}

    async def load(self) -> None:
        for role in NetworkRole:
            row = await self.db.fetchone(
                "SELECT value FROM core_state WHERE key = ?", (_role_key(role),)
            )
            if row and row["value"]:
                self._role_rooms[role] = str(row["value"])

    # -- rooms ---------------------------------------------------------------

    def rooms(self) -> frozenset[str]:
        """Every room of the network (the bot may not have joined all of them)."""
        return frozenset({*self.config.rooms, *self._children})

    def contains(self, room_id: str) -> bool:
        return room_id in self.config.rooms or room_id in self._children

    @property
    def space(self) -> str | None:
        return self.config.space

    def note_state(self, room_id: str, source: dict[str, Any]) -> None:
        """A real (unencrypted, homeserver-authorised) state event of a room the bot is in.

        Only the configured space's `m.space.child` events count; an empty or
        `via`-less content removes the child, as the spec says.
        """
        if room_id != self.config.space or source.get("type") != SPACE_CHILD:
            return
        child = source.get("state_key")
        if not isinstance(child, str) or not child.startswith("!"):
            return
        content = source.get("content")
        via = content.get("via") if isinstance(content, dict) else None
        if isinstance(via, list) and via:
            self._children.add(child)
        else:
            self._children.discard(child)

    # -- role rooms ------------------------------------------------------------

    def role_room(self, role: NetworkRole) -> str | None:
        """The room whose members at `role_level` hold `role` (stored choice, then config)."""
        stored = self._role_rooms.get(role)
        if stored:
            return stored
        configured = {
            NetworkRole.ORGANIZER: self.config.organizers_room,
            NetworkRole.MODERATOR: self.config.moderators_room,
            NetworkRole.CURATOR: self.config.curators_room,
        }[role]
        return configured or None

    def is_role_room(self, room_id: str) -> bool:
        """Is this one of the role rooms? (Asked per event: no set is built.)"""
        return any(self.role_room(role) == room_id for role in NetworkRole)

    def role_rooms(self) -> frozenset[str]:
        """Rooms that hold a network role: private to the network's people."""
        return frozenset(room for role in NetworkRole if (room := self.role_room(role)))

    async def set_role_room(self, role: NetworkRole, room_id: str | None) -> None:
        """Point a role at a room (None: back to config). Callers check organizer authority."""
        if room_id:
            self._role_rooms[role] = room_id
            await self.db.execute(
                "INSERT INTO core_state (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (_role_key(role), room_id),
            )
        else:
            self._role_rooms.pop(role, None)
            await self.db.execute("DELETE FROM core_state WHERE key = ?", (_role_key(role),))

    def named(self, role: NetworkRole) -> frozenset[str]:
        """People config names for a role."""
        if role is NetworkRole.ORGANIZER:
            return self.organizers
        if role is NetworkRole.MODERATOR:
            return frozenset(self.config.moderators)
        return frozenset(self.config.curators)


def _role_key(role: NetworkRole) -> str:
    return f"network_role_room:{role.value}"
