"""Protections applied to members' messages and joins, with escalating responses."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bots.moderation.enforce import Enforcer, Outcome, required_level
from bots.moderation.network import Network
from bots.moderation.protections import (
    Hit,
    Protections,
    check_mentions,
    check_newcomer_link,
    check_newcomer_media,
)
from bots.moderation.settings import ModerationSettings
from bots.moderation.store import LogEntry, ModerationStore
from bots.moderation.textrules import PatternRunner, Scan, TextRules
from core.actions import ActionError, RoomActions
from core.events import Media, MemberJoined, Message, RoomEvent
from core.i18n import Trusted
from core.roles import Role, role_for_level

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger(__name__)

# Seconds after a strike during which the same protection redacts but does not strike again.
STRIKE_COOLDOWN = 30.0
# Moderators hear at most this often per room that its patterns ran out of time.
UNFINISHED_NOTICE_SECONDS = 3600.0


def evaluate(protections: Protections, settings: ModerationSettings, event: Message, now: float,
             joined_at: float | None) -> Hit | None:
    """The first protection this message trips, cheapest checks last-but-one (pure; the
    patterns run here, in the caller's thread: the guard runs them in a worker instead)."""
    counted = _behaviour(protections, settings, event, now)
    rules = TextRules.build(settings.words, settings.patterns)
    scan = rules.scan(event.body) if rules else Scan(None)
    return _verdict(settings, event, now, joined_at, counted, scan)


def _behaviour(protections: Protections, settings: ModerationSettings, event: Message,
               now: float) -> Hit | None:
    """Flood and repeats, counted for every message (so they come first)."""
    room, user = event.room_id, event.sender
    flood = protections.check_flood(room, user, now, settings.flood_messages, settings.flood_seconds)
    repeat = protections.check_repeat(room, user, event.body, now, settings.repeat_messages,
                                      settings.repeat_seconds)
    return flood or repeat


def _verdict(settings: ModerationSettings, event: Message, now: float, joined_at: float | None,
             counted: Hit | None, scan: Scan) -> Hit | None:
    if scan.hit is not None:
        return Hit(f"{scan.hit.kind}_list", f"{scan.hit.kind} #{scan.hit.index + 1}")
    return (counted or check_mentions(event.body, event.mentions, settings.max_mentions)
            or check_newcomer_link(event.body, joined_at, now, settings.newcomer_hours))


def step_for(settings: ModerationSettings, strikes: int) -> list[str]:
    step = settings.escalation[min(strikes, len(settings.escalation)) - 1]
    return [part for part in step.split("+") if part]


class Guard:
    """Runs the protections of a protected room and carries out their responses."""

    def __init__(self, runtime: Runtime, store: ModerationStore, network: Network,
                 enforcer: Enforcer) -> None:
        self.runtime = runtime
        self.store = store
        self.network = network
        self.enforcer = enforcer
        self.protections = Protections()
        # (room, member, protection) -> when the last strike was counted
        self._last_strike: dict[tuple[str, str, str], float] = {}
        # Rooms whose raid mode is being switched on: the joins that follow the one completing
        # a wave arrive while it awaits the homeserver, and must not start (and report) it again.
        self._closing: set[str] = set()
        # A room's patterns run in worker threads, under one budget per message.
        self.runner = PatternRunner()
        # room -> when its moderators were last told that its patterns ran out of time
        self._unfinished_told: dict[str, float] = {}

    @property
    def actions(self) -> RoomActions:
        return self.runtime.actions

    def exempt(self, room_id: str, user_id: str) -> bool:
        level = self.runtime.rooms.power_level(room_id, user_id)
        return role_for_level(level, self.runtime.config.bot.roles) >= Role.MODERATOR

    async def on_message(self, event: Message, settings: ModerationSettings) -> list[Outcome]:
        if event.is_edit and not event.body:
            return []
        if self.exempt(event.room_id, event.sender):
            return []
        now = self.event_time(event)
        joined_at = None
        if settings.newcomer_hours > 0:
            joined_at = await self.store.joined_at(event.room_id, event.sender)
        counted = _behaviour(self.protections, settings, event, now)
        rules = TextRules.build(settings.words, settings.patterns)
        scan = await self.runner.scan(event.room_id, rules, event.body) if rules else Scan(None)
        if scan.unfinished:
            await self._rules_unfinished(event, scan)
        hit = _verdict(settings, event, now, joined_at, counted, scan)
        if hit is None:
            return []
        return await self._strike(event, settings, hit, now)

    async def _rules_unfinished(self, event: Message, scan: Scan) -> None:
        """Patterns that ran out of time counted as no match: say so without the text.

        Failing open is deliberate: a member is never struck because the bot ran
        out of time. The log names the room, the event and the patterns (numbered
        as `!filters` shows them); the network's moderators hear it at most once an
        hour per room, so they can simplify the rules (a message that exhausts the
        budget on purpose then goes through unmatched, and they can look at it).
        """
        numbers = ", ".join(f"p{index + 1}" for index in scan.unfinished[:20])
        log.warning("moderation patterns did not finish in %s (event %s, %s patterns run): "
                    "%s counted as no match%s", event.room_id, event.event_id, scan.ran, numbers,
                    " (message budget spent)" if scan.exhausted else "")
        room, now = event.room_id, self.runtime.clock.now()
        last = self._unfinished_told.get(room)
        if last is not None and now - last < UNFINISHED_NOTICE_SECONDS:
            return
        management = self.network.management_room_for(room)
        if not management:
            return
        self._unfinished_told[room] = now
        await self.network.post(
            management, "rules_unfinished", seed=f"unfinished/{event.event_id}",
            room=self.network.room_label(room), patterns=numbers,
            link=Trusted(f"https://matrix.to/#/{room}/{event.event_id}"))

    async def on_media(self, event: Media, settings: ModerationSettings) -> list[Outcome]:
        """Media count towards a flood, and newcomers may not post them."""
        if self.exempt(event.room_id, event.sender):
            return []
        now = self.event_time(event)
        hit = self.protections.check_flood(event.room_id, event.sender, now,
                                           settings.flood_messages, settings.flood_seconds)
        if hit is None and settings.newcomer_hours > 0:
            joined_at = await self.store.joined_at(event.room_id, event.sender)
            hit = check_newcomer_media(joined_at, now, settings.newcomer_hours)
        if hit is None:
            return []
        return await self._strike(event, settings, hit, now)

    async def _strike(self, event: RoomEvent, settings: ModerationSettings, hit: Hit,
                      now: float) -> list[Outcome]:
        key = (event.room_id, event.sender, hit.protection)
        last = self._last_strike.get(key)
        if last is not None and now - last < STRIKE_COOLDOWN:
            # Messages of one burst were sent before the first response landed:
            # they are removed, but count as one strike, not one each (a burst
            # of 15 must not escalate from a warning to a ban in a second).
            return await self.respond(event, settings, hit, strikes=0)
        self._last_strike[key] = now
        if len(self._last_strike) > 10000:
            self._last_strike.clear()
        strikes = await self.store.add_strike(event.room_id, event.sender, now, hit.protection,
                                              settings.strike_hours * 3600)
        return await self.respond(event, settings, hit, strikes)

    async def respond(self, event: RoomEvent, settings: ModerationSettings, hit: Hit,
                      strikes: int) -> list[Outcome]:
        room, user = event.room_id, event.sender
        trigger = f"{hit.protection} ({hit.detail}), strike {strikes}"
        levels = await self.enforcer.power_levels(room)
        outcomes = []
        steps = step_for(settings, strikes) if strikes else (
            ["redact"] if any("redact" in step for step in settings.escalation) else [])
        if not steps:
            return []
        for action in steps:
            if action == "warn":
                outcome = await self.enforcer.act(room, "warn", user, actor=None, levels=levels,
                                                  reason=hit.protection, trigger=trigger)
                if outcome.done:
                    await self.warn_by_dm(user, room, hit.protection, seed=event.event_id)
            else:
                outcome = await self.enforcer.act(
                    room, action, user, actor=None, levels=levels, reason=hit.protection,
                    trigger=trigger, event_id=event.event_id if action == "redact" else None,
                    mute_seconds=settings.mute_minutes * 60 or None)
            outcomes.append(outcome)
        done = [o.action for o in outcomes if o.done]
        failed = [o for o in outcomes if not o.done]
        if "redact" in done and isinstance(event, Message) and event.replaces:
            # An edit that brought the hit: the original still shows the old
            # text in clients without edit support, and the edit history in Element.
            try:
                await self.actions.redact(room, event.replaces, hit.protection)
            except ActionError as error:
                log.warning("original of an edit not redacted (%s)", error.reason[:80])
        await self.network.post(
            self.network.modlog_room_for(room), "log_protection", seed=f"prot/{event.event_id}",
            user=user, room=self.network.room_label(room), protection=hit.protection,
            detail=hit.detail, actions=", ".join(done) or "-")
        for outcome in failed:
            await self.network.post(
                self.network.management_room_for(room), "protection_failed",
                seed=f"protfail/{event.event_id}/{outcome.action}", room=self.network.room_label(room),
                action=outcome.action, problem=self.network.text(
                    self.network.management_room(), outcome.problem, **outcome.values)
                if outcome.problem else "-")
        return outcomes

    async def warn_by_dm(self, user_id: str, room_id: str, reason: str, *, seed: str) -> None:
        """Tell the member privately (their DM with the bot), exactly once per seed."""
        try:
            await self.network.plugin.say(user_id, "warning_dm", once=f"warn:{seed}:{user_id}",
                                          queued=True, room=self.network.room_label(room_id),
                                          reason=reason)
        except ActionError as error:
            log.warning("warning DM not queued (%s)", error.reason[:80])

    def event_time(self, event: RoomEvent) -> float:
        """When the homeserver received the event: after an outage the bot replays a
        backlog in seconds, and an hour of ordinary messages must not look like a flood."""
        if event.timestamp_ms > 0:
            return min(event.timestamp_ms / 1000, self.runtime.clock.now())
        return self.runtime.clock.now()

    async def on_join(self, event: MemberJoined, settings: ModerationSettings) -> int | None:
        """Record the join; return the join count when it completes a raid wave."""
        room_id, now = event.room_id, self.event_time(event)
        await self.store.joined(room_id, event.user_id, now)
        return self.protections.join_wave(room_id, now, settings.joinwave_joins,
                                          settings.joinwave_seconds)

    async def start_raid_mode(self, room_id: str, mode: str) -> tuple[bool, str, dict[str, int]]:
        """Switch the room to invite-only or knock: (changed, problem key or '', its values)."""
        if room_id in self._closing:
            return False, "", {}
        self._closing.add(room_id)
        try:
            return await self._close_room(room_id, mode)
        finally:
            self._closing.discard(room_id)

    async def _close_room(self, room_id: str, mode: str) -> tuple[bool, str, dict[str, int]]:
        if await self.store.raid(room_id) is not None:
            return False, "", {}
        levels = await self.enforcer.power_levels(room_id)
        needed = required_level("join_rules", levels)
        have = self.enforcer.level(room_id, self.enforcer.bot)
        if have < needed:
            return False, "bot_lacks_power", {"needed": needed, "have": have}
        try:
            current = await self.actions.get_state(room_id, "m.room.join_rules") or {}
        except ActionError:
            current = {}
        rule = current.get("join_rule")
        previous = rule if isinstance(rule, str) else "public"
        if previous == mode or previous == "invite":
            # Already closed: nothing to switch, nothing to revert later.
            return False, "raid_already_closed", {}
        try:
            await self.actions.send_state(room_id, "m.room.join_rules", {"join_rule": mode})
        except ActionError as error:
            return False, "homeserver_forbidden" if error.forbidden else "homeserver_failed", {}
        await self.store.start_raid(room_id, previous, self.runtime.clock.now())
        await self.store.log(LogEntry(self.runtime.clock.now(), room_id, self.enforcer.bot,
                                      room_id, f"raid_{mode}", "", "join wave"))
        return True, "", {}

    async def end_raid_mode(self, room_id: str) -> tuple[bool, str]:
        previous = await self.store.raid(room_id)
        if previous is None:
            return False, "no_raid"
        try:
            await self.actions.send_state(room_id, "m.room.join_rules", {"join_rule": previous})
        except ActionError as error:
            return False, "homeserver_forbidden" if error.forbidden else "homeserver_failed"
        await self.store.end_raid(room_id)
        self.protections.joins.reset(room_id)
        return True, ""
