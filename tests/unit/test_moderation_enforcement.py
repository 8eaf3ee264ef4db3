"""Policy enforcement and permission checks of the moderation plugin over a homeserver in memory.

The bot is the real one (core.testing): database, store, index, enforcement
and the homeserver's power rules; only Matrix is in memory. Real Synapse and E2EE
members: tests/integration/test_moderation.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bots.moderation import ModerationPlugin
from bots.moderation.enforce import Enforcer
from bots.moderation.guard import Guard
from bots.moderation.policy import PolicyRule
from bots.moderation.policy_sync import ListRead, PolicySync, read_list
from bots.moderation.settings import ModerationSettings
from bots.moderation.store import ModerationStore
from core.clock import ManualClock
from core.events import Message
from core.scheduler import Job
from core.testing import Call, MemoryHomeserver, PluginHarness

BOT = "@bot:home.org"
LIST = "!list:x"


@dataclass
class Harness:
    """The moderation plugin's own policy, enforcement and guard, in a running bot (core.testing)."""

    bot: PluginHarness
    plugin: ModerationPlugin

    @property
    def hs(self) -> MemoryHomeserver:
        return self.bot.homeserver

    @property
    def calls(self) -> list[Call]:
        return self.hs.calls

    @property
    def bans(self) -> set[tuple[str, str]]:
        """Who is banned where now (lifted bans are gone)."""
        return {(room.room_id, user) for room in self.hs.rooms.values() for user in room.banned}

    @property
    def store(self) -> ModerationStore:
        return self.plugin.store

    @property
    def policy(self) -> PolicySync:
        return self.plugin.policy

    @property
    def enforcer(self) -> Enforcer:
        return self.plugin.enforcer

    @property
    def guard(self) -> Guard:
        return self.plugin.guard

    @property
    def clock(self) -> ManualClock:
        return self.bot.clock


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    # The network is the two rooms (a followed list room is not one of them).
    config = {"network": {"rooms": ["!a:x", "!b:x"]}}
    async with PluginHarness(ModerationPlugin, data_dir=tmp_path, config=config,
                             bot_user_id=BOT) as bot:
        # A bystander in each: a room left with the bot and one member counts as a DM (core.dms).
        bot.room("!a:x", {"@admin:x": 100, "@spam1:evil.org": 0, "@friend:good.org": 0,
                          "@bystander:x": 0}, bot_level=90)
        bot.room("!b:x", {"@admin:x": 100, "@spam2:evil.org": 0, "@friend:good.org": 0,
                          "@x:chat.bad.net": 0, "@bystander:x": 0}, bot_level=90)
        for room in ("!a:x", "!b:x"):
            await bot.enable(room, ModerationPlugin)
        yield Harness(bot, bot.plugin(ModerationPlugin))


def rule(entity: str, key: str, kind: str = "user") -> dict[str, Any]:
    return {"type": f"m.policy.rule.{kind}", "state_key": key,
            "content": {"entity": entity, "recommendation": "m.ban", "reason": "spam"}}


async def test_a_glob_rule_bans_matching_members_in_every_protected_room(harness: Harness) -> None:
    result = await harness.policy.apply(LIST, read_list(LIST, [rule("@spam*:evil.org", "r1")]))
    assert result.banned == 2
    assert harness.bans == {("!a:x", "@spam1:evil.org"), ("!b:x", "@spam2:evil.org")}
    assert await harness.store.is_policy_banned("!a:x", "@spam1:evil.org")
    # Persisted: a restart reloads the same rules.
    assert [r.entity for r in await harness.store.rules()] == ["@spam*:evil.org"]


async def test_removing_the_rule_unbans_unless_another_rule_still_matches(harness: Harness) -> None:
    await harness.policy.apply(LIST, read_list(LIST, [rule("@spam*:evil.org", "r1"),
                                                      rule("@spam2:evil.org", "r2")]))
    result = await harness.policy.apply(LIST, read_list(LIST, [rule("@spam2:evil.org", "r2")]))
    assert result.unbanned == 1
    assert harness.bans == {("!b:x", "@spam2:evil.org")}
    result = await harness.policy.apply(LIST, ListRead())
    assert result.unbanned == 1 and harness.bans == set()


async def test_admins_and_the_bot_are_never_banned_by_a_list(harness: Harness) -> None:
    await harness.policy.apply(LIST, read_list(LIST, [rule("@admin:x", "r1"), rule(BOT, "r2")]))
    assert harness.bans == set()


async def test_server_rules_ban_members_and_set_acls_but_never_deny_our_server(harness: Harness) -> None:
    result = await harness.policy.apply(LIST, read_list(LIST, [
        rule("*.bad.net", "s1", kind="server"), rule("*.org", "s2", kind="server")]))
    # `*.org` would also match home.org, the bot's own server: never in the ACL.
    for room in ("!a:x", "!b:x"):
        acl = harness.hs.room(room).state[("m.room.server_acl", "")]
        assert acl["deny"] == ["*.bad.net"] and acl["allow"] == ["*"]
    assert ("!b:x", "@x:chat.bad.net") in harness.bans
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
    assert result.ignored == 3 and result.banned == 0 and harness.bans == set()


