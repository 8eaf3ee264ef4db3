"""Python driver for the Element-like test member in ``member.mjs``.

:class:`JsMember` runs ``node member.mjs`` as an asyncio subprocess and talks
to it in JSON lines (one request per line on stdin, one response per line on
stdout, matched by ``id``). The member is matrix-js-sdk with its Rust crypto,
the crypto core of Element Web, so what it reports (decryption failures,
shields, verification states) is what an Element user would see.

Typical use::

    reason = js_member_unavailable()
    if reason:
        pytest.skip(reason)
    async with await JsMember.spawn(tmp_path / "alice-js.log") as alice:
        await alice.init(user.homeserver, user.user_id, password=user.password)
        room = await alice.create_room(invite=[bot_id])
        await alice.send(room, "!help")
        msg = await alice.wait_message(room, bot_id)
        assert msg["shield"] == {"colour": "NONE", "reason": None}

Every wait_* request takes a ``timeout`` in seconds that the member itself
enforces (its error message then says what it was waiting for); the Python
side waits a little longer as a safety net.
"""

# ASYNC109 (timeout parameters on async functions) is deliberate here: each
# timeout is a protocol field that the Node member enforces itself, so its error
# says what it was still waiting for; a caller-side asyncio.timeout could not.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = [
    "INTEROP_DIR",
    "JsMember",
    "JsMemberError",
    "js_member_unavailable",
]

INTEROP_DIR = Path(__file__).resolve().parent
MEMBER_SCRIPT = INTEROP_DIR / "member.mjs"
MIN_NODE_MAJOR = 20

# Extra seconds the Python side waits beyond a request's own timeout, so the
# member's more informative timeout error normally arrives first.
_TIMEOUT_MARGIN = 15.0
# Default timeout for requests that do not wait for anything in particular.
_DEFAULT_TIMEOUT = 60.0
# Responses like device_info can be long; asyncio's default line limit is 64 KiB.
_LINE_LIMIT = 16 * 1024 * 1024
# Longest request/response text copied into the log file.
_LOG_TRUNCATE = 2000


class JsMemberError(RuntimeError):
    """A request to the member failed, or the member process died.

    ``code`` is the member's error code: ``timeout``, ``bad_request``,
    ``cancelled`` (verification), a Matrix errcode such as ``M_FORBIDDEN``,
    ``error`` for anything else, or ``exited`` if the process is gone.
    """

    def __init__(self, command: str, message: str, code: str = "error") -> None:
        super().__init__(f"js member {command}: {message}")
        self.command = command
        self.code = code


