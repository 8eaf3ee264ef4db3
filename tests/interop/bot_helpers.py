"""The real Solidarity bot and strict Element-crypto members, for the interop tests.

:class:`InteropBot` runs a bot (Admin + Echo plugins) on the interop Synapse;
the ``make_bot`` fixture (in ``conftest.py``) builds them. The helpers wait
for what a member sees of the bot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bots.admin import AdminPlugin
from core.bot import Bot
from core.config import Config
from core.homeserver import LocalSynapse, RegisteredUser
from tests.integration.plugins import EchoPlugin
from tests.interop.member import JsMember

RegisterUser = Callable[[str], Awaitable[RegisteredUser]]
SpawnMember = Callable[[RegisteredUser], Awaitable[JsMember]]

NO_SHIELD = {"colour": "NONE", "reason": None}
# How long the helpers here wait for the bot or the member to catch up.
WAIT_SECONDS = 30.0


def echo_body(text: str) -> str:
    """EchoPlugin's answer: the member's text isolated with U+2068/U+2069."""
    return f"echo: \u2068{text}\u2069"


@dataclass
class InteropBot:
    """A real Solidarity bot (Admin + Echo plugins) on the interop Synapse.

    ``fresh_store`` moves the data dir aside, so the next ``start`` logs in as
    a new device with the password, like an operator who lost the store.
    """

    synapse: LocalSynapse
    secret_dir: Path
    user_id: str
    cross_signing: bool = True
    crypto: dict[str, Any] = field(default_factory=dict)  # more crypto.* settings
    data_dirs: list[Path] = field(default_factory=list)
    bot: Bot | None = None
    task: asyncio.Task[None] | None = None

    @property
    def data_dir(self) -> Path:
        return self.data_dirs[-1]

    def config(self) -> Config:
        return Config.model_validate(self.config_data())

    def config_file(self) -> Path:
        """The configuration as an operator's YAML file (for CLI commands)."""
        path = self.secret_dir / "config.yaml"
        path.write_text(yaml.safe_dump(self.config_data()), encoding="utf-8")
        return path

    def config_data(self) -> dict[str, Any]:
        return ({
            "matrix": {
                "homeserver": self.synapse.url,
                "user_id": self.user_id,
                "password": {"file": str(self.secret_dir / "password")},
            },
            "storage": {
                "data_dir": str(self.data_dir),
                "store_passphrase": {"file": str(self.secret_dir / "passphrase")},
            },
            "bot": {"invites": {"allowed_servers": ["localhost"]}},
            "crypto": {"cross_signing": self.cross_signing, **self.crypto},
        })

    async def start(self, *, recovery_key: str | None = None) -> Bot:
        self.bot = Bot(self.config(), plugins=[AdminPlugin, EchoPlugin], recovery_key=recovery_key)
        await self.bot.start()
        self.task = asyncio.create_task(self.bot.run())
        await asyncio.wait_for(self.bot.connection.synced.wait(), WAIT_SECONDS)
        return self.bot

    async def stop(self) -> None:
        if self.bot is None:
            return
        self.bot.stop()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        await self.bot.close()
        self.bot = None
        self.task = None

    def fresh_store(self) -> Path:
        """Use a new, empty data dir; returns the old one (left untouched)."""
        old = self.data_dir
        self.data_dirs.append(self.secret_dir / f"data{len(self.data_dirs)}")
        return old

    @property
    def device_id(self) -> str:
        assert self.bot is not None
        return str(self.bot.connection.nio.device_id)

    async def wait_knows_encrypted_room(self, room_id: str) -> None:
        """Wait until the bot has synced ``room_id`` and knows it is encrypted."""
        assert self.bot is not None
        connection = self.bot.connection
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                if room_id in connection.nio.rooms and connection.is_encrypted(room_id):
                    return
                await asyncio.sleep(0.05)


MakeBot = Callable[..., Awaitable[InteropBot]]


async def strict_member(
    register_user: RegisterUser, js_member: SpawnMember, prefix: str = "alice"
) -> tuple[JsMember, RegisteredUser]:
    """A js member with its own cross-signing, in strict isolation mode."""
    user = await register_user(prefix)
    member = await js_member(user)
    assert (await member.bootstrap_cross_signing())["ready"] is True
    await member.set_strict(True)
    return member, user


async def published_master_key(user: RegisteredUser, of_user: str) -> str:
    """``of_user``'s master key as the homeserver publishes it (``/keys/query``)."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{user.homeserver}/_matrix/client/v3/keys/query",
            json={"device_keys": {of_user: []}},
            headers={"Authorization": f"Bearer {user.access_token}"},
        ) as resp,
    ):
        resp.raise_for_status()
        body: dict[str, Any] = await resp.json()
    keys = body["master_keys"][of_user]["keys"]
    assert len(keys) == 1
    return str(next(iter(keys.values())))


async def wait_device_signed(member: JsMember, user_id: str, device_id: str) -> dict[str, Any]:
    """Poll the member's view of ``user_id``'s devices until ``device_id`` is
    there and signed by its owner (a new device's keys and its signature come
    in separate device-list updates); return that device's info."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        devices = {d["device_id"]: d for d in await member.device_info(user_id)}
        device = devices.get(device_id)
        if device is not None and device["signed_by_owner"]:
            return device
        if time.monotonic() > deadline:
            raise AssertionError(f"{device_id} not signed by its owner for the member: {devices}")
        await asyncio.sleep(0.2)


async def echo_round_trip(
    member: JsMember, bot: InteropBot, room_id: str, text: str
) -> dict[str, Any]:
    """``!echo <text>`` from the member; returns the bot's answer as decrypted."""
    await member.send(room_id, f"!echo {text}")
    return await member.wait_message(room_id, bot.user_id, timeout=30)


def assert_trusted_answer(reply: dict[str, Any], text: str) -> None:
    assert reply["encrypted"] is True
    assert reply["decryption_failed"] is False, reply["decryption_failure_reason"]
    assert reply["msgtype"] == "m.notice"
    assert reply["body"] == echo_body(text)
    assert reply["shield"] == NO_SHIELD


def assert_identity_trusted(status: dict[str, Any]) -> None:
    """Cross-signed, trusted on first use, not verified, no identity warning."""
    assert status["has_cross_signing_keys"] is True
    assert status["needs_user_approval"] is False
    assert status["was_cross_signing_verified"] is False
    assert status["is_verified"] is False
