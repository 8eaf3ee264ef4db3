"""Following policy list rooms: read their rules, ban matching members, unban when a rule goes.

List rooms are re-read on a short schedule (`policy_poll_seconds`): the
dispatcher does not hand state events to plugins, so polling `room_state` is
how rule changes and removals reach us within seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bots.moderation.enforce import Enforcer, required_level
from bots.moderation.network import Network
from bots.moderation.policy import GlobIndex, Ignored, PolicyIndex, PolicyRule, parse_policy_event
from bots.moderation.store import ModerationStore
from core.actions import ActionError, RoomActions
from core.i18n import Trusted
from core.logsafe import log_exception, new_error_id

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger(__name__)

# Rooms worked on at once when a list changes (each room is a few homeserver requests).
ROOM_CONCURRENCY = 8


@dataclass
class ListRead:
    """What one read of a list room found."""

    rules: dict[tuple[str, str, str], PolicyRule] = field(default_factory=dict)
    ignored: int = 0


@dataclass
class SyncResult:
    added: list[PolicyRule] = field(default_factory=list)
    removed: list[PolicyRule] = field(default_factory=list)
    banned: int = 0
    unbanned: int = 0
    ignored: int = 0


def read_list(list_room: str, state: Iterable[dict[str, Any]]) -> ListRead:
    found = ListRead()
    for event in state:
        parsed = parse_policy_event(list_room, event)
        if isinstance(parsed, PolicyRule):
            found.rules[parsed.key] = parsed
        elif isinstance(parsed, Ignored):
            found.ignored += 1
        # A Removal (an emptied rule) is simply absent from the list's rules.
    return found


class PolicySync:
    """Keeps the in-memory index equal to the lists, and the rooms equal to the index."""

    def __init__(self, runtime: Runtime, store: ModerationStore, network: Network,
                 enforcer: Enforcer) -> None:
        self.runtime = runtime
        self.store = store
        self.network = network
        self.enforcer = enforcer
        self.index = PolicyIndex()
        # A poll and a state event may race on the same list: one change at a
        # time, each computed from the index as it is when its turn comes.
        self._lock = asyncio.Lock()
        # Followed list rooms: never protected rooms themselves (no bans, no ACLs there).
        self.lists: set[str] = set()

    @property
    def actions(self) -> RoomActions:
        return self.runtime.actions

    async def load(self) -> None:
        for rule in await self.store.rules():
            self.index.add(rule)
        self.lists = set(await self.store.lists())

    async def subscribed(self) -> list[str]:
        return await self.store.lists()

    async def subscribe(self, room: str) -> tuple[str, SyncResult]:
        """Join and read a list room; raises ActionError when the bot cannot."""
        room_id = await self.actions.join(room)
        state = await self.actions.room_state(room_id)
        await self.store.add_list(room_id, room, self.runtime.clock.now())
        self.lists.add(room_id)
        # Rule changes reach the plugin's `on_state` only in rooms where it is on.
        plugin = type(self.network.plugin)
        if not self.runtime.settings.is_enabled(room_id, plugin):
            await self.runtime.settings.set_enabled(room_id, plugin, True)
        result = await self.apply(room_id, read_list(room_id, state))
        return room_id, result

    async def unsubscribe(self, room_id: str) -> SyncResult:
        result = await self.apply(room_id, ListRead())
        await self.store.remove_list(room_id)
        self.lists.discard(room_id)
        await self.runtime.settings.set_enabled(room_id, type(self.network.plugin), False)
        if room_id != self.network.own_list():
            try:
                await self.actions.leave(room_id)
            except ActionError as error:
                log.info("leaving an unfollowed list failed (%s)", error.reason[:80])
        return result

    async def ensure_configured(self) -> None:
        """Follow the lists named in config.yaml (once each; a failure is retried next poll)."""
        known = set(await self.store.lists())
        for source in self.network.defaults().policy_lists:
            if source in known or await self.store.get(f"list_source:{source}"):
                continue
            try:
                room_id, _ = await self.subscribe(source)
            except ActionError as error:
                log.warning("cannot follow configured policy list (%s)", error.reason[:80])
                continue
            await self.store.put(f"list_source:{source}", room_id)

    async def poll(self) -> None:
        await self.ensure_configured()
        for room_id in await self.store.lists():
            try:
                state = await self.actions.room_state(room_id)
            except ActionError as error:
                log.warning("cannot read policy list %s (%s)", room_id, error.reason[:80])
                continue
            try:
                await self.apply(room_id, read_list(room_id, state))
            except Exception as exc:
                log_exception(log, f"applying policy list {room_id}", exc, new_error_id())

    async def apply_event(self, list_room: str, event: dict[str, Any]) -> SyncResult | None:
        """One state event of a followed list (from sync): apply just that change."""
        parsed = parse_policy_event(list_room, event)
        if parsed is None:
            return None
        async with self._lock:
            read = ListRead(rules=dict(self.index.of_list(list_room)))
            if isinstance(parsed, PolicyRule):
                read.rules[parsed.key] = parsed
            else:
                read.rules.pop(parsed.key, None)
                read.ignored = int(isinstance(parsed, Ignored))
            return await self._apply(list_room, read)

    async def apply(self, list_room: str, read: ListRead) -> SyncResult:
        """Make the index and the rooms follow what the list now says."""
        async with self._lock:
            return await self._apply(list_room, read)

    async def _apply(self, list_room: str, read: ListRead) -> SyncResult:
        current = self.index.of_list(list_room)
        added = [rule for key, rule in read.rules.items() if current.get(key) != rule]
        removed = [rule for key, rule in current.items()
                   if key not in read.rules or read.rules[key] != rule]
        result = SyncResult(ignored=read.ignored)
        if not added and not removed:
            return result
        await self.store.save_rules(added, [rule.key for rule in removed
                                            if rule.key not in read.rules])
        for rule in removed:
            self.index.remove(rule.key)
        for rule in added:
            self.index.add(rule)
        result.added, result.removed = added, removed
        result.unbanned = await self._lift(removed)
        result.banned = await self._enforce_users([r for r in added if r.kind == "user"]
                                                  + [r for r in added if r.kind == "server"])
        if any(rule.kind == "server" for rule in (*added, *removed)):
            await self.apply_server_acls()
        return result

    def _rooms(self) -> list[str]:
        return self.network.protected_rooms(exclude=self.network.list_rooms(self.lists))

    async def _enforce_users(self, rules: list[PolicyRule]) -> int:
        if not rules:
            return 0
        users, servers = GlobIndex(), GlobIndex()
        for rule in rules:
            (users if rule.kind == "user" else servers).add(rule)

        async def in_room(room_id: str) -> int:
            levels: dict[str, Any] | None = None
            banned = 0
            for member in self.runtime.rooms.members(room_id):
                found = users.match(member)
                if found is None and ":" in member:
                    found = servers.match(member.split(":", 1)[1])
                if found is None:
                    continue
                if levels is None:
                    levels = await self.enforcer.power_levels(room_id)
                if await self.ban(room_id, member, found, levels):
                    banned += 1
            return banned

        return sum(await self._each_room(self._rooms(), in_room))

    async def _each_room(self, rooms: list[str],
                         work: Callable[[str], Awaitable[int]]) -> list[int]:
        """Run `work` for every room, a few at a time: a list change reaches 20 rooms in
        about the time of a few homeserver round trips instead of 20 in a row."""
        slots = asyncio.Semaphore(ROOM_CONCURRENCY)

        async def one(room_id: str) -> int:
            async with slots:
                try:
                    return await work(room_id)
                except Exception as exc:  # one room's failure must not stop the others
                    log_exception(log, f"policy enforcement in {room_id}", exc, new_error_id())
                    return 0

        return list(await asyncio.gather(*(one(room_id) for room_id in rooms)))

    async def ban(self, room_id: str, user_id: str, rule: PolicyRule,
                  levels: dict[str, Any] | None = None) -> bool:
        outcome = await self.enforcer.act(
            room_id, "ban", user_id, actor=None, reason=rule.reason, levels=levels,
            trigger=f"policy {rule.list_room} {rule.entity}")
        if outcome.done:
            await self.store.policy_ban(room_id, user_id, rule)
            await self.network.post(
                self.network.modlog_room_for(room_id), "log_policy_ban", seed=f"pban/{room_id}/{user_id}/"
                f"{rule.key}", user=user_id, room=self.network.room_label(room_id),
                entity=rule.entity, reason=rule.reason or "-")
        else:
            log.info("policy ban in %s not applied: %s", room_id, outcome.problem)
        return outcome.done

    async def _lift(self, removed: list[PolicyRule]) -> int:
        """Unban those a removed rule banned, unless another rule still bans them."""
        by_room: dict[str, list[tuple[str, PolicyRule]]] = {}
        for rule in removed:
            for room_id, user_id in await self.store.bans_of_rule(rule.key):
                by_room.setdefault(room_id, []).append((user_id, rule))

        async def in_room(room_id: str) -> int:
            lifted = 0
            for user_id, rule in by_room[room_id]:
                other = self.index.match_user(user_id)
                if other is not None:
                    await self.store.policy_ban(room_id, user_id, other)
                    continue
                outcome = await self.enforcer.act(
                    room_id, "unban", user_id, actor=None, reason=rule.reason,
                    trigger=f"policy removed {rule.list_room} {rule.entity}")
                if outcome.done:
                    lifted += 1
                    await self.network.post(
                        self.network.modlog_room_for(room_id), "log_policy_unban",
                        seed=f"punban/{room_id}/{user_id}/{rule.key}", user=user_id,
                        room=self.network.room_label(room_id), entity=rule.entity)
            return lifted

        return sum(await self._each_room(sorted(by_room), in_room))

    async def check_join(self, room_id: str, user_id: str) -> bool:
        rule = self.index.match_user(user_id)
        if rule is None:
            return False
        return await self.ban(room_id, user_id, rule)

    def acl_denies(self) -> list[str]:
        """Server globs to deny, never one that would shut out the bot's own server."""
        own = self.runtime.bot_user_id.split(":", 1)[1].lower()
        denies = []
        for glob in self.index.server_globs():
            probe = GlobIndex()
            probe.add(PolicyRule("", "", "", "server", glob, ""))
            if probe.match(own) is None:
                denies.append(glob)
        return denies

    async def apply_server_acls(self) -> int:
        """Write m.room.server_acl in every protected room whose deny list differs."""
        denies = self.acl_denies()
        changed = 0
        for room_id in self._rooms():
            try:
                current = await self.actions.get_state(room_id, "m.room.server_acl") or {}
            except ActionError:
                current = {}
            if sorted(current.get("deny") or []) == denies:
                continue
            content = {"allow": current.get("allow") or ["*"], "deny": denies,
                       "allow_ip_literals": bool(current.get("allow_ip_literals", True))}
            try:
                await self.actions.send_state(room_id, "m.room.server_acl", content)
                changed += 1
            except ActionError as error:
                log.warning("server ACL in %s not applied (%s)", room_id, error.reason[:80])
                levels = await self.enforcer.power_levels(room_id)
                management = self.network.management_room_for(room_id)
                problem = self.network.text(
                    management, "bot_lacks_power", needed=required_level("server_acl", levels),
                    have=self.enforcer.level(room_id, self.enforcer.bot)) if error.forbidden \
                    else self.network.text(management, "homeserver_failed")
                await self.network.post(management, "acl_failed",
                                        seed=f"acl/{room_id}/{','.join(denies)}",
                                        room=self.network.room_label(room_id),
                                        problem=Trusted(problem))
        return changed
