"""Onboarding under a burst: N newcomers join one room within a minute.

    .venv/bin/python bench/onboarding.py [--joins 200] [--spread 30] [--gate] [--rate-limited] [--keep]

One throwaway Synapse. The full bot (core.bot.Bot with the admin and
onboarding plugins, outbox defaults) sits in an encrypted room owned by an
E2EE member, with onboarding on and the gate off unless `--gate` (config defaults otherwise:
a 10 s welcome window). N fresh accounts, invited beforehand, join over
`--spread` seconds; each is a plain HTTP client that syncs, accepts the bot's
DM invite and notes when the bot's first message arrives in that DM.

Figures: time from the first join until every newcomer has received the DM,
per-newcomer join -> DM latency (p50/p95), DMs missing, and how many messages
the bot sent in the room (counted from the homeserver's history after the
outbox is idle). A measurement, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bots.admin import AdminPlugin  # noqa: E402
from bots.onboarding import OnboardingPlugin  # noqa: E402
from core.bot import Bot  # noqa: E402
from core.config import Config  # noqa: E402
from core.homeserver import LocalSynapse, RegisteredUser  # noqa: E402
from core.matrix.member import Member  # noqa: E402

CLIENT = "/_matrix/client/v3"


class Newcomer:
    """A plain (unencrypted) client: joins, accepts the DM invite, waits for the bot's message."""

    def __init__(self, session: aiohttp.ClientSession, url: str, user: RegisteredUser) -> None:
        self.session = session
        self.url = url
        self.user = user
        self.headers = {"Authorization": f"Bearer {user.access_token}"}
        self.joined_at: float | None = None
        self.received_at: float | None = None
        self.dm_room: str | None = None
        self.failed_join = False
        self.join_done_at: float | None = None
        self.server_join_at: float | None = None
        self.received_wall: float | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(self.url + CLIENT + path, json=body,
                                     headers=self.headers) as resp:
            data: dict[str, Any] = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{path}: {resp.status} {data.get('errcode')}")
            return data

    async def join(self, room: str) -> None:
        self.joined_at = time.monotonic()  # when the member asks to join
        for attempt in range(5):
            try:
                await self._post(f"/join/{quote(room)}", {})
                self.join_done_at = time.monotonic()
                return
            except (aiohttp.ClientError, TimeoutError):
                # A loaded homeserver may drop or time out a join; joining again is harmless.
                await asyncio.sleep(1 + attempt)
        self.failed_join = True

    async def watch(self, bot_user: str, community: str, done: asyncio.Event) -> None:
        since: str | None = None
        sync_filter = json.dumps({"room": {"timeline": {"limit": 50}}, "presence": {"types": []}})
        while self.received_at is None and not done.is_set():
            params = {"timeout": "20000", "filter": sync_filter}
            if since:
                params["since"] = since
            try:
                async with self.session.get(self.url + CLIENT + "/sync", params=params,
                                            headers=self.headers) as resp:
                    data = await resp.json()
            except (aiohttp.ClientError, TimeoutError, ValueError):
                await asyncio.sleep(0.5)
                continue
            since = data.get("next_batch", since)
            rooms = data.get("rooms", {})
            for room_id in rooms.get("invite", {}):
                with contextlib.suppress(RuntimeError, aiohttp.ClientError, TimeoutError):
                    await self._post(f"/join/{quote(room_id)}", {})
            for room_id, info in rooms.get("join", {}).items():
                if room_id == community:
                    for event in info.get("timeline", {}).get("events", []):
                        if (event.get("type") == "m.room.member"
                                and event.get("state_key") == self.user.user_id
                                and event.get("content", {}).get("membership") == "join"):
                            # The homeserver's own clock: same machine, same epoch as ours.
                            self.server_join_at = event.get("origin_server_ts", 0) / 1000
                    continue
                for event in info.get("timeline", {}).get("events", []):
                    if event.get("sender") == bot_user and event.get("type") in (
                            "m.room.encrypted", "m.room.message"):
                        self.received_at = time.monotonic()
                        self.received_wall = time.time()
                        self.dm_room = room_id
                        return


