"""The network the plugin guards: its protected rooms, the moderators' rooms, and posting to them."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from bots.moderation.messages import CATALOG
from bots.moderation.settings import ModerationSettings
from bots.moderation.store import ModerationStore
from core.actions import ActionError, RoomActions
from core.plugin import message_content

if TYPE_CHECKING:
    from core.plugin import Plugin
    from core.runtime import Runtime

log = logging.getLogger(__name__)


class Network:
    """Which rooms are protected, where moderators read, and how the bot tells them."""

    def __init__(self, plugin: Plugin, store: ModerationStore) -> None:
        self.plugin = plugin
        self.runtime: Runtime = plugin.runtime
        self.store = store
        self._cache: dict[str, str] = {}

    @property
    def actions(self) -> RoomActions:
        return self.runtime.actions

    def defaults(self) -> ModerationSettings:
        """Network-wide settings: the config.yaml block (no room overrides)."""
        return self.runtime.settings.effective("", type(self.plugin))  # type: ignore[return-value]

    def settings(self, room_id: str) -> ModerationSettings:
        return self.runtime.settings.effective(room_id, type(self.plugin))  # type: ignore[return-value]

    async def load(self) -> None:
        for key in ("management_room", "modlog_room", "own_list"):
            value = await self.store.get(key)
            if value:
                self._cache[key] = value

    async def set_room(self, key: str, room_id: str) -> None:
        await self.store.put(key, room_id)
        self._cache[key] = room_id

    def management_room(self) -> str:
        return self._cache.get("management_room") or self.defaults().management_room

    def modlog_room(self) -> str:
        return (self._cache.get("modlog_room") or self.defaults().modlog_room
                or self.management_room())

    def own_list(self) -> str:
        return self._cache.get("own_list") or self.defaults().own_list

    def list_rooms(self, subscribed: set[str]) -> set[str]:
        own = self.own_list()
        return {*subscribed, *([own] if own else [])}

    def protected_rooms(self, exclude: set[str] | None = None) -> list[str]:
        """Rooms the bot has joined where moderation is on (or the configured list), no DMs."""
        joined = self.actions.joined_rooms()
        exclude = exclude or set()
        configured = self.defaults().protected_rooms
        if configured:
            return [room for room in configured if room in joined and room not in exclude]
        dms = getattr(self.runtime, "dms", None)
        return sorted(
            room for room in joined
            if room not in exclude
            and not (dms is not None and dms.is_dm(room))
            and self.runtime.settings.is_enabled(room, type(self.plugin))
        )

    def is_protected(self, room_id: str, exclude: set[str] | None = None) -> bool:
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
        content = message_content(self.text(room_id, key, **values), mentions)
        txn = "solmod" + hashlib.sha256(f"{room_id}/{seed}".encode()).hexdigest()[:32]
        try:
            return str(await self.actions.send_event(room_id, "m.room.message", content, txn))
        except ActionError as error:
            log.warning("moderation notice to %s failed (%s)", room_id, error.reason[:80])
            return None
