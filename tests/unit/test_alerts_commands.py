"""`!alert` as a command group (core.plugin.group): subcommands, the organizer check, lists.

`!alert <text>` composes (the group's `otherwise`), `!alert` alone explains how
(its `alone`), and each subcommand has its own usage and help. Every
subcommand is refused outside the organizers room and to anyone but an
organizer, before it reads its arguments. Same harness as test_alerts_plugin.py.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.alerts import AlertsPlugin
from bots.alerts.settings import AlertsSettings
from core.events import Reaction
from core.room_settings import NETWORK
from tests.unit.test_alerts_plugin import (
    ORGANIZER,
    ORGANIZERS_ROOM,
    Harness,
    alert_id_of,
    alerts_in,
    close,
    make_harness,
    network,
    plain,
    tag,
)

SUBCOMMANDS = ("compose", "at", "send", "discard", "list", "log", "status", "edit", "retract",
               "cancel")
_ids = itertools.count()


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await make_harness(tmp_path, alerts_block={"timezone": "Europe/Berlin"})
    try:
        yield harness
    finally:
        await close(harness)


async def stored(h: Harness) -> int:
    return len(await h.runtime.db.fetchall("SELECT id FROM alerts_alerts"))


async def test_help_alert_shows_each_subcommand_with_its_own_usage(h: Harness) -> None:
    shown = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!help alert"))
    lines = shown.split("\n")
    for word in SUBCOMMANDS:
        assert sum(line.startswith(f"• !alert {word}") for line in lines) == 1, word
    assert "• !alert edit [alert] [text] — " in shown  # argument names as people read them
    assert "• !alert send — Send (or schedule) the alert you previewed last." in shown
    one = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!help alert cancel"))
    assert one.split("\n") == ["!alert cancel [alert]",
                               "Cancel a scheduled alert before it goes out."]
    # `!help` itself keeps one line for the whole group.
    listing = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!help")
    assert "!alert — " in listing and "!alert send" not in listing


@pytest.mark.parametrize("word", SUBCOMMANDS)
async def test_every_subcommand_is_for_organizers_in_their_room(h: Harness, word: str) -> None:
    [room] = network(h, 1)
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert A draft of the organizer's")
    before = await stored(h)
    refusal = await h.say(room, "@m0:x", f"!alert {word} abc234 text")
    assert "only the network's organizers" in refusal and ORGANIZERS_ROOM not in refusal
    # An organizer elsewhere is sent back to the organizers room, which is not named.
    elsewhere = await h.say(room, ORGANIZER, f"!alert {word} abc234 text")
    assert "organizers room only" in elsewhere and ORGANIZERS_ROOM not in elsewhere
    assert await stored(h) == before
    assert alerts_in(h, room) == []


async def test_compose_takes_any_text_even_a_subcommand_word(h: Harness) -> None:
    network(h, 1)
    preview = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert compose status of the march"))
    assert "Preview" in preview and "\nstatus of the march\n" in preview
    # A subcommand word first is that subcommand: never an alert saying "status".
    assert "Which alert?" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert status of the march")
    assert await stored(h) == 1
    # A subcommand's word is matched in any case (drafts are not listed: none yet).
    assert await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert LIST") == "No alerts yet."


async def test_an_alert_that_starts_with_a_subcommand_word_is_composed(h: Harness) -> None:
    """`send` takes no words: `!alert Send water to the square` is an alert, not a send."""
    [room] = network(h, 1)
    answer = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Send water to the square")
    assert "Preview of alert" in answer and "Send water to the square" in answer
    await h.delivered()
    assert alerts_in(h, room) == []  # composed, not sent
    assert "on its way to 1 rooms" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")


async def test_edit_takes_the_id_then_the_new_text(h: Harness) -> None:
    [room] = network(h, 1)
    alert_id = alert_id_of(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Meet at six"))
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    assert "Which alert?" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert edit Meet at seven")
    assert "The alert is empty" in await h.say(ORGANIZERS_ROOM, ORGANIZER,
                                               f"!alert edit {alert_id.upper()}")
    edited = await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert edit {alert_id}\nMeet at seven")
    assert "edited in 1 places" in edited
    [(_, _, content)] = [edit for edit in h.hs.edits if edit[0] == room]
    assert "Meet at seven" in content["body"]


async def test_lists_are_sentences_in_the_readers_language(h: Harness) -> None:
    first, second = network(h, 2)
    await tag(h, first, "syria")
    await tag(h, first, "legal")
    await tag(h, second, "legal")
    await h.runtime.languages.set_user(ORGANIZER, "ar")
    await h.runtime.languages.set_user("@admin0:x", "ar")
    refused = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms gaza,sudan نص"))
    assert "gaza أو sudan" in refused and "legal وsyria" in refused
    assert "en أو ar" in plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert [fr] salut"))
    assert "legal وsyria" in plain(await h.say(first, "@admin0:x", "!network tags"))
    # An inventory of rooms is separated only, with the Arabic comma.
    listing = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!network tags"))
    assert "Room 0، Room 1" in listing
    await h.runtime.languages.set_user(ORGANIZER, "en")
    preview = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms syria,legal Court"))
    assert "Rooms tagged: syria or legal" in preview and "Rooms: Room 0, Room 1" in preview


@pytest.mark.parametrize("key", ["✅\ufe0f", " ✔ ", "☑\ufe0e", "✔\ufe0f"])
async def test_a_check_mark_in_any_client_form_acknowledges(h: Harness, key: str) -> None:
    [room] = network(h, 1)
    alert_id = alert_id_of(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert Roll call"))
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    [message] = alerts_in(h, room)
    for reaction, sender in ((key, "@m0:x"), ("❌", "@admin0:x")):
        await h.dispatcher.handle(Reaction(
            room_id=room, event_id=f"$ack{next(_ids)}", sender=sender, timestamp_ms=0,
            encrypted=True, key=reaction, relates_to=message.event_id))
    assert await h.plugin.store.ack_counts(alert_id) == {room: 1}


async def test_settings_are_typed_and_the_networks(h: Harness) -> None:
    network(h, 1)
    assert AlertsPlugin.Settings is AlertsSettings
    settings = h.plugin.global_settings()
    assert isinstance(settings, AlertsSettings) and settings.timezone == "Europe/Berlin"
    assert h.plugin.settings_for(NETWORK) == settings
    # The network's zone is the one `!alert at` reads and shows.
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert at 2099-01-01 10:00 New year")
    assert "at most 60 days ahead" in preview
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert at +1h Vigil")
    assert "CET" in preview or "CEST" in preview
