"""A scripted E2EE member: talks to the bot like a person would (demo script, tests, bench)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    MessageDirection,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
)
from nio.api import RoomPreset


@dataclass(frozen=True)
class Received:
    """A message the member received (decrypted)."""

    room_id: str
    event_id: str
    sender: str
    content: dict[str, Any]
    encrypted: bool

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def reply_to(self) -> str | None:
        relates = self.content.get("m.relates_to") or {}
        reply = relates.get("m.in_reply_to") or {}
        return reply.get("event_id")


class Member:
    """A logged-in member device with its own sync loop."""

    def __init__(self, homeserver: str, user_id: str, store_dir: Path) -> None:
        store_dir.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            homeserver, user_id, store_path=str(store_dir),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        self.received: list[Received] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._since: str | None = None

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def login_with_token(self, user_id: str, device_id: str, token: str) -> None:
        self.client.restore_login(user_id, device_id, token)
        await self.client.keys_upload()

    async def login(self, password: str) -> None:
        response = await self.client.login(password, device_name="member")
        if not hasattr(response, "access_token"):
            raise RuntimeError(f"member login failed: {response}")
        if self.client.should_upload_keys:
            await self.client.keys_upload()

    async def start(self) -> None:
        await self._sync(timeout=0)
        self._task = asyncio.create_task(self._loop(), name=f"member {self.user_id}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.close()

    async def _loop(self) -> None:
        while True:
            try:
                await self._sync(timeout=30_000)
            except (TimeoutError, OSError):
                await asyncio.sleep(0.5)

    async def _sync(self, timeout: int) -> None:  # noqa: ASYNC109
        client = self.client
        response = await client.sync(
            timeout=timeout, since=self._since,
            sync_filter={"room": {"timeline": {"limit": 100}}},
        )
        if not isinstance(response, SyncResponse):
            await asyncio.sleep(0.2)
            return
        since, self._since = self._since, response.next_batch
        fresh: list[Received] = []
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and since and info.timeline.prev_batch:
                events = await self._backfill(room_id, info.timeline.prev_batch, since) + events
            fresh.extend(self._messages(room_id, events))
        for invited in response.rooms.invite:
            await client.join(invited)
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        if fresh:
            async with self._changed:
                self.received.extend(fresh)
                self._changed.notify_all()

    async def _backfill(self, room_id: str, start: str, since: str) -> list[Any]:
        events: list[Any] = []
        token: str | None = start
        while token:
            response = await self.client.room_messages(
                room_id, start=token, end=since, direction=MessageDirection.back, limit=100
            )
            if not isinstance(response, RoomMessagesResponse) or not response.chunk:
                break
            events.extend(response.chunk)
            if response.end == token:
                break
            token = response.end
        events.reverse()
        return events

    @staticmethod
    def _messages(room_id: str, events: list[Any]) -> list[Received]:
        found = []
        for event in events:
            source = getattr(event, "source", None)
            if isinstance(source, dict) and source.get("type") == "m.room.message":
                found.append(Received(room_id, source["event_id"], source["sender"],
                                      source.get("content", {}),
                                      bool(getattr(event, "decrypted", False))))
        return found

    async def create_room(self, *, invite: list[str], encrypted: bool = True,
                          name: str = "Solidarity demo") -> str:
        initial_state = []
        if encrypted:
            initial_state.append({"type": "m.room.encryption", "state_key": "",
                                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        response = await self.client.room_create(
            name=name, invite=invite, initial_state=initial_state,
            preset=RoomPreset.private_chat,
        )
        if not isinstance(response, RoomCreateResponse):
            raise RuntimeError(f"room creation failed: {response}")
        return str(response.room_id)

    async def wait_member(self, room_id: str, user_id: str, timeout: float = 30) -> None:  # noqa: ASYNC109
        async def joined() -> None:
            while True:
                room = self.client.rooms.get(room_id)
                if room and user_id in room.users:
                    return
                await asyncio.sleep(0.05)

        await asyncio.wait_for(joined(), timeout)

    async def send(self, room_id: str, body: str, **extra: Any) -> str:
        content = {"msgtype": "m.text", "body": body, **extra}
        response = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        if not isinstance(response, RoomSendResponse):
            raise RuntimeError(f"send failed: {response}")
        return str(response.event_id)

    async def wait_for(self, predicate: Any, timeout: float = 30) -> Received:  # noqa: ASYNC109
        """The first received message matching `predicate` (already received ones count)."""
        async def find() -> Received:
            async with self._changed:
                while True:
                    for item in self.received:
                        if predicate(item):
                            return item
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def wait_reply(self, event_id: str, timeout: float = 30) -> Received:  # noqa: ASYNC109
        return await self.wait_for(lambda m: m.reply_to == event_id, timeout)

    async def ask(self, room_id: str, body: str, timeout: float = 30) -> Received:  # noqa: ASYNC109
        """Send a message and wait for the bot's reply to it."""
        return await self.wait_reply(await self.send(room_id, body), timeout)