def js_member_unavailable() -> str | None:
    """Return why the js member cannot run here, or None if it can.

    Meant for ``pytest.skip(reason)``, so that a missing ``npm ci`` shows up as
    a clear message instead of an import error deep inside Node.
    """
    node = shutil.which("node")
    if node is None:
        return f"node not found on PATH (Node >= {MIN_NODE_MAJOR} needed for interop tests)"
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        major = int(version.lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        return f"cannot run {node} --version: {e}"
    if major < MIN_NODE_MAJOR:
        return f"Node {version} is too old; the interop tests need Node >= {MIN_NODE_MAJOR}"

    installed = INTEROP_DIR / "node_modules" / "matrix-js-sdk" / "package.json"
    if not installed.exists():
        return f"matrix-js-sdk is not installed: run `npm ci` in {INTEROP_DIR}"
    # A stale node_modules (lock file bumped, npm ci not rerun) would make the
    # tests silently run another js-sdk than the one pinned.
    wanted = json.loads((INTEROP_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"][
        "matrix-js-sdk"
    ]
    have = json.loads(installed.read_text(encoding="utf-8"))["version"]
    if have != wanted:
        return f"matrix-js-sdk {have} installed but {wanted} pinned: run `npm ci` in {INTEROP_DIR}"
    return None


class JsMember:
    """One matrix-js-sdk member (one user, one device) in a Node process.

    Create with :meth:`spawn`, then :meth:`init` before anything else; always
    :meth:`close` it (or use ``async with``), which stops the process and the
    reader tasks so no "unclosed transport" warnings are left behind.

    Results are the member's JSON answers as dicts; the keys are documented on
    each method and in ``member.mjs``.
    """

    def __init__(self, proc: asyncio.subprocess.Process, log_file: IO[bytes], name: str) -> None:
        self._proc = proc
        self._log = log_file
        self.name = name
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._exited = False
        self._closed = False
        self._stdout_task = asyncio.create_task(self._read_stdout(), name=f"{name}-stdout")
        self._stderr_task = asyncio.create_task(self._read_stderr(), name=f"{name}-stderr")
        # Filled by init().
        self.user_id: str | None = None
        self.device_id: str | None = None

    @classmethod
    async def spawn(
        cls, log_path: Path, *, name: str = "js-member", log_level: str = "info"
    ) -> Self:
        """Start ``node member.mjs``; its stderr (js-sdk logs) and a trace of
        requests and responses go to ``log_path``. ``log_level`` is the
        member's: ``debug`` shows js-sdk's crypto chatter, ``warn`` is quiet."""
        reason = js_member_unavailable()
        if reason is not None:
            raise RuntimeError(reason)
        node = shutil.which("node")
        assert node is not None
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = log_path.open("ab")
        try:
            proc = await asyncio.create_subprocess_exec(
                node,
                str(MEMBER_SCRIPT),
                "--log-level",
                log_level,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=INTEROP_DIR,
                limit=_LINE_LIMIT,
            )
        except BaseException:
            log_file.close()
            raise
        return cls(proc, log_file, name)

    # -- plumbing ------------------------------------------------------------

    def _trace(self, prefix: str, text: str) -> None:
        if len(text) > _LOG_TRUNCATE:
            text = text[:_LOG_TRUNCATE] + "…"
        stamp = time.strftime("%H:%M:%S")
        self._log.write(f"[py {stamp}] {prefix} {text}\n".encode())
        self._log.flush()

    async def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        try:
            while line := await self._proc.stdout.readline():
                text = line.decode("utf-8", errors="replace").strip()
                if not text:
                    continue
                self._trace("<", text)
                try:
                    message = json.loads(text)
                    future = self._pending.pop(message["id"], None)
                except (ValueError, KeyError, TypeError):
                    self._trace("!", "unparsable line from member")
                    continue
                if future is not None and not future.done():
                    future.set_result(message)
        finally:
            # Process gone (or closing): nobody will answer the rest.
            self._exited = True
            for request_id, future in list(self._pending.items()):
                if not future.done():
                    future.set_exception(
                        JsMemberError(
                            f"request {request_id}", "member process exited", code="exited"
                        )
                    )
            self._pending.clear()

    async def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(65536):
            self._log.write(chunk)
            self._log.flush()

    async def request(
        self, cmd: str, *, timeout: float | None = None, **args: Any
    ) -> dict[str, Any]:
        """Send one command and return its ``result``.

        ``timeout`` (seconds) is passed to the member for wait_* commands and
        bounds the wait here (plus a margin). Raises :class:`JsMemberError` on
        an error answer, a dead process, or no answer in time. ``None``-valued
        arguments are left out.
        """
        if self._closed or self._exited:
            raise JsMemberError(cmd, "member is closed", code="exited")
        assert self._proc.stdin is not None
        request_id = next(self._ids)
        payload = {k: v for k, v in args.items() if v is not None}
        if timeout is not None:
            payload["timeout"] = timeout
        line = json.dumps({"id": request_id, "cmd": cmd, **payload})
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        # Passwords and tokens stay out of the trace.
        self._trace(">", line if cmd != "init" else f'{{"id": {request_id}, "cmd": "init", ...}}')
        try:
            self._proc.stdin.write(line.encode() + b"\n")
            await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as e:
            self._pending.pop(request_id, None)
            raise JsMemberError(cmd, "member process exited", code="exited") from e
        limit = (timeout if timeout is not None else _DEFAULT_TIMEOUT) + _TIMEOUT_MARGIN
        try:
            answer = await asyncio.wait_for(future, limit)
        except TimeoutError:
            raise JsMemberError(cmd, f"no answer within {limit:.0f} s", code="timeout") from None
        finally:
            self._pending.pop(request_id, None)
        if not answer.get("ok"):
            raise JsMemberError(
                cmd, str(answer.get("error")), code=str(answer.get("code", "error"))
            )
        result: dict[str, Any] = answer.get("result") or {}
        return result

    async def close(self, timeout: float = 10.0) -> None:
        """Ask the member to stop, then wait for it (kill after ``timeout``).

        Idempotent. Also closes the log file; safe after the process died.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._proc.returncode is None and not self._exited:
                with contextlib.suppress(JsMemberError):
                    await self.request("stop", timeout=timeout)
            # Closing stdin also makes the member exit (it treats EOF as stop).
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await self._proc.stdin.wait_closed()
            try:
                await asyncio.wait_for(self._proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.kill()
                await self._proc.wait()
            # The readers end at EOF once the process is gone.
            await asyncio.gather(self._stdout_task, self._stderr_task, return_exceptions=True)
        finally:
            for task in (self._stdout_task, self._stderr_task):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self._log.close()

    @property
    def returncode(self) -> int | None:
        """The Node process's exit code, None while it runs."""
        return self._proc.returncode

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- commands ------------------------------------------------------------

    async def init(
        self,
        homeserver: str,
        user_id: str,
        *,
        password: str | None = None,
        access_token: str | None = None,
        device_id: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Log in (password → new device; or reuse ``access_token`` + ``device_id``),
        start Rust crypto in memory and sync once. Give the password even with a
        token if :meth:`bootstrap_cross_signing` will be used.

        -> ``{user_id, device_id, crypto_version, ed25519, curve25519}``
        """
        result = await self.request(
            "init",
            homeserver=homeserver,
            user_id=user_id,
            password=password,
            access_token=access_token,
            device_id=device_id,
            timeout=timeout,
        )
        self.user_id = result["user_id"]
        self.device_id = result["device_id"]
        return result

    async def set_strict(self, strict: bool = True) -> None:
        """strict: ``OnlySignedDevicesIsolationMode`` (Element's "exclude insecure
        devices", MSC4153); False: the default ``AllDevicesIsolationMode``."""
        await self.request("set_strict", strict=strict)

    async def bootstrap_cross_signing(self, *, reset: bool = False) -> dict[str, Any]:
        """Create/upload cross-signing keys and sign this device, as Element does
        at first login (``reset``: replace existing ones). -> ``{ready, master_key}``"""
        return await self.request("bootstrap_cross_signing", reset=reset)

    async def bootstrap_secret_storage(self, passphrase: str) -> dict[str, Any]:
        """Cross-signing plus secret storage keyed by a security phrase (m.pbkdf2)
        -> ``{ready, master_key, key_id}``."""
        return await self.request("bootstrap_secret_storage", passphrase=passphrase)

    async def create_room(
        self,
        invite: list[str] | None = None,
        *,
        name: str | None = None,
        dm: bool = False,
        timeout: float = 30.0,
    ) -> str:
        """Create an encrypted room inviting ``invite``; returns its room id."""
        result = await self.request(
            "create_room", invite=invite or [], name=name, dm=dm, timeout=timeout
        )
        return str(result["room_id"])

    async def create_dm(self, user_id: str, *, timeout: float = 30.0) -> str:
        """Create an encrypted direct chat with ``user_id`` (``is_direct``, m.direct)."""
        result = await self.request("create_dm", user_id=user_id, timeout=timeout)
        return str(result["room_id"])

    async def wait_invite(
        self, from_user: str | None = None, *, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Next invite not reported before -> ``{room_id, inviter, is_direct}``."""
        return await self.request("wait_invite", timeout=timeout, **{"from": from_user})

    async def join(self, room_id: str, *, timeout: float = 30.0) -> None:
        await self.request("join", room_id=room_id, timeout=timeout)

    async def wait_joined(self, room_id: str, user_id: str, *, timeout: float = 30.0) -> None:
        """Wait until ``user_id`` has joined; send only after that, or the new
        member gets no room key for the message."""
        await self.request("wait_joined", room_id=room_id, user_id=user_id, timeout=timeout)

    async def send(
        self, room_id: str, body: str, *, msgtype: str = "m.text", timeout: float = 30.0
    ) -> str:
        """Send a message; returns its event id."""
        result = await self.request(
            "send", room_id=room_id, body=body, msgtype=msgtype, timeout=timeout
        )
        return str(result["event_id"])

    async def wait_message(
        self, room_id: str, sender: str, *, timeout: float = 30.0, grace: float = 3.0
    ) -> dict[str, Any]:
        """Next unreported message from ``sender`` in ``room_id``.

        A message that cannot be decrypted is reported (``decryption_failed``)
        only after ``grace`` seconds, as its key may still arrive.

        -> ``{event_id, room_id, sender, type, encrypted, body, msgtype, content,
        decryption_failed, decryption_failure_reason, shield}`` where ``shield``
        is ``{"colour": "NONE"|"GREY"|"RED", "reason": None|"UNSIGNED_DEVICE"|...}``
        (None for unencrypted or undecryptable events).
        """
        return await self.request(
            "wait_message", room_id=room_id, sender=sender, timeout=timeout, grace=grace
        )

    async def user_verification_status(self, user_id: str) -> dict[str, Any]:
        """-> ``{has_cross_signing_keys, is_verified, cross_signing_verified,
        was_cross_signing_verified, needs_user_approval}``"""
        return await self.request("user_verification_status", user_id=user_id)

    async def wait_user_verified(self, user_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until we see ``user_id`` as cross-signing verified (after a SAS
        it takes a sync or two); returns :meth:`user_verification_status`."""
        return await self.request("wait_user_verified", user_id=user_id, timeout=timeout)

    async def device_info(self, user_id: str) -> list[dict[str, Any]]:
        """``user_id``'s devices: ``[{device_id, display_name, verified, keys,
        algorithms, signed_by_owner, cross_signing_verified, locally_verified,
        is_verified}]``"""
        result = await self.request("device_info", user_id=user_id)
        devices: list[dict[str, Any]] = result["devices"]
        return devices

    async def pin_identity(self, user_id: str) -> None:
        """Accept ``user_id``'s changed identity (dismisses the warning)."""
        await self.request("pin_identity", user_id=user_id)

    async def to_device_log(self) -> list[dict[str, Any]]:
        """``[{type, sender}]`` of every to-device event the member received."""
        result = await self.request("to_device_log")
        events: list[dict[str, Any]] = result["events"]
        return events

    # Interactive (SAS/emoji) verification. Initiator: verify_request ->
    # verify_start_sas -> verify_confirm. Responder: verify_wait_incoming ->
    # verify_accept -> verify_wait_sas -> verify_confirm. Each returns the
    # request's description: {verification (handle), transaction_id, room_id,
    # other_user_id, other_device_id, initiated_by_me, phase, chosen_method,
    # cancellation_code, cancelling_user_id, verify_error};
    # the *_sas ones add {emoji: [{emoji, name}], decimal: [int, int, int]}.

    async def verify_request(
        self, user_id: str, *, room_id: str | None = None, device_id: str | None = None
    ) -> dict[str, Any]:
        """Request verification: in ``room_id`` (a DM, as Element does for other
        users), or to-device to ``device_id``."""
        return await self.request(
            "verify_request", user_id=user_id, room_id=room_id, device_id=device_id
        )

    async def verify_wait_incoming(
        self, from_user: str | None = None, *, timeout: float = 30.0
    ) -> dict[str, Any]:
        return await self.request("verify_wait_incoming", timeout=timeout, **{"from": from_user})

    async def verify_accept(self, verification: str) -> dict[str, Any]:
        return await self.request("verify_accept", verification=verification)

    async def verify_start_sas(self, verification: str, *, timeout: float = 30.0) -> dict[str, Any]:
        """Start SAS once the request is ready; returns when the emoji are
        known, i.e. after the other side accepted (run a js counterpart's
        :meth:`verify_wait_sas` concurrently)."""
        return await self.request("verify_start_sas", verification=verification, timeout=timeout)

    async def verify_wait_sas(self, verification: str, *, timeout: float = 30.0) -> dict[str, Any]:
        return await self.request("verify_wait_sas", verification=verification, timeout=timeout)

    async def verify_confirm(self, verification: str, *, timeout: float = 30.0) -> dict[str, Any]:
        return await self.request("verify_confirm", verification=verification, timeout=timeout)

    async def verify_mismatch(self, verification: str) -> dict[str, Any]:
        return await self.request("verify_mismatch", verification=verification)

    async def verify_cancel(
        self, verification: str, *, code: str | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        return await self.request(
            "verify_cancel", verification=verification, code=code, reason=reason
        )

    async def verify_status(self, verification: str) -> dict[str, Any]:
        return await self.request("verify_status", verification=verification)
