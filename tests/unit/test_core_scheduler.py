"""The durable scheduler (core/scheduler.py) on a real database and a manual clock.

`ManualClock.advance` only gives woken tasks a few loop turns, while the
scheduler's database work runs in aiosqlite's thread; so after advancing,
tests wait (briefly, in real time) for the effect with `eventually`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.clock import ManualClock
from core.scheduler import Job, Scheduler
from core.storage import CORE_MIGRATIONS, Database

START = 1_700_000_000.0


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.002)


async def settle() -> None:
    """Give the scheduler's loop real time to do anything it (wrongly) would."""
    await asyncio.sleep(0.1)


async def open_db(path: Path) -> Database:
    db = Database(path)
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    return db


@dataclass
class Recorder:
    jobs: list[Job] = field(default_factory=list)

    async def __call__(self, job: Job) -> None:
        self.jobs.append(job)

    @property
    def ids(self) -> list[str]:
        return [job.id for job in self.jobs]


@dataclass
class Env:
    path: Path
    clock: ManualClock
    db: Database
    scheduler: Scheduler
    recorder: Recorder

    async def restart(self, advance: float = 0.0) -> None:
        """Simulate a process restart: new database handle and scheduler, same file."""
        await self.scheduler.stop()
        await self.db.close()
        self.clock = ManualClock(self.clock.now() + advance)
        self.db = await open_db(self.path)
        self.scheduler = Scheduler(self.db, self.clock)
        self.recorder = Recorder()
        self.scheduler.register("test", "ping", self.recorder)

    async def rows(self) -> list[dict[str, Any]]:
        return [dict(row) for row in await self.db.fetchall("SELECT * FROM core_jobs")]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    clock = ManualClock(START)
    db = await open_db(tmp_path / "jobs.db")
    scheduler = Scheduler(db, clock)
    recorder = Recorder()
    scheduler.register("test", "ping", recorder)
    environment = Env(tmp_path / "jobs.db", clock, db, scheduler, recorder)
    yield environment
    await environment.scheduler.stop()
    await environment.db.close()


async def test_job_fires_at_its_time_and_not_before(env: Env) -> None:
    env.scheduler.start()
    job_id = await env.scheduler.schedule("test", "ping", START + 60, {"n": 1})
    await settle()
    await env.clock.advance(59.9)
    await settle()
    assert env.recorder.jobs == []
    await env.clock.advance(0.1)
    await eventually(lambda: len(env.recorder.jobs) == 1)
    job = env.recorder.jobs[0]
    assert (job.id, job.owner, job.kind, job.payload) == (job_id, "test", "ping", {"n": 1})
    assert job.due_at == START + 60
    assert job.rerun is False
    assert job.late_by == 0.0
    await eventually(lambda: env.scheduler.fired == 1)
    assert await env.rows() == []
    await env.clock.advance(3600)
    await settle()
    assert len(env.recorder.jobs) == 1


async def test_jobs_fire_in_deadline_order(env: Env) -> None:
    for offset in (30, 10, 20):
        await env.scheduler.schedule("test", "ping", START + offset, job_id=f"j{offset}")
    await env.clock.advance(100)
    assert await env.scheduler.run_due() == 3
    assert env.recorder.ids == ["j10", "j20", "j30"]
    assert [job.late_by for job in env.recorder.jobs] == [90, 80, 70]


async def test_an_earlier_job_scheduled_later_wakes_the_loop(env: Env) -> None:
    env.scheduler.start()
    await env.scheduler.schedule("test", "ping", START + 1000, job_id="far")
    await settle()
    await env.scheduler.schedule("test", "ping", START + 5, job_id="near")
    await settle()
    await env.clock.advance(5)
    await eventually(lambda: env.recorder.ids == ["near"])
    await env.clock.advance(995)
    await eventually(lambda: env.recorder.ids == ["near", "far"])


