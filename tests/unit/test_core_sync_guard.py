"""No poison pill: events of any shape go through nio and the bot's sync handling.

One fake `m.room.create` whose `additional_creators` was a number raised in
the bot's creator tracking; the sync token was never stored and the same batch
stopped the bot after every restart. Here arbitrary JSON events go through the
whole path a sync body takes (core.matrix.wire, nio's parsing and room model,
MatrixConnection._handle_sync) and the batch must complete with its token
committed.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nio import SyncResponse

from core.clock import ManualClock
from core.config import Config
from core.events import RoomEvent
from core.matrix.client import GuardedClient, state_shaped
from core.matrix.connection import MatrixConnection
from core.matrix.invites import inviter, is_direct
from core.matrix.sync import BatchTracker
from core.matrix.wire import clean_sync
from core.storage import CORE_MIGRATIONS, Database

BOT = "@bot:localhost"
ROOM = "!room:localhost"
KEYS = ["membership", "users", "via", "additional_creators", "room_version", "msgtype", "body",
        "m.relates_to", "rel_type", "event_id", "key", "prev_content", "redacted_because",
        "algorithm", "displayname", "is_direct", "users_default", "events", "ciphertext",
        "session_id", "sender_key", "device_id", "m.new_content", "m.mentions", "user_ids"]
TYPES = ["m.room.create", "m.room.power_levels", "m.room.member", "m.room.message",
         "m.room.encryption", "m.room.name", "m.reaction", "m.room.redaction",
         "m.room.encrypted", "m.policy.rule.user", "m.space.child", "m.room.join_rules",
         "m.room.tombstone", "m.room.history_visibility", "m.sticker",
         "m.key.verification.start", "custom.type"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | st.sampled_from(
        ["12", "join", "leave", "invite", "m.text", "m.annotation", BOT, "@a:localhost"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)
EVENT = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES) | JSON},
    optional={
        "event_id": st.just("$event") | JSON,
        "sender": st.sampled_from(["@a:localhost", BOT]) | JSON,
        "origin_server_ts": st.just(1) | JSON,
        "content": JSON,
        "state_key": st.sampled_from(["", BOT, "@a:localhost"]) | JSON,
        "unsigned": JSON,
        "redacts": JSON,
    },
)
EVENTS = st.lists(EVENT | JSON, max_size=4)


def config(path: Path) -> Config:
    return Config.model_validate({
        "matrix": {"homeserver": "http://127.0.0.1:9", "user_id": BOT},
        "storage": {"data_dir": str(path)},
        "bot": {"invites": {"allowed_servers": ["localhost"]}},
    })


async def handle(body: dict[str, Any], path: Path) -> tuple[list[RoomEvent], list[str]]:
    """Run one sync body through everything the bot does with it; returns events and tokens."""
    db = Database(path / "bot.db")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    connection = MatrixConnection(config(path), db, ManualClock(1000.0), passphrase="x")
    client = GuardedClient("http://127.0.0.1:9", BOT)
    connection.client = client

    async def refuse(*args: Any, **kwargs: Any) -> None:
        return None

    client.join = refuse
    client.room_leave = refuse
    connection._start_maintenance = lambda: None  # type: ignore[method-assign]
    seen: list[RoomEvent] = []
    committed: list[str] = []

    def sink(event: RoomEvent, done: Any) -> None:
        seen.append(event)
        done()

    connection.sink = sink
    try:
        clean_sync(body)
        response = SyncResponse.from_dict(body)
        assert isinstance(response, SyncResponse)
        await client.receive_response(response)
        await connection._handle_sync(response, "since", BatchTracker(committed.append))
    finally:
        await connection.close()
        await db.close()
    return seen, committed


def sync_body(timeline: list[Any], state: list[Any], invite: list[Any]) -> dict[str, Any]:
    return {
        "next_batch": "next",
        "rooms": {
            "join": {ROOM: {"timeline": {"events": timeline, "limited": False,
                                         "prev_batch": "p"},
                            "state": {"events": state}}},
            "invite": {"!invited:localhost": {"invite_state": {"events": invite}}},
        },
    }


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(EVENTS, EVENTS, EVENTS)
def test_no_event_shape_stops_the_sync(timeline: list[Any], state: list[Any],
                                       invite: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        _, committed = asyncio.run(handle(sync_body(timeline, state, invite), Path(directory)))
    assert committed == ["next"]


def test_the_reported_poison_create_event() -> None:
    poison = [
        {"type": "m.room.create", "event_id": "$c1", "sender": "@a:localhost",
         "origin_server_ts": 1, "state_key": "",
         "content": {"room_version": "12", "additional_creators": 5}},
        {"type": "m.room.create", "event_id": "$c2", "sender": "@a:localhost",
         "origin_server_ts": 1, "state_key": "", "content": ["12"]},
        {"type": "m.room.message", "event_id": "$m", "sender": "@a:localhost",
         "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "!help"}},
    ]
    invite = [{"type": "m.room.member", "state_key": BOT, "sender": "@a:localhost",
               "content": 7}]
    with tempfile.TemporaryDirectory() as directory:
        seen, committed = asyncio.run(handle(sync_body(poison, [], invite), Path(directory)))
    assert committed == ["next"]
    # The well-formed message after the poison is still handled.
    assert "$m" in [event.event_id for event in seen]


def test_the_inviter_is_the_sender_of_the_invite_itself() -> None:
    # A hostile server writes the stripped state: it claims an organizer invited
    # the bot, and that the room is a DM; the invite event itself comes last.
    body = sync_body([], [], [
        {"type": "m.room.member", "state_key": BOT, "sender": "@organizer:localhost",
         "content": {"membership": "invite", "is_direct": True}},
        {"type": "m.room.member", "state_key": BOT, "sender": "@attacker:evil.example",
         "content": {"membership": "invite"}},
    ])
    response = SyncResponse.from_dict(body)
    assert isinstance(response, SyncResponse)
    state = response.rooms.invite["!invited:localhost"].invite_state
    assert inviter(state, BOT) == "@attacker:evil.example"
    assert is_direct(state, BOT) is False


def test_state_shaped_payloads() -> None:
    assert state_shaped({"type": "m.room.power_levels", "content": {}})
    assert state_shaped({"type": "m.room.message", "state_key": "", "content": {}})
    assert state_shaped({"type": "m.policy.rule.user", "content": {}})
    assert state_shaped({"type": "m.space.child", "content": {}})
    assert not state_shaped({"type": "m.room.message", "content": {"body": "hi"}})
    assert not state_shaped({"type": "m.reaction", "content": {}})
