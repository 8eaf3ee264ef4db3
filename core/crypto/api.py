"""The few client-server API calls cross-signing needs, over plain aiohttp.

matrix-nio has no cross-signing endpoints, and keeping this code free of nio
lets the CLI run ``solidarity identity ...`` without a sync loop or crypto
store. Only what the identity code needs is here: account data, key queries
and raw POSTs (user-interactive auth is handled by the caller, which knows
what the request was for).

Nothing in this module logs request or response bodies: they carry keys,
encrypted secrets and, during user-interactive auth, the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from .errors import HomeserverError

__all__ = ["CrossSigningSession", "MatrixApi"]

log = logging.getLogger(__name__)

# Homeservers answer 429 with retry_after_ms; honour it a few times, but never
# wait so long that a start-up hangs silently.
_MAX_RATE_LIMIT_RETRIES = 5
_MAX_RATE_LIMIT_WAIT_S = 30.0
_DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CrossSigningSession:
    """What the identity code needs to act as the bot's device on its homeserver.

    ``password`` is only needed for user-interactive auth, i.e. when cross-signing
    keys are replaced (``reset_identity``); it may be ``None`` otherwise.
    ``device_ed25519`` is the device's own Ed25519 identity key as the local
    crypto store knows it (e.g. nio's ``client.olm.account.identity_keys``):
    when given, the device keys the homeserver returns are checked against it
    before we sign them, so a lying homeserver cannot make us cross-sign a
    key it made up.
    """

    homeserver: str
    user_id: str
    device_id: str
    access_token: str = field(repr=False)
    password: str | None = field(default=None, repr=False)
    device_ed25519: str | None = None


def _quote(segment: str) -> str:
    """Percent-encode one path segment (user ids contain '@' and ':')."""
    return quote(segment, safe="")


class MatrixApi:
    """An authenticated JSON client for ``/_matrix/client/v3`` endpoints.

    Use as an async context manager. Pass ``http`` to reuse an existing aiohttp
    session (it is then left open); otherwise one is created and closed here.
    """

    def __init__(
        self,
        session: CrossSigningSession,
        http: aiohttp.ClientSession | None = None,
        *,
        timeout_s: float = _DEFAULT_TIMEOUT_S,
    ) -> None:
        self.session = session
        self._base = session.homeserver.rstrip("/") + "/_matrix/client/v3"
        self._http = http
        self._owns_http = http is None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def __aenter__(self) -> MatrixApi:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None

    async def raw(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Send one request and return ``(status, json_body)`` without judging it.

        Rate limiting (429) is retried here; every other status is the caller's
        to interpret, which user-interactive auth (401 with ``flows``) needs.
        Network failures become :class:`HomeserverError`.
        """
        if self._http is None:
            raise RuntimeError("MatrixApi must be used as 'async with MatrixApi(...)'")
        url = self._base + path
        headers = {"Authorization": f"Bearer {self.session.access_token}"}
        for attempt in range(_MAX_RATE_LIMIT_RETRIES + 1):
            try:
                async with self._http.request(
                    method, url, json=body, headers=headers, timeout=self._timeout
                ) as response:
                    status = response.status
                    text = await response.text()
                    retry_header = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                # The exception text names the URL at most, never headers or body.
                raise HomeserverError(
                    f"could not reach the homeserver for {method} {path.split('?')[0]}: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            data = _parse_json(text)
            if status == 429 and attempt < _MAX_RATE_LIMIT_RETRIES:
                wait = _retry_after(data, retry_header)
                log.info("rate limited by the homeserver; retrying in %.1f s", wait)
                await asyncio.sleep(wait)
                continue
            return status, data
        raise AssertionError("unreachable: the loop always returns")  # pragma: no cover

    async def call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send one request; return its JSON body, or raise :class:`HomeserverError`."""
        status, data = await self.raw(method, path, body)
        if status != 200:
            raise error_from_response(f"{method} {path}", status, data)
        return data

    async def get_account_data(self, event_type: str) -> dict[str, Any] | None:
        """Global account data of type ``event_type``, or ``None`` if never set."""
        path = f"/user/{_quote(self.session.user_id)}/account_data/{_quote(event_type)}"
        status, data = await self.raw("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise error_from_response(f"GET account data {event_type}", status, data)
        return data

    async def put_account_data(self, event_type: str, content: Mapping[str, Any]) -> None:
        """Set global account data of type ``event_type`` to ``content``."""
        path = f"/user/{_quote(self.session.user_id)}/account_data/{_quote(event_type)}"
        status, data = await self.raw("PUT", path, content)
        if status != 200:
            raise error_from_response(f"PUT account data {event_type}", status, data)

    async def query_keys(
        self, user_ids: Sequence[str], *, device_ids: Sequence[str] = ()
    ) -> dict[str, Any]:
        """``POST /keys/query`` for ``user_ids`` (all devices unless ``device_ids``)."""
        body = {"device_keys": {user: list(device_ids) for user in user_ids}}
        return await self.call("POST", "/keys/query", body)


def _parse_json(text: str) -> dict[str, Any]:
    """Parse a response body; non-JSON or non-object bodies become ``{}``."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(data: Mapping[str, Any], header: str | None) -> float:
    """Seconds to wait after a 429, from the body or the Retry-After header."""
    wait = 1.0
    retry_ms = data.get("retry_after_ms")
    if isinstance(retry_ms, int | float) and not isinstance(retry_ms, bool):
        wait = retry_ms / 1000
    elif header is not None:
        # A Retry-After that is an HTTP date, not seconds, keeps the default wait.
        with contextlib.suppress(ValueError):
            wait = float(header)
    return min(max(wait, 0.0), _MAX_RATE_LIMIT_WAIT_S)


def error_from_response(what: str, status: int, data: Mapping[str, Any]) -> HomeserverError:
    """Build a :class:`HomeserverError` naming the request, status and errcode."""
    errcode = data.get("errcode")
    error = data.get("error")
    errcode_s = errcode if isinstance(errcode, str) else None
    detail = f"{errcode_s}: {error}" if errcode_s else f"{error or 'no error message'}"
    return HomeserverError(
        f"homeserver refused {what.split('?')[0]} (HTTP {status}, {detail})",
        status=status,
        errcode=errcode_s,
    )
