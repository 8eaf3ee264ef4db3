"""Delivering an alert: targets, the exactly-once enqueue, results, edits, retractions, reminders.

Every outgoing alert is an outbox item keyed `<alert>/<room>` or
`<alert>/dm/<user>`, enqueued in the same transaction that marks the alert as
sending, so a crash leaves either nothing queued or everything. Edits and
retractions are states of the alert (its version, its retracted flag) that
each delivery converges to once it has an event id: a message that reaches its
room after the organizer edited or retracted it is edited or redacted then.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bots.alerts.content import alert_content, may_mention_room, reminder_content
from bots.alerts.report import status_text
from bots.alerts.store import (
    DM,
    DONE,
    ROOM,
    SENDING,
    Alert,
    AlertStore,
    Delivery,
)
from core.actions import ActionError
from core.logsafe import log_exception, new_error_id
from core.network import NetworkRole
from core.plugin import message_content
from core.room_settings import NETWORK

if TYPE_CHECKING:
    from bots.alerts.settings import AlertsSettings
    from core.outbox import OutboxItem
    from core.plugin import Plugin
    from core.runtime import Runtime

log = logging.getLogger(__name__)

OWNER = "alerts"
# Edits and redactions run this many at a time (the outbox paces new messages).
PARALLEL_ACTIONS = 8
ACTION_RETRIES = 4


@dataclass
class Targets:
    """The rooms and members one alert goes to, and the tagged rooms it cannot reach."""

    rooms: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    # (room id, catalog key of the reason) for tagged rooms that are skipped.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Staff rooms the alert would reach but leaves out (it did not ask for --staff).
    left_out: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rooms) + len(self.users)


@dataclass(frozen=True)
class ActionOutcome:
    done: int
    # (where, reason) of each delivery the edit or redaction did not reach.
    failed: list[tuple[str, str]]


def outbox_key(alert_id: str, kind: str, target: str) -> str:
    return f"{alert_id}/dm/{target}" if kind == DM else f"{alert_id}/{target}"


def parse_key(key: str) -> tuple[str, str, str] | None:
    """`<alert>/<room>` → (alert, room, room id); `<alert>/dm/<user>` → (alert, dm, user)."""
    alert_id, _, rest = key.partition("/")
    if rest.startswith("dm/"):
        return alert_id, DM, rest[3:]
    if rest.startswith("!"):
        return alert_id, ROOM, rest
    return None  # reminders and anything else that needs no bookkeeping


class FanOut:
    """Sends alerts through the outbox and keeps their deliveries and status message current."""

    def __init__(self, runtime: Runtime, store: AlertStore, plugin: type[Plugin],
                 settings: Callable[[], AlertsSettings]) -> None:
        self.runtime = runtime
        self.store = store
        self.plugin = plugin
        self.settings = settings
        self._dirty: set[str] = set()
        self._flusher: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self._converging: dict[tuple[str, str, str], asyncio.Lock] = {}

    @property
    def prefix(self) -> str:
        return self.runtime.config.bot.command_prefix

    # -- targets -------------------------------------------------------------

    def _organizers_room(self) -> str | None:
        return self.runtime.network.role_room(NetworkRole.ORGANIZER)

    def _network_people(self) -> set[str]:
        """Members of the network's rooms and of its role rooms (organizers...)."""
        network = self.runtime.network
        people: set[str] = set()
        for room in network.rooms() | network.role_rooms():
            people.update(self.runtime.rooms.members(room))
        return people

    def staff_rooms(self) -> frozenset[str]:
        """The network's role rooms (core.network: organizers, moderators, curators) and
        the check-ins safety team's room, where people work rather than read news."""
        rooms = set(self.runtime.network.role_rooms())
        team = self._safety_team_room()
        if team:
            rooms.add(team)
        return frozenset(rooms)

    def _safety_team_room(self) -> str | None:
        # The team room is the check-ins plugin's network setting; read through core
        # (plugins do not import each other), and only when that plugin runs.
        checkins = self.runtime.plugin_class("checkins")
        if checkins is None:
            return None
        room = getattr(self.runtime.settings.effective(NETWORK, checkins), "team_room", None)
        return room if isinstance(room, str) and room else None

    def network(self) -> list[str]:
        """Rooms alerts go to: of the network (core.network), joined, encrypted, alerts
        enabled, not a DM, not the organizers'. A room the bot was merely invited to is
        not the network's and gets nothing."""
        organizers = self._organizers_room()
        network = self.runtime.network
        return [
            room for room in self.runtime.actions.joined_rooms()
            if network.contains(room) and room != organizers
            and not self.runtime.dms.is_dm(room)
            and self.runtime.rooms.is_encrypted(room)
            and self.runtime.settings.is_enabled(room, self.plugin)
        ]

    async def targets(self, alert: Alert) -> Targets:
        found = Targets()
        wanted = alert.targets
        organizers = self._organizers_room()
        if wanted.rooms_all:
            found.rooms = self.network()
        elif wanted.tags:
            tagged = await self.store.all_tags()
            joined = set(self.runtime.actions.joined_rooms())
            rooms = sorted({room for tag in wanted.tags for room in tagged.get(tag, [])})
            for room in rooms:
                if room == organizers:
                    continue
                if not self.runtime.network.contains(room):
                    found.skipped.append((room, "skip_not_network"))
                elif room not in joined:
                    found.skipped.append((room, "skip_not_joined"))
                elif not self.runtime.rooms.is_encrypted(room):
                    found.skipped.append((room, "skip_unencrypted"))
                elif not self.runtime.settings.is_enabled(room, self.plugin):
                    found.skipped.append((room, "skip_disabled"))
                else:
                    found.rooms.append(room)
        if not wanted.staff:
            staff = self.staff_rooms()
            found.left_out = [room for room in found.rooms if room in staff]
            found.rooms = [room for room in found.rooms if room not in staff]
        if wanted.dm:
            tags = None if wanted.rooms_all else list(wanted.tags)
            # Only people of the network: a subscription made in a room the bot was
            # merely invited to (or kept after leaving every network room) gets nothing.
            people = self._network_people()
            found.users = [u for u in await self.store.subscribers(tags)
                           if u != self.runtime.bot_user_id and u in people]
        return found

    # -- sending -------------------------------------------------------------

    async def start(self, alert_id: str, expected_state: str, status_room: str,
                    status_language: str) -> Targets | None:
        """Queue every delivery of the alert, once; None when it was not in `expected_state`."""
        async with self.lock:
            alert = await self.store.alert(alert_id)
            if alert is None or alert.state != expected_state:
                return None
            targets = await self.targets(alert)
            languages = self.runtime.languages
            mentions: dict[str, bool] = {}
            if alert.urgent and targets.rooms:
                mentions = dict(zip(targets.rooms, await asyncio.gather(
                    *(self._may_mention(room) for room in targets.rooms)), strict=True))
            now = self.runtime.clock.now()
            statements = [
                self.store.start_sending(alert.id, expected_state, now, status_room, None),
                self.store.audit(alert.author, "delivered", alert.id, now),
            ]
            outbox = self.runtime.outbox
            for room in targets.rooms:
                language = languages.for_reader(None, room)
                content = alert_content(alert, language, self.prefix,
                                        room_mention=mentions.get(room, False), for_room=True)
                statements.append(self.store.add_delivery(alert.id, ROOM, room, room, language,
                                                          alert.version))
                statements += outbox.enqueue_statements(OWNER, outbox_key(alert.id, ROOM, room),
                                                        content, room_id=room)
            for user in targets.users:
                language = languages.for_reader(user, None)
                content = alert_content(alert, language, self.prefix, room_mention=False,
                                        for_room=False)
                statements.append(self.store.add_delivery(alert.id, DM, user, None, language,
                                                          alert.version))
                statements += outbox.enqueue_statements(OWNER, outbox_key(alert.id, DM, user),
                                                        content, user_id=user)
            await self.runtime.db.transaction(statements)
            outbox.wake()
            log.info("alert %s queued for %d rooms and %d members", alert.id, len(targets.rooms),
                     len(targets.users))
            # Posted after the enqueue, so it is not on the alert's critical path;
            # catch_up() posts it if the process died in between.
            await self._post_status(alert.id, status_room, status_language, targets.count)
            if not targets.count:
                await self._finish(alert.id)
            return targets

    async def _may_mention(self, room: str) -> bool:
        try:
            levels = await self.runtime.actions.get_state(room, "m.room.power_levels")
        except ActionError:
            return False
        return may_mention_room(levels, self.runtime.bot_user_id)

    async def _post_status(self, alert_id: str, room: str, language: str, total: int) -> None:
        """Post the status message that later edits keep current."""
        alert = await self.store.alert(alert_id)
        if alert is None or not room:
            return
        text = status_text(alert, await self.store.deliveries(alert_id), language, total=total,
                           names=self.runtime.actions.room_name)
        try:
            # The txn id is the alert's: a repost after a crash gets the same event back.
            event_id = await self.runtime.sender.send_message(
                room, message_content(text), f"alerts-status-{alert_id}"
            )
        except Exception as exc:
            log_exception(log, f"status message of alert {alert_id}", exc, new_error_id())
            return
        await self.store.set_status_event(alert_id, event_id)
        self.mark_dirty(alert_id)

    # -- results -------------------------------------------------------------

    async def on_result(self, item: OutboxItem) -> None:
        """The outbox settled one delivery: record it, converge it, refresh the status."""
        parsed = parse_key(item.key)
        if parsed is None:
            return
        alert_id, kind, target = parsed
        await self.store.record_result(alert_id, kind, target, item.state, item.event_id,
                                       item.delivered_to, item.error)
        if item.state == "sent":
            await self.converge(alert_id, kind, target)
        if not await self.store.unsettled(alert_id):
            await self._finish(alert_id)
        self.mark_dirty(alert_id)

    async def _finish(self, alert_id: str) -> None:
        if not await self.store.change_state(alert_id, DONE, SENDING):
            return
        self.mark_dirty(alert_id)
        minutes = self.settings().remind_after_minutes
        alert = await self.store.alert(alert_id)
        if minutes and alert is not None and alert.sent_at is not None:
            await self.runtime.scheduler.schedule(
                OWNER, "remind", alert.sent_at + minutes * 60, {"alert_id": alert_id},
                job_id=f"alerts-remind-{alert_id}",
            )

    async def catch_up(self) -> None:
        """After a restart: take in results the callback missed, re-apply edits and retractions."""
        for alert in await self.store.in_state(SENDING, DONE):
            if alert.status_room and alert.status_event is None:
                language = self.runtime.languages.for_reader(alert.author, alert.status_room)
                total = len(await self.store.deliveries(alert.id))
                await self._post_status(alert.id, alert.status_room, language, total)
            if alert.state == SENDING and alert.retracted:
                await self.withdraw(alert.id)  # retracted just before a crash
            if alert.state == SENDING:
                for item in await self.runtime.outbox.items(OWNER, f"{alert.id}/"):
                    if item.state != "queued":
                        await self.on_result(item)
            for delivery in await self.store.deliveries(alert.id):
                if delivery.state == "sent" and (
                    (alert.retracted and not delivery.redacted)
                    or (not alert.retracted and delivery.version < alert.version)
                ):
                    await self.converge(alert.id, delivery.kind, delivery.target)
            if alert.state == SENDING and not await self.store.unsettled(alert.id):
                await self._finish(alert.id)
            self.mark_dirty(alert.id)

    # -- edits and retractions -------------------------------------------------

    async def converge(self, alert_id: str, kind: str, target: str) -> str | None:
        """Bring one sent delivery to the alert's current text or retraction; a reason on failure."""
        lock = self._converging.setdefault((alert_id, kind, target), asyncio.Lock())
        async with lock:
            alert = await self.store.alert(alert_id)
            delivery = await self.store.delivery(alert_id, kind, target)
            if alert is None or delivery is None or delivery.event_id is None:
                return None
            try:
                room = delivery.room_id or await self.runtime.dms.room_for(delivery.target)
                if alert.retracted:
                    if not delivery.redacted:
                        await _retrying(lambda: self.runtime.actions.redact(
                            room, delivery.event_id or "", None, f"alerts-redact-{alert_id}-{room}"))
                        await self.store.set_redacted(alert_id, kind, target)
                elif delivery.version < alert.version:
                    content = alert_content(alert, delivery.language, self.prefix,
                                            room_mention=False, for_room=delivery.kind == ROOM)
                    await _retrying(lambda: self.runtime.actions.edit(
                        room, delivery.event_id or "", content,
                        f"alerts-edit-{alert_id}-{alert.version}-{room}"))
                    await self.store.set_delivery_version(alert_id, kind, target, alert.version)
            except ActionError as exc:
                log.warning("alert %s: could not update a delivery: %s", alert_id, exc.reason)
                return exc.reason
            return None

    async def withdraw(self, alert_id: str) -> int:
        """Stop the alert's deliveries that have not gone out yet; how many were stopped."""
        stopped = await self.runtime.outbox.withdraw(OWNER, f"{alert_id}/")
        if stopped:
            self.mark_dirty(alert_id)
        return stopped

    async def converge_all(self, alert_id: str) -> ActionOutcome:
        """Apply the alert's edit or retraction to every sent delivery, a few at a time."""
        deliveries = [d for d in await self.store.deliveries(alert_id) if d.state == "sent"]
        slots = asyncio.Semaphore(PARALLEL_ACTIONS)

        async def one(delivery: Delivery) -> str | None:
            async with slots:
                return await self.converge(alert_id, delivery.kind, delivery.target)

        reasons = await asyncio.gather(*(one(d) for d in deliveries))
        failed = [(d.room_id or d.target, r) for d, r in zip(deliveries, reasons, strict=True) if r]
        self.mark_dirty(alert_id)
        return ActionOutcome(len(deliveries) - len(failed), failed)

    # -- reminders -------------------------------------------------------------

    async def remind(self, alert_id: str) -> int:
        """Remind each room that received the alert and has no acknowledgement yet."""
        alert = await self.store.alert(alert_id)
        if alert is None or alert.retracted or alert.reminded:
            return 0
        acks = await self.store.ack_counts(alert_id)
        statements = []
        for delivery in await self.store.deliveries(alert_id):
            if delivery.kind != ROOM or delivery.state != "sent" or acks.get(delivery.target):
                continue
            content = reminder_content(alert, delivery.language, self.prefix,
                                       delivery.event_id or "")
            statements += self.runtime.outbox.enqueue_statements(
                OWNER, f"{alert_id}/remind/{delivery.target}", content, room_id=delivery.target)
        statements.append(("UPDATE alerts_alerts SET reminded = 1 WHERE id = ?", (alert_id,)))
        await self.runtime.db.transaction(statements)
        self.runtime.outbox.wake()
        return len(statements) - 1

    # -- the status message ----------------------------------------------------

    def mark_dirty(self, alert_id: str) -> None:
        """Edit the alert's status message soon (edits are coalesced, not one per delivery)."""
        self._dirty.add(alert_id)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="alerts status")

    async def _flush(self) -> None:
        while self._dirty:
            batch, self._dirty = self._dirty, set()
            for alert_id in batch:
                try:
                    await self._edit_status(alert_id)
                except Exception as exc:  # a failed edit must not stop later ones
                    log_exception(log, f"status edit of alert {alert_id}", exc, new_error_id())
            await self.runtime.clock.sleep(self.settings().status_edit_seconds)

    async def _edit_status(self, alert_id: str) -> None:
        alert = await self.store.alert(alert_id)
        if alert is None or not alert.status_room or not alert.status_event:
            return
        language = self.runtime.languages.for_reader(alert.author, alert.status_room)
        deliveries = await self.store.deliveries(alert_id)
        text = status_text(alert, deliveries, language, names=self.runtime.actions.room_name)
        # The same status text is the same edit: sent again after a crash, it is dropped.
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        await self.runtime.actions.edit(alert.status_room, alert.status_event, message_content(text),
                                        self.plugin.txn_id(f"status/{alert_id}/{digest}"))

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher


async def _retrying(action: Callable[[], Awaitable[Any]]) -> None:
    """Run a room action, waiting out rate limits and transient errors a few times."""
    for attempt in range(ACTION_RETRIES):
        try:
            await action()
            return
        except ActionError as exc:
            if exc.forbidden or exc.not_found or attempt == ACTION_RETRIES - 1:
                raise
            await asyncio.sleep(exc.retry_after or 0.5 * 2 ** attempt)
