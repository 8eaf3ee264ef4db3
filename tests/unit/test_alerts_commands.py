"""`!alert` as a command group (core.plugin.group): subcommands, the organizer check, lists.

`!alert <text>` composes (the group's `otherwise`), `!alert` alone explains how
(its `alone`), and each subcommand has its own usage and help. Every
subcommand is refused outside the organizers room and to anyone but an
organizer, before it reads its arguments. On core.testing.PluginHarness, with
the network of tests/unit/alerts_helpers.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.alerts import AlertsPlugin
from bots.alerts.settings import AlertsSettings
from core.room_settings import NETWORK
from core.testing import PluginHarness
from tests.unit.alerts_helpers import (
    ORGANIZER,
    ORGANIZERS_ROOM,
    alert_id_of,
    alerts,
    alerts_bot,
    alerts_in,
    network_rooms,
    say,
    tag,
)

SUBCOMMANDS = ("compose", "at", "send", "discard", "list", "log", "status", "edit", "retract",
               "cancel")


def berlin(tmp_path: Path, rooms: list[str]) -> PluginHarness:
    """Alerts in the Europe/Berlin zone."""
    return alerts_bot(tmp_path, rooms, alerts={"timezone": "Europe/Berlin"})


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    """A network of one room (most tests here need no more)."""
    async with berlin(tmp_path, network_rooms(1)) as harness:
        yield harness


async def stored(h: PluginHarness) -> int:
    return len(await h.db.fetchall("SELECT id FROM alerts_alerts"))


async def test_help_alert_shows_each_subcommand_with_its_own_usage(h: PluginHarness) -> None:
    shown = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!help alert")
    lines = shown.split("\n")
    for word in SUBCOMMANDS:
        # Composing needs no word of its own: it is shown as typed, `!alert <text>`.
        typed = "!alert [text] — " if word == "compose" else f"!alert {word}"
        assert sum(line.startswith(f"• {typed}") for line in lines) == 1, word
    assert "!alert compose" not in shown
    assert "• !alert edit [alert] [text] — " in shown  # argument names as people read them
    assert "• !alert send — Send (or schedule) the alert you previewed last." in shown
    one = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!help alert cancel")
    assert one.split("\n") == ["!alert cancel [alert]",
                               "Cancel a scheduled alert before it goes out."]
    # `!help` itself keeps one line for the whole group.
    listing = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!help")
    assert "!alert — " in listing and "!alert send" not in listing


@pytest.mark.parametrize("word", SUBCOMMANDS)
async def test_every_subcommand_is_for_organizers_in_their_room(h: PluginHarness,
                                                                word: str) -> None:
    [room] = network_rooms(1)
    await h.join(room, ORGANIZER)
    await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert A draft of the organizer's")
    before = await stored(h)
    refusal = await say(h, room, "@m0:x", f"!alert {word} abc234 text")
    assert "only the network's organizers" in refusal and ORGANIZERS_ROOM not in refusal
    # An organizer elsewhere is sent back to the organizers room, which is not named.
    elsewhere = await say(h, room, ORGANIZER, f"!alert {word} abc234 text")
    assert "organizers room only" in elsewhere and ORGANIZERS_ROOM not in elsewhere
    assert await stored(h) == before
    assert alerts_in(h, room) == []


async def test_compose_takes_any_text_even_a_subcommand_word(h: PluginHarness) -> None:
    preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert compose status of the march")
    assert "Preview" in preview and "\nstatus of the march\n" in preview
    # A subcommand word first is that subcommand: never an alert saying "status".
    assert "Which alert?" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert status of the march")
    assert await stored(h) == 1
    # A subcommand's word is matched in any case (drafts are not listed: none yet).
    assert await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert LIST") == "No alerts yet."


async def test_an_alert_that_starts_with_a_subcommand_word_is_composed(h: PluginHarness) -> None:
    """`send` takes no words: `!alert Send water to the square` is an alert, not a send."""
    [room] = network_rooms(1)
    answer = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert Send water to the square")
    assert "Preview of alert" in answer and "Send water to the square" in answer
    assert alerts_in(h, room) == []  # composed, not sent (the harness delivered what was queued)
    assert "on its way to 1 rooms" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")


async def test_edit_takes_the_id_then_the_new_text(h: PluginHarness) -> None:
    [room] = network_rooms(1)
    alert_id = alert_id_of(await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert Meet at six"))
    await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    assert "Which alert?" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert edit Meet at seven")
    assert "The alert is empty" in await say(h, ORGANIZERS_ROOM, ORGANIZER,
                                             f"!alert edit {alert_id.upper()}")
    edited = await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert edit {alert_id}\nMeet at seven")
    assert "edited in 1 places" in edited
    [edit] = h.homeserver.edits(room)
    assert "Meet at seven" in edit.content["m.new_content"]["body"]


async def test_lists_are_sentences_in_the_readers_language(tmp_path: Path) -> None:
    first, second = rooms = network_rooms(2)
    async with berlin(tmp_path, rooms) as h:
        await tag(h, first, "syria")
        await tag(h, first, "legal")
        await tag(h, second, "legal")
        await h.set_language(ORGANIZER, "ar")
        await h.set_language("@admin0:x", "ar")
        refused = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms gaza,sudan نص")
        assert "gaza أو sudan" in refused and "legal وsyria" in refused
        assert "en أو ar" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert [fr] salut")
        assert "legal وsyria" in await say(h, first, "@admin0:x", "!network tags")
        # An inventory of rooms is separated only, with the Arabic comma.
        listing = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!network tags")
        assert "Room 0، Room 1" in listing
        await h.set_language(ORGANIZER, "en")
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms syria,legal Court")
        assert "Rooms tagged: syria or legal" in preview and "Rooms: Room 0, Room 1" in preview


@pytest.mark.parametrize("key", ["✅\ufe0f", " ✔ ", "☑\ufe0e", "✔\ufe0f"])
async def test_a_check_mark_in_any_client_form_acknowledges(h: PluginHarness, key: str) -> None:
    [room] = network_rooms(1)
    alert_id = alert_id_of(await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert Roll call"))
    await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    [message] = alerts_in(h, room)
    for reaction, sender in ((key, "@m0:x"), ("❌", "@admin0:x")):
        await h.react(room, sender, message.event_id, reaction)
    assert await alerts(h).store.ack_counts(alert_id) == {room: 1}


async def test_settings_are_typed_and_the_networks(h: PluginHarness) -> None:
    assert AlertsPlugin.Settings is AlertsSettings
    settings = alerts(h).global_settings()
    assert isinstance(settings, AlertsSettings) and settings.timezone == "Europe/Berlin"
    assert alerts(h).settings_for(NETWORK) == settings
    # The network's zone is the one `!alert at` reads and shows.
    preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert at 2099-01-01 10:00 New year")
    assert "at most 60 days ahead" in preview
    preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert at +1h Vigil")
    assert "CET" in preview or "CEST" in preview
