"""Onboarding against a real Synapse with real E2EE members: welcome, gate, texts, bursts, restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nio import RoomGetStateEventResponse, RoomMessagesResponse, RoomPutStateResponse

from bots.admin import AdminPlugin
from bots.onboarding import OnboardingPlugin
from bots.onboarding.messages import CATALOG
from core.matrix.member import Member, Received
from core.room_settings import NETWORK
from core.sealed import PREFIX
from tests.integration.conftest import RunningBot, room_with_bot

pytestmark = pytest.mark.integration

PLUGINS = [AdminPlugin, OnboardingPlugin]


async def onboarding_room(owner: Member, bot: RunningBot, *, bot_level: int | None = 100,
                          **settings: str) -> str:
    """An encrypted room of `owner` with onboarding on, the bot at `bot_level`."""
    room = await room_with_bot(owner, bot)
    if bot_level is not None:
        await set_level(owner, room, bot.user_id, bot_level)
    assert bot.bot is not None
    runtime = bot.bot.runtime
    await runtime.settings.set_enabled(room, OnboardingPlugin, True)
    for key, value in {"batch_seconds": "0.5", **settings}.items():
        await runtime.settings.set_value(room, OnboardingPlugin, key, value)
    return room


async def set_level(owner: Member, room: str, user_id: str, level: int) -> None:
    current = await owner.client.room_get_state_event(room, "m.room.power_levels")
    assert isinstance(current, RoomGetStateEventResponse)
    content = dict(current.content)
    content["users"] = {**content.get("users", {}), user_id: level}
    response = await owner.client.room_put_state(room, "m.room.power_levels", content)
    assert isinstance(response, RoomPutStateResponse)


async def join(owner: Member, room: str, newcomer: Member) -> None:
    await owner.client.room_invite(room, newcomer.user_id)
    await newcomer.wait_member(room, newcomer.user_id)


def from_bot(bot: RunningBot, room: str | None = None, *, outside: str | None = None,
             containing: str = "") -> Any:
    def match(message: Received) -> bool:
        if message.sender != bot.user_id or containing not in message.body:
            return False
        if room is not None and message.room_id != room:
            return False
        return outside is None or message.room_id != outside

    return match


async def private_welcome(newcomer: Member, bot: RunningBot, room: str,
                          containing: str = "!agree") -> Received:
    # Every private welcome says how to accept the rules, in either language.
    return await newcomer.wait_for(from_bot(bot, outside=room, containing=containing), 60)


async def rows(bot: RunningBot, user_id: str) -> list[Any]:
    assert bot.bot is not None
    return await bot.bot.db.fetchall(
        "SELECT room_id, state, gated_level FROM onboarding_members WHERE user_id = ?", (user_id,))


async def eventually(check: Any, timeout: float = 30) -> None:  # noqa: ASYNC109
    async def loop() -> None:
        while not await check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(loop(), timeout)


async def leave(bot: RunningBot, member: Member, room: str) -> None:
    """Leave, and wait until the bot has seen it."""
    await member.client.room_leave(room)

    async def gone() -> bool:
        assert bot.bot is not None
        return member.user_id not in bot.bot.runtime.rooms.members(room)

    await eventually(gone)


async def last_join_event(member: Member, room: str, user_id: str) -> str:
    """The id of `user_id`'s latest join in the room, from the homeserver's history."""
    response = await member.client.room_messages(room, start="", limit=50)
    assert isinstance(response, RoomMessagesResponse)
    for event in response.chunk:  # newest first
        source = event.source
        if (source.get("type") == "m.room.member" and source.get("state_key") == user_id
                and source.get("content", {}).get("membership") == "join"):
            return str(source["event_id"])
    raise AssertionError("no join found")


async def handled(bot: RunningBot, event_id: str) -> None:
    async def done() -> bool:
        assert bot.bot is not None
        return await bot.bot.db.fetchone(
            "SELECT 1 FROM core_handled_events WHERE event_id = ?", (event_id,)) is not None

    await eventually(done)


async def test_welcome_in_room_and_private_rules(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    elsewhere = await onboarding_room(owner, bot)  # another room of the network
    await join(owner, elsewhere, newcomer)
    room = await onboarding_room(owner, bot, rules_en="Rule Alpha.\nRule Beta.")
    await join(owner, room, newcomer)
    dm = await private_welcome(newcomer, bot, room, "Rule Alpha.")
    assert dm.encrypted and dm.content["msgtype"] == "m.notice"
    assert "Rule Alpha.\nRule Beta." in dm.body
    assert dm.body.index("!language en") < dm.body.index("Rule Alpha.")  # language offer first
    assert "!agree" in dm.body and "!rooms" in dm.body
    welcome = await owner.wait_for(from_bot(bot, room), 30)
    assert newcomer.user_id in welcome.body
    assert welcome.content["m.mentions"]["user_ids"] == [newcomer.user_id]

    # A second join event for a member already onboarded brings no second welcome.
    assert bot.bot is not None
    await bot.bot.outbox.idle()
    sent_before = len(await bot.bot.outbox.items("onboarding"))
    first_join = await last_join_event(owner, room, newcomer.user_id)
    await leave(bot, newcomer, room)
    await owner.client.room_invite(room, newcomer.user_id)

    async def rejoined() -> bool:
        return await last_join_event(owner, room, newcomer.user_id) != first_join

    await eventually(rejoined)
    await handled(bot, await last_join_event(owner, room, newcomer.user_id))
    assert bot.bot is not None
    await bot.bot.outbox.idle()
    assert len(await bot.bot.outbox.items("onboarding")) == sent_before

    # Leaving every room of the network deletes the member's onboarding state.
    await newcomer.ask(dm.room_id, "!pronouns they/them")
    assert await rows(bot, newcomer.user_id)
    await leave(bot, newcomer, room)
    assert await rows(bot, newcomer.user_id)  # still in another room of the network
    await newcomer.client.room_leave(elsewhere)

    async def forgotten() -> bool:
        assert bot.bot is not None
        profile = await bot.bot.db.fetchone(
            "SELECT 1 FROM onboarding_profiles WHERE user_id = ?", (newcomer.user_id,))
        return not await rows(bot, newcomer.user_id) and profile is None

    await eventually(forgotten)


async def test_gate_holds_newcomer_until_agree(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    room = await onboarding_room(owner, bot, gate="on", welcome_in_room="off")
    await join(owner, room, newcomer)
    dm = await private_welcome(newcomer, bot, room)
    assert "To write in" in dm.body
    with pytest.raises(RuntimeError, match=r"M_FORBIDDEN|403|power"):
        await newcomer.send(room, "can I speak?")
    reply = await newcomer.ask(dm.room_id, "!agree")
    assert "You can now write" in reply.body
    spoken = await newcomer.send(room, "hello everyone")
    seen = await owner.wait_for(lambda m: m.event_id == spoken, 30)
    # The room heard nothing about the agreement: the only messages in it are ours.
    before = owner.received[: owner.received.index(seen)]
    assert [m for m in before if m.room_id == room and m.sender == bot.user_id] == []
    assert [(r["state"], r["gated_level"]) for r in await rows(bot, newcomer.user_id)] == [
        ("agreed", None)]
    again = await newcomer.ask(dm.room_id, "!agree")
    assert "no rules waiting" in again.body


async def test_reaction_accepts_the_rules(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    room = await onboarding_room(owner, bot, gate="on")
    await join(owner, room, newcomer)
    dm = await private_welcome(newcomer, bot, room)
    assert bot.bot is not None

    async def recorded() -> bool:
        assert bot.bot is not None
        return await bot.bot.db.fetchone(
            "SELECT 1 FROM onboarding_members WHERE rules_event_id = ?", (dm.event_id,)) is not None

    await eventually(recorded)
    await newcomer.client.room_send(
        dm.room_id, "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": dm.event_id, "key": "✅️"}},
        ignore_unverified_devices=True,
    )
    thanks = await newcomer.wait_for(
        lambda m: m.room_id == dm.room_id and "You can now write" in m.body, 30)
    assert thanks.sender == bot.user_id
    spoken = await newcomer.send(room, "thanks!")
    await owner.wait_for(lambda m: m.event_id == spoken, 30)


async def test_admin_edits_texts_and_preview_shows_them(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    room = await onboarding_room(owner, bot)
    saved = await owner.ask(room, "!config onboarding rules_en First rule.\nSecond rule.")
    assert "Saved" in saved.body
    saved = await owner.ask(room, "!config onboarding room_welcome_en Hi {names}, glad you came!")
    assert "Saved" in saved.body
    refused = await owner.ask(room, "!config onboarding rules_en " + "x" * 4001)
    assert "Nothing was changed" in refused.body
    preview = await owner.ask(room, "!onboarding preview")
    assert "First rule.\nSecond rule." in preview.body
    assert f"Hi \u2068{owner.user_id}\u2069, glad you came!" in preview.body
    arabic = await owner.ask(room, "!onboarding preview ar")
    # No Arabic rules yet: the English ones are shown, and the room welcome is the Arabic default.
    assert "First rule." in arabic.body and "أهلاً" in arabic.body
    emptied = await owner.ask(room, "!config onboarding rules_en default")
    assert "default" in emptied.body
    warned = await owner.ask(room, "!onboarding preview")
    assert "no rules are set" in warned.body


async def test_arabic_member_gets_arabic_texts(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    elsewhere = await room_with_bot(owner, bot)
    await join(owner, elsewhere, newcomer)
    await newcomer.ask(elsewhere, "!language ar")
    room = await onboarding_room(owner, bot, rules_ar="القاعدة: كن لطيفاً.", rules_en="Rule Alpha.")
    await join(owner, room, newcomer)
    dm = await private_welcome(newcomer, bot, room)
    assert "القاعدة: كن لطيفاً." in dm.body and "Rule Alpha." not in dm.body
    assert "!language" not in dm.body  # a member with a language is not asked again
    reply = await newcomer.ask(dm.room_id, "!pronouns هي")
    assert reply.body.lstrip("\u200f").startswith("حُفظ")  # after the right-to-left mark


async def test_bot_without_power_welcomes_and_tells_admins_once(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    first, second = await make_member(), await make_member()
    room = await onboarding_room(owner, bot, bot_level=None, gate="on", welcome_in_room="off")
    await join(owner, room, first)
    warning = await owner.wait_for(from_bot(bot, room), 30)
    assert "can't hold newcomers back" in warning.body
    assert owner.user_id in warning.content["m.mentions"]["user_ids"]
    dm = await private_welcome(first, bot, room)
    assert "Taking part" in dm.body  # welcomed without the gate
    spoken = await first.send(room, "I can speak")
    await owner.wait_for(lambda m: m.event_id == spoken, 30)
    await join(owner, room, second)
    await private_welcome(second, bot, room)
    assert bot.bot is not None
    await bot.bot.outbox.idle()
    warnings = await bot.bot.outbox.items("onboarding", "warn/power")
    assert len(warnings) == 1
    status = await owner.ask(room, "!onboarding status")
    assert "can't change power levels" in status.body


async def members_joining(make_member: Any, owner: Member, room: str, count: int) -> list[Member]:
    newcomers = list(await asyncio.gather(*(make_member() for _ in range(count))))
    await asyncio.gather(*(owner.client.room_invite(room, m.user_id) for m in newcomers))
    # Set-up, not what is measured: 50 E2EE clients joining is slow on a loaded machine.
    await asyncio.gather(*(m.wait_member(room, m.user_id, 120) for m in newcomers))
    return newcomers


async def bot_messages_in(member: Member, room: str, bot_user: str) -> list[str]:
    """Bodies of the messages the bot sent in a room, from the homeserver's own history.

    Core's plain-text "this room is not encrypted" notice, which a new DM can receive
    before its encryption state is known (reported to core), is not onboarding's.
    """
    response = await member.client.room_messages(room, start="", limit=100)
    assert isinstance(response, RoomMessagesResponse)
    bodies = []
    for event in response.chunk:
        source = event.source
        if source.get("sender") != bot_user or source.get("type") != "m.room.message":
            continue
        body = str(source.get("content", {}).get("body", ""))
        if "not end-to-end encrypted" not in body:
            bodies.append(body)
    return bodies


async def test_burst_of_50_joins_gives_one_room_welcome_and_50_dms(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    # A long window, closed by the test once everyone is in: the batch must not depend on timing.
    room = await onboarding_room(owner, bot, batch_seconds="600", batch_names="3")
    newcomers = await members_joining(make_member, owner, room, 50)
    dms = await asyncio.gather(*(private_welcome(m, bot, room) for m in newcomers))
    assert len({dm.room_id for dm in dms}) == 50
    assert bot.bot is not None
    scheduler = bot.bot.scheduler
    [job] = await scheduler.pending("onboarding", "room_welcome")
    await scheduler.schedule("onboarding", "room_welcome", 0, job.payload, job_id=job.id)
    welcome = await owner.wait_for(from_bot(bot, room), 30)
    assert "and 47 others" in welcome.body
    assert len(welcome.content["m.mentions"]["user_ids"]) == 3
    await bot.bot.outbox.idle()
    assert len(await bot_messages_in(owner, room, bot.user_id)) == 1


async def test_restart_mid_burst_loses_no_dm_and_sends_none_twice(make_bot, make_member) -> None:
    # Slow pacing so the restart surely falls in the middle of the DMs.
    bot = await make_bot(plugins=PLUGINS, outbox={"per_second": 2, "concurrency": 2})
    owner = await make_member()
    room = await onboarding_room(owner, bot, welcome_in_room="off")
    newcomers = await members_joining(make_member, owner, room, 12)
    assert bot.bot is not None
    outbox = bot.bot.outbox

    async def some_sent() -> bool:
        return outbox.sent >= 2

    await eventually(some_sent, 60)
    assert await outbox.pending() > 0  # the restart really falls in the middle of the burst
    await bot.restart()
    dms = await asyncio.gather(*(private_welcome(m, bot, room) for m in newcomers))
    assert bot.bot is not None
    await asyncio.wait_for(bot.bot.outbox.idle(), 60)
    for newcomer, dm in zip(newcomers, dms, strict=True):
        assert len(await bot_messages_in(newcomer, dm.room_id, bot.user_id)) == 1
    items = await bot.bot.outbox.items("onboarding", "welcome/")
    assert len(items) == 12 and {i.state for i in items} == {"sent"}


async def test_silent_newcomer_is_reminded_then_removed(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    room = await onboarding_room(owner, bot, gate="on", welcome_in_room="off",
                                 reminder_hours="0.0003", remove_after_days="3")
    await join(owner, room, newcomer)
    dm = await private_welcome(newcomer, bot, room)
    reminder = await newcomer.wait_for(
        lambda m: m.room_id == dm.room_id and m.body.startswith("A reminder"), 30)
    assert "!agree" in reminder.body
    assert bot.bot is not None
    scheduler = bot.bot.scheduler
    [removal] = await scheduler.pending("onboarding", "remove")
    await scheduler.schedule("onboarding", "remove", 0, removal.payload, job_id=removal.id)
    told = await newcomer.wait_for(
        lambda m: m.room_id == dm.room_id and "You were removed" in m.body, 30)
    assert "3 days" in told.body
    assert newcomer.user_id not in bot.bot.runtime.rooms.members(room)


async def test_failed_dm_releases_the_newcomer_and_says_so_in_the_room(make_bot, make_member) -> None:
    from core.outbox import OutboxItem

    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    room = await onboarding_room(owner, bot, gate="on", welcome_in_room="off")
    await join(owner, room, newcomer)
    await private_welcome(newcomer, bot, room)
    assert bot.bot is not None
    [row] = await rows(bot, newcomer.user_id)
    assert row["gated_level"] == -1
    plugin = bot.bot.runtime.plugins["onboarding"]
    [item] = await bot.bot.outbox.items("onboarding", "welcome/")
    # As the outbox reports a DM that could not be created after its retries.
    await plugin.flow.delivered(OutboxItem(  # type: ignore[attr-defined]
        owner="onboarding", key=item.key, room_id=None, user_id=newcomer.user_id,
        event_type="m.room.message", state="failed", attempts=8, event_id=None,
        error="M_FORBIDDEN", delivered_to=None))
    notice = await owner.wait_for(from_bot(bot, room), 30)
    assert "couldn't open a private chat" in notice.body
    assert notice.content["m.mentions"]["user_ids"] == [newcomer.user_id]
    spoken = await newcomer.send(room, "I can still take part")
    await owner.wait_for(lambda m: m.event_id == spoken, 30)
    rules = await newcomer.ask(room, "!rules")
    assert "Be kind" in rules.body  # the built-in rules, since none were set


async def test_introduction_posted_only_with_consent_and_room_directory(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    intros = await room_with_bot(owner, bot)
    listed = await room_with_bot(owner, bot)
    space = await owner.create_room(invite=[bot.user_id], name="Network space")
    await owner.wait_member(space, bot.user_id)
    await owner.client.room_put_state(space, "m.space.child", {"via": ["localhost"]},
                                      state_key=listed)
    assert bot.bot is not None
    # Network settings (organizers' `!config --network`): no room points them elsewhere.
    for key, value in {"introductions_room": intros, "directory_space": space}.items():
        await bot.bot.runtime.settings.set_value(NETWORK, OnboardingPlugin, key, value)
    room = await onboarding_room(owner, bot, intro_questions='["pronouns", "reason"]')
    await join(owner, room, newcomer)
    dm = await private_welcome(newcomer, bot, room)
    assert "!intro" in dm.body
    directory = await newcomer.ask(dm.room_id, "!rooms")
    assert f"https://matrix.to/#/{listed}?via=localhost" in directory.body

    refused = await newcomer.ask(room, "!intro")
    assert "private chat" in refused.body
    await newcomer.ask(dm.room_id, "!intro")
    question = await newcomer.wait_for(
        lambda m: m.room_id == dm.room_id and m.body == "What are your pronouns?", 30)
    assert question.sender == bot.user_id
    await newcomer.ask(dm.room_id, "she/her")
    preview = await newcomer.ask(dm.room_id, "mutual aid")
    assert "mutual aid" in preview.body and "!intro post" in preview.body
    assert bot.bot is not None
    dump = "\n".join(str(tuple(r)) for r in await bot.bot.db.fetchall(
        "SELECT * FROM onboarding_members UNION ALL SELECT user_id, pronouns, 0, 0, 0, 0, 0, 0, 0, 0 "
        "FROM onboarding_profiles"))
    assert "mutual aid" not in dump and "she/her" not in dump  # nothing kept before consent
    # Pronouns a member sets are kept, sealed: the file does not show them.
    await newcomer.ask(dm.room_id, "!pronouns ze/zir")
    profile = await bot.bot.db.fetchone(
        "SELECT pronouns FROM onboarding_profiles WHERE user_id = ?", (newcomer.user_id,))
    assert profile is not None and profile["pronouns"].startswith(PREFIX)
    assert "ze/zir" in (await newcomer.ask(dm.room_id, "!pronouns")).body
    posted = await newcomer.ask(dm.room_id, "!intro post")
    assert "Posted" in posted.body
    post = await owner.wait_for(from_bot(bot, intros), 30)
    assert "she/her" in post.body and "mutual aid" in post.body
    assert newcomer.user_id in post.content["m.mentions"]["user_ids"]
    again = await newcomer.ask(dm.room_id, "!intro post")
    assert "no introduction ready" in again.body


async def test_gate_holds_every_newcomer_of_a_burst(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    room = await onboarding_room(owner, bot, gate="on", welcome_in_room="off")
    newcomers = await members_joining(make_member, owner, room, 10)
    await asyncio.gather(*(private_welcome(m, bot, room) for m in newcomers))
    levels = await owner.client.room_get_state_event(room, "m.room.power_levels")
    assert isinstance(levels, RoomGetStateEventResponse)
    users = levels.content["users"]
    # None lost to concurrent power-level writes (how many writes depends on timing).
    assert {m.user_id: users.get(m.user_id) for m in newcomers} == {m.user_id: -1 for m in newcomers}


async def test_room_admin_cannot_point_introductions_at_a_room_of_others(make_bot,
                                                                          make_member) -> None:
    """The attack: a room admin sends their newcomers' introductions into someone else's room."""
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    stranger = await make_member()
    newcomer = await make_member()
    theirs = await room_with_bot(stranger, bot)  # owner is not even a member there
    room = await onboarding_room(owner, bot)
    refused = await owner.ask(room, f"!config onboarding introductions_room {theirs}")
    assert "Not saved" in refused.body and "network setting" in refused.body
    await join(owner, room, newcomer)
    dm = await private_welcome(newcomer, bot, room)
    assert "!intro" not in dm.body
    answer = await newcomer.ask(dm.room_id, "!intro")
    assert "None of your rooms" in answer.body


async def test_the_sweep_forgets_a_member_who_left_through_a_room_without_onboarding(
        make_bot, make_member) -> None:
    """The README's promise for leaves onboarding does not hear: the recurring sweep keeps it,
    after an error and across a restart (one row, the scheduler's)."""
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    room = await onboarding_room(owner, bot)
    plain = await room_with_bot(owner, bot)  # onboarding off: its leaves are not heard
    await join(owner, plain, newcomer)
    await join(owner, room, newcomer)
    dm = await private_welcome(newcomer, bot, room)
    await newcomer.ask(dm.room_id, "!pronouns they/them")
    await leave(bot, newcomer, room)
    assert await rows(bot, newcomer.user_id)  # still in `plain`
    await leave(bot, newcomer, plain)
    assert await rows(bot, newcomer.user_id)  # not heard there: the sweep's to forget
    await bot.restart()
    assert bot.bot is not None
    scheduler = bot.bot.scheduler
    sweeps = await bot.bot.db.fetchall(
        "SELECT id, every FROM core_jobs WHERE owner = 'onboarding' AND kind = 'sweep'")
    assert [(r["id"], r["every"]) for r in sweeps] == [("every:onboarding:sweep", 3600.0)]
    # The first sweep fails; the next one (seconds later, not an hour) forgets them.
    plugin = bot.bot.runtime.plugins["onboarding"]
    assert isinstance(plugin, OnboardingPlugin)
    real = plugin.flow._forget
    calls: list[str] = []

    async def forget(user_id: str) -> None:
        calls.append(user_id)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        await real(user_id)

    plugin.flow._forget = forget  # type: ignore[method-assign]
    scheduler.backoff_initial = 0.2
    await scheduler.every("onboarding", "sweep", 60.0, first_at=bot.bot.clock.now())

    async def forgotten() -> bool:
        assert bot.bot is not None
        profile = await bot.bot.db.fetchone(
            "SELECT 1 FROM onboarding_profiles WHERE user_id = ?", (newcomer.user_id,))
        return not await rows(bot, newcomer.user_id) and profile is None

    await eventually(forgotten)
    assert len(calls) >= 2


def arabic(key: str) -> str:
    """An Arabic onboarding text up to its first placeholder (the catalog may be reworded)."""
    return CATALOG.messages[key]["ar"].split("{")[0]


def clean(text: str) -> str:
    """A body as read: without the direction marks and isolates that lay Arabic out."""
    return "".join(c for c in text if c not in "\u200e\u200f\u2066\u2067\u2068\u2069")


async def react_check(member: Member, room: str, event_id: str) -> None:
    await member.client.room_send(
        room, "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": "✅"}},
        ignore_unverified_devices=True,
    )


