"""The onboarding plugin in the real bot (core.testing: dispatcher, database, outbox, scheduler, DMs).

The harness here is shared by the other onboarding unit tests (sealing,
authority). Real Synapse and E2EE members: tests/integration/test_onboarding.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bots.admin import AdminPlugin
from bots.onboarding import OnboardingPlugin
from core.clock import ManualClock
from core.runtime import Runtime
from core.testing import MemoryHomeserver, PluginHarness, Sent

BOT = "@bot:x"
ORGANIZER = "@org:x"
ORGANIZERS_ROOM = "!organizers:x"
ROOM = "!room:x"  # a community room with onboarding on
ADMIN = "@admin:x"  # admin of ROOM only
INTROS = "!intros:x"  # the network's introductions room
PRIVATE = "!private:x"  # a room the bot is in that ROOM's admin does not administer
OTHER_ADMIN = "@other:x"
NEWCOMER = "@new:x"
START = 1_770_000_000.0


@dataclass
class Harness:
    """Onboarding in a running bot, with the shortcuts its tests share."""

    bot: PluginHarness

    @property
    def hs(self) -> MemoryHomeserver:
        return self.bot.homeserver

    @property
    def runtime(self) -> Runtime:
        return self.bot.runtime

    @property
    def clock(self) -> ManualClock:
        return self.bot.clock

    @property
    def plugin(self) -> OnboardingPlugin:
        return self.bot.plugin(OnboardingPlugin)

    @property
    def db_file(self) -> Path:
        return self.bot.db_path

    async def say(self, room: str, sender: str, body: str, *, where: str | None = None) -> str:
        """Handle one message; returns the bot's answers there (`where`: elsewhere), joined."""
        answers = await self.answers(room, sender, body, where=where)
        assert answers, f"no answer to {body!r} in {where or room}"
        return "\n".join(answer.body for answer in answers)

    async def answers(self, room: str, sender: str, body: str, *,
                      where: str | None = None) -> list[Sent]:
        """What the bot said in `where` (or `room`) while it handled the message, deliveries included."""
        return (await self.bot.send(room, sender, body)).in_room(where or room)

    async def join(self, room: str, user_id: str) -> str:
        """`user_id` joins `room`; returns their DM room once the private welcome is out."""
        await self.bot.join(room, user_id)
        # The member accepts the DM the welcome opened (a new one, if there was none).
        return await self.bot.dm(user_id)

    async def leave(self, room: str, user_id: str) -> None:
        await self.bot.leave(room, user_id)


def world() -> MemoryHomeserver:
    hs = MemoryHomeserver(BOT)
    hs.add_room(ORGANIZERS_ROOM, [ORGANIZER], name="Organizers")
    # The bot may remove what members type there (a private command in the room).
    hs.add_room(ROOM, {ADMIN: 100}, bot_level=100)
    hs.add_room(INTROS, {OTHER_ADMIN: 100}, name="Introductions")
    hs.add_room(PRIVATE, {OTHER_ADMIN: 100}, name="Safe house")
    return hs


async def make_harness(path: Path, *, restart_of: Harness | None = None) -> Harness:
    """The bot started (every plugin's setup, onboarding on in ROOM, then ready and sends).

    `restart_of`: the same bot started again (stopped first) on its database and homeserver.
    """
    if restart_of is not None:
        await restart_of.bot.restart()
        return restart_of
    bot = PluginHarness(
        AdminPlugin, OnboardingPlugin, data_dir=path, homeserver=world(), bot_user_id=BOT,
        clock=ManualClock(START),
        config={"bot": {"roles": {"organizers": [ORGANIZER]},
                        "outbox": {"concurrency": 8, "backoff_initial_seconds": 0.01,
                                   "max_attempts": 3}},
                "network": {"organizers_room": ORGANIZERS_ROOM, "rooms": [ROOM, INTROS]}},
        plugins={"onboarding": {"batch_seconds": 0}})
    await bot.start(ready=False)
    try:
        await bot.enable(ROOM, OnboardingPlugin)
        await bot.ready()
    except BaseException:
        await bot.stop()
        raise
    return Harness(bot)


async def close(h: Harness) -> None:
    await h.bot.stop()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    try:
        yield h
    finally:
        await close(h)


def plain(text: str) -> str:
    return text.replace("\u2068", "").replace("\u2069", "")


async def test_newcomer_gets_a_private_welcome_and_agrees(harness: Harness) -> None:
    h = harness
    dm = await h.join(ROOM, NEWCOMER)
    [welcome] = h.hs.messages(dm)
    assert "!agree" in welcome.content["body"]
    assert "Thank you" in await h.say(dm, NEWCOMER, "!agree")
    row = await h.runtime.db.fetchone(
        "SELECT state FROM onboarding_members WHERE user_id = ?", (NEWCOMER,))
    assert row is not None and row["state"] == "agreed"


async def test_organizers_set_the_introductions_room_and_a_member_posts(harness: Harness) -> None:
    h = harness
    saved = await h.say(ORGANIZERS_ROOM, ORGANIZER,
                        f"!config --network onboarding introductions_room {INTROS}")
    assert "introductions_room" in saved and "Not saved" not in saved
    dm = await h.join(ROOM, NEWCOMER)
    assert "Introductions" in h.hs.messages(dm)[0].content["body"]  # offered in the welcome
    assert "Introductions" in await h.say(dm, NEWCOMER, "!intro")
    await h.say(dm, NEWCOMER, "they/them")
    await h.say(dm, NEWCOMER, "Arabic, English")
    preview = await h.say(dm, NEWCOMER, "mutual aid")
    assert "mutual aid" in preview
    assert "Posted" in await h.say(dm, NEWCOMER, "!intro post")
    [post] = h.hs.messages(INTROS)
    assert "mutual aid" in post.content["body"] and NEWCOMER in plain(post.content["body"])
