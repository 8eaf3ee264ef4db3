"""Command round trip and throughput: the full Solidarity bot against a bare matrix-nio floor.

    .venv/bin/python bench/roundtrip.py [--quick] [--runs N] [--keep]

One throwaway Synapse (rate limits off). For each bot in turn, in its own
process: a fresh bot account, five fresh E2EE members (core.matrix.member.Member)
in one encrypted room, a warm-up so every Megolm session is shared, then

- latency: sequential ``!echo`` commands from one member, send -> reply received;
- throughput: the five members send their commands all at once, each as fast as
  its sends complete; answered/s from the first send to the last reply, and the
  commands never answered (lost);
- reply latency during that burst (p50/p99, send call -> reply received), and
  whether each member's replies came in the order of its commands;
- the bot process's CPU seconds over the throughput phase / answered commands;
- the bot process's resident memory: its peak while starting (log-in, the
  store's scrypt, the first sync) and its peak while serving (from its first
  sync to the end of the burst: /proc/PID/clear_refs resets the peak at ready).

A measurement, not a test: it prints the figures, the ratios and whether each
target is met, and exits 0 whatever they are (non-zero only if it could not run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _control import Child  # noqa: E402  (bench/ is the script directory)

from core.homeserver import LocalSynapse  # noqa: E402
from core.matrix.member import Member  # noqa: E402

BENCH = Path(__file__).resolve().parent
BOTS = {"solidarity": "Solidarity bot", "bare": "bare nio"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Plan:
    latency_commands: int = 100
    members: int = 5
    per_member: int = 100
    warmup_per_member: int = 3
    throughput_timeout: float = 120.0
    idle_timeout: float = 30.0
    diagnose: bool = False


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    burst_latencies_ms: list[float] = field(default_factory=list)  # send call -> reply seen
    out_of_order: int = 0  # burst replies seen after the reply to a later command of that member
    start_rss_kib: int | None = None  # the bot process's peak (VmHWM) until it was ready
    peak_rss_kib: int | None = None  # its peak from then to the end of the burst
    sent: int = 0
    answered: int = 0
    send_errors: int = 0
    throughput_seconds: float = 0.0
    bot_cpu_seconds: float = 0.0
    latency_bot_cpu_seconds: float = 0.0
    synapse_cpu_seconds: float | None = None
    bench_cpu_seconds: float = 0.0
    requests: dict[str, int] = field(default_factory=dict)  # burst phase, with --diagnose

    @property
    def lost(self) -> int:
        return self.sent - self.answered

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies_ms, 95)

    @property
    def burst_p50(self) -> float:
        return percentile(self.burst_latencies_ms, 50)

    @property
    def burst_p99(self) -> float:
        return percentile(self.burst_latencies_ms, 99)

    @property
    def start_rss_mib(self) -> float:
        return self.start_rss_kib / 1024 if self.start_rss_kib is not None else float("nan")

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_kib / 1024 if self.peak_rss_kib is not None else float("nan")

    @property
    def rate(self) -> float:
        return self.answered / self.throughput_seconds if self.throughput_seconds else 0.0

    @property
    def cpu_ms_per_command(self) -> float:
        return 1000 * self.bot_cpu_seconds / self.answered if self.answered else float("nan")

    @property
    def latency_cpu_ms_per_command(self) -> float:
        n = len(self.latencies_ms)
        return 1000 * self.latency_bot_cpu_seconds / n if n else float("nan")

    @property
    def synapse_ms_per_command(self) -> float | None:
        if self.synapse_cpu_seconds is None or not self.answered:
            return None
        return 1000 * self.synapse_cpu_seconds / self.answered


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1]


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process from /proc (10 ms resolution), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_kib(pid: int) -> int | None:
    """A process's peak resident set size (VmHWM, KiB) from /proc, or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_rss(pid: int) -> bool:
    """Start a new peak (VmHWM) for a process (Linux >= 4.0: clear_refs 5); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# -- the bot child process ----------------------------------------------------------


async def start_bot(kind: str, hs: LocalSynapse, workdir: Path, tag: str,
                    log_level: str | None, diagnose: bool) -> tuple[Child, str]:
    name = f"benchbot{tag}"
    password = secrets.token_urlsafe(16)
    user = await hs.register(name, password)
    directory = workdir / name
    directory.mkdir(parents=True)
    log = directory / "bot.log"
    env = {"BENCH_COUNT_REQUESTS": "1"} if diagnose else {}
    if kind == "solidarity":
        (directory / "password").write_text(password)
        (directory / "passphrase").write_text(secrets.token_urlsafe(16))
        args = [str(BENCH / "solidarity_echo.py"), "--homeserver", hs.url,
                "--user-id", user.user_id, "--dir", str(directory)]
        if log_level:
            args += ["--log-level", log_level]
        child = await Child.spawn(BOTS[kind], args, log, cwd=ROOT, env=env)
    else:
        child = await Child.spawn(
            BOTS[kind],
            [str(BENCH / "bare_nio_echo.py"), "--homeserver", hs.url, "--user-id", user.user_id,
             "--device-id", user.device_id, "--store-dir", str(directory / "store")],
            log, cwd=ROOT, env={**env, "BENCH_ACCESS_TOKEN": user.access_token},
        )
    return child, user.user_id


# -- members and the room -------------------------------------------------------------


async def wait_until(predicate: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def setup_room(hs: LocalSynapse, workdir: Path, tag: str, bot_id: str,
                     plan: Plan, members: list[Member]) -> str:
    for i in range(plan.members):
        name = f"benchmember{tag}m{i}"
        user = await hs.register(name, "member-password")
        member = Member(hs.url, user.user_id, workdir / name)
        members.append(member)
        await member.login_with_token(user.user_id, user.device_id, user.access_token)
        await member.start()
    everyone = [bot_id] + [m.user_id for m in members]
    room_id = await members[0].create_room(
        invite=[u for u in everyone if u != members[0].user_id], name="bench")
    for m in members:  # members join on invite from their own sync loop
        await wait_until(lambda m=m: (r := m.client.rooms.get(room_id)) is not None
                         and r.encrypted and all(u in r.users for u in everyone),
                         60, f"{m.user_id} to see everyone in the room")
    # Every member must know every device before it first shares its Megolm session
    # (nio shares an outbound session once; a device learnt later never gets it).
    for m in members:
        await wait_until(lambda m=m: not m.client.should_query_keys and all(
            list(m.client.device_store.active_user_devices(u))
            for u in everyone if u != m.user_id),
            60, f"{m.user_id} to know every device")
    # Give the bot a moment to query the members' devices before its first reply.
    await asyncio.sleep(2)
    return room_id


async def warm_up(members: list[Member], room_id: str, bot_id: str, plan: Plan) -> None:
    for m in members:
        for i in range(plan.warmup_per_member):
            for _attempt in range(3):
                event_id = await m.send(room_id, f"!echo warm-up {i}")
                with contextlib.suppress(TimeoutError):
                    reply = await m.wait_reply(event_id, timeout=20)
                    if reply.sender == bot_id:
                        break
            else:
                raise RuntimeError(f"no warm-up reply for {m.user_id} after 3 attempts")
    # Let every member's sync settle so the measured phases start quiet.
    await asyncio.sleep(1)


# -- the two measured phases ------------------------------------------------------------


async def measure_latency(member: Member, room_id: str, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        event_id = await member.send(room_id, f"!echo latency {i}")
        await member.wait_reply(event_id, timeout=30)
        latencies.append(1000 * (time.perf_counter() - start))
    return latencies


async def measure_throughput(members: list[Member], room_id: str, bot_id: str, plan: Plan,
                             child: Child, hs_pid: int | None, result: Result) -> None:
    seen: dict[str, float] = {}  # command event id -> when its reply was first seen
    cursors = [len(m.received) for m in members]
    starts = [len(m.received) for m in members]
    sent: list[str] = []
    send_started: dict[str, float] = {}  # command event id -> when its send call began
    by_member: list[list[str]] = [[] for _ in members]  # each member's commands, in order
    sending_done = asyncio.Event()

    def collect() -> None:
        now = time.perf_counter()
        for index, m in enumerate(members):
            items = m.received
            for item in items[cursors[index]:]:
                if item.sender == bot_id and item.reply_to and item.reply_to not in seen:
                    seen[item.reply_to] = now
            cursors[index] = len(items)

    async def sender(k: int, m: Member) -> None:
        for i in range(plan.per_member):
            try:
                began = time.perf_counter()
                event_id = await m.send(room_id, f"!echo burst {k}-{i}")
                send_started[event_id] = began
                by_member[k].append(event_id)
                sent.append(event_id)
            except Exception as exc:  # counted, and reported; the others keep sending
                result.send_errors += 1
                print(f"  send failed: {exc}", file=sys.stderr)

    requests_before = await child.requests() if plan.diagnose else {}
    cpu_before = await child.cpu()
    hs_before = proc_cpu_seconds(hs_pid) if hs_pid else None
    bench_before = time.process_time()
    start = time.perf_counter()
    senders = asyncio.gather(*(sender(k, m) for k, m in enumerate(members)))
    senders.add_done_callback(lambda _: sending_done.set())
    deadline = start + plan.throughput_timeout
    last_progress = time.perf_counter()
    while True:
        before = len(seen)
        collect()
        now = time.perf_counter()
        if len(seen) != before:
            last_progress = now
        if sending_done.is_set() and all(e in seen for e in sent):
            break
        if now > deadline or (sending_done.is_set() and now - last_progress > plan.idle_timeout):
            break
        await asyncio.sleep(0.01)
    await senders
    cpu_after = await child.cpu()
    if plan.diagnose:
        after = await child.requests()
        result.requests = {k: v - requests_before.get(k, 0) for k, v in after.items()
                           if v != requests_before.get(k, 0)}
    hs_after = proc_cpu_seconds(hs_pid) if hs_pid else None
    result.bench_cpu_seconds = time.process_time() - bench_before
    answered = [seen[e] for e in sent if e in seen]
    result.burst_latencies_ms = [1000 * (seen[e] - send_started[e]) for e in sent if e in seen]
    for k, m in enumerate(members):
        # The member's own timeline (sync order = the room's order on the homeserver).
        position = {e: i for i, e in enumerate(by_member[k])}
        latest = -1
        for item in m.received[starts[k]:]:
            index = position.get(item.reply_to or "") if item.sender == bot_id else None
            if index is None:
                continue
            if index < latest:
                result.out_of_order += 1
            latest = max(latest, index)
    result.sent = len(sent) + result.send_errors
    result.answered = len(answered)
    result.throughput_seconds = (max(answered) - start) if answered else 0.0
    result.bot_cpu_seconds = cpu_after - cpu_before
    if hs_before is not None and hs_after is not None:
        result.synapse_cpu_seconds = hs_after - hs_before


async def run_bot(kind: str, hs: LocalSynapse, workdir: Path, tag: str, plan: Plan,
                  log_level: str | None) -> Result:
    result = Result()
    members: list[Member] = []
    child: Child | None = None
    try:
        child, bot_id = await start_bot(kind, hs, workdir, tag, log_level, plan.diagnose)
        await child.wait_ready()
        # What starting costs (the identity store's scrypt alone takes 32 MiB, for
        # a moment) is reported apart from what serving costs.
        result.start_rss_kib = peak_rss_kib(child.proc.pid)
        if not reset_peak_rss(child.proc.pid):
            print("  (cannot reset the peak RSS: the serving peak includes the start)",
                  file=sys.stderr)
        if plan.diagnose:
            print(f"  {child.name}: pid {child.proc.pid}, log {child.log}", flush=True)
        room_id = await setup_room(hs, workdir, tag, bot_id, plan, members)
        await warm_up(members, room_id, bot_id, plan)
        cpu = await child.cpu()
        result.latencies_ms = await measure_latency(members[0], room_id, plan.latency_commands)
        result.latency_bot_cpu_seconds = await child.cpu() - cpu
        await asyncio.sleep(1)
        hs_proc = getattr(hs, "_proc", None)  # for Synapse's CPU figure only
        await measure_throughput(members, room_id, bot_id, plan, child,
                                 getattr(hs_proc, "pid", None), result)
        result.peak_rss_kib = peak_rss_kib(child.proc.pid)
        return result
    except BaseException:
        if child is not None:
            print(child.tail(), file=sys.stderr)
        raise
    finally:
        for m in members:
            with contextlib.suppress(Exception):
                await m.close()
        if child is not None:
            await child.stop()


# -- report ---------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(results: list[Result]) -> dict[str, float]:
    synapse = [r.synapse_ms_per_command for r in results if r.synapse_ms_per_command is not None]
    return {
        "p50": median([r.p50 for r in results]),
        "p95": median([r.p95 for r in results]),
        "rate": median([r.rate for r in results]),
        "burst_p50": median([r.burst_p50 for r in results]),
        "burst_p99": median([r.burst_p99 for r in results]),
        "out_of_order": median([r.out_of_order for r in results]),
        "rss": median([r.peak_rss_mib for r in results]),
        "start_rss": median([r.start_rss_mib for r in results]),
        "lost": median([r.lost for r in results]),
        "sent": median([r.sent for r in results]),
        "cpu": median([r.cpu_ms_per_command for r in results]),
        "lat_cpu": median([r.latency_cpu_ms_per_command for r in results]),
        "synapse": median(synapse) if synapse else float("nan"),
        "bench": median([r.bench_cpu_seconds for r in results]),
    }


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def report(results: dict[str, list[Result]], plan: Plan) -> None:
    bot, bare = summarize(results["solidarity"]), summarize(results["bare"])
    runs = len(results["solidarity"])
    total = plan.members * plan.per_member
    print()
    runs_text = f"median of {runs} runs" if runs > 1 else "1 run"
    print(f"latency: {plan.latency_commands} sequential commands; throughput: {total} commands "
          f"from {plan.members} members at once; {runs_text}")
    print()
    rows = [
        ("p50 round trip (ms)", "p50", "{:.1f}"),
        ("p95 round trip (ms)", "p95", "{:.1f}"),
        ("answered/s", "rate", "{:.1f}"),
        ("burst reply p50 (ms)", "burst_p50", "{:.1f}"),
        ("burst reply p99 (ms)", "burst_p99", "{:.1f}"),
        ("burst replies out of order", "out_of_order", "{:.0f}"),
        (f"lost (of {total})", "lost", "{:.0f}"),
        ("bot CPU ms/command (burst)", "cpu", "{:.2f}"),
        ("bot CPU ms/command (latency)", "lat_cpu", "{:.2f}"),
        ("Synapse CPU ms/command (burst)", "synapse", "{:.2f}"),
        ("bot peak RSS serving (MiB)", "rss", "{:.1f}"),
        ("bot peak RSS starting (MiB)", "start_rss", "{:.1f}"),
    ]
    print(f"| {'metric':<31}| {'Solidarity':>10} | {'bare nio':>10} | {'bot/bare':>8} |")
    print(f"|{'-' * 32}|{'-' * 12}|{'-' * 12}|{'-' * 10}|")
    for label, key, fmt in rows:
        r = ratio(bot[key], bare[key])
        shown = "-" if r != r else f"{r:.2f}"  # NaN: nothing to compare (e.g. 0 lost on both)
        print(f"| {label:<31}| {fmt.format(bot[key]):>10} | {fmt.format(bare[key]):>10} | "
              f"{shown:>8} |")
    print()
    targets: list[tuple[str, float, Callable[[float], bool], str]] = [
        ("p50 ratio <= 1.15", ratio(bot["p50"], bare["p50"]), lambda v: v <= 1.15, "{:.2f}x"),
        ("throughput ratio >= 0.9", ratio(bot["rate"], bare["rate"]), lambda v: v >= 0.9, "{:.2f}x"),
        ("bot CPU/command <= 3 ms", bot["cpu"], lambda v: v <= 3.0, "{:.2f} ms"),
        ("lost == 0", bot["lost"], lambda v: v == 0, "{:.0f}"),
        # issue 15: the burst and memory figures next to bare nio
        ("burst p50 ratio <= 1.1", ratio(bot["burst_p50"], bare["burst_p50"]),
         lambda v: v <= 1.1, "{:.2f}x"),
        ("serving RSS ratio <= 1.1", ratio(bot["rss"], bare["rss"]), lambda v: v <= 1.1, "{:.2f}x"),
        ("replies in order == 0", bot["out_of_order"], lambda v: v == 0, "{:.0f} out of order"),
    ]
    for label, value, ok, fmt in targets:
        print(f"  {'MET    ' if ok(value) else 'NOT MET'}  {label:<25} {fmt.format(value)}")
    print(f"\n(bench process CPU during the burst: Solidarity {bot['bench']:.1f} s, "
          f"bare {bare['bench']:.1f} s; {os.cpu_count()} CPUs)")


# -- where the memory goes: resident size after imports alone -------------------------------------

# What each process imports before it does anything: bare nio's client; the
# same plus the libraries Solidarity chose (pydantic for config and settings,
# cryptography for its identity store, sealing and cross-signing, aiosqlite,
# PyYAML); and the bot the benchmark runs. The second is the floor a bot on
# these dependencies cannot go below, however little of its own code it loads.
IMPORT_SETS = {
    "bare nio": ["nio"],
    "nio + chosen dependencies": [
        "nio", "pydantic.main", "aiosqlite", "yaml",
        "cryptography.hazmat.primitives.ciphers.aead",
        "cryptography.hazmat.primitives.asymmetric.ed25519",
        "cryptography.hazmat.primitives.kdf.scrypt",
    ],
    "Solidarity bot": ["nio", "core.bot", "bots.admin", "tests.integration.plugins"],
}


def rss_after_imports(modules: list[str]) -> float:
    """MiB resident in a fresh interpreter once `modules` are imported (median of 3)."""
    import subprocess

    code = ("import importlib, sys; sys.path.insert(0, sys.argv[1])\n"
            "for m in sys.argv[2:]: importlib.import_module(m)\n"
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmRSS')))")
    sizes = [int(subprocess.run([sys.executable, "-c", code, str(ROOT), *modules], check=True,
                                capture_output=True, text=True).stdout) / 1024
             for _ in range(3)]
    return statistics.median(sizes)


def report_imports() -> None:
    sizes = {name: rss_after_imports(modules) for name, modules in IMPORT_SETS.items()}
    bare = sizes["bare nio"]
    print("\nresident memory after imports alone (MiB; median of 3 fresh interpreters):")
    for name, size in sizes.items():
        print(f"  {name:<28} {size:6.1f}  ({size / bare:.2f}x bare nio)")


# -- main ---------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    # nio logs routine Olm chatter ("Missing session for device ...") at WARNING.
    logging.getLogger("nio").setLevel(logging.ERROR)
    plan = Plan()
    if args.quick:
        plan = Plan(latency_commands=20, per_member=20, warmup_per_member=1,
                    throughput_timeout=60, idle_timeout=15)
    plan.diagnose = args.diagnose
    workdir = Path(tempfile.mkdtemp(prefix="solidarity-bench-"))
    hs = LocalSynapse(workdir / "synapse", rate_limited=False)
    results: dict[str, list[Result]] = {"solidarity": [], "bare": []}
    try:
        print(f"starting Synapse in {workdir} ...", flush=True)
        await hs.start()
        for run in range(args.runs):
            # Alternate the order so neither bot always meets the fresher homeserver.
            order = ["solidarity", "bare"] if run % 2 == 0 else ["bare", "solidarity"]
            for kind in order:
                tag = f"{os.getpid()}{kind}r{run}"
                print(f"run {run + 1}/{args.runs}: {BOTS[kind]} ...", flush=True)
                r = await run_bot(kind, hs, workdir, tag, plan, args.bot_log_level)
                results[kind].append(r)
                print(f"  p50 {r.p50:.1f} ms  p95 {r.p95:.1f} ms  {r.rate:.1f} answered/s  "
                      f"lost {r.lost}/{r.sent}  bot CPU {r.cpu_ms_per_command:.2f} ms/command  "
                      f"burst p50/p99 {r.burst_p50:.0f}/{r.burst_p99:.0f} ms  "
                      f"out of order {r.out_of_order}  peak RSS {r.start_rss_mib:.1f} MiB starting, "
                      f"{r.peak_rss_mib:.1f} MiB serving",
                      flush=True)
                if plan.diagnose:
                    print(f"  homeserver requests per answered command during the burst "
                          f"({r.answered} answered):")
                    for shape, n in sorted(r.requests.items(), key=lambda kv: -kv[1]):
                        print(f"    {n / max(r.answered, 1):7.3f}  ({n:5d})  {shape}")
        report(results, plan)
        report_imports()
        return 0
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        await hs.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer commands (20 sequential, 5x20 burst) for a fast check")
    parser.add_argument("--runs", type=int, default=1, help="runs per bot; medians are printed")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, stores)")
    parser.add_argument("--diagnose", action="store_true",
                        help="print the bots' pids and their homeserver requests per command")
    parser.add_argument("--bot-log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="Solidarity bot's log level (default: the config default)")
    sys.exit(asyncio.run(main(parser.parse_args())))
