"""The onboarding plugin through the real dispatcher, database, outbox and scheduler, with a fake homeserver.

The harness here is shared by the other onboarding unit tests (sealing,
authority). Real Synapse and E2EE members: tests/integration/test_onboarding.py.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bots.admin import AdminPlugin
from bots.onboarding import OnboardingPlugin
from core.builtin import CorePlugin
from core.clock import ManualClock
from core.config import Config
from core.dispatch import Dispatcher
from core.events import MemberJoined, MemberLeft, Message
from core.languages import LanguagePreferences
from core.outbox import Outbox
from core.plugin import Plugin
from core.room_settings import RoomSettings
from core.runtime import Runtime
from core.scheduler import Scheduler
from core.storage import CORE_MIGRATIONS, Database
from tests.unit.test_alerts_plugin import BOT, FakeHomeserver, Sent

ORGANIZER = "@org:x"
ORGANIZERS_ROOM = "!organizers:x"
ROOM = "!room:x"  # a community room with onboarding on
ADMIN = "@admin:x"  # admin of ROOM only
INTROS = "!intros:x"  # the network's introductions room
PRIVATE = "!private:x"  # a room the bot is in that ROOM's admin does not administer
OTHER_ADMIN = "@other:x"
NEWCOMER = "@new:x"
_ids = itertools.count()


class FakeOnboardingHomeserver(FakeHomeserver):
    """Adds space state (the directory) to the alerts tests' fake homeserver."""

    spaces: dict[str, list[dict[str, Any]]]

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        return self.spaces.get(room_id, [])


@dataclass
class Harness:
    hs: FakeOnboardingHomeserver
    runtime: Runtime
    dispatcher: Dispatcher
    outbox: Outbox
    clock: ManualClock
    plugin: OnboardingPlugin
    path: Path

    @property
    def db_file(self) -> Path:
        return self.path / "bot.db"

    async def say(self, room: str, sender: str, body: str, *, where: str | None = None) -> str:
        """Handle one message; returns the bot's answers there (`where`: elsewhere), joined."""
        answers = await self.answers(room, sender, body, where=where)
        assert answers, f"no answer to {body!r} in {where or room}"
        return "\n".join(str(answer.content["body"]) for answer in answers)

    async def answers(self, room: str, sender: str, body: str, *,
                      where: str | None = None) -> list[Sent]:
        where = where or room
        before = len(self.hs.in_room(where))
        event = Message(room_id=room, event_id=f"$m{next(_ids)}", sender=sender,
                        timestamp_ms=0, encrypted=True, body=body)
        await self.dispatcher.handle(event)
        await self.delivered()
        return self.hs.in_room(where)[before:]

    async def join(self, room: str, user_id: str) -> str:
        """`user_id` joins `room`; returns their DM room once the private welcome is out."""
        self.hs.members_of.setdefault(room, [BOT]).append(user_id)
        await self.dispatcher.handle(MemberJoined(
            room_id=room, event_id=f"$join{next(_ids)}", sender=user_id, timestamp_ms=0,
            encrypted=False, user_id=user_id))
        await self.delivered()
        return self.hs.dm_rooms[user_id]

    async def leave(self, room: str, user_id: str) -> None:
        self.hs.members_of[room].remove(user_id)
        await self.dispatcher.handle(MemberLeft(
            room_id=room, event_id=f"$leave{next(_ids)}", sender=user_id, timestamp_ms=0,
            encrypted=False, user_id=user_id))
        await self.delivered()

    async def delivered(self) -> None:
        import asyncio

        await asyncio.wait_for(self.outbox.idle(), 10)


async def make_harness(path: Path, *, restart_of: Harness | None = None) -> Harness:
    """As the bot starts (core/bot.py): every plugin's setup, then ready (rooms known), then sends.

    `restart_of`: the same bot started again (closed first) on its database and homeserver.
    """
    if restart_of is not None:
        await close(restart_of)
    hs = FakeOnboardingHomeserver() if restart_of is None else restart_of.hs
    if restart_of is None:
        hs.spaces = {}
        hs.members_of[ORGANIZERS_ROOM] = [BOT, ORGANIZER]
        hs.members_of[ROOM] = [BOT, ADMIN]
        hs.levels[(ROOM, ADMIN)] = 100
        hs.members_of[INTROS] = [BOT, OTHER_ADMIN]
        hs.levels[(INTROS, OTHER_ADMIN)] = 100
        hs.names[INTROS] = "Introductions"
        hs.members_of[PRIVATE] = [BOT, OTHER_ADMIN]
        hs.levels[(PRIVATE, OTHER_ADMIN)] = 100
        hs.names[PRIVATE] = "Safe house"
        hs.names[ORGANIZERS_ROOM] = "Organizers"
    config = Config.model_validate({
        "matrix": {"homeserver": "http://localhost", "user_id": BOT},
        "bot": {"roles": {"organizers": [ORGANIZER]},
                "outbox": {"per_second": 1000, "concurrency": 8,
                           "backoff_initial_seconds": 0.01, "max_attempts": 3}},
        "network": {"organizers_room": ORGANIZERS_ROOM, "rooms": [ROOM, INTROS]},
        "plugins": {"onboarding": {"batch_seconds": 0}},
    })
    db = Database(path / "bot.db")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    clock = ManualClock(1_770_000_000.0)
    outbox = Outbox(db, clock, hs, hs, config.bot.outbox)  # type: ignore[arg-type]
    runtime = Runtime(
        config=config, db=db, clock=clock, scheduler=Scheduler(db, clock),
        settings=RoomSettings(db, config.plugins),
        languages=LanguagePreferences(db, "en"), sender=hs, rooms=hs, actions=hs,
        dms=hs, outbox=outbox, bot_user_id=BOT,  # type: ignore[arg-type]
    )
    outbox.sealer = runtime.sealer  # as the bot does (core/bot.py)
    await runtime.settings.load()
    await runtime.languages.load()
    await runtime.network.load()
    dispatcher = Dispatcher(runtime)
    classes: list[type[Plugin]] = [CorePlugin, AdminPlugin, OnboardingPlugin]
    for plugin_class in classes:
        plugin = plugin_class(runtime)
        runtime.plugins[plugin.name] = plugin
        dispatcher.add_plugin(plugin)
        if isinstance(plugin, CorePlugin):
            plugin.dispatcher = dispatcher
        await plugin.setup()
    await runtime.settings.set_enabled(ROOM, OnboardingPlugin, True)
    for plugin in runtime.plugins.values():
        await plugin.ready()
    outbox.start()
    onboarding = runtime.plugins["onboarding"]
    assert isinstance(onboarding, OnboardingPlugin)
    return Harness(hs, runtime, dispatcher, outbox, clock, onboarding, path)


async def close(h: Harness) -> None:
    await h.outbox.stop()
    await h.plugin.teardown()
    await h.runtime.db.close()


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
    [welcome] = h.hs.in_room(dm)
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
    assert "Introductions" in h.hs.in_room(dm)[0].content["body"]  # offered in the welcome
    assert "Introductions" in await h.say(dm, NEWCOMER, "!intro")
    await h.say(dm, NEWCOMER, "they/them")
    await h.say(dm, NEWCOMER, "Arabic, English")
    preview = await h.say(dm, NEWCOMER, "mutual aid")
    assert "mutual aid" in preview
    assert "Posted" in await h.say(dm, NEWCOMER, "!intro post")
    [post] = h.hs.in_room(INTROS)
    assert "mutual aid" in post.content["body"] and NEWCOMER in plain(post.content["body"])
