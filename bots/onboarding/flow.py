"""The life of one onboarding: join, hold, private welcome, batched room welcome, accept, leave.

Every step can run again after a crash without a second message: sends go
through the outbox under keys derived from the join event, and the member's
row is written before the power level changes, so a replayed join finds
what was already done.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bots.onboarding.gate import Gate, hold_level, level_to_manage
from bots.onboarding.settings import OnboardingSettings
from bots.onboarding.store import Newcomer, OnboardingStore
from bots.onboarding.texts import PrivateWelcome, commands, private_welcome, room_welcome, t
from core.actions import ActionError
from core.events import MemberJoined, MemberLeft
from core.i18n import Trusted, isolate
from core.logsafe import log_exception, new_error_id
from core.plugin import Plugin, message_content
from core.scheduler import Job

if TYPE_CHECKING:
    from core.outbox import OutboxItem
    from core.runtime import Runtime

log = logging.getLogger(__name__)

OWNER = "onboarding"
SWEEP_KIND = "sweep"
# The sweep's fixed id in older versions, which rescheduled it by hand (and stopped
# after one error): cancelled at start.
OLD_SWEEP_JOB = "onboarding-sweep"
# Leaves are heard only in rooms with onboarding on; the sweep catches members who
# left the network through other rooms of the bot, or while it was down.
SWEEP_SECONDS = 3600.0


@dataclass
class Acceptance:
    """Rooms whose rules were accepted: released from the hold, never held, or still held."""

    released: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)


def _job_id(kind: str, room_id: str, user_id: str = "") -> str:
    return f"onboarding-{kind}-{room_id}-{user_id}"


class Flow:
    """Onboarding steps over the runtime's actions, outbox, scheduler and the plugin's store."""

    def __init__(self, runtime: Runtime, store: OnboardingStore,
                 plugin: Plugin[OnboardingSettings]) -> None:
        self.runtime = runtime
        self.store = store
        self.owner = plugin
        # The class, as the room settings know plugins (enabled where, by whom).
        self.plugin = type(plugin)
        self.gate = Gate(runtime.actions)
        self._warning_lock = asyncio.Lock()

    def register(self) -> None:
        scheduler = self.runtime.scheduler
        scheduler.register(OWNER, "room_welcome", self._room_welcome_job)
        scheduler.register(OWNER, "reminder", self._reminder_job)
        scheduler.register(OWNER, "remove", self._remove_job)
        scheduler.register(OWNER, SWEEP_KIND, self._sweep_job)
        self.runtime.outbox.on_result(OWNER, self.delivered)

    async def start_sweeps(self) -> None:
        """The sweep is the scheduler's: one recurring row, back after errors and restarts.

        It fires only after the first sync (core starts timers after `ready`), so
        it never mistakes "rooms not known yet" for "left the network".
        """
        scheduler = self.runtime.scheduler
        await scheduler.cancel(OLD_SWEEP_JOB)
        await scheduler.every(OWNER, SWEEP_KIND, SWEEP_SECONDS)

    # -- small facts ------------------------------------------------------------------

    def settings(self, room_id: str) -> OnboardingSettings:
        return self.owner.settings_for(room_id)

    def room_label(self, room_id: str) -> str:
        return self.runtime.actions.room_name(room_id) or room_id

    def intro_room(self, settings: OnboardingSettings) -> str | None:
        """Where introductions go, if that room may receive them; None: no introductions.

        The setting is the network's (organizers, config); still, a member's
        introduction never goes into a room holding a network role (its name
        and existence are its members' to share) or a room the bot is not in.
        (Not "no DM": core's DM test counts any encrypted room of the bot and
        one member, which a new introductions room often is.)
        """
        room = settings.introductions_room
        if not room or room in self.runtime.network.role_rooms():
            return None
        if room not in self.runtime.actions.joined_rooms():
            return None
        return room

    def _their_dm(self, room_id: str, user_id: str) -> bool:
        # Not `dms.is_dm`: a community room left with one member beside the bot looks like a
        # DM to that heuristic, and its joins and leaves still matter here.
        return self.runtime.dms.user_of(room_id) == user_id

    def _prefix(self) -> str:
        return self.runtime.config.bot.command_prefix

    def _room_language(self, room_id: str) -> str:
        return self.runtime.languages.for_reader(None, room_id)

    def _now(self) -> float:
        return self.runtime.clock.now()

    # -- joining ------------------------------------------------------------------------

    async def joined(self, event: MemberJoined) -> None:
        room_id, user_id = event.room_id, event.user_id
        if user_id == self.runtime.bot_user_id or self._their_dm(room_id, user_id):
            return
        settings = self.settings(room_id)
        existing = await self.store.get(room_id, user_id)
        if existing is not None and existing.join_event_id == event.event_id:
            # The same join again (replayed after a restart): finish what it started.
            await self._welcome(existing, settings)
            return
        if existing is not None:
            await self._returned(existing, event, settings)
            return
        newcomer = Newcomer(
            room_id=room_id, user_id=user_id, join_event_id=event.event_id, joined_at=self._now(),
            state="pending", gated_level=await self._planned_hold(room_id, user_id, settings),
            room_welcomed=not settings.welcome_in_room, welcome_key=f"welcome/{event.event_id}",
            rules_event_id=None, dm_room_id=None,
        )
        await self.runtime.db.transaction([self.store.insert(newcomer)])
        await self._welcome(newcomer, settings)

    async def _planned_hold(self, room_id: str, user_id: str, settings: OnboardingSettings) -> int | None:
        if not settings.gate:
            return None
        try:
            return hold_level(await self.gate.levels(room_id), user_id)
        except ActionError as exc:
            log_exception(log, "reading power levels", exc, new_error_id())
            return None

    async def _welcome(self, newcomer: Newcomer, settings: OnboardingSettings) -> None:
        """Hold (when planned), queue the private welcome, schedule the batch and the timers."""
        held = await self._apply_hold(newcomer)
        user_id = newcomer.user_id
        languages = self.runtime.languages
        text = self._welcome_text(newcomer, settings, languages.for_reader(user_id, newcomer.room_id),
                                  offer_languages=languages.of_user(user_id) is None,
                                  gated=held is not None)
        await self.runtime.outbox.enqueue(OWNER, newcomer.welcome_key, message_content(text),
                                          user_id=user_id)
        await self._schedule(newcomer, settings, held)

    def _welcome_text(self, newcomer: Newcomer, settings: OnboardingSettings, language: str, *,
                      offer_languages: bool, gated: bool) -> str:
        intro_room = self.intro_room(settings) if settings.intro_questions else None
        return private_welcome(settings, PrivateWelcome(
            room_name=self.room_label(newcomer.room_id), language=language,
            offer_languages=offer_languages, gated=gated,
            intro_room_name=self.room_label(intro_room) if intro_room else None,
            prefix=self._prefix(), fallback_language=self.runtime.languages.default,
        ))

    async def language_changed(self, user_id: str, previous: str | None, language: str) -> None:
        """A member chose another language: the welcomes still waiting for their ✅ come again in it.

        The earlier welcome's ✅ still counts (store.replace_welcome); one not sent
        yet is withdrawn, so the member does not get both. Under a key of its own
        (`rewelcome/`), which no withdrawal of the first welcome's key covers.
        """
        for newcomer in await self.store.of_user(user_id, "pending"):
            room_id = newcomer.room_id
            if (previous or self._room_language(room_id)) == language:
                continue  # that welcome was already in this language
            if not self.runtime.settings.is_enabled(room_id, self.plugin):
                continue
            if newcomer.rules_event_id is None:
                await self.runtime.outbox.withdraw(OWNER, newcomer.welcome_key)
            key = f"rewelcome/{newcomer.join_event_id}/{language}/{self._now()}"
            await self.store.replace_welcome(newcomer, key)
            text = self._welcome_text(newcomer, self.settings(room_id), language,
                                      offer_languages=False,
                                      gated=newcomer.gated_level is not None)
            await self.runtime.outbox.enqueue(OWNER, key, message_content(text), user_id=user_id)

    async def _apply_hold(self, newcomer: Newcomer) -> int | None:
        """Give the planned level; on refusal, record no hold and tell the admins once."""
        level = newcomer.gated_level
        if level is None:
            return None
        room_id, user_id = newcomer.room_id, newcomer.user_id
        try:
            if not await self.gate.apply(room_id, user_id, level):
                # Someone set this member's level meanwhile: theirs wins.
                await self.store.set_gated(room_id, user_id, None)
                return None
        except ActionError as exc:
            await self.store.set_gated(room_id, user_id, None)
            if exc.forbidden:
                await self._warn_no_power(room_id, levels_needed=await self._needed(room_id))
            else:
                log_exception(log, "holding a newcomer", exc, new_error_id())
            return None
        await self.store.clear_warning(room_id, "power")
        return level

    async def _returned(self, existing: Newcomer, event: MemberJoined,
                        settings: OnboardingSettings) -> None:
        """A member who was here before: no second welcome; still held if they never accepted."""
        if existing.state == "agreed":
            return
        await self.store.set_state(existing.room_id, existing.user_id, "pending")
        planned = existing.gated_level
        if planned is None:
            planned = await self._planned_hold(existing.room_id, existing.user_id, settings)
            await self.store.set_gated(existing.room_id, existing.user_id, planned)
        again = await self.store.get(existing.room_id, existing.user_id)
        assert again is not None
        held = await self._apply_hold(again)
        if held is not None:
            await self._remind(again, key=f"remind/{event.event_id}")
        await self._schedule(again, settings, held)

    async def _schedule(self, newcomer: Newcomer, settings: OnboardingSettings,
                        held: int | None) -> None:
        scheduler = self.runtime.scheduler
        room_id, user_id = newcomer.room_id, newcomer.user_id
        if not newcomer.room_welcomed:
            await self._ensure_batch(room_id, settings)
        if held is None:
            return
        if settings.reminder_hours > 0:
            await scheduler.schedule(
                OWNER, "reminder", newcomer.joined_at + settings.reminder_hours * 3600,
                {"room_id": room_id, "user_id": user_id}, job_id=_job_id("remind", room_id, user_id),
            )
        if settings.remove_after_days > 0:
            await scheduler.schedule(
                OWNER, "remove", newcomer.joined_at + settings.remove_after_days * 86400,
                {"room_id": room_id, "user_id": user_id}, job_id=_job_id("remove", room_id, user_id),
            )

    async def _ensure_batch(self, room_id: str, settings: OnboardingSettings) -> None:
        job_id = _job_id("welcome", room_id)
        pending = await self.runtime.scheduler.pending(OWNER, "room_welcome")
        if any(job.id == job_id for job in pending):
            return
        await self.runtime.scheduler.schedule(
            OWNER, "room_welcome", self._now() + settings.batch_seconds, {"room_id": room_id},
            job_id=job_id,
        )

    # -- the batched room welcome ---------------------------------------------------------

    async def _room_welcome_job(self, job: Job) -> None:
        room_id = str(job.payload["room_id"])
        settings = self.settings(room_id)
        waiting = await self.store.unwelcomed(room_id)
        if not waiting:
            return
        present = [n.user_id for n in waiting if n.state != "left"]
        statements = self.store.mark_welcomed(room_id, [n.user_id for n in waiting])
        enabled = self.runtime.settings.is_enabled(room_id, self.plugin)
        if present and enabled and settings.welcome_in_room:
            welcome = room_welcome(settings, self._room_language(room_id), present)
            key = f"room-welcome/{room_id}/{waiting[0].join_event_id}"
            statements += self.runtime.outbox.enqueue_statements(
                OWNER, key, message_content(welcome.text, welcome.mentions), room_id=room_id)
        await self.runtime.db.transaction(statements)
        self.runtime.outbox.wake()
        if await self.store.unwelcomed(room_id):
            # Joins that arrived while this batch was written get the next one.
            await self.runtime.scheduler.schedule(
                OWNER, "room_welcome", self._now() + settings.batch_seconds, {"room_id": room_id},
                job_id=job.id,
            )

    # -- delivery results -----------------------------------------------------------------

    async def delivered(self, item: OutboxItem) -> None:
        if not item.key.startswith(("welcome/", "rewelcome/")):
            return
        newcomer = await self.store.by_welcome_key(item.key)
        if newcomer is None:
            return
        if item.state == "sent":
            await self.store.set_delivered(item.key, item.event_id, item.delivered_to)
            dm = item.delivered_to
            if dm and not self.runtime.settings.is_enabled(dm, self.plugin):
                # `!agree` and the ✅ reaction arrive in the DM: the plugin must hear them there.
                await self.runtime.settings.set_enabled(dm, self.plugin, True)
        elif item.state == "failed":
            await self._dm_failed(newcomer)

    async def _dm_failed(self, newcomer: Newcomer) -> None:
        """No private chat: never keep someone held back for our failure; tell them in the room."""
        if newcomer.gated_level is not None:
            try:
                await self.gate.release(newcomer.room_id, newcomer.user_id, newcomer.gated_level)
            except ActionError as exc:
                log_exception(log, "releasing after a failed DM", exc, new_error_id())
            await self.store.set_gated(newcomer.room_id, newcomer.user_id, None)
            await self._cancel_timers(newcomer.room_id, newcomer.user_id)
        language = self._room_language(newcomer.room_id)
        text = t(language, "dm_failed_room", user=Trusted(isolate(newcomer.user_id)),
                 rules=commands(self._prefix(), "rules"))
        await self.runtime.outbox.enqueue(
            OWNER, f"dm-failed/{newcomer.join_event_id}",
            message_content(text, [newcomer.user_id]), room_id=newcomer.room_id,
        )

    # -- accepting -------------------------------------------------------------------------

    async def accept(self, waiting: list[Newcomer]) -> Acceptance:
        outcome = Acceptance()
        for newcomer in waiting:
            room_id, user_id = newcomer.room_id, newcomer.user_id
            if newcomer.gated_level is None:
                outcome.plain.append(room_id)
            else:
                try:
                    await self.gate.release(room_id, user_id, newcomer.gated_level)
                    outcome.released.append(room_id)
                except ActionError as exc:
                    if not exc.forbidden:
                        raise
                    outcome.stuck.append(room_id)
                    await self._warn_no_power(room_id, levels_needed=await self._needed(room_id))
            await self.store.agree(room_id, user_id)
            await self._cancel_timers(room_id, user_id)
        return outcome

    async def _cancel_timers(self, room_id: str, user_id: str) -> None:
        await self.runtime.scheduler.cancel(_job_id("remind", room_id, user_id))
        await self.runtime.scheduler.cancel(_job_id("remove", room_id, user_id))

    # -- reminders and removal ----------------------------------------------------------------

    async def _reminder_job(self, job: Job) -> None:
        newcomer = await self.store.get(str(job.payload["room_id"]), str(job.payload["user_id"]))
        if newcomer is None or not newcomer.pending or newcomer.gated_level is None:
            return
        await self._remind(newcomer, key=f"remind/{newcomer.join_event_id}")

    async def _remind(self, newcomer: Newcomer, *, key: str) -> None:
        language = self.runtime.languages.for_reader(newcomer.user_id, newcomer.room_id)
        text = t(language, "reminder", room=self.room_label(newcomer.room_id),
                 agree=commands(self._prefix(), "agree"))
        await self.runtime.outbox.enqueue(OWNER, key, message_content(text),
                                          user_id=newcomer.user_id)

    async def _remove_job(self, job: Job) -> None:
        room_id, user_id = str(job.payload["room_id"]), str(job.payload["user_id"])
        newcomer = await self.store.get(room_id, user_id)
        if newcomer is None or not newcomer.pending or newcomer.gated_level is None:
            return
        days = self.settings(room_id).remove_after_days
        reason = t(self._room_language(room_id), "removed_reason", days=days)
        try:
            await self.runtime.actions.kick(room_id, user_id, reason)
        except ActionError as exc:
            if not exc.forbidden:
                raise  # the scheduler logs it; the member is not told of a removal that didn't happen
            await self._warn_admins(room_id, "kick", "no_power_kick", user=Trusted(isolate(user_id)),
                                    days=days, command=commands(
                                        self._prefix(), "config onboarding remove_after_days 0"))
            return
        language = self.runtime.languages.for_reader(user_id, room_id)
        text = t(language, "removed_dm", room=self.room_label(room_id), days=days)
        await self.runtime.outbox.enqueue(OWNER, f"removed/{newcomer.join_event_id}",
                                          message_content(text), user_id=user_id)

    # -- telling the room admins, once ---------------------------------------------------------

    async def _needed(self, room_id: str) -> int:
        try:
            return level_to_manage(await self.gate.levels(room_id))
        except ActionError:
            return 100

    async def power_missing(self, room_id: str) -> int | None:
        """The level the bot lacks to hold newcomers here, None when it has enough."""
        try:
            levels = await self.gate.levels(room_id)
        except ActionError:
            return None
        needed = level_to_manage(levels)
        own = self.runtime.rooms.power_level(room_id, self.runtime.bot_user_id)
        return needed if own < needed else None

    async def _warn_no_power(self, room_id: str, *, levels_needed: int) -> None:
        await self._warn_admins(room_id, "power", "no_power_gate", level=levels_needed,
                                command=commands(self._prefix(), "config onboarding gate off"))

    async def _warn_admins(self, room_id: str, kind: str, key: str, **values: object) -> None:
        async with self._warning_lock:
            if not await self.store.warn_once(room_id, kind, self._now()):
                return
        rooms = self.runtime.rooms
        threshold = self.runtime.config.bot.roles.admin_level
        admins = [user for user in rooms.members(room_id)
                  if user != self.runtime.bot_user_id and rooms.power_level(room_id, user) >= threshold]
        shown = Trusted(" ".join(isolate(user) for user in admins))
        text = t(self._room_language(room_id), key, admins=shown, **values)
        await self.runtime.outbox.enqueue(
            OWNER, f"warn/{kind}/{room_id}/{self._now()}", message_content(text, admins),
            room_id=room_id,
        )

    # -- leaving ---------------------------------------------------------------------------------

    async def left(self, event: MemberLeft) -> bool:
        """Stop a pending onboarding; forget the member once they left every room. True if forgotten."""
        room_id, user_id = event.room_id, event.user_id
        if user_id == self.runtime.bot_user_id or self._their_dm(room_id, user_id):
            return False
        newcomer = await self.store.get(room_id, user_id)
        if newcomer is not None and newcomer.pending:
            await self._cancel_timers(room_id, user_id)
            if newcomer.gated_level is not None:
                # A hold left behind would mute them on a fresh start; a new join holds again.
                try:
                    await self.gate.release(room_id, user_id, newcomer.gated_level)
                except ActionError as exc:
                    log_exception(log, "releasing a member who left", exc, new_error_id())
            await self.store.set_state(room_id, user_id, "left")
            await self.store.set_gated(room_id, user_id, None)
        if self._still_in_network(user_id, room_id):
            return False
        await self._forget(user_id)
        return True

    async def _forget(self, user_id: str) -> None:
        """A member who left the network: timers, unsent DMs and every row about them go."""
        for other in await self.store.of_user(user_id):
            await self._cancel_timers(other.room_id, user_id)
            # A welcome or reminder still queued would open a DM with someone who left.
            for kind in ("welcome", "remind"):
                await self.runtime.outbox.withdraw(OWNER, f"{kind}/{other.join_event_id}")
            await self.runtime.outbox.withdraw(OWNER, f"rewelcome/{other.join_event_id}/")
        await self.store.forget_user(user_id)

    def _still_in_network(self, user_id: str, left_room: str) -> bool:
        for room_id in self.runtime.actions.joined_rooms():
            if room_id == left_room or self._their_dm(room_id, user_id):
                continue
            if user_id in self.runtime.rooms.members(room_id):
                return True
        return False

    async def _sweep_job(self, job: Job) -> None:
        """Forget every member no longer in any room of the bot; one failure stops no other."""
        rows = await self.runtime.db.fetchall(
            "SELECT user_id FROM onboarding_members UNION SELECT user_id FROM onboarding_profiles")
        failed: Exception | None = None
        for row in rows:
            user_id = str(row["user_id"])
            if self._still_in_network(user_id, ""):
                continue
            try:
                await self._forget(user_id)
            except Exception as exc:
                failed = failed or exc
        if failed is not None:
            raise failed  # the scheduler logs it and sweeps again soon, with back-off
