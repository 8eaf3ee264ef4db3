"""Alerts' own jobs through its registration: the recurring prune, the catch-up at ready.

The prune is the scheduler's recurring job (`every`): an error, or a run of
them longer than the scheduler's `max_attempts`, never ends it, and a restart
keeps one row. The catch-up is start work in `ready()`, after the first sync.
The tests fire jobs themselves (`scheduler.run_due()` after `clock.advance`)
to count what ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.testing import PluginHarness
from tests.unit.alerts_helpers import (
    ORGANIZER,
    alerts,
    alerts_bot,
    alerts_in,
    network_rooms,
    ready_without_firing_jobs,
    send_alert,
)

DAY = 86400.0
FIRST_PRUNE_SECONDS = 3600.0  # the first prune, an hour after the first start
PRUNE_SECONDS = DAY


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with alerts_bot(tmp_path) as h:
        yield h


async def jobs(h: PluginHarness) -> list[Any]:
    return await h.db.fetchall(
        "SELECT id, kind, state, due_at, every FROM core_jobs WHERE owner = 'alerts' ORDER BY id")


async def old_audit_entry(h: PluginHarness) -> None:
    """An audit entry older than the retention (90 days by default)."""
    await h.db.execute(
        "INSERT INTO alerts_audit (at, actor, action, alert_id) VALUES (?, ?, ?, ?)",
        (h.clock.now() - 100 * DAY, ORGANIZER, "composed", "old"))


async def audit_entries(h: PluginHarness) -> int:
    row = await h.db.fetchone("SELECT COUNT(*) AS n FROM alerts_audit")
    assert row is not None
    return int(row["n"])


def failing_prune(h: PluginHarness, failures: int) -> list[float]:
    """The store's prune raises `failures` times, then works; returns when it was called."""
    calls: list[float] = []
    store = alerts(h).store
    real = store.prune

    async def prune(before: float) -> int:
        calls.append(h.clock.now())
        if len(calls) <= failures:
            raise RuntimeError("database is locked")
        return await real(before)

    store.prune = prune  # type: ignore[method-assign]
    return calls


async def test_a_prune_that_fails_once_runs_again_and_keeps_its_interval(
        harness: PluginHarness) -> None:
    h = harness
    calls = failing_prune(h, failures=1)
    await old_audit_entry(h)
    await h.clock.advance(FIRST_PRUNE_SECONDS)
    assert await h.scheduler.run_due() == 1
    assert len(calls) == 1 and await audit_entries(h) == 1  # failed: nothing pruned
    [row] = await jobs(h)
    assert row["state"] == "pending" and row["due_at"] <= h.clock.now() + 900
    await h.clock.advance(900)
    await h.scheduler.run_due()
    assert len(calls) == 2 and await audit_entries(h) == 0
    # Then daily again, from the run that worked.
    [row] = await jobs(h)
    assert row["due_at"] == pytest.approx(h.clock.now() + PRUNE_SECONDS, abs=1)
    await old_audit_entry(h)
    await h.clock.advance(PRUNE_SECONDS - 60)
    await h.scheduler.run_due()
    assert len(calls) == 2
    await h.clock.advance(60)
    await h.scheduler.run_due()
    assert len(calls) == 3 and await audit_entries(h) == 0


async def test_a_prune_failing_longer_than_max_attempts_is_never_dead_lettered(
        harness: PluginHarness) -> None:
    """A one-off job gives up after `max_attempts`; the recurring prune never does."""
    h = harness
    failures = h.scheduler.max_attempts + 3
    calls = failing_prune(h, failures=failures)
    await old_audit_entry(h)
    await h.clock.advance(FIRST_PRUNE_SECONDS)
    for _ in range(failures + 1):
        await h.scheduler.run_due()
        await h.clock.advance(900)  # at least the capped back-off
    assert len(calls) == failures + 1
    assert await audit_entries(h) == 0
    assert await h.scheduler.dead_letters("alerts") == []
    [row] = await jobs(h)
    assert row["id"] == "every:alerts:prune" and row["state"] == "pending"


