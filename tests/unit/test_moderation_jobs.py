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
from core.testing import START, PluginHarness
from tests.unit.test_moderation_authority import (
    ATTACKER,
    MODS,
    NET,
    VICTIM,
    plugin,
    posted_to,
    reply,
    running,
)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with running(tmp_path) as h:
        yield h


async def jobs(bot: PluginHarness) -> list[tuple[str, str, str]]:
    rows = await bot.db.fetchall(
        "SELECT id, kind, state FROM core_jobs WHERE owner = 'moderation' ORDER BY kind")
    return [(str(r["id"]), str(r["kind"]), str(r["state"])) for r in rows]


async def test_one_row_per_recurring_kind_after_two_setups_and_old_ids_are_gone(bot: PluginHarness) -> None:
    now = bot.clock.now()
    # What an older version left: fixed ids it rescheduled by hand.
    for old, kind in zip(OLD_JOB_IDS, ("prune", "policy_poll"), strict=True):
        await bot.scheduler.schedule("moderation", kind, now + 5, job_id=old)
    await bot.restart(advance=100)  # a restart a little later
    await bot.restart()  # and another one
    rows = await jobs(bot)
    assert [kind for _, kind, _ in rows] == ["policy_poll", "prune"], rows
    assert not any(job_id in OLD_JOB_IDS for job_id, _, _ in rows)
    # A setup keeps the pending time: a restart does not push the daily prune back.
    [prune] = await bot.scheduler.pending("moderation", "prune")
    assert prune.due_at == pytest.approx(START + FIRST_PRUNE_SECONDS, abs=0.01)


async def test_a_prune_that_fails_once_runs_again_and_keeps_its_day(bot: PluginHarness) -> None:
    store, retention = plugin(bot).store, plugin(bot).network.defaults().modlog_retention_days
    await store.log(LogEntry(bot.clock.now() - retention * 86400 - 10, NET, ATTACKER, VICTIM,
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
    await bot.advance(FIRST_PRUNE_SECONDS + 1)
    assert calls == 1
    [failed] = await bot.scheduler.pending("moderation", "prune")
    assert failed.attempts == 1 and failed.due_at < bot.clock.now() + PRUNE_SECONDS
    assert len(await store.recent_log(VICTIM, 5)) == 1  # not pruned yet
    await bot.advance(PRUNE_SECONDS)
    assert calls == 2
    assert await store.recent_log(VICTIM, 5) == []
    # Back for tomorrow, the failure forgotten; still one row.
    [again] = await bot.scheduler.pending("moderation", "prune")
    assert again.attempts == 0
    assert again.due_at == pytest.approx(bot.clock.now() + PRUNE_SECONDS, abs=0.01)
    assert [kind for _, kind, _ in await jobs(bot)] == ["policy_poll", "prune"]


async def test_the_policy_poll_comes_back_after_an_error(bot: PluginHarness) -> None:
    polls = 0

    async def failing() -> None:
        nonlocal polls
        polls += 1
        raise RuntimeError("homeserver gone")

    plugin(bot).policy.poll = failing  # type: ignore[method-assign]
    for _ in range(3):
        await bot.advance(61)
    assert polls == 3
    assert [state for _, kind, state in await jobs(bot) if kind == "policy_poll"] == ["pending"]


async def test_ready_reads_the_followed_lists_once(bot: PluginHarness) -> None:
    polls = 0

    async def poll() -> None:
        nonlocal polls
        polls += 1

    plugin(bot).policy.poll = poll  # type: ignore[method-assign]
    await plugin(bot).ready()
    assert polls == 1
    # Not a job: nothing was added to the scheduler for it.
    assert [kind for _, kind, _ in await jobs(bot)] == ["policy_poll", "prune"]


async def test_a_refused_unmute_is_retried_then_restores_the_earlier_level(
        bot: PluginHarness) -> None:
    bot.set_level(NET, VICTIM, 10)
    assert "Muted" in await reply(bot, NET, ATTACKER, f"!mute {VICTIM} 10m cooling off")
    assert bot.homeserver.room(NET).level(VICTIM) == -1
    bot.homeserver.fail(NET, "level", times=2)  # the homeserver is busy for the next two
    await bot.advance(600)
    # Refused: still muted, the earlier level kept for the retry.
    assert await plugin(bot).store.muted(NET, VICTIM) == (True, 10)
    assert bot.homeserver.room(NET).level(VICTIM) == -1
    for _ in range(2):
        await bot.advance(1000)
    assert bot.homeserver.calls[-1] == ("level", NET, f"{VICTIM}=10")
    assert bot.homeserver.room(NET).level(VICTIM) == 10
    assert await plugin(bot).store.muted(NET, VICTIM) == (False, None)
    assert await bot.scheduler.pending("moderation", UNMUTE_JOB) == []
    assert any("ended" in body for body in posted_to(bot, MODS))


async def test_an_unmute_that_keeps_failing_is_told_to_the_moderators(bot: PluginHarness) -> None:
    assert "Muted" in await reply(bot, NET, ATTACKER, f"!mute {VICTIM} 10m")
    bot.homeserver.fail(NET, "level", times=1000)
    for _ in range(bot.scheduler.max_attempts + 1):
        await bot.advance(1000)
    [dead] = await bot.scheduler.dead_letters("moderation")
    assert dead.kind == UNMUTE_JOB
    told = [body for body in posted_to(bot, MODS) if "could not be lifted" in body]
    assert len(told) == 1 and VICTIM in told[0], posted_to(bot, MODS)


async def test_a_new_poll_interval_is_taken_by_the_one_recurring_row(bot: PluginHarness) -> None:
    from bots.moderation.settings import ModerationSettings
    from core.room_settings import NETWORK

    await bot.runtime.settings.set_value(NETWORK, ModerationPlugin, "policy_poll_seconds", "300")
    assert isinstance(plugin(bot).network.defaults(), ModerationSettings)
    assert plugin(bot).network.defaults().policy_poll_seconds == 300
    await bot.advance(61)  # runs at the old interval, takes the new one at once
    [poll] = await bot.scheduler.pending("moderation", "policy_poll")
    assert poll.due_at == pytest.approx(bot.clock.now() + 300, abs=0.01)
    await bot.advance(301)
    [poll] = await bot.scheduler.pending("moderation", "policy_poll")
    assert poll.due_at == pytest.approx(bot.clock.now() + 300, abs=0.01)
