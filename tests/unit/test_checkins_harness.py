"""A check-ins plugin on a real database, scheduler, outbox and dispatcher, with fake Matrix I/O."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bots.admin import AdminPlugin
from bots.checkins import CheckinsPlugin
from core.actions import ActionError
from core.builtin import CorePlugin
from core.clock import ManualClock
from core.config import Config, OutboxConfig
from core.dispatch import Dispatcher
from core.events import Message, Reaction
from core.languages import LanguagePreferences
from core.outbox import Outbox
from core.plugin import Plugin
from core.room_settings import RoomSettings
from core.runtime import Runtime
from core.scheduler import Scheduler
from core.storage import CORE_MIGRATIONS, Database

BOT = "@bot:test"
START = 1_700_000_000.0
_ids = itertools.count()


@dataclass
class Sent:
    room_id: str
    content: dict[str, Any]
    txn_id: str
    event_id: str

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))


@dataclass
class FakeMatrix:
    """Rooms, DMs and sends as the plugin sees them; every send is recorded."""

    encrypted: set[str] = field(default_factory=set)
    members_of: dict[str, list[str]] = field(default_factory=dict)
    levels: dict[tuple[str, str], int] = field(default_factory=dict)
    dm_of: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    txn_seen: set[str] = field(default_factory=set)
    failing_rooms: set[str] = field(default_factory=set)
    redacted: list[str] = field(default_factory=list)
    # Everything the bot did, in order: ("send", room, type, content) and
    # ("redact", room, event id), what a member's client would show.
    log: list[tuple[str, str, str, Any]] = field(default_factory=list)
    # Users invited to a room but not joined (RoomView.members() includes them).
    invited_of: dict[str, list[str]] = field(default_factory=dict)
    # Accounts the homeserver does not know (profile lookups answer M_NOT_FOUND).
    missing_users: set[str] = field(default_factory=set)
    # Profile lookups refused for every user (a server that shows profiles to room peers only).
    profiles_restricted: bool = False

    # RoomView
    def is_encrypted(self, room_id: str) -> bool:
        return room_id in self.encrypted

    def power_level(self, room_id: str, user_id: str) -> int:
        return self.levels.get((room_id, user_id), 0)

    def members(self, room_id: str) -> list[str]:
        return self.members_of.get(room_id, [])

    def display_name(self, room_id: str) -> str | None:
        return None

    # Sender (replies)
    async def send_message(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.send_event(room_id, "m.room.message", content, txn_id)

    # RoomActions (the parts used)
    @property
    def user_id(self) -> str:
        return BOT

    def joined_rooms(self) -> list[str]:
        return list(self.members_of)

    def room_name(self, room_id: str) -> str | None:
        return f"name-of-{room_id}"

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        if room_id in self.failing_rooms:
            raise ActionError("send", "M_FORBIDDEN", forbidden=True)
        event_id = f"$e{next(_ids)}"
        if txn_id in self.txn_seen:  # the homeserver drops a repeated transaction
            return event_id
        self.txn_seen.add(txn_id)
        self.sent.append(Sent(room_id, content, txn_id, event_id))
        self.log.append(("send", room_id, event_type, content))
        return event_id

    async def profile(self, user_id: str) -> dict[str, Any]:
        if user_id in self.missing_users:
            raise ActionError("profile", "M_NOT_FOUND: Profile was not found", not_found=True)
        if self.profiles_restricted:
            raise ActionError("profile", "M_FORBIDDEN: profile not visible", forbidden=True)
        return {"displayname": user_id.split(":")[0].lstrip("@")}

    async def redact(self, room_id: str, event_id: str, reason: str | None = None,
                     txn_id: str | None = None) -> None:
        self.redacted.append(event_id)
        self.log.append(("redact", room_id, "m.room.redaction", event_id))

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        """The room's m.room.member events: joined members, then invited ones."""
        return [
            *({"type": "m.room.member", "state_key": u, "content": {"membership": "join"}}
              for u in self.members_of.get(room_id, []) if u not in self.invited_of.get(room_id, [])),
            *({"type": "m.room.member", "state_key": u, "content": {"membership": "invite"}}
              for u in self.invited_of.get(room_id, [])),
        ]

    def invite_only(self, room_id: str, user_id: str) -> None:
        """`user_id` is invited: listed by members() (as nio does), not joined."""
        self.members_of.setdefault(room_id, []).append(user_id)
        self.invited_of.setdefault(room_id, []).append(user_id)

    # DirectMessages
    def is_dm(self, room_id: str) -> bool:
        return room_id in self.dm_of.values()

    def user_of(self, room_id: str) -> str | None:
        return next((u for u, r in self.dm_of.items() if r == room_id), None)

    async def room_for(self, user_id: str) -> str:
        if user_id not in self.dm_of:
            self.add_dm(user_id)
        return self.dm_of[user_id]

    def add_dm(self, user_id: str) -> str:
        room = f"!dm-{user_id}"
        self.dm_of[user_id] = room
        self.encrypted.add(room)
        self.members_of[room] = [BOT, user_id]
        return room

    def add_room(self, room_id: str, members: list[str], *, encrypted: bool = True) -> str:
        self.members_of[room_id] = [BOT, *members]
        if encrypted:
            self.encrypted.add(room_id)
        return room_id

    def to(self, room_id: str) -> list[Sent]:
        return [s for s in self.sent if s.room_id == room_id]


