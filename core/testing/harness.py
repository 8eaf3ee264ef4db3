"""PluginHarness: one bot "process" with the real framework and a homeserver in memory.

The Dispatcher, storage (SQLite in a folder the test gives), room settings,
languages, DMs, network and authority, scheduler and outbox are the ones the
bot runs; only Matrix is replaced (core.testing.homeserver) and time is a
ManualClock that moves when the test says so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from core.builtin import CorePlugin
from core.clock import ManualClock
from core.config import Config
from core.crypto.trust import TrustPolicy
from core.dispatch import Dispatcher
from core.dms import DirectMessages
from core.events import (
    Media,
    MemberJoined,
    MemberLeft,
    Message,
    Reaction,
    Redaction,
    RoomEvent,
    StateChanged,
)
from core.languages import LanguagePreferences
from core.outbox import Outbox
from core.plugin import Plugin
from core.room_settings import RoomSettings
from core.runtime import Runtime
from core.scheduler import Scheduler
from core.storage import CORE_MIGRATIONS, Database
from core.testing.homeserver import MemoryHomeserver, Room, Sent

BOT = "@bot:test"
START = 1_700_000_000.0
# Real seconds the harness waits for the bot to finish something before it
# says what is stuck (a handler sleeping on the manual clock never wakes alone).
SETTLE_TIMEOUT = 10.0

P = TypeVar("P", bound=Plugin)


class Answers(list[Sent]):
    """What the bot sent while it handled one event (and delivered what it queued)."""

    def __init__(self, event_id: str, sent: Iterable[Sent]) -> None:
        super().__init__(sent)
        self.event_id = event_id

    @property
    def messages(self) -> list[Sent]:
        return [s for s in self if s.is_message]

    @property
    def replies(self) -> list[Sent]:
        """Messages sent as replies to the event."""
        return [s for s in self.messages if s.in_reply_to == self.event_id]

    def in_room(self, room_id: str) -> list[Sent]:
        return [s for s in self.messages if s.room_id == room_id]

    @property
    def text(self) -> str:
        """Every message's plain text, one after another."""
        return "\n".join(s.plain for s in self.messages)

    def reply(self) -> Sent:
        """The one reply to the event, whatever else was sent meanwhile (to others, elsewhere)."""
        return self._only(self.replies, "reply")

    def one(self) -> Sent:
        """The only message sent; fails the test (listing them) otherwise."""
        return self._only(self.messages, "message")

    def _only(self, found: list[Sent], what: str) -> Sent:
        if len(found) != 1:
            raise AssertionError(f"expected one {what}, the bot sent {len(found)}: "
                                 f"{[s.plain for s in self.messages]}")
        return found[0]


def _merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


