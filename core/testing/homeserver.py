"""An in-memory homeserver double: rooms, members, power levels, and a record of what the bot did.

It implements what the bot's connection gives a plugin (RoomView, Sender,
RoomActions) the way Synapse answers: a repeated transaction id is dropped,
an action needing power the bot lacks in a room is refused with
M_FORBIDDEN, `members()` lists invited users too (as nio does). Everything
the bot sends is kept in `sent` (with its room, type, content and
transaction id); redactions, state writes and membership actions in `calls`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from core.actions import ActionError
from core.events import Message, RoomEvent

# Power levels a fresh private room has (Synapse's defaults for private_chat).
DEFAULT_POWER = {"ban": 50, "kick": 50, "redact": 50, "invite": 0, "state_default": 50,
                 "events_default": 0, "users_default": 0}
# Invisible marks the catalog puts around values and before right-to-left lines.
_MARKS = str.maketrans("", "", "\u2066\u2067\u2068\u2069\u200e\u200f")


@dataclass(frozen=True)
class Sent:
    """One event the bot sent: a message, reaction, edit or custom event."""

    room_id: str
    event_type: str
    content: dict[str, Any]
    txn_id: str
    event_id: str
    sender: str

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def plain(self) -> str:
        """The body without bidi isolates and direction marks (what a reader sees)."""
        return self.body.translate(_MARKS)

    @property
    def relates_to(self) -> dict[str, Any]:
        relation = self.content.get("m.relates_to")
        return relation if isinstance(relation, dict) else {}

    @property
    def in_reply_to(self) -> str | None:
        reply = self.relates_to.get("m.in_reply_to")
        return str(reply["event_id"]) if isinstance(reply, dict) and "event_id" in reply else None

    @property
    def mentions(self) -> list[str]:
        mentioned = self.content.get("m.mentions")
        users = mentioned.get("user_ids") if isinstance(mentioned, dict) else None
        return [str(user) for user in users] if isinstance(users, list) else []

    @property
    def is_message(self) -> bool:
        """A new message (not a reaction, an edit or another event type)."""
        return self.event_type == "m.room.message" and self.relates_to.get("rel_type") != "m.replace"

    @property
    def is_edit(self) -> bool:
        return self.event_type == "m.room.message" and self.relates_to.get("rel_type") == "m.replace"

    @property
    def is_reaction(self) -> bool:
        return self.event_type == "m.reaction"


@dataclass
class Room:
    """A room as the homeserver holds it."""

    room_id: str
    joined: list[str] = field(default_factory=list)
    invited: list[str] = field(default_factory=list)
    banned: set[str] = field(default_factory=set)
    levels: dict[str, int] = field(default_factory=dict)
    power: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_POWER))
    encrypted: bool = True
    name: str | None = None
    # The bot's display name in this room (members may address it by it).
    bot_display_name: str | None = None
    # Other state: (type, state_key) -> content.
    state: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # Events members sent here, newest last (get_event, recent_events).
    events: list[RoomEvent] = field(default_factory=list)
    direct: bool = False

    def level(self, user_id: str) -> int:
        return self.levels.get(user_id, int(self.power.get("users_default", 0)))

    def power_levels(self) -> dict[str, Any]:
        return {**self.power, "users": dict(self.levels)}


async def _round_trip() -> None:
    # A request to a homeserver lets other tasks run while it is in flight.
    await asyncio.sleep(0)


class Call(NamedTuple):
    """A room action other than a send: ("ban", room, user), ("redact", room, event id)...

    A plain tuple, so tests compare with `("ban", ROOM, USER) in hs.calls`; the
    reason given, if any, is in `MemoryHomeserver.reasons`.
    """

    action: str
    room_id: str
    target: str


class MemoryHomeserver:
    """The bot's view of a homeserver, in memory (RoomView, Sender and RoomActions).

    Rooms are made with `add_room`; the harness (core.testing.PluginHarness)
    moves members in and out and records their events here. Failure knobs:
    `forbid(room, *actions)` refuses actions as a homeserver does when the bot
    lacks power or was banned; `limit(room, times)` answers the next sends
    with M_LIMIT_EXCEEDED; `fail(room, action, times)` fails the next attempts
    as a busy homeserver does (not forbidden: to be retried);
    `refuse_invites(user)` makes DMs to that user fail; `hold(*rooms)` keeps
    sends to those rooms (all: none given) waiting at the homeserver until
    `release()`, as deliveries in flight; `restrict_profiles()` refuses every
    profile lookup, as a server that shows profiles only to room peers does.
    """

    def __init__(self, bot_user_id: str) -> None:
        self.bot_user_id = bot_user_id
        self.server_name = bot_user_id.split(":", 1)[1] if ":" in bot_user_id else "test"
        self.rooms: dict[str, Room] = {}
        self.sent: list[Sent] = []
        self.calls: list[Call] = []
        # The reason the bot gave for each call that takes one (kick, ban, redact).
        self.reasons: dict[Call, str | None] = {}
        self.created: list[str] = []
        # Public profiles by user (`displayname`...); a room member without one has an empty one.
        self.profiles: dict[str, dict[str, Any]] = {}
        self._by_txn: dict[str, str] = {}
        self._forbidden: dict[str, set[str]] = {}
        self._limited: dict[str, int] = {}
        self._failing: dict[tuple[str, str], int] = {}
        self._refused_invites: set[str] = set()
        self._held: set[str] | None = None  # rooms whose sends wait; an empty set: all
        self._released = asyncio.Event()
        self._profiles_restricted = False
        self._next_id = 0

    # -- building the world ---------------------------------------------------

    def add_room(self, room_id: str, members: Iterable[str] | Mapping[str, int] = (), *,
                 encrypted: bool = True, name: str | None = None, bot_level: int = 0,
                 invited: Sequence[str] = ()) -> Room:
        """A room the bot has joined, with `members` (a mapping gives their power levels)."""
        levels = dict(members) if isinstance(members, Mapping) else {}
        room = Room(room_id, joined=[self.bot_user_id], encrypted=encrypted, name=name)
        for user in members:
            if user not in room.joined:
                room.joined.append(user)
        room.invited = list(invited)
        room.levels = {user: level for user, level in levels.items() if level}
        if bot_level:
            room.levels[self.bot_user_id] = bot_level
        self.rooms[room_id] = room
        return room

    def room(self, room_id: str) -> Room:
        try:
            return self.rooms[room_id]
        except KeyError:
            raise KeyError(f"no room {room_id} in the test homeserver (add_room first)") from None

    def new_event_id(self, kind: str = "e") -> str:
        self._next_id += 1
        return f"${kind}{self._next_id}:{self.server_name}"

    def forbid(self, room_id: str, *actions: str) -> None:
        """Refuse these actions in the room with M_FORBIDDEN ("send", "redact", "ban"...; all: none)."""
        self._forbidden.setdefault(room_id, set()).update(actions or {"*"})

    def allow(self, room_id: str) -> None:
        self._forbidden.pop(room_id, None)

    def limit(self, room_id: str, times: int) -> None:
        """The next `times` sends to the room answer M_LIMIT_EXCEEDED (retry after 10 ms)."""
        self._limited[room_id] = times

    def limits_left(self, room_id: str) -> int:
        """How many of the sends `limit` refuses in the room are still to come (0: all met)."""
        return self._limited.get(room_id, 0)

    def fail(self, room_id: str, action: str, times: int = 1) -> None:
        """The next `times` attempts of `action` in the room fail as a busy homeserver's do.

        Not a refusal (M_UNKNOWN, not forbidden): what the bot should retry.
        Actions are named as in `calls` ("redact", "level", "ban", "kick",
        "state", "invite", "unban") or "send".
        """
        self._failing[(room_id, action)] = times

    def refuse_invites(self, user_id: str) -> None:
        """Inviting this user (so opening a DM with them) is refused."""
        self._refused_invites.add(user_id)

    def hold(self, *room_ids: str) -> None:
        """Sends to these rooms (to any room if none are named) wait until `release()`."""
        self._held = set(room_ids)
        self._released.clear()

    def release(self) -> None:
        self._held = None
        self._released.set()

    def restrict_profiles(self) -> None:
        """Every profile lookup is refused with M_FORBIDDEN."""
        self._profiles_restricted = True

    # -- reading what happened ------------------------------------------------

    def messages(self, room_id: str | None = None) -> list[Sent]:
        """New messages the bot sent (no edits or reactions), in order; in one room if given."""
        return [s for s in self.sent if s.is_message and room_id in (None, s.room_id)]

    def bodies(self, room_id: str | None = None) -> list[str]:
        return [s.plain for s in self.messages(room_id)]

    def reactions(self, room_id: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.is_reaction and room_id in (None, s.room_id)]

    def edits(self, room_id: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.is_edit and room_id in (None, s.room_id)]

    def done(self, action: str) -> list[Call]:
        return [call for call in self.calls if call.action == action]

    # -- RoomView -------------------------------------------------------------

    def is_encrypted(self, room_id: str) -> bool:
        room = self.rooms.get(room_id)
        return room is not None and room.encrypted

    def power_level(self, room_id: str, user_id: str) -> int:
        room = self.rooms.get(room_id)
        return room.level(user_id) if room is not None else 0

    def members(self, room_id: str) -> list[str]:
        room = self.rooms.get(room_id)
        return [*room.joined, *room.invited] if room is not None else []

    def display_name(self, room_id: str) -> str | None:
        room = self.rooms.get(room_id)
        return room.bot_display_name if room is not None else None

    # -- Sender ---------------------------------------------------------------

    async def send_message(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.send_event(room_id, "m.room.message", content, txn_id)

    # -- RoomActions ----------------------------------------------------------

    @property
    def user_id(self) -> str:
        return self.bot_user_id

    def joined_rooms(self) -> list[str]:
        return sorted(r.room_id for r in self.rooms.values() if self.bot_user_id in r.joined)

    def room_name(self, room_id: str) -> str | None:
        room = self.rooms.get(room_id)
        return room.name if room is not None else None

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        await _round_trip()
        if self._held is not None and (not self._held or room_id in self._held):
            await self._released.wait()
        if txn_id in self._by_txn:  # Synapse drops a repeated transaction
            return self._by_txn[txn_id]
        room = self._joined("send", room_id)
        self._check_forbidden("send", room_id)
        if self._limited.get(room_id):
            self._limited[room_id] -= 1
            raise ActionError("send", "M_LIMIT_EXCEEDED: too many requests", retry_after=0.01)
        needed = int(room.power.get("events_default", 0))
        if room.level(self.bot_user_id) < needed:
            raise ActionError("send", "M_FORBIDDEN: not allowed to post here", forbidden=True)
        event_id = self.new_event_id("bot")
        self._by_txn[txn_id] = event_id
        self.sent.append(Sent(room_id, event_type, content, txn_id, event_id, self.bot_user_id))
        return event_id

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self.send_event(room_id, "m.reaction", content, txn_id)

    async def edit(self, room_id: str, event_id: str, new_content: dict[str, Any],
                   txn_id: str) -> str:
        # The same shape as core/matrix/actions.py sends.
        content = dict(new_content)
        content["body"] = "* " + str(new_content.get("body", ""))
        content.pop("m.relates_to", None)
        content["m.new_content"] = {k: v for k, v in new_content.items() if k != "m.relates_to"}
        content["m.relates_to"] = {"rel_type": "m.replace", "event_id": event_id}
        return await self.send_event(room_id, "m.room.message", content, txn_id)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None,
                     txn_id: str | None = None) -> None:
        await _round_trip()
        room = self._joined("redact", room_id)
        own = any(s.event_id == event_id for s in self.sent)
        if own:  # no power needed for one's own events, but a refusal or a failure still applies
            self._check_forbidden("redact", room_id)
        else:
            self._needs(room, "redact", int(room.power.get("redact", 50)))
        self._record("redact", room_id, event_id, reason)

    async def get_state(self, room_id: str, event_type: str,
                        state_key: str = "") -> dict[str, Any] | None:
        room = self._joined("get_state", room_id)
        if event_type == "m.room.power_levels" and not state_key:
            return room.power_levels()
        if event_type == "m.room.name" and not state_key:
            return {"name": room.name} if room.name else None
        if event_type == "m.room.encryption" and not state_key:
            return {"algorithm": "m.megolm.v1.aes-sha2"} if room.encrypted else None
        found = room.state.get((event_type, state_key))
        return dict(found) if found is not None else None

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        room = self._joined("room_state", room_id)
        events: list[dict[str, Any]] = [
            {"type": "m.room.power_levels", "state_key": "", "content": room.power_levels()}]
        if room.encrypted:
            events.append({"type": "m.room.encryption", "state_key": "",
                           "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        if room.name:
            events.append({"type": "m.room.name", "state_key": "", "content": {"name": room.name}})
        for membership, users in (("join", room.joined), ("invite", room.invited),
                                  ("ban", sorted(room.banned))):
            events += [{"type": "m.room.member", "state_key": user,
                        "content": {"membership": membership}} for user in users]
        events += [{"type": kind, "state_key": key, "content": dict(content)}
                   for (kind, key), content in room.state.items()]
        return events

    async def send_state(self, room_id: str, event_type: str, content: dict[str, Any],
                         state_key: str = "") -> str:
        await _round_trip()
        room = self._joined("send_state", room_id)
        needed = room.power.get("events", {}).get(event_type, room.power.get("state_default", 50))
        self._needs(room, "state", int(needed))
        if event_type == "m.room.power_levels" and not state_key:
            users = content.get("users")
            room.levels = {str(u): int(v) for u, v in users.items()} if isinstance(users, dict) else {}
            room.power = {k: v for k, v in content.items() if k != "users"}
        elif event_type == "m.room.name" and not state_key:
            room.name = str(content.get("name") or "") or None
        else:
            room.state[(event_type, state_key)] = dict(content)
        self._record("state", room_id, event_type)
        return self.new_event_id("state")

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        await _round_trip()
        room = self._joined("set_power_level", room_id)
        self._needs(room, "level", int(room.power.get("state_default", 50)))
        if level is None:
            room.levels.pop(user_id, None)
        else:
            room.levels[user_id] = level
        self.calls.append(Call("level", room_id, f"{user_id}={level}"))

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        await _round_trip()
        room = self._joined("kick", room_id)
        self._needs(room, "kick", int(room.power.get("kick", 50)), over=user_id)
        self._remove(room, user_id)
        self._record("kick", room_id, user_id, reason)

    async def ban(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        await _round_trip()
        room = self._joined("ban", room_id)
        self._needs(room, "ban", int(room.power.get("ban", 50)), over=user_id)
        self._remove(room, user_id)
        room.banned.add(user_id)
        self._record("ban", room_id, user_id, reason)

    async def unban(self, room_id: str, user_id: str) -> None:
        await _round_trip()
        room = self._joined("unban", room_id)
        self._needs(room, "unban", int(room.power.get("ban", 50)))
        if user_id not in room.banned:
            raise ActionError("unban", "M_FORBIDDEN: the user is not banned", forbidden=True)
        room.banned.discard(user_id)
        self.calls.append(Call("unban", room_id, user_id))

    async def invite(self, room_id: str, user_id: str) -> None:
        await _round_trip()
        room = self._joined("invite", room_id)
        self._needs(room, "invite", int(room.power.get("invite", 0)))
        if user_id in self._refused_invites or user_id in room.banned:
            raise ActionError("invite", "M_FORBIDDEN: the invite was refused", forbidden=True)
        if user_id not in room.joined and user_id not in room.invited:
            room.invited.append(user_id)
        self.calls.append(Call("invite", room_id, user_id))

    async def join(self, room: str) -> str:
        known = self.rooms.get(room)
        if known is None:
            raise ActionError("join", "M_NOT_FOUND: no such room", not_found=True)
        if self.bot_user_id in known.banned:
            raise ActionError("join", "M_FORBIDDEN: the bot is banned", forbidden=True)
        if self.bot_user_id not in known.joined:
            known.joined.append(self.bot_user_id)
        if self.bot_user_id in known.invited:
            known.invited.remove(self.bot_user_id)
        self.calls.append(Call("join", room, ""))
        return room

    async def leave(self, room_id: str) -> None:
        room = self._joined("leave", room_id)
        self._remove(room, self.bot_user_id)
        self.calls.append(Call("leave", room_id, ""))

    async def create_room(
        self, *, name: str | None = None, topic: str | None = None,
        invite: Sequence[str] = (), direct: bool = False, encrypted: bool = True,
        preset: str = "private_chat",
    ) -> str:
        refused = [user for user in invite if user in self._refused_invites]
        if refused:
            raise ActionError("create_room", "M_FORBIDDEN: the invite was refused", forbidden=True)
        self._next_id += 1
        room_id = f"!{'dm' if direct else 'room'}{self._next_id}:{self.server_name}"
        room = self.add_room(room_id, encrypted=encrypted, name=name, bot_level=100)
        room.invited = list(invite)
        room.direct = direct
        self.created.append(room_id)
        return room_id

    async def recent_events(self, room_id: str, limit: int) -> list[RoomEvent]:
        room = self._joined("recent_events", room_id)
        return list(reversed(room.events))[:limit]

    async def get_event(self, room_id: str, event_id: str) -> RoomEvent | None:
        room = self.rooms.get(room_id)
        if room is None:
            return None
        found = next((event for event in room.events if event.event_id == event_id), None)
        if found is not None:
            return found
        mine = next((s for s in self.sent if s.event_id == event_id and s.room_id == room_id), None)
        if mine is None or not mine.is_message:
            return None
        return Message(room_id=room_id, event_id=event_id, sender=self.bot_user_id,
                       timestamp_ms=0, encrypted=room.encrypted, body=mine.body,
                       msgtype=str(mine.content.get("msgtype", "m.notice")))

    async def profile(self, user_id: str) -> dict[str, Any]:
        """Known users are the rooms' members (joined, invited or banned); others are not found."""
        if self._profiles_restricted:
            raise ActionError("profile", "M_FORBIDDEN: profile not visible", forbidden=True)
        profile = self.profiles.get(user_id)
        if profile is not None:
            return dict(profile)
        if any(user_id in (*r.joined, *r.invited, *r.banned) for r in self.rooms.values()):
            return {}
        raise ActionError("profile", "M_NOT_FOUND: profile was not found", not_found=True)

    # -- checks ---------------------------------------------------------------

    def _record(self, action: str, room_id: str, target: str, reason: str | None = None) -> None:
        call = Call(action, room_id, target)
        self.calls.append(call)
        self.reasons[call] = reason

    def _joined(self, action: str, room_id: str) -> Room:
        room = self.rooms.get(room_id)
        if room is None or self.bot_user_id not in room.joined:
            raise ActionError(action, "M_FORBIDDEN: the bot is not in this room", forbidden=True)
        return room

    def _check_forbidden(self, action: str, room_id: str) -> None:
        if self._failing.get((room_id, action)):
            self._failing[(room_id, action)] -= 1
            raise ActionError(action, "M_UNKNOWN: the homeserver is busy")
        refused = self._forbidden.get(room_id, set())
        if "*" in refused or action in refused:
            raise ActionError(action, f"M_FORBIDDEN: may not {action} here", forbidden=True)

    def _needs(self, room: Room, action: str, level: int, *, over: str | None = None) -> None:
        self._check_forbidden(action, room.room_id)
        mine = room.level(self.bot_user_id)
        if mine < level or (over is not None and room.level(over) >= mine):
            raise ActionError(action, f"M_FORBIDDEN: the bot's power ({mine}) is too low",
                              forbidden=True)

    @staticmethod
    def _remove(room: Room, user_id: str) -> None:
        if user_id in room.joined:
            room.joined.remove(user_id)
        if user_id in room.invited:
            room.invited.remove(user_id)
