"""The connection to the homeserver: login/restore, the sync loop, encrypted sending.

This is the only module (with core/crypto) that knows nio. It turns sync
responses into framework events and hands them to a sink; the sink reports
when each event is handled, and only then is the sync token stored, so a
crash replays unhandled events (the dispatcher drops the handled ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClientConfig,
    ErrorResponse,
    JoinError,
    LocalProtocolError,
    LoginResponse,
    MegolmEvent,
    MessageDirection,
    RoomKeyEvent,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
    ToDeviceError,
    ToDeviceMessage,
    UnknownToDeviceEvent,
    WhoamiResponse,
)
from nio.events import ForwardedRoomKeyEvent, InviteMemberEvent
from nio.exceptions import EncryptionError, SendRetryError

from core.clock import Clock
from core.config import Config
from core.crypto import CrossSigningSession, IdentityError
from core.crypto.trust import TrustPolicy
from core.events import Message, RoomEvent, from_matrix
from core.logsafe import log_exception, new_error_id
from core.matrix.client import ForgedState, GuardedClient
from core.storage import Database

log = logging.getLogger(__name__)

EventSink = Callable[[RoomEvent, Callable[[], None]], None]
# Told (room, sender, withheld code or None) when a member's message stays
# unreadable; the bot explains it to them once.
UndecryptableSink = Callable[[str, str, str | None], Awaitable[None]]
# Verification events go to core.crypto.verification (raw dicts; room id for in-room ones).
VerificationSink = Callable[[dict[str, Any]], None]
RoomVerificationSink = Callable[[str, dict[str, Any]], None]
# The most history one limited room timeline is back-filled with; beyond it a
# gap is logged (never silently skipped).
BACKFILL_CAP = 5000
# Room versions where the creators hold unlimited power and are not listed in
# m.room.power_levels (MSC4289); nio 0.26 predates them.
CREATOR_POWER_VERSIONS = frozenset({"12", "org.matrix.hydra.11"})
CREATOR_LEVEL = 2**53 - 1


# How long a send waits for a homeserver that is briefly away before it fails.
SEND_PATIENCE_SECONDS = 120.0


class _Transient(Exception):
    """The homeserver is away for now (connection refused, 5xx): worth the same send again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConnectionError_(Exception):
    """The bot cannot connect or log in; the message says what to fix."""


class SendError(Exception):
    """A message could not be sent; `reason` is the homeserver's answer (no content)."""

    def __init__(self, room_id: str, reason: str) -> None:
        super().__init__(f"send to {room_id} failed: {reason}")
        self.room_id = room_id
        self.reason = reason


