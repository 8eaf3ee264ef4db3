"""Organizer alerts: `!alert` (compose, send, schedule, edit, retract), `!ack`, tags, subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from bots.alerts.compose import ALERT_ID, ComposeError, parse_draft, parse_versions, parse_when
from bots.alerts.content import ACK_KEYS
from bots.alerts.fanout import OWNER, FanOut
from bots.alerts.messages import CATALOG
from bots.alerts.network import NetworkCommands
from bots.alerts.report import (
    alert_list,
    audit_text,
    delivery_report,
    preview_text,
    room_list,
    when,
)
from bots.alerts.store import CANCELLED, DONE, DRAFT, SCHEDULED, SENDING, Alert, AlertStore
from core.events import Message, Reaction
from core.i18n import Trusted
from core.logsafe import log_exception, new_error_id
from core.network import NetworkRole
from core.plugin import Context, Plugin, PluginSettings, command
from core.room_settings import NETWORK, network_scope
from core.scheduler import Job

log = logging.getLogger(__name__)

PRUNE_SECONDS = 86400.0
FIRST_PRUNE_SECONDS = 3600.0
# The catch-up at start, handed to the scheduler (retried, dead-lettered) when it fails.
CATCH_UP_JOB = "alerts-catch-up"
# Cancelled at each start: the hand-rescheduled prune of older versions (it stopped
# after one error), and their catch-up job (or this version's retry), which `ready` does.
OLD_JOB_IDS = ("alerts-prune", CATCH_UP_JOB)
# How long `ready` waits for the catch-up before it goes on in the background.
CATCH_UP_WAIT_SECONDS = 10.0

# Settings alerts once had, now the network's (core.network, core.authority).
MOVED_SETTINGS = {
    "organizers_room": "network.organizers_room",
    "organizer_power_level": "network.role_level",
}


class AlertsPlugin(NetworkCommands, Plugin):
    """Organizers broadcast alerts to every room of the network; members acknowledge them."""

    name = "alerts"
    catalog = CATALOG
    sensitive = True

    class Settings(PluginSettings):
        # Every alerts setting is the network's (read only through global_settings()):
        # none is settable for one room. Organizers and the organizers room are core's
        # (network.organizers, network.organizers_room, network.role_level).
        remind_after_minutes: int = Field(
            0, ge=0, le=10080, json_schema_extra=network_scope(),
            description="remind rooms without acknowledgement after this (0: off)")
        audit_retention_days: int = Field(
            90, ge=1, json_schema_extra=network_scope(),
            description="days the audit and sent alerts' texts are kept")
        timezone: str = Field("UTC", json_schema_extra=network_scope(),
                              description="time zone of `!alert at HH:MM` and shown times")
        status_edit_seconds: float = Field(
            1.0, ge=0.1, le=60, json_schema_extra=network_scope(),
            description="at most one status message edit per this many seconds")

        @model_validator(mode="before")
        @classmethod
        def _moved(cls, data: Any) -> Any:
            if isinstance(data, dict):
                for key, where in MOVED_SETTINGS.items():
                    if key in data:
                        raise ValueError(f"{key} is no longer an alerts setting: use {where}")
            return data

        @field_validator("timezone")
        @classmethod
        def _zone(cls, value: str) -> str:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("unknown time zone (use a name like UTC or Europe/Berlin)") from None
            return value

    async def setup(self) -> None:
        self.store = AlertStore(self.runtime.db, self.runtime.sealer)
        await self.store.migrate()
        self.fanout = FanOut(self.runtime, self.store, type(self), self.global_settings)
        self.runtime.outbox.on_result(OWNER, self.fanout.on_result)
        scheduler = self.runtime.scheduler
        scheduler.register(OWNER, "send", self._scheduled_send)
        scheduler.register(OWNER, "remind", self._remind)
        scheduler.register(OWNER, "catch_up", self._catch_up_job)
        scheduler.register(OWNER, "prune", self._prune)
        # Recurring jobs are the scheduler's (one row per kind, back after errors and
        # restarts); the start work is `ready`, after the first sync.
        for old in OLD_JOB_IDS:
            await scheduler.cancel(old)
        await scheduler.every(OWNER, "prune", PRUNE_SECONDS,
                              first_at=self.runtime.clock.now() + FIRST_PRUNE_SECONDS)
        self._catching_up: asyncio.Task[None] | None = None

    async def ready(self) -> None:
        """Rooms are known: catch up on what a restart interrupted.

        Scheduled alerts get back a lost job before any job fires; the rest (results
        missed, edits and retractions to re-apply) goes on in the background when it
        takes long, rather than holding every plugin's timers and the outbox.
        """
        self._catching_up = asyncio.create_task(self._catch_up_once(), name="alerts-catch-up")
        done, _ = await asyncio.wait({self._catching_up}, timeout=CATCH_UP_WAIT_SECONDS)
        if not done:
            log.info("alerts catch-up goes on in the background")

    async def teardown(self) -> None:
        catching_up = getattr(self, "_catching_up", None)
        if catching_up is not None and not catching_up.done():
            catching_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await catching_up
        fanout = getattr(self, "fanout", None)
        if fanout is not None:
            await fanout.close()

    def global_settings(self) -> Settings:
        """Network-wide settings (config, then organizers' `!config --network`), never a room's."""
        return self.runtime.settings.effective(NETWORK, type(self))  # type: ignore[return-value]

    def organizers_room(self) -> str | None:
        """Where alerts are composed: the network's organizers room (core.network)."""
        return self.runtime.network.role_room(NetworkRole.ORGANIZER)

    # -- who may (core.authority only: room roles never make an organizer) -----

    async def _organizer_here(self, ctx: Context) -> bool:
        """True in the organizers room for an organizer; otherwise answers why not."""
        if not ctx.holds(NetworkRole.ORGANIZER):
            # Never say where organizers meet: the room's existence is theirs to share.
            await ctx.reply(ctx.t("not_organizer"))
            return False
        room = self.organizers_room()
        if room is None:
            await ctx.reply(ctx.t("no_organizers_room"))
            return False
        if ctx.room_id != room:
            await ctx.reply(ctx.t("only_in_organizers_room"))
            return False
        return True

    # -- !alert ----------------------------------------------------------------

    @command("alert", help="help_alert", encrypted_only=True)
    async def alert(self, ctx: Context, *, text: str = "") -> None:
        """Compose (preview), send, schedule, edit, retract and follow alerts."""
        if not await self._organizer_here(ctx):
            return
        word, rest = _split_first(text)
        word = word.lower()
        one_id = ALERT_ID.fullmatch(rest.lower()) is not None
        try:
            if not text.strip():
                await ctx.reply(ctx.t("alert_usage", prefix=Trusted(self._prefix)))
            elif word == "send" and not rest:
                await self._send(ctx)
            elif word == "discard" and not rest:
                await self._discard(ctx)
            elif word == "list" and not rest:
                zone = self.global_settings().timezone
                await ctx.reply(alert_list(await self.store.recent(15), ctx.language, zone))
            elif word == "log" and not rest:
                zone = self.global_settings().timezone
                await ctx.reply(audit_text(await self.store.audit_log(30), ctx.language, zone))
            elif word == "status" and not rest:
                await self._latest_status(ctx)
            elif word in ("status", "cancel", "retract") and one_id:
                found = await self._known(ctx, rest.lower())
                if found is not None:
                    await {"status": self._status, "cancel": self._cancel,
                           "retract": self._retract}[word](ctx, found)
            elif word == "edit" and ALERT_ID.fullmatch(_split_first(rest)[0].lower()):
                alert_id, new_text = _split_first(rest)
                found = await self._known(ctx, alert_id.lower())
                if found is not None:
                    await self._edit(ctx, found, new_text)
            elif word in ("status", "cancel", "retract", "edit") and (
                    not rest or not ALERT_ID.fullmatch(_split_first(rest)[0].lower())):
                # Most likely a forgotten id: never turn it into an alert saying "status".
                await ctx.reply(ctx.t("alert_needs_id", usage=Trusted(
                    f"{self._prefix}alert {word} <id>"), list=Trusted(f"{self._prefix}alert list")))
            elif word == "at":
                await self._compose(ctx, rest, scheduled=True)
            else:
                await self._compose(ctx, text, scheduled=False)
        except ComposeError as error:
            await ctx.reply(ctx.t(error.key, **error.values))

    async def _known(self, ctx: Context, alert_id: str) -> Alert | None:
        found = await self.store.alert(alert_id)
        if found is None or found.state == DRAFT:
            await ctx.reply(ctx.t("unknown_alert", alert_id=alert_id,
                                  list=Trusted(f"{self._prefix}alert list")))
            return None
        return found

    async def _compose(self, ctx: Context, text: str, *, scheduled: bool) -> None:
        settings = self.global_settings()
        due_at = None
        if scheduled:
            zone = ZoneInfo(settings.timezone)
            now = dt.datetime.fromtimestamp(self.runtime.clock.now(), dt.UTC)
            moment, text = parse_when(text, now, zone)
            due_at = moment.timestamp()
        draft = parse_draft(text, self.runtime.config.bot.default_language)
        if draft.targets.tags:
            known = await self.store.all_tags()
            unknown = [tag for tag in draft.targets.tags if tag not in known]
            if unknown:
                names = ", ".join(sorted(known)) or ctx.t("no_tags_yet")
                await ctx.reply(ctx.t("unknown_tags", tags=", ".join(unknown), known=names))
                return
        now_ts = self.runtime.clock.now()
        alert_id = await self.store.save_draft(ctx.sender, now_ts, draft.urgent, draft.targets,
                                               draft.versions, due_at)
        await self.store.record(ctx.sender, "composed", alert_id, now_ts)
        alert = await self.store.alert(alert_id)
        assert alert is not None
        targets = await self.fanout.targets(alert)
        if not targets.count:
            answer = ctx.t("no_recipients")
            if targets.left_out:
                answer += "\n" + ctx.t("preview_left_out", staff=Trusted("--staff"), rooms=room_list(
                    targets.left_out, ctx.language, self.runtime.actions.room_name))
            await ctx.reply(answer)
            return
        await ctx.reply(preview_text(
            alert, ctx.language, rooms=targets.rooms, users=len(targets.users),
            skipped=targets.skipped, left_out=targets.left_out,
            names=self.runtime.actions.room_name, prefix=self._prefix, zone=settings.timezone))

    async def _send(self, ctx: Context) -> None:
        draft = await self.store.draft_of(ctx.sender)
        if draft is None:
            await ctx.reply(ctx.t("no_draft", prefix=Trusted(self._prefix)))
            return
        now = self.runtime.clock.now()
        if draft.due_at is not None:
            if draft.due_at <= now:
                await ctx.reply(ctx.t("time_past"))
                return
            await self.runtime.db.transaction([
                self.store.set_state(draft.id, SCHEDULED, DRAFT),
                self.store.audit(ctx.sender, "scheduled", draft.id, now),
            ])
            await self._schedule_job(draft)
            zone = self.global_settings().timezone
            await ctx.reply(ctx.t("scheduled", alert_id=Trusted(draft.id),
                                  when=when(draft.due_at, zone)))
            return
        await self.store.record(ctx.sender, "sent", draft.id, now)
        targets = await self.fanout.start(draft.id, DRAFT, ctx.room_id, ctx.language)
        if targets is None:
            await ctx.reply(ctx.t("no_draft", prefix=Trusted(self._prefix)))
            return
        await ctx.reply(ctx.t("sending", alert_id=Trusted(draft.id), rooms=len(targets.rooms),
                              users=len(targets.users)))

    async def _schedule_job(self, alert: Alert) -> None:
        assert alert.due_at is not None
        await self.runtime.scheduler.schedule(OWNER, "send", alert.due_at,
                                              {"alert_id": alert.id},
                                              job_id=f"alerts-send-{alert.id}")

    async def _discard(self, ctx: Context) -> None:
        draft = await self.store.draft_of(ctx.sender)
        if draft is None or not await self.store.discard_draft(ctx.sender):
            await ctx.reply(ctx.t("no_draft", prefix=Trusted(self._prefix)))
            return
        await self.store.record(ctx.sender, "discarded", draft.id, self.runtime.clock.now())
        await ctx.reply(ctx.t("discarded"))

    async def _latest_status(self, ctx: Context) -> None:
        """`!alert status` alone: the alert sent (or scheduled) last, the one asked about most."""
        latest = await self.store.recent(1)
        if not latest:
            await ctx.reply(ctx.t("list_empty"))
            return
        await self._status(ctx, latest[0])

    async def _status(self, ctx: Context, alert: Alert) -> None:
        deliveries = await self.store.deliveries(alert.id)
        acks = await self.store.ack_counts(alert.id)
        await ctx.reply(delivery_report(alert, deliveries, acks, ctx.language,
                                        self.runtime.actions.room_name,
                                        self.global_settings().timezone))

    async def _cancel(self, ctx: Context, alert: Alert) -> None:
        if alert.state in (SENDING, DONE):
            await ctx.reply(ctx.t("cancel_too_late", alert_id=Trusted(alert.id),
                                  retract=Trusted(f"{self._prefix}alert retract {alert.id}")))
            return
        if alert.state == CANCELLED:
            await ctx.reply(ctx.t("already_cancelled", alert_id=Trusted(alert.id)))
            return
        # Under the fan-out's lock: a scheduled send cannot start half-way through.
        async with self.fanout.lock:
            if not await self.store.change_state(alert.id, CANCELLED, SCHEDULED):
                await ctx.reply(ctx.t("cancel_too_late", alert_id=Trusted(alert.id),
                                      retract=Trusted(f"{self._prefix}alert retract {alert.id}")))
                return
            await self.runtime.scheduler.cancel(f"alerts-send-{alert.id}")
        await self.store.record(ctx.sender, "cancelled", alert.id, self.runtime.clock.now())
        await ctx.reply(ctx.t("cancelled", alert_id=Trusted(alert.id)))

    async def _edit(self, ctx: Context, alert: Alert, text: str) -> None:
        if alert.retracted or alert.state == CANCELLED:
            await ctx.reply(ctx.t("edit_gone", alert_id=Trusted(alert.id)))
            return
        versions = parse_versions(text, self.runtime.config.bot.default_language)
        await self.store.replace_text(alert.id, versions)
        await self.store.record(ctx.sender, "edited", alert.id, self.runtime.clock.now())
        if alert.state == SCHEDULED:
            await ctx.reply(ctx.t("edited_before_send", alert_id=Trusted(alert.id)))
            return
        outcome = await self.fanout.converge_all(alert.id)
        await ctx.reply(self._outcome(ctx, "edited", alert.id, outcome.done, outcome.failed))

    async def _retract(self, ctx: Context, alert: Alert) -> None:
        if alert.state == SCHEDULED:
            await self._cancel(ctx, alert)
            return
        if alert.retracted or alert.state == CANCELLED:
            await ctx.reply(ctx.t("edit_gone", alert_id=Trusted(alert.id)))
            return
        await self.store.mark_retracted(alert.id)
        await self.store.record(ctx.sender, "retracted", alert.id, self.runtime.clock.now())
        # Deliveries still queued are stopped, not sent and then removed.
        stopped = await self.fanout.withdraw(alert.id)
        outcome = await self.fanout.converge_all(alert.id)
        answer = self._outcome(ctx, "retracted", alert.id, outcome.done, outcome.failed)
        if stopped:
            answer += "\n" + ctx.t("retract_stopped", count=stopped)
        await ctx.reply(answer)

    def _outcome(self, ctx: Context, what: str, alert_id: str, done: int,
                 failed: list[tuple[str, str]]) -> str:
        lines = [ctx.t(f"{what}_everywhere", alert_id=Trusted(alert_id), count=done)]
        if failed:
            lines.append(ctx.t("status_failures"))
            names = self.runtime.actions.room_name
            lines += [ctx.t("failure_line", where=names(where) or where, reason=reason)
                      for where, reason in failed]
            lines.append(ctx.t("will_retry"))
        return "\n".join(lines)

    # -- jobs --------------------------------------------------------------------

    async def _scheduled_send(self, job: Job) -> None:
        alert = await self.store.alert(str(job.payload.get("alert_id", "")))
        if alert is None or alert.state != SCHEDULED:
            return  # cancelled meanwhile, or a rerun after it started: nothing twice
        language = self.runtime.languages.for_reader(alert.author, None)
        room = self.organizers_room()
        if room is None:
            log.warning("scheduled alert %s: no organizers room configured; sending anyway",
                        alert.id)
            room = ""
        await self.fanout.start(alert.id, SCHEDULED, room, language)

    async def _remind(self, job: Job) -> None:
        await self.fanout.remind(str(job.payload.get("alert_id", "")))

    async def _catch_up_once(self) -> None:
        try:
            await self._catch_up()
        except Exception as exc:
            log_exception(log, "alerts catch-up at start", exc, new_error_id())
            try:
                # Tried again by the scheduler, with back-off, until it works or is
                # dead-lettered (listed by `solidarity jobs`).
                await self.runtime.scheduler.schedule(OWNER, "catch_up", self.runtime.clock.now(),
                                                      job_id=CATCH_UP_JOB)
            except Exception as again:
                log_exception(log, "alerts catch-up retry", again, new_error_id())

    async def _catch_up_job(self, job: Job) -> None:
        await self._catch_up()

    async def _catch_up(self) -> None:
        """Scheduled alerts without their job get it back; the fan-out takes in what it missed."""
        for alert in await self.store.in_state(SCHEDULED):
            pending = {j.id for j in await self.runtime.scheduler.pending(OWNER, "send")}
            if f"alerts-send-{alert.id}" not in pending and alert.due_at is not None:
                await self._schedule_job(alert)
        await self.fanout.catch_up()

    async def _prune(self, job: Job) -> None:
        days = self.global_settings().audit_retention_days
        await self.store.prune(self.runtime.clock.now() - days * 86400)

    # -- acknowledgements ----------------------------------------------------------

    @command("ack", help="help_ack")
    async def ack(self, ctx: Context, alert_id: str | None = None) -> None:
        """Acknowledge the latest alert here (or the one replied to, or named)."""
        delivery = None
        if isinstance(ctx.event, Message) and ctx.event.reply_to:
            delivery = await self.store.by_event(ctx.event.reply_to)
        if delivery is None and alert_id is not None:
            for candidate in await self.store.deliveries(alert_id.lower()):
                if candidate.room_id == ctx.room_id and candidate.state == "sent":
                    delivery = candidate
        if delivery is None and alert_id is None:
            delivery = await self.store.latest_in_room(ctx.room_id)
        if delivery is None or delivery.room_id != ctx.room_id:
            await ctx.reply(ctx.t("nothing_to_ack"))
            return
        fresh = await self.store.acknowledge(delivery.alert_id, ctx.room_id, ctx.sender,
                                             self.runtime.clock.now())
        await ctx.reply(ctx.t("acked" if fresh else "already_acked",
                              alert_id=Trusted(delivery.alert_id)))

    async def on_reaction(self, ctx: Context, event: Reaction) -> None:
        if event.key not in ACK_KEYS:
            return
        delivery = await self.store.by_event(event.relates_to)
        if delivery is None or delivery.room_id != event.room_id:
            return
        await self.store.acknowledge(delivery.alert_id, event.room_id, event.sender,
                                     self.runtime.clock.now())


def _split_first(text: str) -> tuple[str, str]:
    """The first word and the rest (newlines kept: language blocks start on their own line)."""
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""
