"""Who may do what, and where: the one place plugins ask.

Three scopes. A member acts for themselves. A room's moderators and admins
(from that room's real power levels) act on that room only. The network's
organizers, moderators and curators (core.network: named in config, or
members of the role's room at `network.role_level`) act on the network.
Room roles never grant network power; an organizer holds every network role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.config import Config
from core.network import Network, NetworkRole
from core.roles import Role, role_for_level

if TYPE_CHECKING:
    from core.plugin import RoomView


class Authority:
    def __init__(self, config: Config, rooms: RoomView, network: Network) -> None:
        self.config = config
        self.rooms = rooms
        self.network = network

    def room_role(self, room_id: str, user_id: str) -> Role:
        """The sender's role in one room, from its power levels (acts on that room only)."""
        return role_for_level(self.rooms.power_level(room_id, user_id), self.config.bot.roles)

    def holds(self, user_id: str, role: NetworkRole) -> bool:
        """True when `user_id` holds the network role `role` (organizers hold all)."""
        if self._holds_exactly(user_id, NetworkRole.ORGANIZER):
            return True
        return role is not NetworkRole.ORGANIZER and self._holds_exactly(user_id, role)

    def network_roles(self, user_id: str) -> frozenset[NetworkRole]:
        return frozenset(role for role in NetworkRole if self.holds(user_id, role))

    def is_organizer(self, user_id: str) -> bool:
        return self.holds(user_id, NetworkRole.ORGANIZER)

    def may(self, user_id: str, *, room_id: str | None = None, room_role: Role = Role.MEMBER,
            network_role: NetworkRole | None = None) -> bool:
        """May `user_id` act: in `room_id` with at least `room_role`, or network-wide.

        With `network_role`, only that network role (or organizer) grants it,
        whatever the sender's power in the room where they typed.
        """
        if network_role is not None:
            return self.holds(user_id, network_role)
        if room_id is None:
            return room_role is Role.MEMBER
        return self.room_role(room_id, user_id) >= room_role

    def _holds_exactly(self, user_id: str, role: NetworkRole) -> bool:
        if user_id in self.network.named(role):
            return True
        room = self.network.role_room(role)
        if room is None or user_id not in self.rooms.members(room):
            return False
        return self.rooms.power_level(room, user_id) >= self.config.network.role_level
