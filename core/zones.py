"""The time zone each member reads and types times in: one place for every plugin.

A member's zone says roughly where they live, so it is sealed at rest
(core/sealed.py). Times in commands (`!checkin 18:30`, `!event add tomorrow
9:00`) are read in it, through the `Moment` converter.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from core.sealed import Sealer
from core.storage import Database, Migration
from core.timeparse import zone_named

CONTEXT = "core.zone"

MIGRATIONS = [
    Migration(1, "member time zones (sealed)", """
        CREATE TABLE core_member_zones (user_id TEXT PRIMARY KEY, zone TEXT NOT NULL);
    """),
]


class MemberZones:
    """Member choice first, then the configured default; kept in memory once loaded."""

    def __init__(self, db: Database, sealer: Sealer, default: str = "UTC") -> None:
        self.db = db
        self.sealer = sealer
        self.default = zone_named(default) or ZoneInfo("UTC")
        self._cache: dict[str, ZoneInfo] = {}
        self._migrated = False

    async def _ensure_table(self) -> None:
        if not self._migrated:
            await self.db.migrate("core_zones", MIGRATIONS)
            self._migrated = True

    async def load(self) -> None:
        await self._ensure_table()
        for row in await self.db.fetchall("SELECT user_id, zone FROM core_member_zones"):
            zone = zone_named(self.sealer.open(row["zone"], context=CONTEXT))
            if zone is not None:
                self._cache[row["user_id"]] = zone

    def zone_of(self, user_id: str) -> ZoneInfo:
        return self._cache.get(user_id, self.default)

    def chosen(self, user_id: str) -> ZoneInfo | None:
        return self._cache.get(user_id)

    async def set(self, user_id: str, zone: ZoneInfo) -> None:
        await self._ensure_table()
        await self.db.execute(
            "INSERT INTO core_member_zones (user_id, zone) VALUES (?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET zone = excluded.zone",
            (user_id, self.sealer.seal(zone.key, context=CONTEXT)),
        )
        self._cache[user_id] = zone

    async def forget(self, user_id: str) -> None:
        await self._ensure_table()
        await self.db.execute("DELETE FROM core_member_zones WHERE user_id = ?", (user_id,))
        self._cache.pop(user_id, None)
