"""The tiny line protocol between bench/roundtrip.py and a bot child process.

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
