"""Which language each member and each room reads, stored in the core tables."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from core.logsafe import log_exception, new_error_id
from core.storage import Database

log = logging.getLogger(__name__)

# Told (member, their previous choice or None, the new one) after a member's choice changed.
UserLanguageWatcher = Callable[[str, "str | None", str], Awaitable[None]]


class LanguagePreferences:
    """Member choice first, then the room's default, then the configured default."""

    def __init__(self, db: Database, default: str) -> None:
        self.db = db
        self.default = default
        self._cache: dict[tuple[str, str], str] = {}
        self._watchers: list[UserLanguageWatcher] = []

    async def load(self) -> None:
        for row in await self.db.fetchall("SELECT scope, id, language FROM core_languages"):
            self._cache[(row["scope"], row["id"])] = row["language"]

    def for_reader(self, user_id: str | None, room_id: str | None) -> str:
        if user_id and (chosen := self._cache.get(("user", user_id))):
            return chosen
        if room_id and (chosen := self._cache.get(("room", room_id))):
            return chosen
        return self.default

    def of_user(self, user_id: str) -> str | None:
        return self._cache.get(("user", user_id))

    def watch_users(self, watcher: UserLanguageWatcher) -> None:
        """Call `watcher` after a member's choice changes (e.g. to re-send what waits for them)."""
        self._watchers.append(watcher)

    async def set_user(self, user_id: str, language: str) -> None:
        previous = self.of_user(user_id)
        await self._set("user", user_id, language)
        if previous == language:
            return  # the same choice again (or a replayed command): nothing to re-send
        for watcher in self._watchers:
            try:
                await watcher(user_id, previous, language)
            except Exception as exc:  # the choice is saved; one plugin's failure stops no other
                log_exception(log, "language change watcher", exc, new_error_id())

    async def set_room(self, room_id: str, language: str) -> None:
        await self._set("room", room_id, language)

    async def forget_user(self, user_id: str) -> None:
        await self.db.execute(
            "DELETE FROM core_languages WHERE scope = 'user' AND id = ?", (user_id,)
        )
        self._cache.pop(("user", user_id), None)

    async def _set(self, scope: str, key: str, language: str) -> None:
        await self.db.execute(
            "INSERT INTO core_languages (scope, id, language) VALUES (?, ?, ?) "
            "ON CONFLICT(scope, id) DO UPDATE SET language = excluded.language",
            (scope, key, language),
        )
        self._cache[(scope, key)] = language
