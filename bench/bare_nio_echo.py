"""The floor: a bare matrix-nio E2EE echo client, as small as a correct one can be.

Replies to ``!echo <text>`` with an ``m.notice`` "echo: <text>" that is a reply
(``m.relates_to.m.in_reply_to``) to the command. The reply is sent from its own
task, never awaited inside the sync callback (awaiting it there blocks the sync
loop and a burst then skips events). Joins every invite. Sync filter asks for a
timeline of 100 events (Synapse's cap). No back-fill of limited timelines.

Run by bench/roundtrip.py:

    python bench/bare_nio_echo.py --homeserver URL --user-id @u:localhost \
        --device-id DEV --store-dir DIR      # access token in $BENCH_ACCESS_TOKEN

and then speaks the line protocol of bench/_control.py on stdin/stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import _control
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    MatrixRoom,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

SYNC_FILTER = {"room": {"timeline": {"limit": 100}}}


async def main(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _control.serve(loop, stop)

    store = Path(args.store_dir)
    store.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the loop is busy)
    client = AsyncClient(
        args.homeserver, args.user_id, device_id=args.device_id, store_path=str(store),
        config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    client.restore_login(args.user_id, args.device_id, os.environ["BENCH_ACCESS_TOKEN"])
    tasks: set[asyncio.Task[Any]] = set()
    failures = 0

    def spawn(coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def reply(room_id: str, event_id: str, text: str) -> None:
        nonlocal failures
        content = {
            "msgtype": "m.notice",
            "body": f"echo: {text}",
            "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
        }
        response = await client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        if not isinstance(response, RoomSendResponse):
            failures += 1
            print(f"reply to {event_id} failed: {response}", file=sys.stderr)

    async def on_message(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != client.user_id and event.body.startswith("!echo "):
            spawn(reply(room.room_id, event.event_id, event.body[len("!echo "):]))

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            spawn(client.join(room.room_id))

    ready = False

    async def on_sync(response: SyncResponse) -> None:
        nonlocal ready
        if not ready:
            ready = True
            _control.say("ready")

    client.add_event_callback(on_message, RoomMessageText)
    client.add_event_callback(on_invite, InviteMemberEvent)
    client.add_response_callback(on_sync, SyncResponse)
    if client.should_upload_keys:
        await client.keys_upload()

    sync = asyncio.create_task(
        client.sync_forever(timeout=30_000, sync_filter=SYNC_FILTER, full_state=True)
    )
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({sync, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if sync.done():  # sync_forever only ends on an error (e.g. in a callback)
            sync.result()
            return 1
        return 0
    finally:
        for task in (sync, stopper, *tasks):
            task.cancel()
        await asyncio.gather(sync, stopper, *tasks, return_exceptions=True)
        await client.close()
        if failures:
            print(f"{failures} replies failed", file=sys.stderr)


if __name__ == "__main__":
    _control.die_with_parent()
    _control.take_stdout()
    _control.count_requests()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--device-id", required=True)
    parser.add_argument("--store-dir", required=True)
    sys.exit(asyncio.run(main(parser.parse_args())))
