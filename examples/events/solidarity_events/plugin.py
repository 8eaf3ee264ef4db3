"""Room events: `!event add <when> <title>`, `!event list`, `!event cancel <number>`.

A member comes by reacting ✅ to the event's announcement and withdraws by
removing the reaction; those coming (and still in the room) are reminded by
direct message `reminder_before` ahead of the start, once, by a scheduler job
per event. Someone who leaves or is removed from the room stops coming, so a
removed infiltrator is not told where the group meets.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from core.actions import ActionError
from core.checks import role_from_setting
from core.events import MemberLeft, Reaction, Redaction
from core.i18n import Trusted
from core.plugin import Context, Moment, Plugin, Refusal, group
from core.reactions import same_reaction
from core.roles import Role
from core.room_settings import NETWORK
from core.runtime import Runtime
from core.scheduler import Job
from core.timeparse import format_time
from solidarity_events.messages import CATALOG
from solidarity_events.settings import EventSettings
from solidarity_events.store import Event, EventStore

log = logging.getLogger(__name__)

RSVP = "✅"
REMIND = "remind"
MAX_TITLE = 200
MAX_AHEAD = timedelta(days=366).total_seconds()
# Kept a day after the start (a late `!event list` still makes sense), then forgotten.
KEEP_AFTER = timedelta(days=1).total_seconds()

event = group("event", help="help_event")


class EventsPlugin(Plugin[EventSettings]):
    """Announces a room's events, counts who comes by ✅, reminds them before the start."""

    name = "events"
    catalog = CATALOG
    Settings = EventSettings

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.store = EventStore(runtime.db, runtime.sealer)

    async def setup(self) -> None:
        await self.store.migrate()
        self.runtime.scheduler.register(self.name, REMIND, self._remind)
        await self.store.forget_started_before(self.runtime.clock.now() - KEEP_AFTER)

    # -- commands -------------------------------------------------------------

    @event.command("add", help="help_event_add", aliases=("new",),
                   checks=[role_from_setting("min_role")])
    async def add(self, ctx: Context[EventSettings], when: Moment, *, title: str) -> None:
        title = " ".join(title.split())
        if len(title) > MAX_TITLE:
            raise Refusal("title_too_long", limit=MAX_TITLE)
        if when - ctx.now > MAX_AHEAD:
            raise Refusal("too_far")
        await self.store.forget_started_before(ctx.now - KEEP_AFTER)
        if await self.store.count_upcoming(ctx.room_id, ctx.now) >= ctx.settings.max_upcoming:
            raise Refusal("too_many", limit=ctx.settings.max_upcoming)
        stored = await self.store.add(ctx.room_id, source_event=ctx.event.event_id,
                                      creator=ctx.sender, title=title, starts_at=float(when),
                                      now=ctx.now)
        lead = ctx.settings.reminder_before
        reminded = stored.starts_at - lead.total_seconds() > ctx.now
        # Said to the room, in its language; the time as its creator typed it, in
        # their zone (named), since a room's readers have no one zone.
        try:
            announcement = await self.say(
                ctx.room_id, "announce" if reminded else "announce_no_reminder",
                once=f"announce/{stored.id}", number=stored.number, title=title,
                when=Trusted(format_time(stored.starts_at, ctx.zone, ctx.now)), lead=lead)
        except ActionError:
            await self.store.delete(stored.id)  # no announcement, so nobody could come
            raise
        assert announcement is not None  # said directly, not queued
        await self.store.set_announcement(stored.id, announcement)
        if reminded:
            await self._plan_reminder(stored, lead)
        # The bot's own ✅ under the announcement: one tap to come. Without it
        # (a room where the bot may post but not react) members add their own.
        try:
            await self.runtime.actions.react(ctx.room_id, announcement, RSVP,
                                             self.txn_id(f"rsvp-button/{stored.id}"))
        except ActionError as error:
            log.info("events: no ✅ under announcement %s (%s)", stored.id, error.reason)

    @event.command("list", help="help_event_list")
    async def list_events(self, ctx: Context[EventSettings]) -> None:
        await self.store.forget_started_before(ctx.now - KEEP_AFTER)
        upcoming = await self.store.upcoming(ctx.room_id, ctx.now)
        if not upcoming:
            await ctx.reply(ctx.t("list_empty", usage=self._usage("add <when> <title>")))
            return
        lines = [ctx.t("list_header")]
        for each in upcoming:
            lines.append(ctx.t("list_line", number=each.number, title=each.title,
                               when=Moment(each.starts_at),
                               coming=each.coming))
        await ctx.reply("\n".join(lines))

    @event.command("cancel", help="help_event_cancel")
    async def cancel(self, ctx: Context[EventSettings], number: int) -> None:
        found = await self.store.numbered(ctx.room_id, number)
        if found is None or found.cancelled or found.starts_at <= ctx.now:
            raise Refusal("no_such_event", number=number, usage=self._usage("list"))
        # Not a declared check: who may cancel depends on the event the argument names.
        if ctx.role < Role.MODERATOR and found.creator_lookup != self.store.member_key(ctx.sender):
            raise Refusal("cancel_not_allowed", number=number)
        await self.store.cancel(found.id)
        await self.runtime.scheduler.cancel(_job_id(found.id))
        await self.say(ctx.room_id, "cancelled", once=f"cancelled/{found.id}",
                       number=found.number, title=found.title,
                       when=Trusted(format_time(found.starts_at, ctx.zone, ctx.now)))
        room = self._room_name(found.room_id)
        for member in await self._still_coming(found):
            await self.say(member, "cancelled_dm", queued=True,
                           once=f"cancelled/{found.id}/{self.store.member_key(member)}",
                           title=found.title, room=room,
                           when=Moment(found.starts_at))

    # -- listeners ------------------------------------------------------------

    async def on_reaction(self, ctx: Context[EventSettings], reaction: Reaction) -> None:
        if not same_reaction(reaction.key, RSVP):
            return
        found = await self.store.announced_by(reaction.room_id, reaction.relates_to)
        if found is None or found.cancelled or found.starts_at <= ctx.now:
            return
        await self.store.come(found.id, reaction.event_id, reaction.sender)

    async def on_redaction(self, ctx: Context[EventSettings], redaction: Redaction) -> None:
        # Whoever removed the ✅ (its author or a moderator), it no longer says "I come".
        await self.store.withdraw(redaction.room_id, redaction.redacts)

    async def on_member_left(self, ctx: Context[EventSettings], left: MemberLeft) -> None:
        await self.store.forget_member(left.room_id, left.user_id)

    # -- the reminder -----------------------------------------------------------

    async def settings_changed(self, room_id: str, key: str) -> None:
        """A new lead time moves the reminders not sent yet (those it would put in the past stay)."""
        if key != "reminder_before":
            return
        now = self.runtime.clock.now()
        for each in await self.store.upcoming(None if room_id == NETWORK else room_id, now):
            lead = self.settings_for(each.room_id).reminder_before
            if each.reminded_at is None and each.starts_at - lead.total_seconds() > now:
                await self._plan_reminder(each, lead)

    async def _plan_reminder(self, planned: Event, lead: timedelta) -> None:
        # One job per event, its id derived from the event: planning again moves it.
        await self.runtime.scheduler.schedule(
            self.name, REMIND, planned.starts_at - lead.total_seconds(),
            {"event": planned.id}, job_id=_job_id(planned.id))

    async def _remind(self, job: Job) -> None:
        found = await self.store.get(int(job.payload["event"]))
        if found is None or found.cancelled or found.reminded_at is not None:
            return
        now = self.runtime.clock.now()
        room = self._room_name(found.room_id)
        for member in await self._still_coming(found):
            # Queued: paced, retried, and once per key even if this job runs again.
            await self.say(member, "reminder", queued=True,
                           once=f"remind/{found.id}/{self.store.member_key(member)}",
                           title=found.title, room=room,
                           when=Moment(found.starts_at),  # in the member's own zone
                           left=timedelta(seconds=found.starts_at - now))
        await self.store.mark_reminded(found.id, now)

    # -- helpers ----------------------------------------------------------------

    async def _still_coming(self, found: Event) -> list[str]:
        """Those coming who are still in the room (a leave may not have reached us)."""
        present = set(self.runtime.rooms.members(found.room_id))
        return [member for member in await self.store.attendees(found.id) if member in present]

    def _room_name(self, room_id: str) -> str:
        return self.runtime.actions.room_name(room_id) or room_id

    def _usage(self, rest: str) -> Trusted:
        return Trusted(f"{self.runtime.config.bot.command_prefix}event {rest}")


def _job_id(event_id: int) -> str:
    return f"events:remind:{event_id}"

