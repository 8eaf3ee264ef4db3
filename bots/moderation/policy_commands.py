"""Moderators' commands for policy lists (`!policy`), publishing our bans, and following list changes."""

from __future__ import annotations

import logging
from typing import Any

from bots.moderation.access import MODERATORS, ModerationBase, reaches, speaks_for_network
from bots.moderation.policy import KINDS
from bots.moderation.policy_sync import SyncResult
from bots.moderation.settings import ModerationSettings
from core.actions import ActionError
from core.events import StateChanged
from core.i18n import Trusted
from core.logsafe import log_exception, new_error_id
from core.network import NetworkRole
from core.plugin import Context, Refusal, group
from core.scheduler import Job

log = logging.getLogger(__name__)

POLL_KIND = "policy_poll"


def valid_room(room: str) -> bool:
    """A room id (`!opaque`, with `:server` before room version 12) or an alias `#name:server`."""
    if len(room) > 255 or any(c.isspace() for c in room) or len(room) < 2:
        return False
    return room[0] == "!" or (room[0] == "#" and ":" in room[2:])


def _list_room(room: str) -> str:
    """The list room named, or the refusal that says it is none.

    Not core's RoomRef: a room id of room version 12 has no `:server`.
    """
    if not valid_room(room):
        raise Refusal("bad_room", room=room[:80])
    return room


class PolicyCommands(ModerationBase):
    """The policy-list half of the moderation plugin (mixed into ModerationPlugin)."""

    # `!policy` alone lists, as it always did (an empty alias: core's groups have no
    # default subcommand yet).
    policy_group = group("policy", help="help_policy", alone="list", **MODERATORS)

    @policy_group.command("list", help="help_policy_list")
    async def policy_list(self, ctx: Context[ModerationSettings]) -> None:
        lines = [ctx.t("policy_header", rules=len(self.policy.index.rules))]
        for room_id in sorted(self.policy.lists):
            count = len(self.policy.index.of_list(room_id))
            lines.append(ctx.t("policy_line", room=self.network.room_label(room_id), rules=count))
        own = self.network.own_list()
        lines.append(ctx.t("own_list_line", room=self.network.room_label(own)) if own
                     else ctx.t("own_list_none"))
        await ctx.reply("\n".join(lines))

    # Which lists the network follows and where its bans are published change every
    # network room: network moderators only, whatever the sender's power here.
    @policy_group.command("subscribe", help="help_policy_subscribe",
                          checks=[reaches, speaks_for_network("subscribe")])
    async def policy_subscribe(self, ctx: Context[ModerationSettings], room: str = "") -> None:
        room = _list_room(room)
        try:
            room_id, result = await self.policy.subscribe(room)
        except ActionError as error:
            await ctx.reply(ctx.t("list_unreadable", room=room[:80],
                                  why=Trusted(error.reason[:120])))
            return
        await ctx.reply(self._sync_summary(ctx, "list_followed", room_id, result))

    @policy_group.command("unsubscribe", help="help_policy_unsubscribe",
                          checks=[reaches, speaks_for_network("unsubscribe")])
    async def policy_unsubscribe(self, ctx: Context[ModerationSettings], room: str = "") -> None:
        room = _list_room(room)
        room_id = await self._resolve(room)
        if room_id not in self.policy.lists:
            await ctx.reply(ctx.t("list_not_followed", room=room[:80]))
            return
        result = await self.policy.unsubscribe(room_id)
        await ctx.reply(self._sync_summary(ctx, "list_unfollowed", room_id, result))

    @policy_group.command("publish", help="help_policy_publish",
                          checks=[reaches, speaks_for_network("publish")])
    async def policy_publish(self, ctx: Context[ModerationSettings], room: str = "") -> None:
        room = _list_room(room)
        try:
            room_id = await self.runtime.actions.join(room)
        except ActionError as error:
            await ctx.reply(ctx.t("list_unreadable", room=room[:80],
                                  why=Trusted(error.reason[:120])))
            return
        levels = await self.enforcer.power_levels(room_id)
        needed = _state_level(levels, "m.policy.rule.user")
        have = self.runtime.rooms.power_level(room_id, self.runtime.bot_user_id)
        if have < needed:
            await ctx.reply(ctx.t("bot_lacks_power", needed=needed, have=have))
            return
        await self.network.set_room("own_list", room_id)
        await ctx.reply(ctx.t("own_list_set", room=self.network.room_label(room_id)))

    async def _resolve(self, room: str) -> str:
        if room.startswith("!"):
            return room
        stored = await self.store.get(f"list_source:{room}")
        if stored:
            return stored
        try:
            return str(await self.runtime.actions.join(room))
        except ActionError:
            return room

    def _sync_summary(self, ctx: Context, key: str, room_id: str, result: SyncResult) -> str:
        return ctx.t(key, room=self.network.room_label(room_id), rules=len(result.added),
                     removed=len(result.removed), banned=result.banned, unbanned=result.unbanned,
                     ignored=result.ignored)

    async def _publish(self, ctx: Context, user: str, reason: str) -> str:
        """Publish the ban to our list as an m.policy.rule.user event, so others can follow it."""
        own = self.network.own_list()
        if not own or not self.network.defaults().publish_bans:
            return ""
        # Our list is followed by other rooms and networks: a room's moderator bans in
        # their room only, and only network moderators speak for the network.
        if not ctx.holds(NetworkRole.MODERATOR):
            return ""
        content = {"entity": user, "recommendation": "m.ban", "reason": reason}
        try:
            await self.runtime.actions.send_state(own, "m.policy.rule.user", content,
                                                  state_key=f"rule:{user}")
        except ActionError as error:
            return ctx.t("publish_failed", why=Trusted(error.reason[:120]))
        return ctx.t("published", room=self.network.room_label(own))

    async def _unpublish(self, ctx: Context, user: str, reason: str) -> str:
        own = self.network.own_list()
        if not own or not ctx.holds(NetworkRole.MODERATOR):
            return ""
        try:
            current = await self.runtime.actions.get_state(own, "m.policy.rule.user", f"rule:{user}")
            if not current:
                return ""
            await self.runtime.actions.send_state(own, "m.policy.rule.user", {},
                                                  state_key=f"rule:{user}")
        except ActionError as error:
            return ctx.t("publish_failed", why=Trusted(error.reason[:120]))
        return ctx.t("unpublished", room=self.network.room_label(own))

    _poll_interval: float

    async def _poll_job(self, job: Job) -> None:
        """Every `policy_poll_seconds` (scheduler.every: it comes back whatever happens here)."""
        interval = self.network.defaults().policy_poll_seconds
        if interval != self._poll_interval:
            # `!config --network` changed it: the recurring row takes the new interval.
            self._poll_interval = interval
            await self.runtime.scheduler.every(self.name, POLL_KIND, interval)
        await self.policy.poll()

    async def on_state(self, ctx: Context, event: StateChanged) -> None:
        """A rule changed in a followed list: apply just that change, within seconds."""
        if event.type not in KINDS or event.room_id not in self.policy.lists:
            return
        try:
            await self.policy.apply_event(event.room_id, {
                "type": event.type, "state_key": event.state_key, "content": event.content})
        except Exception as exc:
            log_exception(log, f"policy update from {event.room_id}", exc, new_error_id())


def _state_level(levels: dict[str, Any], event_type: str) -> int:
    raw_events = levels.get("events")
    events: dict[str, Any] = raw_events if isinstance(raw_events, dict) else {}
    value = events.get(event_type, levels.get("state_default", 50))
    return value if isinstance(value, int) else 50
