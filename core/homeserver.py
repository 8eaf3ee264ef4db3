"""A throwaway local Synapse on 127.0.0.1 for tests and ``solidarity demo``.

:class:`LocalSynapse` writes a minimal ``homeserver.yaml`` into a work
directory, runs Synapse as a child process bound to 127.0.0.1 only, and
registers users through the shared-secret admin API. Everything it creates
(config, SQLite database, media store, logs, secrets) lives in that work
directory, so stopping and starting the same instance comes back on the same
URL with the same users and access tokens.

This is not a production deployment: SQLite, no federation, no TLS, and (by
default) rate limits raised so high that they never trigger.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
import yaml
from signedjson.key import encode_signing_key_base64, generate_signing_key

__all__ = [
    "HomeserverError",
    "LocalSynapse",
    "RegisteredUser",
    "RegistrationError",
]

SERVER_NAME = "localhost"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
_POLL_INTERVAL = 0.05
_LOG_TAIL_BYTES = 4000

# Every new-style rate limiter Synapse 1.163 reads with the
# {per_second, burst_count} shape. Dotted names are nested mappings.
# rc_federation (different shape) is irrelevant without federation, and
# remote media downloads are measured in bytes, so both are left alone.
_RATE_LIMITERS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_room_creation",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_admin_redaction",
    "rc_profile",
    "rc_user_directory",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_reports",
    "rc_media_create",
)
_UNLIMITED = {"per_second": 10000, "burst_count": 100000}

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class HomeserverError(RuntimeError):
    """The local homeserver failed to start or answered a request with an error."""


class RegistrationError(HomeserverError):
    """Registering a user through the shared-secret admin API failed.

    ``status`` is the HTTP status (0 if no answer was received), ``errcode``
    and ``error`` are the Matrix error fields when the homeserver sent them.
    """

    def __init__(self, username: str, status: int, errcode: str | None, error: str) -> None:
        self.username = username
        self.status = status
        self.errcode = errcode
        self.error = error
        # The password is deliberately not part of the message: these errors
        # end up in test output and CI logs.
        super().__init__(
            f"registering {username!r} failed: HTTP {status} {errcode or ''} {error}".rstrip()
        )


@dataclass(frozen=True, slots=True)
class RegisteredUser:
    """A user created on a :class:`LocalSynapse`, with a ready-to-use login."""

    user_id: str
    password: str
    access_token: str
    device_id: str
    homeserver: str

    def __repr__(self) -> str:
        # Keep credentials out of reprs (assertion rewrites, logs).
        return (
            f"RegisteredUser(user_id={self.user_id!r}, device_id={self.device_id!r}, "
            f"homeserver={self.homeserver!r})"
        )


def _free_port() -> int:
    """Ask the kernel for a free TCP port on 127.0.0.1.

    There is a small window in which another process could take it before
    Synapse binds; acceptable for a test server.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent_preexec() -> Callable[[], None] | None:
    """Return a preexec_fn that makes the child get SIGTERM when we die.

    Without it, a test run killed mid-way (or a crashing fixture) leaves
    orphan Synapse processes holding ports and ~130 MiB each. Linux only;
    elsewhere the caller has to rely on :meth:`LocalSynapse.stop`.

    Note PR_SET_PDEATHSIG fires when the *thread* that forked exits, i.e. the
    thread running the event loop, which is what we want here.
    """
    if not sys.platform.startswith("linux"):
        return None
    # Load libc before forking: doing it in the child between fork and exec
    # is not async-signal-safe.
    libc = ctypes.CDLL(None, use_errno=True)
    parent_pid = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # The parent may have died between fork and prctl; then the signal
        # would never come.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def _tail(path: Path, limit: int = _LOG_TAIL_BYTES) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            data = f.read()
    except FileNotFoundError:
        return "(missing)"
    text = data.decode("utf-8", errors="replace").strip()
    return text or "(empty)"


