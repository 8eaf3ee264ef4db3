"""The moderation plugin's tables: mod log, strikes, mutes, raids, reports, policy lists and their bans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bots.moderation.policy import PolicyRule
from core.sealed import Sealer
from core.storage import Database, Migration

# Sealed columns (core/sealed.py), each bound to its place. What people typed or
# what says who was reported is sealed; ids, times and states stay plain for queries.
LOG_REASON = "moderation.log_reason"
REPORT_TARGET = "moderation.report_target"
REPORT_EVENT = "moderation.report_event"
POLICY_REASON = "moderation.policy_reason"

MIGRATIONS = [
    Migration(
        1,
        "mod log, strikes, mutes, raids, reports, join times, policy lists, rules and their bans",
        """
        CREATE TABLE moderation_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, room_id TEXT NOT NULL,
            actor TEXT NOT NULL, target TEXT NOT NULL, action TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '', trigger TEXT NOT NULL DEFAULT '');
        CREATE INDEX moderation_log_target ON moderation_log (target, at);
        CREATE INDEX moderation_log_at ON moderation_log (at);
        CREATE TABLE moderation_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE moderation_strikes (
            room_id TEXT NOT NULL, user_id TEXT NOT NULL, at REAL NOT NULL,
            protection TEXT NOT NULL);
        CREATE INDEX moderation_strikes_user ON moderation_strikes (room_id, user_id, at);
        CREATE TABLE moderation_mutes (
            room_id TEXT NOT NULL, user_id TEXT NOT NULL, previous_level INTEGER,
            PRIMARY KEY (room_id, user_id));
        CREATE TABLE moderation_raids (
            room_id TEXT PRIMARY KEY, previous_rule TEXT NOT NULL, started_at REAL NOT NULL);
        CREATE TABLE moderation_joins (
            room_id TEXT NOT NULL, user_id TEXT NOT NULL, joined_at REAL NOT NULL,
            PRIMARY KEY (room_id, user_id));
        CREATE TABLE moderation_reports (
            report_event_id TEXT PRIMARY KEY, management_room TEXT NOT NULL,
            room_id TEXT NOT NULL, event_id TEXT NOT NULL, target TEXT NOT NULL,
            created_at REAL NOT NULL, closed INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE moderation_lists (
            room_id TEXT PRIMARY KEY, source TEXT NOT NULL, added_at REAL NOT NULL);
        CREATE TABLE moderation_policy_rules (
            list_room TEXT NOT NULL, event_type TEXT NOT NULL, state_key TEXT NOT NULL,
            kind TEXT NOT NULL, entity TEXT NOT NULL, reason TEXT NOT NULL,
            PRIMARY KEY (list_room, event_type, state_key));
        CREATE TABLE moderation_policy_bans (
            room_id TEXT NOT NULL, user_id TEXT NOT NULL, list_room TEXT NOT NULL,
            event_type TEXT NOT NULL, state_key TEXT NOT NULL,
            PRIMARY KEY (room_id, user_id));
        CREATE INDEX moderation_policy_bans_rule
            ON moderation_policy_bans (list_room, event_type, state_key)
        """,
    ),
]


@dataclass(frozen=True)
class LogEntry:
    at: float
    room_id: str
    actor: str
    target: str
    action: str
    reason: str
    trigger: str


Statement = tuple[str, Sequence[Any]]


class ModerationStore:
    """SQL of the moderation tables; every statement parameterised.

    At rest (a seized disk): mod-log reasons (a moderator's free text, e.g. a
    warning's), who a report is about and which message it is, and the reasons
    of policy rules are sealed. The mod log's actor and target stay plain, as
    `!modlog @user` looks entries up by target (a keyed hash would need core);
    reporters are never stored, nor are report excerpts or reasons (they live
    in the moderators' encrypted room, or the sealed outbox on the way there).
    """

    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer

    async def migrate(self) -> None:
        await self.db.migrate("moderation", MIGRATIONS)

    # -- key/value state --------------------------------------------------

    async def get(self, key: str) -> str | None:
        row = await self.db.fetchone("SELECT value FROM moderation_state WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def put(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO moderation_state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # -- mod log ----------------------------------------------------------

    def log_statement(self, entry: LogEntry) -> Statement:
        reason = self.sealer.seal(entry.reason, context=LOG_REASON) if entry.reason else ""
        return ("INSERT INTO moderation_log (at, room_id, actor, target, action, reason, trigger) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry.at, entry.room_id, entry.actor, entry.target, entry.action, reason,
                 entry.trigger))

    async def log(self, entry: LogEntry) -> None:
        sql, params = self.log_statement(entry)
        await self.db.execute(sql, params)

    async def recent_log(self, target: str | None, limit: int,
                         room_id: str | None = None) -> list[LogEntry]:
        """The newest entries, of one member and/or one room (None: all)."""
        rows = await self.db.fetchall(
            "SELECT at, room_id, actor, target, action, reason, trigger FROM moderation_log "
            "WHERE (? IS NULL OR target = ?) AND (? IS NULL OR room_id = ?) "
            "ORDER BY at DESC, id DESC LIMIT ?",
            (target, target, room_id, room_id, limit))
        entries = []
        for row in rows:
            values = dict(row)
            values["reason"] = self.sealer.open(str(values["reason"] or ""), context=LOG_REASON)
            entries.append(LogEntry(**values))
        return entries

    async def prune_log(self, before: float) -> int:
        return await self.db.execute("DELETE FROM moderation_log WHERE at < ?", (before,))

    async def prune(self, before: float) -> None:
        """Drop reports, strikes and join times older than `before` (the retention window)."""
        await self.db.transaction([
            ("DELETE FROM moderation_reports WHERE created_at < ?", (before,)),
            ("DELETE FROM moderation_strikes WHERE at < ?", (before,)),
            ("DELETE FROM moderation_joins WHERE joined_at < ?", (before,)),
        ])

    # -- strikes ----------------------------------------------------------

    async def add_strike(self, room_id: str, user_id: str, at: float, protection: str,
                         window: float) -> int:
        """Record a strike; returns how many strikes the member has within the window."""
        await self.db.transaction([
            ("DELETE FROM moderation_strikes WHERE room_id = ? AND user_id = ? AND at < ?",
             (room_id, user_id, at - window)),
            ("INSERT INTO moderation_strikes (room_id, user_id, at, protection) VALUES (?, ?, ?, ?)",
             (room_id, user_id, at, protection)),
        ])
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM moderation_strikes WHERE room_id = ? AND user_id = ?",
            (room_id, user_id))
        return int(row["n"]) if row else 1

    # -- mutes ------------------------------------------------------------

    async def remember_mute(self, room_id: str, user_id: str, previous: int | None) -> None:
        await self.db.execute(
            "INSERT INTO moderation_mutes (room_id, user_id, previous_level) VALUES (?, ?, ?) "
            "ON CONFLICT(room_id, user_id) DO NOTHING", (room_id, user_id, previous))

    async def muted(self, room_id: str, user_id: str) -> tuple[bool, int | None]:
        """(muted by us, the level the member had before); kept until `forget_mute`."""
        row = await self.db.fetchone(
            "SELECT previous_level FROM moderation_mutes WHERE room_id = ? AND user_id = ?",
            (room_id, user_id))
        if row is None:
            return False, None
        return True, row["previous_level"]

    async def forget_mute(self, room_id: str, user_id: str) -> None:
        await self.db.execute("DELETE FROM moderation_mutes WHERE room_id = ? AND user_id = ?",
                              (room_id, user_id))

    async def take_mute(self, room_id: str, user_id: str) -> tuple[bool, int | None]:
        found = await self.muted(room_id, user_id)
        if found[0]:
            await self.forget_mute(room_id, user_id)
        return found

    # -- raids ------------------------------------------------------------

    async def start_raid(self, room_id: str, previous_rule: str, at: float) -> bool:
        changed = await self.db.execute(
            "INSERT INTO moderation_raids (room_id, previous_rule, started_at) VALUES (?, ?, ?) "
            "ON CONFLICT(room_id) DO NOTHING", (room_id, previous_rule, at))
        return changed > 0

    async def raid(self, room_id: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT previous_rule FROM moderation_raids WHERE room_id = ?", (room_id,))
        return str(row["previous_rule"]) if row else None

    async def end_raid(self, room_id: str) -> None:
        await self.db.execute("DELETE FROM moderation_raids WHERE room_id = ?", (room_id,))

    # -- join times (newcomer protection) ----------------------------------

    async def joined(self, room_id: str, user_id: str, at: float) -> None:
        await self.db.execute(
            "INSERT INTO moderation_joins (room_id, user_id, joined_at) VALUES (?, ?, ?) "
            "ON CONFLICT(room_id, user_id) DO UPDATE SET joined_at = excluded.joined_at",
            (room_id, user_id, at))

    async def joined_at(self, room_id: str, user_id: str) -> float | None:
        row = await self.db.fetchone(
            "SELECT joined_at FROM moderation_joins WHERE room_id = ? AND user_id = ?",
            (room_id, user_id))
        return float(row["joined_at"]) if row else None

    # -- reports ----------------------------------------------------------

    async def add_report(self, report_event_id: str, management_room: str, room_id: str,
                         event_id: str, target: str, at: float) -> None:
        await self.db.execute(
            "INSERT OR IGNORE INTO moderation_reports (report_event_id, management_room, room_id, "
            "event_id, target, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (report_event_id, management_room, room_id,
             self.sealer.seal(event_id, context=REPORT_EVENT),
             self.sealer.seal(target, context=REPORT_TARGET), at))

    async def report(self, report_event_id: str) -> dict[str, Any] | None:
        row = await self.db.fetchone(
            "SELECT * FROM moderation_reports WHERE report_event_id = ?", (report_event_id,))
        if row is None:
            return None
        report = dict(row)
        report["event_id"] = self.sealer.open(str(report["event_id"]), context=REPORT_EVENT)
        report["target"] = self.sealer.open(str(report["target"]), context=REPORT_TARGET)
        return report

    async def close_report(self, report_event_id: str) -> bool:
        changed = await self.db.execute(
            "UPDATE moderation_reports SET closed = 1 WHERE report_event_id = ? AND closed = 0",
            (report_event_id,))
        return changed > 0

    # -- policy lists -----------------------------------------------------

    async def lists(self) -> list[str]:
        rows = await self.db.fetchall("SELECT room_id FROM moderation_lists ORDER BY added_at")
        return [str(row["room_id"]) for row in rows]

    async def add_list(self, room_id: str, source: str, at: float) -> bool:
        changed = await self.db.execute(
            "INSERT INTO moderation_lists (room_id, source, added_at) VALUES (?, ?, ?) "
            "ON CONFLICT(room_id) DO NOTHING", (room_id, source, at))
        return changed > 0

    async def remove_list(self, room_id: str) -> bool:
        await self.db.transaction([
            ("DELETE FROM moderation_lists WHERE room_id = ?", (room_id,)),
            ("DELETE FROM moderation_policy_rules WHERE list_room = ?", (room_id,)),
        ])
        return True

    async def rules(self) -> list[PolicyRule]:
        rows = await self.db.fetchall("SELECT * FROM moderation_policy_rules")
        return [PolicyRule(row["list_room"], row["event_type"], row["state_key"], row["kind"],
                           row["entity"], self.sealer.open(str(row["reason"]),
                                                           context=POLICY_REASON))
                for row in rows]

    def rule_statements(self, added: Sequence[PolicyRule],
                        removed: Sequence[tuple[str, str, str]]) -> list[Statement]:
        statements: list[Statement] = [
            ("DELETE FROM moderation_policy_rules WHERE list_room = ? AND event_type = ? "
             "AND state_key = ?", key) for key in removed]
        statements += [
            ("INSERT INTO moderation_policy_rules (list_room, event_type, state_key, kind, entity, "
             "reason) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(list_room, event_type, state_key) DO "
             "UPDATE SET kind = excluded.kind, entity = excluded.entity, reason = excluded.reason",
             (r.list_room, r.event_type, r.state_key, r.kind, r.entity,
              self.sealer.seal(r.reason, context=POLICY_REASON) if r.reason else ""))
            for r in added]
        return statements

    async def save_rules(self, added: Sequence[PolicyRule],
                         removed: Sequence[tuple[str, str, str]]) -> None:
        await self.db.transaction(self.rule_statements(added, removed))

    async def policy_ban(self, room_id: str, user_id: str, rule: PolicyRule) -> None:
        await self.db.execute(
            "INSERT INTO moderation_policy_bans (room_id, user_id, list_room, event_type, state_key) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(room_id, user_id) DO UPDATE SET "
            "list_room = excluded.list_room, event_type = excluded.event_type, "
            "state_key = excluded.state_key",
            (room_id, user_id, *rule.key))

    async def bans_of_rule(self, key: tuple[str, str, str]) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT room_id, user_id FROM moderation_policy_bans WHERE list_room = ? AND "
            "event_type = ? AND state_key = ?", key)
        return [(str(row["room_id"]), str(row["user_id"])) for row in rows]

    async def is_policy_banned(self, room_id: str, user_id: str) -> bool:
        return await self.db.fetchone(
            "SELECT 1 FROM moderation_policy_bans WHERE room_id = ? AND user_id = ?",
            (room_id, user_id)) is not None

    async def forget_policy_ban(self, room_id: str, user_id: str) -> None:
        await self.db.execute(
            "DELETE FROM moderation_policy_bans WHERE room_id = ? AND user_id = ?", (room_id, user_id))
