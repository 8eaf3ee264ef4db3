"""Durable timers: jobs live in the database, survive restarts and fire once.

A job is deleted only after its handler returns. If the process dies while a
handler runs, the job runs again at the next start with `rerun=True`; handlers
send through transaction ids derived from the job id, so the homeserver drops
a message that already went out. Overdue jobs fire at start, once each.
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
from core.storage import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    owner: str
    kind: str
    due_at: float
    payload: dict[str, Any]
    # True when an earlier run of this job was interrupted.
    rerun: bool
    late_by: float


JobHandler = Callable[[Job], Awaitable[None]]


class Scheduler:
    """Runs due jobs in order of their deadline; one job at a time per scheduler."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._handlers: dict[tuple[str, str], JobHandler] = {}
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # run_due may be called while the background loop runs; one at a time,
        # or both could pick the same row and fire it twice.
        self._running = asyncio.Lock()
        self.fired = 0

    def register(self, owner: str, kind: str, handler: JobHandler) -> None:
        self._handlers[(owner, kind)] = handler

    async def schedule(
        self, owner: str, kind: str, due_at: float, payload: dict[str, Any] | None = None,
        *, job_id: str | None = None,
    ) -> str:
        """Store a job; an existing job with the same id is replaced (rescheduled)."""
        job_id = job_id or secrets.token_hex(12)
        await self.db.execute(
            "INSERT INTO core_jobs (id, owner, kind, due_at, payload, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "due_at = excluded.due_at, payload = excluded.payload",
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
            "SELECT * FROM core_jobs WHERE owner = ? AND (? IS NULL OR kind = ?) ORDER BY due_at",
            (owner, kind, kind),
        )
        return [self._job(row) for row in rows]

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
                    "SELECT * FROM core_jobs WHERE due_at <= ? ORDER BY due_at LIMIT 1",
                    (self.clock.now(),),
                )
                if row is None:
                    return ran
                await self._fire(self._job(row))
                ran += 1

    def _job(self, row: Any) -> Job:
        payload = json.loads(row["payload"])
        return Job(
            id=row["id"], owner=row["owner"], kind=row["kind"], due_at=row["due_at"],
            payload=payload, rerun=bool(payload.pop("__started", False)),
            late_by=max(0.0, self.clock.now() - row["due_at"]),
        )

    async def _fire(self, job: Job) -> None:
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
        except Exception as exc:
            log_exception(log, f"job {job.owner}/{job.kind} {job.id}", exc, new_error_id())
        # A handler may have rescheduled its own job (same id): `schedule`
        # replaced the payload, so the started marker no longer matches.
        await self.db.execute(
            "DELETE FROM core_jobs WHERE id = ? AND payload = ?", (job.id, marked)
        )
        self.fired += 1

    async def _run(self) -> None:
        while True:
            try:
                await self._run_once()
            except Exception as exc:  # a database hiccup must not end all timers
                log_exception(log, "scheduler loop", exc, new_error_id())
                await self.clock.sleep(1.0)

    async def _run_once(self) -> None:
        """Fire what is due, then sleep until the next job or a new one."""
        self._wakeup.clear()
        await self.run_due()
        row = await self.db.fetchone("SELECT MIN(due_at) AS due FROM core_jobs")
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
