"""The sync loop: sync responses become framework events, and the token follows them.

Each sync's events go to a sink, which reports when each one is handled;
only then is the sync token stored, so a crash replays unhandled events (the
dispatcher drops the handled ones). No event, of any shape, may stop the
loop or keep the token from advancing ("no poison pill"): every step of
handling a sync is guarded on its own. A limited timeline is back-filled up
to BACKFILL_CAP events, never past the bot's own join. A first sync (first
start, or a restore) replays no history, but commands newer than
bot.sync.first_sync_window_seconds and than the bot's own last message in
the room are answered. The loop survives homeserver restarts and network
errors with a capped back-off.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import aiohttp
from nio import ErrorResponse, MegolmEvent, MessageDirection, RoomMessagesResponse, SyncResponse

from core.clock import Clock
from core.config import Config
from core.events import Message, RoomEvent, from_matrix
from core.logsafe import log_exception, new_error_id
from core.matrix.client import ForgedState
from core.matrix.invites import Invites
from core.matrix.keys import KeySharing
from core.matrix.rooms import RoomFacts
from core.matrix.session import ConnectionError_, Session, reason
from core.matrix.undecryptable import Undecryptable
from core.storage import Database

log = logging.getLogger(__name__)

EventSink = Callable[[RoomEvent, Callable[[], None]], None]
# The most history one limited room timeline is back-filled with; beyond it a
# gap is logged (never silently skipped).
BACKFILL_CAP = 5000
# Events received but not yet handled (waiting in lanes, or held while the
# database cannot be written) beyond which syncing pauses until some are
# handled: their tokens are not stored, so nothing is lost, and memory stays
# bounded however long the database stays read-only or a handler hangs.
MAX_PENDING_EVENTS = 10_000


class Verifier(Protocol):
    """Where verification events go (core.crypto.verification; raw dicts as received)."""

    def submit_to_device(self, event: dict[str, Any]) -> None: ...

    def submit_room_event(self, room_id: str, event: dict[str, Any]) -> None: ...


def _not_running(event: RoomEvent, done: Callable[[], None]) -> None:
    raise RuntimeError("events arrived before the sync loop was given a sink")


class BatchTracker:
    """Stores a sync token once every event of its batch (and of earlier batches) is handled."""

    def __init__(self, commit: Callable[[str], None], *, max_pending: int | None = None) -> None:
        self._commit = commit
        self._batches: deque[list[Any]] = deque()  # [token, remaining]
        self._max_pending = MAX_PENDING_EVENTS if max_pending is None else max_pending
        self.pending = 0  # events given out and not yet handled
        self._has_room = asyncio.Event()
        self._has_room.set()

    def open(self, token: str, events: int) -> Callable[[], None]:
        batch: list[Any] = [token, events]
        self._batches.append(batch)
        self._count(events)

        def done() -> None:
            batch[1] -= 1
            self._count(-1)
            self._flush()

        self._flush()
        return done

    @property
    def has_room(self) -> bool:
        return self._has_room.is_set()

    async def wait_for_room(self) -> None:
        """Return once fewer than the most events allowed are waiting to be handled."""
        await self._has_room.wait()

    def _count(self, change: int) -> None:
        self.pending += change
        if self.pending < self._max_pending:
            self._has_room.set()
        else:
            self._has_room.clear()

    def _flush(self) -> None:
        committed = None
        while self._batches and self._batches[0][1] <= 0:
            committed = self._batches.popleft()[0]
        if committed is not None:
            self._commit(committed)

    @property
    def idle(self) -> bool:
        return not self._batches


class SyncLoop:
    """Syncs the device and hands each response's parts to the parts of the connection."""

    def __init__(self, session: Session, config: Config, db: Database, clock: Clock, *,
                 rooms: RoomFacts, invites: Invites, keys: KeySharing,
                 undecryptable: Undecryptable, verifier: Verifier) -> None:
        self._session = session
        self._config = config
        self._db = db
        self._clock = clock
        self._rooms = rooms
        self._invites = invites
        self._keys = keys
        self._undecryptable = undecryptable
        self.verifier = verifier
        self.sink: EventSink = _not_running
        self.synced = asyncio.Event()
        self.sync_count = 0
        self.backfilled = 0

    @property
    def _user_id(self) -> str:
        return self._session.user_id

    async def run(self, sink: EventSink) -> None:
        """Sync until stopped, surviving homeserver restarts and network errors."""
        self.sink = sink
        await self._undecryptable.load()
        since = await self._stored_token()
        tracker = BatchTracker(self._commit_token)
        first = True
        sync_cfg = self._config.bot.sync
        delay = sync_cfg.backoff_initial_seconds
        sync_filter = {
            "room": {"timeline": {"limit": sync_cfg.timeline_limit}},
            "presence": {"types": []},
        }
        stopping = self._session.stopping
        while not stopping.is_set():
            if not tracker.has_room:
                log.warning("%d events wait to be handled; syncing pauses until fewer do",
                            tracker.pending)
                await _first_of(tracker.wait_for_room(), stopping.wait())
                continue
            try:
                response = await self._sync_once(since, first, sync_filter)
                if stopping.is_set():
                    break
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                response = None
                log.warning("sync failed (%s); retrying in %.1fs", type(exc).__name__, delay)
            if isinstance(response, SyncResponse):
                delay = sync_cfg.backoff_initial_seconds
                await self.handle_sync(response, since, tracker)
                self._keys.start_maintenance()
                since = response.next_batch
                first = False
                self.sync_count += 1
                self.synced.set()
                continue
            if isinstance(response, ErrorResponse):
                if response.status_code == "M_UNKNOWN_TOKEN":
                    raise ConnectionError_(
                        "the homeserver no longer accepts the bot's access token; "
                        f"delete {self._session.credentials_path} to log in again"
                    )
                log.warning("sync error %s; retrying in %.1fs", response.status_code, delay)
            await self._session.wait(delay)
            delay = min(delay * 2, sync_cfg.backoff_max_seconds)

    async def _sync_once(
        self, since: str | None, first: bool, sync_filter: dict[str, Any]
    ) -> SyncResponse | ErrorResponse:
        client = self._session.nio
        # The first sync of a process asks for full state: nio keeps room
        # state (members, encryption, power levels) only in memory.
        stopper = asyncio.ensure_future(self._session.stopping.wait())
        syncer = asyncio.ensure_future(
            client.sync(
                timeout=0 if first else self._config.bot.sync.timeout_ms,
                sync_filter=sync_filter,
                since=since,
                full_state=True if first else None,
            )
        )
        try:
            await asyncio.wait({stopper, syncer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not syncer.done():
            syncer.cancel()
            await asyncio.gather(syncer, return_exceptions=True)
            return ErrorResponse("stopping", "M_STOPPING")
        result: SyncResponse | ErrorResponse = syncer.result()
        return result

    async def handle_sync(
        self, response: SyncResponse, since: str | None, tracker: BatchTracker
    ) -> None:
        """One sync response through everything but key maintenance (started by the loop)."""
        # No event, of any shape, may stop the loop or keep the token from
        # advancing: each step is guarded on its own, and the batch is always
        # opened (so its token is stored once what was converted is handled).
        batch: list[RoomEvent] = []
        try:
            await self._invites.handle(response)
        except Exception as exc:
            log_exception(log, "handling invites", exc, new_error_id())
        for room_id, info in response.rooms.join.items():
            try:
                self._rooms.note_state(room_id, [*info.state, *info.timeline.events])
            except Exception as exc:
                log_exception(log, f"reading the state of {room_id}", exc, new_error_id())
        if since is not None:
            for room_id, info in response.rooms.join.items():
                try:
                    batch.extend(await self._room_events(room_id, info, since))
                except Exception as exc:
                    log_exception(log, f"reading the timeline of {room_id}", exc,
                                  new_error_id())
        else:
            # First start ever (or a restore): history is not replayed, but a
            # member who wrote to the bot while it was starting gets an answer.
            for room_id, info in response.rooms.join.items():
                try:
                    batch.extend(self._recent_commands(room_id, list(info.timeline.events)))
                except Exception as exc:
                    log_exception(log, f"recent commands of {room_id}", exc, new_error_id())
            log.info("first sync: %d rooms, %d recent commands, older history not replayed",
                     len(response.rooms.join), len(batch))
        done = tracker.open(response.next_batch, len(batch))
        for item in batch:
            self.sink(item, done)
        for step in (self._after_batch, self._retry_parked, self._report_unreadable):
            try:
                await step(response)
            except Exception as exc:
                log_exception(log, f"sync step {step.__name__}", exc, new_error_id())

    async def _room_events(self, room_id: str, info: Any, since: str) -> list[RoomEvent]:
        events = list(info.timeline.events)
        if not _contains_own_join(events, self._user_id) and info.timeline.limited:
            backfilled = await self._backfill(room_id, info.timeline.prev_batch, since)
            self._rooms.note_state(room_id, backfilled)
            events = backfilled + events
        events = _after_own_join(events, self._user_id)
        converted_events = []
        for event in events:
            try:
                converted = self._convert(event, room_id)
            except Exception as exc:  # one odd event must never hold up the sync
                log_exception(log, f"converting an event in {room_id}", exc, new_error_id())
                continue
            if converted is not None:
                converted_events.append(converted)
        return converted_events

    def _recent_commands(self, room_id: str, events: list[Any]) -> list[RoomEvent]:
        """Commands of a first sync newer than the window and than the bot's own last message.

        The bot's last message there marks what its previous device (if this
        is a restore) already answered, so nothing is answered twice. An
        encrypted one this new device cannot read is parked, and explained
        like any other unreadable message.
        """
        window_ms = self._config.bot.sync.first_sync_window_seconds * 1000
        cutoff = self._clock.now() * 1000 - window_ms
        for event in events:
            source = getattr(event, "source", None)
            if isinstance(source, dict) and source.get("sender") == self._user_id:
                cutoff = max(cutoff, float(source.get("origin_server_ts") or 0))
        prefix = self._config.bot.command_prefix
        recent: list[RoomEvent] = []
        for event in events:
            source = getattr(event, "source", None)
            if not isinstance(source, dict) or source.get("sender") == self._user_id:
                continue
            timestamp = source.get("origin_server_ts")
            if not isinstance(timestamp, int) or timestamp <= cutoff:
                continue
            converted = self._convert(event, room_id)  # parks what it cannot read
            if isinstance(converted, Message) and (
                    converted.body.lstrip().startswith(prefix)
                    or self._user_id in converted.mentions):
                recent.append(converted)
        return recent

    # -- after each batch -------------------------------------------------

    async def _after_batch(self, response: SyncResponse) -> None:
        self._undecryptable.note_withheld(response)
        self._keys.note_device_changes(response)
        self._route_verification(response)

    def _route_verification(self, response: SyncResponse) -> None:
        for event in response.to_device_events:
            source = getattr(event, "source", None)
            if isinstance(source, dict) and str(source.get("type", "")).startswith(
                "m.key.verification."
            ):
                self.verifier.submit_to_device(source)

    async def _retry_parked(self, response: SyncResponse) -> None:
        parked = self._undecryptable.decrypted(response, self.sync_count)
        async for event_id, room_id, event in parked:
            converted = self._convert(event, room_id)
            if converted is not None:
                log.info("decrypted %s after its keys arrived", event_id)
                self.sink(converted, lambda: None)

    async def _report_unreadable(self, response: SyncResponse) -> None:
        await self._undecryptable.report(response)

    # -- back-fill and conversion -----------------------------------------

    async def _backfill(self, room_id: str, prev_batch: str | None, since: str) -> list[Any]:
        """Fetch the events a limited timeline left out (between `since` and `prev_batch`)."""
        if not prev_batch:
            return []
        client = self._session.nio
        collected: list[Any] = []
        start: str | None = prev_batch
        while start and len(collected) < BACKFILL_CAP:
            response = await client.room_messages(
                room_id, start=start, end=since, direction=MessageDirection.back, limit=100
            )
            if not isinstance(response, RoomMessagesResponse):
                log.warning("back-fill of %s stopped: %s", room_id, reason(response))
                break
            collected.extend(response.chunk)
            if not response.chunk or not response.end or response.end == start:
                break
            if _contains_own_join(response.chunk, self._user_id):
                break
            start = response.end
        if len(collected) >= BACKFILL_CAP:
            log.warning("back-fill of %s capped at %d events", room_id, BACKFILL_CAP)
        collected.reverse()
        self.backfilled += len(collected)
        log.debug("back-filled %d events in %s", len(collected), room_id)
        return collected

    def _convert(self, event: Any, room_id: str) -> RoomEvent | None:
        if isinstance(event, ForgedState):
            return None
        if isinstance(event, MegolmEvent):
            self._undecryptable.park(room_id, event)
            return None
        source = getattr(event, "source", None)
        if not isinstance(source, dict) or "event_id" not in source:
            return None
        if _is_verification(source):
            self.verifier.submit_room_event(room_id, source)
            return None
        encrypted = bool(getattr(event, "decrypted", False))
        device = self._device_of(source.get("sender"), getattr(event, "sender_key", None))
        return from_matrix(source, room_id, encrypted=encrypted, sender_device=device)

    def _device_of(self, sender: object, sender_key: str | None) -> str | None:
        if not sender_key or not isinstance(sender, str):
            return None
        for device in self._session.nio.device_store.active_user_devices(sender):
            if device.curve25519 == sender_key:
                return str(device.id)
        return None

    # -- sync token -------------------------------------------------------

    async def _stored_token(self) -> str | None:
        row = await self._db.fetchone("SELECT value FROM core_state WHERE key = 'sync_token'")
        return str(row["value"]) if row else None

    def _commit_token(self, token: str) -> None:
        upsert = ("INSERT INTO core_state (key, value) VALUES (?, ?) "
                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        self._session.spawn(self._db.transaction([
            (upsert, ("sync_token", token)),
            # When the bot's sync was last handled: `solidarity status` shows its age.
            (upsert, ("last_sync_at", str(self._clock.now()))),
        ]), "saving the sync token")


async def _first_of(*waits: Coroutine[Any, Any, Any]) -> None:
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _is_verification(source: dict[str, Any]) -> bool:
    event_type = str(source.get("type", ""))
    if event_type.startswith("m.key.verification."):
        return True
    content = source.get("content")
    return (
        event_type == "m.room.message"
        and isinstance(content, dict)
        and content.get("msgtype") == "m.key.verification.request"
    )


def _own_join(event: Any, user_id: str) -> bool:
    source = getattr(event, "source", None)
    return (
        isinstance(source, dict)
        and source.get("type") == "m.room.member"
        and source.get("state_key") == user_id
        and isinstance(source.get("content"), dict)
        and source["content"].get("membership") == "join"
        and (source.get("unsigned") or {}).get("prev_content", {}).get("membership") != "join"
    )


def _contains_own_join(events: list[Any], user_id: str) -> bool:
    return any(_own_join(event, user_id) for event in events)


def _after_own_join(events: list[Any], user_id: str) -> list[Any]:
    """Drop what happened in a room before the bot joined it (the join itself is kept)."""
    for index in range(len(events) - 1, -1, -1):
        if _own_join(events[index], user_id):
            return events[index:]
    return events
