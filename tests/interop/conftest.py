"""Fixtures for the interop tests: a session Synapse and js-sdk members.

Everything here skips (with the reason from :func:`js_member_unavailable`)
when Node or the pinned npm packages are missing, before any Synapse starts.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.homeserver import LocalSynapse, RegisteredUser
from tests.interop.bot_helpers import InteropBot, MakeBot, RegisterUser, SpawnMember
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



@pytest.fixture
def register_user(interop_synapse: LocalSynapse) -> RegisterUser:
    """``await register_user("alice")`` -> a fresh ``@alice-<n>:localhost``."""

    async def register(prefix: str) -> RegisteredUser:
        name = f"{prefix}-{next(_user_numbers)}"
        return await interop_synapse.register(name, f"{name}-password")

    return register



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


@pytest.fixture
async def make_bot(
    interop_synapse: LocalSynapse, register_user: RegisterUser, tmp_path: Path
) -> AsyncIterator[MakeBot]:
    """``await make_bot(cross_signing=True, **crypto)`` -> a started :class:`InteropBot`.

    ``user`` runs the bot on an account registered (and perhaps set up) before;
    ``recovery_key`` is what ``--recovery-key-file`` would hold.
    """
    bots: list[InteropBot] = []

    async def factory(
        *, cross_signing: bool = True, user: RegisteredUser | None = None,
        recovery_key: str | None = None, **crypto: Any,
    ) -> InteropBot:
        user = user or await register_user("bot")
        secret_dir = tmp_path / f"{user.user_id.split(':')[0].lstrip('@')}-{len(bots)}"
        secret_dir.mkdir()
        (secret_dir / "password").write_text(user.password)
        (secret_dir / "passphrase").write_text("interop store passphrase")
        running = InteropBot(
            interop_synapse,
            secret_dir,
            user.user_id,
            cross_signing=cross_signing,
            crypto=crypto,
            data_dirs=[secret_dir / "data0"],
        )
        bots.append(running)
        await running.start(recovery_key=recovery_key)
        return running

    try:
        yield factory
    finally:
        for running in bots:
            await running.stop()
