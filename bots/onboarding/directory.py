"""The room directory: the network's rooms from a space's children and config, as matrix.to links.

What the bot knows about a room it is in (its name) is shown only for rooms
the network made public to its members: the children of the directory space
(a network setting) and the network's rooms. A room id a room admin typed
into `directory_rooms` is otherwise listed as typed, never named from the
bot's knowledge (a private room's or a DM's name would say who meets where),
and the rooms holding network roles (organizers, moderators, curators) are
never listed at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from core.actions import ActionError, RoomActions
from core.network import Network

log = logging.getLogger(__name__)

SPACE_CHILD = "m.space.child"


@dataclass(frozen=True)
class ListedRoom:
    """A room `!rooms` shows: its id or alias, a name to show, and a matrix.to link."""

    address: str
    name: str
    link: str


def matrix_to(address: str, via: Iterable[str] = ()) -> str:
    link = "https://matrix.to/#/" + quote(address, safe="!#:@.")
    servers = [server for server in via if server]
    if address.startswith("!") and not servers and ":" in address:
        servers = [address.split(":", 1)[1]]
    if servers and address.startswith("!"):
        link += "?" + "&".join("via=" + quote(server, safe=".:") for server in servers[:3])
    return link


def space_children(state: list[dict[str, object]]) -> list[tuple[str, list[str]]]:
    """Child room ids of a space with their `via` servers; removed children (no via) skipped."""
    children = []
    for event in state:
        if event.get("type") != SPACE_CHILD:
            continue
        room_id = event.get("state_key")
        content = event.get("content")
        via = content.get("via") if isinstance(content, dict) else None
        if isinstance(room_id, str) and room_id and isinstance(via, list) and via:
            children.append((room_id, [str(server) for server in via if isinstance(server, str)]))
    return sorted(children)


class Directory:
    """Builds the list of rooms a member may join, from space children and configured rooms."""

    def __init__(self, actions: RoomActions, network: Network) -> None:
        self.actions = actions
        self.network = network

    async def rooms(self, spaces: Iterable[str], extra: Iterable[str]) -> list[ListedRoom]:
        hidden = self.network.role_rooms()
        found: dict[str, list[str]] = {}
        named: set[str] = set()
        for space in dict.fromkeys(spaces):
            try:
                state = await self.actions.room_state(space)
            except ActionError:
                # The bot may have left the space; the configured rooms still show.
                log.info("space %s is not readable; listing configured rooms only", space)
                continue
            for room_id, via in space_children(state):
                found.setdefault(room_id, via)
                named.add(room_id)
        for address in extra:
            found.setdefault(address, [])
            if self.network.contains(address):
                named.add(address)
        listed = [ListedRoom(address, await self._name(address) if address in named else address,
                             matrix_to(address, via))
                  for address, via in found.items() if address not in hidden]
        return sorted(listed, key=lambda room: room.name.casefold())

    async def _name(self, address: str) -> str:
        if not address.startswith("!"):
            return address
        name = self.actions.room_name(address)
        if name:
            return name
        try:
            content = await self.actions.get_state(address, "m.room.name")
        except ActionError:
            return address  # the bot is not in that room; its id is still a working link
        value = content.get("name") if content else None
        return value if isinstance(value, str) and value.strip() else address
