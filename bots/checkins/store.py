"""The check-ins plugin's tables and every SQL statement that touches them."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.storage import Database, Migration

Statement = tuple[str, Sequence[Any]]

MIGRATIONS = [
    Migration(
        1,
        "members, trusted contacts, check-ins, alerts sent, roll calls",
        """
        CREATE TABLE checkins_members (
            user_id TEXT PRIMARY KEY, timezone TEXT,
            pin_hash TEXT, duress_hash TEXT);
        CREATE TABLE checkins_contacts (
            owner TEXT NOT NULL, contact TEXT NOT NULL, state TEXT NOT NULL,
            created_at REAL NOT NULL, PRIMARY KEY (owner, contact));
        CREATE INDEX checkins_contacts_contact ON checkins_contacts (contact);
        CREATE TABLE checkins_checkins (
            id TEXT PRIMARY KEY, user_id TEXT NOT NULL, room_id TEXT NOT NULL,
            note TEXT, created_at REAL NOT NULL, deadline REAL NOT NULL,
            state TEXT NOT NULL, urgent INTEGER NOT NULL DEFAULT 0,
            escalated_at REAL, late_by REAL NOT NULL DEFAULT 0,
            acked_by TEXT, resolved_at REAL, last_seen REAL NOT NULL);
        CREATE INDEX checkins_checkins_user ON checkins_checkins (user_id, state);
        CREATE TABLE checkins_alerts (
            checkin_id TEXT NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL,
            outbox_key TEXT PRIMARY KEY, event_id TEXT);
        CREATE INDEX checkins_alerts_checkin ON checkins_alerts (checkin_id);
        CREATE INDEX checkins_alerts_event ON checkins_alerts (event_id);
        CREATE TABLE checkins_rollcalls (
            id TEXT PRIMARY KEY, room_id TEXT NOT NULL, organizer TEXT NOT NULL,
            note TEXT, created_at REAL NOT NULL, deadline REAL NOT NULL,
            event_id TEXT, state TEXT NOT NULL);
        CREATE INDEX checkins_rollcalls_room ON checkins_rollcalls (room_id, state);
        CREATE TABLE checkins_rollcall_members (
            rollcall_id TEXT NOT NULL, user_id TEXT NOT NULL, answered_at REAL,
            PRIMARY KEY (rollcall_id, user_id))
        """,
    ),
    Migration(
        2,
        "contact requests: when each (member, contact) pair was last asked, and blocks",
        """
        CREATE TABLE checkins_contact_requests (
            owner TEXT NOT NULL, contact TEXT NOT NULL, last_sent REAL,
            blocked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (owner, contact));
        CREATE INDEX checkins_contact_requests_owner ON checkins_contact_requests (owner, last_sent)
        """,
    ),
]

ACTIVE = "active"
ESCALATED = "escalated"
RESOLVED = "resolved"

# Short ids members can type in `!ack`: no 0/O, 1/I/L look-alikes.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_id(length: int = 6) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def derived_id(seed: str, length: int = 6) -> str:
    """An id like new_id's, the same every time for `seed` (a retried step reuses it)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:length])


@dataclass(frozen=True)
class Checkin:
    id: str
    user_id: str
    room_id: str
    note: str | None
    created_at: float
    deadline: float
    state: str
    urgent: bool
    escalated_at: float | None
    late_by: float
    acked_by: str | None
    resolved_at: float | None
    last_seen: float

    @classmethod
    def from_row(cls, row: Any) -> Checkin:
        return cls(
            id=row["id"], user_id=row["user_id"], room_id=row["room_id"], note=row["note"],
            created_at=row["created_at"], deadline=row["deadline"], state=row["state"],
            urgent=bool(row["urgent"]), escalated_at=row["escalated_at"], late_by=row["late_by"],
            acked_by=row["acked_by"], resolved_at=row["resolved_at"], last_seen=row["last_seen"],
        )


@dataclass(frozen=True)
class Alert:
    checkin_id: str
    recipient: str
    kind: str  # "contact" (a member's DM) or "team" (the safety-team room)
    outbox_key: str
    event_id: str | None


@dataclass(frozen=True)
class Rollcall:
    id: str
    room_id: str
    organizer: str
    note: str | None
    created_at: float
    deadline: float
    event_id: str | None
    state: str


