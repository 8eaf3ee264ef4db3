"""Onboarding's sweep through its registration: the README's promise that a member's data
is deleted when they leave holds after errors and restarts.

Leaves are heard only in rooms with onboarding on; the sweep forgets members
who left the network another way (or while the bot was down). It is the
scheduler's recurring job (`every`): an error, or a run of them longer than
`max_attempts`, never ends it, and a restart keeps one row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_onboarding_plugin import ROOM, Harness, close, make_harness

SWEEP_SECONDS = 3600.0
OTHER = "@other-newcomer:x"


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    try:
        yield h
    finally:
        await close(h)


async def jobs(h: Harness, kind: str | None = None) -> list[Any]:
    return await h.runtime.db.fetchall(
        "SELECT id, kind, state, due_at, every FROM core_jobs WHERE owner = 'onboarding' "
        "AND (? IS NULL OR kind = ?) ORDER BY id", (kind, kind))


async def held_about(h: Harness, user_id: str) -> list[str]:
    """The onboarding tables holding a row about `user_id`."""
    tables = []
    for table in ("onboarding_members", "onboarding_profiles"):
        rows = await h.runtime.db.fetchall(f"SELECT user_id FROM {table} WHERE user_id = ?",
                                           (user_id,))
        if rows:
            tables.append(table)
    return tables


async def joined_then_gone(h: Harness, user_id: str) -> None:
    """`user_id` joins, sets pronouns, then leaves unseen (no leave event reaches onboarding)."""
    dm = await h.join(ROOM, user_id)
    await h.say(dm, user_id, "!pronouns they/them")
    assert await held_about(h, user_id) == ["onboarding_members", "onboarding_profiles"]
    h.hs.room(ROOM).joined.remove(user_id)


def failing_forget(h: Harness, failures: int, *, only: str | None = None) -> list[str]:
    """The flow's forget raises `failures` times (for `only`, if given), then works."""
    calls: list[str] = []
    real = h.plugin.flow._forget

    async def forget(user_id: str) -> None:
        calls.append(user_id)
        if (only is None or user_id == only) and \
                len([c for c in calls if only is None or c == only]) <= failures:
            raise RuntimeError("database is locked")
        await real(user_id)

    h.plugin.flow._forget = forget  # type: ignore[method-assign]
    return calls


async def test_a_sweep_that_fails_once_runs_again_and_deletes_the_departed(harness: Harness) -> None:
    h = harness
    await joined_then_gone(h, "@new:x")
    calls = failing_forget(h, failures=1)
    await h.clock.advance(SWEEP_SECONDS)
    assert await h.runtime.scheduler.run_due() >= 1
    assert calls == ["@new:x"] and await held_about(h, "@new:x")  # failed: still held
    await h.clock.advance(900)  # at least the capped back-off
    await h.runtime.scheduler.run_due()
    assert await held_about(h, "@new:x") == []
    # Hourly again, from the run that worked.
    [row] = await jobs(h, "sweep")
    assert row["state"] == "pending"
    assert row["due_at"] == pytest.approx(h.clock.now() + SWEEP_SECONDS, abs=1)


async def test_a_sweep_failing_longer_than_max_attempts_is_never_dead_lettered(
        harness: Harness) -> None:
    h = harness
    await joined_then_gone(h, "@new:x")
    failures = h.runtime.scheduler.max_attempts + 3
    calls = failing_forget(h, failures=failures)
    await h.clock.advance(SWEEP_SECONDS)
    for _ in range(failures + 1):
        await h.runtime.scheduler.run_due()
        await h.clock.advance(900)
    assert len(calls) == failures + 1
    assert await held_about(h, "@new:x") == []
    assert await h.runtime.scheduler.dead_letters("onboarding") == []
    [row] = await jobs(h, "sweep")
    assert row["id"] == "every:onboarding:sweep" and row["state"] == "pending"


async def test_one_member_that_cannot_be_forgotten_does_not_shield_the_others(
        harness: Harness) -> None:
    h = harness
    await joined_then_gone(h, "@new:x")
    await joined_then_gone(h, OTHER)
    failing_forget(h, failures=1, only="@new:x")
    await h.clock.advance(SWEEP_SECONDS)
    await h.runtime.scheduler.run_due()
    assert await held_about(h, OTHER) == []  # forgotten in the run that failed for @new:x
    assert await held_about(h, "@new:x")
    [row] = await jobs(h, "sweep")
    assert row["due_at"] <= h.clock.now() + 900  # sooner than the hour: it failed
    await h.clock.advance(900)
    await h.runtime.scheduler.run_due()
    assert await held_about(h, "@new:x") == []


async def test_the_sweep_keeps_members_still_in_the_network(harness: Harness) -> None:
    h = harness
    dm = await h.join(ROOM, "@stays:x")
    await h.say(dm, "@stays:x", "!pronouns she/her")
    await joined_then_gone(h, OTHER)
    await h.clock.advance(SWEEP_SECONDS)
    await h.runtime.scheduler.run_due()
    assert await held_about(h, OTHER) == []
    assert await held_about(h, "@stays:x") == ["onboarding_members", "onboarding_profiles"]


async def test_one_sweep_row_across_restarts(tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    # What an older version left: its hand-rescheduled sweep.
    await h.runtime.scheduler.schedule("onboarding", "sweep", h.clock.now() + 50,
                                       job_id="onboarding-sweep")
    first_due = h.clock.now() + SWEEP_SECONDS
    h = await make_harness(tmp_path, restart_of=h)
    h = await make_harness(tmp_path, restart_of=h)
    try:
        rows = await jobs(h)
        assert [(r["id"], r["kind"], r["every"]) for r in rows] == [
            ("every:onboarding:sweep", "sweep", SWEEP_SECONDS)]
        assert rows[0]["due_at"] == pytest.approx(first_due)  # a restart does not push it back
        # And it still deletes a departed member's data after the restarts.
        await joined_then_gone(h, "@new:x")
        await h.clock.advance(SWEEP_SECONDS)
        assert await h.runtime.scheduler.run_due() >= 1
        assert await held_about(h, "@new:x") == []
    finally:
        await close(h)
