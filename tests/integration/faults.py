"""A fault-injecting proxy in front of a real Synapse: what a homeserver under strain does."""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite
from aiohttp import web

from core.homeserver import LocalSynapse, RegisteredUser
from core.storage import Database


class ReadOnlyDatabase:
    """Makes a database file refuse writes, for real, under a bot that has it open.

    As root, permission bits are ignored, so the file and its -wal get the
    immutable attribute (`chattr +i`): root honours it, and the kernel then
    refuses writes even through descriptors opened before, which is what a
    disk remounted read-only does to a running bot. The -shm is never made
    immutable: it is memory-mapped, and writing an immutable mapping kills
    the process (SIGBUS).

    As another user, the file, its -wal and the folder lose their write bits
    (new connections open read-only); a descriptor opened before keeps its
    access, so the live connection is also put in SQLite's query_only mode.
    """

    def __init__(self, path: Path | str, live: Database | None = None) -> None:
        self.path = Path(path)
        self.live = live
        self.mechanism = "chattr +i" if os.geteuid() == 0 else "chmod a-w + query_only"
        self._files = [self.path, self.path.with_name(self.path.name + "-wal")]
        self._modes: dict[Path, int] = {}
        self._query_only: aiosqlite.Connection | None = None

    async def apply(self) -> None:
        files = [f for f in self._files if f.exists()]
        if os.geteuid() == 0:
            chattr = shutil.which("chattr")
            if chattr is None:
                raise RuntimeError("running as root: making a file read-only needs chattr")
            code, error = await _run(chattr, "+i", *map(str, files))
            if code != 0:
                raise RuntimeError(f"chattr +i failed here ({error}): this file system "
                                   "cannot make the database read-only for root")
            self._modes = {f: 0 for f in files}
            return
        for target in [*files, self.path.parent]:
            self._modes[target] = target.stat().st_mode & 0o777
            target.chmod(self._modes[target] & ~0o222)
        if self.live is not None:
            self._query_only = self.live.conn
            await self._query_only.execute("PRAGMA query_only=ON")

    async def restore(self) -> None:
        if os.geteuid() == 0:
            if self._modes:
                code, error = await _run("chattr", "-i", *map(str, self._modes))
                if code != 0:
                    raise RuntimeError(f"chattr -i failed: {error}")
        else:
            for target, mode in reversed(list(self._modes.items())):
                target.chmod(mode)
            if self.live is not None and self._query_only is self.live._conn:
                await self._query_only.execute("PRAGMA query_only=OFF")
        self._modes = {}
        self._query_only = None


async def _run(*command: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    return process.returncode or 0, stderr.decode(errors="replace").strip()


@dataclass
class FailingSends:
    """Answers 500 to this many message sends (PUT .../send/...), then forwards again."""

    remaining: int = 0
    failed: int = 0
    forwarded_sends: list[str] = field(default_factory=list)
    # Sends the homeserver itself refused with 429 (its own rate limits).
    rate_limited: int = 0


class FaultyProxy:
    """Forwards every request to Synapse, except the sends `faults` says to fail."""

    def __init__(self, synapse: LocalSynapse) -> None:
        self.synapse = synapse
        self.faults = FailingSends()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def register(self, name: str, password: str, **options: Any) -> RegisteredUser:
        return await self.synapse.register(name, password, **options)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        is_send = request.method == "PUT" and "/send/" in request.path
        if is_send and self.faults.remaining > 0:
            self.faults.remaining -= 1
            self.faults.failed += 1
            return web.json_response({"errcode": "M_UNKNOWN", "error": "injected"}, status=500)
        if is_send:
            self.faults.forwarded_sends.append(request.path)
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self._session.request(
            request.method, self.synapse.url + request.path_qs, data=body, headers=headers,
            timeout=aiohttp.ClientTimeout(total=120),
        ) as upstream:
            payload = await upstream.read()
            if is_send and upstream.status == 429:
                self.faults.rate_limited += 1
            response = web.Response(body=payload, status=upstream.status)
            for key, value in upstream.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    response.headers[key] = value
            return response
