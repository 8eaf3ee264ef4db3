"""Taking on a safety alert without its id (issue 16, item 5): `!onit` alone, or a reply.

`!onit` alone takes the only open alert its sender was alerted to there; with
several it lists them. A Matrix reply to the alert counts as `!onit`: the
others who were alerted are told who is on it, as `!onit <id>` tells them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.testing import PluginHarness, Sent
from tests.unit.checkins_helpers import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    TEAM,
    accepted_contacts,
    answer,
    checkins,
    sent_to,
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with checkins(tmp_path, {"reminder_minutes": 10, "grace_minutes": 5}) as harness:
        yield harness


def safety_alerts(h: PluginHarness, user: str) -> list[Sent]:
    return [s for s in h.private(user) if "Safety alert" in s.body]


def id_of(alert: Sent) -> str:
    return alert.body.split("(Alert ")[1][:6]


def told_on_it(h: PluginHarness, user: str, acker: str) -> bool:
    return any("taking care of the alert" in s.body and acker in s.body for s in h.private(user))


async def reply_to(h: PluginHarness, room: str, sender: str, event_id: str,
                   body: str) -> list[Sent]:
    """A member's Matrix reply (m.in_reply_to) to `event_id`; returns what the bot answered."""
    return await h.send(room, sender, body, reply_to=event_id)


async def test_onit_alone_takes_the_only_open_alert(h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    bob_dm = await h.dm(BOB)
    assert "no open safety alert" in (await h.reply(bob_dm, BOB, "!onit")).body
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.advance(16 * 60)
    thanks = await answer(h, bob_dm, BOB, "!onit")
    assert "The others know you are taking care of" in thanks.body and ALICE in thanks.body
    assert told_on_it(h, CAROL, BOB)
    # Carol's `!onit` alone now meets the alert Bob took: she is told who is on it.
    assert BOB in (await h.reply(await h.dm(CAROL), CAROL, "!onit")).body


async def test_onit_alone_lists_several_and_prefers_the_one_nobody_took(h: PluginHarness) -> None:
    alice_dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    dave_dm = await accepted_contacts(h, DAVE, BOB)
    bob_dm = await h.dm(BOB)
    await h.reply(alice_dm, ALICE, "!checkin 10m")
    await h.reply(dave_dm, DAVE, "!checkin 10m")
    await h.advance(16 * 60)
    for_alice, for_dave = sorted(safety_alerts(h, BOB), key=lambda s: ALICE not in s.body)
    listing = (await h.reply(bob_dm, BOB, "!onit")).body
    assert "Several safety alerts are open for you" in listing and "!onit" in listing
    assert id_of(for_alice) in listing and id_of(for_dave) in listing
    assert ALICE in listing and DAVE in listing
    assert not told_on_it(h, CAROL, BOB)  # a question, not an acknowledgement
    # Carol was alerted about Alice only: for her there is one.
    await answer(h, await h.dm(CAROL), CAROL, "!onit")
    assert told_on_it(h, BOB, CAROL)
    # Alice's is taken: Bob's `!onit` alone is Dave's, the one nobody took on.
    thanks = (await answer(h, bob_dm, BOB, "!onit")).body
    assert "The others know" in thanks and DAVE in thanks and ALICE not in thanks


async def test_a_reply_to_the_alert_takes_it_on_and_the_others_are_told(h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    bob_dm = await h.dm(BOB)
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.advance(16 * 60)
    [alert] = safety_alerts(h, BOB)
    assert "Reply to this message" in alert.body
    # Replying to something else the bot sent is no acknowledgement.
    other = next(s for s in h.homeserver.messages(bob_dm) if "Thank you" in s.body)
    assert await reply_to(h, bob_dm, BOB, other.event_id, "ok") == []
    assert not told_on_it(h, CAROL, BOB)
    answers = await reply_to(h, bob_dm, BOB, alert.event_id, "on my way, calling her")
    assert any("The others know you are taking care of" in s.body for s in answers)
    assert told_on_it(h, CAROL, BOB)
    # Someone who was not alerted by that message cannot take it on by replying to it.
    assert await reply_to(h, await h.dm(CAROL), CAROL, alert.event_id, "me too") == []
    row = await h.db.fetchone("SELECT acked_by FROM checkins_checkins")
    assert row is not None and row["acked_by"] is not None


async def test_onit_replying_to_one_of_several_takes_that_one(h: PluginHarness) -> None:
    alice_dm = await accepted_contacts(h, ALICE, BOB)
    dave_dm = await accepted_contacts(h, DAVE, BOB)
    await h.reply(alice_dm, ALICE, "!checkin 10m")
    await h.reply(dave_dm, DAVE, "!checkin 10m")
    await h.advance(16 * 60)
    [for_dave] = [s for s in safety_alerts(h, BOB) if DAVE in s.body]
    answers = await reply_to(h, await h.dm(BOB), BOB, for_dave.event_id, "!onit")
    assert any("The others know" in s.body and DAVE in s.body for s in answers)


async def test_a_reply_in_the_team_room_takes_the_team_alert(tmp_path: Path) -> None:
    h = checkins(tmp_path, {"team_room": TEAM, "escalation": "team"})
    h.room(TEAM, [CAROL, DAVE])
    async with h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.reply(dm, ALICE, "!checkin 10m")
        await h.advance(16 * 60)
        [team_alert] = [s for s in sent_to(h, TEAM) if "Safety alert" in s.body]
        answers = await reply_to(h, TEAM, DAVE, team_alert.event_id, "I'll go")
        assert any("The others know" in s.body for s in answers)
        assert "already on it" in (await h.reply(TEAM, CAROL, "!onit")).body