class Harness:
    """One bot "process": restart() reopens everything on the same database file."""

    def __init__(self, path: Path, plugin_config: dict[str, Any] | None = None,
                 matrix: FakeMatrix | None = None, clock: ManualClock | None = None, *,
                 config: dict[str, Any] | None = None, admin: bool = False) -> None:
        self.path = path
        self.plugin_config = plugin_config or {}
        # Further top-level config (`bot`, `network`), and whether `!config` (admin) runs too.
        self.extra_config = config or {}
        self.with_admin = admin
        self.matrix = matrix or FakeMatrix()
        self.clock = clock or ManualClock(START)
        # Ids of the events dispatched by say(), in order (to compare two runs).
        self.incoming: list[str] = []

    async def start(self) -> None:
        self.db = Database(self.path)
        await self.db.open()
        await self.db.migrate("core", CORE_MIGRATIONS)
        config = Config.model_validate({
            "matrix": {"homeserver": "http://localhost", "user_id": BOT},
            "plugins": {"checkins": self.plugin_config},
            **self.extra_config,
        })
        self.scheduler = Scheduler(self.db, self.clock)
        self.outbox = Outbox(self.db, self.clock, self.matrix, self.matrix,  # type: ignore[arg-type]
                             OutboxConfig(per_second=10_000, max_attempts=2,
                                          backoff_initial_seconds=1.0))
        self.runtime = Runtime(
            config=config, db=self.db, clock=self.clock, scheduler=self.scheduler,
            settings=RoomSettings(self.db, config.plugins),
            languages=LanguagePreferences(self.db, "en"),
            sender=self.matrix, rooms=self.matrix, actions=self.matrix,  # type: ignore[arg-type]
            dms=self.matrix, outbox=self.outbox, bot_user_id=BOT,  # type: ignore[arg-type]
        )
        await self.runtime.settings.load()
        await self.runtime.languages.load()
        await self.runtime.zones.load()
        self.dispatcher = Dispatcher(self.runtime)
        core = CorePlugin(self.runtime)
        core.dispatcher = self.dispatcher
        self.plugin = CheckinsPlugin(self.runtime)
        plugins: list[Plugin] = [core, self.plugin]
        if self.with_admin:
            plugins.append(AdminPlugin(self.runtime))
        for plugin in plugins:
            self.runtime.plugins[plugin.name] = plugin
            self.dispatcher.add_plugin(plugin)
        await self.runtime.network.load()
        # As the Bot does: queued messages sealed at rest too.
        self.outbox.sealer = self.runtime.sealer
        await self.plugin.setup()
        await self.plugin.ready()
        self.outbox.start()

    async def stop(self) -> None:
        # Outbox.stop() right after a wake() can lose its cancellation inside
        # asyncio.wait_for on Python 3.11 and hang (reported to core); letting the
        # outbox loop take the wake-up first avoids the race here.
        await asyncio.sleep(0.05)
        await self.outbox.stop()
        await self.scheduler.stop()
        await self.db.close()

    async def restart(self, advance: float = 0.0) -> None:
        await self.stop()
        self.clock = ManualClock(self.clock.now() + advance)
        await self.start()

    async def say(self, room_id: str, sender: str, body: str) -> list[Sent]:
        """Dispatch a message; returns the bot's replies to it."""
        event_id = f"$in{next(_ids)}"
        self.incoming.append(event_id)
        await self.dispatcher.handle(Message(
            room_id=room_id, event_id=event_id, sender=sender,
            timestamp_ms=int(self.clock.now() * 1000), encrypted=True, body=body))
        return [s for s in self.matrix.sent
                if (s.content.get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id")
                == event_id]

    async def reply(self, room_id: str, sender: str, body: str) -> Sent:
        replies = await self.say(room_id, sender, body)
        assert len(replies) == 1, [r.body for r in replies]
        return replies[0]

    async def react(self, room_id: str, sender: str, relates_to: str, key: str = "✅") -> None:
        await self.dispatcher.handle(Reaction(
            room_id=room_id, event_id=f"$r{next(_ids)}", sender=sender,
            timestamp_ms=0, encrypted=True, key=key, relates_to=relates_to))

    async def advance(self, seconds: float) -> None:
        """Move the clock and fire what is due, then deliver what was queued."""
        await self.clock.advance(seconds)
        await self.scheduler.run_due()
        await self.settle()

    async def settle(self) -> None:
        await self.scheduler.run_due()
        self.outbox.wake()
        await asyncio.wait_for(self.outbox.idle(), 10)


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
