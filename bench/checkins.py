"""Check-ins at scale: 10,000 running check-ins, a restart with all of them overdue, and lateness.

A measurement, not a test. The bot side is real (SQLite database, durable
scheduler, outbox, dispatcher, the check-ins plugin, run by core.testing's
PluginHarness on a real-time clock); the homeserver is core.testing's
MemoryHomeserver, which accepts every send at once, so the figures are the
bot's own cost. With a real homeserver the outbox's pacing
(`bot.outbox.per_second`, default 10/s) bounds delivery: 10,000 alerts take
at least 1,000 s at the default and this bench reports that bound next to the
measured figures.

    .venv/bin/python bench/checkins.py                 # 10,000 check-ins
    .venv/bin/python bench/checkins.py --count 2000    # quicker

Figures:
1. memory: RSS growth while 10,000 check-ins (and their jobs) are created
   through `!checkin` in members' DMs;
2. restart: the bot is stopped, two hours pass, it starts again; time from
   start until every overdue alert has been sent (one contact each);
3. lateness: 10,000 check-ins whose escalations fall due over 60 s of real
   time; p50/p99/max of (alert sent - due time), and of the scheduler's own
   `late_by` when the escalation ran (target p99 < 1 s);
4. retries: 1,000 escalations due at the same moment, one in ten handler calls
   failing on its first try (half before the escalation is stored, half
   after its transaction committed); every contact must get exactly one
   alert. Lateness p50/p99/max (alert sent - due) of all, and of the retried
   ones (the scheduler's first back-off is 5 s), and the scheduler's retry count.
   `--retry-count N`, `--retry-count 0` to skip.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bots.checkins import CheckinsPlugin
from core.clock import Clock
from core.scheduler import Job
from core.testing import MemoryHomeserver, PluginHarness

BOT = "@bot:bench"

ALERT = "Safety alert"


class OffsetClock(Clock):
    """Real time, shifted: "two hours later" without waiting two hours."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset


class TimedMatrix(MemoryHomeserver):
    """Records when each alert reached the homeserver."""

    def __init__(self, expected: int) -> None:
        super().__init__(BOT)
        self.dm_of: dict[str, str] = {}
        self.alert_times: dict[str, float] = {}
        self.alert_counts: dict[str, int] = {}
        self.expected = expected
        self.all_sent = asyncio.Event()

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        event_id = await super().send_event(room_id, event_type, content, txn_id)
        if ALERT in str(content.get("body", "")):
            self.alert_times[room_id] = time.time()
            self.alert_counts[room_id] = self.alert_counts.get(room_id, 0) + 1
            if len(self.alert_times) >= self.expected:
                self.all_sent.set()
        return event_id


def rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bot(directory: Path, config: dict[str, Any], matrix: TimedMatrix,
        clock: Clock) -> PluginHarness:
    """The check-ins bot on its own database in `directory`, sends paced by nothing."""
    directory.mkdir(exist_ok=True)
    return PluginHarness(CheckinsPlugin, data_dir=directory, plugins={"checkins": config},
                         homeserver=matrix, clock=clock, bot_user_id=BOT)  # type: ignore[arg-type]


def matrix_of(h: PluginHarness) -> TimedMatrix:
    assert isinstance(h.homeserver, TimedMatrix)
    return h.homeserver


async def seed_contacts(h: PluginHarness, count: int) -> None:
    """Member i has member i's friend as accepted contact (written directly: not what is measured)."""
    store = h.plugin(CheckinsPlugin).store
    await h.db.transaction([
        *(store.add_contact_statement(f"@m{i}:bench", f"@f{i}:bench", 0.0) for i in range(count)),
        ("UPDATE checkins_contacts SET state = 'accepted'", ()),
    ])
    matrix = matrix_of(h)
    for i in range(count):
        for user in (f"@m{i}:bench", f"@f{i}:bench"):
            matrix.dm_of[user] = await h.dm(user)


