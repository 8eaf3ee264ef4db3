"""The plugin test kit (core/testing): the real framework over a homeserver in memory.

A small plugin defined here uses each thing a plugin author tests (replies,
room and network roles, private commands, listeners, jobs, the outbox, DMs);
each test checks that the kit shows what the framework really did, so a kit
that recorded nothing, answered from a fake dispatcher or ignored power
levels would fail here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.actions import ActionError
from core.events import Reaction, Redaction
from core.i18n import Catalog
from core.network import NetworkRole
from core.outbox import OutboxItem
from core.plugin import Context, Plugin, PluginSettings, command
from core.roles import Role
from core.scheduler import Job
from core.testing import BOT, PluginHarness

ROOM, PLAIN = "!room:test", "!plain:test"
ALICE, MOD, ADMIN, ORGANIZER = "@alice:test", "@mod:test", "@admin:test", "@org:test"

CATALOG = Catalog("probe", {
    "help_ping": {"en": "Answer pong.", "ar": "يجيب بـ pong."},
    "pong": {"en": "pong {word}", "ar": "pong {word}"},
    "done": {"en": "done", "ar": "تم"},
    "reminder": {"en": "reminder: {what}", "ar": "تذكير: {what}"},
})


class Probe(Plugin):
    """A plugin touching every part of the framework the kit must run for real."""

    name = "probe"
    catalog = CATALOG

    class Settings(PluginSettings):
        word: str = "!"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self.reactions: list[Reaction] = []
        self.redactions: list[Redaction] = []
        self.results: list[OutboxItem] = []
        self.readied = False

    async def setup(self) -> None:
        self.runtime.scheduler.register(self.name, "remind", self.remind)
        self.runtime.outbox.on_result(self.name, self.result)

    async def ready(self) -> None:
        self.readied = True

    @command("ping", help="help_ping")
    async def ping(self, ctx: Context) -> None:
        await ctx.reply(ctx.t("pong", word=ctx.settings.word))  # type: ignore[attr-defined]

    @command("tidy", help="help_ping", min_role=Role.MODERATOR)
    async def tidy(self, ctx: Context) -> None:
        await ctx.reply(ctx.t("done"))

    @command("network", help="help_ping", network_role=NetworkRole.ORGANIZER)
    async def network(self, ctx: Context) -> None:
        await ctx.reply(ctx.t("done"))

    @command("secret", help="help_ping", private=True)
    async def secret(self, ctx: Context) -> None:
        await ctx.reply(ctx.t("done"))

    @command("remind", help="help_ping")
    async def schedule(self, ctx: Context, minutes: int, *, what: str) -> None:
        due = self.runtime.clock.now() + minutes * 60
        await self.runtime.scheduler.schedule(self.name, "remind", due,
                                              {"user": ctx.sender, "what": what})
        await ctx.reply(ctx.t("done"))

    async def remind(self, job: Job) -> None:
        text = CATALOG.text("reminder", "en", what=job.payload["what"])
        await self.runtime.outbox.enqueue(self.name, job.id, {"msgtype": "m.notice", "body": text},
                                          user_id=job.payload["user"])

    async def result(self, item: OutboxItem) -> None:
        self.results.append(item)

    async def on_reaction(self, ctx: Context, event: Reaction) -> None:
        self.reactions.append(event)

    async def on_redaction(self, ctx: Context, event: Redaction) -> None:
        self.redactions.append(event)


CONFIG = {"bot": {"roles": {"organizers": [ORGANIZER]}}}


@pytest.fixture
async def h(tmp_path: Path) -> Any:
    async with PluginHarness(Probe, data_dir=tmp_path, config=CONFIG) as harness:
        harness.room(ROOM, {ALICE: 0, MOD: 50, ADMIN: 100, ORGANIZER: 0})
        yield harness


async def test_a_command_is_answered_in_reply_and_recorded_with_its_transaction(
        h: PluginHarness) -> None:
    answers = await h.send(ROOM, ALICE, "!ping")
    [reply] = answers.replies
    assert reply.plain == "pong !" and reply.room_id == ROOM and reply.sender == BOT
    assert reply.in_reply_to == answers.event_id
    assert reply.content["msgtype"] == "m.notice" and reply.txn_id.startswith("sol")
    assert h.homeserver.sent == [reply]
    assert h.plugin(Probe).readied


async def test_the_real_dispatcher_remembers_handled_events(h: PluginHarness) -> None:
    answers = await h.send(ROOM, ALICE, "!ping")
    [event] = [e for e in h.homeserver.room(ROOM).events if e.event_id == answers.event_id]
    assert await h.deliver(event) == []  # a replayed event is not answered twice
    assert len(h.homeserver.sent) == 1


async def test_a_repeated_transaction_is_dropped_as_synapse_does(h: PluginHarness) -> None:
    first = await h.homeserver.send_message(ROOM, {"body": "x"}, "txn-1")
    again = await h.homeserver.send_message(ROOM, {"body": "x"}, "txn-1")
    assert first == again and len(h.homeserver.sent) == 1


async def test_room_roles_come_from_power_levels(h: PluginHarness) -> None:
    refused = await h.reply(ROOM, ALICE, "!tidy")
    assert "moderators only" in refused.plain
    assert (await h.reply(ROOM, MOD, "!tidy")).plain == "done"
    h.set_level(ROOM, ALICE, 50)
    assert (await h.reply(ROOM, ALICE, "!tidy")).plain == "done"


async def test_network_roles_come_from_config_not_room_power(h: PluginHarness) -> None:
    assert "organizers" in (await h.reply(ROOM, ADMIN, "!network")).plain
    assert (await h.reply(ROOM, ORGANIZER, "!network")).plain == "done"


async def test_a_network_role_room_grants_its_role(tmp_path: Path) -> None:
    config = {"network": {"organizers_room": "!orgs:test", "rooms": [ROOM]}}
    async with PluginHarness(Probe, data_dir=tmp_path, config=config) as h:
        h.room("!orgs:test", {ALICE: 50, MOD: 0})
        h.room(ROOM, [ALICE, MOD])
        assert (await h.reply(ROOM, ALICE, "!network")).plain == "done"
        assert "organizers" in (await h.reply(ROOM, MOD, "!network")).plain
        assert h.runtime.authority.is_organizer(ALICE)


async def test_settings_and_languages_are_the_real_ones(h: PluginHarness) -> None:
    await h.runtime.settings.set_value(ROOM, Probe, "word", "?")
    assert (await h.reply(ROOM, ALICE, "!ping")).plain == "pong ?"
    await h.set_language(ALICE, "ar")
    assert (await h.reply(ROOM, ALICE, "!tidy")).body.startswith("\u200f")  # shaped Arabic
    await h.enable(ROOM, Probe, False)
    assert "pong" not in (await h.reply(ROOM, ALICE, "!ping")).plain  # not run here now


async def test_an_unencrypted_room_is_explained_once(tmp_path: Path) -> None:
    async with PluginHarness(Probe, data_dir=tmp_path) as h:
        h.room(PLAIN, [ALICE], encrypted=False)
        notice = await h.reply(PLAIN, ALICE, "!ping")
        assert "not end-to-end encrypted" in notice.plain
        assert await h.send(PLAIN, ALICE, "!ping") == []


async def test_a_private_command_moves_to_the_dm_and_is_removed_where_the_bot_may(
        h: PluginHarness) -> None:
    answers = await h.send(ROOM, ALICE, "!secret")
    dm = await h.dm(ALICE)
    assert dm != ROOM and h.runtime.dms.is_dm(dm)
    assert [s.room_id for s in answers.messages] == [dm, dm]
    assert "remove" in answers.messages[0].plain  # the bot has no power to redact here
    assert h.homeserver.done("redact") == []
    # With the power to redact, it removes the command from the room.
    h.set_level(ROOM, BOT, 50)
    answers = await h.send(ROOM, ALICE, "!secret")
    assert h.homeserver.done("redact") == [("redact", ROOM, answers.event_id)]
    assert answers.messages[-1].plain == "done" and answers.messages[-1].room_id == dm


async def test_jobs_fire_only_when_the_clock_is_advanced_then_the_outbox_delivers(
        h: PluginHarness) -> None:
    await h.reply(ROOM, ALICE, "!remind 10 water the plants")
    await h.advance(9 * 60)
    assert len(h.homeserver.messages()) == 1
    await h.advance(60)
    dm = await h.dm(ALICE)
    [reminder] = h.homeserver.messages(dm)
    assert reminder.plain == "reminder: water the plants"
    [item] = h.plugin(Probe).results
    assert item.state == "sent" and item.delivered_to == dm


async def test_a_job_survives_a_restart(h: PluginHarness) -> None:
    await h.reply(ROOM, ALICE, "!remind 10 call home")
    await h.restart(advance=11 * 60)
    assert [s.plain for s in h.homeserver.messages(await h.dm(ALICE))] == ["reminder: call home"]


async def test_refusals_and_rate_limits_reach_the_outbox(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    h.homeserver.limit(dm, 1)
    await h.reply(ROOM, ALICE, "!remind 1 one")
    await h.advance(60)
    assert h.homeserver.messages(dm) == []  # 429: retried after the back-off, by the clock
    await h.advance(5)
    assert [s.plain for s in h.homeserver.messages(dm)] == ["reminder: one"]
    h.homeserver.forbid(dm)
    await h.reply(ROOM, ALICE, "!remind 1 two")
    await h.advance(60)
    assert [item.state for item in h.plugin(Probe).results] == ["sent", "failed"]


async def test_reactions_and_redactions_reach_listeners(h: PluginHarness) -> None:
    reply = await h.reply(ROOM, ALICE, "!ping")
    await h.react(ROOM, MOD, reply.event_id, "👍")
    [reaction] = h.plugin(Probe).reactions
    assert (reaction.sender, reaction.key, reaction.relates_to) == (MOD, "👍", reply.event_id)
    await h.redact(ROOM, MOD, reaction.event_id)
    assert [r.redacts for r in h.plugin(Probe).redactions] == [reaction.event_id]


async def test_the_homeserver_refuses_what_the_bot_has_no_power_for(h: PluginHarness) -> None:
    with pytest.raises(ActionError) as refused:
        await h.runtime.actions.ban(ROOM, ALICE)
    assert refused.value.forbidden
    h.set_level(ROOM, BOT, 100)
    with pytest.raises(ActionError):
        await h.runtime.actions.kick(ROOM, ADMIN)  # an equal level: not even with 100
    await h.runtime.actions.ban(ROOM, ALICE, "spam")
    assert h.homeserver.done("ban") == [("ban", ROOM, ALICE)]
    assert ALICE not in h.runtime.rooms.members(ROOM)
    await h.runtime.actions.set_power_level(ROOM, MOD, 0)
    assert h.runtime.authority.room_role(ROOM, MOD) is Role.MEMBER


async def test_members_must_be_in_the_room_and_one_answer_means_one(h: PluginHarness) -> None:
    with pytest.raises(AssertionError, match="not a member"):
        await h.send(ROOM, "@stranger:test", "!ping")
    await h.join(ROOM, "@stranger:test")
    assert (await h.reply(ROOM, "@stranger:test", "!ping")).plain == "pong !"
    with pytest.raises(AssertionError, match="expected one message"):
        await h.reply(ROOM, ALICE, "hello, no command")


async def test_a_rate_limited_member_waits_for_the_clock(tmp_path: Path) -> None:
    config = {"bot": {"rate_limit": {"commands": 1, "window_seconds": 60}}}
    async with PluginHarness(Probe, data_dir=tmp_path, config=config) as h:
        h.room(ROOM, [ALICE])
        await h.reply(ROOM, ALICE, "!ping")
        h.submit(h.message(ROOM, ALICE, "!ping"))
        await h.advance(0)
        assert "faster than I can answer" in h.homeserver.bodies()[-1]
        await h.advance(61)
        await h.drain()
        assert h.homeserver.bodies()[-1] == "pong !"


async def test_private_lists_what_a_member_was_told_in_dms_and_opens_none(
        h: PluginHarness) -> None:
    assert h.private(ALICE) == [] and h.homeserver.created == []
    await h.reply(ROOM, ALICE, "!remind 1 stretch")
    await h.send(ROOM, MOD, "!ping")  # said in the room: not private
    await h.advance(60)
    assert [s.plain for s in h.private(ALICE)] == ["reminder: stretch"]
    assert h.private(MOD) == [] and len(h.homeserver.created) == 1


async def test_a_busy_homeserver_fails_the_next_attempts_without_refusing(
        h: PluginHarness) -> None:
    h.set_level(ROOM, BOT, 100)
    h.homeserver.fail(ROOM, "ban", times=2)
    for _ in range(2):
        with pytest.raises(ActionError) as failed:
            await h.runtime.actions.ban(ROOM, ALICE)
        assert not failed.value.forbidden and "M_UNKNOWN" in failed.value.reason
    assert h.homeserver.done("ban") == []
    await h.runtime.actions.ban(ROOM, ALICE)
    assert h.homeserver.done("ban") == [("ban", ROOM, ALICE)]


async def test_held_sends_wait_at_the_homeserver_until_released(h: PluginHarness) -> None:
    import asyncio
    h.room(PLAIN, [ALICE])
    h.homeserver.hold(ROOM)
    held = asyncio.create_task(h.runtime.sender.send_message(ROOM, {"body": "a"}, "t1"))
    await h.runtime.sender.send_message(PLAIN, {"body": "b"}, "t2")  # another room goes on
    await asyncio.sleep(0.01)
    assert not held.done() and h.homeserver.bodies() == ["b"]
    h.homeserver.release()
    await held
    assert h.homeserver.bodies() == ["b", "a"]


async def test_restricted_profiles_are_refused(h: PluginHarness) -> None:
    assert await h.runtime.actions.profile(ALICE) == {}
    h.homeserver.restrict_profiles()
    with pytest.raises(ActionError) as refused:
        await h.runtime.actions.profile(ALICE)
    assert refused.value.forbidden


async def test_answer_is_the_one_reply_and_settle_false_does_not_wait_for_held_sends(
        h: PluginHarness) -> None:
    assert (await h.answer(ROOM, ALICE, "!ping")).plain == "pong !"
    dm = await h.dm(ALICE)
    h.homeserver.hold(dm)  # the reminder's delivery will wait there
    answers = await h.send(ROOM, ALICE, "!remind 0 tea", settle=False)
    assert answers.reply().plain == "done" and h.homeserver.bodies(dm) == []
    h.homeserver.release()
    await h.settle()
    assert h.homeserver.bodies(dm) == ["reminder: tea"]
    with pytest.raises(AssertionError, match="expected one reply"):
        await h.answer(ROOM, ALICE, "hello, no command")


async def test_the_data_folder_is_made_if_missing(tmp_path: Path) -> None:
    async with PluginHarness(Probe, data_dir=tmp_path / "new" / "bot") as harness:
        assert harness.db_path.exists()