async def test_time_passing_before_the_sleep_starts_does_not_delay_a_job(env: Env) -> None:
    """The sleep deadline is absolute: moving time between planning and sleeping is harmless."""
    await env.scheduler.schedule("test", "ping", START + 100, job_id="j")
    loop = asyncio.get_running_loop()
    original = env.db.fetchone

    async def fetchone(sql: str, params: Any = ()) -> Any:
        row = await original(sql, params)
        if "MIN(due_at)" in sql:
            # Runs after the loop plans its sleep but before the sleep starts.
            loop.call_soon(setattr, env.clock, "_now", env.clock._now + 50)
        return row

    env.db.fetchone = fetchone  # type: ignore[method-assign]
    env.scheduler.start()
    await eventually(lambda: env.clock.now() >= START + 50)
    await settle()
    env.db.fetchone = original  # type: ignore[method-assign]
    await env.clock.advance(START + 100 - env.clock.now())
    await eventually(lambda: env.recorder.ids == ["j"])


async def test_jobs_survive_a_restart_and_overdue_ones_fire_once(env: Env) -> None:
    await env.scheduler.schedule("test", "ping", START + 10, {"k": "a"}, job_id="a")
    await env.scheduler.schedule("test", "ping", START + 20, {"k": "b"}, job_id="b")
    await env.scheduler.schedule("test", "ping", START + 5000, {"k": "c"}, job_id="c")
    await env.restart(advance=100)  # the bot was down while a and b fell due
    assert [job.id for job in await env.scheduler.pending("test")] == ["a", "b", "c"]
    assert await env.scheduler.run_due() == 2
    assert env.recorder.ids == ["a", "b"]
    assert [job.payload for job in env.recorder.jobs] == [{"k": "a"}, {"k": "b"}]
    assert [job.late_by for job in env.recorder.jobs] == [90, 80]
    assert not any(job.rerun for job in env.recorder.jobs)
    assert await env.scheduler.run_due() == 0
    # And another restart does not fire them again.
    await env.restart(advance=1)
    assert await env.scheduler.run_due() == 0
    assert [row["id"] for row in await env.rows()] == ["c"]
    env.scheduler.start()
    await env.clock.advance(5000)
    await eventually(lambda: env.recorder.ids == ["c"])


async def test_a_job_never_fires_twice_even_with_concurrent_runs(env: Env) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    calls: list[str] = []

    async def slow(job: Job) -> None:
        calls.append(job.id)
        started.set()
        await release.wait()

    env.scheduler.register("test", "slow", slow)
    await env.scheduler.schedule("test", "slow", START, job_id="once")
    env.scheduler.start()  # the background loop picks it up...
    await asyncio.wait_for(started.wait(), 5)
    # ...while start-up code also asks for overdue jobs.
    extra = asyncio.gather(env.scheduler.run_due(), env.scheduler.run_due())
    await settle()
    release.set()
    await asyncio.wait_for(extra, 5)
    await eventually(lambda: env.scheduler.fired == 1)
    await env.clock.advance(10_000)
    await settle()
    assert calls == ["once"]
    assert await env.rows() == []


async def test_interrupted_job_reruns_after_restart(env: Env) -> None:
    entered = asyncio.Event()

    async def hangs(job: Job) -> None:
        entered.set()
        await asyncio.Event().wait()  # the process "dies" while this runs

    env.scheduler.register("test", "ping", hangs)
    await env.scheduler.schedule("test", "ping", START + 1, {"to": "@a:b"}, job_id="send")
    env.scheduler.start()
    await env.clock.advance(1)
    await asyncio.wait_for(entered.wait(), 5)
    await env.scheduler.stop()  # cancels the handler mid-run
    rows = await env.rows()
    assert len(rows) == 1
    assert json.loads(rows[0]["payload"]) == {"to": "@a:b", "__started": True}

    await env.restart(advance=30)
    assert await env.scheduler.run_due() == 1
    [job] = env.recorder.jobs
    assert job.id == "send"
    assert job.rerun is True
    assert job.payload == {"to": "@a:b"}  # the marker is not the plugin's business
    assert await env.rows() == []


