"""Members verifying the bot from Element: routing, key look-ups, confirmation, timeouts.

Element verifies another user in a DM (in-room ``m.key.verification.*``
events that reference the request's event id) and a single device with
to-device messages (``transaction_id``); both run the same
:class:`~.sas.SasVerification`. This module feeds it the member's messages in
order (one worker), fetches the member's device and master keys from the
homeserver, confirms the short authentication string automatically or after
an operator said it matched (``solidarity verify confirm``, through the
``crypto_verifications`` table), cancels exchanges that go quiet, and once the
member's MAC proved their master key, signs it with the bot's user-signing
key, so the bot's own view of the member is "verified" too.

Nothing here knows nio: the connection hands over raw event dicts and sends
what :class:`VerificationTransport` is asked to.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from core.clock import Clock
from core.logsafe import log_exception, new_error_id
from core.storage import Database, Migration

from .api import CrossSigningSession, MatrixApi
from .canonical import verify_json
from .cross_signing import CrossSigningKeys, parse_identity, sign_other_master_key
from .errors import IdentityError
from .sas import CancelCode, Cancelled, Outgoing, Party, SasState, SasVerification

__all__ = [
    "MIGRATIONS",
    "ConfirmMode",
    "Flow",
    "VerificationManager",
    "VerificationTransport",
    "decide",
    "waiting",
]

log = logging.getLogger(__name__)

ConfirmMode = Literal["auto", "operator", "off"]

MIGRATIONS = [
    Migration(1, "verifications waiting for the operator", """
        CREATE TABLE crypto_verifications (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            flow_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            room_id TEXT,
            emoji TEXT NOT NULL,
            decimals TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'waiting',
            decision TEXT,
            created_at REAL NOT NULL,
            UNIQUE (user_id, flow_id)
        );
    """),
    Migration(2, "requests already answered, so a replay after a restart is not answered twice", """
        CREATE TABLE crypto_verification_requests (
            user_id TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            answered_at REAL NOT NULL,
            PRIMARY KEY (user_id, flow_id)
        );
    """),
]

# The spec: ignore requests older than 10 minutes or more than 5 in the future.
REQUEST_MAX_AGE_S = 600.0
REQUEST_MAX_FUTURE_S = 300.0
_TICK_S = 1.0


class VerificationTransport(Protocol):
    """How verification messages leave the bot (implemented by the connection)."""

    async def send_to_device(
        self, event_type: str, user_id: str, device_id: str, content: dict[str, Any]
    ) -> None: ...

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str: ...


@dataclass
class Flow:
    """One exchange and where it runs."""

    sas: SasVerification
    room_id: str | None
    sent: int = 0
    row_id: int | None = None  # crypto_verifications row while the operator decides
    signed: bool = False  # the member's master key was signed (once per exchange)
    # Started without a request (older clients): those never send "done".
    legacy: bool = False

    @property
    def user_id(self) -> str:
        return self.sas.them.user_id


SasShown = Callable[[Flow], Awaitable[None]]
Finished = Callable[[Flow], Awaitable[None]]


class VerificationManager:
    """Answers members' verification requests for this device.

    ``keys`` (the bot's private cross-signing keys) and ``master_key`` may be
    None when cross-signing is off: then the bot's MAC covers its device key
    only and nobody's master key gets signed.
    """

    def __init__(
        self,
        *,
        session: CrossSigningSession,
        device_ed25519: str,
        keys: CrossSigningKeys | None,
        transport: VerificationTransport,
        db: Database,
        clock: Clock,
        mode: ConfirmMode = "auto",
        timeout_seconds: float = 600.0,
    ) -> None:
        self.session = session
        self.us = Party(
            session.user_id, session.device_id, device_ed25519,
            keys.master_public if keys is not None else None,
        )
        self.keys = keys
        self.transport = transport
        self.db = db
        self.clock = clock
        self.mode = mode
        self.timeout_seconds = timeout_seconds
        self.flows: dict[tuple[str, str], Flow] = {}
        self.finished: list[Flow] = []
        self.on_sas: SasShown | None = None
        self.on_finished: Finished | None = None
        self._queue: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def setup(self) -> None:
        await self.db.migrate("crypto", MIGRATIONS)
        # Exchanges live in memory only: whatever waited for the operator
        # before a restart cannot be finished any more.
        await self.db.execute(
            "UPDATE crypto_verifications SET state = 'expired' WHERE state = 'waiting'"
        )
        # Older requests are refused as stale anyway (REQUEST_MAX_AGE_S).
        await self.db.execute(
            "DELETE FROM crypto_verification_requests WHERE answered_at < ?",
            (self.clock.now() - 2 * REQUEST_MAX_AGE_S,),
        )

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="verification")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    # -- input ------------------------------------------------------------

    def submit_to_device(self, event: dict[str, Any]) -> None:
        """A to-device ``m.key.verification.*`` event, as received."""
        self._queue.put_nowait((None, event))

    def submit_room_event(self, room_id: str, event: dict[str, Any]) -> None:
        """An in-room verification event (request message or ``m.key.verification.*``)."""
        self._queue.put_nowait((room_id, event))

    async def wait_changed(self) -> None:
        """Tests: wait until some exchange changed state."""
        self._changed.clear()
        await self._changed.wait()

    async def _work(self) -> None:
        while True:
            try:
                room_id, event = await asyncio.wait_for(self._queue.get(), _TICK_S)
            except TimeoutError:
                room_id, event = None, None
            try:
                if event is not None:
                    await self._handle(room_id, event)
                await self._expire()
                if self.mode == "operator":
                    await self._operator_decisions()
            except Exception as exc:  # one bad message must not end verification for all
                log_exception(log, "handling a verification message", exc, new_error_id())

    # -- routing ----------------------------------------------------------

    async def _handle(self, room_id: str | None, event: dict[str, Any]) -> None:
        sender = event.get("sender")
        content = event.get("content")
        event_type = event.get("type")
        if not isinstance(sender, str) or not isinstance(content, dict) or not isinstance(
            event_type, str
        ):
            return
        if sender == self.us.user_id:
            return  # our own in-room messages coming back, or another device of ours
        if room_id is None:
            await self._to_device(sender, event_type, content)
        else:
            await self._in_room(room_id, sender, event_type, content, event)

    async def _to_device(self, sender: str, event_type: str, content: dict[str, Any]) -> None:
        flow_id = content.get("transaction_id")
        if not isinstance(flow_id, str) or not flow_id:
            return
        flow = self.flows.get((sender, flow_id))
        if event_type == "m.key.verification.request":
            timestamp = content.get("timestamp")
            if not isinstance(timestamp, int) or not self._fresh(timestamp / 1000):
                log.info("ignored a stale or future-dated verification request from %s", sender)
                return
            if flow is None:
                await self._new_request(sender, content, flow_id, None)
            return
        if flow is None:
            if event_type == "m.key.verification.start":
                # Start without a request (older clients): as if request+ready happened.
                flow = await self._new_flow(sender, content.get("from_device"), flow_id, None,
                                            SasState.READY)
                if flow is None:
                    return
                flow.legacy = True
            else:
                if event_type not in ("m.key.verification.cancel", "m.key.verification.done"):
                    device = content.get("from_device")
                    if isinstance(device, str):
                        await self._send_raw(sender, device, None, flow_id, "m.key.verification.cancel", {
                            "transaction_id": flow_id,
                            "code": CancelCode.UNKNOWN_TRANSACTION,
                            "reason": "this bot knows no such verification",
                        })
                return
        await self._step(flow, event_type, content)

    async def _in_room(
        self, room_id: str, sender: str, event_type: str, content: dict[str, Any],
        event: dict[str, Any],
    ) -> None:
        if event_type == "m.room.message":
            if content.get("msgtype") != "m.key.verification.request":
                return
            if content.get("to") != self.us.user_id:
                return  # someone verifying someone else in a shared room
            event_id = event.get("event_id")
            timestamp = event.get("origin_server_ts")
            if not isinstance(event_id, str) or not isinstance(timestamp, int):
                return
            if not self._fresh(timestamp / 1000):
                log.info("ignored a stale in-room verification request from %s", sender)
                return
            if (sender, event_id) not in self.flows:
                await self._new_request(sender, content, event_id, room_id)
            return
        relates = content.get("m.relates_to")
        flow_id = relates.get("event_id") if isinstance(relates, dict) else None
        if not isinstance(flow_id, str):
            return
        flow = self.flows.get((sender, flow_id))
        if flow is None or flow.room_id != room_id:
            return  # another user's exchange, or one that ended: not ours to answer
        await self._step(flow, event_type, content)

    def _fresh(self, sent_at: float) -> bool:
        now = self.clock.now()
        return now - REQUEST_MAX_AGE_S <= sent_at <= now + REQUEST_MAX_FUTURE_S

    # -- steps ------------------------------------------------------------

    async def _new_request(
        self, sender: str, content: dict[str, Any], flow_id: str, room_id: str | None
    ) -> None:
        first_time = await self.db.execute(
            "INSERT OR IGNORE INTO crypto_verification_requests (user_id, flow_id, answered_at) "
            "VALUES (?, ?, ?)",
            (sender, flow_id, self.clock.now()),
        )
        if not first_time:
            # Replayed after a restart (history back-fill, to-device redelivery):
            # the exchange it started is gone with the old process.
            log.info("ignored a verification request from %s answered before", sender)
            return
        flow = await self._new_flow(sender, content.get("from_device"), flow_id, room_id,
                                    SasState.REQUESTED)
        if flow is None:
            return
        if self.mode == "off":
            await self._cancel(flow, CancelCode.USER, "this bot does not accept verification requests")
            return
        try:
            ready = flow.sas.ready(content.get("methods"), self.clock.now())
        except Cancelled as cancelled:
            await self._cancel(flow, cancelled.code, cancelled.reason)
            return
        await self._send(flow, ready)
        log.info("verification %s from %s: ready sent", _short(flow_id), sender)

    async def _new_flow(
        self, sender: str, device: object, flow_id: str, room_id: str | None, state: SasState
    ) -> Flow | None:
        if not isinstance(device, str) or not device:
            return None
        sas = SasVerification(
            flow_id=flow_id, us=self.us, them=Party(sender, device, ""), in_room=room_id is not None,
            now=self.clock.now(), state=state,
        )
        flow = Flow(sas, room_id)
        self.flows[(sender, flow_id)] = flow
        try:
            ed25519, master = await self._their_keys(sender, device)
        except IdentityError as exc:
            log.warning("verification from %s: %s", sender, exc)
            await self._cancel(flow, CancelCode.INVALID_MESSAGE, str(exc))
            return None
        sas.set_their_keys(ed25519, master)
        return flow

    async def _step(self, flow: Flow, event_type: str, content: dict[str, Any]) -> None:
        try:
            out = flow.sas.receive(event_type, content, self.clock.now())
        except Cancelled as cancelled:
            if cancelled.by_them:
                log.info("verification %s cancelled by %s (%s)", _short(flow.sas.flow_id),
                         flow.user_id, cancelled.code)
                await self._finish(flow)
            else:
                await self._cancel(flow, cancelled.code, cancelled.reason)
            return
        for message in out:
            await self._send(flow, message)
        if flow.sas.state is SasState.KEYS_EXCHANGED and event_type == "m.key.verification.key":
            await self._sas_shown(flow)
        await self._after(flow)

    async def _sas_shown(self, flow: Flow) -> None:
        log.info("verification %s with %s: SAS %s / %s", _short(flow.sas.flow_id), flow.user_id,
                 " ".join(name for _, name in flow.sas.emoji), flow.sas.decimals)
        if self.mode == "operator":
            row_id = flow.row_id = await self._record_waiting(flow)
            log.warning("verification with %s waits for the operator: `solidarity verify "
                        "confirm %d` if the member sees the same emoji, `reject %d` if not",
                        flow.user_id, row_id, row_id)
        if self.on_sas is not None:
            try:
                await self.on_sas(flow)
            except Exception as exc:
                log_exception(log, "showing a verification's emoji", exc, new_error_id())
        if self.mode == "auto":
            await self._confirm(flow)

    async def _confirm(self, flow: Flow) -> None:
        try:
            out = flow.sas.confirm(self.clock.now())
        except Cancelled as cancelled:
            await self._cancel(flow, cancelled.code, cancelled.reason)
            return
        for message in out:
            await self._send(flow, message)
        await self._after(flow)

    async def _after(self, flow: Flow) -> None:
        """Sign a freshly proven master key; forget finished exchanges."""
        verified = flow.sas.verified
        done = flow.sas.state in (SasState.MAC_CHECKED, SasState.DONE)
        if verified is not None and done and not flow.signed:
            flow.signed = True
            await self._sign(flow)
        if flow.legacy and flow.sas.state is SasState.MAC_CHECKED:
            flow.sas.finish_without_done()
        if flow.sas.state is SasState.DONE:
            log.info("verification %s with %s done", _short(flow.sas.flow_id), flow.user_id)
            await self._finish(flow)

    async def _sign(self, flow: Flow) -> None:
        verified = flow.sas.verified
        assert verified is not None
        if self.keys is None or verified.master_key is None:
            return
        try:
            async with MatrixApi(self.session) as api:
                await sign_other_master_key(
                    api, self.session, self.keys, verified.user_id,
                    expected_master_key=verified.master_key,
                )
        except IdentityError as exc:
            log.warning("verified %s but could not sign their master key: %s",
                        verified.user_id, exc)

    async def _cancel(self, flow: Flow, code: str, reason: str) -> None:
        log.info("verification %s with %s cancelled by the bot (%s: %s)",
                 _short(flow.sas.flow_id), flow.user_id, code, reason)
        await self._send(flow, flow.sas.cancel_content(code, reason))
        await self._finish(flow)

    async def _finish(self, flow: Flow) -> None:
        self.flows.pop((flow.user_id, flow.sas.flow_id), None)
        self.finished.append(flow)
        del self.finished[:-50]
        if flow.row_id is not None:
            state = "done" if flow.sas.state is SasState.DONE else "cancelled"
            await self.db.execute(
                "UPDATE crypto_verifications SET state = ? WHERE id = ?", (state, flow.row_id)
            )
        self._changed.set()
        if self.on_finished is not None:
            try:
                await self.on_finished(flow)
            except Exception as exc:
                log_exception(log, "reporting a finished verification", exc, new_error_id())

    async def _expire(self) -> None:
        now = self.clock.now()
        for flow in list(self.flows.values()):
            if now - flow.sas.last_activity > self.timeout_seconds:
                await self._cancel(flow, CancelCode.TIMEOUT, "the verification took too long")

    # -- operator confirmation ----------------------------------------------

    async def _record_waiting(self, flow: Flow) -> int:
        emoji = " ".join(f"{symbol} {name}" for symbol, name in flow.sas.emoji)
        await self.db.execute(
            "INSERT OR REPLACE INTO crypto_verifications "
            "(flow_id, user_id, device_id, room_id, emoji, decimals, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (flow.sas.flow_id, flow.user_id, flow.sas.them.device_id, flow.room_id, emoji,
             json.dumps(flow.sas.decimals), self.clock.now()),
        )
        row = await self.db.fetchone(
            "SELECT id FROM crypto_verifications WHERE user_id = ? AND flow_id = ?",
            (flow.user_id, flow.sas.flow_id),
        )
        assert row is not None
        return int(row["id"])

    async def _operator_decisions(self) -> None:
        waiting = {flow.row_id: flow for flow in self.flows.values() if flow.row_id is not None
                   and flow.sas.state is SasState.KEYS_EXCHANGED}
        if not waiting:
            return
        rows = await self.db.fetchall(
            "SELECT id, decision FROM crypto_verifications "
            "WHERE state = 'waiting' AND decision IS NOT NULL"
        )
        for row in rows:
            flow = waiting.get(int(row["id"]))
            if flow is None:
                continue
            await self.db.execute(
                "UPDATE crypto_verifications SET state = 'decided' WHERE id = ?", (row["id"],)
            )
            if row["decision"] == "confirm":
                log.info("operator confirmed verification %d", row["id"])
                await self._confirm(flow)
            else:
                log.info("operator rejected verification %d", row["id"])
                await self._send(flow, flow.sas.mismatch())
                await self._finish(flow)

    # -- keys and sending -----------------------------------------------------

    async def _their_keys(self, user_id: str, device_id: str) -> tuple[str, str | None]:
        """The device's Ed25519 key (self-signature checked) and the user's master key."""
        async with MatrixApi(self.session) as api:
            response = await api.query_keys([user_id])
        device = ((response.get("device_keys") or {}).get(user_id) or {}).get(device_id)
        if not isinstance(device, dict):
            raise IdentityError(f"device {device_id} of {user_id} is unknown to the homeserver")
        key_id = f"ed25519:{device_id}"
        ed25519 = (device.get("keys") or {}).get(key_id)
        if (
            not isinstance(ed25519, str)
            or device.get("user_id") != user_id
            or device.get("device_id") != device_id
            or not verify_json(device, user_id, key_id, ed25519)
        ):
            raise IdentityError(f"device {device_id} of {user_id} has malformed or unsigned keys")
        identity = parse_identity(response, user_id)
        return ed25519, identity.master if identity is not None else None

    async def _send(self, flow: Flow, message: Outgoing) -> None:
        flow.sent += 1
        await self._send_raw(flow.user_id, flow.sas.them.device_id, flow.room_id, flow.sas.flow_id,
                             message.event_type, message.content, flow.sent)
        self._changed.set()

    async def _send_raw(
        self, user_id: str, device_id: str, room_id: str | None, flow_id: str, event_type: str,
        content: dict[str, Any], sequence: int = 0,
    ) -> None:
        try:
            if room_id is None:
                await self.transport.send_to_device(event_type, user_id, device_id, content)
            else:
                txn = f"sol-verif-{flow_id}-{sequence}-{event_type.rsplit('.', 1)[-1]}"
                await self.transport.send_event(room_id, event_type, content, txn)
        except Exception as exc:
            # The exchange times out on both sides; nothing else to undo.
            log.warning("could not send %s for a verification: %s", event_type,
                        type(exc).__name__)

    # -- operator API (in-process) ---------------------------------------------

    async def decide(self, row_id: int, confirm: bool) -> bool:
        """Record the operator's decision for a waiting verification; False if none waits."""
        return await decide(self.db, row_id, confirm)


async def decide(db: Database, row_id: int, confirm: bool) -> bool:
    """Record the operator's decision (the running bot acts on it within a second).

    False if no verification with that number waits for a decision.
    """
    changed = await db.execute(
        "UPDATE crypto_verifications SET decision = ? WHERE id = ? AND state = 'waiting' "
        "AND decision IS NULL",
        ("confirm" if confirm else "reject", row_id),
    )
    return changed > 0


async def waiting(db: Database) -> list[dict[str, Any]]:
    """Verifications waiting for the operator: id, user, device, emoji, numbers."""
    rows = await db.fetchall(
        "SELECT id, user_id, device_id, emoji, decimals, decision, created_at "
        "FROM crypto_verifications WHERE state = 'waiting' ORDER BY id"
    )
    return [dict(row) for row in rows]


def _short(flow_id: str) -> str:
    return flow_id[:12]

