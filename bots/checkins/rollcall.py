"""Roll calls: an organizer asks a room who is there; non-responders are nudged, then listed."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from bots.checkins.messages import CATALOG, shown
from bots.checkins.store import CheckinStore, Rollcall, new_id
from core.events import Reaction
from core.i18n import Trusted, format_duration, isolate
from core.network import NetworkRole
from core.plugin import Context, message_content
from core.roles import Role
from core.scheduler import Job
from core.timeparse import TimeInputError, read_when

if TYPE_CHECKING:
    from core.runtime import Runtime

OWNER = "checkins"
log = logging.getLogger(__name__)


class RollCalls:
    """Starting, answering and closing roll calls; timers in the core scheduler."""

    def __init__(self, runtime: Runtime, store: CheckinStore) -> None:
        self.runtime = runtime
        self.store = store


    def _room_name(self, room_id: str) -> str:
        return self.runtime.actions.room_name(room_id) or room_id

    async def joined_members(self, room_id: str) -> list[str]:
        """Who has joined the room (not the bot, not invited users).

        RoomView.members() lists invited users too (nio's room.users), so the
        room's m.room.member state decides; when it can't be read, members() is
        used as it is (logged).
        """
        members = [u for u in self.runtime.rooms.members(room_id) if u != self.runtime.bot_user_id]
        state: list[dict[str, object]] | None = None
        with contextlib.suppress(Exception):  # unreadable: members() as it is, below
            state = await self.runtime.actions.room_state(room_id)
        if state is None:
            log.warning("roll call: room state unreadable; invited members may be counted")
            return members
        joined = {
            str(event.get("state_key")) for event in state
            if event.get("type") == "m.room.member"
            and isinstance(content := event.get("content"), dict)
            and content.get("membership") == "join"
        }
        return sorted(u for u in joined if u != self.runtime.bot_user_id)

    async def start(self, ctx: Context, text: str, max_seconds: float) -> None:
        """`30m after the march`: the duration first (durations only), then the note."""
        # Room scope: this room's moderators, or the network's organizers (core.authority).
        if not (ctx.holds(NetworkRole.ORGANIZER) or ctx.role >= Role.MODERATOR):
            await ctx.reply(ctx.t("rollcall_not_allowed", command=shown(self.runtime, "rollcall")))
            return
        if self.runtime.dms.is_dm(ctx.room_id) or not ctx.encrypted_room:
            await ctx.reply(ctx.t("rollcall_room_only"))
            return
        try:
            when, note = read_when(text, clock=False)
        except TimeInputError as error:
            await ctx.reply(ctx.t(error.key, value=(error.text or text)[:60],
                                  example=shown(self.runtime, "rollcall"),
                                  min=Trusted(format_duration(60, ctx.language)),
                                  max=Trusted(format_duration(max_seconds, ctx.language))))
            return
        assert when.seconds is not None
        seconds = when.seconds
        if seconds < 60 or seconds > max_seconds:
            await ctx.reply(ctx.t("rollcall_bad_length",
                                  min=Trusted(format_duration(60, ctx.language)),
                                  max=Trusted(format_duration(max_seconds, ctx.language))))
            return
        now = self.runtime.clock.now()
        rollcall = Rollcall(id=new_id(8), room_id=ctx.room_id, organizer=ctx.sender,
                            note=note.strip() or None, created_at=now, deadline=now + seconds,
                            event_id=None, state="open")
        members = await self.joined_members(ctx.room_id)
        await self.runtime.db.transaction(self.store.insert_rollcall_statements(rollcall, members))
        await self.store.answer_rollcall(rollcall.id, ctx.sender, now)
        scheduler = self.runtime.scheduler
        await scheduler.schedule(OWNER, "rollcall_nudge", now + seconds / 2, {"id": rollcall.id},
                                 job_id=f"checkins-rc-nudge-{rollcall.id}")
        await scheduler.schedule(OWNER, "rollcall_close", now + seconds, {"id": rollcall.id},
                                 job_id=f"checkins-rc-close-{rollcall.id}")
        language = self.runtime.languages.for_reader(None, ctx.room_id)
        lines = [CATALOG.text("rollcall_started", language, organizer=ctx.sender,
                              left=Trusted(format_duration(seconds, language)),
                              here=shown(self.runtime, "here"))]
        if rollcall.note:
            lines.append(CATALOG.text("rollcall_note", language, note=rollcall.note))
        event_id = await ctx.send("\n".join(lines))
        await self.store.set_rollcall_event(rollcall.id, event_id)

    async def answer(self, ctx: Context) -> None:
        open_calls = await self.store.open_rollcalls(ctx.room_id)
        if not open_calls:
            await ctx.reply(ctx.t("rollcall_none"))
            return
        now = self.runtime.clock.now()
        for rollcall in open_calls:
            await self.store.answer_rollcall(rollcall.id, ctx.sender, now)
        await ctx.reply(ctx.t("rollcall_thanks"))

    async def on_reaction(self, ctx: Context, event: Reaction) -> None:
        rollcall = await self.store.rollcall_by_event(event.relates_to)
        if rollcall is None or rollcall.room_id != event.room_id:
            return
        await self.store.answer_rollcall(rollcall.id, event.sender, self.runtime.clock.now())

    async def on_nudge(self, job: Job) -> None:
        rollcall = await self.store.rollcall(job.payload["id"])
        if rollcall is None or rollcall.state != "open":
            return
        left = rollcall.deadline - self.runtime.clock.now()
        room = self._room_name(rollcall.room_id)
        statements = []
        # Only those still joined: someone who left (or was only ever invited) is not nudged.
        joined = set(await self.joined_members(rollcall.room_id))
        for user_id in await self.store.rollcall_missing(rollcall.id):
            if user_id not in joined:
                continue
            language = self.runtime.languages.for_reader(user_id, None)
            text = CATALOG.text("rollcall_nudge", language, room=room,
                                left=Trusted(format_duration(left, language)),
                                here=shown(self.runtime, "here"))
            statements += self.runtime.outbox.enqueue_statements(
                OWNER, f"rc/{rollcall.id}/nudge/{user_id}", message_content(text), user_id=user_id)
        if statements:
            await self.runtime.db.transaction(statements)
            self.runtime.outbox.wake()

    async def on_close(self, job: Job) -> None:
        rollcall = await self.store.rollcall(job.payload["id"])
        if rollcall is None or rollcall.state != "open":
            return
        missing = await self.store.rollcall_missing(rollcall.id)
        total = await self.store.rollcall_count(rollcall.id)
        language = self.runtime.languages.for_reader(rollcall.organizer, None)
        room = self._room_name(rollcall.room_id)
        answered = total - len(missing)
        if missing:
            report = CATALOG.text("rollcall_report_missing", language, room=room, answered=answered,
                                  total=total, missing=Trusted("\n".join(f"• {isolate(u)}" for u in missing)))
        else:
            report = CATALOG.text("rollcall_report_all", language, room=room, total=total)
        room_language = self.runtime.languages.for_reader(None, rollcall.room_id)
        closed = CATALOG.text("rollcall_closed", room_language, answered=answered, total=total)
        # Names of who did not answer go to the organizer only, never to the room.
        await self.runtime.db.transaction([
            self.store.close_rollcall_statement(rollcall.id),
            *self.runtime.outbox.enqueue_statements(
                OWNER, f"rc/{rollcall.id}/report", message_content(report),
                user_id=rollcall.organizer),
            *self.runtime.outbox.enqueue_statements(
                OWNER, f"rc/{rollcall.id}/closed", message_content(closed),
                room_id=rollcall.room_id),
        ])
        self.runtime.outbox.wake()
