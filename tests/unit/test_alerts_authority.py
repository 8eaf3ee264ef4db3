"""Who may alert, tag and configure alerts, and where alerts go: network authority only.

Each test performs an attack that worked before alerts asked core (core.authority,
core.network): a room role or alerts' own organizer settings granting network power,
alerts reaching rooms the bot was merely invited to, a room admin tagging their room
into alert targets, `!config alerts` showing the organizers room to a room admin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from bots.alerts import AlertsPlugin
from core.room_settings import NETWORK
from tests.unit.test_alerts_plugin import (
    BOT,
    ORGANIZER,
    ORGANIZERS_ROOM,
    Harness,
    alerts_in,
    close,
    make_harness,
    network,
    plain,
    tag,
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await make_harness(tmp_path, admin=True)
    try:
        yield harness
    finally:
        await close(harness)


async def test_room_admin_who_is_not_an_organizer_cannot_alert(h: Harness) -> None:
    [room] = network(h, 1)
    # Admin (power 100) of a network room: a room role, no network power.
    refusal = await h.say(room, "@admin0:x", "!alert Everyone leave now")
    assert "only the network's organizers" in refusal and ORGANIZERS_ROOM not in refusal
    # Even as an admin of the organizers room's neighbour... or invited into it at level 0.
    h.hs.members_of[ORGANIZERS_ROOM].append("@admin0:x")
    assert "only the network's organizers" in await h.say(ORGANIZERS_ROOM, "@admin0:x",
                                                          "!alert Everyone leave now")
    assert await h.runtime.db.fetchall("SELECT * FROM alerts_alerts") == []


async def test_organizers_are_cores_not_an_alerts_power_level(tmp_path: Path) -> None:
    """network.role_level decides; alerts' old organizer_power_level (50) no longer exists."""
    h = await make_harness(tmp_path, network_block={"role_level": 100})
    try:
        network(h, 1)
        # @helper:x is at 50 in the organizers room: below the network's role level.
        refusal = await h.say(ORGANIZERS_ROOM, "@helper:x", "!alert from a helper")
        assert "only the network's organizers" in refusal
        h.hs.levels[(ORGANIZERS_ROOM, "@helper:x")] = 100
        assert "Preview" in await h.say(ORGANIZERS_ROOM, "@helper:x", "!alert from a helper")
    finally:
        await close(h)


def test_alerts_own_organizer_settings_are_gone_with_a_pointer() -> None:
    for key, where in (("organizers_room", "network.organizers_room"),
                       ("organizer_power_level", "network.role_level")):
        with pytest.raises(ValidationError, match=where):
            AlertsPlugin.Settings.model_validate({key: "!old:x"})
    assert "organizers_room" not in AlertsPlugin.Settings.model_fields
    assert "organizer_power_level" not in AlertsPlugin.Settings.model_fields


async def test_a_stored_network_override_of_a_removed_setting_is_ignored(h: Harness) -> None:
    """Organizers once set `!config --network alerts organizers_room`: the row must not
    break the plugin, nor move the organizers room."""
    await h.runtime.db.execute(
        "INSERT INTO core_room_settings (room_id, plugin, key, value) VALUES (?, ?, ?, ?)",
        (NETWORK, "alerts", "organizers_room", '"!elsewhere:x"'))
    await h.runtime.settings.load()
    network(h, 1)
    assert "Preview" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert still here")
    assert h.plugin.organizers_room() == ORGANIZERS_ROOM


async def test_alerts_reach_only_network_rooms_and_network_people(h: Harness) -> None:
    members = network(h, 2)
    [outsider] = network(h, 1, in_network=False)  # the bot was invited; not the network's
    h.hs.members_of[outsider].append("@stranger:x")
    assert "every alert" in await h.say(outsider, "@stranger:x", "!subscribe alerts")
    assert "every alert" in await h.say(members[0], "@m0:x", "!subscribe alerts")
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --dm Curfew at ten")
    assert "2 rooms and 1 members" in preview
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    assert [len(alerts_in(h, room)) for room in members] == [1, 1]
    assert alerts_in(h, outsider) == []
    assert "@stranger:x" not in h.hs.dm_rooms  # no DM to someone outside the network
    assert len(alerts_in(h, h.hs.dm_rooms["@m0:x"])) == 1


