"""Abuse bounded: contact requests can't be used to flood someone; roll calls nudge joined members only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.testing import PluginHarness
from tests.unit.checkins_helpers import (
    ALICE,
    BOB,
    CAROL,
    MALLORY,
    ORGANIZER,
    answer,
    checkins,
    dm_opened,
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    # Many commands in little (manual) time: the per-member rate limit would hold them.
    async with checkins(tmp_path, config={"bot": {"rate_limit": {"commands": 1000}}}) as harness:
        yield harness


def requests_to(h: PluginHarness, user: str) -> list[str]:
    return [s.body for s in h.private(user)
            if "trusted contacts for safety check-ins" in s.body]


async def test_removing_and_adding_again_sends_no_new_request(h: PluginHarness) -> None:
    dm = await h.dm(MALLORY)
    await h.dm(BOB)
    for _ in range(5):
        await answer(h, dm, MALLORY, f"!contacts add {BOB}")
        await h.clock.advance(1)
        await h.reply(dm, MALLORY, f"!contacts remove {BOB}")
    again = await h.reply(dm, MALLORY, f"!contacts add {BOB}")
    assert "asked recently" in again.body
    assert len(requests_to(h, BOB)) == 1
    # The earlier request still works: Bob can accept it.
    assert "Thank you" in (await answer(h, await h.dm(BOB), BOB,
                                        f"!contacts accept {MALLORY}")).body
    # A day later a new request may go out (to someone not yet a contact).
    await h.reply(dm, MALLORY, f"!contacts remove {BOB}")
    await h.clock.advance(24 * 3600 + 1)
    await answer(h, dm, MALLORY, f"!contacts add {BOB}")
    assert len(requests_to(h, BOB)) == 2


async def test_declined_contact_blocks_further_requests_until_they_allow_them(
        h: PluginHarness) -> None:
    dm = await h.dm(MALLORY)
    bob_dm = await h.dm(BOB)
    await answer(h, dm, MALLORY, f"!contacts add {BOB}")
    declined = await h.reply(bob_dm, BOB, f"!contacts decline {MALLORY}")
    assert f"!contacts allow {MALLORY}" in declined.body
    await h.clock.advance(30 * 24 * 3600)
    refused = await h.reply(dm, MALLORY, f"!contacts add {BOB}")
    assert "can't send" in refused.body
    assert len(requests_to(h, BOB)) == 1
    assert "no trusted contacts" in (await h.reply(dm, MALLORY, "!contacts")).body
    # Declining again (after a removal) is possible; allowing lifts the block.
    assert "can send you a request again" in (await h.reply(
        bob_dm, BOB, f"!contacts allow {MALLORY}")).body
    assert "not blocked" in (await h.reply(bob_dm, BOB, f"!contacts allow {MALLORY}")).body
    assert "Request sent" in (await answer(h, dm, MALLORY, f"!contacts add {BOB}")).body
    assert len(requests_to(h, BOB)) == 2
    # Someone who was never asked can't be "declined" into the table.
    assert "no request" in (await h.reply(bob_dm, BOB, f"!contacts decline {CAROL}")).body


async def test_a_member_can_ask_only_so_many_people_a_day(h: PluginHarness) -> None:
    dm = await h.dm(MALLORY)
    answers = []
    for n in range(25):
        asked = f"@v{n}:test"
        h.homeserver.profiles[asked] = {}  # an account the homeserver knows
        answers.append((await answer(h, dm, MALLORY, f"!contacts add {asked}")).body)
        await h.reply(dm, MALLORY, f"!contacts remove {asked}")
    assert sum("Request sent" in a for a in answers) == 20
    assert "requests today" in answers[-1]


async def test_rollcall_nudges_joined_members_not_invited_ones(h: PluginHarness) -> None:
    room = h.room("!action:test", {ORGANIZER: 50, ALICE: 0, BOB: 0})
    room.invited.append(CAROL)
    await h.send(room.room_id, ORGANIZER, "!rollcall 30m")
    await h.advance(15 * 60 + 1)
    assert any("Roll call in" in s.body for s in h.private(BOB))
    assert not dm_opened(h, CAROL)  # never even a DM opened for the invited user
    await h.advance(15 * 60)
    [report] = [s.body for s in h.private(ORGANIZER) if "is over" in s.body]
    assert "1 of 3 answered" in report and CAROL not in report
