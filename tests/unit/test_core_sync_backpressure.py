"""Syncing pauses while too many events wait to be handled, and resumes as they are.

Held events (a read-only database) and a stuck handler would otherwise grow
memory without bound; their sync tokens are not stored, so pausing loses nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nio import SyncResponse

import core.matrix.sync as sync_module
from core.events import RoomEvent
from core.matrix.sync import BatchTracker
from tests.unit.test_core_matrix_wiring import ROOM, Harness, body, event, harness  # noqa: F401


def test_the_tracker_has_room_until_the_limit_and_again_as_events_are_handled() -> None:
    committed: list[str] = []
    tracker = BatchTracker(committed.append, max_pending=3)
    first = tracker.open("t1", 2)
    assert tracker.has_room and tracker.pending == 2
    second = tracker.open("t2", 1)
    assert not tracker.has_room
    first()
    assert tracker.has_room and committed == []
    first()
    assert committed == ["t1"]
    second()
    assert committed == ["t1", "t2"] and tracker.pending == 0


async def test_the_sync_loop_waits_for_room_then_goes_on(harness: Harness,  # noqa: F811
                                                         monkeypatch: Any) -> None:
    monkeypatch.setattr(sync_module, "MAX_PENDING_EVENTS", 3)
    loop = harness.connection.sync
    held: list[Any] = []
    syncs = 0

    async def one_message_per_sync(since: str | None, first: bool, _filter: Any) -> SyncResponse:
        nonlocal syncs
        syncs += 1
        await asyncio.sleep(0)
        response = SyncResponse.from_dict(body(timeline=[
            event("m.room.message", {"msgtype": "m.text", "body": "!x"},
                  event_id=f"$e{syncs}")]) | {"next_batch": f"n{syncs}"})
        assert isinstance(response, SyncResponse)
        return response

    def hold(event: RoomEvent, done: Any) -> None:
        held.append(done)

    monkeypatch.setattr(loop, "_sync_once", one_message_per_sync)
    monkeypatch.setattr(loop._undecryptable, "load", lambda: asyncio.sleep(0))
    monkeypatch.setattr(loop, "_stored_token", lambda: asyncio.sleep(0, "since"))
    running = asyncio.create_task(loop.run(hold))
    try:
        for _ in range(100):
            await asyncio.sleep(0.01)
        assert len(held) == 3 and syncs == 3  # paused at the limit, not syncing on
        for done in held[:2]:
            done()
        for _ in range(50):
            await asyncio.sleep(0.01)
        assert len(held) == 5 and syncs == 5  # two handled: two more synced, then paused again
    finally:
        harness.connection.session.stopping.set()
        for done in held:
            done()
        await asyncio.wait_for(running, 5)