async def test_one_row_per_recurring_kind_across_restarts(tmp_path: Path) -> None:
    async with alerts_bot(tmp_path) as h:
        # What an older version left: its hand-rescheduled prune and its catch-up job.
        await h.scheduler.schedule("alerts", "prune", h.clock.now() + 50, job_id="alerts-prune")
        await h.scheduler.schedule("alerts", "catch_up", h.clock.now(), job_id="alerts-catch-up")
        first_due = h.clock.now() + FIRST_PRUNE_SECONDS
        await h.restart()
        await h.restart()
        rows = await jobs(h)
        assert [(r["id"], r["kind"], r["every"]) for r in rows] == [
            ("every:alerts:prune", "prune", PRUNE_SECONDS)]
        # A restart does not push the pending run back.
        assert rows[0]["due_at"] == pytest.approx(first_due)


async def test_catch_up_runs_in_ready_and_gives_back_a_lost_send_job(tmp_path: Path) -> None:
    [room] = rooms = network_rooms(1)
    async with alerts_bot(tmp_path, rooms) as h:
        await send_alert(h, "at +5m Curfew at ten")
        # The send job was lost (e.g. an older version's crash between the two writes).
        await h.db.execute("DELETE FROM core_jobs WHERE kind = 'send'")
        await h.restart(ready=False)
        assert await h.scheduler.pending("alerts", "send") == []  # setup alone: not yet
        await ready_without_firing_jobs(h)
        assert len(await h.scheduler.pending("alerts", "send")) == 1
        # Start work is no job: nothing but the send and the recurring prune is stored.
        assert {r["kind"] for r in await jobs(h)} == {"send", "prune"}
        await h.clock.advance(600)
        assert await h.scheduler.run_due() == 1
        await asyncio.wait_for(h.outbox.idle(), 10)
        [message] = alerts_in(h, room)
        assert "Curfew at ten" in message.body


async def test_a_catch_up_that_fails_in_ready_is_retried_by_the_scheduler(tmp_path: Path) -> None:
    async with alerts_bot(tmp_path, network_rooms(1)) as h:
        await send_alert(h, "Assemble at noon")
        # A crash before the results were recorded.
        await h.db.execute("UPDATE alerts_deliveries SET state = 'queued', event_id = NULL")
        await h.db.execute("UPDATE alerts_alerts SET state = 'sending'")
        await h.restart(ready=False)
        plugin = alerts(h)
        real = plugin.fanout.catch_up
        calls: list[int] = []

        async def catch_up() -> None:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("database is locked")
            await real()

        plugin.fanout.catch_up = catch_up  # type: ignore[method-assign]
        await plugin.ready()  # logs the error; never raises into core
        [job] = await h.scheduler.pending("alerts", "catch_up")
        assert job.id == "alerts-catch-up"
        assert await h.scheduler.run_due() == 1
        assert len(calls) == 2
        [alert] = await plugin.store.recent(1)
        assert alert.state == "done"
        assert await h.scheduler.pending("alerts", "catch_up") == []


async def test_a_send_job_fires_once_whatever_rooms_are_known(tmp_path: Path) -> None:
    """No "not synced yet" retry loop: a due send runs when the scheduler says."""
    async with alerts_bot(tmp_path, network_rooms(1)) as h:
        await send_alert(h, "at +5m Curfew at ten")
        for room in h.homeserver.rooms.values():  # the bot was removed from every room meanwhile
            room.joined.remove(h.bot_user_id)
        await h.clock.advance(600)
        assert await h.scheduler.run_due() == 1
        [alert] = await alerts(h).store.recent(1)
        assert alert.state != "scheduled"
        assert await h.scheduler.pending("alerts", "send") == []
