"""A fault-injecting proxy in front of a real Synapse: what a homeserver under strain does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from core.homeserver import LocalSynapse, RegisteredUser


@dataclass
class FailingSends:
    """Answers 500 to this many message sends (PUT .../send/...), then forwards again."""

    remaining: int = 0
    failed: int = 0
    forwarded_sends: list[str] = field(default_factory=list)


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
            response = web.Response(body=payload, status=upstream.status)
            for key, value in upstream.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    response.headers[key] = value
            return response
