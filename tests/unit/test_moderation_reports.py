"""Reports never in front of the reported: each test performs a report on the old behaviour.

Before: with no moderators' room, `!report` was answered in the room (naming the
situation in front of the reported member) and the command stayed; a 🚩 was
dropped silently. Now the command or reaction is removed, the reporter is told by
DM only, and without a moderators' room the room's moderators get the report by DM.
The harness is the authority tests' (a real Runtime, dispatcher and plugin over a
fake homeserver).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.actions import ActionError
from core.events import Message
from tests.unit.test_moderation_authority import (
    ATTACKER,
    BOT,
    MEMBER,
    MODS,
    NET,
    NETMOD,
    VICTIM,
    Bot,
    _ids,
    start,
)

ROOM_MOD = ATTACKER  # a moderator of NET (level 50), not a network moderator
NO_MODS_ROOM = {"rooms": [NET]}  # the network has no moderators' room


def nasty(bot: Bot, room: str = NET, body: str = "you are all worthless") -> str:
    event_id = f"$nasty{next(_ids)}"
    bot.hs.events[event_id] = Message(room_id=room, event_id=event_id, sender=VICTIM,
                                      timestamp_ms=0, encrypted=True, body=body)
    return event_id


def last_command(bot: Bot) -> str:
    return [event_id for event_id in bot.hs.events if event_id.startswith("$in")][-1]


def outbox(bot: Bot) -> Any:
    return bot.runtime.outbox


@pytest.fixture
async def bare(tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start(tmp_path, network=NO_MODS_ROOM)
    try:
        yield running
    finally:
        await running.runtime.db.close()


async def test_report_without_moderators_room_is_silent_in_the_room(bare: Bot) -> None:
    target = nasty(bare)
    said = len(bare.hs.sent)
    assert await bare.say(NET, MEMBER, "!report insulting", reply_to=target) == []
    # Nothing at all is posted in the room the reported member reads, and the command goes.
    assert bare.hs.sent[said:] == []
    assert ("redact", NET, last_command(bare)) in bare.hs.calls
    # The reporter hears it by DM only.
    [answer] = outbox(bare).to(MEMBER)
    assert "1 moderator(s) of that room" in answer
    # The room's moderator gets the report by DM, with the message and the reason.
    [report] = outbox(bare).to(ROOM_MOD)
    assert "worthless" in report and "insulting" in report and MEMBER in report
    assert VICTIM in report and "has no moderators' room" in report


async def test_the_reported_member_and_the_bot_never_get_the_report(bare: Bot) -> None:
    bare.hs.levels[(NET, VICTIM)] = 50  # the reported member moderates the room too
    await bare.say(NET, MEMBER, "!report", reply_to=nasty(bare))
    assert outbox(bare).to(VICTIM) == []
    assert outbox(bare).to(BOT) == []
    assert len(outbox(bare).to(ROOM_MOD)) == 1


async def test_a_flag_without_moderators_room_is_not_dropped(bare: Bot) -> None:
    target = nasty(bare, body="buy my scam")
    said = len(bare.hs.sent)
    await bare.react(NET, MEMBER, target, "🚩")
    assert bare.hs.sent[said:] == []
    # The reaction (which shows who flagged) is removed.
    assert any(kind == "redact" and room == NET and event.startswith("$r")
               for kind, room, event in bare.hs.calls)
    assert any("buy my scam" in body for body in outbox(bare).to(ROOM_MOD))
    [answer] = outbox(bare).to(MEMBER)
    assert "moderator(s) of that room" in answer


async def test_anonymous_reports_by_dm_do_not_name_the_reporter(tmp_path: Path) -> None:
    bot = await start(tmp_path, network=NO_MODS_ROOM, moderation={"anonymous_reports": True})
    try:
        await bot.say(NET, MEMBER, "!report", reply_to=nasty(bot))
        [report] = outbox(bot).to(ROOM_MOD)
        assert MEMBER not in report and "anonymous" in report
    finally:
        await bot.runtime.db.close()


async def test_a_room_without_any_moderator_tells_the_reporter_privately(bare: Bot) -> None:
    bare.hs.levels[(NET, ATTACKER)] = 0
    said = len(bare.hs.sent)
    await bare.say(NET, MEMBER, "!report", reply_to=nasty(bare))
    assert bare.hs.sent[said:] == []
    [answer] = outbox(bare).to(MEMBER)
    assert "reached nobody" in answer


async def test_report_with_the_moderators_room_answers_by_dm_only(tmp_path: Path) -> None:
    bot = await start(tmp_path)
    try:
        target = nasty(bot)
        assert await bot.say(NET, MEMBER, "!report", reply_to=target) == []
        assert bot.hs.posted_to(NET) == []
        assert any("worthless" in body for body in bot.hs.posted_to(MODS))
        assert ("redact", NET, last_command(bot)) in bot.hs.calls
        assert outbox(bot).to(MEMBER) == ["Thank you: your report reached the moderators privately."]
        assert outbox(bot).to(ROOM_MOD) == [] and outbox(bot).to(NETMOD) == []
    finally:
        await bot.runtime.db.close()


async def test_report_without_a_reply_is_explained_by_dm(bare: Bot) -> None:
    said = len(bare.hs.sent)
    assert await bare.say(NET, MEMBER, "!report he is harassing me") == []
    assert bare.hs.sent[said:] == []
    assert ("redact", NET, last_command(bare)) in bare.hs.calls
    [answer] = outbox(bare).to(MEMBER)
    assert "reply to it with `report`" in answer
    assert outbox(bare).to(ROOM_MOD) == []


async def test_an_unreadable_reported_message_is_told_by_dm(bare: Bot) -> None:
    said = len(bare.hs.sent)
    await bare.say(NET, MEMBER, "!report", reply_to="$gone")
    assert bare.hs.sent[said:] == []
    [answer] = outbox(bare).to(MEMBER)
    assert "can't find or read" in answer


async def test_without_power_to_remove_the_command_the_reporter_is_told(bare: Bot) -> None:
    async def refused(room_id: str, event_id: str, reason: str | None = None,
                      txn_id: str | None = None) -> None:
        raise ActionError("redact", "M_FORBIDDEN", forbidden=True)

    bare.hs.redact = refused  # type: ignore[method-assign]
    said = len(bare.hs.sent)
    await bare.say(NET, MEMBER, "!report", reply_to=nasty(bare))
    assert bare.hs.sent[said:] == []
    [answer] = outbox(bare).to(MEMBER)
    assert "could not remove your report" in answer
    assert len(outbox(bare).to(ROOM_MOD)) == 1  # delivered all the same


async def test_reporter_and_moderators_read_their_own_language(bare: Bot) -> None:
    await bare.runtime.languages.set_user(MEMBER, "ar")
    await bare.runtime.languages.set_user(ROOM_MOD, "ar")
    await bare.say(NET, MEMBER, "!report", reply_to=nasty(bare))
    [answer] = outbox(bare).to(MEMBER)
    assert "برسالة خاصة" in answer
    [report] = outbox(bare).to(ROOM_MOD)
    # (a right-to-left mark may lead each line of an Arabic message)
    assert report.lstrip("\u200f").startswith("بلاغ من") and "worthless" in report


async def test_a_report_is_delivered_once_per_moderator(bare: Bot) -> None:
    second = "@mod2:net.org"
    bare.hs.members_of[NET].add(second)
    bare.hs.levels[(NET, second)] = 100
    await bare.say(NET, MEMBER, "!report", reply_to=nasty(bare))
    assert len(outbox(bare).to(second)) == 1 and len(outbox(bare).to(ROOM_MOD)) == 1
    [answer] = outbox(bare).to(MEMBER)
    assert "2 moderator(s)" in answer
