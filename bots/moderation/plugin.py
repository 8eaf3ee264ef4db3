"""The moderation plugin: moderators' commands, protections, policy lists, reports and the mod log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

from bots.moderation.access import MODERATORS
from bots.moderation.durations import parse_duration
from bots.moderation.enforce import UNMUTE_JOB, Enforcer, Outcome
from bots.moderation.guard import Guard
from bots.moderation.messages import CATALOG
from bots.moderation.network import Network
from bots.moderation.policy_commands import POLL_KIND, PolicyCommands
from bots.moderation.policy_sync import PolicySync
from bots.moderation.reports import Reports
from bots.moderation.rule_commands import RuleCommands
from bots.moderation.settings import ModerationSettings
from bots.moderation.store import LogEntry, ModerationStore
from bots.moderation.target import ALL_FLAG, Target
from core.commands import UserId
from core.events import Media, MemberJoined, Message, Reaction
from core.i18n import Trusted
from core.logsafe import log_exception, new_error_id
from core.network import NetworkRole
from core.plugin import Context, command, group
from core.reactions import same_reaction
from core.room_settings import NETWORK
from core.scheduler import Job

log = logging.getLogger(__name__)

PRUNE_KIND = "prune"
PRUNE_SECONDS = 86400.0
FIRST_PRUNE_SECONDS = 3600.0
# Fixed job ids of versions that rescheduled their recurring jobs by hand.
OLD_JOB_IDS = ("moderation-prune", "moderation-policy-poll")
# How long `ready` waits for the first read of the policy lists before going on.
FIRST_POLL_WAIT_SECONDS = 10.0
MAX_REDACT = 500
MODLOG_LINES = 15


class UnmuteFailed(Exception):
    """The homeserver refused a timed mute's end for now: the scheduler retries it."""