async def test_room_admin_cannot_tag_their_room_into_alert_targets(h: Harness) -> None:
    [room, other] = network(h, 2)
    refusal = await h.say(room, "@admin0:x", "!network tag syria")
    assert "only the network's organizers" in refusal
    assert await h.plugin.store.all_tags() == {}
    # Naming another room is for organizers in the organizers room only.
    assert "Only organizers" in await h.say(room, "@admin0:x", f"!network tag syria {other}")
    assert await h.plugin.store.all_tags() == {}
    unknown = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms syria Border closed")
    assert "No room carries the tag" in unknown
    # An organizer tags it; its admin may see and remove the tag (opting their room out).
    await tag(h, room, "syria")
    assert "syria" in await h.say(room, "@admin0:x", "!network tags")
    assert "removed" in await h.say(room, "@admin0:x", "!network untag syria")
    assert "only the network's organizers" in await h.say(room, "@admin0:x",
                                                          "!network tag syria")


async def test_only_network_rooms_are_tagged_and_targeted(h: Harness) -> None:
    [member_room] = network(h, 1)
    [outsider] = network(h, 1, in_network=False)
    h.hs.members_of[outsider].append(ORGANIZER)
    assert "not one of the network's rooms" in await h.say(outsider, ORGANIZER,
                                                            "!network tag legal")
    answer = await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!network tag legal {outsider}")
    assert "not one of the network's rooms" in answer
    # A tag stored before (e.g. when invites made rooms part of the network) is skipped.
    await h.plugin.store.add_tag(outsider, "legal", "@admin0:x")
    await tag(h, member_room, "legal")
    preview = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms legal Court at 9"))
    assert "1 rooms" in preview and "Skipped Room 0: it is not one of the network's rooms" in preview
    await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    assert len(alerts_in(h, member_room)) == 1 and alerts_in(h, outsider) == []


async def test_config_alerts_in_a_room_shows_no_network_values_to_its_admin(h: Harness) -> None:
    [room] = network(h, 1)
    shown = plain(await h.say(room, "@admin0:x", "!config alerts"))
    assert ORGANIZERS_ROOM not in shown and "organizers_room" not in shown
    assert "timezone = (hidden)" in shown and "UTC" not in shown
    assert "(hidden)" in await h.say(room, "@admin0:x", "!config alerts timezone")
    # Organizers see them in the organizers room.
    listing = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!config --network alerts"))
    assert "timezone = UTC" in listing
    # ...but not in a room where everyone reads the answer.
    h.hs.members_of[room].append(ORGANIZER)
    assert "UTC" not in plain(await h.say(room, ORGANIZER, "!config --network alerts"))
    # A member is refused outright.
    assert "only" in await h.say(room, "@m0:x", "!config alerts")


async def test_room_admin_cannot_change_alerts_settings_for_the_network(h: Harness) -> None:
    [room] = network(h, 1)
    refused = await h.say(room, "@admin0:x", "!config alerts remind_after_minutes 1")
    assert "network setting" in refused and "--network alerts remind_after_minutes" in refused
    refused = await h.say(room, "@admin0:x", "!config --network alerts remind_after_minutes 1")
    assert "Only the network's organizers" in refused
    assert await h.runtime.db.fetchall("SELECT * FROM core_room_settings") == []
    saved = await h.say(ORGANIZERS_ROOM, ORGANIZER, "!config --network alerts timezone Asia/Tokyo")
    assert "Saved" in saved
    assert h.plugin.global_settings().timezone == "Asia/Tokyo"
    assert BOT  # the bot is not an organizer by being in every room
    assert not h.runtime.authority.is_organizer(BOT)
