"""Alerts' own jobs through its registration: the recurring prune, the catch-up at ready.

The prune is the scheduler's recurring job (`every`): an error, or a run of
them longer than the scheduler's `max_attempts`, never ends it, and a restart
keeps one row. The catch-up is start work in `ready()`, after the first sync.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_alerts_plugin import (
    ORGANIZER,
    ORGANIZERS_ROOM,
    Harness,
    alerts_in,
    close,
    make_harness,
    network,
)

DAY = 86400.0
FIRST_PRUNE_SECONDS = 3600.0  # the first prune, an hour after the first start
PRUNE_SECONDS = DAY


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    try:
        yield h
    finally:
        await close(h)


async def jobs(h: Harness) -> list[Any]:
    return await h.runtime.db.fetchall(
        "SELECT id, kind, state, due_at, every FROM core_jobs WHERE owner = 'alerts' ORDER BY id")


async def old_audit_entry(h: Harness) -> None:
    """An audit entry older than the retention (90 days by default)."""
    await h.runtime.db.execute(
        "INSERT INTO alerts_audit (at, actor, action, alert_id) VALUES (?, ?, ?, ?)",
        (h.clock.now() - 100 * DAY, ORGANIZER, "composed", "old"))


async def audit_entries(h: Harness) -> int:
    row = await h.runtime.db.fetchone("SELECT COUNT(*) AS n FROM alerts_audit")
    assert row is not None
    return int(row["n"])


def failing_prune(h: Harness, failures: int) -> list[float]:
    """The store's prune raises `failures` times, then works; returns when it was called."""
    calls: list[float] = []
    real = h.plugin.store.prune

    async def prune(before: float) -> int:
        calls.append(h.clock.now())
        if len(calls) <= failures:
            raise RuntimeError("database is locked")
        return await real(before)

    h.plugin.store.prune = prune  # type: ignore[method-assign]
    return calls


async def test_a_prune_that_fails_once_runs_again_and_keeps_its_interval(harness: Harness) -> None:
    h = harness
    calls = failing_prune(h, failures=1)
    await old_audit_entry(h)
    await h.clock.advance(FIRST_PRUNE_SECONDS)
    assert await h.runtime.scheduler.run_due() == 1
    assert len(calls) == 1 and await audit_entries(h) == 1  # failed: nothing pruned
    [row] = await jobs(h)
    assert row["state"] == "pending" and row["due_at"] <= h.clock.now() + 900
    await h.clock.advance(900)
    await h.runtime.scheduler.run_due()
    assert len(calls) == 2 and await audit_entries(h) == 0
    # Then daily again, from the run that worked.
    [row] = await jobs(h)
    assert row["due_at"] == pytest.approx(h.clock.now() + PRUNE_SECONDS, abs=1)
    await old_audit_entry(h)
    await h.clock.advance(PRUNE_SECONDS - 60)
    await h.runtime.scheduler.run_due()
    assert len(calls) == 2
    await h.clock.advance(60)
    await h.runtime.scheduler.run_due()
    assert len(calls) == 3 and await audit_entries(h) == 0


async def test_a_prune_failing_longer_than_max_attempts_is_never_dead_lettered(
        harness: Harness) -> None:
    """A one-off job gives up after `max_attempts`; the recurring prune never does."""
    h = harness
    failures = h.runtime.scheduler.max_attempts + 3
    calls = failing_prune(h, failures=failures)
    await old_audit_entry(h)
    await h.clock.advance(FIRST_PRUNE_SECONDS)
    for _ in range(failures + 1):
        await h.runtime.scheduler.run_due()
        await h.clock.advance(900)  # at least the capped back-off
    assert len(calls) == failures + 1
    assert await audit_entries(h) == 0
    assert await h.runtime.scheduler.dead_letters("alerts") == []
    [row] = await jobs(h)
    assert row["id"] == "every:alerts:prune" and row["state"] == "pending"


async def test_one_row_per_recurring_kind_across_restarts(tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    # What an older version left: its hand-rescheduled prune and its catch-up job.
    await h.runtime.scheduler.schedule("alerts", "prune", h.clock.now() + 50, job_id="alerts-prune")
    await h.runtime.scheduler.schedule("alerts", "catch_up", h.clock.now(), job_id="alerts-catch-up")
    first_due = h.clock.now() + FIRST_PRUNE_SECONDS
    h = await make_harness(tmp_path, restart_of=h)
    h = await make_harness(tmp_path, restart_of=h)
    try:
        rows = await jobs(h)
        assert [(r["id"], r["kind"], r["every"]) for r in rows] == [
            ("every:alerts:prune", "prune", PRUNE_SECONDS)]
        # A restart does not push the pending run back.
        assert rows[0]["due_at"] == pytest.approx(first_due)
    finally:
        await close(h)


async def test_catch_up_runs_in_ready_and_gives_back_a_lost_send_job(tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    [room] = network(h, 1)
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert at +5m Curfew at ten")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    # The send job was lost (e.g. an older version's crash between the two writes).
    await h.runtime.db.execute("DELETE FROM core_jobs WHERE kind = 'send'")
    h = await make_harness(tmp_path, restart_of=h, ready=False)
    try:
        assert await h.runtime.scheduler.pending("alerts", "send") == []  # setup alone: not yet
        for plugin in h.runtime.plugins.values():
            await plugin.ready()
        h.outbox.start()
        assert len(await h.runtime.scheduler.pending("alerts", "send")) == 1
        # Start work is no job: nothing but the send and the recurring prune is stored.
        assert {r["kind"] for r in await jobs(h)} == {"send", "prune"}
        await h.clock.advance(600)
        assert await h.runtime.scheduler.run_due() == 1
        await h.delivered()
        [message] = alerts_in(h, room)
        assert "Curfew at ten" in message.content["body"]
    finally:
        await close(h)


async def test_a_catch_up_that_fails_in_ready_is_retried_by_the_scheduler(tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    network(h, 1)
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Assemble at noon")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    # A crash before the results were recorded.
    await h.runtime.db.execute("UPDATE alerts_deliveries SET state = 'queued', event_id = NULL")
    await h.runtime.db.execute("UPDATE alerts_alerts SET state = 'sending'")
    h = await make_harness(tmp_path, restart_of=h, ready=False)
    real = h.plugin.fanout.catch_up
    calls: list[int] = []

    async def catch_up() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        await real()

    h.plugin.fanout.catch_up = catch_up  # type: ignore[method-assign]
    try:
        await h.plugin.ready()  # logs the error; never raises into core
        [job] = await h.runtime.scheduler.pending("alerts", "catch_up")
        assert job.id == "alerts-catch-up"
        assert await h.runtime.scheduler.run_due() == 1
        assert len(calls) == 2
        [alert] = await h.plugin.store.recent(1)
        assert alert.state == "done"
        assert await h.runtime.scheduler.pending("alerts", "catch_up") == []
    finally:
        await close(h)


async def test_a_send_job_fires_once_whatever_rooms_are_known(harness: Harness) -> None:
    """No "not synced yet" retry loop: a due send runs when the scheduler says."""
    h = harness
    network(h, 1)
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert at +5m Curfew at ten")
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    h.hs.members_of = {}  # the bot was removed from every room meanwhile
    await h.clock.advance(600)
    assert await h.runtime.scheduler.run_due() == 1
    [alert] = await h.plugin.store.recent(1)
    assert alert.state != "scheduled"
    assert await h.runtime.scheduler.pending("alerts", "send") == []

