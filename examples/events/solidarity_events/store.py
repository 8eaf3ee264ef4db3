"""The events plugin's tables and every SQL statement on them: events and who said they come.

Who comes to which meeting, and what the meeting is (a title may name a place),
would expose people if the server's disk were seized: titles and members are
sealed (core.sealed), and a member is found by a keyed look-up hash, never by
their id in clear. Events are forgotten a day after they start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.sealed import Sealer
from core.storage import Database, Migration

OWNER = "events"
TITLE = "events.title"
MEMBER = "events.member"

MIGRATIONS = [
    Migration(1, "events (titles sealed) and RSVPs (members sealed, found by look-up hash)", """
        CREATE TABLE events_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            room_id TEXT NOT NULL,
            -- Shown to members (`!event cancel 3`): counted per room, so a room
            -- learns nothing of how many events other rooms have.
            number INTEGER NOT NULL,
            -- The command that made it: handling the same command again after
            -- a crash finds this row instead of announcing a second event.
            source_event TEXT NOT NULL UNIQUE,
            creator TEXT NOT NULL,
            title TEXT NOT NULL,
            starts_at REAL NOT NULL,
            announcement TEXT,
            cancelled INTEGER NOT NULL DEFAULT 0,
            reminded_at REAL,
            created_at REAL NOT NULL,
            UNIQUE (room_id, number));
        CREATE INDEX events_events_room ON events_events (room_id, starts_at);
        CREATE UNIQUE INDEX events_events_announcement ON events_events (announcement);
        -- One row per ✅ reaction: a member may have two (✅ with and without
        -- U+FE0F from two clients) and still comes while one remains.
        CREATE TABLE events_rsvps (
            reaction_id TEXT PRIMARY KEY,
            event INTEGER NOT NULL REFERENCES events_events (id) ON DELETE CASCADE,
            member_lookup TEXT NOT NULL,
            member TEXT NOT NULL);
        CREATE INDEX events_rsvps_event ON events_rsvps (event, member_lookup);
    """),
]


@dataclass(frozen=True)
class Event:
    id: int
    room_id: str
    number: int
    creator_lookup: str
    title: str
    starts_at: float
    announcement: str | None
    cancelled: bool
    reminded_at: float | None
    coming: int = 0


class EventStore:
    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer

    async def migrate(self) -> None:
        await self.db.migrate(OWNER, MIGRATIONS)

    def member_key(self, user_id: str) -> str:
        return self.sealer.lookup(user_id, context=MEMBER)

    async def add(self, room_id: str, *, source_event: str, creator: str, title: str,
                  starts_at: float, now: float) -> Event:
        """Store a new event (numbered next in its room); the same command twice stores one."""
        # One statement: two members announcing at once cannot take the same number.
        await self.db.execute(
            "INSERT OR IGNORE INTO events_events (room_id, number, source_event, creator, title, "
            "starts_at, created_at) SELECT ?, COALESCE(MAX(number), 0) + 1, ?, ?, ?, ?, ? "
            "FROM events_events WHERE room_id = ?",
            (room_id, source_event, self.member_key(creator),
             self.sealer.seal(title, context=TITLE), starts_at, now, room_id))
        found = await self._one("e.source_event = ?", (source_event,))
        assert found is not None  # just written, or written by the first handling
        return found

    async def set_announcement(self, event_id: int, announcement: str) -> None:
        await self.db.execute("UPDATE events_events SET announcement = ? WHERE id = ?",
                              (announcement, event_id))

    async def delete(self, event_id: int) -> None:
        await self.db.execute("DELETE FROM events_events WHERE id = ?", (event_id,))

    async def get(self, event_id: int) -> Event | None:
        return await self._one("e.id = ?", (event_id,))

    async def numbered(self, room_id: str, number: int) -> Event | None:
        return await self._one("e.room_id = ? AND e.number = ?", (room_id, number))

    async def announced_by(self, room_id: str, announcement: str) -> Event | None:
        return await self._one("e.room_id = ? AND e.announcement = ?", (room_id, announcement))

    async def upcoming(self, room_id: str | None, now: float) -> list[Event]:
        """Events not cancelled that have not started, soonest first (every room for None)."""
        return await self._many(
            "(? IS NULL OR e.room_id = ?) AND e.cancelled = 0 AND e.starts_at > ?",
            (room_id, room_id, now))

    async def count_upcoming(self, room_id: str, now: float) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM events_events WHERE room_id = ? AND cancelled = 0 "
            "AND starts_at > ?", (room_id, now))
        return int(row["n"]) if row is not None else 0

    async def cancel(self, event_id: int) -> None:
        await self.db.execute("UPDATE events_events SET cancelled = 1 WHERE id = ?", (event_id,))

    async def mark_reminded(self, event_id: int, now: float) -> None:
        await self.db.execute("UPDATE events_events SET reminded_at = ? WHERE id = ?",
                              (now, event_id))

    async def forget_started_before(self, cutoff: float) -> int:
        """Delete events (and who came) that started before `cutoff`; how many."""
        return await self.db.execute("DELETE FROM events_events WHERE starts_at < ?", (cutoff,))

    # -- who comes -----------------------------------------------------------

    async def come(self, event_id: int, reaction_id: str, member: str) -> None:
        await self.db.execute(
            "INSERT OR IGNORE INTO events_rsvps (reaction_id, event, member_lookup, member) "
            "VALUES (?, ?, ?, ?)",
            (reaction_id, event_id, self.member_key(member),
             self.sealer.seal(member, context=MEMBER)))

    async def withdraw(self, room_id: str, reaction_id: str) -> bool:
        """Forget the RSVP a removed reaction made (in this room); False if it made none."""
        changed = await self.db.execute(
            "DELETE FROM events_rsvps WHERE reaction_id = ? AND event IN "
            "(SELECT id FROM events_events WHERE room_id = ?)", (reaction_id, room_id))
        return changed > 0

    async def forget_member(self, room_id: str, member: str) -> int:
        """A member who left (or was removed from) a room is no longer coming to its events."""
        return await self.db.execute(
            "DELETE FROM events_rsvps WHERE member_lookup = ? AND event IN "
            "(SELECT id FROM events_events WHERE room_id = ?)", (self.member_key(member), room_id))

    async def attendees(self, event_id: int) -> list[str]:
        """Each member coming, once, however many ✅ they left."""
        rows = await self.db.fetchall(
            "SELECT MIN(member) AS member FROM events_rsvps WHERE event = ? "
            "GROUP BY member_lookup", (event_id,))
        return sorted(self.sealer.open(row["member"], context=MEMBER) for row in rows)

    # -- reading rows ---------------------------------------------------------

    _SELECT = (
        "SELECT e.*, (SELECT COUNT(DISTINCT member_lookup) FROM events_rsvps r "
        "WHERE r.event = e.id) AS coming FROM events_events e WHERE ")

    async def _one(self, where: str, params: tuple[object, ...]) -> Event | None:
        row = await self.db.fetchone(self._SELECT + where, params)
        return self._event(row) if row is not None else None

    async def _many(self, where: str, params: tuple[object, ...]) -> list[Event]:
        rows = await self.db.fetchall(self._SELECT + where + " ORDER BY e.starts_at, e.id", params)
        return [self._event(row) for row in rows]

    def _event(self, row: Any) -> Event:
        return Event(
            id=int(row["id"]), room_id=str(row["room_id"]), number=int(row["number"]),
            creator_lookup=str(row["creator"]),
            title=self.sealer.open(str(row["title"]), context=TITLE),
            starts_at=float(row["starts_at"]), announcement=row["announcement"],
            cancelled=bool(row["cancelled"]), reminded_at=row["reminded_at"],
            coming=int(row["coming"]))