class ModerationPlugin(PolicyCommands, RuleCommands):
    """Network-wide moderation for encrypted rooms: act once, apply everywhere."""

    name = "moderation"
    catalog = CATALOG
    Settings = ModerationSettings
    # Protections act on people: a room turns them on, they are never a surprise.
    enabled_by_default = False

    async def setup(self) -> None:
        await self._drop_refused_patterns()
        self.store = ModerationStore(self.runtime.db, self.runtime.sealer)
        await self.store.migrate()
        self.network = Network(self, self.store)
        await self.network.load()
        if self.settings_for(NETWORK).management_room:
            log.warning("plugins.moderation.management_room is no longer read: reports go to "
                        "the network moderators' room (network.moderators_room or !modroom)")
        await self._moderators_room_enabled()
        self.enforcer = Enforcer(self.runtime, self.store)
        self.policy = PolicySync(self.runtime, self.store, self.network, self.enforcer)
        await self.policy.load()
        self.guard = Guard(self.runtime, self.store, self.network, self.enforcer)
        self.reports = Reports(self.runtime, self.store, self.network, self.enforcer)
        scheduler = self.runtime.scheduler
        scheduler.register(self.name, POLL_KIND, self._poll_job)
        scheduler.register(self.name, PRUNE_KIND, self._prune_job)
        scheduler.register(self.name, UNMUTE_JOB, self._unmute_job)
        scheduler.on_dead_letter(self.name, self._dead_letter)
        # Recurring jobs are the scheduler's (one row per kind, back after errors and
        # restarts); the fixed ids older versions rescheduled by hand go, once.
        for old in OLD_JOB_IDS:
            await scheduler.cancel(old)
        self._poll_interval = self.settings_for(NETWORK).policy_poll_seconds
        await scheduler.every(self.name, POLL_KIND, self._poll_interval)
        await scheduler.every(self.name, PRUNE_KIND, PRUNE_SECONDS,
                              first_at=self.runtime.clock.now() + FIRST_PRUNE_SECONDS)
        self._first_poll: asyncio.Task[None] | None = None

    async def ready(self) -> None:
        """Connected, rooms known: read the followed lists once now (changes made while
        the bot was down), without holding the other plugins' timers for long."""
        self._first_poll = asyncio.create_task(self._read_lists_once(), name="moderation-poll")
        done, _ = await asyncio.wait({self._first_poll}, timeout=FIRST_POLL_WAIT_SECONDS)
        if not done:
            log.info("first read of the policy lists goes on in the background")

    async def _read_lists_once(self) -> None:
        try:
            await self.policy.poll()
        except Exception as exc:  # the recurring poll tries again
            log_exception(log, "first read of the policy lists", exc, new_error_id())

    async def teardown(self) -> None:
        first_poll = getattr(self, "_first_poll", None)
        if first_poll is not None and not first_poll.done():
            first_poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first_poll
        guard = getattr(self, "guard", None)
        if guard is not None:
            guard.runner.close()

    def refuses_invite(self, room_id: str, inviter: str) -> str | None:
        """Rooms and inviters banned by a followed policy list do not get the bot."""
        if self.policy.index.rooms.match(room_id) is not None:
            return "a followed policy list bans the room"
        if self.policy.index.match_user(inviter) is not None:
            return "a followed policy list bans the inviter"
        return None

    # -- helpers ---------------------------------------------------------

    async def _moderators_room_enabled(self) -> None:
        """Reactions on reports and moderators' commands arrive only where the plugin is on."""
        room = self.network.management_room()
        settings = self.runtime.settings
        if room and not settings.is_enabled(room, type(self)):
            await settings.set_enabled(room, type(self), True)

    def _excluded(self) -> set[str]:
        return self.network.list_rooms(self.policy.lists)

    async def _act_everywhere(
        self, ctx: Context, action: str, target: Target, reason: str,
        then: Callable[[Context, str, str], Awaitable[str]] | None = None, **options: Any,
    ) -> list[Outcome] | None:
        """Act in this room (or every protected room with --all) and answer once.

        `then(ctx, user, reason)` runs when something was done, before the
        answer, and returns a line to add (publishing to our policy list).
        """
        user, everywhere = target
        # Acting across the network takes network authority (core.authority), wherever
        # it is typed: a room's moderators and admins act on their own room only.
        if everywhere and not self.network_moderator(ctx):
            await ctx.reply(ctx.t("all_needs_network_moderator", flag=Trusted(ALL_FLAG)))
            return None
        rooms = self.network.protected_rooms(self._excluded()) if everywhere else [ctx.room_id]
        if not rooms:
            await ctx.reply(ctx.t("no_protected_rooms"))
            return None
        outcomes = []
        for room_id in rooms:
            # A network moderator acts with the bot's authority in each network room; anyone
            # else with their own level in the room, so never on a room they don't moderate.
            outcome = await self.enforcer.act(
                room_id, action, user, actor=ctx.sender, reason=reason,
                trigger=f"!{action}" + (" --all" if everywhere else ""),
                actor_level=self.authority(ctx, room_id),
                **options)
            outcomes.append(outcome)
            if outcome.problem in ("target_is_self", "target_is_bot"):
                break  # the same in every room: say it once
        done = [o for o in outcomes if o.done]
        extra = await then(ctx, user, reason) if then is not None and done else ""
        await self._report_outcomes(ctx, action, user, outcomes, extra)
        if done and any(self.network.in_network(o.room_id) for o in done):
            await self.network.post(
                self.network.modlog_room(), "log_command", seed=f"cmd/{ctx.event.event_id}",
                actor=ctx.sender, action=Trusted(action), user=user, count=len(done),
                reason=reason or "-")
        return outcomes

    async def _report_outcomes(self, ctx: Context, action: str, user: str,
                               outcomes: list[Outcome], extra: str) -> None:
        done = [o for o in outcomes if o.done]
        lines = []
        if done:
            if action == "redact":
                lines.append(ctx.t("done_redact", user=user, count=sum(o.count for o in done),
                                   rooms=len(done)))
            else:
                lines.append(ctx.t(f"done_{action}", user=user, rooms=len(done)))
        for outcome in outcomes:
            if outcome.done:
                continue
            problem = ctx.t(outcome.problem, **outcome.values)
            if len(outcomes) == 1:
                lines.append(problem)
            else:
                lines.append(ctx.t("room_problem", room=self.network.room_label(outcome.room_id),
                                   problem=Trusted(problem)))
        if extra:
            lines.append(extra)
        await ctx.reply("\n".join(lines))

    # -- moderators' commands -------------------------------------------

    @command("ban", help="help_ban", **MODERATORS)
    async def ban(self, ctx: Context[ModerationSettings], user: Target, *, reason: str = "") -> None:
        await self._act_everywhere(ctx, "ban", user, reason, then=self._publish)

    @command("unban", help="help_unban", **MODERATORS)
    async def unban(self, ctx: Context[ModerationSettings], user: Target, *,
                    reason: str = "") -> None:
        await self._act_everywhere(ctx, "unban", user, reason, then=self._unpublish)

    @command("kick", help="help_kick", **MODERATORS)
    async def kick(self, ctx: Context[ModerationSettings], user: Target, *,
                   reason: str = "") -> None:
        await self._act_everywhere(ctx, "kick", user, reason)

    @command("mute", help="help_mute", **MODERATORS)
    async def mute(self, ctx: Context[ModerationSettings], user: Target, *,
                   reason: str = "") -> None:
        # `mute @user 2h spam`: a first word that reads as a duration is the time, else
        # part of the reason (no converter: the duration is optional before free text).
        first, _, remainder = reason.partition(" ")
        seconds = parse_duration(first) if first else None
        if seconds is not None:
            reason = remainder.strip()
        until = self.runtime.clock.now() + seconds if seconds is not None else None

        async def ends(ctx: Context, user: str, reason: str) -> str:
            if until is None:
                return ""
            moment = datetime.fromtimestamp(until, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            return ctx.t("mute_ends", when=Trusted(moment))

        await self._act_everywhere(ctx, "mute", user, reason, then=ends, mute_seconds=seconds)

    @command("unmute", help="help_unmute", **MODERATORS)
    async def unmute(self, ctx: Context[ModerationSettings], user: Target, *,
                     reason: str = "") -> None:
        await self._act_everywhere(ctx, "unmute", user, reason)

    @command("redact", help="help_redact", **MODERATORS)
    async def redact(self, ctx: Context[ModerationSettings], user: Target, *,
                     which: str = "") -> None:
        words = which.split()
        count, since = 10, None
        if len(words) == 2 and words[0].lower() in ("since", "منذ"):
            seconds = parse_duration(words[1])
            if seconds is None:
                await ctx.reply(ctx.t("bad_duration", value=words[1][:40]))
                return
            since = self.runtime.clock.now() - seconds
        elif len(words) == 1 and words[0].isdigit() and 1 <= int(words[0]) <= MAX_REDACT:
            count = int(words[0])
        elif words:
            await ctx.reply(ctx.t("redact_usage", most=MAX_REDACT))
            return
        await self._act_everywhere(ctx, "redact", user, "", redact_count=count,
                                   redact_since=since)

    @command("warn", help="help_warn", **MODERATORS)
    async def warn(self, ctx: Context[ModerationSettings], user: UserId, *,
                   reason: str = "") -> None:
        if not reason.strip():
            await ctx.reply(ctx.t("warn_needs_reason"))
            return
        levels = await self.enforcer.power_levels(ctx.room_id)
        outcome = await self.enforcer.act(ctx.room_id, "warn", user, actor=ctx.sender,
                                          reason=reason, trigger="!warn", levels=levels,
                                          actor_level=self.authority(ctx, ctx.room_id))
        if not outcome.done:
            await ctx.reply(ctx.t(outcome.problem, **outcome.values))
            return
        await self.guard.warn_by_dm(user, ctx.room_id, reason, seed=ctx.event.event_id)
        await ctx.reply(ctx.t("done_warn", user=user, rooms=1))

    @command("modlog", help="help_modlog", **MODERATORS)
    async def modlog(self, ctx: Context[ModerationSettings], user: UserId | None = None) -> None:
        # The network's log for its moderators, in their own rooms; anywhere else, this
        # room's entries only (its members read the answer too).
        room = None if self.network_moderator(ctx) and self.moderators_place(ctx.room_id) \
            else ctx.room_id
        entries = await self.store.recent_log(user, MODLOG_LINES, room_id=room)
        if not entries:
            await ctx.reply(ctx.t("modlog_empty"))
            return
        lines = [ctx.t("modlog_header", count=len(entries))]
        for entry in entries:
            when = datetime.fromtimestamp(entry.at, tz=UTC).strftime("%Y-%m-%d %H:%M")
            lines.append(ctx.t("modlog_line", when=Trusted(when), action=Trusted(entry.action),
                               target=entry.target, actor=entry.actor,
                               room=self.network.room_label(entry.room_id),
                               reason=entry.reason or "-", trigger=entry.trigger or "-"))
        await ctx.reply("\n".join(lines))

    # `!raid` alone is the status, as it always was (an empty alias: core's groups have
    # no default subcommand yet).
    raid_group = group("raid", help="help_raid", alone="status", **MODERATORS)

    @raid_group.command("status", help="help_raid_status")
    async def raid_status(self, ctx: Context[ModerationSettings]) -> None:
        previous = await self.store.raid(ctx.room_id)
        await ctx.reply(ctx.t("raid_on_status") if previous is not None else ctx.t("no_raid"))

    @raid_group.command("on", help="help_raid_on")
    async def raid_on(self, ctx: Context[ModerationSettings]) -> None:
        mode = ctx.settings.joinwave_mode
        started, problem, values = await self.guard.start_raid_mode(ctx.room_id, mode)
        await ctx.reply(ctx.t("raid_started_by_hand", mode=Trusted(mode))
                        if started else ctx.t(problem or "raid_already_on", **values))

    @raid_group.command("off", help="help_raid_off")
    async def raid_off(self, ctx: Context[ModerationSettings]) -> None:
        ended, problem = await self.guard.end_raid_mode(ctx.room_id)
        await ctx.reply(ctx.t("raid_ended") if ended else ctx.t(problem))
        if ended:
            await self.store.log(self._entry(ctx, ctx.room_id, "raid_off"))

    def _entry(self, ctx: Context, target: str, action: str) -> LogEntry:
        return LogEntry(self.runtime.clock.now(), ctx.room_id, ctx.sender, target, action, "",
                        f"!{action}")

    @command("modroom", help="help_modroom", network_role=NetworkRole.ORGANIZER)
    async def modroom(self, ctx: Context[ModerationSettings],
                      which: Literal["reports", "log"] = "reports") -> None:
        """Organizers only: the moderators' room makes its members the network's moderators."""
        if not ctx.encrypted_room:
            await ctx.reply(ctx.t("modroom_unencrypted"))
            return
        if which == "reports":
            await self.runtime.network.set_role_room(NetworkRole.MODERATOR, ctx.room_id)
        else:
            await self.network.set_room("modlog_room", ctx.room_id)
        # Moderators' reactions on reports arrive only where the plugin is on.
        await self.runtime.settings.set_enabled(ctx.room_id, type(self), True)
        if which == "reports":
            await ctx.reply(ctx.t("modroom_set",
                                  level=self.runtime.config.network.role_level))
        else:
            await ctx.reply(ctx.t("modlog_room_set"))

    async def _unmute_job(self, job: Job) -> None:
        """A timed mute ended: the member may post again (retried while the homeserver fails)."""
        room_id, user_id = str(job.payload["room_id"]), str(job.payload["user_id"])
        outcome = await self.enforcer.act(room_id, "unmute", user_id, actor=None,
                                          reason="mute ended", trigger="timed mute")
        if outcome.done:
            await self.network.post(self.network.modlog_room_for(room_id), "log_mute_ended",
                                    seed=f"unmute/{job.id}/{job.due_at}", user=user_id,
                                    room=self.network.room_label(room_id))
        elif outcome.problem == "homeserver_failed":
            # The scheduler retries with back-off, then tells the moderators (_dead_letter).
            raise UnmuteFailed(room_id)

    async def _dead_letter(self, job: Job) -> None:
        """A job gave up: a member left muted is the moderators' to lift by hand."""
        if job.kind != UNMUTE_JOB:
            return  # recurring jobs are never dead-lettered; nothing else is ours
        room_id, user_id = str(job.payload.get("room_id", "")), str(job.payload.get("user_id", ""))
        seed, label = f"unmute-dead/{job.id}/{job.due_at}", self.network.room_label(room_id)
        posted = await self.network.post(
            self.network.management_room_for(room_id), "unmute_gave_up", seed=seed,
            user=user_id, room=label, attempts=job.attempts)
        if posted is not None:
            return
        # A room outside the network (or no moderators' room): its own moderators, by DM.
        for moderator in self.reports.room_moderators(room_id, {user_id}):
            await self.say(moderator, "unmute_gave_up", once=f"{seed}:{moderator}", queued=True,
                           user=user_id, room=label, attempts=job.attempts)

    async def _prune_job(self, job: Job) -> None:
        """Daily (scheduler.every): a failure is retried sooner and never ends the pruning."""
        before = self.runtime.clock.now() - self.settings_for(NETWORK).modlog_retention_days * 86400
        await self.store.prune_log(before)
        # Reports, strikes and join times are kept no longer than the mod log (a strike
        # window or newcomer period longer than the retention is cut to it).
        await self.store.prune(before)

    # -- reports ---------------------------------------------------------

    @command("report", help="help_report")
    async def report(self, ctx: Context[ModerationSettings], *, reason: str = "") -> None:
        """Never answered in the room: the reported member may be reading it."""
        event = ctx.event
        reply_to = event.reply_to if isinstance(event, Message) else None
        await self.reports.submit(ctx.room_id, reply_to, ctx.sender, reason,
                                  anonymous=ctx.settings.anonymous_reports,
                                  seed=event.event_id, remove=event.event_id)

    # -- listeners -------------------------------------------------------

    async def on_message(self, ctx: Context[ModerationSettings], event: Message) -> None:
        if event.room_id in self._excluded() or not self.network.is_protected(event.room_id):
            return
        started = time.perf_counter()
        await self.guard.on_message(event, ctx.settings)
        log.debug("protections took %.2f ms", (time.perf_counter() - started) * 1000)

    async def on_media(self, ctx: Context[ModerationSettings], event: Media) -> None:
        if event.room_id in self._excluded() or not self.network.is_protected(event.room_id):
            return
        await self.guard.on_media(event, ctx.settings)

    async def on_member_joined(self, ctx: Context[ModerationSettings],
                               event: MemberJoined) -> None:
        room_id, user_id = event.room_id, event.user_id
        if user_id == self.runtime.bot_user_id or room_id in self._excluded() \
                or not self.network.is_protected(room_id):
            return
        if await self.policy.check_join(room_id, user_id):
            return
        settings = ctx.settings
        wave = await self.guard.on_join(event, settings)
        if wave is None:
            return
        started, problem, values = await self.guard.start_raid_mode(room_id, settings.joinwave_mode)
        if not started and problem in ("", "raid_already_closed"):
            return
        label = self.network.room_label(room_id)
        if started:
            await self.network.post(room_id, "raid_room_notice", seed=f"raid/{event.event_id}",
                                    mode=Trusted(settings.joinwave_mode))
        management = self.network.management_room_for(room_id)
        await self.network.post(
            management, "raid_started" if started else "raid_not_started",
            seed=f"raidmod/{event.event_id}", room=label, joins=wave,
            seconds=settings.joinwave_seconds, mode=Trusted(settings.joinwave_mode),
            problem=Trusted(self.network.text(management, problem, **values))
            if problem else "-")

    async def on_reaction(self, ctx: Context[ModerationSettings], event: Reaction) -> None:
        room_id = event.room_id
        if room_id == self.network.management_room():
            # Network authority, not power in this room: core.authority decides.
            if not self.runtime.authority.holds(event.sender, NetworkRole.MODERATOR):
                return
            await self.reports.on_moderator_reaction(room_id, event.relates_to, event.key,
                                                     event.sender)
            return
        settings = ctx.settings
        if not same_reaction(event.key, settings.report_emoji):
            return
        # Filed, or sent to the room's moderators by DM, never dropped; the reaction goes.
        await self.reports.submit(room_id, event.relates_to, event.sender, "",
                                  anonymous=settings.anonymous_reports, seed=event.event_id,
                                  remove=event.event_id)
