"""Moderation's timers through the core scheduler, registered the way the plugin registers them.

Recurring jobs (pruning, reading the followed policy lists) are `scheduler.every`
rows: one per kind however often the plugin starts, back after a handler
error. A timed mute's end the homeserver refuses is retried by the scheduler and,
when it gives up, told to the moderators.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.moderation import ModerationPlugin
from bots.moderation.enforce import UNMUTE_JOB
from bots.moderation.plugin import FIRST_PRUNE_SECONDS, OLD_JOB_IDS, PRUNE_SECONDS
from bots.moderation.store import LogEntry
from core.actions import ActionError
from core.clock import ManualClock
from tests.unit.test_moderation_authority import ATTACKER, MODS, NET, VICTIM, Bot, start


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start(tmp_path)
    try:
        yield running
    finally:
        await running.plugin.teardown()
        await running.runtime.db.close()


def clock(bot: Bot) -> ManualClock:
    assert isinstance(bot.runtime.clock, ManualClock)
    return bot.runtime.clock


async def jobs(bot: Bot) -> list[tuple[str, str, str]]:
    rows = await bot.runtime.db.fetchall(
        "SELECT id, kind, state FROM core_jobs WHERE owner = 'moderation' ORDER BY kind")
    return [(str(r["id"]), str(r["kind"]), str(r["state"])) for r in rows]


async def test_one_row_per_recurring_kind_after_two_setups_and_old_ids_are_gone(bot: Bot) -> None:
    scheduler, now = bot.runtime.scheduler, clock(bot).now()
    # What an older version left: fixed ids it rescheduled by hand.
    for old, kind in zip(OLD_JOB_IDS, ("prune", "policy_poll"), strict=True):
        await scheduler.schedule("moderation", kind, now + 5, job_id=old)
    await clock(bot).advance(100)  # a restart a little later
    again = ModerationPlugin(bot.runtime)
    await again.setup()
    await again.teardown()
    rows = await jobs(bot)
    assert [kind for _, kind, _ in rows] == ["policy_poll", "prune"], rows
    assert not any(job_id in OLD_JOB_IDS for job_id, _, _ in rows)
    # A setup keeps the pending time: a restart does not push the daily prune back.
    [prune] = await scheduler.pending("moderation", "prune")
    assert prune.due_at == pytest.approx(1_700_000_000.0 + FIRST_PRUNE_SECONDS, abs=0.01)


async def test_a_prune_that_fails_once_runs_again_and_keeps_its_day(bot: Bot) -> None:
    store, retention = bot.plugin.store, bot.plugin.network.defaults().modlog_retention_days
    await store.log(LogEntry(clock(bot).now() - retention * 86400 - 10, NET, ATTACKER, VICTIM,
                             "kick", "old", "!kick"))
    calls = 0
    prune_log = store.prune_log

    async def flaky(before: float) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database is locked")
        return await prune_log(before)

    store.prune_log = flaky  # type: ignore[method-assign]
    await clock(bot).advance(FIRST_PRUNE_SECONDS + 1)
    await bot.runtime.scheduler.run_due()
    assert calls == 1
    [failed] = await bot.runtime.scheduler.pending("moderation", "prune")
    assert failed.attempts == 1 and failed.due_at < clock(bot).now() + PRUNE_SECONDS
    assert len(await store.recent_log(VICTIM, 5)) == 1  # not pruned yet
    await clock(bot).advance(PRUNE_SECONDS)
    await bot.runtime.scheduler.run_due()
    assert calls == 2
    assert await store.recent_log(VICTIM, 5) == []
    # Back for tomorrow, the failure forgotten; still one row.
    [again] = await bot.runtime.scheduler.pending("moderation", "prune")
    assert again.attempts == 0
    assert again.due_at == pytest.approx(clock(bot).now() + PRUNE_SECONDS, abs=0.01)
    assert [kind for _, kind, _ in await jobs(bot)] == ["policy_poll", "prune"]


async def test_the_policy_poll_comes_back_after_an_error(bot: Bot) -> None:
    polls = 0

    async def failing() -> None:
        nonlocal polls
        polls += 1
        raise RuntimeError("homeserver gone")

    bot.plugin.policy.poll = failing  # type: ignore[method-assign]
    for _ in range(3):
        await clock(bot).advance(61)
        await bot.runtime.scheduler.run_due()
    assert polls == 3
    assert [state for _, kind, state in await jobs(bot) if kind == "policy_poll"] == ["pending"]


async def test_ready_reads_the_followed_lists_once(bot: Bot) -> None:
    polls = 0

    async def poll() -> None:
        nonlocal polls
        polls += 1

    bot.plugin.policy.poll = poll  # type: ignore[method-assign]
    await bot.plugin.ready()
    assert polls == 1
    # Not a job: nothing was added to the scheduler for it.
    assert [kind for _, kind, _ in await jobs(bot)] == ["policy_poll", "prune"]


async def test_a_refused_unmute_is_retried_then_restores_the_earlier_level(bot: Bot) -> None:
    bot.hs.levels[(NET, VICTIM)] = 10
    real, real_state = bot.hs.set_power_level, bot.hs.get_state

    async def with_users(room_id: str, event_type: str, state_key: str = "") -> dict | None:  # type: ignore[type-arg]
        content = await real_state(room_id, event_type, state_key)
        if event_type == "m.room.power_levels" and content is not None:
            content = {**content, "users": {VICTIM: 10, ATTACKER: 50}}
        return content

    bot.hs.get_state = with_users  # type: ignore[method-assign]
    refusals = 2

    async def sometimes(room_id: str, user_id: str, level: int | None) -> None:
        nonlocal refusals
        if level != -1 and refusals:
            refusals -= 1
            raise ActionError("power_levels", "M_UNKNOWN: busy")
        await real(room_id, user_id, level)

    bot.hs.set_power_level = sometimes  # type: ignore[method-assign]
    bot.hs.levels[(NET, ATTACKER)] = 50
    assert "Muted" in await bot.reply(NET, ATTACKER, f"!mute {VICTIM} 10m cooling off")
    await clock(bot).advance(600)
    await bot.runtime.scheduler.run_due()
    # Refused: still muted, the earlier level kept for the retry.
    assert await bot.plugin.store.muted(NET, VICTIM) == (True, 10)
    for _ in range(2):
        await clock(bot).advance(1000)
        await bot.runtime.scheduler.run_due()
    assert bot.hs.calls[-1] == ("level", NET, f"{VICTIM}=10")
    assert await bot.plugin.store.muted(NET, VICTIM) == (False, None)
    assert await bot.runtime.scheduler.pending("moderation", UNMUTE_JOB) == []
    assert any("ended" in body for body in bot.hs.posted_to(MODS))


async def test_an_unmute_that_keeps_failing_is_told_to_the_moderators(bot: Bot) -> None:
    real = bot.hs.set_power_level

    async def refuse_unmute(room_id: str, user_id: str, level: int | None) -> None:
        if level != -1:
            raise ActionError("power_levels", "M_UNKNOWN: busy")
        await real(room_id, user_id, level)

    bot.hs.set_power_level = refuse_unmute  # type: ignore[method-assign]
    assert "Muted" in await bot.reply(NET, ATTACKER, f"!mute {VICTIM} 10m")
    for _ in range(bot.runtime.scheduler.max_attempts + 1):
        await clock(bot).advance(1000)
        await bot.runtime.scheduler.run_due()
    [dead] = await bot.runtime.scheduler.dead_letters("moderation")
    assert dead.kind == UNMUTE_JOB
    told = [body for body in bot.hs.posted_to(MODS) if "could not be lifted" in body]
    assert len(told) == 1 and VICTIM in told[0], bot.hs.posted_to(MODS)


async def test_a_new_poll_interval_is_taken_by_the_one_recurring_row(bot: Bot) -> None:
    from bots.moderation.settings import ModerationSettings
    from core.room_settings import NETWORK

    await bot.runtime.settings.set_value(NETWORK, ModerationPlugin, "policy_poll_seconds", "300")
    assert isinstance(bot.plugin.network.defaults(), ModerationSettings)
    assert bot.plugin.network.defaults().policy_poll_seconds == 300
    await clock(bot).advance(61)
    await bot.runtime.scheduler.run_due()  # runs at the old interval, takes the new one at once
    [poll] = await bot.runtime.scheduler.pending("moderation", "policy_poll")
    assert poll.due_at == pytest.approx(clock(bot).now() + 300, abs=0.01)
    await clock(bot).advance(301)
    await bot.runtime.scheduler.run_due()
    [poll] = await bot.runtime.scheduler.pending("moderation", "policy_poll")
    assert poll.due_at == pytest.approx(clock(bot).now() + 300, abs=0.01)
