"""Contacts who answer like people: a yes in words or a ✅ on the request accepts it, anything
else is told how to answer; `!contacts add` for an account that does not exist says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.checkins.contacts import answer_text, is_yes_reaction, reads_as_yes
from bots.checkins.messages import CATALOG
from core.testing import BOT, PluginHarness, Sent
from tests.unit.checkins_helpers import (
    ALICE,
    BOB,
    CAROL,
    answer,
    checkins,
    dm_opened,
    plugin,
    sent_to,
)

YES = [
    "yes", "Yes of course", "yes, of course!", "yeah sure", "OK", "okay 🙂", "👍", "✅",
    "I'd be happy to help", "Of course, I’ll be there for you", "absolutely", "sure thing",
    "نعم", "نعم بالتأكيد", "أكيد", "طبعاً", "موافقة", "نَعَم طبعا ❤️", "بكل سرور", "تمام",
]
NOT_YES = [
    "no", "No.", "nope", "no way", "not now", "of course not", "no problem", "yes no",
    "yes? who are you", "sure, but who is this", "I can't", "I don't think so", "maybe",
    "👎", "ok ❌", "", "   ", "who is alice", "yes " + "really " * 20, "stop",
    "لا", "لا أستطيع", "نعم؟", "مش أكيد", "لأ", "آسفة، لا", "لن أقبل", "ليس الآن", "ما بعرف",
]


@pytest.mark.parametrize("text", YES)
def test_a_clear_yes_reads_as_yes(text: str) -> None:
    assert reads_as_yes(text)


@pytest.mark.parametrize("text", NOT_YES)
def test_a_no_a_question_or_anything_unclear_is_never_a_yes(text: str) -> None:
    assert not reads_as_yes(text)


def test_the_reply_fallback_is_not_part_of_the_answer() -> None:
    body = f"> <{BOT}> {ALICE} asks you to be one of their trusted contacts\n> yes or no\n\nno"
    assert answer_text(body) == "no"
    assert not reads_as_yes(answer_text(body))


def test_check_marks_and_thumbs_up_in_any_tone_are_yes_reactions() -> None:
    for key in ("✅", "✔️", "☑️", "👍", "👍🏽"):
        assert is_yes_reaction(key), key
    for key in ("👎", "❌", "❤️", "😂"):
        assert not is_yes_reaction(key), key


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with checkins(tmp_path) as harness:
        yield harness


async def asked(h: PluginHarness, owner: str, contact: str) -> tuple[str, str, Sent]:
    """`owner` asks `contact`; returns both DMs and the request as the contact got it."""
    dm = await h.dm(owner)
    assert "Request sent" in (await answer(h, dm, owner, f"!contacts add {contact}")).body
    [request] = h.private(contact)
    return dm, await h.dm(contact), request


async def reply_to(h: PluginHarness, room: str, sender: str, body: str,
                   request_id: str) -> list[Sent]:
    """A message sent as a reply to `request_id`, as Element sends it; the bot's replies to it."""
    answers = await h.send(room, sender, f"> <{BOT}> the request\n\n{body}", reply_to=request_id)
    return answers.replies


async def state(h: PluginHarness, owner: str, contact: str) -> str | None:
    return await plugin(h).store.contact_state(owner, contact)


async def test_a_reply_yes_of_course_accepts_and_the_member_is_told(h: PluginHarness) -> None:
    dm, bob_dm, request = await asked(h, ALICE, BOB)
    assert "react ✅" in request.body
    [thanks] = await reply_to(h, bob_dm, BOB, "yes of course", request.event_id)
    assert thanks.body.startswith("Thank you. You will be alerted if")
    assert await state(h, ALICE, BOB) == "accepted"
    told = [s.body for s in h.homeserver.messages(dm)
            if "accepted to be your trusted contact" in s.body]
    assert len(told) == 1 and BOB in told[0]


async def test_a_no_in_words_changes_nothing_and_says_how_to_answer(h: PluginHarness) -> None:
    dm, bob_dm, request = await asked(h, ALICE, BOB)
    before = len(sent_to(h, dm))
    [hint] = await reply_to(h, bob_dm, BOB, "no problem... actually no", request.event_id)
    assert "didn't take that as a yes" in hint.body
    assert f"!contacts accept {ALICE}" in hint.body and f"!contacts decline {ALICE}" in hint.body
    assert await state(h, ALICE, BOB) == "pending"
    assert len(sent_to(h, dm)) == before  # the member hears nothing


async def test_a_check_on_the_request_accepts_once(h: PluginHarness) -> None:
    dm, bob_dm, request = await asked(h, ALICE, BOB)
    await h.react(bob_dm, BOB, request.event_id, "✅")
    assert await state(h, ALICE, BOB) == "accepted"
    assert sent_to(h, bob_dm)[-1].body.startswith("Thank you.")
    told = len([s for s in h.homeserver.messages(dm)
                if "accepted to be your trusted contact" in s.body])
    await h.react(bob_dm, BOB, request.event_id, "👍")  # again: nothing more
    assert told == 1 and len([s for s in h.homeserver.messages(dm)
                              if "accepted to be your trusted contact" in s.body]) == 1


async def test_only_the_person_asked_can_answer_a_request(h: PluginHarness) -> None:
    _, _, request = await asked(h, ALICE, BOB)
    carol_dm = await h.dm(CAROL)
    assert await reply_to(h, carol_dm, CAROL, "yes", request.event_id) == []
    await h.react(carol_dm, CAROL, request.event_id, "✅")
    assert await state(h, ALICE, BOB) == "pending"
    assert await state(h, ALICE, CAROL) is None


async def test_a_yes_replying_to_another_message_accepts_nothing(h: PluginHarness) -> None:
    _, bob_dm, _ = await asked(h, ALICE, BOB)
    other = (await h.reply(bob_dm, BOB, "!contacts")).event_id
    assert await reply_to(h, bob_dm, BOB, "yes", other) == []
    assert await state(h, ALICE, BOB) == "pending"


async def test_an_arabic_yes_is_thanked_in_arabic(h: PluginHarness) -> None:
    await h.set_language(BOB, "ar")
    _, bob_dm, request = await asked(h, ALICE, BOB)
    [thanks] = await reply_to(h, bob_dm, BOB, "نعم، بالتأكيد", request.event_id)
    assert CATALOG.messages["accepted"]["ar"].split("{")[0] in thanks.body
    assert await state(h, ALICE, BOB) == "accepted"


async def test_adding_an_account_that_does_not_exist_says_so_and_asks_nobody(
        h: PluginHarness) -> None:
    ghost = "@ghost:test"  # no account: the homeserver knows no profile of theirs
    dm = await h.dm(ALICE)
    refused = (await h.reply(dm, ALICE, f"!contacts add {ghost}")).body
    assert "can't find an account" in refused and ghost in refused
    assert "asked" not in refused.lower() and "Request sent" not in refused
    assert not dm_opened(h, ghost)
    assert "no trusted contacts" in (await h.reply(dm, ALICE, "!contacts")).body
    await h.set_language(ALICE, "ar")
    arabic = (await h.reply(dm, ALICE, f"!contacts add {ghost}")).body
    assert CATALOG.messages["contact_no_such_user"]["ar"].split("{")[0] in arabic


async def test_a_server_that_hides_profiles_still_gets_the_request(h: PluginHarness) -> None:
    h.homeserver.restrict_profiles()
    _, _, request = await asked(h, ALICE, BOB)
    assert "trusted contacts" in request.body
