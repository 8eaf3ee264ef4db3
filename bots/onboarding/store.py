"""The onboarding tables: who joined which room, where they stand, and pronouns they chose.

What a member typed about themselves (their pronouns) is stored sealed
(core/sealed.py, context "onboarding.pronouns"): the database file alone
reveals nobody's. Ids, times and states stay plain for the queries.
Introduction answers are never stored (bots/onboarding/introductions.py).
Pronouns written before sealing are read as they are, and sealed in place
when the plugin starts (`seal_old_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.sealed import PREFIX, Sealer
from core.storage import Database, Migration

PRONOUNS_CONTEXT = "onboarding.pronouns"

MIGRATIONS = [
    Migration(
        1,
        "newcomers per room, pronouns members chose, one-time warnings to room admins",
        """
        CREATE TABLE onboarding_members (
            room_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            join_event_id TEXT NOT NULL,
            joined_at REAL NOT NULL,
            -- pending (rules not accepted), agreed, left (left before accepting)
            state TEXT NOT NULL,
            -- the power level the bot gave to hold them back; NULL when not held back
            gated_level INTEGER,
            room_welcomed INTEGER NOT NULL DEFAULT 0,
            welcome_key TEXT NOT NULL,
            rules_event_id TEXT,
            dm_room_id TEXT,
            PRIMARY KEY (room_id, user_id));
        CREATE INDEX onboarding_members_user ON onboarding_members (user_id);
        CREATE INDEX onboarding_members_rules ON onboarding_members (rules_event_id);
        CREATE INDEX onboarding_members_key ON onboarding_members (welcome_key);
        CREATE INDEX onboarding_members_unwelcomed ON onboarding_members (room_id, room_welcomed);
        CREATE TABLE onboarding_profiles (
            user_id TEXT PRIMARY KEY, pronouns TEXT NOT NULL);
        CREATE TABLE onboarding_warnings (
            room_id TEXT NOT NULL, kind TEXT NOT NULL, warned_at REAL NOT NULL,
            PRIMARY KEY (room_id, kind))
        """,
    ),
    Migration(
        2,
        "earlier private welcomes (re-sent in the member's new language) still take a ✅",
        """
        CREATE TABLE onboarding_rules_events (
            event_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            user_id TEXT NOT NULL);
        CREATE INDEX onboarding_rules_events_user ON onboarding_rules_events (user_id)
        """,
    ),
]

Statement = tuple[str, Sequence[Any]]


@dataclass(frozen=True)
class Newcomer:
    """One member's onboarding in one room."""

    room_id: str
    user_id: str
    join_event_id: str
    joined_at: float
    state: str
    gated_level: int | None
    room_welcomed: bool
    welcome_key: str
    rules_event_id: str | None
    dm_room_id: str | None

    @property
    def pending(self) -> bool:
        return self.state == "pending"


def _newcomer(row: Any) -> Newcomer:
    return Newcomer(
        room_id=row["room_id"], user_id=row["user_id"], join_event_id=row["join_event_id"],
        joined_at=float(row["joined_at"]), state=row["state"], gated_level=row["gated_level"],
        room_welcomed=bool(row["room_welcomed"]), welcome_key=row["welcome_key"],
        rules_event_id=row["rules_event_id"], dm_room_id=row["dm_room_id"],
    )