async def create_checkins(h: PluginHarness, count: int, durations: list[str]) -> float:
    started = time.perf_counter()
    dm_of = matrix_of(h).dm_of
    for i in range(count):
        member = f"@m{i}:bench"
        await h.send(dm_of[member], member, f"!checkin {durations[i]} bench note {i}")
    return time.perf_counter() - started


async def restart_scenario(count: int, work: Path) -> dict[str, float]:
    matrix = TimedMatrix(count)
    config = {"grace_minutes": 0, "reminder_minutes": 0}
    h = bot(work / "restart", config, matrix, OffsetClock())
    await h.start()
    await seed_contacts(h, count)
    before = rss_mib()
    create_seconds = await create_checkins(h, count, ["10m"] * count)
    after = rss_mib()
    db_bytes = sum(f.stat().st_size for f in h.db_path.parent.glob(h.db_path.name + "*"))
    await h.stop()
    matrix.sent.clear()
    h2 = bot(work / "restart", config, matrix, OffsetClock(2 * 3600))
    started = time.perf_counter()
    await h2.start()
    h2.scheduler.start()
    await matrix.all_sent.wait()
    restart_seconds = time.perf_counter() - started
    await h2.stop()
    return {"create_s": create_seconds, "rss_before": before, "rss_after": after,
            "db_mib": db_bytes / 2**20, "restart_s": restart_seconds}


async def lateness_scenario(count: int, work: Path, window: float) -> dict[str, Any]:
    matrix = TimedMatrix(count)
    config = {"grace_minutes": 0, "reminder_minutes": 0}
    h = bot(work / "late", config, matrix, OffsetClock())
    await h.start()
    await seed_contacts(h, count)
    # Deadlines spread evenly over `window` seconds, starting after creation is done:
    # check-ins are created with a long deadline, then moved, as `!extend` would.
    await create_checkins(h, count, ["2h"] * count)
    base = time.time() + 5.0
    due: dict[str, float] = {}
    late_by: list[float] = []
    original = h.plugin(CheckinsPlugin)._on_escalate

    async def measured(job: Job) -> None:
        late_by.append(time.time() - job.due_at)
        await original(job)

    h.scheduler.register("checkins", "escalate", measured)
    rows = await h.db.fetchall("SELECT id, user_id FROM checkins_checkins")
    for index, row in enumerate(rows):
        deadline = base + window * index / len(rows)
        await h.db.execute("UPDATE checkins_checkins SET deadline = ? WHERE id = ?",
                           (deadline, row["id"]))
        await h.scheduler.schedule("checkins", "escalate", deadline,
                                   {"id": row["id"], "user": row["user_id"]},
                                   job_id=f"checkins-due-{row['id']}")
        due[matrix.dm_of[row["user_id"].replace("@m", "@f")]] = deadline
    h.scheduler.start()
    await matrix.all_sent.wait()
    await h.stop()
    sent_late = [matrix.alert_times[room] - due[room] for room in due]
    return {"late_by": late_by, "sent_late": sent_late}


class InjectedFailure(Exception):
    """The failure one in ten handler calls meets on its first try."""


