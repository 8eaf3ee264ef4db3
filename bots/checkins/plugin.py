"""Safety check-ins: personal deadlines with escalation to trusted contacts, duress PINs, roll calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bots.checkins.contacts import ContactBook
from bots.checkins.escalation import OWNER, Escalator, Policy
from bots.checkins.messages import CATALOG, shown
from bots.checkins.pins import hash_pin, valid_pin, verify_pin
from bots.checkins.rollcall import RollCalls
from bots.checkins.settings import CheckinsSettings
from bots.checkins.store import ACTIVE, ESCALATED, Checkin, CheckinStore, derived_id, new_id
from core.events import Message, Reaction
from core.i18n import Trusted, format_duration, join_list
from core.logsafe import log_exception, new_error_id
from core.outbox import SAFETY
from core.plugin import Context, Plugin, Refusal, command, group, message_content
from core.reactions import reaction_in
from core.room_settings import NETWORK
from core.scheduler import Job
from core.timeparse import (
    DeadlineLimits,
    TimeInputError,
    check_limits,
    find_zone,
    format_time,
    read_when,
    resolve,
    suggest_zones,
    zone_named,
)

log = logging.getLogger(__name__)

# Jobs whose failure leaves someone unprotected: a dead letter is told to the safety team.
SAFETY_JOBS = ("escalate", "team", "remind")
PURGE_SECONDS = 3600.0
OLD_JOB_IDS = ("checkins-purge",)

# Reactions that take on a safety alert (or answer a roll call), read by core.reactions.
CHECK_MARKS = ("✅", "✔️", "☑️")


async def encrypted_dm(ctx: Context) -> None:
    """Check-ins live only in an encrypted DM: elsewhere refused, and a DM opened (hello).

    Declared on every command that carries a deadline, a note, a contact or a
    PIN; it also counts the command as the member's activity ("last seen").
    """
    plugin = ctx.plugin
    if not isinstance(plugin, CheckinsPlugin):
        raise TypeError("encrypted_dm is a check-ins check")
    await plugin.require_private(ctx)


ENCRYPTED_DM = encrypted_dm


async def forget_message(ctx: Context) -> None:
    """Delete the command's message (it may hold a PIN); never refuses.

    A check rather than a first line in each handler because checks run before
    the words are read: a PIN command whose words cannot be read (an unclosed
    quote) is deleted too. Declared after ENCRYPTED_DM, as the deletion always came.
    """
    plugin = ctx.plugin
    if not isinstance(plugin, CheckinsPlugin):
        raise TypeError("forget_message is a check-ins check")
    await plugin.forget_pin_message(ctx)


FORGET_MESSAGE = forget_message


@dataclass(frozen=True)
class Unlocked:
    """A PIN command let through: under duress (the alarm is already raised), or not."""

    duress: bool
    # The member was held after an identity change (the PIN released them).
    was_held: bool


class CheckinsPlugin(Plugin[CheckinsSettings]):
    """Personal safety check-ins in encrypted DMs, and roll calls for organizers."""

    name = "checkins"
    catalog = CATALOG
    sensitive = True

    Settings = CheckinsSettings

    async def setup(self) -> None:
        self.store = CheckinStore(self.runtime.db, self.runtime.sealer)
        await self.store.migrate(self.runtime.zones)
        self.escalator = Escalator(self.runtime, self.store, self.say_statements)
        self.rollcalls = RollCalls(self.runtime, self.store)
        self.contact_book = ContactBook(self.runtime, self.store, self.say)
        self._locks: dict[str, asyncio.Lock] = {}
        # Members whose activity is recorded as "last seen" (those with a running check-in).
        self._tracked = await self.store.tracked_users()
        scheduler = self.runtime.scheduler
        scheduler.register(OWNER, "remind", self._on_remind)
        scheduler.register(OWNER, "escalate", self._on_escalate)
        scheduler.register(OWNER, "team", self._on_team_step)
        scheduler.register(OWNER, "purge", self._on_purge)
        scheduler.register(OWNER, "rollcall_nudge", self.rollcalls.on_nudge)
        scheduler.register(OWNER, "rollcall_close", self.rollcalls.on_close)
        scheduler.on_dead_letter(OWNER, self._on_dead_letter)
        self.runtime.outbox.on_result(OWNER, self._on_outbox_result)
        # The purge is the scheduler's recurring job (one row, back after errors and
        # restarts); the fixed id older versions rescheduled by hand goes, once.
        for old in OLD_JOB_IDS:
            await scheduler.cancel(old)
        await scheduler.every(OWNER, "purge", PURGE_SECONDS)

    async def ready(self) -> None:
        """Connected: a first purge now, so a bot that was down for long keeps nothing
        past its retention until the hourly run."""
        try:
            await self._purge()
        except Exception as exc:  # the recurring purge tries again
            log_exception(log, "first check-ins purge", exc, new_error_id())

    # -- helpers -------------------------------------------------------------

    def _lock(self, user_id: str) -> asyncio.Lock:
        return self._locks.setdefault(user_id, asyncio.Lock())

    def _network(self) -> CheckinsSettings:
        # Network-wide choices (the team room) come from config and organizers'
        # `!config --network`, never a room override.
        return self.settings_for(NETWORK)

    def _policy(self, room_id: str) -> Policy:
        room = self.settings_for(room_id)
        return Policy(mode=room.escalation, team_room=self._network().team_room,
                      team_after=room.team_after_minutes * 60.0,
                      default_timezone=self._network().default_timezone)

    def _zone(self, user_id: str) -> ZoneInfo:
        return self.escalator.zone_of(user_id, self._network().default_timezone)

    def _zone_known(self, user_id: str) -> bool:
        """Did the member set a zone, or the network choose one explicitly (not the '' default)?"""
        if self.runtime.zones.chosen(user_id) is not None:
            return True
        return bool(self._network().default_timezone.strip()
                    and zone_named(self._network().default_timezone))


    async def require_private(self, ctx: Context) -> None:
        """ENCRYPTED_DM: pass in the member's encrypted DM, else refuse (Refusal) and say hello there."""
        if self.runtime.dms.is_dm(ctx.room_id) and ctx.encrypted_room:
            if ctx.sender in self._tracked:
                await self.store.touch(ctx.sender, self.runtime.clock.now())
            return
        # The outbox key is the one older versions used: a member greeted once is not again.
        with contextlib.suppress(Exception):
            await self.say(ctx.sender, "dm_hello", once=f"hello/{ctx.sender}", queued=True)
        raise Refusal("dm_only")

    async def _pin_outcome(self, user_id: str, pin: str | None) -> str:
        """"ok", "duress" or "wrong"; both hashes are always checked so timing tells nothing."""
        member = await self.store.member(user_id)
        if pin is None:
            # A duress PIN protects only if a PIN is always asked for: otherwise whoever
            # holds the phone simply has the member send a bare `!safe`.
            return "wrong" if member["pin_hash"] or member["duress_hash"] else "ok"
        duress = await verify_pin(pin, member["duress_hash"])
        normal = await verify_pin(pin, member["pin_hash"])
        if duress:
            return "duress"
        if normal:
            return "ok"
        return "wrong"

    async def forget_pin_message(self, ctx: Context) -> None:
        with contextlib.suppress(Exception):  # not allowed to redact: nothing more to do
            await self.runtime.actions.redact(ctx.room_id, ctx.event.event_id)

    def _job_ids(self, checkin_id: str) -> tuple[str, str, str]:
        return (f"checkins-remind-{checkin_id}", f"checkins-due-{checkin_id}",
                f"checkins-team-{checkin_id}")

    async def _schedule(self, checkin: Checkin) -> None:
        settings = self.settings_for(checkin.room_id)
        remind_id, due_id, _ = self._job_ids(checkin.id)
        scheduler = self.runtime.scheduler
        remind_at = checkin.deadline - settings.reminder_minutes * 60
        if settings.reminder_minutes and remind_at > self.runtime.clock.now():
            await scheduler.schedule(OWNER, "remind", remind_at,
                                     {"id": checkin.id, "deadline": checkin.deadline},
                                     job_id=remind_id)
        else:
            await scheduler.cancel(remind_id)
        await scheduler.schedule(OWNER, "escalate", checkin.deadline + settings.grace_minutes * 60,
                                 {"id": checkin.id, "user": checkin.user_id}, job_id=due_id)

    async def _unschedule(self, checkin_id: str) -> None:
        for job_id in self._job_ids(checkin_id):
            await self.runtime.scheduler.cancel(job_id)

    # -- personal check-ins --------------------------------------------------

    def _time_error(self, ctx: Context[CheckinsSettings], error: TimeInputError, command_name: str,
                    limits: DeadlineLimits | None = None) -> str:
        """The refusal for a deadline not read: it shows the forms that are."""
        typed = error.text or ""
        return ctx.t(error.key, value=typed[:60], example=shown(self.runtime, command_name),
                     min=Trusted(format_duration(limits.minimum, ctx.language) if limits else ""),
                     max=Trusted(format_duration(limits.maximum, ctx.language) if limits else ""))

    # `!checkin <when> [note]` starts one (no word of its own: `start` is the
    # group's otherwise); `!checkin status` shows the running one.
    checkins = group("checkin", help="help_checkin", otherwise="start", safety=True,
                     private=True, checks=[ENCRYPTED_DM])

    @checkins.command("status", help="help_checkin_status", aliases=("الحالة", "حالة"))
    async def checkin_status(self, ctx: Context[CheckinsSettings]) -> None:
        await self._status(ctx)

    @checkins.command("start", help="help_checkin_start")
    async def checkin(self, ctx: Context[CheckinsSettings], *, when: str) -> None:
        """`!checkin 2 hours [note]`, `!checkin 6pm [note]`.

        The deadline is the longest run of leading words read as a duration or a
        time of day; the rest is the note (core/timeparse.py).
        """
        text = when.strip()
        settings = ctx.settings
        limits = DeadlineLimits(settings.min_minutes * 60.0, settings.max_hours * 3600.0)
        try:
            parsed, note = read_when(text)
        except TimeInputError as error:
            await ctx.reply(self._time_error(ctx, error, "checkin", limits))
            return
        if parsed.is_clock and not self._zone_known(ctx.sender):
            # A clock time means nothing without a zone: read as UTC it could be
            # hours off. Ask first; a duration needs no zone.
            await ctx.reply(ctx.t("timezone_first", timezone=shown(self.runtime, "timezone"),
                                  checkin=shown(self.runtime, "checkin")))
            return
        now = self.runtime.clock.now()
        zone = self._zone(ctx.sender)
        try:
            deadline = check_limits(resolve(parsed, now, zone), now, limits)
        except TimeInputError as error:
            error.text = error.text or text[:len(text) - len(note)].strip()
            await ctx.reply(self._time_error(ctx, error, "checkin", limits))
            return
        async with self._lock(ctx.sender):
            if await self.store.open_checkin(ctx.sender) is not None:
                await ctx.reply(ctx.t("already_running", extend=shown(self.runtime, "extend"),
                                      cancel=shown(self.runtime, "cancel"), safe=shown(self.runtime, "safe")))
                return
            checkin = Checkin(
                id=new_id(), user_id=ctx.sender, room_id=ctx.room_id, note=note or None,
                created_at=now, deadline=deadline, state=ACTIVE, urgent=False, escalated_at=None,
                late_by=0.0, acked_by=None, resolved_at=None, last_seen=now,
            )
            await self.runtime.db.transaction([self.store.insert_checkin_statement(checkin)])
            await self._schedule(checkin)
            self._tracked.add(ctx.sender)
        lines = [ctx.t("checkin_set", deadline=Trusted(format_time(deadline, zone, now)),
                       left=Trusted(format_duration(deadline - now, ctx.language)),
                       safe=shown(self.runtime, "safe"))]
        contacts = await self.store.accepted_contacts(ctx.sender)
        if contacts:
            lines.append(ctx.t("will_alert_contacts", count=len(contacts)))
        elif self.escalator.team_room_usable(self._policy(ctx.room_id)):
            lines.append(ctx.t("will_alert_team"))
        else:
            lines.append(ctx.t("will_alert_nobody", contacts=shown(self.runtime, "contacts")))
        await ctx.reply("\n".join(lines))

    async def _status(self, ctx: Context[CheckinsSettings]) -> None:
        checkin = await self.store.open_checkin(ctx.sender)
        if checkin is None:
            await ctx.reply(ctx.t("no_checkin"))
            return
        now = self.runtime.clock.now()
        zone = self._zone(ctx.sender)
        key = "status_escalated" if checkin.state == ESCALATED else "status_active"
        lines = [ctx.t(key, deadline=Trusted(format_time(checkin.deadline, zone, now)),
                       left=Trusted(format_duration(checkin.deadline - now, ctx.language)))]
        if checkin.note:
            lines.append(ctx.t("status_note", note=checkin.note))
        await ctx.reply("\n".join(lines))

    # Duress: the PIN is checked before anything else in a command. A duress PIN
    # then counts exactly as the normal PIN: the member's check-in goes on as the
    # normal path would (status, reminders, later commands and every answer are the
    # same, byte for byte), and the alarm is a separate, hidden check-in row
    # (urgent, escalated at once) whose alerts go through the outbox once, under
    # keys derived from the member's check-in. Only the people alerted ever see it.

    @contextlib.asynccontextmanager
    async def _unlocked(self, ctx: Context[CheckinsSettings], pin: str | None,
                        command_name: str) -> AsyncIterator[Unlocked]:
        """The start of every command a PIN opens (`!safe`, `!extend`, `!cancel`, `!confirm`).

        The PIN's message is deleted first, then the member's lock is taken (a
        deadline firing meanwhile is before or after, never between) and held
        for the body; a missing or wrong PIN is refused (Refusal) and nothing
        else runs. Normal and duress PINs go through the same steps.
        """
        if pin is not None:
            await self.forget_pin_message(ctx)
        async with self._lock(ctx.sender):
            yield await self._check_pin(ctx, pin, command_name)

    async def _check_pin(self, ctx: Context[CheckinsSettings], pin: str | None,
                         command_name: str) -> Unlocked:
        """Let the member through (duress: the alarm already raised), or refuse (Refusal).

        A member held after an identity change (core/identity_holds.py) confirms
        with their safe PIN here, which ends the hold; a duress PIN raises the
        alarm and ends it too, since everything must look as the normal PIN
        would. Without a safe PIN there is nothing only the member knows: the
        hold stays until the operator lifts it.
        """
        held = await self.runtime.holds.is_held(ctx.sender)
        if held and not (await self.store.member(ctx.sender))["pin_hash"]:
            raise Refusal("held_without_pin", command=shown(self.runtime, command_name))
        outcome = await self._pin_outcome(ctx.sender, pin)
        if outcome == "wrong":
            raise Refusal("wrong_pin" if pin is not None else "pin_needed",
                          safe=shown(self.runtime, command_name))
        if outcome == "duress":
            await self._raise_alarm(ctx)
        if held:
            await self.runtime.holds.release(ctx.sender)
        return Unlocked(duress=outcome == "duress", was_held=held)

    async def _raise_alarm(self, ctx: Context[CheckinsSettings]) -> None:
        """The duress alarm: urgent alerts at once; nothing the member can see changes."""
        now = self.runtime.clock.now()
        visible = await self.store.open_checkin(ctx.sender)
        # One alarm per check-in (a second duress use in it adds nothing), or per
        # command when none runs; the same command handled again re-enqueues the
        # same keys, which the outbox ignores.
        seed = f"duress/{visible.id}" if visible else f"duress/event/{ctx.event.event_id}"
        alarm = Checkin(
            id=derived_id(seed), user_id=ctx.sender, room_id=ctx.room_id,
            note=visible.note if visible else None,
            created_at=visible.created_at if visible else now,
            deadline=visible.deadline if visible else now, state=ESCALATED, urgent=True,
            escalated_at=now, late_by=0.0, acked_by=None, resolved_at=None,
            last_seen=visible.last_seen if visible else now)
        await self.escalator.duress_alarm(alarm, self._policy(ctx.room_id))

    @command("safe", help="help_safe", safety=True, private=True, while_held=True,
             checks=[ENCRYPTED_DM])
    async def safe(self, ctx: Context[CheckinsSettings], pin: str | None = None) -> None:
        """Confirm you are safe; with a PIN when you set one."""
        async with self._unlocked(ctx, pin, "safe") as unlocked:
            checkin = await self.store.open_checkin(ctx.sender)
            if checkin is None:
                reply = ctx.t("no_checkin")
            elif checkin.state == ESCALATED:
                reply = ctx.t("safe_after_alert")
            else:
                reply = ctx.t("safe_ok")
            if checkin is not None:
                # Under duress the check-in closes as it would (the member's view), but
                # the people alerted are not told "all clear": they have the alarm.
                await self._resolve(checkin, all_clear=checkin.state == ESCALATED
                                    and not unlocked.duress)
        await ctx.reply(reply)

    async def _resolve(self, checkin: Checkin, *, all_clear: bool) -> None:
        settings = self.settings_for(checkin.room_id)
        await self._unschedule(checkin.id)
        if all_clear:
            await self.escalator.notify_alerted(checkin, "all_clear", None,
                                                self._policy(checkin.room_id))
        await self.runtime.db.transaction([self.store.resolve_statement(
            checkin.id, self.runtime.clock.now(), keep_note=settings.note_retention_hours > 0)])

    @staticmethod
    def _duration_and_pin(text: str) -> tuple[float | None, TimeInputError | None, str | None]:
        """`30m`, `2 hours 4821`: the duration (or why not) and what follows it, the PIN.

        Whatever follows the duration is taken as the PIN; when no duration is
        read, the last of several words is (as `!extend <duration> <pin>` always was),
        so a PIN is checked, and its message deleted, before the duration is refused.
        """
        try:
            when, rest = read_when(text, clock=False)
        except TimeInputError as error:
            words = text.split()
            if len(words) > 1:
                error.text = text[:text.rstrip().rfind(words[-1])].strip()
                return None, error, words[-1]
            return None, error, None
        return when.seconds, None, rest or None

    @command("extend", help="help_extend", safety=True, private=True, while_held=True,
             checks=[ENCRYPTED_DM])
    async def extend(self, ctx: Context[CheckinsSettings], *, duration: str) -> None:
        """Push the deadline of your running check-in back: `!extend 30m [pin]`."""
        seconds, error, pin = self._duration_and_pin(duration)
        async with self._unlocked(ctx, pin, "extend"):
            if seconds is None:
                assert error is not None
                await ctx.reply(self._time_error(ctx, error, "extend"))
                return
            settings = ctx.settings
            now = self.runtime.clock.now()
            zone = self._zone(ctx.sender)
            checkin = await self.store.open_checkin(ctx.sender)
            if checkin is None:
                reply = ctx.t("no_checkin")
            elif checkin.state == ESCALATED:
                reply = ctx.t("extend_after_alert", safe=shown(self.runtime, "safe"))
            else:
                deadline = max(checkin.deadline, now) + seconds
                if deadline - now > settings.max_hours * 3600:
                    longest = format_duration(settings.max_hours * 3600, ctx.language)
                    await ctx.reply(ctx.t("deadline_too_far", value="", min=Trusted(""),
                                          max=Trusted(longest)))
                    return
                reply = ctx.t("extended", deadline=Trusted(format_time(deadline, zone, now)),
                              left=Trusted(format_duration(deadline - now, ctx.language)))
                await self.store.set_deadline(checkin.id, deadline)
                updated = await self.store.checkin(checkin.id)
                if updated is not None:
                    await self._schedule(updated)
        await ctx.reply(reply)

    @command("cancel", help="help_cancel", safety=True, private=True, while_held=True,
             checks=[ENCRYPTED_DM])
    async def cancel(self, ctx: Context[CheckinsSettings], pin: str | None = None) -> None:
        """Stop your running check-in without alerting anyone."""
        async with self._unlocked(ctx, pin, "cancel"):
            checkin = await self.store.open_checkin(ctx.sender)
            if checkin is None:
                reply = ctx.t("no_checkin")
            elif checkin.state == ESCALATED:
                reply = ctx.t("cancel_after_alert", safe=shown(self.runtime, "safe"))
            else:
                reply = ctx.t("cancelled")
                await self._resolve(checkin, all_clear=False)
        await ctx.reply(reply)

    @command("timezone", help="help_timezone", private=True)
    async def timezone(self, ctx: Context[CheckinsSettings], *, zone: str = "") -> None:
        """Show or set the timezone your times are read and shown in (a city or IANA name)."""
        zone = zone.strip()
        if not zone:
            current = self._zone(ctx.sender)
            known = self._zone_known(ctx.sender)
            await ctx.reply(ctx.t("timezone_is" if known else "timezone_not_set",
                                  zone=Trusted(current.key), example=shown(self.runtime, "timezone")))
            return
        found = find_zone(zone)
        if found is None:
            close = suggest_zones(zone)
            if close:
                await ctx.reply(ctx.t("timezone_suggest", zone=zone[:60],
                                      suggestions=Trusted(join_list(close, ctx.language, "or")),
                                      example=shown(self.runtime, "timezone"), first=Trusted(close[0])))
            else:
                await ctx.reply(ctx.t("timezone_unknown", zone=zone[:60],
                                      example=shown(self.runtime, "timezone")))
            return
        await self.runtime.zones.set(ctx.sender, found)
        now = self.runtime.clock.now()
        await ctx.reply(ctx.t("timezone_set", zone=Trusted(found.key),
                              time=Trusted(format_time(now, found, now))))

    # -- trusted contacts ------------------------------------------------------

    # `!contacts` alone lists them; a word that is no subcommand (`!contacts @sam:x`) is
    # told how to use it. The account is optional in each signature so that a verb
    # without one gets that same explanation, not a bare "missing user".
    contacts_group = group("contacts", help="help_contacts", alone="list", otherwise="help",
                           private=True, checks=[ENCRYPTED_DM])

    @contacts_group.command("list", help="help_contacts_list")
    async def contacts_list(self, ctx: Context[CheckinsSettings]) -> None:
        await self.contact_book.show(ctx)

    @contacts_group.command("add", help="help_contacts_add")
    async def contacts_add(self, ctx: Context[CheckinsSettings], user: str | None = None) -> None:
        await self.contact_book.add(ctx, self.contact_book.member_named(user))

    @contacts_group.command("remove", help="help_contacts_remove")
    async def contacts_remove(self, ctx: Context[CheckinsSettings],
                              user: str | None = None) -> None:
        await self.contact_book.remove(ctx, self.contact_book.member_named(user))

    @contacts_group.command("accept", help="help_contacts_accept")
    async def contacts_accept(self, ctx: Context[CheckinsSettings],
                              user: str | None = None) -> None:
        await self.contact_book.accept(ctx, self.contact_book.member_named(user))

    @contacts_group.command("decline", help="help_contacts_decline")
    async def contacts_decline(self, ctx: Context[CheckinsSettings],
                               user: str | None = None) -> None:
        await self.contact_book.decline(ctx, self.contact_book.member_named(user))

    @contacts_group.command("allow", help="help_contacts_allow")
    async def contacts_allow(self, ctx: Context[CheckinsSettings],
                             user: str | None = None) -> None:
        await self.contact_book.allow(ctx, self.contact_book.member_named(user))

    @contacts_group.command("help", help="help_group_usage")
    async def contacts_help(self, ctx: Context[CheckinsSettings], *, rest: str = "") -> None:
        await self.contact_book.usage(ctx)

    # -- PINs ------------------------------------------------------------------

    @command("confirm", help="help_confirm", safety=True, private=True, while_held=True,
             checks=[ENCRYPTED_DM])
    async def confirm(self, ctx: Context[CheckinsSettings], pin: str | None = None) -> None:
        """`!confirm <safe PIN>`: it is me, after my account's identity changed."""
        async with self._unlocked(ctx, pin, "confirm") as unlocked:
            await ctx.reply(ctx.t("confirmed" if unlocked.was_held else "nothing_to_confirm"))

    # Everything here stays in the DM history for whoever holds the phone: every
    # message of these commands is deleted (FORGET_MESSAGE), and both groups answer
    # alike ("PIN saved"; `!duress` and `!safepin` alone, or with a word that is
    # none of theirs, give the same usage), so the history does not tell that a
    # duress PIN exists (`!help duress` explains it).
    safepin_group = group("safepin", help="help_safepin", alone="help", otherwise="help",
                          safety=True, private=True, checks=[ENCRYPTED_DM, FORGET_MESSAGE])
    duress_group = group("duress", help="help_duress", alone="help", otherwise="help",
                         safety=True, private=True, checks=[ENCRYPTED_DM, FORGET_MESSAGE])

    @safepin_group.command("set", help="help_safepin_set")
    async def safepin_set(self, ctx: Context[CheckinsSettings], pin: str | None = None) -> None:
        """`!safepin set <pin>`: require this PIN with `!safe`, `!extend` and `!cancel`."""
        await self._set_pin(ctx, "pin_hash", pin)

    @safepin_group.command("clear", help="help_safepin_clear")
    async def safepin_clear(self, ctx: Context[CheckinsSettings], pin: str | None = None) -> None:
        await self._clear_pin(ctx, "pin_hash", pin)

    @safepin_group.command("help", help="help_group_usage")
    async def safepin_help(self, ctx: Context[CheckinsSettings], *, rest: str = "") -> None:
        await ctx.reply(ctx.t("pin_usage", min=4, max=32))

    @duress_group.command("set", help="help_duress_set")
    async def duress_set(self, ctx: Context[CheckinsSettings], pin: str | None = None) -> None:
        """`!duress set <pin>`: a PIN that looks like `!safe` but silently raises the alarm."""
        await self._set_pin(ctx, "duress_hash", pin)

    @duress_group.command("clear", help="help_duress_clear")
    async def duress_clear(self, ctx: Context[CheckinsSettings], pin: str | None = None) -> None:
        await self._clear_pin(ctx, "duress_hash", pin)

    @duress_group.command("help", help="help_group_usage")
    async def duress_help(self, ctx: Context[CheckinsSettings], *, rest: str = "") -> None:
        await ctx.reply(ctx.t("pin_usage", min=4, max=32))

    async def _set_pin(self, ctx: Context[CheckinsSettings], field: str, pin: str | None) -> None:
        if pin is None:
            # The PIN is optional in the signature so that a bare `!duress set` gets the
            # usage both groups share, not a "missing" line naming the command.
            await ctx.reply(ctx.t("pin_usage", min=4, max=32))
            return
        async with self._lock(ctx.sender):
            member = await self.store.member(ctx.sender)
            other = member["pin_hash" if field == "duress_hash" else "duress_hash"]
            if not valid_pin(pin):
                await ctx.reply(ctx.t("pin_invalid", min=4, max=32))
                return
            if field == "duress_hash" and not member["pin_hash"]:
                # Without a PIN asked for every time, a bare `!safe` closes a check-in
                # and the duress PIN protects nothing.
                await ctx.reply(ctx.t("pin_first", safepin=shown(self.runtime, "safepin")))
                return
            if field == "pin_hash" and member["pin_hash"]:
                await ctx.reply(ctx.t("safepin_exists", command=shown(self.runtime, "safepin")))
                return
            if await verify_pin(pin, other):
                await ctx.reply(ctx.t("pin_unusable"))
                return
            await self.store.set_member_field(ctx.sender, field, await hash_pin(pin))
        await ctx.reply(ctx.t("pin_saved"))

    async def _clear_pin(self, ctx: Context[CheckinsSettings], field: str,
                         pin: str | None) -> None:
        if pin is None:
            await ctx.reply(ctx.t("pin_usage", min=4, max=32))
            return
        async with self._lock(ctx.sender):
            member = await self.store.member(ctx.sender)
            # Clearing needs the PIN itself, so a phone taken from the member cannot
            # switch protection off unnoticed.
            if field == "duress_hash":
                if not await verify_pin(pin, member["duress_hash"]):
                    await ctx.reply(ctx.t("pin_wrong_plain"))
                    return
                await self.store.set_member_field(ctx.sender, "duress_hash", None)
                await ctx.reply(ctx.t("pin_removed"))
                return
            # `!safepin clear <duress PIN>` (someone made the member switch the PIN off)
            # answers and clears as the normal PIN would, and raises the alarm.
            outcome = await self._pin_outcome(ctx.sender, pin)
            if outcome == "wrong":
                await ctx.reply(ctx.t("pin_wrong_plain"))
                return
            if outcome == "duress":
                await self._raise_alarm(ctx)
            # The duress PIN works only alongside a PIN: it goes with it.
            await self.store.set_member_field(ctx.sender, "pin_hash", None)
            await self.store.set_member_field(ctx.sender, "duress_hash", None)
            await ctx.reply(ctx.t("pin_removed"))

    # -- acknowledgements ------------------------------------------------------

    @command("onit", help="help_onit")
    async def onit(self, ctx: Context, checkin_id: str | None = None) -> None:
        """Tell the others you are taking care of an alert (named, replied to, or the only one)."""
        if checkin_id is None:
            await self._onit_open(ctx)
            return
        checkin = await self.store.checkin(checkin_id.strip().lower())
        if checkin is None or not await self._may_ack(checkin.id, ctx.sender, ctx.room_id):
            await ctx.reply(ctx.t("ack_unknown", id=checkin_id[:20]))
            return
        await self._ack(ctx, checkin)

    async def _onit_open(self, ctx: Context) -> None:
        """`!onit` without an id: the alert it replies to, else the only open one for this
        reader here; with several, their ids (someone under pressure should not have to
        copy one from a message that may have scrolled away)."""
        if isinstance(ctx.event, Message) and ctx.event.reply_to:
            checkin = await self._replied_alert(ctx.event)
            if checkin is not None:
                await self._ack(ctx, checkin)
                return
        mine = [checkin for checkin in await self.store.escalated()
                if await self._may_ack(checkin.id, ctx.sender, ctx.room_id)]
        # One nobody took on yet is the one meant; when all are taken, the only one
        # is answered as `!onit <id>` would be (who is on it).
        waiting = [checkin for checkin in mine if not checkin.acked_by] or mine
        if len(waiting) == 1:
            await self._ack(ctx, waiting[0])
            return
        if not waiting:
            await ctx.reply(ctx.t("ack_none"))
            return
        lines = [ctx.t("ack_which", onit=shown(self.runtime, "onit"))]
        lines += [ctx.t("ack_which_line", id=Trusted(checkin.id), member=checkin.user_id)
                  for checkin in waiting[:10]]
        await ctx.reply("\n".join(lines))

    async def _replied_alert(self, event: Message) -> Checkin | None:
        """The check-in whose alert `event` replies to, when its sender may take it on."""
        alert = await self.store.alert_by_event(event.reply_to or "")
        if alert is None or not ((alert.kind == "contact" and alert.recipient == event.sender) or (
                alert.kind == "team" and alert.recipient == event.room_id)):
            return None
        return await self.store.checkin(alert.checkin_id)

    async def _may_ack(self, checkin_id: str, user_id: str, room_id: str) -> bool:
        for alert in await self.store.alerts(checkin_id):
            if alert.kind == "contact" and alert.recipient == user_id:
                return True
            if alert.kind == "team" and alert.recipient == room_id:
                return True
        return False

    async def _ack(self, ctx: Context, checkin: Checkin) -> None:
        if checkin.state != ESCALATED:
            await ctx.reply(ctx.t("ack_resolved"))
            return
        if not await self.store.ack(checkin.id, ctx.sender):
            await ctx.reply(ctx.t("ack_already", user=checkin.acked_by or ""))
            return
        await self.runtime.scheduler.cancel(self._job_ids(checkin.id)[2])
        policy = self._policy(checkin.room_id)
        await self.escalator.notify_alerted(checkin, "acked", ctx.room_id if ctx.room_id ==
                                            policy.team_room else ctx.sender, policy,
                                            acker=ctx.sender)
        await ctx.reply(ctx.t("ack_thanks", member=checkin.user_id))

    async def on_reaction(self, ctx: Context[CheckinsSettings], event: Reaction) -> None:
        if await self.contact_book.answered_by_reaction(ctx, event):
            return
        if not reaction_in(event.key, CHECK_MARKS):
            return
        alert = await self.store.alert_by_event(event.relates_to)
        if alert is not None:
            if (alert.kind == "contact" and alert.recipient == event.sender) or (
                    alert.kind == "team" and alert.recipient == event.room_id):
                checkin = await self.store.checkin(alert.checkin_id)
                if checkin is not None:
                    await self._ack(ctx, checkin)
            return
        await self.rollcalls.on_reaction(ctx, event)

    async def on_message(self, ctx: Context[CheckinsSettings], event: Message) -> None:
        # "Last seen active" for contacts: only members with a running check-in are tracked.
        if event.sender in self._tracked:
            await self.store.touch(event.sender, self.runtime.clock.now())
        # A reply to an alert ("on my way", "calling them now") is someone taking it
        # on, as ✅ is: the others are told, as `!onit` tells them.
        if event.reply_to and not event.is_edit:
            checkin = await self._replied_alert(event)
            if checkin is not None:
                await self._ack(ctx, checkin)
        # A contact answering a request in words ("yes of course") rather than the command.
        if event.reply_to is not None and not event.is_edit:
            await self.contact_book.answered_by_reply(ctx, event)

    # -- roll calls -------------------------------------------------------------

    @command("rollcall", help="help_rollcall")
    async def rollcall(self, ctx: Context[CheckinsSettings], *, duration: str) -> None:
        """Start a roll call in this room: `!rollcall 30m [note]`, `!rollcall half an hour`."""
        await self.rollcalls.start(ctx, duration, ctx.settings.rollcall_max_hours * 3600.0)

    @command("here", help="help_here")
    async def here(self, ctx: Context[CheckinsSettings]) -> None:
        """Answer the roll call running in this room."""
        await self.rollcalls.answer(ctx)

    # -- jobs ------------------------------------------------------------------

    async def _on_remind(self, job: Job) -> None:
        checkin = await self.store.checkin(job.payload["id"])
        if checkin is None or checkin.state != ACTIVE or checkin.deadline != job.payload["deadline"]:
            return
        language = self.runtime.languages.for_reader(checkin.user_id, checkin.room_id)
        zone = self._zone(checkin.user_id)
        now = self.runtime.clock.now()
        text = CATALOG.text("reminder", language,
                            deadline=Trusted(format_time(checkin.deadline, zone, now)),
                            left=Trusted(format_duration(checkin.deadline - now, language)),
                            safe=shown(self.runtime, "safe"), extend=shown(self.runtime, "extend"))
        await self.runtime.outbox.enqueue(OWNER, f"remind/{checkin.id}/{checkin.deadline}",
                                          message_content(text), room_id=checkin.room_id,
                                          priority=SAFETY)

    async def _on_escalate(self, job: Job) -> None:
        user_id = job.payload.get("user")
        if user_id is None:
            found = await self.store.checkin(job.payload["id"])
            if found is None:
                return
            user_id = found.user_id
        # The member's lock: a `!safe` racing the deadline is either before or after, never between.
        async with self._lock(user_id):
            checkin = await self.store.checkin(job.payload["id"])
            if checkin is None:
                return
            policy = self._policy(checkin.room_id)
            if checkin.state == ACTIVE:
                _, team_next = await self.escalator.escalate(checkin, policy, job.late_by)
                log.info("check-in escalated (late by %.1fs)", job.late_by)
            elif job.rerun and checkin.state == ESCALATED and not checkin.urgent:
                # The process died after the escalation committed, before the team
                # step was scheduled: the rerun schedules it (alerts are not redone).
                _, _, team_next = await self.escalator.first_step(checkin, policy, job.late_by)
            else:
                return
        team_job = self._job_ids(checkin.id)[2]
        if team_next and not any(j.id == team_job for j in
                                 await self.runtime.scheduler.pending(OWNER, "team")):
            base = checkin.escalated_at or self.runtime.clock.now()
            await self.runtime.scheduler.schedule(
                OWNER, "team", max(base + policy.team_after, self.runtime.clock.now()),
                {"id": checkin.id}, job_id=team_job)

    async def _on_team_step(self, job: Job) -> None:
        checkin = await self.store.checkin(job.payload["id"])
        if checkin is None:
            return
        await self.escalator.team_step(checkin, self._policy(checkin.room_id), job.late_by)

    async def _on_purge(self, job: Job) -> None:
        await self._purge()

    async def _purge(self) -> None:
        network = self._network()
        retention = network.note_retention_hours * 3600.0
        gone = await self.store.purge(self.runtime.clock.now(), retention,
                                      max(retention, 7 * 86400.0),
                                      network.retention_days * 86400.0)
        if gone:
            log.info("check-ins purge: %d old check-in rows deleted", gone)

    async def _on_dead_letter(self, job: Job) -> None:
        """A safety job gave up: the safety team hears that something failed, never who."""
        if job.kind not in SAFETY_JOBS:
            log.error("check-ins job %s (%s) dead-lettered", job.id, job.kind)
            return
        policy = self._policy(NETWORK)
        if not self.escalator.team_room_usable(policy):
            log.error("a check-ins %s job was dead-lettered and no usable team room is set; "
                      "see `solidarity jobs`", job.kind)
            return
        await self.say(policy.team_room, f"dead_letter_{job.kind}", once=f"deadletter/{job.id}",
                       queued=True, priority=SAFETY, tries=job.attempts,
                       jobs=Trusted("solidarity jobs"))

    async def _on_outbox_result(self, item: Any) -> None:
        if item.state == "sent" and item.event_id and item.key.startswith("alert/"):
            await self.store.set_alert_event(item.key, item.event_id)
            return
        if item.state == "sent" and item.event_id and item.key.startswith("request/"):
            await self.store.set_request_event(item.key, item.event_id)
            return
        if item.state == "failed" and item.key.startswith("alert/") and item.user_id:
            alert = await self.store.alert_by_key(item.key)
            checkin = await self.store.checkin(alert.checkin_id) if alert else None
            if checkin is not None:
                used = await self.escalator.fallback_to_team(
                    checkin, item.user_id, self._policy(checkin.room_id))
                log.warning("a contact alert DM failed; team room fallback %s",
                            "used" if used else "unavailable")

