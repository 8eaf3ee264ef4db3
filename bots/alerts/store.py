"""The alerts plugin's tables: alerts, per-target deliveries, acknowledgements, tags, subscriptions, audit.

All SQL of the plugin lives here, parameterised. Multi-statement changes are
returned as statement lists so the caller can commit them together with the
outbox's own rows in one transaction.

An alert's texts (every language version, drafts included) are stored sealed
(core/sealed.py, context "alerts.versions"): the database file alone does not
say what the organizers told the network. Ids, times, states, targets and the
audit (actor, action, alert id; it holds no text) stay plain for the queries.
Rows written before sealing are read as they are, and sealed in place when the
plugin starts (`seal_old_rows`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bots.alerts.compose import Targets, Versions
from core.sealed import PREFIX, Sealer
from core.storage import Database, Migration

Statement = tuple[str, Sequence[Any]]

MIGRATIONS = [
    Migration(
        1,
        "alerts, deliveries, acknowledgements, room tags, DM subscriptions, audit",
        """
        CREATE TABLE alerts_alerts (
            id TEXT PRIMARY KEY, author TEXT NOT NULL, created_at REAL NOT NULL,
            state TEXT NOT NULL, urgent INTEGER NOT NULL, targets TEXT NOT NULL,
            versions TEXT NOT NULL, due_at REAL, sent_at REAL,
            version INTEGER NOT NULL DEFAULT 1, retracted INTEGER NOT NULL DEFAULT 0,
            status_room TEXT, status_event TEXT, reminded INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX alerts_alerts_author ON alerts_alerts (author, state);
        CREATE TABLE alerts_deliveries (
            alert_id TEXT NOT NULL REFERENCES alerts_alerts (id) ON DELETE CASCADE,
            kind TEXT NOT NULL, target TEXT NOT NULL, room_id TEXT, language TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'queued', event_id TEXT, error TEXT,
            version INTEGER NOT NULL DEFAULT 1, redacted INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (alert_id, kind, target));
        CREATE INDEX alerts_deliveries_event ON alerts_deliveries (event_id);
        CREATE INDEX alerts_deliveries_room ON alerts_deliveries (room_id);
        CREATE TABLE alerts_acks (
            alert_id TEXT NOT NULL REFERENCES alerts_alerts (id) ON DELETE CASCADE,
            room_id TEXT NOT NULL, user_id TEXT NOT NULL, at REAL NOT NULL,
            PRIMARY KEY (alert_id, room_id, user_id));
        CREATE TABLE alerts_room_tags (
            room_id TEXT NOT NULL, tag TEXT NOT NULL, added_by TEXT NOT NULL,
            PRIMARY KEY (room_id, tag));
        CREATE TABLE alerts_subscriptions (
            user_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (user_id, tag));
        CREATE TABLE alerts_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
            action TEXT NOT NULL, alert_id TEXT NOT NULL);
        CREATE INDEX alerts_audit_at ON alerts_audit (at)
        """,
    ),
]

# States of an alert: a draft awaits `!alert send`; scheduled waits for its
# time; sending has deliveries in the outbox; done has them all settled.
DRAFT, SCHEDULED, SENDING, DONE, CANCELLED = "draft", "scheduled", "sending", "done", "cancelled"
ROOM, DM = "room", "dm"


@dataclass(frozen=True)
class Alert:
    id: str
    author: str
    created_at: float
    state: str
    urgent: bool
    targets: Targets
    versions: Versions
    due_at: float | None
    sent_at: float | None
    version: int
    retracted: bool
    status_room: str | None
    status_event: str | None
    reminded: bool


@dataclass(frozen=True)
class Delivery:
    alert_id: str
    kind: str
    target: str
    room_id: str | None
    language: str
    state: str
    event_id: str | None
    error: str | None
    version: int
    redacted: bool


def new_alert_id() -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
    return "".join(secrets.choice(alphabet) for _ in range(6))


VERSIONS_CONTEXT = "alerts.versions"


def _alert(row: Any, sealer: Sealer) -> Alert:
    versions = sealer.open_json(row["versions"], context=VERSIONS_CONTEXT)
    return Alert(
        id=row["id"], author=row["author"], created_at=row["created_at"], state=row["state"],
        urgent=bool(row["urgent"]), targets=Targets.from_json(json.loads(row["targets"])),
        versions=Versions.from_json(versions), due_at=row["due_at"],
        sent_at=row["sent_at"], version=row["version"], retracted=bool(row["retracted"]),
        status_room=row["status_room"], status_event=row["status_event"],
        reminded=bool(row["reminded"]),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        alert_id=row["alert_id"], kind=row["kind"], target=row["target"], room_id=row["room_id"],
        language=row["language"], state=row["state"], event_id=row["event_id"],
        error=row["error"], version=row["version"], redacted=bool(row["redacted"]),
    )


class AlertStore:
    """Reads and writes of the alerts tables."""

    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer

    def _sealed_versions(self, versions: Versions) -> str:
        return self.sealer.seal_json(versions.to_json(), context=VERSIONS_CONTEXT)

    async def migrate(self) -> None:
        await self.db.migrate("alerts", MIGRATIONS)
        await self.seal_old_rows()

    async def seal_old_rows(self) -> int:
        """Seal alert texts stored in clear before sealing existed; returns how many."""
        rows = await self.db.fetchall(
            "SELECT id, versions FROM alerts_alerts WHERE versions NOT LIKE ?", (PREFIX + "%",)
        )
        await self.db.transaction([
            ("UPDATE alerts_alerts SET versions = ? WHERE id = ? AND versions = ?",
             (self.sealer.seal_json(json.loads(row["versions"]), context=VERSIONS_CONTEXT),
              row["id"], row["versions"]))
            for row in rows
        ])
        return len(rows)

    # -- alerts ------------------------------------------------------------

    async def alert(self, alert_id: str) -> Alert | None:
        row = await self.db.fetchone("SELECT * FROM alerts_alerts WHERE id = ?", (alert_id,))
        return _alert(row, self.sealer) if row else None

    async def draft_of(self, author: str) -> Alert | None:
        row = await self.db.fetchone(
            "SELECT * FROM alerts_alerts WHERE author = ? AND state = ? "
            "ORDER BY created_at DESC LIMIT 1", (author, DRAFT),
        )
        return _alert(row, self.sealer) if row else None

    async def save_draft(self, author: str, now: float, urgent: bool, targets: Targets,
                         versions: Versions, due_at: float | None) -> str:
        """Store a new draft, replacing the author's previous one (one pending preview each)."""
        alert_id = new_alert_id()
        while await self.alert(alert_id) is not None:
            alert_id = new_alert_id()
        await self.db.transaction([
            ("DELETE FROM alerts_alerts WHERE author = ? AND state = ?", (author, DRAFT)),
            ("INSERT INTO alerts_alerts (id, author, created_at, state, urgent, targets, "
             "versions, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
             (alert_id, author, now, DRAFT, int(urgent), json.dumps(targets.to_json()),
              self._sealed_versions(versions), due_at)),
        ])
        return alert_id

    async def discard_draft(self, author: str) -> bool:
        changed = await self.db.execute(
            "DELETE FROM alerts_alerts WHERE author = ? AND state = ?", (author, DRAFT)
        )
        return changed > 0

    async def recent(self, limit: int) -> list[Alert]:
        rows = await self.db.fetchall(
            "SELECT * FROM alerts_alerts WHERE state != ? ORDER BY created_at DESC LIMIT ?",
            (DRAFT, limit),
        )
        return [_alert(row, self.sealer) for row in rows]

    async def in_state(self, *states: str) -> list[Alert]:
        marks = ",".join("?" for _ in states)
        rows = await self.db.fetchall(
            f"SELECT * FROM alerts_alerts WHERE state IN ({marks}) ORDER BY created_at", states
        )
        return [_alert(row, self.sealer) for row in rows]

    def set_state(self, alert_id: str, state: str, expected: str) -> Statement:
        return ("UPDATE alerts_alerts SET state = ? WHERE id = ? AND state = ?",
                (state, alert_id, expected))

    async def change_state(self, alert_id: str, state: str, expected: str) -> bool:
        sql, params = self.set_state(alert_id, state, expected)
        return await self.db.execute(sql, params) > 0

    def start_sending(self, alert_id: str, expected: str, now: float, status_room: str,
                      status_event: str | None) -> Statement:
        return ("UPDATE alerts_alerts SET state = ?, sent_at = ?, status_room = ?, "
                "status_event = ? WHERE id = ? AND state = ?",
                (SENDING, now, status_room, status_event, alert_id, expected))

    async def set_status_event(self, alert_id: str, event_id: str) -> None:
        await self.db.execute("UPDATE alerts_alerts SET status_event = ? WHERE id = ?",
                              (event_id, alert_id))

    async def replace_text(self, alert_id: str, versions: Versions) -> int:
        """Store an edit; returns the alert's new version number."""
        await self.db.execute(
            "UPDATE alerts_alerts SET versions = ?, version = version + 1 WHERE id = ?",
            (self._sealed_versions(versions), alert_id),
        )
        row = await self.db.fetchone("SELECT version FROM alerts_alerts WHERE id = ?", (alert_id,))
        return int(row["version"]) if row else 0

    async def mark_retracted(self, alert_id: str) -> None:
        await self.db.execute("UPDATE alerts_alerts SET retracted = 1 WHERE id = ?", (alert_id,))

    async def mark_reminded(self, alert_id: str) -> None:
        await self.db.execute("UPDATE alerts_alerts SET reminded = 1 WHERE id = ?", (alert_id,))

    # -- deliveries --------------------------------------------------------

    def add_delivery(self, alert_id: str, kind: str, target: str, room_id: str | None,
                     language: str, version: int) -> Statement:
        return ("INSERT INTO alerts_deliveries (alert_id, kind, target, room_id, language, "
                "version) VALUES (?, ?, ?, ?, ?, ?)",
                (alert_id, kind, target, room_id, language, version))

    async def deliveries(self, alert_id: str) -> list[Delivery]:
        rows = await self.db.fetchall(
            "SELECT * FROM alerts_deliveries WHERE alert_id = ? ORDER BY kind DESC, target",
            (alert_id,),
        )
        return [_delivery(row) for row in rows]

    async def delivery(self, alert_id: str, kind: str, target: str) -> Delivery | None:
        row = await self.db.fetchone(
            "SELECT * FROM alerts_deliveries WHERE alert_id = ? AND kind = ? AND target = ?",
            (alert_id, kind, target),
        )
        return _delivery(row) if row else None

    async def record_result(self, alert_id: str, kind: str, target: str, state: str,
                            event_id: str | None, room_id: str | None, error: str | None) -> bool:
        """Store a delivery's outcome; False when it was already recorded."""
        changed = await self.db.execute(
            "UPDATE alerts_deliveries SET state = ?, event_id = ?, "
            "room_id = COALESCE(?, room_id), error = ? "
            "WHERE alert_id = ? AND kind = ? AND target = ? AND state = 'queued'",
            (state, event_id, room_id, error, alert_id, kind, target),
        )
        return changed > 0

    async def set_delivery_version(self, alert_id: str, kind: str, target: str,
                                   version: int) -> None:
        await self.db.execute(
            "UPDATE alerts_deliveries SET version = ? WHERE alert_id = ? AND kind = ? AND target = ?",
            (version, alert_id, kind, target),
        )

    async def set_redacted(self, alert_id: str, kind: str, target: str) -> None:
        await self.db.execute(
            "UPDATE alerts_deliveries SET redacted = 1 WHERE alert_id = ? AND kind = ? AND target = ?",
            (alert_id, kind, target),
        )

    async def by_event(self, event_id: str) -> Delivery | None:
        row = await self.db.fetchone(
            "SELECT * FROM alerts_deliveries WHERE event_id = ?", (event_id,)
        )
        return _delivery(row) if row else None

    async def latest_in_room(self, room_id: str) -> Delivery | None:
        """The newest alert delivered into this room (for a bare `!ack`)."""
        row = await self.db.fetchone(
            "SELECT d.* FROM alerts_deliveries d JOIN alerts_alerts a ON a.id = d.alert_id "
            "WHERE d.room_id = ? AND d.state = 'sent' AND a.retracted = 0 "
            "ORDER BY a.sent_at DESC LIMIT 1", (room_id,),
        )
        return _delivery(row) if row else None

    async def unsettled(self, alert_id: str) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM alerts_deliveries WHERE alert_id = ? AND state = 'queued'",
            (alert_id,),
        )
        return int(row["n"]) if row else 0

    # -- acknowledgements --------------------------------------------------

    async def acknowledge(self, alert_id: str, room_id: str, user_id: str, now: float) -> bool:
        """Record one member's acknowledgement; False when they had already acknowledged."""
        changed = await self.db.execute(
            "INSERT OR IGNORE INTO alerts_acks (alert_id, room_id, user_id, at) VALUES (?, ?, ?, ?)",
            (alert_id, room_id, user_id, now),
        )
        return changed > 0

    async def ack_counts(self, alert_id: str) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT room_id, COUNT(*) AS n FROM alerts_acks WHERE alert_id = ? GROUP BY room_id",
            (alert_id,),
        )
        return {row["room_id"]: int(row["n"]) for row in rows}

    # -- room tags and subscriptions ---------------------------------------

    async def add_tag(self, room_id: str, tag: str, by: str) -> bool:
        changed = await self.db.execute(
            "INSERT OR IGNORE INTO alerts_room_tags (room_id, tag, added_by) VALUES (?, ?, ?)",
            (room_id, tag, by),
        )
        return changed > 0

    async def remove_tag(self, room_id: str, tag: str) -> bool:
        changed = await self.db.execute(
            "DELETE FROM alerts_room_tags WHERE room_id = ? AND tag = ?", (room_id, tag)
        )
        return changed > 0

    async def tags_of(self, room_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT tag FROM alerts_room_tags WHERE room_id = ? ORDER BY tag", (room_id,)
        )
        return [row["tag"] for row in rows]

    async def all_tags(self) -> dict[str, list[str]]:
        """Every tag and the rooms that carry it."""
        rows = await self.db.fetchall("SELECT tag, room_id FROM alerts_room_tags ORDER BY tag")
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["tag"], []).append(row["room_id"])
        return found

    async def subscribe(self, user_id: str, tag: str) -> bool:
        changed = await self.db.execute(
            "INSERT OR IGNORE INTO alerts_subscriptions (user_id, tag) VALUES (?, ?)", (user_id, tag)
        )
        return changed > 0

    async def unsubscribe(self, user_id: str, tag: str | None) -> int:
        if tag is None:
            return await self.db.execute(
                "DELETE FROM alerts_subscriptions WHERE user_id = ?", (user_id,)
            )
        return await self.db.execute(
            "DELETE FROM alerts_subscriptions WHERE user_id = ? AND tag = ?", (user_id, tag)
        )

    async def subscribers(self, tags: Sequence[str] | None) -> list[str]:
        """Members subscribed to every alert, plus (when given) to one of these tags.

        `tags=None` means an alert to the whole network: every subscriber.
        """
        if tags is None:
            rows = await self.db.fetchall(
                "SELECT DISTINCT user_id FROM alerts_subscriptions ORDER BY user_id"
            )
        else:
            marks = ",".join("?" for _ in tags) or "NULL"
            rows = await self.db.fetchall(
                "SELECT DISTINCT user_id FROM alerts_subscriptions "
                f"WHERE tag = '' OR tag IN ({marks}) ORDER BY user_id", tuple(tags),
            )
        return [row["user_id"] for row in rows]

    # -- audit -------------------------------------------------------------

    def audit(self, actor: str, action: str, alert_id: str, now: float) -> Statement:
        return ("INSERT INTO alerts_audit (at, actor, action, alert_id) VALUES (?, ?, ?, ?)",
                (now, actor, action, alert_id))

    async def record(self, actor: str, action: str, alert_id: str, now: float) -> None:
        sql, params = self.audit(actor, action, alert_id, now)
        await self.db.execute(sql, params)

    async def audit_log(self, limit: int) -> list[Any]:
        return await self.db.fetchall(
            "SELECT at, actor, action, alert_id FROM alerts_audit ORDER BY id DESC LIMIT ?", (limit,)
        )

    async def prune(self, before: float) -> int:
        """Forget audit entries and settled alerts (with their texts) older than `before`."""
        removed = await self.db.execute("DELETE FROM alerts_audit WHERE at < ?", (before,))
        removed += await self.db.execute(
            "DELETE FROM alerts_alerts WHERE created_at < ? AND state IN (?, ?, ?)",
            (before, DONE, CANCELLED, DRAFT),
        )
        return removed
