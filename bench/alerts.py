"""Alert fan-out: the alerts plugin against a naive sequential matrix-nio loop, on one Synapse.

    .venv/bin/python bench/alerts.py [--rooms 50] [--members 20] [--keep]

One throwaway Synapse (rate limits off, as in bench/roundtrip.py). A pool of
`--members` E2EE members (core.matrix.member.Member) is in each of `--rooms`
encrypted rooms, together with two bot accounts, each in its own process:

1. **Solidarity**: the full bot (core.bot.Bot) with the alerts plugin; an
   organizer member writes `!alert <text>` in the organizers room, waits for
   the preview, then sends `!alert send` (the clock starts at that send).
2. **naive**: a bare matrix-nio E2EE client that, when told to, sends the same
   alert to every room one after the other (`await room_send(...)` in a loop,
   nio sharing each room's Megolm session as it goes).

Figure: seconds from the trigger until every member has received and
decrypted the alert in every room (rooms x members deliveries), and how many
were missed (not decrypted within `--timeout`). Each bot sends a "cold" alert
(its first message in these rooms: Megolm sessions are created and shared with
every member's device), then `--warm` more (sessions already shared); who goes
first alternates. The first-arrival column shows the start-up latency (for
Solidarity it includes the `!alert send` command reaching the bot). Then the ratio
naive / Solidarity and the target of issue 8: >= 3x faster, 0 missed.

A measurement, not a test: it prints figures and exits 0 whatever they are
(non-zero only if it could not run). Children speak a line protocol on
stdin/stdout: `ready` once synced; `rooms` -> `rooms <json room: joined count>`;
`cpu` -> `cpu <seconds>`; `go <marker>` (naive only) -> `sent <seconds>`; `quit`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import _control  # noqa: E402

from core.homeserver import LocalSynapse  # noqa: E402
from core.matrix.member import Member  # noqa: E402

# The children count their homeserver requests by shape (reported per phase).
COUNT = {"BENCH_COUNT_REQUESTS": "1"}
ALERT_TEXT = "Raid reported near the central station. Avoid the area tonight. ({marker})"


# -- children -------------------------------------------------------------------------------


def _commands(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str]:
    """Lines from the parent, read in a thread (stdin is blocking)."""
    queue: asyncio.Queue[str] = asyncio.Queue()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.strip())
        loop.call_soon_threadsafe(queue.put_nowait, "quit")

    threading.Thread(target=reader, name="bench-control", daemon=True).start()
    return queue


def _room_counts(rooms: dict[str, Any]) -> str:
    return json.dumps({room_id: len(room.users) for room_id, room in rooms.items()})


async def child_solidarity(args: argparse.Namespace) -> int:
    from bots.admin import AdminPlugin
    from bots.alerts import AlertsPlugin
    from core.bot import Bot
    from core.cli import setup_logging
    from core.config import Config

    directory = Path(args.dir)
    config = Config.model_validate({
        "matrix": {"homeserver": args.homeserver, "user_id": args.user_id,
                   "password": {"file": str(directory / "password")}},
        "storage": {"data_dir": str(directory / "data"),
                    "store_passphrase": {"file": str(directory / "passphrase")}},
        "bot": {"invites": {"allowed_servers": ["localhost"]},
                "rate_limit": {"commands": 100_000, "window_seconds": 1},
                "roles": {"organizers": [args.organizer]},
                "outbox": {"concurrency": args.concurrency, "per_second": args.per_second}},
        # The members are plain nio clients without cross-signing, like the naive
        # loop's recipients (it sends with ignore_unverified_devices).
        "crypto": {"trust": "all"},
        # The network is the space's child rooms; the organizers room holds the role.
        "network": {"space": args.space, "organizers_room": args.organizers_room},
    })
    setup_logging(config.logging.level)
    bot = Bot(config, plugins=[AdminPlugin, AlertsPlugin])
    commands = _commands(asyncio.get_running_loop())
    run: asyncio.Task[None] | None = None
    try:
        await bot.start()
        run = asyncio.create_task(bot.run())
        # Synced, every plugin's ready() done, the outbox and timers started.
        await bot.ready.wait()
        _control.say("ready")
        while (command := await commands.get()) != "quit":
            if command == "cpu":
                _control.say(f"cpu {time.process_time():.6f}")
            elif command == "rooms":
                _control.say(f"rooms {_room_counts(bot.connection.nio.rooms)}")
            elif command == "requests":
                _control.say(f"requests {_control.requests_snapshot()}")
        return 0
    finally:
        bot.stop()
        if run is not None:
            await asyncio.gather(run, return_exceptions=True)
        await bot.close()


async def child_naive(args: argparse.Namespace) -> int:
    """The naive loop: join on invite, sync in the background, send room after room when told."""
    from nio import AsyncClient, AsyncClientConfig, InviteMemberEvent, MatrixRoom, RoomSendResponse

    store = Path(args.store_dir)
    store.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before anything runs)
    client = AsyncClient(args.homeserver, args.user_id, device_id=args.device_id,
                         store_path=str(store),
                         config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False))
    client.restore_login(args.user_id, args.device_id, os.environ["BENCH_ACCESS_TOKEN"])
    joins: set[asyncio.Task[Any]] = set()

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            task = asyncio.create_task(client.join(room.room_id))
            joins.add(task)
            task.add_done_callback(joins.discard)

    client.add_event_callback(on_invite, InviteMemberEvent)  # type: ignore[arg-type]
    if client.should_upload_keys:
        await client.keys_upload()
    await client.sync(timeout=0, full_state=True)
    sync = asyncio.create_task(client.sync_forever(
        timeout=30_000, sync_filter={"room": {"timeline": {"limit": 100}}}))
    commands = _commands(asyncio.get_running_loop())
    _control.say("ready")
    try:
        while (command := await commands.get()) != "quit":
            if command == "cpu":
                _control.say(f"cpu {time.process_time():.6f}")
            elif command == "rooms":
                _control.say(f"rooms {_room_counts(client.rooms)}")
            elif command == "requests":
                _control.say(f"requests {_control.requests_snapshot()}")
            elif command.startswith("go "):
                marker = command[3:]
                content = {"msgtype": "m.notice",
                           "body": "📣 Alert from the organizers\n\n"
                                   + ALERT_TEXT.format(marker=marker)}
                start = time.perf_counter()
                failed = 0
                for room_id in sorted(client.rooms):
                    # nio retries a request forever; one stuck send must not hang the bench.
                    try:
                        response = await asyncio.wait_for(client.room_send(
                            room_id, "m.room.message", content, ignore_unverified_devices=True), 60)
                    except TimeoutError:
                        response = None
                    if not isinstance(response, RoomSendResponse):
                        failed += 1
                        print(f"send to {room_id} failed: {response}", file=sys.stderr)
                _control.say(f"sent {time.perf_counter() - start:.3f} {failed}")
        return 0
    finally:
        sync.cancel()
        await asyncio.gather(sync, *joins, return_exceptions=True)
        await client.close()


# -- the parent -------------------------------------------------------------------------------


async def wait_until(predicate: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@dataclass
class Phase:
    bot: str
    round: str
    first: float
    seconds: float
    delivered: int
    expected: int
    bot_cpu: float
    requests: dict[str, int]
    members_cpu: float = 0.0
    synapse_cpu: float | None = None

    @property
    def missed(self) -> int:
        return self.expected - self.delivered


async def deliveries(members: list[Member], rooms: list[str], sender: str, marker: str,
                     timeout: float) -> tuple[float, float, int]:  # noqa: ASYNC109
    """Wait until each member decrypted the marked message in each room.

    Returns the first and the last arrival (perf_counter) and how many arrived.
    """
    wanted = {(m.user_id, room) for m in members for room in rooms}
    arrived: dict[tuple[str, str], float] = {}
    cursors = {m.user_id: 0 for m in members}
    deadline = time.perf_counter() + timeout
    while len(arrived) < len(wanted) and time.perf_counter() < deadline:
        now = time.perf_counter()
        for m in members:
            items = m.received
            for item in items[cursors[m.user_id]:]:
                key = (m.user_id, item.room_id)
                if (item.sender == sender and item.encrypted and marker in item.body
                        and key in wanted and key not in arrived):
                    arrived[key] = now
            cursors[m.user_id] = len(items)
        await asyncio.sleep(0.01)
    if not arrived:
        return float("nan"), float("nan"), 0
    return min(arrived.values()), max(arrived.values()), len(arrived)


def proc_cpu_seconds(pid: int | None) -> float | None:
    """utime + stime of a process from /proc (Synapse's CPU), or None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


async def run(args: argparse.Namespace) -> int:
    logging.getLogger("nio").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="solidarity-alerts-bench-"))
    hs = LocalSynapse(workdir / "synapse", rate_limited=False)
    members: list[Member] = []
    extra_clients: list[Member] = []
    children: list[_control.Child] = []
    tag = str(os.getpid())
    try:
        print(f"starting Synapse in {workdir} ...", flush=True)
        await hs.start()

        async def member(name: str) -> Member:
            user = await hs.register(f"{name}{tag}", "member-password")
            m = Member(hs.url, user.user_id, workdir / name)
            await m.login_with_token(user.user_id, user.device_id, user.access_token)
            await m.start()
            return m

        organizer = await member("organizer")
        extra_clients.append(organizer)
        for i in range(args.members):
            members.append(await member(f"member{i}"))

        password = secrets.token_urlsafe(16)
        solidarity_user = await hs.register(f"solidarity{tag}", password)
        naive_user = await hs.register(f"naive{tag}", secrets.token_urlsafe(16))
        organizers_room = await organizer.create_room(invite=[solidarity_user.user_id],
                                                      name="organizers")
        # The network, as organizers make it in Element: a space with the rooms as children.
        space_response = await organizer.client.room_create(
            name="bench network", space=True, invite=[solidarity_user.user_id])
        space = str(space_response.room_id)
        bot_dir = workdir / "solidarity"
        bot_dir.mkdir()
        (bot_dir / "password").write_text(password)
        (bot_dir / "passphrase").write_text(secrets.token_urlsafe(16))
        solidarity = await _control.Child.spawn("Solidarity", [str(BENCH / "alerts.py"),
            "--child", "solidarity", "--homeserver", hs.url, "--user-id", solidarity_user.user_id,
            "--dir", str(bot_dir), "--organizer", organizer.user_id,
            "--organizers-room", organizers_room, "--space", space,
            "--concurrency", str(args.outbox_concurrency),
            "--per-second", str(args.outbox_per_second)], bot_dir / "bot.log", cwd=ROOT, env=COUNT)
        children.append(solidarity)
        naive_dir = workdir / "naive"
        naive_dir.mkdir()
        naive = await _control.Child.spawn("naive nio", [str(BENCH / "alerts.py"),
            "--child", "naive", "--homeserver", hs.url, "--user-id", naive_user.user_id,
            "--device-id", naive_user.device_id, "--store-dir", str(naive_dir / "store")],
            naive_dir / "bot.log", cwd=ROOT,
            env={**COUNT, "BENCH_ACCESS_TOKEN": naive_user.access_token})
        children.append(naive)
        for child in children:
            if await child.line(120) != "ready":
                raise RuntimeError(f"{child.name} did not start" + child.tail())
        await organizer.wait_member(organizers_room, solidarity_user.user_id, 60)

        print(f"creating {args.rooms} encrypted rooms with {args.members} members each ...",
              flush=True)
        bots = [solidarity_user.user_id, naive_user.user_id]
        everyone = [m.user_id for m in members] + bots
        rooms = []
        for i in range(args.rooms):
            creator = members[i % len(members)]
            rooms.append(await creator.create_room(
                invite=[u for u in everyone if u != creator.user_id], name=f"bench room {i}"))
            await organizer.client.room_put_state(space, "m.space.child", {"via": ["localhost"]},
                                                  state_key=rooms[-1])
        for m in members:
            await wait_until(lambda m=m: all(
                (r := m.client.rooms.get(room)) is not None and r.encrypted
                and all(u in r.users for u in everyone) for room in rooms),
                300, f"{m.user_id} to see everyone in every room")
        for child in children:
            for _ in range(600):
                counts = dict(json.loads(await child.ask("rooms")))
                if all(counts.get(room, 0) >= len(everyone) for room in rooms):
                    break
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError(f"{child.name} never saw every member in every room")
        for m in members:
            await wait_until(lambda m=m: not m.client.should_query_keys and all(
                list(m.client.device_store.active_user_devices(u)) for u in bots),
                120, f"{m.user_id} to know the bots' devices")
        # The bots learn the members' devices from their own syncs' device lists.
        await asyncio.sleep(3)

        expected = len(rooms) * len(members)
        phases: list[Phase] = []
        order = ["naive", "solidarity"] if args.naive_first else ["solidarity", "naive"]
        rounds = ["cold", *(f"warm{i + 1}" for i in range(args.warm))]
        for index, round_name in enumerate(rounds):
            # Alternate who goes first, so neither always meets the busier homeserver.
            for kind in (order if index % 2 == 0 else order[::-1]):
                marker = f"{kind}-{round_name}-{secrets.token_hex(3)}"
                hs_pid = getattr(getattr(hs, "_proc", None), "pid", None)
                print(f"{round_name} alert from {kind} ...", flush=True)
                if kind == "solidarity":
                    preview = await organizer.ask(organizers_room,
                                                  "!alert " + ALERT_TEXT.format(marker=marker), 60)
                    if f"{args.rooms} rooms" not in preview.body:
                        raise RuntimeError(f"unexpected preview: {preview.body[:200]}")
                    cpu, before = await solidarity.cpu(), await solidarity.requests()
                    members_cpu, hs_cpu = time.process_time(), proc_cpu_seconds(hs_pid)
                    start = time.perf_counter()
                    await organizer.send(organizers_room, "!alert send")
                    first, last, count = await deliveries(members, rooms, solidarity_user.user_id,
                                                          marker, args.timeout)
                    phase = Phase(kind, round_name, first - start, last - start, count, expected,
                                  await solidarity.cpu() - cpu,
                                  delta(before, await solidarity.requests()))
                else:
                    cpu, before = await naive.cpu(), await naive.requests()
                    members_cpu, hs_cpu = time.process_time(), proc_cpu_seconds(hs_pid)
                    start = time.perf_counter()
                    assert naive.proc.stdin is not None
                    naive.proc.stdin.write(f"go {marker}\n".encode())
                    await naive.proc.stdin.drain()
                    first, last, count = await deliveries(members, rooms, naive_user.user_id,
                                                          marker, args.timeout)
                    await naive.line(args.timeout)  # "sent <seconds> <failed>": the loop is over
                    phase = Phase(kind, round_name, first - start, last - start, count, expected,
                                  await naive.cpu() - cpu, delta(before, await naive.requests()))
                phase.members_cpu = time.process_time() - members_cpu
                hs_after = proc_cpu_seconds(hs_pid)
                if hs_cpu is not None and hs_after is not None:
                    phase.synapse_cpu = hs_after - hs_cpu
                phases.append(phase)
                print(f"  {phase.seconds:.2f} s until all {phase.delivered}/{expected} decrypted "
                      f"(missed {phase.missed}); bot CPU {phase.bot_cpu:.2f} s", flush=True)
                await asyncio.sleep(2)  # let members' syncs go quiet between phases
        report(phases, args)
        return 0
    except Exception:
        traceback.print_exc()
        for child in children:
            print(child.tail(), file=sys.stderr)
        return 1
    finally:
        for m in [*extra_clients, *members]:
            with contextlib.suppress(Exception):
                await m.close()
        for child in children:
            await child.stop()
        await hs.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def report(phases: list[Phase], args: argparse.Namespace) -> None:
    print()
    print(f"{args.rooms} encrypted rooms x {args.members} members = "
          f"{args.rooms * args.members} deliveries per alert; Solidarity outbox: "
          f"concurrency {args.outbox_concurrency}, {args.outbox_per_second:g}/s"
          "; "
          f"{os.cpu_count()} CPUs")
    print()
    print(f"| {'round':<6}| {'bot':<11}| {'first (s)':>9} | {'all decrypted (s)':>17} | {'missed':>6} | "
          f"{'bot CPU (s)':>11} | {'members CPU (s)':>15} | {'Synapse CPU (s)':>15} |")
    print(f"|{'-' * 7}|{'-' * 12}|{'-' * 11}|{'-' * 19}|{'-' * 8}|{'-' * 13}|{'-' * 17}|{'-' * 17}|")
    for p in phases:
        synapse = "-" if p.synapse_cpu is None else f"{p.synapse_cpu:.2f}"
        print(f"| {p.round:<6}| {p.bot:<11}| {p.first:>9.2f} | {p.seconds:>17.2f} | {p.missed:>6} | "
              f"{p.bot_cpu:>11.2f} | {p.members_cpu:>15.2f} | {synapse:>15} |")
    print()
    print("homeserver requests per phase (by shape):")
    for p in phases:
        shown = ", ".join(f"{n} {shape}" for shape, n in
                          sorted(p.requests.items(), key=lambda kv: -kv[1])[:6])
        print(f"  {p.round} {p.bot}: {shown}")
    print()
    for label, prefix in (("cold", "cold"), ("warm (median)", "warm")):
        ours = [p for p in phases if p.round.startswith(prefix) and p.bot == "solidarity"]
        naive = [p for p in phases if p.round.startswith(prefix) and p.bot == "naive"]
        if not ours or not naive:
            continue
        ours_s = statistics.median(p.seconds for p in ours)
        naive_s = statistics.median(p.seconds for p in naive)
        missed = sum(p.missed for p in ours)
        speedup = naive_s / ours_s if ours_s else float("nan")
        met = speedup >= 3 and missed == 0
        print(f"  {'MET    ' if met else 'NOT MET'}  {label}: naive {naive_s:.2f} s / Solidarity "
              f"{ours_s:.2f} s = {speedup:.2f}x (target >= 3x), Solidarity missed {missed} "
              "(target 0)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--members", type=int, default=20, help="members in every room")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds to wait for every delivery of one alert")
    parser.add_argument("--outbox-concurrency", type=int, default=50)
    parser.add_argument("--outbox-per-second", type=float, default=1000.0)
    parser.add_argument("--warm", type=int, default=3,
                        help="alerts per bot after the first (sessions already shared)")
    parser.add_argument("--naive-first", action="store_true", help="run the naive loop first")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, stores)")
    # Child modes (started by the parent).
    parser.add_argument("--child", choices=["solidarity", "naive"], help=argparse.SUPPRESS)
    for name in ("homeserver", "user-id", "dir", "organizer", "organizers-room", "space",
                 "device-id", "store-dir"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=16, help=argparse.SUPPRESS)
    parser.add_argument("--per-second", type=float, default=200.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _control.die_with_parent()
        _control.take_stdout()
        _control.count_requests()
        logging.getLogger("nio").setLevel(logging.ERROR)
        child = child_solidarity if args.child == "solidarity" else child_naive
        return asyncio.run(child(args))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