class OnboardingStore:
    """All SQL of the onboarding plugin; parameterised, owned tables only."""

    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer

    async def migrate(self) -> None:
        await self.db.migrate("onboarding", MIGRATIONS)
        await self.seal_old_rows()

    async def seal_old_rows(self) -> int:
        """Seal pronouns stored in clear before sealing existed; returns how many."""
        rows = await self.db.fetchall(
            "SELECT user_id, pronouns FROM onboarding_profiles WHERE pronouns NOT LIKE ?",
            (PREFIX + "%",),
        )
        await self.db.transaction([
            ("UPDATE onboarding_profiles SET pronouns = ? WHERE user_id = ? AND pronouns = ?",
             (self.sealer.seal(row["pronouns"], context=PRONOUNS_CONTEXT), row["user_id"],
              row["pronouns"]))
            for row in rows
        ])
        return len(rows)

    # -- newcomers ------------------------------------------------------------

    async def get(self, room_id: str, user_id: str) -> Newcomer | None:
        row = await self.db.fetchone(
            "SELECT * FROM onboarding_members WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        )
        return _newcomer(row) if row else None

    @staticmethod
    def insert(newcomer: Newcomer) -> Statement:
        """Replaces an earlier row of the same member and room (a fresh onboarding)."""
        return (
            "INSERT OR REPLACE INTO onboarding_members (room_id, user_id, join_event_id, "
            "joined_at, state, gated_level, room_welcomed, welcome_key, rules_event_id, dm_room_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (newcomer.room_id, newcomer.user_id, newcomer.join_event_id, newcomer.joined_at,
             newcomer.state, newcomer.gated_level, int(newcomer.room_welcomed),
             newcomer.welcome_key, newcomer.rules_event_id, newcomer.dm_room_id),
        )

    async def of_user(self, user_id: str, state: str | None = None) -> list[Newcomer]:
        rows = await self.db.fetchall(
            "SELECT * FROM onboarding_members WHERE user_id = ? AND (? IS NULL OR state = ?) "
            "ORDER BY joined_at",
            (user_id, state, state),
        )
        return [_newcomer(row) for row in rows]

    async def by_rules_event(self, event_id: str) -> Newcomer | None:
        """Whose private welcome this is: the latest one, or one sent before it."""
        row = await self.db.fetchone(
            "SELECT * FROM onboarding_members WHERE rules_event_id = ?", (event_id,)
        )
        if row is None:
            row = await self.db.fetchone(
                "SELECT m.* FROM onboarding_members m JOIN onboarding_rules_events e "
                "ON m.room_id = e.room_id AND m.user_id = e.user_id WHERE e.event_id = ?",
                (event_id,))
        return _newcomer(row) if row else None

    async def replace_welcome(self, newcomer: Newcomer, key: str) -> None:
        """A new private welcome under `key` replaces the last; a ✅ on the last still counts."""
        statements: list[Statement] = [
            ("UPDATE onboarding_members SET welcome_key = ? WHERE room_id = ? AND user_id = ?",
             (key, newcomer.room_id, newcomer.user_id))]
        if newcomer.rules_event_id is not None:
            statements.append((
                "INSERT OR IGNORE INTO onboarding_rules_events (event_id, room_id, user_id) "
                "VALUES (?, ?, ?)", (newcomer.rules_event_id, newcomer.room_id, newcomer.user_id)))
        await self.db.transaction(statements)

    async def by_welcome_key(self, key: str) -> Newcomer | None:
        row = await self.db.fetchone(
            "SELECT * FROM onboarding_members WHERE welcome_key = ?", (key,)
        )
        return _newcomer(row) if row else None

    async def set_delivered(self, key: str, event_id: str | None, dm_room_id: str | None) -> None:
        await self.db.execute(
            "UPDATE onboarding_members SET rules_event_id = ?, dm_room_id = ? WHERE welcome_key = ?",
            (event_id, dm_room_id, key),
        )

    async def set_state(self, room_id: str, user_id: str, state: str) -> None:
        await self.db.execute(
            "UPDATE onboarding_members SET state = ? WHERE room_id = ? AND user_id = ?",
            (state, room_id, user_id),
        )

    async def set_gated(self, room_id: str, user_id: str, level: int | None) -> None:
        await self.db.execute(
            "UPDATE onboarding_members SET gated_level = ? WHERE room_id = ? AND user_id = ?",
            (level, room_id, user_id),
        )

    async def agree(self, room_id: str, user_id: str) -> None:
        await self.db.execute(
            "UPDATE onboarding_members SET state = 'agreed', gated_level = NULL "
            "WHERE room_id = ? AND user_id = ?",
            (room_id, user_id),
        )

    async def unwelcomed(self, room_id: str) -> list[Newcomer]:
        """Newcomers of a room not yet named in a room welcome, first come first."""
        rows = await self.db.fetchall(
            "SELECT * FROM onboarding_members WHERE room_id = ? AND room_welcomed = 0 "
            "ORDER BY joined_at, join_event_id",
            (room_id,),
        )
        return [_newcomer(row) for row in rows]

    @staticmethod
    def mark_welcomed(room_id: str, user_ids: Sequence[str]) -> list[Statement]:
        return [
            ("UPDATE onboarding_members SET room_welcomed = 1 WHERE room_id = ? AND user_id = ?",
             (room_id, user_id))
            for user_id in user_ids
        ]

    async def counts(self, room_id: str) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT state, COUNT(*) AS n FROM onboarding_members WHERE room_id = ? GROUP BY state",
            (room_id,),
        )
        return {row["state"]: int(row["n"]) for row in rows}

    async def forget_user(self, user_id: str) -> None:
        """Everything onboarding holds about a member, in one go."""
        await self.db.transaction([
            ("DELETE FROM onboarding_members WHERE user_id = ?", (user_id,)),
            ("DELETE FROM onboarding_profiles WHERE user_id = ?", (user_id,)),
            ("DELETE FROM onboarding_rules_events WHERE user_id = ?", (user_id,)),
        ])

    # -- pronouns ---------------------------------------------------------------

    async def pronouns(self, user_id: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT pronouns FROM onboarding_profiles WHERE user_id = ?", (user_id,)
        )
        return self.sealer.open(str(row["pronouns"]), context=PRONOUNS_CONTEXT) if row else None

    async def set_pronouns(self, user_id: str, pronouns: str) -> None:
        await self.db.execute(
            "INSERT INTO onboarding_profiles (user_id, pronouns) VALUES (?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET pronouns = excluded.pronouns",
            (user_id, self.sealer.seal(pronouns, context=PRONOUNS_CONTEXT)),
        )

    async def clear_pronouns(self, user_id: str) -> None:
        await self.db.execute("DELETE FROM onboarding_profiles WHERE user_id = ?", (user_id,))

    # -- one-time warnings to room admins -----------------------------------------

    async def warn_once(self, room_id: str, kind: str, now: float) -> bool:
        """True the first time (since the last `clear_warning`) a room is warned of `kind`."""
        changed = await self.db.execute(
            "INSERT OR IGNORE INTO onboarding_warnings (room_id, kind, warned_at) VALUES (?, ?, ?)",
            (room_id, kind, now),
        )
        return changed > 0

    async def clear_warning(self, room_id: str, kind: str) -> None:
        await self.db.execute(
            "DELETE FROM onboarding_warnings WHERE room_id = ? AND kind = ?", (room_id, kind)
        )
