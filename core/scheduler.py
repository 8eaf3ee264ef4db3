"""Durable timers: jobs live in the database, survive restarts and fire once.

A job is deleted only after its handler returns. If the process dies while a
handler runs, the job runs again at the next start with `rerun=True`; handlers
send through transaction ids derived from the job id, so the homeserver drops
a message that already went out. Overdue jobs fire at start, once each.

A handler that raises is never the end of its job: a check-in's escalation
that hit a database hiccup must still go out. It is retried with capped
back-off, keeping its payload and its "started" marker, and after
`max_attempts` it becomes a dead letter: kept, logged by id, listed by
`solidarity jobs`, and told to its owner (`on_dead_letter`) so safety jobs
reach the safety team. Recurring jobs (`every`) are one row per kind that
comes back after each run, whatever the handler did.

While the database cannot be written, no job fires: its "started" marker
could not be stored, so a run then could neither be told apart from a first
one nor be retried. The loop waits for the file to take writes again; a
handler that hit the unwritable file mid-run keeps its marker and attempts
count unchanged (the fault is the disk's, not the job's), and reruns then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.clock import Clock
from core.logsafe import log_exception, new_error_id
from core.storage import Database, DatabaseUnwritable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    owner: str
    kind: str
    due_at: float
    payload: dict[str, Any]
    # True when an earlier run of this job was interrupted or failed.
    rerun: bool
    late_by: float
    # Earlier runs that raised (0 on the first try).
    attempts: int = 0


JobHandler = Callable[[Job], Awaitable[None]]
DeadLetterHandler = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True)
class JobCounts:
    owner: str
    kind: str
    state: str
    count: int


class Scheduler:
    """Runs due jobs in order of their deadline; one job at a time per scheduler."""

    def __init__(self, db: Database, clock: Clock, *, max_attempts: int = 8,
                 backoff_initial_seconds: float = 5.0,
                 backoff_max_seconds: float = 900.0) -> None:
        self.db = db
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial_seconds
        self.backoff_max = backoff_max_seconds
        self._handlers: dict[tuple[str, str], JobHandler] = {}
        self._dead_letter: dict[str, DeadLetterHandler] = {}
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # run_due may be called while the background loop runs; one at a time,
        # or both could pick the same row and fire it twice.
        self._running = asyncio.Lock()
        self.fired = 0
        self.retried = 0
        self.dead = 0

    def register(self, owner: str, kind: str, handler: JobHandler) -> None:
        self._handlers[(owner, kind)] = handler

    def handles(self, owner: str, kind: str) -> bool:
        return (owner, kind) in self._handlers

    def unregister_owner(self, owner: str) -> None:
        """Stop firing an owner's jobs (a plugin left out); they stay stored for its return."""
        for key in [key for key in self._handlers if key[0] == owner]:
            del self._handlers[key]

    def on_dead_letter(self, owner: str, handler: DeadLetterHandler) -> None:
        """Told once when one of `owner`'s jobs gives up (e.g. report it to the safety team)."""
        self._dead_letter[owner] = handler

    async def every(self, owner: str, kind: str, interval: float, *,
                    first_at: float | None = None) -> str:
        """Run `kind` every `interval` seconds, one row per kind, surviving errors and restarts.

        Calling it again (each start) keeps the pending run's time unless the
        interval changed; the first run is at `first_at` (default: one interval from now).
        """
        job_id = f"every:{owner}:{kind}"
        due = first_at if first_at is not None else self.clock.now() + interval
        await self.db.execute(
            "INSERT INTO core_jobs (id, owner, kind, due_at, payload, created_at, every) "
            "VALUES (?, ?, ?, ?, '{}', ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "every = excluded.every, state = 'pending', "
            "due_at = CASE WHEN core_jobs.every = excluded.every THEN core_jobs.due_at "
            "ELSE excluded.due_at END",
            (job_id, owner, kind, due, self.clock.now(), interval),
        )
        self._wakeup.set()
        return job_id

    async def schedule(
        self, owner: str, kind: str, due_at: float, payload: dict[str, Any] | None = None,
        *, job_id: str | None = None,
    ) -> str:
        """Store a job; an existing job with the same id is replaced (rescheduled)."""
        job_id = job_id or secrets.token_hex(12)
        await self.db.execute(
            "INSERT INTO core_jobs (id, owner, kind, due_at, payload, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "due_at = excluded.due_at, payload = excluded.payload, attempts = 0, "
            "state = 'pending', last_error = NULL",
            (job_id, owner, kind, due_at, json.dumps(payload or {}), self.clock.now()),
        )
        self._wakeup.set()
        return job_id

    async def cancel(self, job_id: str) -> bool:
        changed = await self.db.execute("DELETE FROM core_jobs WHERE id = ?", (job_id,))
        self._wakeup.set()
        return changed > 0

    async def pending(self, owner: str, kind: str | None = None) -> list[Job]:
        rows = await self.db.fetchall(
            "SELECT * FROM core_jobs WHERE owner = ? AND (? IS NULL OR kind = ?) "
            "AND state = 'pending' ORDER BY due_at",
            (owner, kind, kind),
        )
        return [job for row in rows if (job := self._job(row)) is not None]

    async def dead_letters(self, owner: str | None = None) -> list[Job]:
        rows = await self.db.fetchall(
            "SELECT * FROM core_jobs WHERE state = 'dead' AND (? IS NULL OR owner = ?) "
            "ORDER BY due_at", (owner, owner))
        return [job for row in rows if (job := self._job(row)) is not None]

    async def counts(self) -> list[JobCounts]:
        """Jobs by owner, kind and state (pending, due, dead): for operators, no payloads."""
        rows = await self.db.fetchall(
            "SELECT owner, kind, CASE WHEN state = 'pending' AND due_at <= ? THEN 'due' "
            "ELSE state END AS shown, COUNT(*) AS n FROM core_jobs "
            "GROUP BY owner, kind, shown ORDER BY owner, kind, shown", (self.clock.now(),))
        return [JobCounts(str(r["owner"]), str(r["kind"]), str(r["shown"]), int(r["n"]))
                for r in rows]

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_due(self) -> int:
        """Fire every job that is due now; returns how many ran."""
        ran = 0
        async with self._running:
            while True:
                row = await self.db.fetchone(
                    "SELECT * FROM core_jobs WHERE state = 'pending' AND due_at <= ? "
                    "ORDER BY due_at LIMIT 1",
                    (self.clock.now(),),
                )
                if row is None:
                    return ran
                job = self._job(row)
                if job is None:
                    # A payload an older version wrote and nobody can read:
                    # kept for the operator, never retried, never fatal.
                    log.error("job %s (%s/%s) has a payload this version cannot read (written "
                              "by an older one?): dead-lettered, not run; listed by "
                              "`solidarity jobs`", row["id"], row["owner"], row["kind"])
                    await self.db.execute(
                        "UPDATE core_jobs SET state = 'dead', last_error = 'malformed payload' "
                        "WHERE id = ?", (row["id"],))
                    self.dead += 1
                    continue
                await self._fire(job, every=row["every"])
                ran += 1

    def _job(self, row: Any) -> Job | None:
        try:
            payload = json.loads(row["payload"])
        except (TypeError, ValueError):
            return None
        if not isinstance(payload, dict):
            return None
        return Job(
            id=row["id"], owner=row["owner"], kind=row["kind"], due_at=row["due_at"],
            payload=payload, rerun=bool(payload.pop("__started", False)),
            late_by=max(0.0, self.clock.now() - row["due_at"]),
            attempts=int(row["attempts"] or 0),
        )

    async def _fire(self, job: Job, *, every: float | None = None) -> None:
        handler = self._handlers.get((job.owner, job.kind))
        if handler is None:
            # A job of a plugin that is not loaded stays stored for when it is;
            # push it back so it does not block the queue.
            log.warning("no handler for job kind %s/%s; retrying in an hour", job.owner, job.kind)
            await self.db.execute(
                "UPDATE core_jobs SET due_at = ? WHERE id = ?", (self.clock.now() + 3600, job.id)
            )
            return
        marked = json.dumps({**job.payload, "__started": True})
        await self.db.execute("UPDATE core_jobs SET payload = ? WHERE id = ?", (marked, job.id))
        try:
            await handler(job)
        except DatabaseUnwritable:
            raise  # not the job's failure: it reruns once the file takes writes (see above)
        except Exception as exc:
            error_id = new_error_id()
            log_exception(log, f"job {job.owner}/{job.kind} {job.id}", exc, error_id)
            await self._failed(job, marked, every, f"{type(exc).__name__} ({error_id})")
            return
        self.fired += 1
        if every is not None:
            # The interval as it is now: the handler (or a new start) may have changed it.
            await self.db.execute(
                "UPDATE core_jobs SET due_at = ? + every, payload = '{}', attempts = 0, "
                "last_error = NULL WHERE id = ?", (self.clock.now(), job.id))
            return
        # A handler may have rescheduled its own job (same id): `schedule`
        # replaced the payload, so the started marker no longer matches.
        await self.db.execute(
            "DELETE FROM core_jobs WHERE id = ? AND payload = ?", (job.id, marked)
        )

    async def _failed(self, job: Job, marked: str, every: float | None, error: str) -> None:
        attempts = job.attempts + 1
        delay = min(self.backoff_initial * 2 ** (attempts - 1), self.backoff_max)
        if every is not None:
            # A recurring job comes back whatever happened; sooner if it failed.
            await self.db.execute(
                "UPDATE core_jobs SET due_at = ?, payload = '{}', attempts = ?, last_error = ? "
                "WHERE id = ?", (self.clock.now() + min(delay, every), attempts, error, job.id))
            self.retried += 1
            return
        if attempts >= self.max_attempts:
            changed = await self.db.execute(
                "UPDATE core_jobs SET state = 'dead', attempts = ?, last_error = ? "
                "WHERE id = ? AND payload = ?", (attempts, error, job.id, marked))
            if changed:
                self.dead += 1
                log.error("job %s (%s/%s) failed %d times: dead-lettered", job.id, job.owner,
                          job.kind, attempts)
                await self._tell_dead_letter(job, attempts)
            return
        # Retried later with its payload and started marker (it reruns with rerun=True).
        changed = await self.db.execute(
            "UPDATE core_jobs SET due_at = ?, attempts = ?, last_error = ? "
            "WHERE id = ? AND payload = ?",
            (self.clock.now() + delay, attempts, error, job.id, marked))
        if changed:
            self.retried += 1
            log.warning("job %s (%s/%s) will be retried in %.0f s (attempt %d of %d)", job.id,
                        job.owner, job.kind, delay, attempts + 1, self.max_attempts)

    async def _tell_dead_letter(self, job: Job, attempts: int) -> None:
        handler = self._dead_letter.get(job.owner)
        if handler is None:
            return
        try:
            await handler(Job(id=job.id, owner=job.owner, kind=job.kind, due_at=job.due_at,
                              payload=job.payload, rerun=True, late_by=job.late_by,
                              attempts=attempts))
        except Exception as exc:
            log_exception(log, f"dead-letter report of {job.owner}", exc, new_error_id())

    async def _run(self) -> None:
        while True:
            await self.db.wait_writable()
            try:
                await self._run_once()
            except DatabaseUnwritable:
                continue  # the database logged it once; wait for it above, no traceback a second
            except Exception as exc:  # a database hiccup must not end all timers
                log_exception(log, "scheduler loop", exc, new_error_id())
                await self.clock.sleep(1.0)

    async def _run_once(self) -> None:
        """Fire what is due, then sleep until the next job or a new one."""
        self._wakeup.clear()
        await self.run_due()
        row = await self.db.fetchone(
            "SELECT MIN(due_at) AS due FROM core_jobs WHERE state = 'pending'")
        due = row["due"] if row and row["due"] is not None else None
        deadline = self.clock.now() + 3600.0 if due is None else float(due)
        sleeper = asyncio.ensure_future(self._sleep_until(deadline))
        waker = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _sleep_until(self, deadline: float) -> None:
        # The delay is measured when the sleep starts, not when it was
        # planned, so time passing in between cannot push the deadline back.
        await self.clock.sleep(max(0.0, deadline - self.clock.now()))
