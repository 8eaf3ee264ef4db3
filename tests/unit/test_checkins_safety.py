"""Safety commands are never held back, and a clock time is never read in a zone the member did not give."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bots.checkins import CheckinsPlugin
from tests.unit.checkins_helpers import ALICE, BOB, accepted_contacts, checkins

SAFETY_COMMANDS = {"checkin start", "checkin status", "safe", "extend", "cancel", "confirm",
                   *(f"{pins} {part}" for pins in ("safepin", "duress")
                     for part in ("set", "clear", "help"))}


def test_check_in_and_pin_commands_are_safety_commands() -> None:
    marked = {spec.path for spec in CheckinsPlugin.commands() if spec.safety}
    assert marked == SAFETY_COMMANDS


async def test_safety_commands_answer_at_once_for_a_member_over_the_rate_limit(
        tmp_path: Path) -> None:
    async with checkins(tmp_path) as h:
        dm = await accepted_contacts(h, ALICE, BOB)
        limiter = h.dispatcher.limiter
        used = 0
        while limiter.allow(ALICE):  # a burst used up the member's window
            used += 1
        assert used > 0
        for command, expected in [
            ("!safepin set 1234", "PIN saved"), ("!duress set 9911", "PIN saved"),
            # Alone, or with a word that is no subcommand: still the safety lane.
            ("!safepin", "Add set <pin>"), ("!duress forgot 9911", "Add set <pin>"),
            ("!checkin 1h", "Check-in set"), ("!checkin status", "runs until"),
            ("!extend 10m 1234", "Extended"), ("!cancel 1234", "cancelled"),
            ("!checkin 1h", "Check-in set"), ("!safe 1234", "Glad you're safe"),
        ]:
            # The manual clock never moves here: a held command would wait forever.
            replies = (await asyncio.wait_for(h.send(dm, ALICE, command), 5)).replies
            assert [expected in r.body for r in replies] == [True], (command, replies)
        # An ordinary command is still held (the limit itself is unchanged).
        held = asyncio.ensure_future(h.send(dm, ALICE, "!contacts"))
        await asyncio.sleep(0.1)
        assert not held.done()
        await h.clock.advance(3600)
        await asyncio.wait_for(held, 5)


async def test_clock_time_without_a_zone_asks_for_one_first(tmp_path: Path) -> None:
    async with checkins(tmp_path) as h:
        dm = await h.dm(ALICE)
        asked = await h.reply(dm, ALICE, "!checkin 23:30 home by then")
        assert "timezone first" in asked.body and "!timezone Beirut" in asked.body
        assert await h.db.fetchall("SELECT * FROM checkins_checkins") == []
        assert "not set a timezone" in (await h.reply(dm, ALICE, "!timezone")).body
        # A duration needs no zone.
        assert "Check-in set" in (await h.reply(dm, ALICE, "!checkin 2h")).body
        await h.reply(dm, ALICE, "!cancel")
        await h.reply(dm, ALICE, "!timezone Asia/Beirut")
        assert "23:30 (Asia/Beirut)" in (await h.reply(dm, ALICE, "!checkin 23:30")).body
        # An Arabic reader is given an example from their region.
        await h.set_language(BOB, "ar")
        bob_dm = await h.dm(BOB)
        assert "بيروت" in (await h.reply(bob_dm, BOB, "!checkin 23:30")).body


async def test_a_network_default_zone_chosen_explicitly_is_used_and_shown(tmp_path: Path) -> None:
    async with checkins(tmp_path, {"default_timezone": "Asia/Beirut"}) as h:
        dm = await h.dm(ALICE)
        assert "23:30 (Asia/Beirut)" in (await h.reply(dm, ALICE, "!checkin 23:30")).body