async def test_a_state_event_applies_one_change(harness: Harness) -> None:
    await harness.policy.apply_event(LIST, rule("@spam1:evil.org", "r1"))
    assert harness.bans == {("!a:x", "@spam1:evil.org")}
    await harness.policy.apply_event(LIST, {"type": "m.policy.rule.user", "state_key": "r1",
                                            "content": {}})
    assert harness.bans == set()


def test_refusals_name_the_problem(harness: Harness) -> None:
    enforcer, levels = harness.enforcer, {"ban": 50, "kick": 50}
    assert enforcer.refusal("!a:x", "ban", BOT, "@admin:x", levels)[0] == "target_is_bot"  # type: ignore[index]
    assert enforcer.refusal("!a:x", "ban", "@admin:x", "@admin:x", levels)[0] == "target_is_self"  # type: ignore[index]
    harness.bot.set_level("!a:x", "@mod:x", 50)
    assert enforcer.refusal("!a:x", "ban", "@admin:x", "@mod:x", levels)[0] == "target_too_powerful"  # type: ignore[index]
    assert enforcer.refusal("!a:x", "kick", "@friend:good.org", "@mod:x", levels) is None
    # Someone who moderates elsewhere has no authority here, unless it is network authority.
    assert enforcer.refusal("!b:x", "kick", "@friend:good.org", "@mod:x", levels) == (
        "actor_not_moderator", {})
    assert enforcer.refusal("!b:x", "kick", "@friend:good.org", "@mod:x", levels, 50) is None
    harness.bot.set_level("!a:x", BOT, 10)
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
    redacted = [c for c in harness.calls if c[0] == "redact"]
    assert len(redacted) == 5  # messages 4 to 8 of the burst
    assert not [c for c in harness.calls if c[0] in ("level", "ban")]
    await harness.bot.settle()
    [warning] = harness.hs.messages()  # one warning, by DM
    assert harness.bot.runtime.dms.user_of(warning.room_id) == user and "warning" in warning.body
    await harness.clock.advance(60)
    await burst(100)
    assert ("level", "!a:x", f"{user}=-1") in harness.calls  # second strike: muted
    assert not [c for c in harness.calls if c[0] == "ban"]
    entries = await harness.store.recent_log(user, 50)
    assert {"warn", "redact", "mute"} <= {entry.action for entry in entries}


async def test_an_edit_that_brings_a_listed_word_removes_the_original_too(harness: Harness) -> None:
    settings = ModerationSettings(words=["scam"])
    edit = Message(room_id="!a:x", event_id="$edit", sender="@friend:good.org", timestamp_ms=0,
                   encrypted=True, body="join my scam", is_edit=True, replaces="$original")
    await harness.guard.on_message(edit, settings)
    redacted = {c[2] for c in harness.calls if c[0] == "redact"}
    assert redacted == {"$edit", "$original"}


async def test_moderators_are_exempt_from_protections(harness: Harness) -> None:
    settings = ModerationSettings(words=["scam"])
    event = Message(room_id="!a:x", event_id="$x", sender="@admin:x", timestamp_ms=0,
                    encrypted=True, body="this is not a scam")
    assert await harness.guard.on_message(event, settings) == []
    assert harness.calls == []


async def test_a_replayed_backlog_is_judged_by_when_it_was_sent(harness: Harness) -> None:
    """After an outage the bot reads an hour of messages at once: that is not a flood."""
    settings = ModerationSettings(flood_messages=3, flood_seconds=10, repeat_messages=0)
    await harness.clock.advance(3600)
    sent_at = harness.clock.now() - 3600
    for n in range(10):
        event = Message(room_id="!a:x", event_id=f"$old{n}", sender="@friend:good.org",
                        timestamp_ms=int((sent_at + n * 60) * 1000), encrypted=True, body=f"hi {n}")
        assert await harness.guard.on_message(event, settings) == []
    assert harness.calls == []


async def test_a_followed_list_room_is_not_itself_protected(harness: Harness) -> None:
    harness.bot.room(LIST, ["@spam9:evil.org"], bot_level=90)
    harness.policy.lists.add(LIST)
    # Following a list turns the plugin on there (for its state events), as subscribe does.
    await harness.policy.runtime.settings.set_enabled(LIST, ModerationPlugin, True)
    await harness.policy.apply(LIST, read_list(LIST, [rule("@spam*:evil.org", "r1"),
                                                      rule("*.bad.net", "s1", kind="server")]))
    assert all(room != LIST for _, room, _ in harness.calls)
    assert ("!a:x", "@spam1:evil.org") in harness.bans


async def test_joins_that_arrive_while_the_room_is_being_closed_do_not_close_it_again(
        harness: Harness) -> None:
    # Every join past the wave's limit completes a wave too; the ones that arrive while the
    # first is still switching the join rule must neither switch it again nor report a raid.
    results = await asyncio.gather(*(harness.guard.start_raid_mode("!a:x", "invite")
                                     for _ in range(3)))
    assert sorted(started for started, _, _ in results) == [False, False, True]
    assert harness.calls.count(("state", "!a:x", "m.room.join_rules")) == 1
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
    assert done.done and ("level", "!a:x", f"{user}=-1") in harness.calls
    await harness.clock.advance(1799)
    await scheduler.run_due()  # the plugin's own recurring jobs may run; the unmute may not
    assert handled == []
    await harness.clock.advance(2)
    await scheduler.run_due()
    assert handled == ["!a:x True"]
    assert ("level", "!a:x", f"{user}=None") in harness.calls
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