class CheckinStore:
    """Reads and writes of the check-ins tables; multi-row changes return statements."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Timezones are read for every alert recipient; they change rarely.
        self._zones: dict[str, str | None] = {}

    async def migrate(self) -> None:
        await self.db.migrate("checkins", MIGRATIONS)

    # -- members -----------------------------------------------------------

    async def member(self, user_id: str) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT * FROM checkins_members WHERE user_id = ?", (user_id,))
        if row is None:
            return {"user_id": user_id, "timezone": None, "pin_hash": None, "duress_hash": None}
        return dict(row)

    async def timezone(self, user_id: str) -> str | None:
        if user_id not in self._zones:
            self._zones[user_id] = (await self.member(user_id))["timezone"]
        return self._zones[user_id]

    async def set_member_field(self, user_id: str, field: str, value: str | None) -> None:
        if field not in ("timezone", "pin_hash", "duress_hash"):
            raise ValueError(field)
        self._zones.pop(user_id, None)
        # The column name comes from the fixed list above, never from input.
        await self.db.execute(
            f"INSERT INTO checkins_members (user_id, {field}) VALUES (?, ?) "
            f"ON CONFLICT(user_id) DO UPDATE SET {field} = excluded.{field}",
            (user_id, value),
        )

    # -- contacts ----------------------------------------------------------

    async def contacts(self, owner: str) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT contact, state FROM checkins_contacts WHERE owner = ? ORDER BY created_at",
            (owner,),
        )
        return [(row["contact"], row["state"]) for row in rows]

    async def accepted_contacts(self, owner: str) -> list[str]:
        return [c for c, state in await self.contacts(owner) if state == "accepted"]

    def add_contact_statement(self, owner: str, contact: str, now: float) -> Statement:
        return (
            "INSERT INTO checkins_contacts (owner, contact, state, created_at) "
            "VALUES (?, ?, 'pending', ?) ON CONFLICT(owner, contact) DO NOTHING",
            (owner, contact, now),
        )

    async def contact_state(self, owner: str, contact: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT state FROM checkins_contacts WHERE owner = ? AND contact = ?", (owner, contact)
        )
        return str(row["state"]) if row else None

    async def set_contact_accepted(self, owner: str, contact: str) -> bool:
        changed = await self.db.execute(
            "UPDATE checkins_contacts SET state = 'accepted' "
            "WHERE owner = ? AND contact = ? AND state = 'pending'",
            (owner, contact),
        )
        return changed > 0

    async def contact_request(self, owner: str, contact: str) -> tuple[float | None, bool]:
        """(when `owner` last asked `contact`, whether `contact` blocked their requests)."""
        row = await self.db.fetchone(
            "SELECT last_sent, blocked FROM checkins_contact_requests WHERE owner = ? "
            "AND contact = ?", (owner, contact))
        return (row["last_sent"], bool(row["blocked"])) if row else (None, False)

    async def requests_since(self, owner: str, since: float) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM checkins_contact_requests WHERE owner = ? "
            "AND last_sent >= ?", (owner, since))
        return int(row["n"]) if row else 0

    def request_sent_statement(self, owner: str, contact: str, now: float) -> Statement:
        return (
            "INSERT INTO checkins_contact_requests (owner, contact, last_sent) VALUES (?, ?, ?) "
            "ON CONFLICT(owner, contact) DO UPDATE SET last_sent = excluded.last_sent",
            (owner, contact, now),
        )

    async def set_request_blocked(self, owner: str, contact: str, blocked: bool) -> bool:
        """`contact` blocks (or allows again) requests from `owner`; False when nothing changed."""
        changed = await self.db.execute(
            "INSERT INTO checkins_contact_requests (owner, contact, blocked) VALUES (?, ?, ?) "
            "ON CONFLICT(owner, contact) DO UPDATE SET blocked = excluded.blocked "
            "WHERE blocked != excluded.blocked",
            (owner, contact, int(blocked)),
        )
        return changed > 0

    async def remove_contact(self, owner: str, contact: str) -> bool:
        changed = await self.db.execute(
            "DELETE FROM checkins_contacts WHERE owner = ? AND contact = ?", (owner, contact)
        )
        return changed > 0

    # -- check-ins -----------------------------------------------------------

    async def open_checkin(self, user_id: str) -> Checkin | None:
        row = await self.db.fetchone(
            # A duress escalation is hidden from whoever holds the phone: it is
            # not "open" for status, `!safe` or a new check-in.
            "SELECT * FROM checkins_checkins WHERE user_id = ? AND state != ? AND urgent = 0 "
            "ORDER BY created_at DESC LIMIT 1",
            (user_id, RESOLVED),
        )
        return Checkin.from_row(row) if row else None

    async def checkin(self, checkin_id: str) -> Checkin | None:
        row = await self.db.fetchone("SELECT * FROM checkins_checkins WHERE id = ?", (checkin_id,))
        return Checkin.from_row(row) if row else None

    def insert_checkin_statement(self, checkin: Checkin, *, or_ignore: bool = False,
                                 ) -> Statement:
        verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
        return (
            f"{verb} INTO checkins_checkins (id, user_id, room_id, note, created_at, deadline, "
            "state, urgent, escalated_at, late_by, acked_by, resolved_at, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (checkin.id, checkin.user_id, checkin.room_id, checkin.note, checkin.created_at,
             checkin.deadline, checkin.state, int(checkin.urgent), checkin.escalated_at,
             checkin.late_by, checkin.acked_by, checkin.resolved_at, checkin.last_seen),
        )

    async def set_deadline(self, checkin_id: str, deadline: float) -> None:
        await self.db.execute(
            "UPDATE checkins_checkins SET deadline = ? WHERE id = ? AND state = ?",
            (deadline, checkin_id, ACTIVE),
        )

    def escalate_statement(self, checkin_id: str, now: float, late_by: float, urgent: bool,
                           ) -> Statement:
        return (
            "UPDATE checkins_checkins SET state = ?, escalated_at = COALESCE(escalated_at, ?), "
            "late_by = ?, urgent = MAX(urgent, ?) WHERE id = ? AND state != ?",
            (ESCALATED, now, late_by, int(urgent), checkin_id, RESOLVED),
        )

    def resolve_statement(self, checkin_id: str, now: float, keep_note: bool) -> Statement:
        note = "note" if keep_note else "NULL"
        return (
            f"UPDATE checkins_checkins SET state = ?, resolved_at = ?, note = {note} WHERE id = ?",
            (RESOLVED, now, checkin_id),
        )

    async def ack(self, checkin_id: str, user_id: str) -> bool:
        """Record the first acknowledgement; False when someone was already on it."""
        changed = await self.db.execute(
            "UPDATE checkins_checkins SET acked_by = ? WHERE id = ? AND acked_by IS NULL "
            "AND state = ?",
            (user_id, checkin_id, ESCALATED),
        )
        return changed > 0

    async def touch(self, user_id: str, now: float) -> None:
        await self.db.execute(
            "UPDATE checkins_checkins SET last_seen = ? WHERE user_id = ? AND state = ?",
            (now, user_id, ACTIVE),
        )

    async def tracked_users(self) -> set[str]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT user_id FROM checkins_checkins WHERE state = ?", (ACTIVE,))
        return {row["user_id"] for row in rows}

    async def purge(self, now: float, note_retention: float, row_retention: float) -> None:
        await self.db.transaction([
            ("UPDATE checkins_checkins SET note = NULL WHERE state = ? AND resolved_at < ?",
             (RESOLVED, now - note_retention)),
            ("DELETE FROM checkins_alerts WHERE checkin_id IN (SELECT id FROM checkins_checkins "
             "WHERE state = ? AND resolved_at < ?)", (RESOLVED, now - row_retention)),
            ("DELETE FROM checkins_checkins WHERE state = ? AND resolved_at < ?",
             (RESOLVED, now - row_retention)),
            # Duress escalations are never resolved by the member; they age out.
            ("UPDATE checkins_checkins SET note = NULL WHERE urgent = 1 AND escalated_at < ?",
             (now - row_retention,)),
            ("DELETE FROM checkins_rollcall_members WHERE rollcall_id IN (SELECT id FROM "
             "checkins_rollcalls WHERE state = 'closed' AND deadline < ?)", (now - row_retention,)),
            ("DELETE FROM checkins_rollcalls WHERE state = 'closed' AND deadline < ?",
             (now - row_retention,)),
        ])

    # -- alerts ----------------------------------------------------------------

    def alert_statement(self, checkin_id: str, recipient: str, kind: str, key: str) -> Statement:
        return (
            "INSERT OR IGNORE INTO checkins_alerts (checkin_id, recipient, kind, outbox_key) "
            "VALUES (?, ?, ?, ?)",
            (checkin_id, recipient, kind, key),
        )

    async def alerts(self, checkin_id: str) -> list[Alert]:
        rows = await self.db.fetchall(
            "SELECT * FROM checkins_alerts WHERE checkin_id = ? ORDER BY rowid", (checkin_id,)
        )
        return [Alert(r["checkin_id"], r["recipient"], r["kind"], r["outbox_key"], r["event_id"])
                for r in rows]

    async def alert_by_key(self, key: str) -> Alert | None:
        r = await self.db.fetchone("SELECT * FROM checkins_alerts WHERE outbox_key = ?", (key,))
        return Alert(r["checkin_id"], r["recipient"], r["kind"], r["outbox_key"],
                     r["event_id"]) if r else None

    async def alert_by_event(self, event_id: str) -> Alert | None:
        r = await self.db.fetchone("SELECT * FROM checkins_alerts WHERE event_id = ?", (event_id,))
        return Alert(r["checkin_id"], r["recipient"], r["kind"], r["outbox_key"],
                     r["event_id"]) if r else None

    async def set_alert_event(self, key: str, event_id: str) -> None:
        await self.db.execute(
            "UPDATE checkins_alerts SET event_id = ? WHERE outbox_key = ?", (event_id, key)
        )

    # -- roll calls ------------------------------------------------------------

    def insert_rollcall_statements(self, rollcall: Rollcall, members: Sequence[str],
                                   ) -> list[Statement]:
        statements: list[Statement] = [(
            "INSERT INTO checkins_rollcalls (id, room_id, organizer, note, created_at, deadline, "
            "event_id, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rollcall.id, rollcall.room_id, rollcall.organizer, rollcall.note,
             rollcall.created_at, rollcall.deadline, rollcall.event_id, rollcall.state),
        )]
        for user_id in members:
            statements.append((
                "INSERT OR IGNORE INTO checkins_rollcall_members (rollcall_id, user_id) VALUES (?, ?)",
                (rollcall.id, user_id),
            ))
        return statements

    async def rollcall(self, rollcall_id: str) -> Rollcall | None:
        row = await self.db.fetchone("SELECT * FROM checkins_rollcalls WHERE id = ?", (rollcall_id,))
        return _rollcall(row) if row else None

    async def open_rollcalls(self, room_id: str) -> list[Rollcall]:
        rows = await self.db.fetchall(
            "SELECT * FROM checkins_rollcalls WHERE room_id = ? AND state = 'open'", (room_id,)
        )
        return [_rollcall(row) for row in rows]

    async def rollcall_by_event(self, event_id: str) -> Rollcall | None:
        row = await self.db.fetchone(
            "SELECT * FROM checkins_rollcalls WHERE event_id = ? AND state = 'open'", (event_id,)
        )
        return _rollcall(row) if row else None

    async def set_rollcall_event(self, rollcall_id: str, event_id: str) -> None:
        await self.db.execute(
            "UPDATE checkins_rollcalls SET event_id = ? WHERE id = ?", (event_id, rollcall_id)
        )

    async def answer_rollcall(self, rollcall_id: str, user_id: str, now: float) -> bool:
        """Mark `user_id` present; True the first time (late joiners count too)."""
        changed = await self.db.execute(
            "INSERT INTO checkins_rollcall_members (rollcall_id, user_id, answered_at) "
            "VALUES (?, ?, ?) ON CONFLICT(rollcall_id, user_id) DO UPDATE SET "
            "answered_at = excluded.answered_at WHERE answered_at IS NULL",
            (rollcall_id, user_id, now),
        )
        return changed > 0

    async def rollcall_missing(self, rollcall_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM checkins_rollcall_members WHERE rollcall_id = ? "
            "AND answered_at IS NULL ORDER BY user_id",
            (rollcall_id,),
        )
        return [row["user_id"] for row in rows]

    async def rollcall_count(self, rollcall_id: str) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM checkins_rollcall_members WHERE rollcall_id = ?",
            (rollcall_id,),
        )
        return int(row["n"]) if row else 0

    def close_rollcall_statement(self, rollcall_id: str) -> Statement:
        return ("UPDATE checkins_rollcalls SET state = 'closed', note = NULL WHERE id = ?",
                (rollcall_id,))


def _rollcall(row: Any) -> Rollcall:
    return Rollcall(row["id"], row["room_id"], row["organizer"], row["note"], row["created_at"],
                    row["deadline"], row["event_id"], row["state"])