class LocalSynapse:
    """A Synapse homeserver on 127.0.0.1, owned by this process.

    ``workdir`` holds ``homeserver.yaml``, the SQLite database, the media
    store, logs and generated secrets; it is created if missing. With
    ``port=None`` a free port is picked once, at construction, and kept for
    the lifetime of the instance so a stop/start cycle keeps the same URL.

    ``rate_limited=False`` (the default) raises every rate limit out of reach;
    pass ``True`` to keep Synapse's defaults, e.g. to exercise 429 handling.

    Use either ``await hs.start()`` / ``await hs.stop()`` (stop in a
    ``finally``) or ``async with LocalSynapse(path) as hs:``.
    """

    #: Seconds :meth:`start` waits for the client API before giving up.
    startup_timeout: float = STARTUP_TIMEOUT

    def __init__(
        self,
        workdir: Path,
        *,
        rate_limited: bool = False,
        port: int | None = None,
    ) -> None:
        self._workdir = Path(workdir).resolve()
        self._rate_limited = rate_limited
        self._port = port if port is not None else _free_port()
        self._proc: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        # Serialises start/stop so concurrent calls stay idempotent.
        self._lock = asyncio.Lock()

    # -- public properties -------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the client API, e.g. ``http://127.0.0.1:8448``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def server_name(self) -> str:
        """The homeserver's server name (the part after ``:`` in user ids)."""
        return SERVER_NAME

    @property
    def port(self) -> int:
        """TCP port the client listener binds on 127.0.0.1."""
        return self._port

    @property
    def workdir(self) -> Path:
        """Directory holding config, database, media store and logs."""
        return self._workdir

    @property
    def config_path(self) -> Path:
        """Path of the generated ``homeserver.yaml``."""
        return self._workdir / "homeserver.yaml"

    @property
    def log_path(self) -> Path:
        """Synapse's own log file (WARNING and above)."""
        return self._workdir / "homeserver.log"

    @property
    def output_path(self) -> Path:
        """Captured stdout/stderr of the Synapse process."""
        return self._workdir / "synapse.out"

    @property
    def running(self) -> bool:
        """Whether the Synapse process has been started and has not exited."""
        return self._proc is not None and self._proc.returncode is None

    # -- configuration -----------------------------------------------------

    def _load_or_create_secrets(self) -> dict[str, str]:
        """Generate keys and secrets once; later starts reuse them.

        A restart must keep the server's signing key (its identity under
        already-signed events) and the secrets that derived tokens depend on.
        """
        path = self._workdir / "secrets.json"
        if path.exists():
            loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
            return loaded
        key = generate_signing_key("a_test")
        values = {
            "signing_key": f"ed25519 {key.version} {encode_signing_key_base64(key)}",
            "registration_shared_secret": secrets.token_urlsafe(32),
            "macaroon_secret_key": secrets.token_urlsafe(32),
            "form_secret": secrets.token_urlsafe(32),
        }
        # Create with 0600 from the start rather than chmod afterwards.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(values, f)
        return values

    def _build_config(self, secrets_: dict[str, str]) -> dict[str, Any]:
        wd = self._workdir
        config: dict[str, Any] = {
            "server_name": SERVER_NAME,
            "pid_file": str(wd / "homeserver.pid"),
            "public_baseurl": self.url + "/",
            "listeners": [
                {
                    "port": self._port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    # Client API only; the admin API is served under it.
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(wd / "homeserver.db")},
            },
            "media_store_path": str(wd / "media_store"),
            "log_config": str(wd / "log.config"),
            "signing_key": secrets_["signing_key"],
            "registration_shared_secret": secrets_["registration_shared_secret"],
            "macaroon_secret_key": secrets_["macaroon_secret_key"],
            "form_secret": secrets_["form_secret"],
            "report_stats": False,
            "enable_registration": False,
            # No outbound federation or key fetching: the server is alone.
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            # Minimum cost: registering many users is ~30x faster than default 12.
            "bcrypt_rounds": 4,
        }
        if not self._rate_limited:
            for name in _RATE_LIMITERS:
                node = config
                *parents, leaf = name.split(".")
                for part in parents:
                    node = node.setdefault(part, {})
                node[leaf] = dict(_UNLIMITED)
        return config

    def _log_config(self) -> dict[str, Any]:
        return {
            "version": 1,
            "formatters": {
                "precise": {
                    "format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s"
                }
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.log_path),
                    "encoding": "utf8",
                }
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }

    def _write_config(self) -> None:
        self._workdir.mkdir(parents=True, exist_ok=True)
        (self._workdir / "media_store").mkdir(exist_ok=True)
        secrets_ = self._load_or_create_secrets()
        (self._workdir / "log.config").write_text(
            yaml.safe_dump(self._log_config(), sort_keys=False), encoding="utf-8"
        )
        # Rewritten on every start (same port, same secrets) so that a config
        # change in this module takes effect on an existing workdir.
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yaml.safe_dump(self._build_config(secrets_), f, sort_keys=False)

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Start Synapse and wait until the client API answers.

        Does nothing if already running. Raises :class:`HomeserverError` (a
        ``RuntimeError``) with the tail of Synapse's output and log if the
        process exits early or does not answer within :attr:`startup_timeout`
        seconds; the process is stopped in that case.
        """
        async with self._lock:
            if self.running:
                return
            self._write_config()
            with self.output_path.open("ab") as out:
                # Synapse inherits the fd; our copy is closed right after.
                self._proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "synapse.app.homeserver",
                    "-c",
                    str(self.config_path),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=asyncio.subprocess.STDOUT,
                    cwd=self._workdir,
                    preexec_fn=_die_with_parent_preexec(),
                )
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession()
            try:
                await self._wait_until_ready(self.startup_timeout)
            except BaseException:
                # Including cancellation: never leave a half-started server.
                await self._stop_locked()
                raise

    async def _wait_until_ready(self, limit: float) -> None:
        assert self._proc is not None and self._session is not None
        deadline = time.monotonic() + limit
        versions = f"{self.url}/_matrix/client/versions"
        while True:
            if self._proc.returncode is not None:
                raise HomeserverError(
                    f"Synapse exited with code {self._proc.returncode} during startup"
                    + self._diagnostics()
                )
            # Short per-request timeout: if another process holds the port it
            # accepts the connection but never answers, and we must get back
            # to noticing that Synapse has exited.
            try:
                async with self._session.get(
                    versions, timeout=aiohttp.ClientTimeout(total=2)
                ) as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass  # not listening yet
            if time.monotonic() >= deadline:
                raise HomeserverError(
                    f"Synapse did not answer on {versions} within {limit:.0f} s"
                    + self._diagnostics()
                )
            await asyncio.sleep(_POLL_INTERVAL)

    def _diagnostics(self) -> str:
        return (
            f"\n--- {self.output_path} (tail) ---\n{_tail(self.output_path)}"
            f"\n--- {self.log_path} (tail) ---\n{_tail(self.log_path)}"
        )

    async def stop(self) -> None:
        """Stop Synapse (SIGTERM, SIGKILL after 10 s) and close the HTTP session.

        Safe to call more than once and on an instance that never started.
        """
        async with self._lock:
            await self._stop_locked()

    async def _stop_locked(self) -> None:
        proc, self._proc = self._proc, None
        try:
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
        finally:
            session, self._session = self._session, None
            if session is not None:
                await session.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- users -------------------------------------------------------------

    async def register(
        self, username: str, password: str, *, admin: bool = False
    ) -> RegisteredUser:
        """Create ``@username:localhost`` with the shared-secret admin API.

        Returns the user's id, a fresh access token and device id. Raises
        :class:`RegistrationError` with the homeserver's errcode/error on
        failure (e.g. ``M_USER_IN_USE``); the password never appears in it.
        """
        if self._session is None or not self.running:
            raise HomeserverError("LocalSynapse is not running; call start() first")
        session = self._session
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        shared_secret = self._load_or_create_secrets()["registration_shared_secret"]

        try:
            async with session.get(endpoint) as resp:
                body = await self._json_or_error(resp, username)
            nonce = str(body["nonce"])
            mac = hmac.new(shared_secret.encode("utf-8"), digestmod=hashlib.sha1)
            mac.update(nonce.encode("utf-8"))
            mac.update(b"\x00")
            mac.update(username.encode("utf-8"))
            mac.update(b"\x00")
            mac.update(password.encode("utf-8"))
            mac.update(b"\x00")
            mac.update(b"admin" if admin else b"notadmin")
            payload = {
                "nonce": nonce,
                "username": username,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
            async with session.post(endpoint, json=payload) as resp:
                body = await self._json_or_error(resp, username)
        except aiohttp.ClientError as e:
            raise RegistrationError(username, 0, None, f"{type(e).__name__}: {e}") from e

        return RegisteredUser(
            user_id=str(body["user_id"]),
            password=password,
            access_token=str(body["access_token"]),
            device_id=str(body["device_id"]),
            homeserver=self.url,
        )

    @staticmethod
    async def _json_or_error(resp: aiohttp.ClientResponse, username: str) -> dict[str, Any]:
        text = await resp.text()
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if resp.status == 200 and isinstance(body, dict):
            return body
        if isinstance(body, dict):
            errcode = body.get("errcode")
            error = str(body.get("error", ""))
        else:
            errcode, error = None, text[:500]
        raise RegistrationError(
            username, resp.status, errcode if isinstance(errcode, str) else None, error
        )

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalSynapse({self.url}, {state}, workdir={str(self._workdir)!r})"
