"""How MatrixConnection's parts tell the bot what they learn (core.matrix.connection).

One `connect_services` call hands over the listener (state, invites,
unreadable messages), the trust policy and the verification manager; before
it nobody listens. Sync bodies go through nio's parsing as in production,
over a client that never reaches a homeserver.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nio import EncryptionError, MegolmEvent, SyncResponse

from core.clock import ManualClock
from core.config import Config
from core.events import RoomEvent
from core.matrix.client import GuardedClient
from core.matrix.connection import MatrixConnection
from core.matrix.sync import BatchTracker
from core.storage import CORE_MIGRATIONS, Database

BOT = "@bot:localhost"
ROOM = "!room:localhost"
ALEX = "@alex:localhost"


class Listener:
    """Records what the connection tells the bot; refuses invites from `refused`."""

    def __init__(self, refused: str | None = None) -> None:
        self.refused = refused
        self.state: list[tuple[str, str]] = []
        self.direct: list[tuple[str, str]] = []
        self.unreadable: list[tuple[str, str, str | None]] = []
        self.to_device: list[dict[str, Any]] = []
        self.in_room: list[tuple[str, dict[str, Any]]] = []

    def note_state(self, room_id: str, source: dict[str, Any]) -> None:
        self.state.append((room_id, source["type"]))

    def refuses_invite(self, room_id: str, inviter: str) -> str | None:
        return "not this one" if inviter == self.refused else None

    async def joined_direct(self, room_id: str, member: str) -> None:
        self.direct.append((room_id, member))

    async def explain_undecryptable(self, room_id: str, sender: str, code: str | None) -> None:
        self.unreadable.append((room_id, sender, code))

    def submit_to_device(self, event: dict[str, Any]) -> None:
        self.to_device.append(event)

    def submit_room_event(self, room_id: str, event: dict[str, Any]) -> None:
        self.in_room.append((room_id, event))


class Harness:
    def __init__(self, connection: MatrixConnection, clock: ManualClock) -> None:
        self.connection = connection
        self.clock = clock
        self.seen: list[RoomEvent] = []
        self.committed: list[str] = []
        self.joined: list[str] = []
        self.left: list[str] = []
        self.tracker = BatchTracker(self.committed.append)
        connection.sink = self._sink

    def _sink(self, event: RoomEvent, done: Any) -> None:
        self.seen.append(event)
        done()

    async def sync(self, body: dict[str, Any]) -> None:
        response = SyncResponse.from_dict(body)
        assert isinstance(response, SyncResponse)
        await self.connection.nio.receive_response(response)
        await self.connection.sync.handle_sync(response, "since", self.tracker)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    db = Database(tmp_path / "bot.db")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    config = Config.model_validate({
        "matrix": {"homeserver": "http://127.0.0.1:9", "user_id": BOT},
        "storage": {"data_dir": str(tmp_path)},
        "bot": {"invites": {"allowed_servers": ["localhost"]}},
    })
    clock = ManualClock(1000.0)
    connection = MatrixConnection(config, db, clock, passphrase="x")
    client = GuardedClient("http://127.0.0.1:9", BOT)
    connection.client = client
    harness = Harness(connection, clock)

    async def join(room_id: str) -> None:
        harness.joined.append(room_id)

    async def leave(room_id: str) -> None:
        harness.left.append(room_id)

    client.join = join
    client.room_leave = leave
    try:
        yield harness
    finally:
        await connection.close()
        await db.close()


def event(type_: str, content: dict[str, Any], *, event_id: str = "$e", sender: str = ALEX,
          **extra: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": event_id, "sender": sender, "origin_server_ts": 1,
            "content": content, **extra}


def body(*, timeline: list[Any] = (), state: list[Any] = (),  # type: ignore[assignment]
         invites: dict[str, list[Any]] | None = None,
         to_device: list[Any] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "next_batch": "next",
        "rooms": {
            "join": {ROOM: {"timeline": {"events": list(timeline), "limited": False},
                            "state": {"events": list(state)}}},
            "invite": {room: {"invite_state": {"events": events}}
                       for room, events in (invites or {}).items()},
        },
        "to_device": {"events": list(to_device)},
    }


def invite(sender: str, *, direct: bool = False) -> list[Any]:
    content: dict[str, Any] = {"membership": "invite"}
    if direct:
        content["is_direct"] = True
    return [{"type": "m.room.member", "state_key": BOT, "sender": sender, "content": content}]


def encrypted(event_id: str, session_id: str = "session") -> dict[str, Any]:
    return event("m.room.encrypted", {
        "algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AAAA", "sender_key": "key",
        "session_id": session_id, "device_id": "DEVICE"}, event_id=event_id)


async def test_services_are_connected_once(harness: Harness) -> None:
    listener = Listener()
    harness.connection.connect_services(listener, trust=None, verification=listener)
    with pytest.raises(RuntimeError):
        harness.connection.connect_services(listener, trust=None, verification=listener)
    assert harness.connection.trust is None


async def test_unconnected_nobody_hears_and_no_plugin_refuses(harness: Harness) -> None:
    await harness.sync(body(
        state=[event("m.room.name", {"name": "x"}, state_key="")],
        invites={"!dm:localhost": invite(ALEX, direct=True)},
    ))
    assert harness.joined == ["!dm:localhost"]
    assert harness.committed == ["next"]


async def test_the_listener_hears_real_state_and_direct_invites(harness: Harness) -> None:
    listener = Listener(refused="@refused:localhost")
    harness.connection.connect_services(listener, trust=None, verification=listener)
    await harness.sync(body(
        state=[event("m.room.name", {"name": "x"}, event_id="$s", state_key="")],
        timeline=[event("m.room.message", {"msgtype": "m.text", "body": "hi"})],
        invites={
            "!dm:localhost": invite(ALEX, direct=True),
            "!group:localhost": invite("@sam:localhost"),
            "!refused:localhost": invite("@refused:localhost"),
            "!outside:localhost": invite("@eve:evil.example"),
        },
    ))
    assert listener.state == [(ROOM, "m.room.name")]
    assert sorted(harness.joined) == ["!dm:localhost", "!group:localhost"]
    assert sorted(harness.left) == ["!outside:localhost", "!refused:localhost"]
    assert listener.direct == [("!dm:localhost", ALEX)]
    assert [e.event_id for e in harness.seen] == ["$e"]


async def test_verification_events_go_to_the_verifier_not_the_sink(harness: Harness) -> None:
    listener = Listener()
    harness.connection.connect_services(listener, trust=None, verification=listener)
    request = event("m.room.message", {"msgtype": "m.key.verification.request",
                                       "body": "verify", "from_device": "D",
                                       "methods": ["m.sas.v1"], "to": BOT}, event_id="$v")
    to_device = {"type": "m.key.verification.start", "sender": ALEX,
                 "content": {"transaction_id": "t", "from_device": "D", "method": "m.sas.v1"}}
    await harness.sync(body(timeline=[request], to_device=[to_device]))
    assert [(room, e["event_id"]) for room, e in listener.in_room] == [(ROOM, "$v")]
    assert [e["type"] for e in listener.to_device] == ["m.key.verification.start"]
    assert harness.seen == []


async def test_unreadable_messages_are_explained_through_the_listener(harness: Harness) -> None:
    listener = Listener()
    connection = harness.connection
    connection.connect_services(listener, trust=None, verification=listener)
    requested: list[str] = []

    async def request_room_key(megolm: MegolmEvent) -> None:
        requested.append(megolm.event_id)

    def decrypt_event(megolm: MegolmEvent) -> Any:
        raise EncryptionError("no session")

    connection.nio.request_room_key = request_room_key
    connection.nio.decrypt_event = decrypt_event
    withheld = {"type": "m.room_key.withheld", "sender": ALEX,
                "content": {"code": "m.unverified", "session_id": "withheld",
                            "algorithm": "m.megolm.v1.aes-sha2", "room_id": ROOM,
                            "sender_key": "key"}}
    await harness.sync(body(timeline=[encrypted("$late"), encrypted("$no", "withheld")],
                            to_device=[withheld]))
    await connection.session.finish_background()
    assert connection.undecryptable == 2
    assert connection.withheld_received == 1
    assert sorted(requested) == ["$late", "$no"]
    # The withheld one with the next sync; the other once its grace has passed,
    # without any sync.
    await harness.sync(body())
    assert listener.unreadable == [(ROOM, ALEX, "m.unverified")]
    await harness.clock.advance(connection.undecryptable_grace_seconds + 1)
    for _ in range(200):  # the timers' reports read the database (another thread)
        if len(listener.unreadable) > 1:
            break
        await asyncio.sleep(0.01)
    # (Each parked event has its own timer, and concurrent reports may tell the
    # listener twice; the bot's explanation is once a day per member and room.)
    assert listener.unreadable[0] == (ROOM, ALEX, "m.unverified")
    assert set(listener.unreadable[1:]) == {(ROOM, ALEX, None)}
    assert harness.committed == ["next", "next"]
