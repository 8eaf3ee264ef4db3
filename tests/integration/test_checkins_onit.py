"""Taking on a safety alert without its id, over real E2EE (issue 16, item 5).

A contact who replies to the alert in words is taking it on: the other
contacts are told who is on it. `!onit` alone finds the only open alert.
"""

from __future__ import annotations

import pytest

from tests.integration.test_checkins import (  # noqa: F401  (make_checkins_bot is a fixture)
    ALERT,
    befriend,
    count,
    dm_with,
    from_bot,
    make_checkins_bot,
    reply_to,
)

pytestmark = pytest.mark.integration


async def test_a_reply_to_the_alert_and_onit_alone_tell_the_others(
    make_checkins_bot, make_member  # noqa: F811
) -> None:
    bot = await make_checkins_bot()
    alice, bob, carol = await make_member(), await make_member(), await make_member()
    dm = await dm_with(alice, bot)
    await befriend(bot, alice, dm, bob, carol)
    # Before anything is open, `!onit` alone says so rather than asking for an id.
    bob_dm = next(m.room_id for m in bob.received if m.sender == bot.user_id)
    assert "no open safety alert" in (await bob.ask(bob_dm, "!onit", 60)).body
    await alice.ask(dm, "!checkin 10m walking home alone")
    await bot.advance(16 * 60)
    carol_alert = await carol.wait_for(from_bot(bot, ALERT), 60)
    await bob.wait_for(from_bot(bot, ALERT), 60)
    assert "Reply to this message" in carol_alert.body

    # Carol answers the alert as people do, with a reply in words.
    sent = await reply_to(carol, carol_alert.room_id, carol_alert.event_id, "calling her now")
    thanks = await carol.wait_reply(sent, 60)
    assert thanks.encrypted and "The others know you are taking care of" in thanks.body
    on_it = await bob.wait_for(from_bot(bot, "taking care of the alert"), 60)
    assert carol.user_id in on_it.body and on_it.encrypted

    # Bob's `!onit` alone finds that alert: he is told who is already on it.
    already = await bob.ask(on_it.room_id, "!onit", 60)
    assert "already on it" in already.body and carol.user_id in already.body
    await bot.idle()
    assert count(carol, bot, "taking care of the alert") == 0  # the one on it is not told
