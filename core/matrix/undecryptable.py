"""Undecryptable events: parked until their keys come, explained if they never do.

An encrypted event the bot cannot read yet is parked (in memory and in
core_undecrypted, so a restart keeps it) and its room key requested. When
keys arrive (or every tenth sync) the parked events are tried again and the
readable ones go on as if just received. A member whose message stays
unreadable is told why, once: the sender's client withheld the key (nio
drops m.room_key.withheld, so it is noted here), or it never came within
the grace period. A timer reports after the grace even if the room is
quiet and no sync comes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp
from nio import LocalProtocolError, MegolmEvent, RoomKeyEvent, SyncResponse, UnknownToDeviceEvent
from nio.events import ForwardedRoomKeyEvent
from nio.exceptions import EncryptionError

from core.clock import Clock
from core.matrix.session import Session
from core.storage import Database

log = logging.getLogger(__name__)


class UndecryptableListener(Protocol):
    async def explain_undecryptable(self, room_id: str, sender: str, code: str | None) -> None:
        """Told (room, sender, withheld code or None) when a member's message stays unreadable."""


class Undecryptable:
    """The parked events of the bot's device, their key requests and their reports."""

    def __init__(self, session: Session, db: Database, clock: Clock,
                 listener: UndecryptableListener) -> None:
        self._session = session
        self._db = db
        self._clock = clock
        self.listener = listener
        self.grace_seconds = 60.0
        self._parked: dict[str, tuple[str, MegolmEvent]] = {}
        # session id -> withheld code (m.unverified, m.blacklisted, ...): nio
        # drops m.room_key.withheld as an unknown to-device event.
        self._withheld: dict[str, str] = {}
        self._timers: set[asyncio.Task[None]] = set()
        self.parked_total = 0
        self.withheld_received = 0

    def park(self, room_id: str, event: MegolmEvent) -> None:
        if event.event_id in self._parked:
            return
        self.parked_total += 1
        self._parked[event.event_id] = (room_id, event)
        source = dict(event.source)
        self._session.spawn(self._db.execute(
            "INSERT OR IGNORE INTO core_undecrypted "
            "(event_id, room_id, session_id, source, first_seen) VALUES (?, ?, ?, ?, ?)",
            (event.event_id, room_id, event.session_id, json.dumps(source), self._clock.now()),
        ), "parking an undecryptable event")
        self._session.spawn(self._request_key(event), "requesting a room key")
        timer = asyncio.create_task(self._report_after_grace())
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)
        log.info("cannot decrypt %s yet; keys requested", event.event_id)

    async def _request_key(self, event: MegolmEvent) -> None:
        try:
            await self._session.nio.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested for this session
        except (TimeoutError, aiohttp.ClientError, OSError):
            log.warning("room key request for %s failed", event.event_id)

    def note_withheld(self, response: SyncResponse) -> None:
        for event in response.to_device_events:
            if not isinstance(event, UnknownToDeviceEvent) or event.type != "m.room_key.withheld":
                continue
            content = event.source.get("content") or {}
            session_id, code = content.get("session_id"), content.get("code")
            if isinstance(session_id, str) and isinstance(code, str):
                self._withheld[session_id] = code
                self.withheld_received += 1
                log.info("room key withheld from the bot (%s)", code)

    async def _report_after_grace(self) -> None:
        # A quiet room brings no sync to trigger the report, so wait for it here.
        await self._clock.sleep(self.grace_seconds + 0.5)
        if not self._session.stopping.is_set():
            await self.report()

    async def report(self, response: SyncResponse | None = None) -> None:
        """Tell members once why a message stays unreadable (key withheld, or never came)."""
        if not self._parked:
            return
        now = self._clock.now()
        rows = await self._db.fetchall(
            "SELECT event_id, room_id, first_seen FROM core_undecrypted WHERE notified = 0"
        )
        for row in rows:
            parked = self._parked.get(row["event_id"])
            if parked is None:
                continue
            code = self._withheld.get(parked[1].session_id)
            if code is None and now - row["first_seen"] < self.grace_seconds:
                continue
            await self._db.execute(
                "UPDATE core_undecrypted SET notified = 1 WHERE event_id = ?", (row["event_id"],)
            )
            await self.listener.explain_undecryptable(row["room_id"], parked[1].sender, code)

    async def load(self) -> None:
        """The events parked before a restart."""
        for row in await self._db.fetchall("SELECT room_id, source FROM core_undecrypted"):
            event = MegolmEvent.from_dict(json.loads(row["source"]))
            if isinstance(event, MegolmEvent):
                event.room_id = row["room_id"]
                self._parked[event.event_id] = (row["room_id"], event)

    async def decrypted(self, response: SyncResponse,
                        sync_count: int) -> AsyncIterator[tuple[str, str, Any]]:
        """(event id, room, decrypted event) of each parked event readable now; it is unparked first."""
        if not self._parked:
            return
        new_keys = any(
            isinstance(e, RoomKeyEvent | ForwardedRoomKeyEvent) for e in response.to_device_events
        )
        if not new_keys and sync_count % 10:
            return
        for event_id, (room_id, event) in list(self._parked.items()):
            try:
                readable = self._session.nio.decrypt_event(event)
            except EncryptionError:
                continue
            del self._parked[event_id]
            await self._db.execute("DELETE FROM core_undecrypted WHERE event_id = ?", (event_id,))
            yield event_id, room_id, readable

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
