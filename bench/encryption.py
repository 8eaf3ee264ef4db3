"""Encryption costs: the bot's first message in a big room vs the second, and cross-signing bootstrap.

    .venv/bin/python bench/encryption.py                 # 50 members x 2 devices, 3 bots per mode
    .venv/bin/python bench/encryption.py --members 10 --trials 1   # quick check

One throwaway Synapse (rate limits off). 50 members, each with two devices
(matrix-nio, device and one-time keys uploaded) and a cross-signed identity
made with core.crypto (so the default trust policy ``cross_signed`` shares
with all 100 devices), join one encrypted room. Then, for each trust mode
(``cross_signed``, ``all``, alternating), ``--trials`` fresh bots (new account, new device,
so no Olm session exists yet) are invited one after the other; once a bot has
joined and its background key query settled, it sends two messages:

* first message: ``/joined_members``, the trust check (``/keys/query`` of 50
  users, signatures checked), ``/keys/claim`` of 100 one-time keys, 100 Olm
  sessions created, the Megolm room key encrypted to each device and sent
  to-device, then the room event;
* second message: Megolm encryption and the room event only.

Also: cross-signing bootstrap time (``ensure_cross_signed_identity`` for an
account without an identity: three keys, secret storage, upload, device
signature) over the 50 members, and the bot's own at its start.

Nothing is asserted; figures depend on the machine (Synapse, the bot and the
members' setup share the CPU). Prints medians and each sample.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nio import AsyncClient, AsyncClientConfig, LoginResponse  # noqa: E402

from core.bot import Bot  # noqa: E402
from core.config import Config  # noqa: E402
from core.crypto import CrossSigningSession, ensure_cross_signed_identity  # noqa: E402
from core.homeserver import LocalSynapse  # noqa: E402
from core.plugin import message_content  # noqa: E402

PASSWORD = "bench-password"


@dataclass
class MemberDevices:
    user_id: str
    clients: list[AsyncClient]
    bootstrap_seconds: float


async def device(hs: LocalSynapse, user_id: str, store: Path, token: str | None = None,
                 device_id: str | None = None) -> AsyncClient:
    """A nio device with its device and one-time keys uploaded (it never syncs)."""
    await asyncio.to_thread(store.mkdir, parents=True)
    client = AsyncClient(hs.url, user_id, store_path=str(store),
                         config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False))
    if token and device_id:
        client.restore_login(user_id, device_id, token)
    else:
        response = await client.login(PASSWORD, device_name="bench")
        if not isinstance(response, LoginResponse):
            raise RuntimeError(f"login failed: {response}")
    await client.keys_upload()
    return client


def session_of(client: AsyncClient) -> CrossSigningSession:
    assert client.olm is not None
    return CrossSigningSession(
        homeserver=client.homeserver, user_id=str(client.user_id), device_id=str(client.device_id),
        access_token=str(client.access_token), password=PASSWORD,
        device_ed25519=client.olm.account.identity_keys["ed25519"],
    )


async def make_member(hs: LocalSynapse, work: Path, index: int, devices: int) -> MemberDevices:
    name = f"member{index}"
    user = await hs.register(name, PASSWORD)
    first = await device(hs, user.user_id, work / name / "d0", user.access_token, user.device_id)
    clients = [first]
    for number in range(1, devices):
        clients.append(await device(hs, user.user_id, work / name / f"d{number}"))
    identity = work / name / "identity.enc"
    started = time.perf_counter()
    await ensure_cross_signed_identity(session_of(first), local_store=identity, passphrase="p",
                                       recovery_key=None)
    bootstrap = time.perf_counter() - started
    for client in clients[1:]:  # sign the other devices with the same identity
        await ensure_cross_signed_identity(session_of(client), local_store=identity,
                                           passphrase="p", recovery_key=None)
    return MemberDevices(user.user_id, clients, bootstrap)


async def start_bot(hs: LocalSynapse, work: Path, name: str, trust: str) -> tuple[Bot, float]:
    await hs.register(name, PASSWORD)
    directory = work / name
    directory.mkdir()
    (directory / "password").write_text(PASSWORD)
    (directory / "passphrase").write_text("bench passphrase")
    config = Config.model_validate({
        "matrix": {"homeserver": hs.url, "user_id": f"@{name}:{hs.server_name}",
                   "password": {"file": str(directory / "password")}},
        "storage": {"data_dir": str(directory / "data"),
                    "store_passphrase": {"file": str(directory / "passphrase")}},
        "bot": {"invites": {"allowed_servers": [hs.server_name]}},
        "crypto": {"trust": trust},
        "logging": {"level": "WARNING"},
    })
    bot = Bot(config, plugins=[])
    await bot.db.open()
    await bot.connection.connect()
    started = time.perf_counter()
    await bot._ensure_identity()  # the bootstrap alone, timed
    bootstrap = time.perf_counter() - started
    await bot.connection.close()
    await bot.db.close()
    bot = Bot(config, plugins=[])
    await bot.start()  # restores the device and finds the identity in place
    return bot, bootstrap


async def wait_ready(bot: Bot, room_id: str, members: int) -> None:
    connection = bot.connection
    async with asyncio.timeout(120):
        while True:
            room = connection.nio.rooms.get(room_id)
            if room is not None and room.encrypted and len(room.users) >= members:
                break
            await asyncio.sleep(0.1)
        # Let the background device-list query after the join settle, as it would
        # long before a member's first command in production.
        await asyncio.sleep(1.0)
        while connection.nio.should_query_keys:  # noqa: ASYNC110 - nio offers no event for it
            await asyncio.sleep(0.1)


async def trial(hs: LocalSynapse, work: Path, creator: AsyncClient, room_id: str, name: str,
                trust: str, members: int) -> tuple[float, float, float, int, float]:
    bot, bootstrap = await start_bot(hs, work, name, trust)
    task = asyncio.create_task(bot.run())
    try:
        await asyncio.wait_for(bot.connection.synced.wait(), 60)
        await creator.room_invite(room_id, bot.config.matrix.user_id)
        await wait_ready(bot, room_id, members + 1)
        timings = []
        for number in (1, 2):
            content = message_content(f"bench message {number}")
            started = time.perf_counter()
            await bot.connection.send_message(room_id, content, f"bench-{name}-{number}")
            timings.append(time.perf_counter() - started)
        trust = bot.connection.trust
        assert trust is not None
        users = list(bot.connection.nio.rooms[room_id].users)
        trust.invalidate(users)
        started = time.perf_counter()
        await trust.refresh(users)  # what the first message's trust check cost on its own
        check = time.perf_counter() - started
        olm = bot.connection.nio.olm
        assert olm is not None
        session = olm.outbound_group_sessions[room_id]
        shared = len(session.users_shared_with)
        # Leave, so the next bot's room key is not shared with this one's device.
        await bot.connection.nio.room_leave(room_id)
        return timings[0], timings[1], bootstrap, shared, check
    finally:
        bot.stop()
        await asyncio.gather(task, return_exceptions=True)
        await bot.close()


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms  (" + ", ".join(
        f"{v * 1000:.0f}" for v in values) + ")"


async def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("nio").setLevel(logging.ERROR)  # "missing session" noise before a claim
    with tempfile.TemporaryDirectory(prefix="solidarity-bench-enc-") as tmp:
        work = Path(tmp)
        async with LocalSynapse(work / "synapse") as hs:
            setup = time.perf_counter()
            limit = asyncio.Semaphore(6)

            async def one(index: int) -> MemberDevices:
                async with limit:
                    return await make_member(hs, work / "members", index, args.devices)

            people = await asyncio.gather(*(one(i) for i in range(args.members)))
            creator = people[0].clients[0]
            response = await creator.room_create(
                name="bench", invite=[p.user_id for p in people[1:]],
                initial_state=[{"type": "m.room.encryption", "state_key": "",
                                "content": {"algorithm": "m.megolm.v1.aes-sha2"}}],
            )
            room_id = str(getattr(response, "room_id"))  # noqa: B009 - nio response union
            await asyncio.gather(*(p.clients[0].join(room_id) for p in people[1:]))
            print(f"setup: {args.members} members x {args.devices} devices, cross-signed, in one "
                  f"encrypted room ({time.perf_counter() - setup:.0f} s)")

            results: dict[str, list[tuple[float, float, float, int, float]]] = {
                "cross_signed": [], "all": []}
            # Modes alternate, so neither pays alone for Synapse warming its caches.
            for number in range(args.trials):
                for trust in results:
                    results[trust].append(await trial(
                        hs, work, creator, room_id, f"bot{trust.replace('_', '')}{number}", trust,
                        args.members))
            for person in people:
                for client in person.clients:
                    await client.close()

    print(f"\nbot's messages in a room of {args.members} members x {args.devices} devices "
          f"(medians over {args.trials} fresh bots; samples in brackets)")
    for trust, rows in results.items():
        first = [r[0] for r in rows]
        second = [r[1] for r in rows]
        shared = {r[3] for r in rows}
        print(f"  trust={trust:12} first  {ms(first)}")
        print(f"  {'':18} second {ms(second)}")
        print(f"  {'':18} first/second = {statistics.median(first) / statistics.median(second):.1f}x;"
              f" room key shared with {sorted(shared)} devices")
        if trust != "all":
            print(f"  {'':18} of which trust check (query {args.members + 1} users, verify "
                  f"signatures) {ms([r[4] for r in rows])}")
    bot_bootstrap = [r[2] for rows in results.values() for r in rows]
    print("\ncross-signing bootstrap (new identity: 3 keys, secret storage, upload, device signature)")
    print(f"  bot at first start     {ms(bot_bootstrap)}")
    print(f"  members (one each)     {statistics.median(p.bootstrap_seconds for p in people) * 1000:8.1f}"
          f" ms median, p95 "
          f"{sorted(p.bootstrap_seconds for p in people)[int(len(people) * 0.95) - 1] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--trials", type=int, default=3)
    sys.exit(asyncio.run(main(parser.parse_args())))
