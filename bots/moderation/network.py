"""The network the plugin guards: its protected rooms, the moderators' rooms, and posting to them.

Which rooms are the network and which room is the network moderators' room
come from core (`runtime.network`, core/network.py): config, the network's
space, and what organizers stored. Nothing a room admin does in their own
room makes it part of the network or its moderators' room.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bots.moderation.messages import CATALOG
from bots.moderation.settings import ModerationSettings
from bots.moderation.store import ModerationStore
from core.actions import ActionError, RoomActions
from core.network import NetworkRole
from core.room_settings import NETWORK

if TYPE_CHECKING:
    from core.plugin import Plugin
    from core.runtime import Runtime

log = logging.getLogger(__name__)

# Set once the rooms stored under the old rules (any room admin) were dropped.
AUTHORITY_MARK = "network_authority_v1"


class Network:
    """Which rooms are protected, where moderators read, and how the bot tells them."""

    def __init__(self, plugin: Plugin[ModerationSettings], store: ModerationStore) -> None:
        self.plugin = plugin
        self.runtime: Runtime = plugin.runtime
        self.store = store
        self._cache: dict[str, str] = {}

    @property
    def actions(self) -> RoomActions:
        return self.runtime.actions

    def defaults(self) -> ModerationSettings:
        """Network-wide settings: the config.yaml block (no room overrides)."""
        return self.plugin.settings_for(NETWORK)

    async def load(self) -> None:
        await self._drop_untrusted_rooms()
        for key in ("modlog_room", "own_list"):
            value = await self.store.get(key)
            if value:
                self._cache[key] = value

    async def _drop_untrusted_rooms(self) -> None:
        """Forget the rooms stored before only the network's people could set them, once.

        Any room admin could `!modroom` (reports and the mod log) and any room
        moderator `!policy publish` (our list): such a stored choice cannot be
        trusted, so organizers set them again (`!modroom`, `!policy publish`).
        """
        if await self.store.get(AUTHORITY_MARK):
            return
        for key in ("management_room", "modlog_room", "own_list"):
            if await self.store.get(key):
                log.warning("moderation: dropped the %s stored before network authority; "
                            "an organizer sets it again", key)
                await self.store.put(key, "")
        await self.store.put(AUTHORITY_MARK, "1")

    async def set_room(self, key: str, room_id: str) -> None:
        """Store the mod-log room or our list. Callers check network authority."""
        await self.store.put(key, room_id)
        self._cache[key] = room_id

    def management_room(self) -> str:
        """The network moderators' room (core): reports, raids, failures."""
        return self.runtime.network.role_room(NetworkRole.MODERATOR) or ""

    def modlog_room(self) -> str:
        return (self._cache.get("modlog_room") or self.defaults().modlog_room
                or self.management_room())

    def management_room_for(self, room_id: str) -> str:
        """Where news of `room_id` goes: the moderators' room for a network room, else nowhere."""
        return self.management_room() if self.in_network(room_id) else ""

    def modlog_room_for(self, room_id: str) -> str:
        """The mod-log room for a network room's entries; a room outside keeps its own log."""
        return self.modlog_room() if self.in_network(room_id) else ""

    def own_list(self) -> str:
        return self._cache.get("own_list") or self.defaults().own_list

    def list_rooms(self, subscribed: set[str]) -> set[str]:
        own = self.own_list()
        return {*subscribed, *([own] if own else [])}

    def in_network(self, room_id: str) -> bool:
        return self.runtime.network.contains(room_id)

    def protected_rooms(self, exclude: set[str] | None = None) -> list[str]:
        """Network rooms the bot has joined where moderation is on, no DMs.

        The `protected_rooms` setting, when set, narrows them further; a room
        outside the network is never protected from here, whatever its admin
        turned on.
        """
        joined = set(self.actions.joined_rooms())
        exclude = exclude or set()
        configured = set(self.defaults().protected_rooms)
        dms = self.runtime.dms
        return sorted(
            room for room in self.runtime.network.rooms()
            if room in joined
            and room not in exclude
            and (not configured or room in configured)
            and not dms.is_dm(room)
            and self.runtime.settings.is_enabled(room, type(self.plugin))
        )

    def is_protected(self, room_id: str, exclude: set[str] | None = None) -> bool:
        """Do a room's own protections run (the room turned moderation on)?"""
        configured = self.defaults().protected_rooms
        if configured:
            return room_id in configured
        return room_id not in (exclude or set())

    def language(self, room_id: str) -> str:
        return self.runtime.languages.for_reader(None, room_id)

    def text(self, room_id: str, key: str, **values: Any) -> str:
        return CATALOG.text(key, self.language(room_id), **values)

    def room_label(self, room_id: str) -> str:
        return self.actions.room_name(room_id) or room_id

    async def post(self, room_id: str, key: str, *, seed: str, mentions: tuple[str, ...] = (),
                   **values: Any) -> str | None:
        """Post a notice to a moderators' room, only when it is encrypted; None when not posted.

        `seed` makes the transaction id, so a replay after a crash posts once.
        """
        if not room_id or not self.runtime.rooms.is_encrypted(room_id):
            return None
        try:
            return await self.plugin.say(room_id, key, once=f"{room_id}/{seed}",
                                         mentions=mentions, **values)
        except ActionError as error:
            log.warning("moderation notice to %s failed (%s)", room_id, error.reason[:80])
            return None
