"""The tiny line protocol between a benchmark and its bot child processes (both sides).

The child writes ``ready`` on stdout once its first sync is in. The parent may
then write, one per line on the child's stdin:

- ``cpu``  -> the child answers ``cpu <seconds>`` (``time.process_time()``, all
  threads of the child process);
- ``requests`` -> ``requests <json>``: homeserver requests by shape so far (counted
  only when $BENCH_COUNT_REQUESTS is set, see count_requests());
- ``quit`` (or closing stdin) -> the child stops cleanly and exits.

Everything else the child prints (logs, stray prints) goes to stderr: fd 1 is
redirected there so nothing can corrupt the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

_lock = threading.Lock()
_out: TextIO | None = None


def take_stdout() -> None:
    """Keep the real stdout for the protocol; send fd 1 to stderr from now on."""
    global _out
    _out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def die_with_parent() -> None:
    """SIGTERM this process when the bench parent dies (Linux only; best effort)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def say(line: str) -> None:
    assert _out is not None, "call take_stdout() first"
    with _lock:
        _out.write(line + "\n")
        _out.flush()


def serve(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Answer ``cpu`` requests from a thread; set `stop` on ``quit`` or EOF."""

    def reader() -> None:
        for line in sys.stdin:
            command = line.strip()
            if command == "cpu":
                say(f"cpu {time.process_time():.6f}")
            elif command == "requests":
                say(f"requests {requests_snapshot()}")
            elif command == "quit":
                break
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=reader, name="bench-control", daemon=True).start()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)


# -- optional diagnostic: count the homeserver requests a bot makes ---------------------

_requests: dict[str, int] = {}


def _shape(method: str, path: str) -> str:
    """`PUT /_matrix/client/v3/rooms/{}/send/{}/{}` from a concrete request path."""
    import re

    words = []
    for part in path.split("?", 1)[0].split("/"):
        words.append(part if re.fullmatch(r"[A-Za-z_.]*|v\d+|r0", part) else "{}")
    return f"{method.upper()} {'/'.join(words)}"


def count_requests() -> None:
    """With $BENCH_COUNT_REQUESTS set, count nio's requests by shape (reported by `requests`)."""
    if not os.environ.get("BENCH_COUNT_REQUESTS"):
        return
    from nio import AsyncClient

    original = AsyncClient.send

    async def send(self: AsyncClient, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        key = _shape(method, path)
        _requests[key] = _requests.get(key, 0) + 1
        return await original(self, method, path, *args, **kwargs)

    AsyncClient.send = send  # type: ignore[method-assign,unused-ignore]


def requests_snapshot() -> str:
    import json

    return json.dumps(_requests, sort_keys=True)


# -- the parent's side -----------------------------------------------------------------


class Child:
    """A bot process speaking this protocol, seen from the benchmark (the parent)."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path, name: str) -> None:
        self.proc = proc
        self.log = log
        self.name = name

    @classmethod
    async def spawn(cls, name: str, argv: list[str], log: Path, *, cwd: Path,
                    env: dict[str, str] | None = None) -> Child:
        """Start `python argv...`; its stderr goes to `log`."""
        with log.open("ab") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, *argv,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err,
                cwd=cwd, env={**os.environ, **(env or {})},
            )
        return cls(proc, log, name)

    async def line(self, timeout: float = 60) -> str:  # noqa: ASYNC109
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not raw:
            raise RuntimeError(f"{self.name} exited (code {await self.proc.wait()})" + self.tail())
        return raw.decode().strip()

    async def wait_ready(self, timeout: float = 90) -> None:  # noqa: ASYNC109
        try:
            line = await self.line(timeout)
        except TimeoutError:
            raise RuntimeError(f"{self.name} not ready within {timeout:.0f} s" + self.tail()) from None
        if line != "ready":
            raise RuntimeError(f"{self.name}: unexpected {line!r}" + self.tail())

    async def ask(self, command: str, timeout: float = 60) -> str:  # noqa: ASYNC109
        """Send a command; return the value of the answer that starts with the command's word."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()
        line = await self.line(timeout)
        word, _, value = line.partition(" ")
        if word != command:
            raise RuntimeError(f"{self.name}: unexpected {line!r}")
        return value

    async def cpu(self) -> float:
        return float(await self.ask("cpu", 10))

    async def requests(self) -> dict[str, int]:
        import json

        return dict(json.loads(await self.ask("requests", 10)))

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"quit\n")
                await self.proc.stdin.drain()
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.terminate()
                try:
                    await asyncio.wait_for(self.proc.wait(), 5)
                except TimeoutError:
                    self.proc.kill()
                    await self.proc.wait()
        # Let the transport see the pipes closed before the loop ends.
        await asyncio.sleep(0)

    def tail(self, limit: int = 3000) -> str:
        try:
            text = self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""
        return f"\n--- {self.log} (tail) ---\n{text}" if text else ""
