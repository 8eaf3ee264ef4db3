"""The alerts plugin through the real dispatcher, database, outbox and scheduler, with a fake homeserver.

The fake homeserver (`FakeActions`) drops a send whose transaction id it has
seen, as Synapse does, so "nothing twice" is checked the way it matters.
Real Synapse and E2EE members: tests/integration/test_alerts.py.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bots.admin import AdminPlugin
from bots.alerts import AlertsPlugin
from core.actions import ActionError
from core.builtin import CorePlugin
from core.clock import ManualClock
from core.config import Config
from core.dispatch import Dispatcher
from core.events import Message, Reaction
from core.languages import LanguagePreferences
from core.outbox import Outbox
from core.plugin import Plugin
from core.room_settings import RoomSettings
from core.runtime import Runtime
from core.scheduler import Scheduler
from core.storage import CORE_MIGRATIONS, Database

BOT = "@bot:x"
ORGANIZER = "@org:x"
ORGANIZERS_ROOM = "!organizers:x"
_ids = itertools.count()


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@dataclass
class Sent:
    room_id: str
    event_type: str
    content: dict[str, Any]
    txn_id: str
    event_id: str


@dataclass
class FakeHomeserver:
    """RoomView, RoomActions, Sender and DMs over in-memory rooms."""

    members_of: dict[str, list[str]] = field(default_factory=dict)
    levels: dict[tuple[str, str], int] = field(default_factory=dict)
    unencrypted: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    by_txn: dict[str, str] = field(default_factory=dict)
    edits: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    redactions: list[tuple[str, str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    # room -> how many more sends answer 429 before one succeeds
    limited: dict[str, int] = field(default_factory=dict)
    blocked_dms: set[str] = field(default_factory=set)
    dm_rooms: dict[str, str] = field(default_factory=dict)
    # When set, sends outside the organizers room wait for it (deliveries "in flight").
    hold: asyncio.Event | None = None

    # -- RoomView --
    def is_encrypted(self, room_id: str) -> bool:
        return room_id not in self.unencrypted

    def power_level(self, room_id: str, user_id: str) -> int:
        return self.levels.get((room_id, user_id), 0)

    def members(self, room_id: str) -> list[str]:
        return self.members_of.get(room_id, [])

    def display_name(self, room_id: str) -> str | None:
        return None

    # -- RoomActions --
    @property
    def user_id(self) -> str:
        return BOT

    def joined_rooms(self) -> list[str]:
        return sorted(room for room, users in self.members_of.items() if BOT in users)

    def room_name(self, room_id: str) -> str | None:
        return self.names.get(room_id)

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        await asyncio.sleep(0)
        if self.hold is not None and room_id != ORGANIZERS_ROOM:
            await self.hold.wait()
        if txn_id in self.by_txn:
            return self.by_txn[txn_id]
        if room_id in self.forbidden:
            raise ActionError("send", "M_FORBIDDEN: may not post", forbidden=True)
        if self.limited.get(room_id):
            self.limited[room_id] -= 1
            raise ActionError("send", "M_LIMIT_EXCEEDED", retry_after=0.01)
        event_id = f"$e{next(_ids)}"
        self.by_txn[txn_id] = event_id
        self.sent.append(Sent(room_id, event_type, content, txn_id, event_id))
        return event_id

    async def send_message(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.send_event(room_id, "m.room.message", content, txn_id)

    async def edit(self, room_id: str, event_id: str, new_content: dict[str, Any],
                   txn_id: str) -> str:
        self.edits.append((room_id, event_id, new_content))
        return f"$edit{next(_ids)}"

    async def redact(self, room_id: str, event_id: str, reason: str | None = None,
                     txn_id: str | None = None) -> None:
        self.redactions.append((room_id, event_id))

    async def get_state(self, room_id: str, event_type: str,
                        state_key: str = "") -> dict[str, Any] | None:
        return {"users": {user: level for (room, user), level in self.levels.items()
                          if room == room_id}}

    # -- DMs --
    def is_dm(self, room_id: str) -> bool:
        return room_id in self.dm_rooms.values()

    def user_of(self, room_id: str) -> str | None:
        return next((u for u, r in self.dm_rooms.items() if r == room_id), None)

    async def room_for(self, user_id: str) -> str:
        if user_id in self.blocked_dms:
            raise ActionError("create_dm", "M_FORBIDDEN: invite refused", forbidden=True)
        room = self.dm_rooms.setdefault(user_id, f"!dm-{user_id[1:]}")
        self.members_of[room] = [BOT, user_id]
        return room

    # -- helpers --
    def in_room(self, room_id: str) -> list[Sent]:
        return [s for s in self.sent if s.room_id == room_id]

    def replies(self) -> list[str]:
        return [s.content["body"] for s in self.in_room(ORGANIZERS_ROOM)]


@dataclass
class Harness:
    hs: FakeHomeserver
    runtime: Runtime
    dispatcher: Dispatcher
    outbox: Outbox
    clock: ManualClock
    plugin: AlertsPlugin

    async def say(self, room: str, sender: str, body: str, **extra: Any) -> str:
        """Handle one message; returns the bot's last reply in that room."""
        before = len(self.hs.in_room(room))
        event = Message(room_id=room, event_id=f"$m{next(_ids)}", sender=sender,
                        timestamp_ms=0, encrypted=True, body=body, **extra)
        await self.dispatcher.handle(event)
        answers = self.hs.in_room(room)[before:]
        assert answers, f"no answer to {body!r}"
        return str(answers[-1].content["body"])

    async def delivered(self) -> None:
        await asyncio.wait_for(self.outbox.idle(), 10)