class PluginHarness:
    """Run plugins as the bot does, against MemoryHomeserver, on a ManualClock.

    ::

        from core.testing import PluginHarness

        ROOM, ALICE = "!room:test", "@alice:test"

        async def test_greet(tmp_path):
            async with PluginHarness(GreeterPlugin, data_dir=tmp_path,
                                     plugins={"greeter": {"greeting": "Salaam"}}) as h:
                h.room(ROOM, {ALICE: 0})
                answer = await h.reply(ROOM, ALICE, "!greet Sam")
                assert answer.plain == "Salaam, Sam!"
                assert answer.in_reply_to is not None

    `config` is merged into a minimal valid config (`bot`, `network`,
    `plugins` blocks as in config.yaml); `plugins` is a shortcut for the
    `plugins:` blocks. Room roles come from power levels (`room(id, {user:
    level})`), network roles from config (`bot.roles.organizers`,
    `network.moderators`, a role room such as `network.moderators_room` and
    its members' levels). CorePlugin (`!help`, `!language`) is always there.

    `start()` does what the bot's start does (migrations, settings, every
    plugin's `setup`, then `ready`, the jobs due at start, the outbox);
    `advance(seconds)` moves the clock, fires what fell due and delivers what
    was queued; `restart()` starts a new bot on the same database and
    homeserver. Unlike the bot, which logs a failing `ready` and goes on, the
    harness lets it raise, so the test shows the traceback.
    """

    def __init__(
        self,
        *plugin_classes: type[Plugin],
        data_dir: Path,
        config: Mapping[str, Any] | None = None,
        plugins: Mapping[str, Mapping[str, Any]] | None = None,
        homeserver: MemoryHomeserver | None = None,
        clock: ManualClock | None = None,
        bot_user_id: str = BOT,
        trust: TrustPolicy | None = None,
    ) -> None:
        self.plugin_classes: list[type[Plugin]] = [
            cls for cls in plugin_classes if cls is not CorePlugin]
        self.data_dir = Path(data_dir)
        self.bot_user_id = bot_user_id
        defaults: dict[str, Any] = {
            "matrix": {"homeserver": "http://localhost", "user_id": bot_user_id},
            "storage": {"data_dir": str(self.data_dir)},
            # Pacing is real time (the outbox's per-second limit): out of the way here.
            "bot": {"outbox": {"per_second": 100_000}},
            "plugins": {},
        }
        merged = _merged(defaults, config or {})
        merged["plugins"] = _merged(merged["plugins"], plugins or {})
        self.config = Config.model_validate(merged)
        self.homeserver = homeserver or MemoryHomeserver(bot_user_id)
        self.clock = clock or ManualClock(START)
        self.trust = trust
        self._started = False
        self._outbox_running = False

    # -- lifecycle ------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.config.storage.database

    async def start(self, *, ready: bool = True) -> None:
        """Start as the bot does; with `ready=False`, stop before the first sync's `ready`."""
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.db_path)
        await self.db.open()
        try:
            await self._start(ready)
        except BaseException:
            if self._started:
                await self.stop()
            else:
                await self.db.close()
            raise

    async def _start(self, ready: bool) -> None:
        await self.db.migrate("core", CORE_MIGRATIONS)
        jobs = self.config.bot.scheduler
        self.scheduler = Scheduler(self.db, self.clock, max_attempts=jobs.max_attempts,
                                   backoff_initial_seconds=jobs.backoff_initial_seconds,
                                   backoff_max_seconds=jobs.backoff_max_seconds)
        hs = self.homeserver
        self.dms = DirectMessages(self.db, hs, hs, self.clock, self.bot_user_id)
        self.outbox = Outbox(self.db, self.clock, hs, self.dms, self.config.bot.outbox)
        self.runtime = Runtime(
            config=self.config, db=self.db, clock=self.clock, scheduler=self.scheduler,
            settings=RoomSettings(self.db, self.config.plugins),
            languages=LanguagePreferences(self.db, self.config.bot.default_language),
            sender=hs, rooms=hs, actions=hs, dms=self.dms, outbox=self.outbox,
            bot_user_id=self.bot_user_id,
        )
        self.outbox.sealer = self.runtime.sealer
        self.dispatcher = Dispatcher(self.runtime)
        self.dispatcher.trust = self.trust
        await self.runtime.settings.load()
        await self.runtime.languages.load()
        await self.runtime.zones.load()  # members' time zones, as the bot loads them
        await self.dms.load()
        await self.runtime.network.load()
        for room in hs.rooms.values():  # what the first sync tells the network
            self._note_room_state(room)
        classes: list[type[Plugin]] = [CorePlugin, *self.plugin_classes]
        for plugin_class in classes:
            plugin = plugin_class(self.runtime)
            self.runtime.plugins[plugin.name] = plugin
            self.dispatcher.add_plugin(plugin)
            if isinstance(plugin, CorePlugin):
                plugin.dispatcher = self.dispatcher
        self._started = True
        for plugin in self.runtime.plugins.values():
            await plugin.setup()
        if ready:
            await self.ready()

    async def ready(self) -> None:
        """What follows the first sync: every plugin's `ready`, the jobs due, the outbox."""
        for plugin in self.runtime.plugins.values():
            await plugin.ready()
        self.outbox.start()
        self._outbox_running = True
        await self.settle()

    async def stop(self) -> None:
        """Shut down as the bot does (safe to call twice)."""
        if not self._started:
            return
        self._started = False
        # As the bot's close(): queued events get a moment, then are cancelled (a
        # lane waiting for the manual clock, after a failed assertion, would never end).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.dispatcher.drain(), 2.0)
        await self.dispatcher.stop()
        await self.scheduler.stop()
        await self.outbox.stop()
        self._outbox_running = False
        for plugin in self.runtime.plugins.values():
            await plugin.teardown()
        await self.db.close()

    async def restart(self, *, advance: float = 0.0, ready: bool = True) -> None:
        """Stop, let `advance` seconds pass while the bot is down, start again (same data)."""
        await self.stop()
        if advance:
            await self.clock.advance(advance)
        await self.start(ready=ready)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    def plugin(self, plugin_class: type[P]) -> P:
        """The running instance of a plugin class (a new one after each restart)."""
        found = self.runtime.plugins.get(plugin_class.name)
        if not isinstance(found, plugin_class):
            raise KeyError(f"plugin {plugin_class.name} is not loaded in this harness")
        return found

    # -- the world ------------------------------------------------------------

    def room(self, room_id: str, members: Iterable[str] | Mapping[str, int] = (), *,
             encrypted: bool = True, name: str | None = None, bot_level: int = 0) -> Room:
        """A room the bot is in; a mapping gives members' power levels (50 moderator, 100 admin)."""
        room = self.homeserver.add_room(room_id, members, encrypted=encrypted, name=name,
                                        bot_level=bot_level)
        return room

    def set_level(self, room_id: str, user_id: str, level: int) -> None:
        """A member's power level in a room (as an admin would set it in Element)."""
        self.homeserver.room(room_id).levels[user_id] = level

    async def dm(self, user_id: str) -> str:
        """The member's DM room with the bot (made by core.dms if there is none), joined.

        The member has accepted the invite, so they can write there; a DM the
        bot opened on its own (the outbox, a private command) stays an invite
        until the test calls this or `join`.
        """
        room_id = await self.dms.room_for(user_id)
        room = self.homeserver.room(room_id)
        if user_id in room.invited:
            room.invited.remove(user_id)
            room.joined.append(user_id)
        return room_id

    def private(self, user_id: str) -> list[Sent]:
        """The messages the bot sent this member in their DMs (any of them), in order.

        Unlike `dm`, it opens nothing: a member the bot never wrote to has none.
        """
        return [s for s in self.homeserver.messages() if self.dms.user_of(s.room_id) == user_id]

    async def enable(self, room_id: str, plugin_class: type[Plugin], enabled: bool = True) -> None:
        await self.runtime.settings.set_enabled(room_id, plugin_class, enabled)

    async def set_language(self, user_id: str, language: str) -> None:
        await self.runtime.languages.set_user(user_id, language)

    # -- members act ------------------------------------------------------------

    async def send(
        self, room_id: str, sender: str, body: str, *, reply_to: str | None = None,
        thread_root: str | None = None, mentions: Sequence[str] = (),
        msgtype: str = "m.text", edit_of: str | None = None, device: str | None = "DEVICE",
        encrypted: bool | None = None, settle: bool = True,
    ) -> Answers:
        """`sender` writes `body` in the room (a command or not); returns what the bot sent.

        With `settle=False` it returns once the event is handled, without waiting
        for queued sends to be delivered (e.g. while `homeserver.hold()` keeps them).
        """
        room = self._member_of(room_id, sender)
        event = Message(
            room_id=room_id, event_id=self.homeserver.new_event_id("m"), sender=sender,
            timestamp_ms=self._ms(), encrypted=room.encrypted if encrypted is None else encrypted,
            sender_device=device, body=body, msgtype=msgtype, mentions=frozenset(mentions),
            thread_root=thread_root, reply_to=reply_to, is_edit=edit_of is not None,
            replaces=edit_of)
        return await self.deliver(event, settle=settle)

    async def reply(self, room_id: str, sender: str, body: str, **options: Any) -> Sent:
        """Like `send`, for a command answered with exactly one message (anywhere)."""
        return (await self.send(room_id, sender, body, **options)).one()

    async def answer(self, room_id: str, sender: str, body: str, **options: Any) -> Sent:
        """Like `send`, for the one reply to a command that may also tell others something."""
        return (await self.send(room_id, sender, body, **options)).reply()

    async def media(self, room_id: str, sender: str, msgtype: str = "m.image",
                    body: str = "image.png") -> Answers:
        room = self._member_of(room_id, sender)
        return await self.deliver(Media(
            room_id=room_id, event_id=self.homeserver.new_event_id("m"), sender=sender,
            timestamp_ms=self._ms(), encrypted=room.encrypted, sender_device="DEVICE",
            msgtype=msgtype, body=body))

    async def react(self, room_id: str, sender: str, event_id: str, key: str) -> Answers:
        """`sender` reacts to an event (the bot's or a member's) with `key`."""
        room = self._member_of(room_id, sender)
        return await self.deliver(Reaction(
            room_id=room_id, event_id=self.homeserver.new_event_id("r"), sender=sender,
            timestamp_ms=self._ms(), encrypted=room.encrypted, sender_device="DEVICE",
            key=key, relates_to=event_id))

    async def redact(self, room_id: str, sender: str, event_id: str) -> Answers:
        """`sender` removes one of their events (a message, a reaction)."""
        room = self._member_of(room_id, sender)
        room.events = [event for event in room.events if event.event_id != event_id]
        return await self.deliver(Redaction(
            room_id=room_id, event_id=self.homeserver.new_event_id("x"), sender=sender,
            timestamp_ms=self._ms(), encrypted=room.encrypted, redacts=event_id))

    async def join(self, room_id: str, user_id: str, *, display_name: str | None = None
                   ) -> Answers:
        """`user_id` joins the room (from an invite or not)."""
        room = self.homeserver.room(room_id)
        if user_id in room.invited:
            room.invited.remove(user_id)
        if user_id not in room.joined:
            room.joined.append(user_id)
        return await self.deliver(MemberJoined(
            room_id=room_id, event_id=self.homeserver.new_event_id("j"), sender=user_id,
            timestamp_ms=self._ms(), encrypted=False, user_id=user_id,
            display_name=display_name))

    async def leave(self, room_id: str, user_id: str, *, membership: str = "leave") -> Answers:
        """`user_id` leaves (or, with membership="ban", is banned by someone else)."""
        room = self.homeserver.room(room_id)
        for members in (room.joined, room.invited):
            if user_id in members:
                members.remove(user_id)
        if membership == "ban":
            room.banned.add(user_id)
        return await self.deliver(MemberLeft(
            room_id=room_id, event_id=self.homeserver.new_event_id("l"), sender=user_id,
            timestamp_ms=self._ms(), encrypted=False, user_id=user_id, membership=membership))

    async def set_state(self, room_id: str, sender: str, event_type: str,
                        content: dict[str, Any], state_key: str = "") -> Answers:
        """A member with the power for it changes room state (policy rules, space children...)."""
        room = self._member_of(room_id, sender)
        if content:
            room.state[(event_type, state_key)] = dict(content)
        else:
            room.state.pop((event_type, state_key), None)
        self.runtime.network.note_state(room_id, {"type": event_type, "state_key": state_key,
                                                  "content": content, "sender": sender})
        return await self.deliver(StateChanged(
            room_id=room_id, event_id=self.homeserver.new_event_id("s"), sender=sender,
            timestamp_ms=self._ms(), encrypted=False, type=event_type, state_key=state_key,
            content=dict(content)))

    async def deliver(self, event: RoomEvent, *, settle: bool = True) -> Answers:
        """Hand any event to the dispatcher as the sync would; returns what the bot sent."""
        room = self.homeserver.rooms.get(event.room_id)
        if room is not None and isinstance(event, Message | Media | Reaction):
            room.events.append(event)
        before = len(self.homeserver.sent)
        try:
            await asyncio.wait_for(self.dispatcher.handle(event), SETTLE_TIMEOUT)
        except TimeoutError:
            raise AssertionError(
                f"the bot did not finish handling {event.event_id} in {SETTLE_TIMEOUT:.0f} s: "
                "is it waiting for the manual clock (a rate limit, a sleep)? "
                "Use submit() and advance()") from None
        if settle:
            await self.settle()
        return Answers(event.event_id, self.homeserver.sent[before:])

    def submit(self, event: RoomEvent) -> None:
        """Queue an event in its member's lane, as the sync does (see `drain`)."""
        room = self.homeserver.rooms.get(event.room_id)
        if room is not None and isinstance(event, Message | Media | Reaction):
            room.events.append(event)
        self.dispatcher.submit(event)

    def message(self, room_id: str, sender: str, body: str) -> Message:
        """A message event to `submit` (what `send` would deliver at once)."""
        room = self._member_of(room_id, sender)
        return Message(room_id=room_id, event_id=self.homeserver.new_event_id("m"),
                       sender=sender, timestamp_ms=self._ms(), encrypted=room.encrypted,
                       sender_device="DEVICE", body=body)

    # -- time -----------------------------------------------------------------

    async def advance(self, seconds: float) -> None:
        """Let `seconds` pass: sleepers wake, due jobs fire, queued sends are delivered."""
        await self.clock.advance(seconds)
        await self.settle()

    async def settle(self) -> None:
        """Fire the jobs due now and wait until the outbox has nothing due or in flight."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        while True:
            await self.scheduler.run_due()
            # Checked after the jobs ran: a delivery's result callback may schedule more.
            if await self._nothing_due():
                return
            if loop.time() > deadline:
                raise AssertionError(f"the outbox did not settle in {SETTLE_TIMEOUT:.0f} s")
            self.outbox.wake()
            await asyncio.sleep(0.002)

    async def drain(self) -> None:
        """Wait until every submitted event was handled, then settle."""
        await asyncio.wait_for(self.dispatcher.drain(), SETTLE_TIMEOUT)
        await self.settle()

    async def _outbox_quiet(self) -> bool:
        # _in_flight: picked up but not finished (its row still reads 'queued').
        if self.outbox._in_flight:
            return False
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM core_outbox WHERE state = 'queued' AND next_attempt_at <= ?",
            (self.clock.now(),))
        return row is None or int(row["n"]) == 0

    async def _nothing_due(self) -> bool:
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM core_jobs WHERE state = 'pending' AND due_at <= ?",
            (self.clock.now(),))
        jobs_due = row is not None and int(row["n"]) > 0
        return not jobs_due and (not self._outbox_running or await self._outbox_quiet())

    # -- helpers ----------------------------------------------------------------

    def _ms(self) -> int:
        return int(self.clock.now() * 1000)

    def _member_of(self, room_id: str, sender: str) -> Room:
        room = self.homeserver.room(room_id)
        if sender not in room.joined:
            # The homeserver refuses events from non-members; a test saying so is a mistake.
            state = "only invited to" if sender in room.invited else "not a member of"
            raise AssertionError(f"{sender} is {state} {room_id} (room(), dm() or join() first)")
        return room

    def _note_room_state(self, room: Room) -> None:
        for (kind, key), content in room.state.items():
            self.runtime.network.note_state(room.room_id, {"type": kind, "state_key": key,
                                                           "content": content})


async def wait_for(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Wait (real time, bounded) until `predicate()` is true, for work the test cannot await."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)