async def test_an_arabic_newcomer_is_onboarded_in_arabic_end_to_end(make_bot, make_member) -> None:
    """Join, `!language ar`, the welcome again in Arabic, ✅, thanks in Arabic, `!rules`: all of
    it in Arabic, the English rules marked as such, and no admin instruction anywhere."""
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    room = await onboarding_room(owner, bot, gate="on", rules_en="Rule Alpha.\nRule Beta.")
    await join(owner, room, newcomer)
    english = await private_welcome(newcomer, bot, room, "Rule Alpha.")
    dm = english.room_id
    assert "!language ar" in english.body and "To write in" in english.body
    told = await newcomer.ask(dm, "!language ar")
    assert clean(told.body).startswith("سأرد") or "العربية" in clean(told.body)
    resent = await newcomer.wait_for(
        lambda m: m.room_id == dm and m.sender == bot.user_id and m.event_id != english.event_id
        and "Rule Alpha." in m.body, 60)
    shown = clean(resent.body)
    assert arabic("rules_not_translated") in shown
    assert "العربية" in shown and "الإنجليزية" in shown
    assert "Rule Alpha.\nRule Beta." in shown and "!agree" in shown and "!language" not in shown

    async def recorded() -> bool:
        assert bot.bot is not None
        return await bot.bot.db.fetchone(
            "SELECT 1 FROM onboarding_members WHERE rules_event_id = ?",
            (resent.event_id,)) is not None

    await eventually(recorded)
    await react_check(newcomer, dm, resent.event_id)
    thanks = await newcomer.wait_for(
        lambda m: m.room_id == dm and m.sender == bot.user_id
        and arabic("agreed_gate") in clean(m.body), 30)
    assert "Thank you" not in thanks.body
    spoken = await newcomer.send(room, "مرحباً")
    await owner.wait_for(lambda m: m.event_id == spoken, 30)
    rules = await newcomer.ask(room, "!rules")
    header, text = clean(rules.body).split("\n", 1)
    assert arabic("rules_not_translated") in header and text == "Rule Alpha.\nRule Beta."
    # Everything the newcomer saw from the bot: nothing tells them how to configure rooms.
    seen = [m.body for m in newcomer.received if m.sender == bot.user_id]
    assert len(seen) >= 5
    assert not [body for body in seen if "!config" in body or "directory_rooms" in body]
    # The admin, not the newcomer, hears what is missing.
    preview = clean((await owner.ask(room, "!onboarding preview ar")).body)
    assert "the rules here are not written in Arabic" in preview
    assert "!config onboarding rules_ar" in preview
    assert "!config onboarding directory_rooms" in preview


async def test_the_check_under_an_arabic_rooms_welcome_is_thanked_in_arabic(
        make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    newcomer = await make_member()
    room = await onboarding_room(owner, bot, welcome_in_room="off")
    assert "العربية" in clean((await owner.ask(room, "!language room ar")).body)
    await join(owner, room, newcomer)
    welcome = await private_welcome(newcomer, bot, room)
    assert arabic("dm_welcome") in clean(welcome.body)

    async def recorded() -> bool:
        assert bot.bot is not None
        return await bot.bot.db.fetchone(
            "SELECT 1 FROM onboarding_members WHERE rules_event_id = ?",
            (welcome.event_id,)) is not None

    await eventually(recorded)
    await react_check(newcomer, welcome.room_id, welcome.event_id)
    thanks = await newcomer.wait_for(
        lambda m: m.room_id == welcome.room_id and m.sender == bot.user_id
        and m.event_id != welcome.event_id, 30)
    assert clean(thanks.body).startswith(arabic("agreed"))
    assert "!config" not in thanks.body
