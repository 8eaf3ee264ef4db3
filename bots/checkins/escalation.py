"""Escalation of a missed or duress check-in: who is alerted, with what, exactly once.

Every message goes through the core outbox under a key derived from
(check-in id, step, recipient), written in the same transaction as the state
change. A handler interrupted by a crash runs again and re-enqueues the same
keys, which the outbox ignores; the outbox's transaction ids make a send
repeated after `kill -9` a no-op at the homeserver. So each alert goes out
once, and none is lost.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bots.checkins.messages import CATALOG
from bots.checkins.store import ESCALATED, RESOLVED, Checkin, CheckinStore, Statement
from core.i18n import Trusted, format_duration
from core.outbox import BULK, SAFETY
from core.plugin import message_content
from core.timeparse import format_time, zone_named

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger(__name__)

OWNER = "checkins"
# An escalation later than this (the bot was down) says so in the alert.
LATE_NOTICE_SECONDS = 60.0


@dataclass(frozen=True)
class Policy:
    """The escalation settings that apply to one check-in."""

    mode: str  # contacts | team | contacts_then_team | contacts_and_team
    team_room: str
    team_after: float
    default_timezone: str


class Escalator:
    """Builds and enqueues alerts, acknowledgements and all-clears."""

    def __init__(self, runtime: Runtime, store: CheckinStore,
                 say_statements: Callable[..., list[Statement]]) -> None:
        self.runtime = runtime
        self.store = store
        # Plugin.say_statements: a catalog message queued in the caller's transaction.
        self.say_statements = say_statements

    # -- reader-specific rendering -----------------------------------------

    def zone_of(self, user_id: str | None, default: str) -> ZoneInfo:
        """The zone `user_id` reads times in: their own (core's), else the check-ins default
        (`default`, the network's setting), else the bot's (bot.default_timezone)."""
        zones = self.runtime.zones
        chosen = zones.chosen(user_id) if user_id is not None else None
        return chosen or zone_named(default) or zones.default

    def language_of(self, user_id: str | None, room_id: str | None) -> str:
        return self.runtime.languages.for_reader(user_id, room_id)

    def text(self, key: str, language: str, **values: Any) -> str:
        return CATALOG.text(key, language, **values)

    async def alert_text(self, checkin: Checkin, reader: str | None, room_id: str | None,
                         policy: Policy, late_by: float) -> str:
        language = self.language_of(reader, room_id)
        zone = self.zone_of(reader, policy.default_timezone)
        now = self.runtime.clock.now()
        values: dict[str, Any] = {
            "member": checkin.user_id,
            "set_at": Trusted(format_time(checkin.created_at, zone, now)),
            "deadline": Trusted(format_time(checkin.deadline, zone, now)),
            "last_seen": Trusted(format_time(checkin.last_seen, zone, now)),
            "id": Trusted(checkin.id),
        }
        lines = [self.text("alert_urgent" if checkin.urgent else "alert", language, **values)]
        lines.append(self.text("alert_note", language, note=checkin.note) if checkin.note
                     else self.text("alert_no_note", language))
        if late_by >= LATE_NOTICE_SECONDS:
            lines.append(self.text("alert_late", language, late=Trusted(format_duration(late_by, language))))
        lines.append(self.text("alert_how_to_ack", language, id=Trusted(checkin.id)))
        return "\n".join(lines)

    # -- the steps ---------------------------------------------------------

    def team_room_usable(self, policy: Policy) -> bool:
        room = policy.team_room
        if not room:
            return False
        rooms = self.runtime.rooms
        # Alerts carry notes about people in danger: never into a clear-text room.
        return self.runtime.bot_user_id in rooms.members(room) and rooms.is_encrypted(room)

    async def first_step(self, checkin: Checkin, policy: Policy, late_by: float,
                         ) -> tuple[list[Statement], int, bool]:
        """Statements alerting the first step's recipients; (statements, count, team_next)."""
        statements: list[Statement] = []
        contacts = await self.store.accepted_contacts(checkin.user_id)
        use_contacts = policy.mode != "team" and bool(contacts)
        use_team_now = checkin.urgent or policy.mode in ("team", "contacts_and_team") or (
            not use_contacts)
        count = 0
        if use_contacts:
            for contact in contacts:
                statements += await self.contact_alert_statements(checkin, contact, policy, late_by)
                count += 1
        if use_team_now and self.team_room_usable(policy):
            statements += await self.team_alert_statements(checkin, policy, late_by,
                                                           "u" if checkin.urgent else "1")
            count += 1
        team_next = (use_contacts and not use_team_now and policy.mode == "contacts_then_team"
                     and self.team_room_usable(policy))
        return statements, count, team_next

    async def contact_alert_statements(self, checkin: Checkin, contact: str, policy: Policy,
                                       late_by: float) -> list[Statement]:
        # An urgent (duress) alert after an ordinary one is a new message, so a new key.
        # Keys name the contact by their sealed-store ref, never by user id.
        key = (f"alert/{checkin.id}/{'u' if checkin.urgent else '1'}/"
               f"{self.store.ref(checkin.user_id, contact)}")
        text = await self.alert_text(checkin, contact, None, policy, late_by)
        return [
            self.store.alert_statement(checkin.id, contact, "contact", key),
            *self.runtime.outbox.enqueue_statements(OWNER, key, message_content(text),
                                                    user_id=contact, priority=SAFETY),
        ]

    async def team_alert_statements(self, checkin: Checkin, policy: Policy, late_by: float,
                                    step: str) -> list[Statement]:
        room = policy.team_room
        key = f"alert/{checkin.id}/{step}/{room}"
        text = await self.alert_text(checkin, None, room, policy, late_by)
        return [
            self.store.alert_statement(checkin.id, room, "team", key),
            *self.runtime.outbox.enqueue_statements(OWNER, key, message_content(text),
                                                    room_id=room, priority=SAFETY),
        ]

    async def escalate(self, checkin: Checkin, policy: Policy, late_by: float,
                       urgent: bool = False) -> tuple[int, bool]:
        """Mark escalated and alert the first step, all in one transaction."""
        now = self.runtime.clock.now()
        checkin = dataclasses.replace(checkin, urgent=checkin.urgent or urgent, state=ESCALATED)
        statements, count, team_next = await self.first_step(checkin, policy, late_by)
        statements.insert(0, self.store.escalate_statement(checkin.id, now, late_by,
                                                           checkin.urgent))
        if count == 0 and not checkin.urgent:
            # Nobody to alert: the member at least hears it, so they can act.
            statements += self.say_statements(checkin.room_id, "nobody_alerted",
                                              once=f"nobody/{checkin.id}", priority=SAFETY)
        elif not checkin.urgent:
            statements += self.say_statements(checkin.room_id, "member_escalated",
                                              once=f"told/{checkin.id}", priority=SAFETY,
                                              count=count)
        await self.runtime.db.transaction(statements)
        self.runtime.outbox.wake()
        if count == 0:
            log.warning("check-in escalation found nobody to alert")
        return count, team_next

    async def duress_alarm(self, alarm: Checkin, policy: Policy) -> int:
        """Record the hidden alarm row and alert at once, in one transaction; idempotent.

        Nothing goes to the member (no "I alerted" notice): whoever holds the phone
        must see nothing. The row's id is derived, so a rerun adds nothing.
        """
        statements: list[Statement] = [self.store.insert_checkin_statement(alarm, or_ignore=True)]
        first, count, _ = await self.first_step(alarm, policy, 0.0)
        statements += first
        await self.runtime.db.transaction(statements)
        self.runtime.outbox.wake()
        if count == 0:
            log.warning("a duress alarm found nobody to alert")
        return count

    async def team_step(self, checkin: Checkin, policy: Policy, late_by: float) -> bool:
        """The later step: the safety-team room, unless someone already acknowledged."""
        if checkin.state != ESCALATED or checkin.acked_by or not self.team_room_usable(policy):
            return False
        statements = await self.team_alert_statements(checkin, policy, late_by, "2")
        await self.runtime.db.transaction(statements)
        self.runtime.outbox.wake()
        return True

    async def fallback_to_team(self, checkin: Checkin, contact: str, policy: Policy) -> bool:
        """A contact's DM failed for good: the team room hears it instead."""
        if checkin.state == RESOLVED or not self.team_room_usable(policy):
            return False
        statements = await self.team_alert_statements(checkin, policy, checkin.late_by,
                                                      "fallback/"
                                                      + self.store.ref(checkin.user_id, contact))
        await self.runtime.db.transaction(statements)
        self.runtime.outbox.wake()
        return True

    async def notify_alerted(self, checkin: Checkin, kind: str, exclude: str | None,
                             policy: Policy, **values: Any) -> int:
        """Send `kind` (ack / all-clear) to everyone who was alerted, once each."""
        statements: list[Statement] = []
        seen: set[str] = set()
        for alert in await self.store.alerts(checkin.id):
            if alert.recipient == exclude or alert.recipient in seen:
                continue
            seen.add(alert.recipient)
            is_room = alert.kind == "team"
            language = self.language_of(None if is_room else alert.recipient,
                                        alert.recipient if is_room else None)
            zone = self.zone_of(None if is_room else alert.recipient, policy.default_timezone)
            text = self.text(kind, language, member=checkin.user_id, id=Trusted(checkin.id),
                             time=Trusted(format_time(self.runtime.clock.now(), zone,
                                                      self.runtime.clock.now())), **values)
            who = alert.recipient if is_room else self.store.ref(checkin.user_id, alert.recipient)
            key = f"{kind}/{checkin.id}/{who}"
            statements += self.runtime.outbox.enqueue_statements(
                OWNER, key, message_content(text),
                room_id=alert.recipient if is_room else None,
                user_id=None if is_room else alert.recipient,
                priority=SAFETY if kind == "acked" else BULK)
        if statements:
            await self.runtime.db.transaction(statements)
            self.runtime.outbox.wake()
        return len(seen)
