"""Organizer alerts: `!alert` (compose, send, schedule, edit, retract), `!ack`, tags, subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from zoneinfo import ZoneInfo

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
from bots.alerts.settings import AlertsSettings
from bots.alerts.store import CANCELLED, DONE, DRAFT, SCHEDULED, SENDING, Alert, AlertStore
from core.events import Message, Reaction
from core.i18n import Trusted, isolate, join_list
from core.logsafe import log_exception, new_error_id
from core.network import NetworkRole
from core.plugin import Context, Plugin, Refusal, command, group
from core.reactions import reaction_in
from core.room_settings import NETWORK
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


async def in_organizers_room(ctx: Context) -> None:
    """An organizer (core.authority: room roles never make one) in the organizers room."""
    if not ctx.holds(NetworkRole.ORGANIZER):
        # Never say where organizers meet: the room's existence is theirs to share.
        raise Refusal("not_organizer")
    room = ctx.plugin.runtime.network.role_room(NetworkRole.ORGANIZER)
    if room is None:
        raise Refusal("no_organizers_room")
    if ctx.room_id != room:
        raise Refusal("only_in_organizers_room")


class AlertsPlugin(NetworkCommands, Plugin[AlertsSettings]):
    """Organizers broadcast alerts to every room of the network; members acknowledge them."""

    name = "alerts"
    catalog = CATALOG
    Settings = AlertsSettings
    sensitive = True

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

    def global_settings(self) -> AlertsSettings:
        """Network-wide settings (config, then organizers' `!config --network`), never a room's."""
        return self.settings_for(NETWORK)

    def organizers_room(self) -> str | None:
        """Where alerts are composed: the network's organizers room (core.network)."""
        return self.runtime.network.role_room(NetworkRole.ORGANIZER)

    # -- !alert ----------------------------------------------------------------
    #
    # `!alert <text>` composes (and `!alert` alone explains how); the words below
    # are subcommands, each with its own usage in `!help alert`. Every one of them
    # is for an organizer in the organizers room (`in_organizers_room`).

    alert = group("alert", help="help_alert", alone="compose", otherwise="compose",
                  encrypted_only=True, checks=[in_organizers_room])

    @alert.command("compose", help="help_alert_compose")
    async def compose_alert(self, ctx: Context[AlertsSettings], *, text: str = "") -> None:
        """Store a draft and answer with its preview; nothing goes out before `!alert send`."""
        if not text.strip():
            await ctx.reply(ctx.t("alert_usage", prefix=Trusted(self._prefix)))
            return
        await self._compose(ctx, text, scheduled=False)

    @alert.command("at", help="help_alert_at")
    async def schedule_alert(self, ctx: Context[AlertsSettings], *, text: str = "") -> None:
        """A draft to be sent at a time (in the network's zone), previewed like any other."""
        await self._compose(ctx, text, scheduled=True)

    @alert.command("send", help="help_alert_send")
    async def send_draft(self, ctx: Context[AlertsSettings]) -> None:
        draft = await self.store.draft_of(ctx.sender)
        if draft is None:
            raise Refusal("no_draft", prefix=Trusted(self._prefix))
        now = self.runtime.clock.now()
        if draft.due_at is not None:
            if draft.due_at <= now:
                raise Refusal("time_past")
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
            raise Refusal("no_draft", prefix=Trusted(self._prefix))
        await ctx.reply(ctx.t("sending", alert_id=Trusted(draft.id), rooms=len(targets.rooms),
                              users=len(targets.users)))

    @alert.command("discard", help="help_alert_discard")
    async def discard_draft(self, ctx: Context[AlertsSettings]) -> None:
        draft = await self.store.draft_of(ctx.sender)
        if draft is None or not await self.store.discard_draft(ctx.sender):
            raise Refusal("no_draft", prefix=Trusted(self._prefix))
        await self.store.record(ctx.sender, "discarded", draft.id, self.runtime.clock.now())
        await ctx.reply(ctx.t("discarded"))

    @alert.command("list", help="help_alert_list")
    async def list_alerts(self, ctx: Context[AlertsSettings]) -> None:
        zone = self.global_settings().timezone
        await ctx.reply(alert_list(await self.store.recent(15), ctx.language, zone))

    @alert.command("log", help="help_alert_log")
    async def audit_log(self, ctx: Context[AlertsSettings]) -> None:
        zone = self.global_settings().timezone
        await ctx.reply(audit_text(await self.store.audit_log(30), ctx.language, zone))

    @alert.command("status", help="help_alert_status")
    async def alert_status(self, ctx: Context[AlertsSettings], *, alert_id: str = "") -> None:
        """One alert's deliveries and acknowledgements; alone, the alert sent (or scheduled)
        last, the one asked about most."""
        if alert_id:
            await self._status(ctx, await self._known(ctx, "status", alert_id))
            return
        latest = await self.store.recent(1)
        if not latest:
            raise Refusal("list_empty")
        await self._status(ctx, latest[0])

    @alert.command("edit", help="help_alert_edit")
    async def edit_alert(self, ctx: Context[AlertsSettings], alert_id: str | None = None, *,
                         text: str = "") -> None:
        alert = await self._known(ctx, "edit", alert_id or "")
        if alert.retracted or alert.state == CANCELLED:
            raise Refusal("edit_gone", alert_id=Trusted(alert.id))
        try:
            versions = parse_versions(text, self.runtime.config.bot.default_language)
        except ComposeError as error:
            raise error.shown_in(ctx.language) from None
        await self.store.replace_text(alert.id, versions)
        await self.store.record(ctx.sender, "edited", alert.id, self.runtime.clock.now())
        if alert.state == SCHEDULED:
            await ctx.reply(ctx.t("edited_before_send", alert_id=Trusted(alert.id)))
            return
        outcome = await self.fanout.converge_all(alert.id)
        await ctx.reply(self._outcome(ctx, "edited", alert.id, outcome.done, outcome.failed))

    @alert.command("retract", help="help_alert_retract")
    async def retract_alert(self, ctx: Context[AlertsSettings], *, alert_id: str = "") -> None:
        alert = await self._known(ctx, "retract", alert_id)
        if alert.state == SCHEDULED:
            await self._cancel(ctx, alert)
            return
        if alert.retracted or alert.state == CANCELLED:
            raise Refusal("edit_gone", alert_id=Trusted(alert.id))
        await self.store.mark_retracted(alert.id)
        await self.store.record(ctx.sender, "retracted", alert.id, self.runtime.clock.now())
        # Deliveries still queued are stopped, not sent and then removed.
        stopped = await self.fanout.withdraw(alert.id)
        outcome = await self.fanout.converge_all(alert.id)
        answer = self._outcome(ctx, "retracted", alert.id, outcome.done, outcome.failed)
        if stopped:
            answer += "\n" + ctx.t("retract_stopped", count=stopped)
        await ctx.reply(answer)

    @alert.command("cancel", help="help_alert_cancel")
    async def cancel_alert(self, ctx: Context[AlertsSettings], *, alert_id: str = "") -> None:
        await self._cancel(ctx, await self._known(ctx, "cancel", alert_id))

    async def _known(self, ctx: Context[AlertsSettings], word: str, typed: str) -> Alert:
        """The sent or scheduled alert `typed` names; refused when it names none."""
        alert_id = typed.strip().lower()
        if not ALERT_ID.fullmatch(alert_id):
            # Most likely a forgotten id: never turn it into an alert saying "status".
            raise Refusal("alert_needs_id", usage=Trusted(f"{self._prefix}alert {word} <id>"),
                          list=Trusted(f"{self._prefix}alert list"))
        found = await self.store.alert(alert_id)
        if found is None or found.state == DRAFT:
            raise Refusal("unknown_alert", alert_id=alert_id,
                          list=Trusted(f"{self._prefix}alert list"))
        return found

    async def _compose(self, ctx: Context[AlertsSettings], text: str, *, scheduled: bool) -> None:
        settings = self.global_settings()
        due_at = None
        try:
            if scheduled:
                zone = ZoneInfo(settings.timezone)
                now = dt.datetime.fromtimestamp(self.runtime.clock.now(), dt.UTC)
                moment, text = parse_when(text, now, zone)
                due_at = moment.timestamp()
            draft = parse_draft(text, self.runtime.config.bot.default_language)
        except ComposeError as error:
            raise error.shown_in(ctx.language) from None
        if draft.targets.tags:
            known = await self.store.all_tags()
            unknown = [tag for tag in draft.targets.tags if tag not in known]
            if unknown:
                # Tags are organizers' words: each isolated, the list in the reader's language.
                names: str = Trusted(join_list(
                    [isolate(tag) for tag in sorted(known)], ctx.language)) if known \
                    else ctx.t("no_tags_yet")
                raise Refusal("unknown_tags", known=names, tags=Trusted(join_list(
                    [isolate(tag) for tag in unknown], ctx.language, "or")))
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

    async def _schedule_job(self, alert: Alert) -> None:
        assert alert.due_at is not None
        await self.runtime.scheduler.schedule(OWNER, "send", alert.due_at,
                                              {"alert_id": alert.id},
                                              job_id=f"alerts-send-{alert.id}")

    async def _status(self, ctx: Context[AlertsSettings], alert: Alert) -> None:
        deliveries = await self.store.deliveries(alert.id)
        acks = await self.store.ack_counts(alert.id)
        await ctx.reply(delivery_report(alert, deliveries, acks, ctx.language,
                                        self.runtime.actions.room_name,
                                        self.global_settings().timezone))

    async def _cancel(self, ctx: Context[AlertsSettings], alert: Alert) -> None:
        too_late = Refusal("cancel_too_late", alert_id=Trusted(alert.id),
                           retract=Trusted(f"{self._prefix}alert retract {alert.id}"))
        if alert.state in (SENDING, DONE):
            raise too_late
        if alert.state == CANCELLED:
            raise Refusal("already_cancelled", alert_id=Trusted(alert.id))
        # Under the fan-out's lock: a scheduled send cannot start half-way through.
        async with self.fanout.lock:
            if not await self.store.change_state(alert.id, CANCELLED, SCHEDULED):
                raise too_late
            await self.runtime.scheduler.cancel(f"alerts-send-{alert.id}")
        await self.store.record(ctx.sender, "cancelled", alert.id, self.runtime.clock.now())
        await ctx.reply(ctx.t("cancelled", alert_id=Trusted(alert.id)))

    def _outcome(self, ctx: Context[AlertsSettings], what: str, alert_id: str, done: int,
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
    async def ack(self, ctx: Context[AlertsSettings], alert_id: str | None = None) -> None:
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

    async def on_reaction(self, ctx: Context[AlertsSettings], event: Reaction) -> None:
        if not reaction_in(event.key, ACK_KEYS):
            return
        delivery = await self.store.by_event(event.relates_to)
        if delivery is None or delivery.room_id != event.room_id:
            return
        await self.store.acknowledge(delivery.alert_id, event.room_id, event.sender,
                                     self.runtime.clock.now())

