"""The outbox: durable, paced, retried sends that happen exactly once.

A plugin enqueues a message under a key of its choosing; the row is in the
database before anything is sent, so a restart (even `kill -9`) loses
nothing. The transaction id derives from (owner, key): when the process died
after the homeserver accepted a send but before the row was marked sent, the
resend is dropped by the homeserver, so nothing arrives twice. Enqueueing a
key that exists is a no-op, which is how callers get exactly-once.

Delivery is concurrent up to `concurrency` and paced to `per_second`; a
refusal that will not change (the bot lacks power, the room is gone) fails at
once, anything else is retried with back-off up to `max_attempts`. Each final
outcome is reported to the owner's result callback.

A queued message can be withdrawn (an alert retracted while it is still going
out): what has not started is never sent; what is already on its way is sent,
and the owner undoes it from the result.

While the database cannot be written nothing new is sent: a send whose
outcome cannot be stored could not be told from one never made. A send that
was accepted just as the file stopped taking writes is remembered in memory
and stored once it can be, without sending it again (the homeserver forgets
transaction ids after a while, so a resend after a long outage could arrive twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from core.actions import ActionError, RoomActions
from core.clock import Clock
from core.config import OutboxConfig
from core.dms import DirectMessages
from core.logsafe import log_exception, new_error_id
from core.sealed import Sealer
from core.storage import Database, DatabaseUnwritable

log = logging.getLogger(__name__)

State = Literal["queued", "sent", "failed", "withdrawn"]

# Safety messages (duress alarms, escalations, safety-team steps) go before
# bulk sends (alert fan-outs, welcomes) and have slots of their own, so a
# flood of first DMs, each able to hold a slot for up to 30 s while its room
# is created, never delays them.
BULK = 0
SAFETY = 1
SAFETY_SLOTS = 4


@dataclass(frozen=True)
class OutboxItem:
    owner: str
    key: str
    room_id: str | None
    user_id: str | None
    event_type: str
    state: State
    attempts: int
    event_id: str | None
    # The homeserver's error code and message (never the content).
    error: str | None
    # The room it went to (for user_id items: the DM room), once known.
    delivered_to: str | None


ResultCallback = Callable[[OutboxItem], Awaitable[None]]
Statement = tuple[str, Sequence[Any]]


class Outbox:
    def __init__(
        self, db: Database, clock: Clock, actions: RoomActions, dms: DirectMessages,
        config: OutboxConfig,
    ) -> None:
        self.db = db
        self.clock = clock
        self.actions = actions
        self.dms = dms
        self.config = config
        self._callbacks: dict[str, ResultCallback] = {}
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[tuple[str, str]] = set()
        # (owner, key prefix) withdrawn in this process: a delivery that had already been
        # picked up when the rows were marked looks here right before it sends.
        self._withdrawn: set[tuple[str, str]] = set()
        self._workers: set[asyncio.Task[None]] = set()
        # Seals queued contents at rest (set by the Bot; None leaves them as JSON).
        self.sealer: Sealer | None = None
        self._slots = asyncio.Semaphore(config.concurrency)
        self._safety_slots = asyncio.Semaphore(SAFETY_SLOTS)
        self._next_send_at = 0.0
        self._changed = asyncio.Condition()
        # Sends the homeserver accepted whose 'sent' could not be stored yet:
        # (owner, key) -> (event id, room).
        self._unrecorded: dict[tuple[str, str], tuple[str, str]] = {}
        # Finished items whose report (True) or forgetting of the recipient
        # could not be stored while the database refused writes.
        self._unfinished: dict[tuple[str, str], bool] = {}
        self.sent = 0
        self.failed = 0

    def on_result(self, owner: str, callback: ResultCallback) -> None:
        self._callbacks[owner] = callback

    # -- enqueueing ----------------------------------------------------------

    def enqueue_statements(
        self, owner: str, key: str, content: dict[str, Any], *, room_id: str | None = None,
        user_id: str | None = None, event_type: str = "m.room.message",
        not_before: float | None = None, priority: int = BULK,
    ) -> list[Statement]:
        """The INSERT for one message, to run in the caller's own transaction.

        `priority=SAFETY` for messages that protect someone (see SAFETY above).
        """
        if (room_id is None) == (user_id is None):
            raise ValueError("give exactly one of room_id and user_id")
        now = self.clock.now()
        return [(
            "INSERT OR IGNORE INTO core_outbox (owner, key, room_id, user_id, event_type, "
            "content, txn_id, state, attempts, next_attempt_at, created_at, priority) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?)",
            (owner, key, room_id, user_id, event_type, self._seal(content),
             _txn_id(owner, key), max(now, not_before or now), now, priority),
        )]

    async def enqueue(
        self, owner: str, key: str, content: dict[str, Any], *, room_id: str | None = None,
        user_id: str | None = None, event_type: str = "m.room.message",
        not_before: float | None = None, priority: int = BULK,
    ) -> bool:
        """Queue one message; False when this key was queued before (nothing new is sent)."""
        [(sql, params)] = self.enqueue_statements(
            owner, key, content, room_id=room_id, user_id=user_id, event_type=event_type,
            not_before=not_before, priority=priority,
        )
        added = await self.db.execute(sql, params) > 0
        if added:
            self.wake()
        return added

    def _seal(self, content: dict[str, Any]) -> str:
        if self.sealer is None:
            return json.dumps(content)
        return self.sealer.seal_json(content, context="outbox.content")

    def _open(self, stored: str) -> dict[str, Any]:
        if self.sealer is None:
            value = json.loads(stored)
        else:
            value = self.sealer.open_json(stored, context="outbox.content")
        return value if isinstance(value, dict) else {}

    def wake(self) -> None:
        self._wakeup.set()

    async def withdraw(self, owner: str, key_prefix: str) -> int:
        """Never send the queued items whose key starts with `key_prefix`; how many were stopped.

        Each stopped item is reported to the owner's callback as 'withdrawn'. Items already
        handed to the homeserver are not stopped: they report 'sent' as usual.
        """
        self._withdrawn.add((owner, key_prefix))
        busy = [key for item_owner, key in self._in_flight if item_owner == owner]
        marks = ", ".join("?" for _ in busy)
        rows = await self.db.execute_returning(
            "UPDATE core_outbox SET state = 'withdrawn', content = '{}' "
            "WHERE owner = ? AND substr(key, 1, ?) = ? AND state = 'queued' "
            f"AND key NOT IN ({marks}) RETURNING key",
            (owner, len(key_prefix), key_prefix, *busy),
        )
        for row in rows:
            await self._report(owner, row["key"])
        return len(rows)

    def _is_withdrawn(self, owner: str, key: str) -> bool:
        return any(owner == o and key.startswith(prefix) for o, prefix in self._withdrawn)

    # -- reading -------------------------------------------------------------

    async def status(self, owner: str, key: str) -> OutboxItem | None:
        row = await self.db.fetchone(
            "SELECT * FROM core_outbox WHERE owner = ? AND key = ?", (owner, key)
        )
        return _item(row) if row else None

    async def items(self, owner: str, key_prefix: str = "") -> list[OutboxItem]:
        rows = await self.db.fetchall(
            "SELECT * FROM core_outbox WHERE owner = ? AND substr(key, 1, ?) = ? ORDER BY created_at",
            (owner, len(key_prefix), key_prefix),
        )
        return [_item(row) for row in rows]

    async def pending(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) AS n FROM core_outbox WHERE state = 'queued'")
        return int(row["n"]) if row else 0

    async def idle(self) -> None:
        """Wait until nothing is queued or in flight (tests and benchmarks; wrap in a timeout)."""
        while True:
            async with self._changed:
                if not self._in_flight and await self.pending() == 0:
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await self._changed.wait()

    # -- delivery ------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for worker in list(self._workers):
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self.db.wait_writable()
            try:
                wait = await self._dispatch_due()
            except DatabaseUnwritable:
                continue  # told once by the database; nothing is sent until it takes writes
            except Exception as exc:  # the database may be briefly unavailable; keep going
                log_exception(log, "outbox loop", exc, new_error_id())
                wait = 5.0
            self._wakeup.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the
            # cancellation that stop() sends when a wake-up lands at the same time.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wakeup.wait()

    async def _dispatch_due(self) -> float:
        """Start workers for due items; returns how long to sleep before looking again."""
        await self._finish_unfinished()
        now = self.clock.now()
        next_due = 1.0
        # Due safety items first, each pass; then bulk ones in order.
        rows = await self.db.fetchall(
            "SELECT * FROM core_outbox WHERE state = 'queued' AND next_attempt_at <= ? "
            "ORDER BY priority DESC, next_attempt_at, created_at LIMIT ?",
            (now, self.config.concurrency * 4 + len(self._in_flight)),
        )
        upcoming = await self.db.fetchone(
            "SELECT MIN(next_attempt_at) AS at FROM core_outbox "
            "WHERE state = 'queued' AND next_attempt_at > ?", (now,))
        if upcoming is not None and upcoming["at"] is not None:
            next_due = min(next_due, float(upcoming["at"]) - now)
        for row in rows:
            item_key = (row["owner"], row["key"])
            if item_key in self._in_flight:
                continue
            slots = self._safety_slots if row["priority"] >= SAFETY else self._slots
            if slots.locked():
                # Full for this kind: a finished delivery wakes the loop again;
                # later rows may still be safety ones with free slots.
                continue
            await slots.acquire()
            self._in_flight.add(item_key)
            worker = asyncio.create_task(self._deliver(row, slots))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        return max(next_due, 0.05)

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.config.per_second
        now = loop.time()
        slot = max(now, self._next_send_at)
        self._next_send_at = slot + interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _deliver(self, row: Any, slots: asyncio.Semaphore) -> None:
        owner, key = row["owner"], row["key"]
        try:
            await self._deliver_once(row)
        except asyncio.CancelledError:
            raise
        except DatabaseUnwritable:
            # Stays queued (a send already accepted waits in _unrecorded) and is
            # picked up once the database takes writes; the operator was told once.
            log.debug("an outbox item of %s waits for a writable database", owner)
        except Exception as exc:
            log_exception(log, f"outbox delivery {owner}", exc, new_error_id())
            with contextlib.suppress(DatabaseUnwritable):
                await self._failed_attempt(row, row["room_id"],
                                           ActionError("send", type(exc).__name__))
        finally:
            self._in_flight.discard((owner, key))
            slots.release()
            async with self._changed:
                self._changed.notify_all()
            self.wake()

    async def _deliver_once(self, row: Any) -> None:
        owner, key = row["owner"], row["key"]
        if row["priority"] < SAFETY:
            await self._pace()  # safety messages are few: they never queue behind bulk pacing
        accepted = self._unrecorded.get((owner, key))
        if accepted is None:
            room_id = row["room_id"]
            try:
                if room_id is None:
                    room_id = await self.dms.room_for(row["user_id"])
                if self._is_withdrawn(owner, key):
                    await self._mark_withdrawn(owner, key)
                    return
                event_id = await self.actions.send_event(
                    room_id, row["event_type"], self._open(row["content"]), row["txn_id"]
                )
            except ActionError as exc:
                await self._failed_attempt(row, room_id, exc)
                return
            accepted = self._unrecorded[(owner, key)] = (event_id, room_id)
        event_id, room_id = accepted
        await self.db.execute(
            "UPDATE core_outbox SET state = 'sent', event_id = ?, delivered_to = ?, "
            "attempts = attempts + 1, error = NULL, content = '{}' WHERE owner = ? AND key = ?",
            (event_id, room_id, owner, key),
        )
        del self._unrecorded[(owner, key)]
        self.sent += 1
        await self._report(owner, key)
        await self._forget_recipient(owner, key)

    async def _mark_withdrawn(self, owner: str, key: str) -> None:
        changed = await self.db.execute(
            "UPDATE core_outbox SET state = 'withdrawn', content = '{}' "
            "WHERE owner = ? AND key = ? AND state = 'queued'", (owner, key),
        )
        if changed:
            await self._report(owner, key)

    async def _failed_attempt(self, row: Any, room_id: str | None, error: ActionError) -> None:
        attempts = int(row["attempts"]) + 1
        final = error.forbidden or error.not_found or attempts >= self.config.max_attempts
        if final:
            # The content is dropped with the failure: nothing kept that won't be sent.
            await self.db.execute(
                "UPDATE core_outbox SET state = 'failed', attempts = ?, error = ?, "
                "delivered_to = ?, content = '{}' WHERE owner = ? AND key = ?",
                (attempts, error.reason, room_id, row["owner"], row["key"]),
            )
            self.failed += 1
            log.warning("outbox: %s item failed after %d attempts: %s", row["owner"], attempts,
                        error.reason)
            await self._report(row["owner"], row["key"])
            await self._forget_recipient(row["owner"], row["key"])
            return
        delay = error.retry_after or min(
            self.config.backoff_initial_seconds * 2 ** (attempts - 1),
            self.config.backoff_max_seconds,
        )
        await self.db.execute(
            "UPDATE core_outbox SET attempts = ?, error = ?, next_attempt_at = ? "
            "WHERE owner = ? AND key = ?",
            (attempts, error.reason, self.clock.now() + delay, row["owner"], row["key"]),
        )

    async def _forget_recipient(self, owner: str, key: str) -> None:
        # Once its owner was told, a finished item keeps no member id (who was
        # written to is what a seized disk must not show); the room stays.
        try:
            await self.db.execute(
                "UPDATE core_outbox SET user_id = NULL WHERE owner = ? AND key = ? "
                "AND state != 'queued'", (owner, key))
        except DatabaseUnwritable:
            self._unfinished.setdefault((owner, key), False)

    async def _finish_unfinished(self) -> None:
        """What the database refused while it could not be written: reports, then forgetting."""
        for (owner, key), report in list(self._unfinished.items()):
            del self._unfinished[(owner, key)]
            if report:
                await self._report(owner, key)
            await self._forget_recipient(owner, key)

    async def _report(self, owner: str, key: str) -> None:
        callback = self._callbacks.get(owner)
        item = await self.status(owner, key)
        if callback is None or item is None:
            return
        try:
            await callback(item)
        except DatabaseUnwritable:
            # The owner could not store what it learnt (an alert's delivery
            # count): it is told again once the database takes writes.
            self._unfinished[(owner, key)] = True
        except Exception as exc:
            log_exception(log, f"outbox result callback of {owner}", exc, new_error_id())

    async def prune(self, older_than: float) -> int:
        """Forget delivered and failed items created before `older_than`."""
        return await self.db.execute(
            "DELETE FROM core_outbox WHERE state != 'queued' AND created_at < ?", (older_than,)
        )


def _txn_id(owner: str, key: str) -> str:
    return "solout" + hashlib.sha256(f"{owner}\0{key}".encode()).hexdigest()[:32]


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        owner=row["owner"], key=row["key"], room_id=row["room_id"], user_id=row["user_id"],
        event_type=row["event_type"], state=row["state"], attempts=int(row["attempts"]),
        event_id=row["event_id"], error=row["error"], delivered_to=row["delivered_to"],
    )
