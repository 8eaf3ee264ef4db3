"""The bot's one logged-in device: credentials, login or restore, and its lifetime.

A device is created once (password or access token) and then restored from
`credentials.json` (mode 0600) on every start, so members verify the bot's
device only once and its Megolm sessions survive restarts. The nio client is
a GuardedClient (core.matrix.client): state comes only from state, and no
malformed event reaches nio's parser.

The session also owns what lives exactly as long as the device is in use:
the stop signal every loop and wait obeys, and the background writes and
requests started from sync handling, awaited before the client closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import AsyncClientConfig, ErrorResponse, LoginResponse, WhoamiResponse

from core.config import Config
from core.crypto import CrossSigningSession
from core.logsafe import log_exception, new_error_id
from core.matrix.client import GuardedClient
from core.storage import DatabaseUnwritable

log = logging.getLogger(__name__)


class ConnectionError_(Exception):
    """The bot cannot connect or log in; the message says what to fix."""


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


def cfg_request_timeout(config: Config) -> float:
    # Long-poll syncs must not be cut off by the HTTP timeout.
    return config.bot.sync.timeout_ms / 1000 + 30


def reason(response: object) -> str:
    """A homeserver's answer in words for a log line or an error (never any content)."""
    if isinstance(response, ErrorResponse):
        return f"{response.status_code or 'error'}: {response.message}"
    return type(response).__name__


class Session:
    """The device: its GuardedClient once connected, its stop signal, its background work."""

    def __init__(self, config: Config, *, passphrase: str) -> None:
        self.config = config
        self.data_dir = config.storage.data_dir
        self.credentials_path = self.data_dir / "credentials.json"
        self.store_dir = self.data_dir / "crypto"
        self._passphrase = passphrase
        self.client: GuardedClient | None = None
        self.stopping = asyncio.Event()
        # Database writes and key requests started from sync handling; awaited at close.
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def user_id(self) -> str:
        return self.config.matrix.user_id

    @property
    def nio(self) -> GuardedClient:
        if self.client is None:
            raise RuntimeError("not connected")
        return self.client

    # -- lifetime ---------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        """Run `work` (named `what` in logs) beside the sync; awaited (not cancelled) at close.

        Its failure is logged when it happens: nobody awaits it before close.
        A database that cannot be written is not logged again here (storage
        tells the operator once, and what was not saved is done again later).
        """
        task = asyncio.create_task(work, name=what)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_report_failure)

    async def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or less if the bot stops meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    async def finish_background(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def close_client(self) -> None:
        if self.client is not None:
            await self.client.close()

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
                raise ConnectionError_(f"login as {cfg.user_id} failed: {reason(response)}")
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


def _report_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, DatabaseUnwritable):
        log_exception(log, task.get_name(), exc, new_error_id())
