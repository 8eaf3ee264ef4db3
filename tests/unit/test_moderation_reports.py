"""Reports never in front of the reported: each test performs a report on the old behaviour.

Before: with no moderators' room, `!report` was answered in the room (naming the
situation in front of the reported member) and the command stayed; a 🚩 was
dropped silently. Now the command or reaction is removed, the reporter is told by
DM only, and without a moderators' room the room's moderators get the report by DM.
The bot is the authority tests' (core.testing.PluginHarness over a homeserver in
memory); what members are told privately is what the outbox delivered in their DMs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.testing import PluginHarness
from tests.unit.test_moderation_authority import (
    ATTACKER,
    BOT,
    MEMBER,
    MODS,
    NET,
    NETMOD,
    VICTIM,
    posted_to,
    private,
    running,
    said,
)

ROOM_MOD = ATTACKER  # a moderator of NET (level 50), not a network moderator
NO_MODS_ROOM = {"rooms": [NET]}  # the network has no moderators' room


async def nasty(bot: PluginHarness, body: str = "you are all worthless") -> str:
    return await said(bot, NET, VICTIM, body)


async def report(bot: PluginHarness, body: str = "!report", reply_to: str | None = None) -> str:
    """MEMBER reports; nothing at all is posted in the room. The command's event id."""
    answers = await bot.send(NET, MEMBER, body, reply_to=reply_to)
    assert [sent for sent in answers if sent.room_id == NET] == [], answers.text
    return answers.event_id


@pytest.fixture
async def bare(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with running(tmp_path, network=NO_MODS_ROOM) as h:
        yield h


async def test_report_without_moderators_room_is_silent_in_the_room(bare: PluginHarness) -> None:
    command = await report(bare, "!report insulting", reply_to=await nasty(bare))
    # Nothing is posted in the room the reported member reads, and the command goes.
    assert ("redact", NET, command) in bare.homeserver.calls
    # The reporter hears it by DM only.
    [answer] = private(bare, MEMBER)
    assert "1 moderator(s) of that room" in answer
    # The room's moderator gets the report by DM, with the message and the reason.
    [sent] = private(bare, ROOM_MOD)
    assert "worthless" in sent and "insulting" in sent and MEMBER in sent
    assert VICTIM in sent and "has no moderators' room" in sent


async def test_the_reported_member_and_the_bot_never_get_the_report(bare: PluginHarness) -> None:
    bare.set_level(NET, VICTIM, 50)  # the reported member moderates the room too
    await report(bare, reply_to=await nasty(bare))
    assert private(bare, VICTIM) == []
    assert private(bare, BOT) == []
    assert len(private(bare, ROOM_MOD)) == 1


async def test_a_flag_without_moderators_room_is_not_dropped(bare: PluginHarness) -> None:
    target = await nasty(bare, body="buy my scam")
    answers = await bare.react(NET, MEMBER, target, "🚩")
    assert [sent for sent in answers if sent.room_id == NET] == []
    # The reaction (which shows who flagged) is removed.
    assert ("redact", NET, answers.event_id) in bare.homeserver.calls
    assert any("buy my scam" in body for body in private(bare, ROOM_MOD))
    [answer] = private(bare, MEMBER)
    assert "moderator(s) of that room" in answer


async def test_anonymous_reports_by_dm_do_not_name_the_reporter(tmp_path: Path) -> None:
    async with running(tmp_path, network=NO_MODS_ROOM,
                       moderation={"anonymous_reports": True}) as bot:
        await report(bot, reply_to=await nasty(bot))
        [sent] = private(bot, ROOM_MOD)
        assert MEMBER not in sent and "anonymous" in sent


async def test_a_room_without_any_moderator_tells_the_reporter_privately(
        bare: PluginHarness) -> None:
    bare.set_level(NET, ATTACKER, 0)
    await report(bare, reply_to=await nasty(bare))
    [answer] = private(bare, MEMBER)
    assert "reached nobody" in answer


async def test_report_with_the_moderators_room_answers_by_dm_only(tmp_path: Path) -> None:
    async with running(tmp_path) as bot:
        target = await nasty(bot)
        command = await report(bot, reply_to=target)
        assert posted_to(bot, NET) == []
        assert any("worthless" in body for body in posted_to(bot, MODS))
        assert ("redact", NET, command) in bot.homeserver.calls
        assert private(bot, MEMBER) == [
            "Thank you: your report reached the moderators privately."]
        assert private(bot, ROOM_MOD) == [] and private(bot, NETMOD) == []


async def test_report_without_a_reply_is_explained_by_dm(bare: PluginHarness) -> None:
    command = await report(bare, "!report he is harassing me")
    assert ("redact", NET, command) in bare.homeserver.calls
    [answer] = private(bare, MEMBER)
    assert "reply to it with `report`" in answer
    assert private(bare, ROOM_MOD) == []


async def test_an_unreadable_reported_message_is_told_by_dm(bare: PluginHarness) -> None:
    await report(bare, reply_to="$gone")
    [answer] = private(bare, MEMBER)
    assert "can't find or read" in answer


async def test_without_power_to_remove_the_command_the_reporter_is_told(
        bare: PluginHarness) -> None:
    target = await nasty(bare)
    bare.homeserver.forbid(NET, "redact")
    command = await report(bare, reply_to=target)
    assert ("redact", NET, command) not in bare.homeserver.calls
    [answer] = private(bare, MEMBER)
    assert "could not remove your report" in answer
    assert len(private(bare, ROOM_MOD)) == 1  # delivered all the same


async def test_reporter_and_moderators_read_their_own_language(bare: PluginHarness) -> None:
    await bare.set_language(MEMBER, "ar")
    await bare.set_language(ROOM_MOD, "ar")
    await report(bare, reply_to=await nasty(bare))
    [answer] = private(bare, MEMBER)
    assert "برسالة خاصة" in answer
    [sent] = private(bare, ROOM_MOD)
    assert sent.startswith("بلاغ من") and "worthless" in sent


async def test_a_report_is_delivered_once_per_moderator(bare: PluginHarness) -> None:
    second = "@mod2:net.org"
    await bare.join(NET, second)
    bare.set_level(NET, second, 100)
    await report(bare, reply_to=await nasty(bare))
    assert len(private(bare, second)) == 1 and len(private(bare, ROOM_MOD)) == 1
    [answer] = private(bare, MEMBER)
    assert "2 moderator(s)" in answer