async def make_harness(path: Path, *, alerts_block: dict[str, Any] | None = None,
                       concurrency: int = 16, network_block: dict[str, Any] | None = None,
                       admin: bool = False, ready: bool = True,
                       restart_of: Harness | None = None,
                       others: dict[type[Plugin], dict[str, Any]] | None = None) -> Harness:
    """A bot with alerts (and `!config` when `admin`); `network_block` adds to `network:`.

    As the bot does (core/bot.py): every plugin's setup, then (after the first
    sync, here at once unless `ready` is False) every plugin's ready, then sends.
    Tests fire jobs with `scheduler.run_due()`. `restart_of`: the same bot
    started again (closed first) on its database, homeserver and network rooms.
    `others`: more plugins to run beside alerts, each with its config block.
    """
    rooms: list[str] = []
    if restart_of is not None:
        hs = restart_of.hs
        rooms = list(restart_of.runtime.config.network.rooms)
        await close(restart_of)
    else:
        hs = FakeHomeserver()
        hs.members_of[ORGANIZERS_ROOM] = [BOT, ORGANIZER, "@helper:x", "@member:x"]
        hs.levels[(ORGANIZERS_ROOM, "@helper:x")] = 50
    config = Config.model_validate({
        "matrix": {"homeserver": "http://localhost", "user_id": BOT},
        "bot": {"roles": {"organizers": [ORGANIZER]},
                "outbox": {"per_second": 1000, "concurrency": concurrency,
                           "backoff_initial_seconds": 0.01,
                           "max_attempts": 3}},
        # The network's rooms are added by network() as the tests create them.
        "network": {"organizers_room": ORGANIZERS_ROOM, "rooms": rooms, **(network_block or {})},
        "plugins": {"alerts": {"status_edit_seconds": 0.1, **(alerts_block or {})},
                    **{plugin.name: block for plugin, block in (others or {}).items()}},
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
    outbox.sealer = runtime.sealer  # as the bot does (core/bot.py): queued contents sealed
    await runtime.settings.load()
    await runtime.languages.load()
    dispatcher = Dispatcher(runtime)
    plugin_classes: list[type[Plugin]] = [CorePlugin, AlertsPlugin]
    if admin:
        plugin_classes.append(AdminPlugin)
    plugin_classes += list(others or {})
    await runtime.network.load()
    for plugin_class in plugin_classes:
        plugin = plugin_class(runtime)
        runtime.plugins[plugin.name] = plugin
        dispatcher.add_plugin(plugin)
        if isinstance(plugin, CorePlugin):
            plugin.dispatcher = dispatcher
        await plugin.setup()
    if ready:
        for plugin in runtime.plugins.values():
            await plugin.ready()
        outbox.start()
    alerts = runtime.plugins["alerts"]
    assert isinstance(alerts, AlertsPlugin)
    return Harness(hs, runtime, dispatcher, outbox, clock, alerts)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    try:
        yield h
    finally:
        await close(h)


async def close(h: Harness) -> None:
    await h.outbox.stop()
    await h.plugin.teardown()
    await h.runtime.db.close()


def network(h: Harness, count: int, *, tag: str | None = None,
            in_network: bool = True) -> list[str]:
    """Rooms the bot is in, each with an admin and a member; of the network unless told."""
    rooms = []
    for index in range(count):
        room = f"!r{next(_ids)}:x"
        admin = f"@admin{index}:x"
        h.hs.members_of[room] = [BOT, admin, f"@m{index}:x"]
        h.hs.levels[(room, admin)] = 100
        h.hs.names[room] = f"Room {index}"
        rooms.append(room)
        if in_network:
            h.runtime.config.network.rooms.append(room)
    return rooms


async def tag(h: Harness, room: str, name: str) -> None:
    """An organizer tags a network room from the organizers room."""
    assert "tagged" in await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!network tag {name} {room}")


async def advance_until(h: Harness, predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Move the manual clock on until `predicate` holds (retries wait on that clock)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await h.clock.advance(1)
        await asyncio.sleep(0.01)


async def status_shows(h: Harness, text: str, within: float = 10.0) -> str:
    """The latest status edit once it contains `text` (the manual clock paces the edits)."""
    deadline = time.monotonic() + within
    while True:
        status = [e[2]["body"] for e in h.hs.edits if e[0] == ORGANIZERS_ROOM]
        if status and text in status[-1]:
            return str(status[-1])
        if time.monotonic() > deadline:
            raise AssertionError(f"status never showed {text!r}: {status[-1:]}")
        await h.clock.advance(1)
        await asyncio.sleep(0.01)


def plain(text: str) -> str:
    return text.replace("\u2068", "").replace("\u2069", "")


def alerts_in(h: Harness, room: str) -> list[Sent]:
    return [s for s in h.hs.in_room(room) if "Alert from the organizers" in s.content["body"]
            or "URGENT" in s.content["body"]]


def alert_id_of(preview: str) -> str:
    return preview.split("alert ", 1)[1].split(" ", 1)[0].strip("\u2068\u2069:")


async def test_preview_then_send_reaches_every_room_once(harness: Harness) -> None:
    h = harness
    rooms = network(h, 5)
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Meeting point moved to the library")
    assert "Preview" in preview and "5 rooms" in preview
    assert not any(alerts_in(h, room) for room in rooms)  # nothing before confirmation
    answer = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    assert "on its way to 5 rooms" in answer
    await h.delivered()
    for room in rooms:
        [message] = alerts_in(h, room)
        assert "Meeting point moved to the library" in message.content["body"]
        assert message.content["msgtype"] == "m.notice"
    # The status message was posted, then edited as deliveries settled.
    status = plain(await status_shows(h, "5 of 5 delivered"))
    assert "Delivery finished" in status
    assert all(f"✓ Room {index}" in status for index in range(5))  # one line per room
    # A second send has no draft left: nothing twice.
    assert "no alert waiting" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    assert all(len(alerts_in(h, room)) == 1 for room in rooms)


async def test_non_organizer_refused_without_revealing_the_room(harness: Harness) -> None:
    h = harness
    [room] = network(h, 1)
    refusal = await h.say(room, "@m0:x", "!alert hello")
    assert "only the network's organizers" in refusal
    assert ORGANIZERS_ROOM not in refusal
    # A member of the organizers room below the configured power level is refused too.
    assert "only the network's organizers" in await h.say(ORGANIZERS_ROOM, "@member:x", "!alert x")
    # An organizer elsewhere is sent to the organizers room (not named).
    elsewhere = await h.say(room, ORGANIZER, "!alert hello")
    assert "organizers room only" in elsewhere and ORGANIZERS_ROOM not in elsewhere
    # Power level in the organizers room makes an organizer.
    assert "Preview" in await h.say(ORGANIZERS_ROOM, "@helper:x", "!alert from a helper")
    rows = await h.runtime.db.fetchall("SELECT author FROM alerts_alerts")
    assert [r["author"] for r in rows] == ["@helper:x"]


async def test_bad_input_gets_a_reason_and_stores_nothing(harness: Harness) -> None:
    h = harness
    network(h, 1)
    assert "Write the alert after the command" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert")
    assert "empty" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --urgent")
    unknown = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms atlantis text")
    assert "No room carries the tag" in unknown and "atlantis" in unknown
    assert "Unknown option" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --loud x")
    assert "no alert" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert status zzzzzz")
    # `status` alone asks for no id (the latest alert), and there is none yet.
    assert "No alerts yet" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert status")
    assert "Which alert?" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert cancel")
    assert "Which alert?" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert retract the last one")
    assert await h.runtime.db.fetchall("SELECT * FROM alerts_alerts") == []


async def test_tags_select_rooms_and_dm_subscribers(harness: Harness) -> None:
    h = harness
    rooms = network(h, 4)
    await tag(h, rooms[0], "Syria")
    await tag(h, rooms[1], "syria")
    await tag(h, rooms[2], "legal")
    assert "syria" in await h.say(rooms[0], "@admin0:x", "!network tags")
    refused = await h.say(rooms[0], "@m0:x", "!network tag other")
    assert "admins" in refused
    assert "every alert" in await h.say(rooms[3], "@m3:x", "!subscribe alerts")
    assert "syria" in await h.say(rooms[2], "@m2:x", "!subscribe alerts syria")
    assert "@m1:x" not in h.hs.dm_rooms
    await h.say(rooms[1], "@m1:x", "!subscribe alerts legal")
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms syria --dm Border closed")
    assert "2 rooms and 2 members" in preview
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    assert [len(alerts_in(h, room)) for room in rooms] == [1, 1, 0, 0]
    assert set(h.hs.dm_rooms) == {"@m3:x", "@m2:x"}  # legal-only subscriber left out
    for user in ("@m3:x", "@m2:x"):
        assert len(alerts_in(h, h.hs.dm_rooms[user])) == 1
    assert "no more alerts" in await h.say(rooms[3], "@m3:x", "!unsubscribe")


async def test_language_versions_follow_room_and_member_language(harness: Harness) -> None:
    h = harness
    english, arabic = network(h, 2)
    await h.runtime.languages.set_room(arabic, "ar")
    await h.runtime.languages.set_user("@m0:x", "ar")
    await h.say(english, "@m0:x", "!subscribe alerts")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --dm [en] Stay home tonight\n[ar] ابقوا في البيوت الليلة")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    # A room holds every version, its own language's first, each under its name:
    # @m0:x chose Arabic and reads it in the English room too.
    [in_english] = alerts_in(h, english) or [None]
    assert in_english is not None
    body = in_english.content["body"]
    assert body.index("English:\nStay home tonight") < body.index("العربية:\nابقوا في البيوت الليلة")
    assert body.startswith("📣 Alert from the organizers")
    # How to acknowledge, in each language the alert speaks.
    assert "React ✅ or send !ack" in body and "تفاعل بـ ✅" in body
    ar_messages = [s for s in h.hs.in_room(arabic) if "ابقوا في البيوت الليلة" in s.content["body"]]
    assert len(ar_messages) == 1
    body = ar_messages[0].content["body"]
    assert body.index("العربية:\nابقوا في البيوت الليلة") < body.index("English:\nStay home tonight")
    assert "تنبيه من فريق التنظيم" in body.split("\n")[0]
    # A direct message has one reader, in their language only.
    dm = h.hs.in_room(h.hs.dm_rooms["@m0:x"])
    assert len(dm) == 1 and "ابقوا في البيوت الليلة" in dm[0].content["body"]
    assert "Stay home" not in dm[0].content["body"] and "العربية:" not in dm[0].content["body"]


async def test_failures_are_listed_with_reasons_and_rate_limits_retried(harness: Harness) -> None:
    h = harness
    ok, forbidden, limited = network(h, 3)
    h.hs.forbidden.add(forbidden)
    h.hs.limited[limited] = 2
    h.hs.blocked_dms.add("@m0:x")
    await h.say(ok, "@m0:x", "!subscribe alerts")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --dm Raid warning")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    # Each 429 puts the send back by its retry_after on the (manual) clock.
    await advance_until(h, lambda: len(alerts_in(h, limited)) == 1)
    await h.delivered()
    assert h.hs.limited[limited] == 0  # both 429s were met and waited out
    assert len(alerts_in(h, ok)) == 1 and len(alerts_in(h, limited)) == 1
    assert alerts_in(h, forbidden) == []
    preview_id = (await h.runtime.db.fetchone("SELECT id FROM alerts_alerts"))["id"]  # type: ignore[index]
    report = await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert status {preview_id}")
    assert "Room 1" in report and "M_FORBIDDEN" in report
    assert "Direct messages: 0 of 1 delivered, 1 failed" in report
    final = await status_shows(h, "2 of 4 delivered, 2 failed")
    assert "Room 1" in final and "@m0:x" in final and "invite refused" in final


async def test_acknowledgements_by_reaction_and_command(harness: Harness) -> None:
    h = harness
    first, second = network(h, 2)
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Check in please")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    [message] = alerts_in(h, first)
    for sender in ("@m0:x", "@admin0:x", "@m0:x"):  # the repeated reaction counts once
        await h.dispatcher.handle(Reaction(room_id=first, event_id=f"$r{next(_ids)}", sender=sender,
                                           timestamp_ms=0, encrypted=True, key="✅",
                                           relates_to=message.event_id))
    await h.dispatcher.handle(Reaction(room_id=first, event_id=f"$r{next(_ids)}", sender="@x:x",
                                       timestamp_ms=0, encrypted=True, key="😂",
                                       relates_to=message.event_id))
    assert "recorded" in await h.say(second, "@m1:x", "!ack")
    assert "already" in await h.say(second, "@m1:x", "!ack")
    assert "no alert here" in await h.say(ORGANIZERS_ROOM, "@helper:x", "!ack")
    alert_id = (await h.runtime.db.fetchone("SELECT id FROM alerts_alerts"))["id"]  # type: ignore[index]
    report = await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert status {alert_id}")
    assert "Room 0: delivered, 2 acknowledged" in report.replace("\u2068", "").replace("\u2069", "")
    assert "Acknowledged by 3 members, in 2 of 2 rooms" in report
    assert "Check in please" in report  # what was sent, with who and when


async def test_edit_and_retract_reach_every_delivery(harness: Harness) -> None:
    h = harness
    rooms = network(h, 3)
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Meet at 6")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    alert_id = (await h.runtime.db.fetchone("SELECT id FROM alerts_alerts"))["id"]  # type: ignore[index]
    edited = await h.say(ORGANIZERS_ROOM, ORGANIZER,
                         f"!alert edit {alert_id}\n[en] Meet at 7 instead\n[ar] اللقاء في السابعة")
    assert "edited in 3 places" in edited
    alert_edits = [e for e in h.hs.edits if e[0] in rooms]
    assert sorted(e[0] for e in alert_edits) == sorted(rooms)
    assert all("Meet at 7 instead" in e[2]["body"] for e in alert_edits)
    retracted = await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert retract {alert_id}")
    assert "removed from 3 places" in retracted
    originals = {alerts_in(h, room)[0].event_id for room in rooms}
    assert {event for _, event in h.hs.redactions} == originals
    assert "cancelled or retracted" in await h.say(ORGANIZERS_ROOM, ORGANIZER,
                                                    f"!alert retract {alert_id}")
    log = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert log")
    for action in ("composed", "sent", "edited", "retracted"):
        assert action in log


async def test_retracting_mid_fan_out_stops_what_has_not_gone_out(tmp_path: Path) -> None:
    h = await make_harness(tmp_path, concurrency=2)
    try:
        rooms = network(h, 6)
        h.hs.hold = asyncio.Event()  # two deliveries reach the homeserver and wait there
        await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Wrong address, ignore")
        await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        alert_id = (await h.runtime.db.fetchone("SELECT id FROM alerts_alerts"))["id"]  # type: ignore[index]
        retracted = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert retract {alert_id}"))
        assert "4 deliveries that had not gone out yet were stopped" in retracted
        h.hs.hold.set()
        await h.delivered()
        reached = [room for room in rooms if alerts_in(h, room)]
        assert len(reached) == 2  # the two already handed over, and nothing else ever
        await eventually(lambda: len(h.hs.redactions) == 2)
        assert {room for room, _ in h.hs.redactions} == set(reached)
        status = plain(await status_shows(h, "4 not sent"))
        assert "0 on the way" in status and "stopped before it was sent" in status
        report = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert status {alert_id}"))
        assert report.count("stopped before it was sent") == 4
    finally:
        await close(h)


async def test_scheduled_alert_fires_once_and_can_be_cancelled(harness: Harness) -> None:
    h = harness
    [room] = network(h, 1)
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert at +30m Vigil starts now")
    assert "It will be sent at" in preview
    assert "will be sent at" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert at +40m Second one")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    rows = await h.runtime.db.fetchall("SELECT id FROM alerts_alerts ORDER BY due_at")
    second = rows[1]["id"]
    assert "cancelled" in await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert cancel {second}")
    await h.runtime.scheduler.run_due()
    assert alerts_in(h, room) == []
    await h.clock.advance(45 * 60)
    await h.runtime.scheduler.run_due()
    await h.runtime.scheduler.run_due()
    await h.delivered()
    [message] = alerts_in(h, room)
    assert "Vigil starts now" in message.content["body"]


async def test_restart_mid_fan_out_resumes_without_duplicates(tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    rooms = network(h, 6)
    await h.outbox.stop()  # the "crash": queued, nothing delivered yet
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Evacuate the square")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    # Two rooms got theirs before the crash, but the outbox never recorded it.
    rows = await h.runtime.db.fetchall("SELECT room_id, content, txn_id FROM core_outbox "
                                       "WHERE owner = 'alerts' ORDER BY room_id LIMIT 2")
    for row in rows:
        content = h.runtime.sealer.open_json(row["content"], context="outbox.content")
        await h.hs.send_event(row["room_id"], "m.room.message", content, row["txn_id"])
    # Restart on the same database and homeserver: the catch-up runs in ready().
    h2 = await make_harness(tmp_path, restart_of=h)
    try:
        assert await h2.runtime.scheduler.run_due() == 0  # nothing left for a job to do
        await h2.delivered()
        assert [len(alerts_in(h2, room)) for room in rooms] == [1] * 6
        alert_id = (await h2.runtime.db.fetchone("SELECT id FROM alerts_alerts"))["id"]  # type: ignore[index]
        assert "Delivery finished" in await status_shows(h2, "6 of 6 delivered")
        state = await h2.runtime.db.fetchone("SELECT state FROM alerts_alerts WHERE id = ?",
                                             (alert_id,))
        assert state is not None and state["state"] == "done"
    finally:
        await close(h2)


async def test_reminder_goes_only_to_rooms_without_acknowledgement(tmp_path: Path) -> None:
    h = await make_harness(tmp_path, alerts_block={"remind_after_minutes": 30})
    try:
        acked, silent = network(h, 2)
        await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Roll call")
        await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        await h.delivered()
        await h.say(acked, "@m0:x", "!ack")
        await h.clock.advance(31 * 60)
        await h.runtime.scheduler.run_due()
        await h.delivered()
        reminders = [s for s in h.hs.sent if "Reminder" in s.content["body"]]
        assert [s.room_id for s in reminders] == [silent]
        assert reminders[0].content["m.relates_to"]["m.in_reply_to"]["event_id"] == \
            alerts_in(h, silent)[0].event_id
    finally:
        await close(h)


async def test_urgent_alert_mentions_the_room_only_where_the_bot_may(harness: Harness) -> None:
    h = harness
    powerful, plain_room = network(h, 2)
    h.hs.levels[(powerful, BOT)] = 50
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --urgent Leave now")
    assert "URGENT" in preview
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    [loud] = alerts_in(h, powerful)
    [quiet] = alerts_in(h, plain_room)
    assert loud.content["msgtype"] == quiet.content["msgtype"] == "m.text"
    assert loud.content["body"].startswith("@room") and loud.content["m.mentions"] == {"room": True}
    assert "@room" not in quiet.content["body"] and quiet.content["m.mentions"] == {}


async def test_organizers_see_every_tag_members_only_their_rooms(harness: Harness) -> None:
    h = harness
    first, second = network(h, 2)
    h.hs.names[first] = "Damascus"
    await tag(h, first, "syria")
    await tag(h, second, "legal")
    listing = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!network tags")
    assert "syria" in listing and "legal" in listing and "Damascus" in listing
    assert "legal" not in await h.say(first, "@admin0:x", "!network tags")
    assert "removed" in await h.say(first, "@admin0:x", "!network untag syria")
    assert "no tags" in await h.say(first, "@admin0:x", "!network tags")
    # Unknown tags are refused to members without listing the network's tags.
    refusal = await h.say(second, "@m1:x", "!subscribe alerts atlantis")
    assert "atlantis" in refusal and "legal" not in refusal


async def test_results_missed_by_a_crash_are_taken_in_at_start(harness: Harness) -> None:
    """The outbox delivered, but the process died before the plugin recorded it."""
    h = harness
    rooms = network(h, 3)
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Assemble at noon")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    alert_id = (await h.runtime.db.fetchone("SELECT id FROM alerts_alerts"))["id"]  # type: ignore[index]
    await h.runtime.db.execute("UPDATE alerts_deliveries SET state = 'queued', event_id = NULL")
    await h.runtime.db.execute("UPDATE alerts_alerts SET state = 'sending'")
    await h.plugin.fanout.catch_up()
    deliveries = await h.plugin.store.deliveries(alert_id)
    assert {d.state for d in deliveries} == {"sent"}
    assert {d.event_id for d in deliveries} == {alerts_in(h, room)[0].event_id for room in rooms}
    alert = await h.plugin.store.alert(alert_id)
    assert alert is not None and alert.state == "done"
    assert all(len(alerts_in(h, room)) == 1 for room in rooms)


async def test_a_scheduled_alert_due_during_downtime_goes_out_after_ready(tmp_path: Path) -> None:
    """Core fires jobs only after every plugin's ready (rooms known): no waiting of alerts' own."""
    h = await make_harness(tmp_path)
    [room] = network(h, 1)
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert at +5m Curfew at ten")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    h = await make_harness(tmp_path, restart_of=h)
    try:
        await h.clock.advance(600)
        assert await h.runtime.scheduler.run_due() == 1  # fired once, not pushed back
        await h.delivered()
        [message] = alerts_in(h, room)
        assert "Curfew at ten" in message.content["body"]
        assert await h.runtime.scheduler.pending("alerts", "send") == []
    finally:
        await close(h)


async def test_tagged_rooms_the_bot_cannot_use_are_named_in_the_preview(harness: Harness) -> None:
    h = harness
    kept, left, plain_room = network(h, 3)
    for room in (kept, left, plain_room):
        await tag(h, room, "legal")
    h.hs.members_of[left].remove(BOT)
    h.hs.unencrypted.add(plain_room)
    preview = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms legal Court at 9"))
    assert "1 rooms" in preview
    assert "Skipped Room 1: the bot is no longer in it" in preview
    assert "Skipped Room 2: it is not encrypted" in preview
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    assert len(alerts_in(h, kept)) == 1
    assert alerts_in(h, left) == alerts_in(h, plain_room) == []
