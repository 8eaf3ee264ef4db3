"""`solidarity demo`: a throwaway Synapse on 127.0.0.1, the bot, and a member to try it with."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import tempfile
from pathlib import Path

from core.bot import Bot
from core.config import Config
from core.homeserver import LocalSynapse
from core.matrix.member import Member

SCRIPT = [
    "!help",
    "!help config",
    "!plugins",
    "!config admin",
    "!config admin min_role nobody",
    "!frobnicate",
    "!language ar",
    "!help",
    "!language en",
]


def _secret_file(directory: Path, name: str) -> Path:
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(18))
    return path


def demo_config(homeserver: str, data_dir: Path) -> Config:
    return Config.model_validate({
        "matrix": {
            "homeserver": homeserver,
            "user_id": "@solidarity:localhost",
            "password": {"file": str(data_dir / "bot-password")},
        },
        "storage": {
            "data_dir": str(data_dir / "bot"),
            "store_passphrase": {"file": str(data_dir / "store-passphrase")},
        },
        "bot": {"invites": {"allowed_servers": ["localhost"]}},
        # The demo's scripted member is a plain nio client without
        # cross-signing; a real deployment keeps the default (cross_signed).
        "crypto": {"trust": "all"},
    })


async def run_demo(*, script: bool, data_dir: Path | None) -> int:
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="solidarity-")))
        data_dir.mkdir(parents=True, exist_ok=True)
        return await _demo(data_dir, script)
    return 1  # pragma: no cover - ExitStack never swallows here


async def _demo(data_dir: Path, script: bool) -> int:
    print("Starting a throwaway Synapse on 127.0.0.1 ...", flush=True)
    synapse = LocalSynapse(data_dir / "synapse")
    await synapse.start()
    bot: Bot | None = None
    member: Member | None = None
    run_task: asyncio.Task[None] | None = None
    try:
        bot_password = _secret_file(data_dir, "bot-password")
        _secret_file(data_dir, "store-passphrase")
        await synapse.register("solidarity", bot_password.read_text())
        member_password = secrets.token_urlsafe(12)
        person = await synapse.register("demo", member_password, admin=True)
        bot = Bot(demo_config(synapse.url, data_dir))
        await bot.start()
        run_task = asyncio.create_task(bot.run())
        member = Member(synapse.url, person.user_id, data_dir / "member")
        await member.login_with_token(person.user_id, person.device_id, person.access_token)
        await member.start()
        room_id = await member.create_room(invite=[bot.config.matrix.user_id])
        await member.wait_member(room_id, bot.config.matrix.user_id)
        for plugin in bot.plugin_classes:
            await bot.runtime.settings.set_enabled(room_id, plugin, True)
        if script:
            return await _script(member, room_id)
        print(
            "\nSolidarity is running in an encrypted room called 'Solidarity demo'.\n"
            f"  Homeserver: {synapse.url}\n"
            f"  User:       {person.user_id}   (or just: demo)\n"
            f"  Password:   {member_password}\n"
            "Log in with Element (Desktop, or Element Web served over http) using a custom\n"
            "homeserver, open the room and send !help. Press Ctrl-C to stop; everything\n"
            "is thrown away.\n",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        return 0
    finally:
        if member is not None:
            await member.close()
        if bot is not None:
            bot.stop()
            if run_task is not None:
                await asyncio.gather(run_task, return_exceptions=True)
            await bot.close()
        await synapse.stop()


async def _script(member: Member, room_id: str) -> int:
    failures = 0
    for line in SCRIPT:
        print(f"\n{member.user_id}> {line}", flush=True)
        try:
            reply = await member.ask(room_id, line, timeout=30)
        except TimeoutError:
            print("  (no answer within 30 s)")
            failures += 1
            continue
        shield = "encrypted" if reply.encrypted else "NOT ENCRYPTED"
        print(f"bot ({shield})> " + reply.body.replace("\n", "\n    "), flush=True)
        if not reply.encrypted:
            failures += 1
    print(f"\n{len(SCRIPT) - failures} of {len(SCRIPT)} commands answered in an encrypted room.")
    return 0 if failures == 0 else 1
