"""Policy enforcement and permission checks of the moderation plugin over a fake homeserver.

The fake keeps rooms, members, power levels and bans in memory; the database,
store, index and enforcement logic are the real ones. Real Synapse and E2EE
members: tests/integration/test_moderation.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bots.moderation import ModerationPlugin
from bots.moderation.enforce import Enforcer
from bots.moderation.guard import Guard
from bots.moderation.network import Network
from bots.moderation.policy import PolicyRule
from bots.moderation.policy_sync import ListRead, PolicySync, read_list
from bots.moderation.settings import ModerationSettings
from bots.moderation.store import ModerationStore
from core.actions import ActionError
from core.authority import Authority
from core.clock import ManualClock
from core.config import Config
from core.events import Message
from core.languages import LanguagePreferences
from core.network import Network as CoreNetwork
from core.room_settings import RoomSettings
from core.scheduler import Job, Scheduler
from core.sealed import DEMO_PASSPHRASE, Sealer
from core.storage import CORE_MIGRATIONS, Database

BOT = "@bot:home.org"
LIST = "!list:x"


@dataclass
class FakeRooms:
    """RoomView and the RoomActions the policy code uses, in memory."""

    members_of: dict[str, set[str]] = field(default_factory=dict)
    levels: dict[tuple[str, str], int] = field(default_factory=dict)
    bans: set[tuple[str, str]] = field(default_factory=set)
    state: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def is_encrypted(self, room_id: str) -> bool:
        return True

    def power_level(self, room_id: str, user_id: str) -> int:
        return self.levels.get((room_id, user_id), 0)

    def members(self, room_id: str) -> list[str]:
        return sorted(self.members_of.get(room_id, set()))

    def display_name(self, room_id: str) -> str | None:
        return None

    @property
    def user_id(self) -> str:
        return BOT

    def joined_rooms(self) -> list[str]:
        return sorted(self.members_of)

    def room_name(self, room_id: str) -> str | None:
        return None

    async def get_state(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any] | None:
        if event_type == "m.room.power_levels":
            return {"ban": 50, "state_default": 50}
        return self.state.get((room_id, event_type, state_key))

    async def send_state(self, room_id: str, event_type: str, content: dict[str, Any],
                         state_key: str = "") -> str:
        self.calls.append(("state", room_id, event_type))
        await asyncio.sleep(0.01)  # a homeserver round trip, for other tasks to run in
        self.state[(room_id, event_type, state_key)] = content
        return "$s"

    async def ban(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self.calls.append(("ban", room_id, user_id))
        self.bans.add((room_id, user_id))
        self.members_of[room_id].discard(user_id)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None,
                     txn_id: str | None = None) -> None:
        self.calls.append(("redact", room_id, event_id))

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        self.calls.append(("level", room_id, f"{user_id}={level}"))

    async def unban(self, room_id: str, user_id: str) -> None:
        if (room_id, user_id) not in self.bans:
            raise ActionError("unban", "M_FORBIDDEN: not banned", forbidden=True)
        self.calls.append(("unban", room_id, user_id))
        self.bans.discard((room_id, user_id))


class NoDms:
    def is_dm(self, room_id: str) -> bool:
        return False


@dataclass
class FakeOutbox:
    queued: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def enqueue(self, owner: str, key: str, content: dict[str, Any], **target: Any) -> bool:
        if key in self.queued:
            return False
        self.queued[key] = {"content": content, **target}
        return True


@dataclass
class Harness:
    rooms: FakeRooms
    store: ModerationStore
    policy: PolicySync
    enforcer: Enforcer
    guard: Guard
    outbox: FakeOutbox
    clock: ManualClock


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    db = Database(tmp_path / "db.sqlite")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    rooms = FakeRooms(members_of={
        "!a:x": {BOT, "@admin:x", "@spam1:evil.org", "@friend:good.org"},
        "!b:x": {BOT, "@spam2:evil.org", "@friend:good.org", "@x:chat.bad.net"},
    })
    for room in rooms.members_of:
        rooms.levels[(room, BOT)] = 90
        rooms.levels[(room, "@admin:x")] = 100
    # The network is the two rooms (a followed list room is not one of them).
    config = Config.model_validate({"matrix": {"homeserver": "http://x", "user_id": BOT},
                                    "network": {"rooms": ["!a:x", "!b:x"]}})
    settings = RoomSettings(db, {})
    for room in rooms.members_of:
        await settings.set_enabled(room, ModerationPlugin, True)

    # The parts of core.runtime.Runtime the policy code reads.
    runtime: Any = SimpleNamespace()
    runtime.config, runtime.db, runtime.clock = config, db, ManualClock()
    runtime.scheduler = Scheduler(db, runtime.clock)
    runtime.rooms = runtime.actions = rooms
    runtime.settings, runtime.dms, runtime.bot_user_id = settings, NoDms(), BOT
    runtime.languages = LanguagePreferences(db, "en")
    runtime.outbox = FakeOutbox()
    runtime.network = CoreNetwork(config, db)
    runtime.authority = Authority(config, rooms, runtime.network)
    store = ModerationStore(db, Sealer(DEMO_PASSPHRASE, BOT))
    await store.migrate()
    plugin = ModerationPlugin(runtime)
    network = Network(plugin, store)
    enforcer = Enforcer(runtime, store)
    policy = PolicySync(runtime, store, network, enforcer)
    try:
        yield Harness(rooms, store, policy, enforcer, Guard(runtime, store, network, enforcer),
                      runtime.outbox, runtime.clock)
    finally:
        await db.close()


def rule(entity: str, key: str, kind: str = "user") -> dict[str, Any]:
    return {"type": f"m.policy.rule.{kind}", "state_key": key,
            "content": {"entity": entity, "recommendation": "m.ban", "reason": "spam"}}


async def test_a_glob_rule_bans_matching_members_in_every_protected_room(harness: Harness) -> None:
    result = await harness.policy.apply(LIST, read_list(LIST, [rule("@spam*:evil.org", "r1")]))
    assert result.banned == 2
    assert harness.rooms.bans == {("!a:x", "@spam1:evil.org"), ("!b:x", "@spam2:evil.org")}
    assert await harness.store.is_policy_banned("!a:x", "@spam1:evil.org")
    # Persisted: a restart reloads the same rules.
    assert [r.entity for r in await harness.store.rules()] == ["@spam*:evil.org"]


async def test_removing_the_rule_unbans_unless_another_rule_still_matches(harness: Harness) -> None:
    await harness.policy.apply(LIST, read_list(LIST, [rule("@spam*:evil.org", "r1"),
                                                      rule("@spam2:evil.org", "r2")]))
    result = await harness.policy.apply(LIST, read_list(LIST, [rule("@spam2:evil.org", "r2")]))
    assert result.unbanned == 1
    assert harness.rooms.bans == {("!b:x", "@spam2:evil.org")}
    result = await harness.policy.apply(LIST, ListRead())
    assert result.unbanned == 1 and harness.rooms.bans == set()


async def test_admins_and_the_bot_are_never_banned_by_a_list(harness: Harness) -> None:
    await harness.policy.apply(LIST, read_list(LIST, [rule("@admin:x", "r1"), rule(BOT, "r2")]))
    assert harness.rooms.bans == set()


async def test_server_rules_ban_members_and_set_acls_but_never_deny_our_server(harness: Harness) -> None:
    result = await harness.policy.apply(LIST, read_list(LIST, [
        rule("*.bad.net", "s1", kind="server"), rule("*.org", "s2", kind="server")]))
    # `*.org` would also match home.org, the bot's own server: never in the ACL.
    for room in ("!a:x", "!b:x"):
        acl = harness.rooms.state[(room, "m.room.server_acl", "")]
        assert acl["deny"] == ["*.bad.net"] and acl["allow"] == ["*"]
    assert ("!b:x", "@x:chat.bad.net") in harness.rooms.bans
    assert result.banned >= 1


async def test_malformed_and_unknown_rules_are_counted_and_change_nothing(harness: Harness) -> None:
    events = [
        {"type": "m.policy.rule.user", "state_key": "a",
         "content": {"entity": "@spam1:evil.org", "recommendation": "m.mute"}},
        {"type": "m.policy.rule.user", "state_key": "b", "content": {"entity": "*",
                                                                   "recommendation": "m.ban"}},
        {"type": "m.policy.rule.user", "state_key": "c", "content": {"entity": ["x"]}},
    ]
    result = await harness.policy.apply(LIST, read_list(LIST, events))
    assert result.ignored == 3 and result.banned == 0 and harness.rooms.bans == set()


async def test_a_state_event_applies_one_change(harness: Harness) -> None:
    await harness.policy.apply_event(LIST, rule("@spam1:evil.org", "r1"))
    assert harness.rooms.bans == {("!a:x", "@spam1:evil.org")}
    await harness.policy.apply_event(LIST, {"type": "m.policy.rule.user", "state_key": "r1",
                                            "content": {}})
    assert harness.rooms.bans == set()


def test_refusals_name_the_problem(harness: Harness) -> None:
    enforcer, levels = harness.enforcer, {"ban": 50, "kick": 50}
    assert enforcer.refusal("!a:x", "ban", BOT, "@admin:x", levels)[0] == "target_is_bot"  # type: ignore[index]
    assert enforcer.refusal("!a:x", "ban", "@admin:x", "@admin:x", levels)[0] == "target_is_self"  # type: ignore[index]
    harness.rooms.levels[("!a:x", "@mod:x")] = 50
    assert enforcer.refusal("!a:x", "ban", "@admin:x", "@mod:x", levels)[0] == "target_too_powerful"  # type: ignore[index]
    assert enforcer.refusal("!a:x", "kick", "@friend:good.org", "@mod:x", levels) is None
    # Someone who moderates elsewhere has no authority here, unless it is network authority.
    assert enforcer.refusal("!b:x", "kick", "@friend:good.org", "@mod:x", levels) == (
        "actor_not_moderator", {})
    assert enforcer.refusal("!b:x", "kick", "@friend:good.org", "@mod:x", levels, 50) is None
    harness.rooms.levels[("!a:x", BOT)] = 10
    refused = enforcer.refusal("!a:x", "kick", "@friend:good.org", "@mod:x", levels)
    assert refused == ("bot_lacks_power", {"needed": 50, "have": 10})


def test_policy_rule_keys_are_per_list_room() -> None:
    one = PolicyRule("!l1", "m.policy.rule.user", "k", "user", "@a:x", "")
    two = PolicyRule("!l2", "m.policy.rule.user", "k", "user", "@a:x", "")
    assert one.key != two.key


async def test_a_burst_is_one_strike_and_every_flooding_message_is_removed(harness: Harness) -> None:
    settings = ModerationSettings(flood_messages=3, flood_seconds=10,
                                  escalation=["redact+warn", "redact+mute", "ban"])
    user = "@friend:good.org"

    async def burst(start: int) -> None:
        for n in range(start, start + 8):
            event = Message(room_id="!a:x", event_id=f"$m{n}", sender=user, timestamp_ms=0,
                            encrypted=True, body=f"hello {n}")
            await harness.guard.on_message(event, settings)
            await harness.clock.advance(0.1)

    await burst(0)
    redacted = [c for c in harness.rooms.calls if c[0] == "redact"]
    assert len(redacted) == 5  # messages 4 to 8 of the burst
    assert not [c for c in harness.rooms.calls if c[0] in ("level", "ban")]
    assert len(harness.outbox.queued) == 1  # one warning, by DM
    [warning] = harness.outbox.queued.values()
    assert warning["user_id"] == user and "warning" in warning["content"]["body"]
    await harness.clock.advance(60)
    await burst(100)
    assert ("level", "!a:x", f"{user}=-1") in harness.rooms.calls  # second strike: muted
    assert not [c for c in harness.rooms.calls if c[0] == "ban"]
    entries = await harness.store.recent_log(user, 50)
    assert {"warn", "redact", "mute"} <= {entry.action for entry in entries}


async def test_an_edit_that_brings_a_listed_word_removes_the_original_too(harness: Harness) -> None:
    settings = ModerationSettings(words=["scam"])
    edit = Message(room_id="!a:x", event_id="$edit", sender="@friend:good.org", timestamp_ms=0,
                   encrypted=True, body="join my scam", is_edit=True, replaces="$original")
    await harness.guard.on_message(edit, settings)
    redacted = {c[2] for c in harness.rooms.calls if c[0] == "redact"}
    assert redacted == {"$edit", "$original"}


async def test_moderators_are_exempt_from_protections(harness: Harness) -> None:
    settings = ModerationSettings(words=["scam"])
    event = Message(room_id="!a:x", event_id="$x", sender="@admin:x", timestamp_ms=0,
                    encrypted=True, body="this is not a scam")
    assert await harness.guard.on_message(event, settings) == []
    assert harness.rooms.calls == []


async def test_a_replayed_backlog_is_judged_by_when_it_was_sent(harness: Harness) -> None:
    """After an outage the bot reads an hour of messages at once: that is not a flood."""
    settings = ModerationSettings(flood_messages=3, flood_seconds=10, repeat_messages=0)
    await harness.clock.advance(3600)
    sent_at = harness.clock.now() - 3600
    for n in range(10):
        event = Message(room_id="!a:x", event_id=f"$old{n}", sender="@friend:good.org",
                        timestamp_ms=int((sent_at + n * 60) * 1000), encrypted=True, body=f"hi {n}")
        assert await harness.guard.on_message(event, settings) == []
    assert harness.rooms.calls == []


async def test_a_followed_list_room_is_not_itself_protected(harness: Harness) -> None:
    harness.rooms.members_of[LIST] = {BOT, "@spam9:evil.org"}
    harness.rooms.levels[(LIST, BOT)] = 90
    harness.policy.lists.add(LIST)
    # Following a list turns the plugin on there (for its state events), as subscribe does.
    await harness.policy.runtime.settings.set_enabled(LIST, ModerationPlugin, True)
    await harness.policy.apply(LIST, read_list(LIST, [rule("@spam*:evil.org", "r1"),
                                                      rule("*.bad.net", "s1", kind="server")]))
    assert all(room != LIST for _, room, _ in harness.rooms.calls)
    assert ("!a:x", "@spam1:evil.org") in harness.rooms.bans


async def test_joins_that_arrive_while_the_room_is_being_closed_do_not_close_it_again(
        harness: Harness) -> None:
    # Every join past the wave's limit completes a wave too; the ones that arrive while the
    # first is still switching the join rule must neither switch it again nor report a raid.
    results = await asyncio.gather(*(harness.guard.start_raid_mode("!a:x", "invite")
                                     for _ in range(3)))
    assert sorted(started for started, _, _ in results) == [False, False, True]
    assert harness.rooms.calls.count(("state", "!a:x", "m.room.join_rules")) == 1
    assert await harness.store.raid("!a:x") == "public"


async def test_a_timed_mute_ends_by_itself_and_unmute_drops_the_end(harness: Harness) -> None:
    scheduler = harness.guard.runtime.scheduler
    user = "@friend:good.org"
    handled: list[str] = []

    async def unmute(job: Job) -> None:
        outcome = await harness.enforcer.act(job.payload["room_id"], "unmute",
                                             job.payload["user_id"], actor=None,
                                             reason="mute ended", trigger="timed mute")
        handled.append(f"{job.payload['room_id']} {outcome.done}")

    scheduler.register("moderation", "unmute", unmute)
    done = await harness.enforcer.act("!a:x", "mute", user, actor="@admin:x", reason="",
                                      trigger="!mute", mute_seconds=1800)
    assert done.done and ("level", "!a:x", f"{user}=-1") in harness.rooms.calls
    await harness.clock.advance(1799)
    assert await scheduler.run_due() == 0
    await harness.clock.advance(2)
    assert await scheduler.run_due() == 1
    assert handled == ["!a:x True"]
    assert ("level", "!a:x", f"{user}=None") in harness.rooms.calls
    # Muted again for a while, then unmuted by hand: nothing is left to end later.
    await harness.enforcer.act("!b:x", "mute", user, actor=None, reason="", trigger="flood",
                               mute_seconds=600)
    await harness.enforcer.act("!b:x", "unmute", user, actor=None, reason="", trigger="!unmute")
    assert await scheduler.pending("moderation", "unmute") == []
    # A mute without a time replaces a pending end: it lasts until unmuted.
    await harness.enforcer.act("!b:x", "mute", user, actor=None, reason="", trigger="flood",
                               mute_seconds=600)
    await harness.enforcer.act("!b:x", "mute", user, actor=None, reason="", trigger="!mute")
    assert await scheduler.pending("moderation", "unmute") == []
