"""One real Synapse per test session, and factories for bots and E2EE members."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bots.admin import AdminPlugin
from core.bot import Bot
from core.config import Config
from core.homeserver import LocalSynapse, RegisteredUser
from core.matrix.member import Member
from tests.integration.plugins import BoomPlugin, EchoPlugin

_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid()}x{next(_names)}"


@pytest.fixture(scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    hs = LocalSynapse(tmp_path_factory.mktemp("synapse"))
    try:
        await hs.start()
        yield hs
    finally:
        await hs.stop()


@dataclass
class RunningBot:
    """A bot running its sync loop in a task; `restart` keeps its data dir."""

    config: Config
    plugins: list[Any]
    bot: Bot | None = None
    task: asyncio.Task[None] | None = None
    replies_sent: list[str] = field(default_factory=list)

    @property
    def user_id(self) -> str:
        return self.config.matrix.user_id

    async def start(self) -> None:
        self.bot = Bot(self.config, plugins=self.plugins)
        await self.bot.start()
        self.task = asyncio.create_task(self.bot.run())
        await asyncio.wait_for(self.bot.ready.wait(), 30)

    async def stop(self) -> None:
        if self.bot is None:
            return
        self.bot.stop()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        await self.bot.close()
        self.bot = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest.fixture
async def make_bot_on(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[RunningBot]]]:
    """Start bots on a given homeserver: `await make_bot_on(hs, **bot_options)`."""
    bots: list[RunningBot] = []

    async def factory(
        synapse: LocalSynapse, *, plugins: list[Any] | None = None,
        crypto: dict[str, Any] | None = None, **bot_options: Any
    ) -> RunningBot:
        name = unique("bot")
        password = "bot-password-" + name
        await synapse.register(name, password)
        secret_dir = tmp_path / name
        secret_dir.mkdir()
        (secret_dir / "password").write_text(password)
        (secret_dir / "passphrase").write_text("test store passphrase")
        bot_section = {"invites": {"allowed_servers": ["localhost"]}, **bot_options}
        config = Config.model_validate({
            "matrix": {"homeserver": synapse.url, "user_id": f"@{name}:localhost",
                       "password": {"file": str(secret_dir / "password")}},
            "storage": {"data_dir": str(secret_dir / "data"),
                        "store_passphrase": {"file": str(secret_dir / "passphrase")}},
            "bot": bot_section,
            # nio test members are not cross-signed; test_trust*.py passes the real policy.
            "crypto": crypto or {"trust": "all"},
        })
        running = RunningBot(config, plugins or [AdminPlugin, EchoPlugin, BoomPlugin])
        bots.append(running)
        await running.start()
        return running

    try:
        yield factory
    finally:
        for running in bots:
            await running.stop()


@pytest.fixture
async def make_bot(
    synapse: LocalSynapse, make_bot_on: Callable[..., Awaitable[RunningBot]]
) -> Callable[..., Awaitable[RunningBot]]:
    async def factory(**options: Any) -> RunningBot:
        return await make_bot_on(synapse, **options)

    return factory


@pytest.fixture
async def make_member_on(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Member]]]:
    """E2EE members on a given homeserver: `await make_member_on(hs)`."""
    members: list[Member] = []

    async def factory(synapse: LocalSynapse, *, admin: bool = False) -> Member:
        name = unique("member")
        user: RegisteredUser = await synapse.register(name, "member-password", admin=admin)
        member = Member(synapse.url, user.user_id, tmp_path / name)
        members.append(member)
        await member.login_with_token(user.user_id, user.device_id, user.access_token)
        await member.start()
        return member

    try:
        yield factory
    finally:
        for member in members:
            await member.close()


@pytest.fixture
async def make_member(
    synapse: LocalSynapse, make_member_on: Callable[..., Awaitable[Member]]
) -> Callable[..., Awaitable[Member]]:
    async def factory(**options: Any) -> Member:
        return await make_member_on(synapse, **options)

    return factory


async def room_with_bot(member: Member, bot: RunningBot, *, encrypted: bool = True,
                        name: str = "Solidarity demo") -> str:
    """An encrypted room created by `member` (its admin) that the bot has joined.

    With only the member and the bot it is their DM (core/dms.py), named or not,
    unless it is one of the network's rooms.
    """
    room_id = await member.create_room(invite=[bot.user_id], encrypted=encrypted, name=name)
    await member.wait_member(room_id, bot.user_id)
    assert bot.bot is not None
    connection = bot.bot.connection

    async def bot_knows_room() -> None:
        while room_id not in connection.nio.rooms or (
            encrypted and not connection.is_encrypted(room_id)
        ):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(bot_knows_room(), 30)
    return room_id