async def poll(condition: Callable[[], bool], limit: float) -> bool:
    """True once `condition` holds, False if `limit` seconds pass first."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def start_bot(hs: LocalSynapse, work: Path, concurrency: int | None) -> Bot:
    name = "onbbot" + secrets.token_hex(3)
    password = "bot-password-" + name
    await hs.register(name, password)
    (work / "password").write_text(password)
    (work / "passphrase").write_text("bench store passphrase")
    config = Config.model_validate({
        "matrix": {"homeserver": hs.url, "user_id": f"@{name}:localhost",
                   "password": {"file": str(work / "password")}},
        "storage": {"data_dir": str(work / "data"),
                    "store_passphrase": {"file": str(work / "passphrase")}},
        "bot": {"invites": {"allowed_servers": ["localhost"]},
                "rate_limit": {"commands": 100000},
                **({"outbox": {"concurrency": concurrency}} if concurrency else {})},
        "logging": {"level": "WARNING"},
    })
    bot = Bot(config, plugins=[AdminPlugin, OnboardingPlugin])
    await bot.start()
    return bot


async def set_level(owner: Member, room: str, user_id: str, level: int) -> None:
    current = await owner.client.room_get_state_event(room, "m.room.power_levels")
    content = dict(getattr(current, "content", {}))
    content["users"] = {**content.get("users", {}), user_id: level}
    await owner.client.room_put_state(room, "m.room.power_levels", content)


async def run(args: argparse.Namespace, work: Path) -> None:
    hs = LocalSynapse(work / "synapse", rate_limited=args.rate_limited)
    await hs.start()
    bot: Bot | None = None
    owner: Member | None = None
    run_task: asyncio.Task[None] | None = None
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                    timeout=aiohttp.ClientTimeout(total=120))
    try:
        bot = await start_bot(hs, work, args.outbox_concurrency)
        run_task = asyncio.create_task(bot.run())
        await asyncio.wait_for(bot.connection.synced.wait(), 60)
        bot_user = bot.config.matrix.user_id
        owner_user = await hs.register("owner" + secrets.token_hex(3), "owner-password")
        owner = Member(hs.url, owner_user.user_id, work / "owner")
        await owner.login_with_token(owner_user.user_id, owner_user.device_id,
                                     owner_user.access_token)
        await owner.start()
        room = await owner.create_room(invite=[bot_user], name="Burst room")
        await owner.wait_member(room, bot_user, 60)
        await poll(lambda: bot.connection.is_encrypted(room), 60)
        await set_level(owner, room, bot_user, 100)
        await bot.runtime.settings.set_enabled(room, OnboardingPlugin, True)
        if args.gate:
            await bot.runtime.settings.set_value(room, OnboardingPlugin, "gate", "on")

        print(f"registering and inviting {args.joins} newcomers ...", flush=True)
        users = await asyncio.gather(*(hs.register(f"new{secrets.token_hex(4)}", "pw")
                                       for _ in range(args.joins)))
        newcomers = [Newcomer(session, hs.url, user) for user in users]
        for newcomer in newcomers:
            await owner.client.room_invite(room, newcomer.user.user_id)

        done = asyncio.Event()
        watchers = [asyncio.create_task(n.watch(bot_user, room, done)) for n in newcomers]
        cpu_before = time.process_time()
        started = time.monotonic()
        print(f"{args.joins} joins over {args.spread:.0f} s ...", flush=True)
        gap = args.spread / max(1, args.joins)
        joins = []
        for newcomer in newcomers:
            joins.append(asyncio.create_task(newcomer.join(room)))
            await asyncio.sleep(gap)
        await asyncio.gather(*joins)
        joined_all = time.monotonic() - started
        await poll(lambda: all(n.received_at is not None for n in newcomers), args.timeout)
        done.set()
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        received = [n for n in newcomers if n.received_at is not None]
        all_dms = (max(n.received_at for n in received) - started  # type: ignore[type-var,operator]
                   if len(received) == len(newcomers) else None)
        latencies = [n.received_at - n.joined_at for n in received  # type: ignore[operator]
                     if n.joined_at is not None]
        after_join = [n.received_wall - n.server_join_at for n in received  # type: ignore[operator]
                      if n.server_join_at is not None]
        server_joins = [n.server_join_at for n in newcomers if n.server_join_at is not None]
        last_dm = max((n.received_wall for n in received if n.received_wall), default=None)
        window = (last_dm - min(server_joins)) if server_joins and last_dm else None
        joins_window = (max(server_joins) - min(server_joins)) if server_joins else None
        # Let the last welcome window close and the outbox drain before counting.
        settle = time.monotonic() + 15
        while time.monotonic() < settle:
            if not await bot.scheduler.pending("onboarding", "room_welcome"):
                break
            await asyncio.sleep(0.5)
        await asyncio.wait_for(bot.outbox.idle(), 60)
        cpu = time.process_time() - cpu_before
        history = await owner.client.room_messages(room, start="", limit=1000)
        in_room = [e for e in getattr(history, "chunk", [])
                   if e.source.get("sender") == bot_user
                   and e.source.get("type") in ("m.room.message", "m.room.encrypted")]
        print()
        failed = sum(n.failed_join for n in newcomers)
        print(f"joins: {args.joins} over {joined_all:.1f} s, {failed} failed "
              f"(Synapse rate limits {'on' if args.rate_limited else 'off'})")
        print(f"every newcomer has the DM after: "
              f"{f'{all_dms:.1f} s' if all_dms is not None else 'NOT ALL (timeout)'}")
        print(f"DMs received: {len(received)}/{len(newcomers)} (missing {len(newcomers) - len(received)})")
        print(f"join request sent -> DM: p50 {statistics.median(latencies):.1f} s, "
              f"p95 {percentile(latencies, 95):.1f} s" if latencies else "join -> DM: n/a")
        print(f"join event on the homeserver -> DM received: p50 {statistics.median(after_join):.1f} s, "
              f"p95 {percentile(after_join, 95):.1f} s, max {max(after_join):.1f} s"
              if after_join else "")
        if window is not None and joins_window is not None:
            print(f"homeserver accepted the joins over {joins_window:.1f} s; every DM received "
                  f"{window:.1f} s after the first join event")
        print(f"bot messages in the room: {len(in_room)}")
        print(f"outbox concurrency {bot.config.bot.outbox.concurrency}, "
              f"{bot.config.bot.outbox.per_second:g}/s")
        print(f"outbox: sent {bot.outbox.sent}, failed {bot.outbox.failed}; DM rooms created "
              f"{bot.dms.created}")
        gate = bot.runtime.plugins["onboarding"].flow.gate  # type: ignore[attr-defined]
        print(f"gate {'on' if args.gate else 'off'}: power-level events written {gate.writes}")
        print(f"bench process CPU (bot + {args.joins} HTTP clients): {cpu:.1f} s")
    finally:
        await session.close()
        if bot is not None:
            bot.stop()
            if run_task is not None:
                await asyncio.gather(run_task, return_exceptions=True)
            await bot.close()
        if owner is not None:
            await owner.close()
        await hs.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--joins", type=int, default=200)
    parser.add_argument("--spread", type=float, default=30.0, help="seconds over which they join")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up waiting for DMs")
    parser.add_argument("--gate", action="store_true", help="code-of-conduct gate on")
    parser.add_argument("--outbox-concurrency", type=int, default=None,
                        help="bot.outbox.concurrency (default: the config default)")
    parser.add_argument("--rate-limited", action="store_true", help="Synapse's default limits")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("nio").setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="bench-onboarding-"))
    try:
        asyncio.run(run(args, work))
    finally:
        if args.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
