"""The connection to the homeserver: one E2EE device of the bot, composed of its parts.

MatrixConnection is the facade the rest of the framework (core.bot, the
runtime's RoomView and sender, core.crypto) and the tests use. It composes,
each in its own module:

- core.matrix.session: credentials, login or restore, the GuardedClient, lifetime;
- core.matrix.rooms: room facts (power levels incl. v12 creators, members, encryption);
- core.matrix.keys: encryption preparation, trust, withheld notices, key upkeep;
- core.matrix.sending: sends that wait for a homeserver briefly away;
- core.matrix.sync: the sync loop, batch tokens, back-fill, a first sync's commands;
- core.matrix.invites: invite policy (the inviter from the invite event itself);
- core.matrix.undecryptable: parked events, key requests, telling members why.

What the connection tells the bot is one ConnectionListener, the trust policy
and the verification manager, handed over in a single `connect_services`
call once they exist (after login: both need the device's keys). Until then
nobody listens: state and invites go unreported (no plugin refuses one),
verification events and unreadable-message notices are dropped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

from nio import SyncResponse

from core.clock import Clock
from core.config import Config
from core.crypto import CrossSigningSession
from core.crypto.trust import TrustPolicy
from core.matrix.client import GuardedClient
from core.matrix.invites import InviteListener, Invites
from core.matrix.keys import KeySharing
from core.matrix.rooms import RoomFacts, StateListener
from core.matrix.sending import SEND_PATIENCE_SECONDS, Sender, SendError
from core.matrix.session import ConnectionError_, Credentials, Session, cfg_request_timeout
from core.matrix.sync import BACKFILL_CAP, BatchTracker, EventSink, SyncLoop, Verifier
from core.matrix.undecryptable import Undecryptable, UndecryptableListener
from core.storage import Database

__all__ = [
    "BACKFILL_CAP", "SEND_PATIENCE_SECONDS", "ConnectionError_", "ConnectionListener",
    "Credentials", "EventSink", "MatrixConnection", "SendError", "Verifier",
    "cfg_request_timeout",
]


class ConnectionListener(StateListener, InviteListener, UndecryptableListener, Protocol):
    """What the bot hears from its connection besides events (those go to `run`'s sink)."""


class _Unconnected:
    """The listener and verifier until `connect_services`: nobody listens."""

    def note_state(self, room_id: str, source: dict[str, Any]) -> None:
        return None

    def refuses_invite(self, room_id: str, inviter: str) -> str | None:
        return None

    async def joined_direct(self, room_id: str, member: str) -> None:
        return None

    async def explain_undecryptable(self, room_id: str, sender: str, code: str | None) -> None:
        return None

    def submit_to_device(self, event: dict[str, Any]) -> None:
        return None

    def submit_room_event(self, room_id: str, event: dict[str, Any]) -> None:
        return None


class MatrixConnection:
    """One logged-in E2EE device of the bot, and its sync loop."""

    def __init__(self, config: Config, db: Database, clock: Clock, *, passphrase: str) -> None:
        self.config = config
        self.db = db
        self.clock = clock
        self.session = Session(config, passphrase=passphrase)
        unconnected = _Unconnected()
        self.rooms = RoomFacts(self.session, unconnected)
        self.keys = KeySharing(self.session)
        self.sender = Sender(self.session, self.keys.prepare_encryption)
        self.invites = Invites(self.session, config, unconnected)
        self.undecryptable_events = Undecryptable(self.session, db, clock, unconnected)
        self.sync = SyncLoop(self.session, config, db, clock, rooms=self.rooms,
                             invites=self.invites, keys=self.keys,
                             undecryptable=self.undecryptable_events, verifier=unconnected)
        self._services_connected = False

    def connect_services(self, listener: ConnectionListener, *, trust: TrustPolicy | None,
                         verification: Verifier) -> None:
        """Who hears what the connection learns; once, before `run`.

        `trust` decides who gets the bot's room keys (None: every device, nio's default).
        """
        if self._services_connected:
            raise RuntimeError("the connection's services are already connected")
        self._services_connected = True
        self.rooms.listener = listener
        self.invites.listener = listener
        self.undecryptable_events.listener = listener
        self.keys.trust = trust
        self.sync.verifier = verification

    # -- the device -------------------------------------------------------

    @property
    def user_id(self) -> str:
        return self.config.matrix.user_id

    @property
    def client(self) -> GuardedClient | None:
        return self.session.client

    @client.setter
    def client(self, client: GuardedClient | None) -> None:
        self.session.client = client

    @property
    def nio(self) -> GuardedClient:
        return self.session.nio

    @property
    def data_dir(self) -> Path:
        return self.session.data_dir

    @property
    def credentials_path(self) -> Path:
        return self.session.credentials_path

    @property
    def store_dir(self) -> Path:
        return self.session.store_dir

    async def connect(self) -> None:
        """Restore the saved device, or log in once and save it (mode 0600)."""
        await self.session.connect()

    def cross_signing_session(self) -> CrossSigningSession:
        """What core.crypto needs to publish and use the bot's cross-signed identity."""
        return self.session.cross_signing_session()

    def stop(self) -> None:
        self.session.stopping.set()

    async def close(self) -> None:
        self.session.stopping.set()
        await self.undecryptable_events.close()
        await self.keys.finish_maintenance()
        await self.session.finish_background()
        await self.session.close_client()

    # -- room facts (RoomView) --------------------------------------------

    def is_encrypted(self, room_id: str) -> bool:
        return self.rooms.is_encrypted(room_id)

    def power_level(self, room_id: str, user_id: str) -> int:
        return self.rooms.power_level(room_id, user_id)

    def display_name(self, room_id: str) -> str | None:
        """The bot's display name in a room (Element writes it into mention bodies)."""
        return self.rooms.display_name(room_id)

    def members(self, room_id: str) -> list[str]:
        return self.rooms.members(room_id)

    # -- sending ----------------------------------------------------------

    async def send_message(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.sender.send_event(room_id, "m.room.message", content, txn_id)

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        """Encrypt (in encrypted rooms) and send; the txn id makes retries idempotent."""
        return await self.sender.send_event(room_id, event_type, content, txn_id)

    async def send_to_device(
        self, event_type: str, user_id: str, device_id: str, content: dict[str, Any]
    ) -> None:
        """One unencrypted to-device message (verification messages travel that way)."""
        await self.sender.send_to_device(event_type, user_id, device_id, content)

    @property
    def trust(self) -> TrustPolicy | None:
        """Who gets the bot's room keys (None: every device, nio's default)."""
        return self.keys.trust

    # -- sync -------------------------------------------------------------

    async def run(self, sink: EventSink) -> None:
        """Sync until stopped, surviving homeserver restarts and network errors."""
        await self.sync.run(sink)

    @property
    def sink(self) -> EventSink:
        return self.sync.sink

    @sink.setter
    def sink(self, sink: EventSink) -> None:
        self.sync.sink = sink

    async def _handle_sync(
        self, response: SyncResponse, since: str | None, tracker: BatchTracker
    ) -> None:
        """One sync response through everything the loop does with it (tests call this)."""
        await self.sync.handle_sync(response, since, tracker)
        self._start_maintenance()

    def _start_maintenance(self) -> None:
        self.keys.start_maintenance()

    @property
    def synced(self) -> asyncio.Event:
        return self.sync.synced

    @property
    def sync_count(self) -> int:
        return self.sync.sync_count

    @property
    def backfilled(self) -> int:
        return self.sync.backfilled

    # -- undecryptable events ---------------------------------------------

    @property
    def undecryptable(self) -> int:
        """How many events the bot could not decrypt when they came."""
        return self.undecryptable_events.parked_total

    @property
    def withheld_received(self) -> int:
        return self.undecryptable_events.withheld_received

    @property
    def undecryptable_grace_seconds(self) -> float:
        return self.undecryptable_events.grace_seconds

    @undecryptable_grace_seconds.setter
    def undecryptable_grace_seconds(self, seconds: float) -> None:
        self.undecryptable_events.grace_seconds = seconds
