"""The bot's database file made read-only under it, against a real Synapse.

The fault is real (tests/integration/faults.py: chattr +i as root, chmod and
query_only otherwise); the bot must tell the operator once, hold what it
cannot record, keep syncing, and afterwards handle everything exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import pytest

from core.matrix.member import Member
from core.scheduler import Job
from tests.integration.conftest import RunningBot, room_with_bot
from tests.integration.faults import ReadOnlyDatabase
from tests.integration.test_durability import replies_per_command

pytestmark = pytest.mark.integration

MakeBot = Callable[..., Awaitable[RunningBot]]
MakeMember = Callable[..., Awaitable[Member]]


async def until(check: Callable[[], bool], timeout: float = 30) -> None:  # noqa: ASYNC109
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def test_database_made_read_only_mid_run_is_told_once_held_and_handled_once_after(
    make_bot: MakeBot, make_member: MakeMember, caplog: pytest.LogCaptureFixture,
) -> None:
    # A short long-poll: the bot writes its sync token after each (empty)
    # sync, which is how it notices the fault before the next command.
    bot = await make_bot(rate_limit={"commands": 10_000, "window_seconds": 1},
                         sync={"timeout_ms": 500})
    member = await make_member()
    room = await room_with_bot(member, bot)
    before = await member.ask(room, "!echo before")
    assert "before" in before.body
    running = bot.bot
    assert running is not None
    running.db.probe_seconds = 0.5
    path = running.config.storage.database

    # A timer that falls due during the fault and sends through the outbox.
    fired: list[Job] = []

    async def note(job: Job) -> None:
        fired.append(job)
        assert running is not None
        await running.outbox.enqueue("test", f"note-{job.id}", {
            "msgtype": "m.notice", "body": "timer note"}, room_id=room)

    running.scheduler.register("test", "note", note)
    await running.scheduler.schedule("test", "note", running.clock.now() + 3, job_id="during")

    fault = ReadOnlyDatabase(path, running.db)
    with caplog.at_level(logging.INFO):
        await fault.apply()
        try:
            started = time.monotonic()
            await until(lambda: not running.db.writable, timeout=20)
            noticed_after = time.monotonic() - started
            syncs_at_fault = running.connection.sync_count
            commands = [await member.send(room, f"!echo while read-only {i}") for i in range(3)]
            await asyncio.sleep(6)  # the timer falls due; the commands reach the bot
            # Nothing is handled that could not be recorded; the bot keeps syncing.
            replies = replies_per_command(member, bot.user_id, room)
            assert [replies[c] for c in commands] == [0, 0, 0]
            assert fired == [] and not [m for m in member.received if m.body == "timer note"]
            syncs_during = running.connection.sync_count - syncs_at_fault
            assert syncs_during >= 3, syncs_during
            assert bot.task is not None and not bot.task.done()
            refused = running.db.refused_writes
        finally:
            await fault.restore()
        await until(lambda: running.db.writable, timeout=20)
        for command in commands:
            await member.wait_reply(command, timeout=30)
        await member.wait_for(lambda m: m.body == "timer note", timeout=30)

    storage_errors = [r for r in caplog.records
                      if r.levelname == "ERROR" and r.name == "core.storage"]
    assert len(storage_errors) == 1, [r.getMessage() for r in storage_errors]
    told = storage_errors[0].getMessage()
    assert str(path) in told and "writable by this user" in told and "resumes by itself" in told
    # No traceback loop: the held parts (scheduler, outbox, dispatch) do not log one per turn.
    other_errors = [r for r in caplog.records if r.levelname == "ERROR"
                    and r.name.startswith("core") and r.name != "core.storage"]
    assert len(other_errors) <= 3, [r.getMessage()[:120] for r in other_errors]
    assert any("can be written again" in r.getMessage() for r in caplog.records)

    # The operator restarts the bot after fixing the file: nothing is replayed twice.
    await bot.restart()
    marker = await member.ask(room, "!echo marker")
    assert "marker" in marker.body
    await asyncio.sleep(1.0)  # room for a (wrong) duplicate to arrive
    counts = replies_per_command(member, bot.user_id, room)
    assert [counts[c] for c in (before.reply_to, *commands, marker.reply_to)] == [1] * 5, counts
    assert len(fired) == 1 and not fired[0].rerun
    notes = [m for m in member.received if m.body == "timer note"]
    assert len(notes) == 1

    # Nothing half-written: the file is sound, each command recorded once, the timer gone
    # and its message marked sent.
    assert bot.bot is not None
    db = bot.bot.db
    check = await db.fetchone("PRAGMA integrity_check")
    assert check is not None and check[0] == "ok"
    marks = ", ".join("?" for _ in commands)
    handled = await db.fetchone(
        f"SELECT COUNT(*) AS n FROM core_handled_events WHERE event_id IN ({marks})", commands)
    assert handled is not None and handled["n"] == 3
    assert await db.fetchone("SELECT 1 FROM core_jobs WHERE id = 'during'") is None
    outbox = await db.fetchall("SELECT state, attempts FROM core_outbox WHERE owner = 'test'")
    assert [(r["state"], r["attempts"]) for r in outbox] == [("sent", 1)]
    print(f"\nread-only fault ({fault.mechanism}): noticed after {noticed_after:.1f} s, "
          f"{syncs_during} syncs while held, {refused} writes refused, 3 commands held then "
          f"answered once each, timer fired 1 time, note delivered {len(notes)} time, "
          f"{len(other_errors)} other error lines")