@dataclass
class Credentials:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str

    @classmethod
    def load(cls, path: Path) -> Credentials | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**data)

    def save(self, path: Path) -> None:
        """Write atomically with mode 0600: it holds the access token."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.__dict__, handle)
        os.replace(temporary, path)


class _BatchTracker:
    """Stores a sync token once every event of its batch (and of earlier batches) is handled."""

    def __init__(self, commit: Callable[[str], None]) -> None:
        self._commit = commit
        self._batches: deque[list[Any]] = deque()  # [token, remaining]

    def open(self, token: str, events: int) -> Callable[[], None]:
        batch: list[Any] = [token, events]
        self._batches.append(batch)

        def done() -> None:
            batch[1] -= 1
            self._flush()

        self._flush()
        return done

    def _flush(self) -> None:
        committed = None
        while self._batches and self._batches[0][1] <= 0:
            committed = self._batches.popleft()[0]
        if committed is not None:
            self._commit(committed)

    @property
    def idle(self) -> bool:
        return not self._batches


class MatrixConnection:
    """One logged-in E2EE device of the bot, and its sync loop."""

    def __init__(self, config: Config, db: Database, clock: Clock, *, passphrase: str) -> None:
        self.config = config
        self.db = db
        self.clock = clock
        self.data_dir = config.storage.data_dir
        self.credentials_path = self.data_dir / "credentials.json"
        self.store_dir = self.data_dir / "crypto"
        self._passphrase = passphrase
        self.client: GuardedClient | None = None
        self.sink: EventSink | None = None
        self._stopping = asyncio.Event()
        self._parked: dict[str, tuple[str, MegolmEvent]] = {}
        self._creators: dict[str, frozenset[str]] = {}
        # session id -> withheld code (m.unverified, m.blacklisted, ...): nio
        # drops m.room_key.withheld as an unknown to-device event.
        self._withheld: dict[str, str] = {}
        self.on_undecryptable: UndecryptableSink | None = None
        self.on_verification: VerificationSink | None = None
        self.on_room_verification: RoomVerificationSink | None = None
        # crypto.trust: who gets the bot's room keys (None: every device, nio's default).
        self.trust: TrustPolicy | None = None
        # Told (room, member) after joining a room a member opened as a DM with the bot.
        self.on_direct_invite: Callable[[str, str], Awaitable[None]] | None = None
        # Told (room, event source) of every real (unencrypted) state event of a joined room.
        self.on_state: Callable[[str, dict[str, Any]], None] | None = None
        # (room, inviter) -> a reason to decline an invite the config allows, or None.
        self.invite_veto: Callable[[str, str], str | None] | None = None
        self._timers: set[asyncio.Task[None]] = set()
        self.undecryptable_grace_seconds = 60.0
        self.withheld_received = 0
        self._share_locks: dict[str, asyncio.Lock] = {}
        self._claim_lock = asyncio.Lock()
        # Database writes and key requests started from sync handling; awaited at close.
        self._background: set[asyncio.Task[Any]] = set()
        self._maintenance: asyncio.Task[None] | None = None
        self.synced = asyncio.Event()
        self.sync_count = 0
        self.backfilled = 0
        self.undecryptable = 0

    @property
    def user_id(self) -> str:
        return self.config.matrix.user_id

    @property
    def nio(self) -> GuardedClient:
        if self.client is None:
            raise RuntimeError("not connected")
        return self.client

    # -- login ------------------------------------------------------------

    async def connect(self) -> None:
        """Restore the saved device, or log in once and save it (mode 0600)."""
        self.store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        cfg = self.config.matrix
        client_config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,  # our token is stored only once its events are handled
            pickle_key=self._passphrase,
            max_timeout_retry_wait_time=self.config.bot.sync.backoff_max_seconds,
            request_timeout=cfg_request_timeout(self.config),
        )
        saved = Credentials.load(self.credentials_path)
        if saved and saved.user_id != cfg.user_id:
            raise ConnectionError_(
                f"{self.credentials_path} belongs to {saved.user_id}, not {cfg.user_id}; "
                "use another storage.data_dir"
            )
        self.client = GuardedClient(
            cfg.homeserver, cfg.user_id, store_path=str(self.store_dir), config=client_config
        )
        if saved:
            self.client.restore_login(saved.user_id, saved.device_id, saved.access_token)
            self._skip_unchanged_room_saves()
            log.info("restored device %s", saved.device_id)
        else:
            await self._first_login()
        self._silence_nio_verification()
        if self.client.should_upload_keys:
            await self.client.keys_upload()

    def _silence_nio_verification(self) -> None:
        # nio answers to-device SAS messages itself, with a MAC encoding that
        # is wrong for hkdf-hmac-sha256.v2, and would send a second key event
        # beside ours; core.crypto.verification handles them instead.
        olm = self.nio.olm
        if olm is not None:
            olm.handle_key_verification = lambda event: None
    async def _first_login(self) -> None:
        cfg = self.config.matrix
        client = self.nio
        password = cfg.password.resolve()
        token = cfg.access_token.resolve()
        if password:
            response = await client.login(password, device_name=cfg.device_name)
            if not isinstance(response, LoginResponse):
                raise ConnectionError_(f"login as {cfg.user_id} failed: {_reason(response)}")
            device_id = response.device_id
            access_token = response.access_token
        elif token:
            client.access_token = token
            whoami = await client.whoami()
            if not isinstance(whoami, WhoamiResponse) or not whoami.device_id:
                raise ConnectionError_("the access token was refused or has no device")
            device_id, access_token = whoami.device_id, token
            client.restore_login(cfg.user_id, device_id, token)
        else:
            raise ConnectionError_("no password or access token to log in with")
        Credentials(cfg.homeserver, cfg.user_id, device_id, access_token).save(
            self.credentials_path
        )
        self._skip_unchanged_room_saves()
        log.info("logged in as new device %s", device_id)

    def _skip_unchanged_room_saves(self) -> None:
        # nio rewrites its set of encrypted rooms in SQLite, on the event
        # loop, after every sync: ~12% of the bot's CPU under load. Only
        # write when the set actually grew.
        store = self.nio.store
        if store is None:
            return
        original = store.save_encrypted_rooms
        saved: set[str] = set()

        def save_if_new(rooms: set[str]) -> None:
            if not rooms <= saved:
                original(rooms)
                saved.update(rooms)

        store.save_encrypted_rooms = save_if_new

    async def close(self) -> None:
        self._stopping.set()
        for timer in self._timers:
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
        if self._maintenance is not None:
            await asyncio.gather(self._maintenance, return_exceptions=True)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self.client is not None:
            await self.client.close()

    def stop(self) -> None:
        self._stopping.set()

    def cross_signing_session(self) -> CrossSigningSession:
        """What core.crypto needs to publish and use the bot's cross-signed identity."""
        client = self.nio
        assert client.olm is not None
        return CrossSigningSession(
            homeserver=self.config.matrix.homeserver,
            user_id=self.user_id,
            device_id=str(client.device_id),
            access_token=str(client.access_token),
            password=self.config.matrix.password.resolve(),
            device_ed25519=client.olm.account.identity_keys["ed25519"],
        )

    # -- room facts (RoomView) -------------------------------------------

    def is_encrypted(self, room_id: str) -> bool:
        room = self.nio.rooms.get(room_id)
        return bool(room and room.encrypted)

    def power_level(self, room_id: str, user_id: str) -> int:
        if user_id in self._creators.get(room_id, ()):
            return CREATOR_LEVEL
        room = self.nio.rooms.get(room_id)
        if room is None:
            return 0
        return int(room.power_levels.get_user_level(user_id))

    def _note_state(self, room_id: str, events: list[Any]) -> None:
        """Learn from real state events: the room's creators, and what on_state listens for.

        Decrypted events never count (core.matrix.client already replaced any
        that claimed to be state); neither does anything without a state_key.
        """
        for event in events:
            source = getattr(event, "source", None)
            if (getattr(event, "decrypted", False) or isinstance(event, ForgedState)
                    or not isinstance(source, dict)
                    or not isinstance(source.get("state_key"), str)):
                continue
            if source.get("type") == "m.room.create":
                self._note_creators(room_id, source)
            if self.on_state is not None:
                self.on_state(room_id, source)

    def _note_creators(self, room_id: str, source: dict[str, Any]) -> None:
        content = source.get("content")
        sender = source.get("sender")
        if not isinstance(content, dict) or not isinstance(sender, str):
            return
        if str(content.get("room_version")) in CREATOR_POWER_VERSIONS:
            extra = content.get("additional_creators")
            extra = extra if isinstance(extra, list) else []
            self._creators[room_id] = frozenset(
                [sender] + [u for u in extra if isinstance(u, str)]
            )

    def display_name(self, room_id: str) -> str | None:
        """The bot's display name in a room (Element writes it into mention bodies)."""
        room = self.nio.rooms.get(room_id)
        user = room.users.get(self.user_id) if room else None
        name = getattr(user, "display_name", None) if user else None
        return name if isinstance(name, str) and name else None

    def members(self, room_id: str) -> list[str]:
        room = self.nio.rooms.get(room_id)
        return sorted(room.users) if room else []

    # -- sending ----------------------------------------------------------

    async def send_message(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.send_event(room_id, "m.room.message", content, txn_id)

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        """Encrypt (in encrypted rooms) and send; the txn id makes retries idempotent.

        A homeserver that is briefly away (restarting, a 5xx, a dropped
        connection) is waited for, up to SEND_PATIENCE_SECONDS, with the same
        transaction id, so a reply in flight when Synapse restarts is neither
        lost nor sent twice. A refusal (forbidden, unknown room) fails at once.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEND_PATIENCE_SECONDS
        delay = 0.5
        while True:
            try:
                return await self._send_once(room_id, event_type, content, txn_id)
            except _Transient as exc:
                if self._stopping.is_set() or loop.time() + delay > deadline:
                    raise SendError(room_id, exc.reason) from None
                log.info("send to %s waits for the homeserver (%s)", room_id, exc.reason)
                await self._wait(delay)
                delay = min(delay * 2, 10.0)

    async def _send_once(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        client = self.nio
        room = client.rooms.get(room_id)
        if room is None:
            raise SendError(room_id, "the bot is not in this room")
        try:
            if room.encrypted:
                await self._prepare_encryption(room_id)
            response = await client.room_send(
                room_id, event_type, content, tx_id=txn_id, ignore_unverified_devices=True
            )
        except (SendRetryError, LocalProtocolError, EncryptionError) as exc:
            raise SendError(room_id, type(exc).__name__) from exc
        except (OSError, aiohttp.ClientError, TimeoutError) as exc:
            raise _Transient(type(exc).__name__) from exc
        if not isinstance(response, RoomSendResponse):
            transport = getattr(response, "transport_response", None)
            status = getattr(transport, "status", None)
            code = getattr(response, "status_code", None)
            if (isinstance(status, int) and status >= 500) or code in (None, "M_UNKNOWN"):
                raise _Transient(_reason(response))
            raise SendError(room_id, _reason(response))
        return str(response.event_id)

    async def send_to_device(
        self, event_type: str, user_id: str, device_id: str, content: dict[str, Any]
    ) -> None:
        """One unencrypted to-device message (verification messages travel that way)."""
        response = await self.nio.to_device(ToDeviceMessage(event_type, user_id, device_id, content))
        if isinstance(response, ToDeviceError):
            raise SendError(user_id, _reason(response))

    async def _prepare_encryption(self, room_id: str) -> None:
        # Concurrent replies to one room must not each start sharing a new
        # Megolm session; one task shares it, the others wait for it.
        client = self.nio
        lock = self._share_locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            room = client.rooms[room_id]
            if not room.members_synced:
                await client.joined_members(room_id)
            if client.should_query_keys:
                await client.keys_query()
            if self.trust is not None:
                await self._apply_trust(room_id)
            if client.olm is not None and client.olm.should_share_group_session(room_id):
                await self._claim_missing_sessions(room_id)
                await client.share_group_session(room_id, ignore_unverified_devices=True)
                if self.trust is not None:
                    await self._send_withheld(room_id)

    async def _claim_missing_sessions(self, room_id: str) -> None:
        # A fan-out to 50 rooms shares 50 Megolm sessions at once, mostly with
        # the same members' devices: claimed room by room in parallel, each
        # device's one-time keys were claimed up to 50 times (and exhausted).
        # One claim at a time, for what is still missing, claims each once.
        client = self.nio
        async with self._claim_lock:
            missing = client.get_missing_sessions(room_id)
            if missing:
                await client.keys_claim(missing)

    async def _send_withheld(self, room_id: str) -> None:
        # Tell each excluded device why it gets no key (m.room_key.withheld,
        # m.unverified), so its client can say so instead of a bare "unable
        # to decrypt". Best effort: the message itself is already safe.
        client = self.nio
        assert client.olm is not None
        session = client.olm.outbound_group_sessions.get(room_id)
        if session is None:
            return
        content = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "room_id": room_id,
            "session_id": session.id,
            "sender_key": client.olm.account.identity_keys["curve25519"],
            "code": "m.unverified",
            "reason": "this bot only shares keys with sessions verified by their owner",
        }
        for user_id in list(client.rooms[room_id].users):
            for device in client.device_store.active_user_devices(user_id):
                if device.blacklisted:
                    try:
                        response = await client.to_device(ToDeviceMessage(
                            "m.room_key.withheld", user_id, device.id, dict(content)
                        ))
                    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                        log.warning("could not tell a device its key is withheld: %s",
                                    type(exc).__name__)
                        return
                    if isinstance(response, ToDeviceError):
                        log.warning("could not tell a device its key is withheld: %s",
                                    _reason(response))

    async def _apply_trust(self, room_id: str) -> None:
        # nio shares room keys with every device not blacklisted; the trust
        # policy decides the blacklist. A device whose trust changes makes nio
        # drop the room's outbound session, so the next send shares a new one
        # with exactly the trusted devices.
        assert self.trust is not None
        client = self.nio
        users = list(client.rooms[room_id].users)
        try:
            await self.trust.refresh(users)
        except IdentityError as exc:
            # Sharing on a guess could hand keys to a device injected by whoever
            # broke the query; the send fails and its caller retries.
            raise SendError(room_id, f"members' keys could not be checked: {exc}") from None
        for user_id in users:
            for device in client.device_store.active_user_devices(user_id):
                if user_id == self.user_id and device.id == client.device_id:
                    continue
                trusted = self.trust.may_receive_keys(user_id, device.id, device.ed25519)
                if trusted and device.blacklisted:
                    client.unblacklist_device(device)
                elif not trusted and not device.blacklisted:
                    client.blacklist_device(device)

    # -- sync loop --------------------------------------------------------

    async def run(self, sink: EventSink) -> None:
        """Sync until stopped, surviving homeserver restarts and network errors."""
        self.sink = sink
        await self._load_parked()
        since = await self._stored_token()
        tracker = _BatchTracker(self._commit_token)
        first = True
        delay = self.config.bot.sync.backoff_initial_seconds
        sync_cfg = self.config.bot.sync
        sync_filter = {
            "room": {"timeline": {"limit": sync_cfg.timeline_limit}},
            "presence": {"types": []},
        }
        while not self._stopping.is_set():
            try:
                response = await self._sync_once(since, first, sync_filter)
                if self._stopping.is_set():
                    break
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                response = None
                log.warning("sync failed (%s); retrying in %.1fs", type(exc).__name__, delay)
            if isinstance(response, SyncResponse):
                delay = sync_cfg.backoff_initial_seconds
                await self._handle_sync(response, since, tracker)
                since = response.next_batch
                first = False
                self.sync_count += 1
                self.synced.set()
                continue
            if isinstance(response, ErrorResponse):
                if response.status_code == "M_UNKNOWN_TOKEN":
                    raise ConnectionError_(
                        "the homeserver no longer accepts the bot's access token; "
                        f"delete {self.credentials_path} to log in again"
                    )
                log.warning("sync error %s; retrying in %.1fs", response.status_code, delay)
            await self._wait(delay)
            delay = min(delay * 2, sync_cfg.backoff_max_seconds)

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _sync_once(
        self, since: str | None, first: bool, sync_filter: dict[str, Any]
    ) -> SyncResponse | ErrorResponse:
        client = self.nio
        # The first sync of a process asks for full state: nio keeps room
        # state (members, encryption, power levels) only in memory.
        stopper = asyncio.ensure_future(self._stopping.wait())
        syncer = asyncio.ensure_future(
            client.sync(
                timeout=0 if first else self.config.bot.sync.timeout_ms,
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

    async def _handle_sync(
        self, response: SyncResponse, since: str | None, tracker: _BatchTracker
    ) -> None:
        # No event, of any shape, may stop the loop or keep the token from
        # advancing: each step is guarded on its own, and the batch is always
        # opened (so its token is stored once what was converted is handled).
        batch: list[RoomEvent] = []
        try:
            await self._handle_invites(response)
        except Exception as exc:
            log_exception(log, "handling invites", exc, new_error_id())
        for room_id, info in response.rooms.join.items():
            try:
                self._note_state(room_id, [*info.state, *info.timeline.events])
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
        assert self.sink is not None
        for item in batch:
            self.sink(item, done)
        for step in (self._after_batch, self._retry_parked, self._report_unreadable):
            try:
                await step(response)
            except Exception as exc:
                log_exception(log, f"sync step {step.__name__}", exc, new_error_id())
        self._start_maintenance()

    async def _room_events(self, room_id: str, info: Any, since: str) -> list[RoomEvent]:
        events = list(info.timeline.events)
        if not _contains_own_join(events, self.user_id) and info.timeline.limited:
            backfilled = await self._backfill(room_id, info.timeline.prev_batch, since)
            self._note_state(room_id, backfilled)
            events = backfilled + events
        events = _after_own_join(events, self.user_id)
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
        window_ms = self.config.bot.sync.first_sync_window_seconds * 1000
        cutoff = self.clock.now() * 1000 - window_ms
        for event in events:
            source = getattr(event, "source", None)
            if isinstance(source, dict) and source.get("sender") == self.user_id:
                cutoff = max(cutoff, float(source.get("origin_server_ts") or 0))
        prefix = self.config.bot.command_prefix
        recent: list[RoomEvent] = []
        for event in events:
            source = getattr(event, "source", None)
            if not isinstance(source, dict) or source.get("sender") == self.user_id:
                continue
            timestamp = source.get("origin_server_ts")
            if not isinstance(timestamp, int) or timestamp <= cutoff:
                continue
            converted = self._convert(event, room_id)  # parks what it cannot read
            if isinstance(converted, Message) and (
                    converted.body.lstrip().startswith(prefix)
                    or self.user_id in converted.mentions):
                recent.append(converted)
        return recent

    async def _after_batch(self, response: SyncResponse) -> None:
        self._note_withheld(response)
        if self.trust is not None:
            self.trust.invalidate(response.device_list.changed)
        self._route_verification(response)

    def _route_verification(self, response: SyncResponse) -> None:
        if self.on_verification is None:
            return
        for event in response.to_device_events:
            source = getattr(event, "source", None)
            if isinstance(source, dict) and str(source.get("type", "")).startswith(
                "m.key.verification."
            ):
                self.on_verification(source)

    def _start_maintenance(self) -> None:
        # Key upload/query/claim and queued to-device messages run beside the
        # next sync, not in front of it.
        if self._maintenance is not None and not self._maintenance.done():
            return
        self._maintenance = asyncio.create_task(self._maintain(), name="crypto-maintenance")

    async def _maintain(self) -> None:
        client = self.nio
        try:
            await client.send_to_device_messages()
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
        except (TimeoutError, aiohttp.ClientError, OSError, LocalProtocolError) as exc:
            log.warning("key maintenance failed (%s); retried after the next sync",
                        type(exc).__name__)

    async def _backfill(self, room_id: str, prev_batch: str | None, since: str) -> list[Any]:
        """Fetch the events a limited timeline left out (between `since` and `prev_batch`)."""
        if not prev_batch:
            return []
        client = self.nio
        collected: list[Any] = []
        start: str | None = prev_batch
        while start and len(collected) < BACKFILL_CAP:
            response = await client.room_messages(
                room_id, start=start, end=since, direction=MessageDirection.back, limit=100
            )
            if not isinstance(response, RoomMessagesResponse):
                log.warning("back-fill of %s stopped: %s", room_id, _reason(response))
                break
            collected.extend(response.chunk)
            if not response.chunk or not response.end or response.end == start:
                break
            if _contains_own_join(response.chunk, self.user_id):
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
            self._park(room_id, event)
            return None
        source = getattr(event, "source", None)
        if not isinstance(source, dict) or "event_id" not in source:
            return None
        if self.on_room_verification is not None and _is_verification(source):
            self.on_room_verification(room_id, source)
            return None
        encrypted = bool(getattr(event, "decrypted", False))
        device = self._device_of(source.get("sender"), getattr(event, "sender_key", None))
        return from_matrix(source, room_id, encrypted=encrypted, sender_device=device)

    def _device_of(self, sender: object, sender_key: str | None) -> str | None:
        if not sender_key or not isinstance(sender, str):
            return None
        for device in self.nio.device_store.active_user_devices(sender):
            if device.curve25519 == sender_key:
                return str(device.id)
        return None

    # -- invites ----------------------------------------------------------

    async def _handle_invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            inviter = _inviter(info.invite_state, self.user_id)
            refusal = self.invite_veto(room_id, inviter) if inviter and self.invite_veto else None
            if refusal is not None:
                await self.nio.room_leave(room_id)
                log.info("declined invite to %s: %s", room_id, refusal)
            elif inviter and self._invite_allowed(inviter):
                joined = await self.nio.join(room_id)
                if isinstance(joined, JoinError):
                    log.warning("could not join %s: %s", room_id, _reason(joined))
                else:
                    log.info("joined %s (invited by an allowed user)", room_id)
                    if self.on_direct_invite and _is_direct(info.invite_state, self.user_id):
                        await self.on_direct_invite(room_id, inviter)
            else:
                await self.nio.room_leave(room_id)
                log.info("rejected invite to %s from a user not allowed by config", room_id)

    def _invite_allowed(self, inviter: str) -> bool:
        invites = self.config.bot.invites
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        return inviter in invites.allowed_users or server in invites.allowed_servers

    # -- undecryptable events ---------------------------------------------

    def _park(self, room_id: str, event: MegolmEvent) -> None:
        if event.event_id in self._parked:
            return
        self.undecryptable += 1
        self._parked[event.event_id] = (room_id, event)
        source = dict(event.source)
        task = asyncio.create_task(self.db.execute(
            "INSERT OR IGNORE INTO core_undecrypted "
            "(event_id, room_id, session_id, source, first_seen) VALUES (?, ?, ?, ?, ?)",
            (event.event_id, room_id, event.session_id, json.dumps(source), self.clock.now()),
        ))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        request = asyncio.create_task(self._request_key(event))
        self._background.add(request)
        request.add_done_callback(self._background.discard)
        timer = asyncio.create_task(self._report_after_grace())
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)
        log.info("cannot decrypt %s yet; keys requested", event.event_id)

    async def _request_key(self, event: MegolmEvent) -> None:
        try:
            await self.nio.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested for this session
        except (TimeoutError, aiohttp.ClientError, OSError):
            log.warning("room key request for %s failed", event.event_id)

    def _note_withheld(self, response: SyncResponse) -> None:
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
        await self.clock.sleep(self.undecryptable_grace_seconds + 0.5)
        if not self._stopping.is_set():
            await self._report_unreadable()

    async def _report_unreadable(self, response: SyncResponse | None = None) -> None:
        """Tell members once why a message stays unreadable (key withheld, or never came)."""
        if self.on_undecryptable is None or not self._parked:
            return
        now = self.clock.now()
        rows = await self.db.fetchall(
            "SELECT event_id, room_id, first_seen FROM core_undecrypted WHERE notified = 0"
        )
        for row in rows:
            parked = self._parked.get(row["event_id"])
            if parked is None:
                continue
            code = self._withheld.get(parked[1].session_id)
            if code is None and now - row["first_seen"] < self.undecryptable_grace_seconds:
                continue
            await self.db.execute(
                "UPDATE core_undecrypted SET notified = 1 WHERE event_id = ?", (row["event_id"],)
            )
            await self.on_undecryptable(row["room_id"], parked[1].sender, code)

    async def _load_parked(self) -> None:
        for row in await self.db.fetchall("SELECT room_id, source FROM core_undecrypted"):
            event = MegolmEvent.from_dict(json.loads(row["source"]))
            if isinstance(event, MegolmEvent):
                event.room_id = row["room_id"]
                self._parked[event.event_id] = (row["room_id"], event)

    async def _retry_parked(self, response: SyncResponse) -> None:
        if not self._parked:
            return
        new_keys = any(
            isinstance(e, RoomKeyEvent | ForwardedRoomKeyEvent) for e in response.to_device_events
        )
        if not new_keys and self.sync_count % 10:
            return
        assert self.sink is not None
        for event_id, (room_id, event) in list(self._parked.items()):
            try:
                decrypted = self.nio.decrypt_event(event)
            except EncryptionError:
                continue
            del self._parked[event_id]
            await self.db.execute("DELETE FROM core_undecrypted WHERE event_id = ?", (event_id,))
            converted = self._convert(decrypted, room_id)
            if converted is not None:
                log.info("decrypted %s after its keys arrived", event_id)
                self.sink(converted, lambda: None)

    # -- sync token -------------------------------------------------------

    async def _stored_token(self) -> str | None:
        row = await self.db.fetchone("SELECT value FROM core_state WHERE key = 'sync_token'")
        return str(row["value"]) if row else None

    def _commit_token(self, token: str) -> None:
        upsert = ("INSERT INTO core_state (key, value) VALUES (?, ?) "
                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        task = asyncio.create_task(self.db.transaction([
            (upsert, ("sync_token", token)),
            # When the bot's sync was last handled: `solidarity status` shows its age.
            (upsert, ("last_sync_at", str(self.clock.now()))),
        ]))
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def cfg_request_timeout(config: Config) -> float:
    # Long-poll syncs must not be cut off by the HTTP timeout.
    return config.bot.sync.timeout_ms / 1000 + 30


def _reason(response: object) -> str:
    if isinstance(response, ErrorResponse):
        return f"{response.status_code or 'error'}: {response.message}"
    return type(response).__name__


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


def _invite_event(invite_state: list[Any], user_id: str) -> InviteMemberEvent | None:
    """The invite itself: the last invite membership of the bot in `invite_state`.

    The rest of `invite_state` is stripped state the inviting server wrote, and
    it may hold any number of fake member events about the bot (claiming an
    allowed organizer invited it). The homeserver appends the invite event it
    received last (MSC4319), so only that one names the inviter.
    """
    for event in reversed(invite_state):
        if (isinstance(event, InviteMemberEvent) and event.state_key == user_id
                and event.membership == "invite"):
            return event
    return None


def _is_direct(invite_state: list[Any], user_id: str) -> bool:
    """Whether the inviter marked the invite as a DM: a hint only (core.dms checks the room)."""
    invite = _invite_event(invite_state, user_id)
    content = invite.content if invite is not None else None
    return isinstance(content, dict) and content.get("is_direct") is True


def _inviter(invite_state: list[Any], user_id: str) -> str | None:
    invite = _invite_event(invite_state, user_id)
    sender = invite.sender if invite is not None else None
    return sender if isinstance(sender, str) else None
