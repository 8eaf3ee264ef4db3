"""Acting on a member in a room: permission checks first, then the action, then the mod log.

Every path that touches a member (commands, protections, policy lists,
reactions on reports) goes through `Enforcer.act`, so the rules "never act on
someone at or above the moderator's or the bot's power" and "say clearly when
the bot lacks the power" hold everywhere.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bots.moderation.store import LogEntry, ModerationStore
from core.actions import ActionError, RoomActions
from core.events import Media, Message, Reaction, RoomEvent, UnknownEvent
from core.logsafe import log_exception, new_error_id

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger(__name__)

MUTED_LEVEL = -1
# How many recent events `!redact` looks through for the member's messages.
REDACT_SCAN = 500
OWNER = "moderation"
UNMUTE_JOB = "unmute"


@dataclass(frozen=True)
class Outcome:
    """What happened in one room: `problem` is a catalog key when nothing was done."""

    room_id: str
    action: str
    done: bool
    problem: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    count: int = 0


def required_level(action: str, levels: dict[str, Any]) -> int:
    """The power level the bot needs for `action` under these m.room.power_levels."""
    raw_events = levels.get("events")
    events: dict[str, Any] = raw_events if isinstance(raw_events, dict) else {}
    state_default = _int(levels.get("state_default"), 50)
    if action in ("ban", "unban"):
        return _int(levels.get("ban"), 50)
    if action == "kick":
        return _int(levels.get("kick"), 50)
    if action == "redact":
        return _int(levels.get("redact"), 50)
    if action in ("mute", "unmute"):
        return _int(events.get("m.room.power_levels"), state_default)
    if action == "join_rules":
        return _int(events.get("m.room.join_rules"), state_default)
    if action == "server_acl":
        return _int(events.get("m.room.server_acl"), state_default)
    return 0


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


class Enforcer:
    """Applies moderation actions for the plugin and records them."""

    def __init__(self, runtime: Runtime, store: ModerationStore) -> None:
        self.runtime = runtime
        self.store = store

    @property
    def actions(self) -> RoomActions:
        return self.runtime.actions

    @property
    def bot(self) -> str:
        return self.runtime.bot_user_id

    def level(self, room_id: str, user_id: str) -> int:
        return self.runtime.rooms.power_level(room_id, user_id)

    async def power_levels(self, room_id: str) -> dict[str, Any]:
        try:
            content = await self.actions.get_state(room_id, "m.room.power_levels")
        except ActionError:
            content = None
        return content if isinstance(content, dict) else {}

    def refusal(self, room_id: str, action: str, target: str, actor: str | None,
                levels: dict[str, Any], actor_level: int | None = None,
                ) -> tuple[str, dict[str, Any]] | None:
        """Why `actor` (None: the bot's own protections) may not do `action` to `target` here.

        `actor_level` is the authority of a network moderator (an organizer, or
        a moderator of the management room): it stands in rooms where their own
        level is lower. Anyone else acts with their own level in each room.
        """
        if target == self.bot:
            return "target_is_bot", {}
        if actor is not None and target == actor:
            return "target_is_self", {}
        bot_level = self.level(room_id, self.bot)
        needed = required_level(action, levels)
        if bot_level < needed:
            return "bot_lacks_power", {"needed": needed, "have": bot_level}
        own = self.level(room_id, actor) if actor is not None else 0
        authority = max(own, actor_level if actor_level is not None else own)
        if actor is not None and authority < self.runtime.config.bot.roles.moderator_level:
            return "actor_not_moderator", {}
        if action != "unban":
            target_level = self.level(room_id, target)
            if actor is not None and target_level >= authority:
                return "target_too_powerful", {"level": target_level}
            if target_level >= bot_level:
                return "target_above_bot", {"level": target_level}
        return None

    async def act(self, room_id: str, action: str, target: str, *, actor: str | None,
                  reason: str, trigger: str, levels: dict[str, Any] | None = None,
                  event_id: str | None = None, redact_count: int = 0,
                  redact_since: float | None = None, actor_level: int | None = None,
                  mute_seconds: int | None = None) -> Outcome:
        """Do one action in one room after the permission checks; log it when done.

        A mute with `mute_seconds` ends by itself (a durable scheduler job); one
        without lasts until `unmute`, which also drops a pending end.
        """
        if levels is None:
            levels = await self.power_levels(room_id)
        refused = self.refusal(room_id, action, target, actor, levels, actor_level)
        if refused is not None:
            return Outcome(room_id, action, False, refused[0], refused[1])
        count = 0
        try:
            if action == "ban":
                await self.actions.ban(room_id, target, reason or None)
            elif action == "unban":
                await self.actions.unban(room_id, target)
                await self.store.forget_policy_ban(room_id, target)
            elif action == "kick":
                await self.actions.kick(room_id, target, reason or None)
            elif action == "mute":
                raw_users = levels.get("users")
                users: dict[str, Any] = raw_users if isinstance(raw_users, dict) else {}
                previous = users.get(target)
                await self.store.remember_mute(
                    room_id, target, previous if isinstance(previous, int) else None)
                await self.actions.set_power_level(room_id, target, MUTED_LEVEL)
                await self._mute_ends(room_id, target, mute_seconds)
            elif action == "unmute":
                # The earlier level is forgotten only once it is back: an unmute the
                # homeserver refused now and retried later restores it, not the default.
                _, previous = await self.store.muted(room_id, target)
                await self.actions.set_power_level(room_id, target, previous)
                await self.store.forget_mute(room_id, target)
                await self._mute_ends(room_id, target, None)
            elif action == "redact":
                count = await self._redact(room_id, target, event_id, redact_count, redact_since,
                                           reason)
            elif action == "warn":
                count = 1
            else:
                raise ValueError(action)
        except ActionError as error:
            if error.forbidden:
                return Outcome(room_id, action, False, "homeserver_forbidden")
            log.warning("moderation %s in %s failed: %s", action, room_id, type(error).__name__)
            return Outcome(room_id, action, False, "homeserver_failed")
        except Exception as exc:
            log_exception(log, f"moderation {action} in {room_id}", exc, new_error_id())
            return Outcome(room_id, action, False, "homeserver_failed")
        await self.store.log(LogEntry(self.runtime.clock.now(), room_id,
                                      actor or self.bot, target, action, reason,
                                      trigger))
        return Outcome(room_id, action, True, count=count)

    async def _mute_ends(self, room_id: str, user_id: str, seconds: int | None) -> None:
        scheduler, job_id = self.runtime.scheduler, unmute_job_id(room_id, user_id)
        if seconds is None:
            await scheduler.cancel(job_id)
        else:
            await scheduler.schedule(OWNER, UNMUTE_JOB, self.runtime.clock.now() + seconds,
                                     {"room_id": room_id, "user_id": user_id}, job_id=job_id)

    async def _redact(self, room_id: str, target: str, event_id: str | None, count: int,
                      since: float | None, reason: str) -> int:
        if event_id is not None:
            await self.actions.redact(room_id, event_id, reason or None)
            return 1
        events = await self.actions.recent_events(room_id, REDACT_SCAN)
        chosen = []
        for event in events:  # newest first
            if event.sender != target or not _content_event(event):
                continue
            if since is not None and event.timestamp_ms / 1000 < since:
                break
            chosen.append(event.event_id)
            if since is None and len(chosen) >= count:
                break
        for chosen_id in chosen:
            await self.actions.redact(room_id, chosen_id, reason or None)
        return len(chosen)


def unmute_job_id(room_id: str, user_id: str) -> str:
    """One pending end per muted member and room: muting again replaces it."""
    return f"moderation-unmute-{hashlib.sha256(f'{room_id} {user_id}'.encode()).hexdigest()[:24]}"


def _content_event(event: RoomEvent) -> bool:
    """Messages, reactions and media: what `!redact` removes (never membership or room state)."""
    if isinstance(event, Message | Media | Reaction):
        return True
    kind = event.type if isinstance(event, UnknownEvent) else ""
    return kind.startswith("m.room.message") or kind in ("m.sticker", "m.room.encrypted")
