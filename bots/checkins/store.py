"""The check-ins plugin's tables and every SQL statement that touches them.

Data at rest (core/sealed.py): what would expose people if the disk were
seized is sealed: check-in and roll-call notes, who a member's contacts are
(checkins_contacts.contact, checkins_alerts.recipient, checkins_checkins.acked_by).
Ids, times and states stay plain. A member's time zone is core's (core/zones.py,
sealed there); zones older versions kept here move to core once (`migrate`).

Contacts are looked up by (member, contact) pair: `ref` is a keyed HMAC of the
pair under a key that only the store passphrase gives, so the lookup needs no
plaintext, and the same person has a different ref with each member (the file
does not even tell that two members share a contact). Contact requests keep only
the ref: they are never listed. Rows written before sealing are sealed when the
plugin starts (`seal_old_rows`); until then they read as they are.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.sealed import PREFIX, Sealer
from core.storage import Database, Migration
from core.timeparse import zone_named
from core.zones import MemberZones

log = logging.getLogger(__name__)

NOTE_CONTEXT = "checkins.note"
ROLLCALL_NOTE_CONTEXT = "checkins.rollcall_note"
CONTACT_CONTEXT = "checkins.contact"
RECIPIENT_CONTEXT = "checkins.recipient"
ACKED_BY_CONTEXT = "checkins.acked_by"
# Zones stored here before they were core's (opened once, to move them).
TIMEZONE_CONTEXT = "checkins.timezone"
# Rows carried over from version 2 hold the contact in clear under this ref
# until `seal_old_rows` gives them a keyed one.
_PLAIN_REF = "plain:"

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
    Migration(
        3,
        "contacts sealed: looked up by a keyed ref of (member, contact), requests keep only the ref",
        """
        CREATE TABLE checkins_contacts_v3 (
            owner TEXT NOT NULL, ref TEXT NOT NULL, contact TEXT NOT NULL, state TEXT NOT NULL,
            created_at REAL NOT NULL, PRIMARY KEY (owner, ref));
        INSERT INTO checkins_contacts_v3 (owner, ref, contact, state, created_at)
            SELECT owner, 'plain:' || contact, contact, state, created_at FROM checkins_contacts;
        DROP TABLE checkins_contacts;
        ALTER TABLE checkins_contacts_v3 RENAME TO checkins_contacts;
        CREATE TABLE checkins_contact_requests_v3 (
            owner TEXT NOT NULL, ref TEXT NOT NULL, last_sent REAL,
            blocked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (owner, ref));
        INSERT INTO checkins_contact_requests_v3 (owner, ref, last_sent, blocked)
            SELECT owner, 'plain:' || contact, last_sent, blocked FROM checkins_contact_requests;
        DROP TABLE checkins_contact_requests;
        ALTER TABLE checkins_contact_requests_v3 RENAME TO checkins_contact_requests;
        CREATE INDEX checkins_contact_requests_owner ON checkins_contact_requests (owner, last_sent)
        """,
    ),
    Migration(
        4,
        "contact request messages: a ✅ or a reply to one answers that request",
        """
        CREATE TABLE checkins_request_messages (
            key TEXT PRIMARY KEY, owner TEXT NOT NULL, ref TEXT NOT NULL, event_id TEXT,
            sent_at REAL NOT NULL);
        CREATE INDEX checkins_request_messages_event ON checkins_request_messages (event_id)
        """,
    ),
    Migration(
        5,
        "member time zones are core's (core/zones.py): the copy kept here goes",
        # `migrate` copies each zone into core first: one copy is kept, not two.
        "ALTER TABLE checkins_members DROP COLUMN timezone",
    ),
]
# The last version whose checkins_members still holds time zones.
_ZONES_VERSION = 4

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

    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer

    async def migrate(self, zones: MemberZones) -> None:
        """Bring the tables up to date; zones kept here before go to `zones` on the way."""
        if await self.db.schema_version("checkins") <= _ZONES_VERSION:
            await self.db.migrate("checkins", MIGRATIONS[:_ZONES_VERSION])
            await self._move_zones(zones)
        await self.db.migrate("checkins", MIGRATIONS)
        await self.seal_old_rows()

    async def _move_zones(self, zones: MemberZones) -> int:
        """Copy each member's zone (sealed here, or clear from before sealing) into core.

        A zone chosen in core already stays: core is where members set it now.
        Run again after a crash before migration 5, it copies the same values.
        """
        moved = 0
        for row in await self.db.fetchall(
                "SELECT user_id, timezone FROM checkins_members WHERE timezone IS NOT NULL"):
            zone = zone_named(self.sealer.open(row["timezone"], context=TIMEZONE_CONTEXT))
            if zone is not None and zones.chosen(row["user_id"]) is None:
                await zones.set(row["user_id"], zone)
                moved += 1
        if moved:
            log.info("check-ins: %d member time zones moved to core", moved)
        return moved

    # -- sealing -------------------------------------------------------------

    def ref(self, owner: str, contact: str) -> str:
        """The keyed, member-bound lookup value for `contact` in `owner`'s list.

        Also used in outbox keys in place of the contact's user id.
        """
        return self.sealer.lookup(f"{owner}\0{contact}", context="checkins.contact-ref")

    def _seal(self, text: str | None, context: str) -> str | None:
        return self.sealer.seal_optional(text, context=context)

    def _open(self, value: str | None, context: str) -> str | None:
        return self.sealer.open_optional(value, context=context)

    def _checkin(self, row: Any) -> Checkin:
        found = Checkin.from_row(row)
        return dataclasses.replace(found, note=self._open(found.note, NOTE_CONTEXT),
                                   acked_by=self._open(found.acked_by, ACKED_BY_CONTEXT))

    def _alert(self, r: Any) -> Alert:
        return Alert(r["checkin_id"], str(self._open(r["recipient"], RECIPIENT_CONTEXT)),
                     r["kind"], r["outbox_key"], r["event_id"])

    def _rollcall(self, row: Any) -> Rollcall:
        return dataclasses.replace(_rollcall(row),
                                   note=self._open(row["note"], ROLLCALL_NOTE_CONTEXT))

    async def seal_old_rows(self) -> int:
        """Seal what was stored in clear before sealing existed; returns how many values.

        Run at start, before any event: contacts carried over by migration 3 are
        found by their keyed ref only once this gave them one.
        """
        statements: list[Statement] = []
        for row in await self.db.fetchall(
                "SELECT * FROM checkins_contacts WHERE ref LIKE ?", (_PLAIN_REF + "%",)):
            contact = self.sealer.open(row["contact"], context=CONTACT_CONTEXT)
            statements += [
                ("DELETE FROM checkins_contacts WHERE owner = ? AND ref = ?",
                 (row["owner"], row["ref"])),
                ("INSERT OR IGNORE INTO checkins_contacts (owner, ref, contact, state, created_at) "
                 "VALUES (?, ?, ?, ?, ?)",
                 (row["owner"], self.ref(row["owner"], contact),
                  self.sealer.seal(contact, context=CONTACT_CONTEXT), row["state"],
                  row["created_at"])),
            ]
        for row in await self.db.fetchall(
                "SELECT * FROM checkins_contact_requests WHERE ref LIKE ?", (_PLAIN_REF + "%",)):
            contact = row["ref"][len(_PLAIN_REF):]
            statements += [
                ("DELETE FROM checkins_contact_requests WHERE owner = ? AND ref = ?",
                 (row["owner"], row["ref"])),
                ("INSERT OR REPLACE INTO checkins_contact_requests (owner, ref, last_sent, "
                 "blocked) VALUES (?, ?, ?, ?)",
                 (row["owner"], self.ref(row["owner"], contact), row["last_sent"],
                  row["blocked"])),
            ]
        columns = [
            ("checkins_checkins", "id", "note", NOTE_CONTEXT),
            ("checkins_checkins", "id", "acked_by", ACKED_BY_CONTEXT),
            ("checkins_alerts", "outbox_key", "recipient", RECIPIENT_CONTEXT),
            ("checkins_rollcalls", "id", "note", ROLLCALL_NOTE_CONTEXT),
        ]
        for table, key, column, context in columns:
            # Table and column names come from the fixed list above, never from input.
            for row in await self.db.fetchall(
                    f"SELECT {key} AS k, {column} AS v FROM {table} "
                    f"WHERE {column} IS NOT NULL AND {column} NOT LIKE ?", (PREFIX + "%",)):
                statements.append((f"UPDATE {table} SET {column} = ? WHERE {key} = ?",
                                   (self.sealer.seal(row["v"], context=context), row["k"])))
        if not statements:
            return 0
        await self.db.transaction(statements)
        # The clear values' pages are zeroed in the file (secure_delete); their
        # old copies leave the write-ahead log with a checkpoint.
        with contextlib.suppress(Exception):
            await self.db.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        sealed = sum(1 for sql, _ in statements if not sql.startswith("DELETE"))
        log.info("check-ins: %d values stored before sealing are sealed now", sealed)
        return sealed

    # -- members -----------------------------------------------------------

    async def member(self, user_id: str) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT * FROM checkins_members WHERE user_id = ?", (user_id,))
        if row is None:
            return {"user_id": user_id, "pin_hash": None, "duress_hash": None}
        return dict(row)

    async def set_member_field(self, user_id: str, field: str, value: str | None) -> None:
        if field not in ("pin_hash", "duress_hash"):
            raise ValueError(field)
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
        return [(self.sealer.open(row["contact"], context=CONTACT_CONTEXT), row["state"])
                for row in rows]

    async def accepted_contacts(self, owner: str) -> list[str]:
        return [c for c, state in await self.contacts(owner) if state == "accepted"]

    def add_contact_statement(self, owner: str, contact: str, now: float) -> Statement:
        return (
            "INSERT INTO checkins_contacts (owner, ref, contact, state, created_at) "
            "VALUES (?, ?, ?, 'pending', ?) ON CONFLICT(owner, ref) DO NOTHING",
            (owner, self.ref(owner, contact), self.sealer.seal(contact, context=CONTACT_CONTEXT),
             now),
        )

    async def contact_state(self, owner: str, contact: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT state FROM checkins_contacts WHERE owner = ? AND ref = ?",
            (owner, self.ref(owner, contact)))
        return str(row["state"]) if row else None

    async def set_contact_accepted(self, owner: str, contact: str) -> bool:
        changed = await self.db.execute(
            "UPDATE checkins_contacts SET state = 'accepted' "
            "WHERE owner = ? AND ref = ? AND state = 'pending'",
            (owner, self.ref(owner, contact)),
        )
        return changed > 0

    async def contact_request(self, owner: str, contact: str) -> tuple[float | None, bool]:
        """(when `owner` last asked `contact`, whether `contact` blocked their requests)."""
        row = await self.db.fetchone(
            "SELECT last_sent, blocked FROM checkins_contact_requests WHERE owner = ? "
            "AND ref = ?", (owner, self.ref(owner, contact)))
        return (row["last_sent"], bool(row["blocked"])) if row else (None, False)

    async def requests_since(self, owner: str, since: float) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM checkins_contact_requests WHERE owner = ? "
            "AND last_sent >= ?", (owner, since))
        return int(row["n"]) if row else 0

    def request_sent_statement(self, owner: str, contact: str, now: float) -> Statement:
        return (
            "INSERT INTO checkins_contact_requests (owner, ref, last_sent) VALUES (?, ?, ?) "
            "ON CONFLICT(owner, ref) DO UPDATE SET last_sent = excluded.last_sent",
            (owner, self.ref(owner, contact), now),
        )

    async def set_request_blocked(self, owner: str, contact: str, blocked: bool) -> bool:
        """`contact` blocks (or allows again) requests from `owner`; False when nothing changed."""
        changed = await self.db.execute(
            "INSERT INTO checkins_contact_requests (owner, ref, blocked) VALUES (?, ?, ?) "
            "ON CONFLICT(owner, ref) DO UPDATE SET blocked = excluded.blocked "
            "WHERE blocked != excluded.blocked",
            (owner, self.ref(owner, contact), int(blocked)),
        )
        return changed > 0

    @staticmethod
    def request_message_statement(key: str, owner: str, ref: str, now: float) -> Statement:
        """The request queued under outbox `key` (its event id comes once it is sent)."""
        return ("INSERT OR IGNORE INTO checkins_request_messages (key, owner, ref, sent_at) "
                "VALUES (?, ?, ?, ?)", (key, owner, ref, now))

    async def set_request_event(self, key: str, event_id: str) -> None:
        await self.db.execute(
            "UPDATE checkins_request_messages SET event_id = ? WHERE key = ?", (event_id, key))

    async def request_by_event(self, event_id: str) -> tuple[str, str] | None:
        """(member, ref) of the request sent as `event_id`, None when it is none."""
        row = await self.db.fetchone(
            "SELECT owner, ref FROM checkins_request_messages WHERE event_id = ?", (event_id,))
        return (str(row["owner"]), str(row["ref"])) if row else None

    async def remove_contact(self, owner: str, contact: str) -> bool:
        changed = await self.db.execute(
            "DELETE FROM checkins_contacts WHERE owner = ? AND ref = ?",
            (owner, self.ref(owner, contact))
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
        return self._checkin(row) if row else None

    async def escalated(self) -> list[Checkin]:
        """Check-ins whose alerts are out and not over, newest first (`!onit` alone)."""
        rows = await self.db.fetchall(
            "SELECT * FROM checkins_checkins WHERE state = ? ORDER BY escalated_at DESC",
            (ESCALATED,))
        return [self._checkin(row) for row in rows]

    async def checkin(self, checkin_id: str) -> Checkin | None:
        row = await self.db.fetchone("SELECT * FROM checkins_checkins WHERE id = ?", (checkin_id,))
        return self._checkin(row) if row else None

    def insert_checkin_statement(self, checkin: Checkin, *, or_ignore: bool = False,
                                 ) -> Statement:
        verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
        return (
            f"{verb} INTO checkins_checkins (id, user_id, room_id, note, created_at, deadline, "
            "state, urgent, escalated_at, late_by, acked_by, resolved_at, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (checkin.id, checkin.user_id, checkin.room_id,
             self._seal(checkin.note, NOTE_CONTEXT), checkin.created_at,
             checkin.deadline, checkin.state, int(checkin.urgent), checkin.escalated_at,
             checkin.late_by, self._seal(checkin.acked_by, ACKED_BY_CONTEXT),
             checkin.resolved_at, checkin.last_seen),
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
            (self._seal(user_id, ACKED_BY_CONTEXT), checkin_id, ESCALATED),
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

    async def purge(self, now: float, note_retention: float, row_retention: float,
                    alarm_retention: float) -> int:
        """Forget what is no longer needed; returns how many check-in rows went.

        Resolved check-ins lose their note after `note_retention` and go after
        `row_retention`. Duress alarms (never resolved by the member) and
        escalations nobody ever resolved go, with their alerts, `alarm_retention`
        after they were raised. Contact-request rows that no longer limit or
        block anything go too.
        """
        stale = (f"SELECT id FROM checkins_checkins WHERE state = '{ESCALATED}' "
                 "AND escalated_at < ?")
        rows = await self.db.fetchall(
            "SELECT COUNT(*) AS n FROM checkins_checkins WHERE (state = ? AND resolved_at < ?) "
            "OR (state = ? AND escalated_at < ?)",
            (RESOLVED, now - row_retention, ESCALATED, now - alarm_retention))
        await self.db.transaction([
            ("UPDATE checkins_checkins SET note = NULL WHERE state = ? AND resolved_at < ?",
             (RESOLVED, now - note_retention)),
            ("DELETE FROM checkins_alerts WHERE checkin_id IN (SELECT id FROM checkins_checkins "
             "WHERE state = ? AND resolved_at < ?)", (RESOLVED, now - row_retention)),
            ("DELETE FROM checkins_checkins WHERE state = ? AND resolved_at < ?",
             (RESOLVED, now - row_retention)),
            # Duress alarms and escalations never resolved: their note goes with the
            # resolved ones' rows, the rows themselves after the alarm retention.
            ("UPDATE checkins_checkins SET note = NULL WHERE urgent = 1 AND escalated_at < ?",
             (now - min(row_retention, alarm_retention),)),
            (f"DELETE FROM checkins_alerts WHERE checkin_id IN ({stale})",
             (now - alarm_retention,)),
            (f"DELETE FROM checkins_checkins WHERE id IN ({stale})", (now - alarm_retention,)),
            ("DELETE FROM checkins_contact_requests WHERE blocked = 0 AND "
             "(last_sent IS NULL OR last_sent < ?)", (now - 24 * 3600.0,)),
            # A request message answers nothing once its request is no longer pending.
            ("DELETE FROM checkins_request_messages WHERE NOT EXISTS (SELECT 1 FROM "
             "checkins_contacts c WHERE c.owner = checkins_request_messages.owner AND "
             "c.ref = checkins_request_messages.ref AND c.state = 'pending')", ()),
            ("DELETE FROM checkins_rollcall_members WHERE rollcall_id IN (SELECT id FROM "
             "checkins_rollcalls WHERE state = 'closed' AND deadline < ?)", (now - row_retention,)),
            ("DELETE FROM checkins_rollcalls WHERE state = 'closed' AND deadline < ?",
             (now - row_retention,)),
        ])
        return int(rows[0]["n"]) if rows else 0

    # -- alerts ----------------------------------------------------------------

    def alert_statement(self, checkin_id: str, recipient: str, kind: str, key: str) -> Statement:
        return (
            "INSERT OR IGNORE INTO checkins_alerts (checkin_id, recipient, kind, outbox_key) "
            "VALUES (?, ?, ?, ?)",
            (checkin_id, self._seal(recipient, RECIPIENT_CONTEXT), kind, key),
        )

    async def alerts(self, checkin_id: str) -> list[Alert]:
        rows = await self.db.fetchall(
            "SELECT * FROM checkins_alerts WHERE checkin_id = ? ORDER BY rowid", (checkin_id,)
        )
        return [self._alert(r) for r in rows]

    async def alert_by_key(self, key: str) -> Alert | None:
        r = await self.db.fetchone("SELECT * FROM checkins_alerts WHERE outbox_key = ?", (key,))
        return self._alert(r) if r else None

    async def alert_by_event(self, event_id: str) -> Alert | None:
        r = await self.db.fetchone("SELECT * FROM checkins_alerts WHERE event_id = ?", (event_id,))
        return self._alert(r) if r else None

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
            (rollcall.id, rollcall.room_id, rollcall.organizer,
             self._seal(rollcall.note, ROLLCALL_NOTE_CONTEXT),
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
        return self._rollcall(row) if row else None

    async def open_rollcalls(self, room_id: str) -> list[Rollcall]:
        rows = await self.db.fetchall(
            "SELECT * FROM checkins_rollcalls WHERE room_id = ? AND state = 'open'", (room_id,)
        )
        return [self._rollcall(row) for row in rows]

    async def rollcall_by_event(self, event_id: str) -> Rollcall | None:
        row = await self.db.fetchone(
            "SELECT * FROM checkins_rollcalls WHERE event_id = ? AND state = 'open'", (event_id,)
        )
        return self._rollcall(row) if row else None

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
