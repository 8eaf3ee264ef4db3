"""Fixtures for the interop tests: a session Synapse and js-sdk members.

Everything here skips (with the reason from :func:`js_member_unavailable`)
when Node or the pinned npm packages are missing, before any Synapse starts.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from core.homeserver import LocalSynapse, RegisteredUser
from tests.interop.member import JsMember, js_member_unavailable

# Unique user names across the session (one Synapse serves every test).
_user_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def js_member_ready() -> None:
    """Skip the test if the js member cannot run (no Node, no `npm ci`)."""
    reason = js_member_unavailable()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
async def interop_synapse(
    js_member_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LocalSynapse]:
    """One Synapse for all interop tests (starting one costs about a second)."""
    hs = LocalSynapse(tmp_path_factory.mktemp("interop-synapse"))
    try:
        await hs.start()
        yield hs
    finally:
        await hs.stop()


RegisterUser = Callable[[str], Awaitable[RegisteredUser]]


@pytest.fixture
def register_user(interop_synapse: LocalSynapse) -> RegisterUser:
    """``await register_user("alice")`` -> a fresh ``@alice-<n>:localhost``."""

    async def register(prefix: str) -> RegisteredUser:
        name = f"{prefix}-{next(_user_numbers)}"
        return await interop_synapse.register(name, f"{name}-password")

    return register


SpawnMember = Callable[[RegisteredUser], Awaitable[JsMember]]


@pytest.fixture
async def js_member(js_member_ready: None, tmp_path: Path) -> AsyncIterator[SpawnMember]:
    """``await js_member(user)`` -> a started, initialised js-sdk member.

    It reuses the registered device (access token) and knows the password for
    cross-signing. Its log (js-sdk output plus a request/response trace) is
    ``<tmp_path>/<localpart>-js.log``. All members are closed at teardown.
    """
    members: list[JsMember] = []

    async def spawn(user: RegisteredUser) -> JsMember:
        localpart = user.user_id.split(":")[0].lstrip("@")
        member = await JsMember.spawn(tmp_path / f"{localpart}-js.log", name=localpart)
        members.append(member)
        await member.init(
            user.homeserver,
            user.user_id,
            password=user.password,
            access_token=user.access_token,
            device_id=user.device_id,
        )
        return member

    try:
        yield spawn
    finally:
        for member in members:
            await member.close()