async def test_started_marker_in_storage_means_rerun(env: Env) -> None:
    await env.scheduler.schedule("test", "ping", START, {"x": 1}, job_id="j")
    await env.db.execute(
        "UPDATE core_jobs SET payload = ? WHERE id = 'j'", (json.dumps({"x": 1, "__started": True}),)
    )
    await env.restart()
    await env.scheduler.run_due()
    assert [(job.rerun, job.payload) for job in env.recorder.jobs] == [(True, {"x": 1})]


async def test_handler_error_is_logged_retried_and_other_jobs_still_fire(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(job: Job) -> None:
        raise ValueError(job.payload["text"])

    env.scheduler.register("test", "broken", broken)
    await env.scheduler.schedule("test", "broken", START, {"text": "secret user text"},
                                 job_id="broken")
    await env.scheduler.schedule("test", "ping", START + 1, job_id="good")
    await env.clock.advance(1)
    with caplog.at_level(logging.WARNING, logger="core.scheduler"):
        assert await env.scheduler.run_due() == 2
    assert env.recorder.ids == ["good"]
    assert "ValueError" in caplog.text
    assert "secret user text" not in caplog.text
    # The failed job is kept, payload and started marker included, for a retry.
    [row] = await env.rows()
    assert row["id"] == "broken" and row["attempts"] == 1 and row["state"] == "pending"
    assert json.loads(row["payload"]) == {"text": "secret user text", "__started": True}
    assert row["due_at"] > env.clock.now()


async def test_an_escalation_that_fails_twice_goes_out_once_on_the_third_try(env: Env) -> None:
    alerted: list[str] = []
    failures = [RuntimeError("database is locked"), OSError("homeserver unreachable")]

    async def escalate(job: Job) -> None:
        if failures:
            raise failures.pop(0)
        alerted.append(job.payload["contact"])

    env.scheduler.register("checkins", "escalate", escalate)
    await env.scheduler.schedule("checkins", "escalate", START, {"contact": "@sam:x"})
    for _ in range(3):
        await env.scheduler.run_due()
        await env.clock.advance(3600)
    await env.scheduler.run_due()
    assert alerted == ["@sam:x"]
    assert await env.rows() == []
    assert env.scheduler.retried == 2


async def test_a_job_that_keeps_failing_becomes_a_dead_letter_told_to_its_owner(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    db = await open_db(tmp_path / "dead.db")
    scheduler = Scheduler(db, clock, max_attempts=3, backoff_initial_seconds=1,
                          backoff_max_seconds=10)
    told: list[tuple[str, int]] = []

    async def broken(job: Job) -> None:
        raise RuntimeError("always")

    async def dead(job: Job) -> None:
        told.append((job.kind, job.attempts))

    scheduler.register("checkins", "escalate", broken)
    scheduler.on_dead_letter("checkins", dead)
    await scheduler.schedule("checkins", "escalate", START, {"check_in": "c1"}, job_id="j1")
    for _ in range(5):
        await scheduler.run_due()
        await clock.advance(60)
    assert told == [("escalate", 3)]
    [letter] = await scheduler.dead_letters()
    assert letter.id == "j1" and letter.payload == {"check_in": "c1"}
    counts = await scheduler.counts()
    assert [(c.owner, c.kind, c.state, c.count) for c in counts] == [
        ("checkins", "escalate", "dead", 1)]
    await db.close()


async def test_a_malformed_payload_is_dead_lettered_not_fatal(env: Env) -> None:
    await env.db.execute(
        "INSERT INTO core_jobs (id, owner, kind, due_at, payload, created_at) "
        "VALUES ('old', 'test', 'ping', ?, 'not json', ?)", (START, START))
    await env.scheduler.schedule("test", "ping", START, job_id="fine")
    assert await env.scheduler.run_due() == 1
    assert env.recorder.ids == ["fine"]
    [row] = await env.rows()
    assert row["id"] == "old" and row["state"] == "dead"


async def test_payloads_an_older_version_wrote_are_dead_lettered_with_a_clear_line_once(
    env: Env, caplog: pytest.LogCaptureFixture,
) -> None:
    for job_id, payload in (("old-text", "not json"), ("old-list", "[1, 2]"),
                            ("old-null", "null")):
        await env.db.execute(
            "INSERT INTO core_jobs (id, owner, kind, due_at, payload, created_at) "
            "VALUES (?, 'test', 'ping', ?, ?, ?)", (job_id, START, payload, START))
    env.scheduler.start()  # the background loop, which must survive them
    with caplog.at_level(logging.ERROR, logger="core.scheduler"):
        await eventually(lambda: env.scheduler.dead == 3)
        await env.scheduler.schedule("test", "ping", START, job_id="after")
        await eventually(lambda: env.recorder.ids == ["after"])
        await env.clock.advance(3600)
        await settle()
    lines = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(lines) == 3, lines  # once each, never retried
    for job_id in ("old-text", "old-list", "old-null"):
        [line] = [line for line in lines if job_id in line]
        assert "test/ping" in line and "dead-lettered" in line and "older" in line
    assert env.recorder.ids == ["after"]
    rows = {row["id"]: row for row in await env.rows()}
    assert {job_id: (row["state"], row["attempts"]) for job_id, row in rows.items()} == {
        "old-text": ("dead", 0), "old-list": ("dead", 0), "old-null": ("dead", 0)}
    assert env.scheduler.retried == 0


async def test_no_job_fires_while_the_database_cannot_be_written_and_none_is_lost(
    env: Env, caplog: pytest.LogCaptureFixture,
) -> None:
    """The file goes read-only (for real) in the middle of a handler, then comes back."""
    from core.storage import DatabaseUnwritable
    from tests.integration.faults import ReadOnlyDatabase

    env.db.probe_seconds = 0.05
    fault = ReadOnlyDatabase(env.path, env.db)
    runs: list[tuple[bool, int]] = []

    async def escalate(job: Job) -> None:
        runs.append((job.rerun, job.attempts))
        if len(runs) == 1:
            await fault.apply()
        # The handler's own write: refused while the file is read-only.
        await env.db.execute("INSERT INTO core_state (key, value) VALUES (?, 'sent')",
                             (f"escalated:{job.id}",))

    env.scheduler.register("checkins", "escalate", escalate)
    await env.scheduler.schedule("checkins", "escalate", START, {"check_in": "c1"}, job_id="e1")
    await env.scheduler.schedule("test", "ping", START + 60, job_id="later")
    env.scheduler.start()
    try:
        with caplog.at_level(logging.WARNING):
            await eventually(lambda: not env.db.writable)
            await env.clock.advance(120)  # "later" falls due while the file is read-only
            await settle()
            assert runs == [(False, 0)] and env.recorder.ids == []
            with pytest.raises(DatabaseUnwritable):
                await env.scheduler.schedule("test", "ping", START, job_id="refused")
        # One line for the operator (the database's); no traceback per loop turn.
        assert [r.name for r in caplog.records if r.levelname == "ERROR"] == ["core.storage"]
    finally:
        await fault.restore()
    await eventually(lambda: env.recorder.ids == ["later"] and len(runs) == 2)
    # Rerun once, as an interrupted run (its marker was stored), not a failed attempt.
    assert runs == [(False, 0), (True, 0)]
    assert env.scheduler.retried == 0 and env.scheduler.dead == 0
    await settle()
    assert await env.rows() == []
    row = await env.db.fetchone("SELECT value FROM core_state WHERE key = 'escalated:e1'")
    assert row is not None and row["value"] == "sent"


async def test_a_recurring_job_survives_errors_and_keeps_one_row(env: Env) -> None:
    runs: list[float] = []

    async def prune(job: Job) -> None:
        runs.append(env.clock.now())
        if len(runs) == 1:
            raise RuntimeError("first run fails")

    env.scheduler.register("test", "prune", prune)
    await env.scheduler.every("test", "prune", 600, first_at=START)
    await env.scheduler.every("test", "prune", 600, first_at=START)  # the next start
    for _ in range(4):
        await env.scheduler.run_due()
        await env.clock.advance(600)
    assert len(runs) >= 3
    rows = await env.rows()
    assert len(rows) == 1 and rows[0]["every"] == 600 and rows[0]["state"] == "pending"


async def test_cancel(env: Env) -> None:
    env.scheduler.start()
    job_id = await env.scheduler.schedule("test", "ping", START + 10)
    await settle()
    assert await env.scheduler.cancel(job_id) is True
    assert await env.scheduler.cancel(job_id) is False
    assert await env.scheduler.cancel("never-existed") is False
    await env.clock.advance(20)
    await settle()
    assert env.recorder.jobs == []
    assert await env.rows() == []


async def test_schedule_with_the_same_id_replaces_the_job(env: Env) -> None:
    await env.scheduler.schedule("test", "ping", START + 10, {"v": 1}, job_id="j")
    await env.scheduler.schedule("test", "ping", START + 50, {"v": 2}, job_id="j")
    assert len(await env.rows()) == 1
    await env.clock.advance(10)
    assert await env.scheduler.run_due() == 0
    await env.clock.advance(40)
    assert await env.scheduler.run_due() == 1
    assert [job.payload for job in env.recorder.jobs] == [{"v": 2}]


async def test_handler_reschedules_its_own_job(env: Env) -> None:
    seen: list[tuple[float, dict[str, Any], bool]] = []

    async def repeat(job: Job) -> None:
        seen.append((env.clock.now(), job.payload, job.rerun))
        count = job.payload["count"]
        if count < 3:
            await env.scheduler.schedule(
                "test", "repeat", job.due_at + 60, {"count": count + 1}, job_id=job.id
            )

    env.scheduler.register("test", "repeat", repeat)
    await env.scheduler.schedule("test", "repeat", START + 60, {"count": 1}, job_id="r")
    env.scheduler.start()
    for _ in range(4):
        await env.clock.advance(60)
        await settle()
    await eventually(lambda: len(seen) == 3)
    assert seen == [
        (START + 60, {"count": 1}, False),
        (START + 120, {"count": 2}, False),
        (START + 180, {"count": 3}, False),
    ]
    assert await env.rows() == []


async def test_rescheduling_to_an_earlier_time_from_the_handler_keeps_the_job(env: Env) -> None:
    calls: list[int] = []

    async def retry(job: Job) -> None:
        calls.append(job.payload["attempt"])
        if job.payload["attempt"] == 1:
            # Try again at once (no later than the original deadline).
            await env.scheduler.schedule(
                "test", "retry", job.due_at, {"attempt": 2}, job_id=job.id
            )

    env.scheduler.register("test", "retry", retry)
    await env.scheduler.schedule("test", "retry", START, {"attempt": 1}, job_id="x")
    assert await env.scheduler.run_due() == 2
    assert calls == [1, 2]
    assert await env.rows() == []


async def test_job_without_a_handler_waits_for_one(env: Env) -> None:
    await env.scheduler.schedule("gone", "plugin", START, {"p": 1}, job_id="orphan")
    assert await env.scheduler.run_due() == 1
    rows = await env.rows()
    assert [(row["id"], row["due_at"]) for row in rows] == [("orphan", START + 3600)]
    seen = Recorder()
    env.scheduler.register("gone", "plugin", seen)
    await env.clock.advance(3600)
    await env.scheduler.run_due()
    assert [(job.id, job.payload, job.rerun) for job in seen.jobs] == [("orphan", {"p": 1}, False)]


async def test_pending_lists_an_owners_jobs(env: Env) -> None:
    await env.scheduler.schedule("test", "ping", START + 20, job_id="b")
    await env.scheduler.schedule("test", "other", START + 10, job_id="a")
    await env.scheduler.schedule("someone", "ping", START + 5, job_id="z")
    assert [job.id for job in await env.scheduler.pending("test")] == ["a", "b"]
    assert [job.id for job in await env.scheduler.pending("test", "ping")] == ["b"]
    assert await env.scheduler.pending("nobody") == []
