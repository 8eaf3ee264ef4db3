"""Who may point onboarding beyond their own room: room admins may not.

Each test performs the attack a room admin could make before the settings
were network-scoped; on the old code each of them succeeded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.onboarding import OnboardingPlugin
from tests.unit.test_onboarding_plugin import (
    ADMIN,
    INTROS,
    NEWCOMER,
    ORGANIZER,
    ORGANIZERS_ROOM,
    PRIVATE,
    ROOM,
    Harness,
    close,
    make_harness,
    plain,
)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    try:
        yield h
    finally:
        await close(h)


async def test_room_admin_cannot_send_introductions_into_another_room(harness: Harness) -> None:
    h = harness
    # The attack: ROOM's admin (not an admin, not even a member, of PRIVATE) points
    # ROOM's introductions at PRIVATE, so newcomers' pronouns and reasons land there.
    refused = await h.say(ROOM, ADMIN, f"!config onboarding introductions_room {PRIVATE}")
    assert "Not saved" in refused and "network setting" in refused
    dm = await h.join(ROOM, NEWCOMER)
    welcome = h.hs.messages(dm)[0].content["body"]
    assert "Safe house" not in welcome and "!intro" not in welcome
    assert "None of your rooms" in await h.say(dm, NEWCOMER, "!intro")
    assert h.hs.messages(PRIVATE) == []
    # Nor can the admin read the network's value.
    await h.say(ORGANIZERS_ROOM, ORGANIZER,
                f"!config --network onboarding introductions_room {INTROS}")
    shown = await h.say(ROOM, ADMIN, "!config onboarding introductions_room")
    assert INTROS not in shown and "(hidden)" in shown


async def test_a_room_override_stored_before_the_marker_is_ignored(
        harness: Harness, tmp_path: Path) -> None:
    h = harness
    # As the old code stored it (or anything writing around set_value).
    await h.runtime.db.execute(
        "INSERT INTO core_room_settings (room_id, plugin, key, value) VALUES (?, ?, ?, ?)",
        (ROOM, "onboarding", "introductions_room", json.dumps(PRIVATE)))
    await h.runtime.settings.load()
    dm = await h.join(ROOM, NEWCOMER)
    assert "None of your rooms" in await h.say(dm, NEWCOMER, "!intro")
    assert h.hs.messages(PRIVATE) == []


async def test_introductions_never_go_to_a_network_role_room(harness: Harness) -> None:
    h = harness
    # Even organizers' choice: a role room's name is not said to newcomers.
    await h.say(ORGANIZERS_ROOM, ORGANIZER,
                f"!config --network onboarding introductions_room {ORGANIZERS_ROOM}")
    dm = await h.join(ROOM, NEWCOMER)
    assert "Organizers" not in h.hs.messages(dm)[0].content["body"]
    assert "None of your rooms" in await h.say(dm, NEWCOMER, "!intro")


async def test_a_draft_is_not_posted_after_the_introductions_room_changed(harness: Harness) -> None:
    h = harness
    await h.say(ORGANIZERS_ROOM, ORGANIZER,
                f"!config --network onboarding introductions_room {INTROS}")
    dm = await h.join(ROOM, NEWCOMER)
    await h.say(dm, NEWCOMER, "!intro")
    for answer in ("they/them", "-", "mutual aid"):
        await h.say(dm, NEWCOMER, answer)
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!config --network onboarding introductions_room ''")
    assert "has changed" in await h.say(dm, NEWCOMER, "!intro post")
    assert h.hs.messages(INTROS) == []


async def test_room_admin_cannot_list_a_private_space_or_name_private_rooms(
        harness: Harness) -> None:
    h = harness
    space = "!privatespace:x"
    h.bot.room(space).state[("m.space.child", PRIVATE)] = {"via": ["x"]}
    # The attack, part 1: the bot lists (and names) the children of any space it is in.
    refused = await h.say(ROOM, ADMIN, f"!config onboarding directory_space {space}")
    assert "Not saved" in refused
    # Part 2: room ids the bot knows, typed into the room's own list, named from its knowledge.
    listed = json.dumps([PRIVATE, ORGANIZERS_ROOM, INTROS, "#public:x"])
    assert "Not saved" not in await h.say(ROOM, ADMIN, f"!config onboarding directory_rooms {listed}")
    dm = await h.join(ROOM, NEWCOMER)
    directory = plain(await h.say(dm, NEWCOMER, "!rooms"))
    assert "Safe house" not in directory  # a private room's name is not the bot's to tell
    assert PRIVATE in directory  # listed as the admin typed it
    assert ORGANIZERS_ROOM not in directory and "Organizers" not in directory
    assert "Introductions" in directory and "#public:x" in directory  # network rooms are named


async def test_organizers_set_the_directory_space(harness: Harness) -> None:
    h = harness
    space = "!space:x"
    children = h.bot.room(space).state
    for child in (INTROS, ORGANIZERS_ROOM):
        children[("m.space.child", child)] = {"via": ["x"]}
    saved = await h.say(ORGANIZERS_ROOM, ORGANIZER,
                        f"!config --network onboarding directory_space {space}")
    assert "Not saved" not in saved
    dm = await h.join(ROOM, NEWCOMER)
    directory = plain(await h.say(dm, NEWCOMER, "!rooms"))
    assert "Introductions" in directory
    assert "Organizers" not in directory and ORGANIZERS_ROOM not in directory
    settings = h.runtime.settings.effective(ROOM, OnboardingPlugin)
    assert settings.directory_space == space  # type: ignore[attr-defined]


async def test_rooms_in_a_shared_room_does_not_hint_at_the_members_other_rooms(
        harness: Harness) -> None:
    h = harness
    support = "!support:x"
    h.bot.room(support, ["@regular:x"], name="Support")  # a group room: two would read as a DM
    await h.runtime.settings.set_enabled(support, OnboardingPlugin, True)
    await h.runtime.settings.set_value(support, OnboardingPlugin, "directory_rooms",
                                       '["#partners-of-support:x"]')
    dm = await h.join(ROOM, NEWCOMER)
    await h.join(support, NEWCOMER)
    # Typed in ROOM, read by everyone there: only ROOM's own directory.
    assert "#partners-of-support:x" not in await h.say(ROOM, NEWCOMER, "!rooms")
    # In the DM: every room's.
    assert "#partners-of-support:x" in await h.say(dm, NEWCOMER, "!rooms")