async def retry_scenario(count: int, work: Path) -> dict[str, Any]:
    """`count` escalations due at once; every tenth fails its first try."""
    matrix = TimedMatrix(count)
    config = {"grace_minutes": 0, "reminder_minutes": 0}
    h = bot(work / "retry", config, matrix, OffsetClock())
    await h.start()
    await seed_contacts(h, count)
    await create_checkins(h, count, ["2h"] * count)
    rows = await h.db.fetchall("SELECT id, user_id FROM checkins_checkins ORDER BY user_id")
    failing = {row["id"]: index % 2 == 0 for index, row in enumerate(rows) if index % 10 == 0}
    original = h.plugin(CheckinsPlugin)._on_escalate
    calls = {"n": 0, "failed": 0}

    async def flaky(job: Job) -> None:
        calls["n"] += 1
        before = failing.get(job.payload["id"])
        if before is not None and job.attempts == 0:
            calls["failed"] += 1
            if before:
                raise InjectedFailure("before the escalation is stored")
            await original(job)
            raise InjectedFailure("after the escalation committed")
        await original(job)

    h.scheduler.register("checkins", "escalate", flaky)
    due_at = time.time() + 3.0
    due: dict[str, float] = {}
    retried_rooms: set[str] = set()
    for row in rows:
        await h.db.execute("UPDATE checkins_checkins SET deadline = ? WHERE id = ?",
                           (due_at, row["id"]))
        await h.scheduler.schedule("checkins", "escalate", due_at,
                                   {"id": row["id"], "user": row["user_id"]},
                                   job_id=f"checkins-due-{row['id']}")
        room = matrix.dm_of[row["user_id"].replace("@m", "@f")]
        due[room] = due_at
        if row["id"] in failing:
            retried_rooms.add(room)
    h.scheduler.start()
    await matrix.all_sent.wait()
    # Anything sent twice would be sent by now: the retries are 5 s after the first try.
    while True:
        if not await h.scheduler.pending("checkins", "escalate"):
            break
        await asyncio.sleep(0.2)
    await h.settle()
    await asyncio.sleep(1.0)
    await h.stop()
    counts = [matrix.alert_counts.get(room, 0) for room in due]
    return {
        "sent_late": [matrix.alert_times[room] - due[room] for room in due],
        "retried_late": [matrix.alert_times[room] - due[room] for room in retried_rooms],
        "handler_calls": calls["n"], "injected": calls["failed"],
        "retries": h.scheduler.retried, "dead": h.scheduler.dead,
        "exactly_once": sum(1 for c in counts if c == 1), "missing": counts.count(0),
        "duplicates": sum(1 for c in counts if c > 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which deadlines fall")
    parser.add_argument("--retry-count", type=int, default=1000,
                        help="escalations due at once, one in ten failing its first try (0: skip)")
    parser.add_argument("--retry-only", action="store_true", help="only the retry scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        retry = await retry_scenario(args.retry_count, work) if args.retry_count else None
        if not args.retry_only:
            restart = await restart_scenario(args.count, work)
            late = await lateness_scenario(args.count, work, args.window)
    if retry is not None:
        print_retry(args.retry_count, retry)
    if args.retry_only:
        return
    n = args.count
    print(f"check-ins: {n}")
    print(f"create via !checkin: {restart['create_s']:.1f} s ({n / restart['create_s']:.0f}/s)")
    print(f"memory: RSS {restart['rss_before']:.0f} -> {restart['rss_after']:.0f} MiB "
          f"(+{restart['rss_after'] - restart['rss_before']:.0f} MiB); database {restart['db_mib']:.1f} MiB")
    print(f"restart with all overdue -> every alert sent: {restart['restart_s']:.1f} s "
          f"({n / restart['restart_s']:.0f} alerts/s; with the default outbox pacing of 10/s "
          f"a real homeserver needs >= {n / 10:.0f} s)")
    for name in ("late_by", "sent_late"):
        values = late[name]
        print(f"lateness {name} over {args.window:.0f} s ({n / args.window:.0f} due/s): "
              f"p50 {statistics.median(values) * 1000:.0f} ms, p99 {pct(values, 0.99) * 1000:.0f} ms, "
              f"max {max(values) * 1000:.0f} ms (target p99 < 1000 ms)")


def print_retry(n: int, retry: dict[str, Any]) -> None:
    print(f"retries: {n} escalations due at once, {retry['injected']} handler calls failed on "
          f"their first try ({retry['handler_calls']} calls, {retry['retries']} retries, "
          f"{retry['dead']} dead letters)")
    print(f"  delivered exactly once: {retry['exactly_once']} of {n} "
          f"(missing {retry['missing']}, duplicated {retry['duplicates']})")
    for name in ("sent_late", "retried_late"):
        values = retry[name]
        if values:
            print(f"  lateness {name}: p50 {statistics.median(values) * 1000:.0f} ms, "
                  f"p99 {pct(values, 0.99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
