"""Who may alert, tag and configure alerts, and where alerts go: network authority only.

Each test performs an attack that worked before alerts asked core (core.authority,
core.network): a room role or alerts' own organizer settings granting network power,
alerts reaching rooms the bot was merely invited to, a room admin tagging their room
into alert targets, `!config alerts` showing the organizers room to a room admin.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bots.admin import AdminPlugin
from bots.alerts import AlertsPlugin
from core.room_settings import NETWORK
from core.testing import PluginHarness
from tests.unit.alerts_helpers import (
    BOT,
    HELPER,
    ORGANIZER,
    ORGANIZERS_ROOM,
    alerts,
    alerts_bot,
    alerts_in,
    dm_alerts,
    dm_users,
    network_rooms,
    say,
    tag,
)

OUTSIDE = "!outside:x"  # a room the bot was invited to: not one of the network's


def with_admin(tmp_path: Path, rooms: list[str]) -> PluginHarness:
    """Alerts with `!config` (AdminPlugin)."""
    return alerts_bot(tmp_path, rooms, others={AdminPlugin: {}})


async def test_room_admin_who_is_not_an_organizer_cannot_alert(tmp_path: Path) -> None:
    [room] = rooms = network_rooms(1)
    async with with_admin(tmp_path, rooms) as h:
        # Admin (power 100) of a network room: a room role, no network power.
        refusal = await say(h, room, "@admin0:x", "!alert Everyone leave now")
        assert "only the network's organizers" in refusal and ORGANIZERS_ROOM not in refusal
        # Even as an admin of the organizers room's neighbour... or invited into it at level 0.
        await h.join(ORGANIZERS_ROOM, "@admin0:x")
        assert "only the network's organizers" in await say(h, ORGANIZERS_ROOM, "@admin0:x",
                                                            "!alert Everyone leave now")
        assert await h.db.fetchall("SELECT * FROM alerts_alerts") == []


async def test_organizers_are_cores_not_an_alerts_power_level(tmp_path: Path) -> None:
    """network.role_level decides; alerts' old organizer_power_level (50) no longer exists."""
    async with alerts_bot(tmp_path, network_rooms(1), network={"role_level": 100}) as h:
        # HELPER is at 50 in the organizers room: below the network's role level.
        refusal = await say(h, ORGANIZERS_ROOM, HELPER, "!alert from a helper")
        assert "only the network's organizers" in refusal
        h.set_level(ORGANIZERS_ROOM, HELPER, 100)
        assert "Preview" in await say(h, ORGANIZERS_ROOM, HELPER, "!alert from a helper")


def test_alerts_own_organizer_settings_are_gone_with_a_pointer() -> None:
    for key, where in (("organizers_room", "network.organizers_room"),
                       ("organizer_power_level", "network.role_level")):
        with pytest.raises(ValidationError, match=where):
            AlertsPlugin.Settings.model_validate({key: "!old:x"})
    assert "organizers_room" not in AlertsPlugin.Settings.model_fields
    assert "organizer_power_level" not in AlertsPlugin.Settings.model_fields


async def test_a_stored_network_override_of_a_removed_setting_is_ignored(tmp_path: Path) -> None:
    """Organizers once set `!config --network alerts organizers_room`: the row must not
    break the plugin, nor move the organizers room."""
    async with with_admin(tmp_path, network_rooms(1)) as h:
        await h.db.execute(
            "INSERT INTO core_room_settings (room_id, plugin, key, value) VALUES (?, ?, ?, ?)",
            (NETWORK, "alerts", "organizers_room", '"!elsewhere:x"'))
        await h.runtime.settings.load()
        assert "Preview" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert still here")
        assert alerts(h).organizers_room() == ORGANIZERS_ROOM


async def test_alerts_reach_only_network_rooms_and_network_people(tmp_path: Path) -> None:
    members = network_rooms(2)
    async with with_admin(tmp_path, members) as h:
        h.room(OUTSIDE, {"@outside-admin:x": 100, "@stranger:x": 0}, name="Outside")
        assert "every alert" in await say(h, OUTSIDE, "@stranger:x", "!subscribe alerts")
        assert "every alert" in await say(h, members[0], "@m0:x", "!subscribe alerts")
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --dm Curfew at ten")
        assert "2 rooms and 1 members" in preview
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        assert [len(alerts_in(h, room)) for room in members] == [1, 1]
        assert alerts_in(h, OUTSIDE) == []
        assert "@stranger:x" not in dm_users(h)  # no DM to someone outside the network
        assert len(dm_alerts(h, "@m0:x")) == 1


async def test_room_admin_cannot_tag_their_room_into_alert_targets(tmp_path: Path) -> None:
    [room, other] = rooms = network_rooms(2)
    async with with_admin(tmp_path, rooms) as h:
        refusal = await say(h, room, "@admin0:x", "!network tag syria")
        assert "only the network's organizers" in refusal
        assert await alerts(h).store.all_tags() == {}
        # Naming another room is for organizers in the organizers room only.
        assert "Only organizers" in await say(h, room, "@admin0:x", f"!network tag syria {other}")
        assert await alerts(h).store.all_tags() == {}
        unknown = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms syria Border closed")
        assert "No room carries the tag" in unknown
        # An organizer tags it; its admin may see and remove the tag (opting their room out).
        await tag(h, room, "syria")
        assert "syria" in await say(h, room, "@admin0:x", "!network tags")
        assert "removed" in await say(h, room, "@admin0:x", "!network untag syria")
        assert "only the network's organizers" in await say(h, room, "@admin0:x",
                                                            "!network tag syria")


async def test_only_network_rooms_are_tagged_and_targeted(tmp_path: Path) -> None:
    [member_room] = rooms = network_rooms(1)
    async with with_admin(tmp_path, rooms) as h:
        h.room(OUTSIDE, {"@outside-admin:x": 100, ORGANIZER: 0}, name="Outside")
        assert "not one of the network's rooms" in await say(h, OUTSIDE, ORGANIZER,
                                                              "!network tag legal")
        answer = await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!network tag legal {OUTSIDE}")
        assert "not one of the network's rooms" in answer
        # A tag stored before (e.g. when invites made rooms part of the network) is skipped.
        await alerts(h).store.add_tag(OUTSIDE, "legal", "@outside-admin:x")
        await tag(h, member_room, "legal")
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms legal Court at 9")
        assert "1 rooms" in preview
        assert "Skipped Outside: it is not one of the network's rooms" in preview
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        assert len(alerts_in(h, member_room)) == 1 and alerts_in(h, OUTSIDE) == []


async def test_config_alerts_in_a_room_shows_no_network_values_to_its_admin(
        tmp_path: Path) -> None:
    [room] = rooms = network_rooms(1)
    async with with_admin(tmp_path, rooms) as h:
        shown = await say(h, room, "@admin0:x", "!config alerts")
        assert ORGANIZERS_ROOM not in shown and "organizers_room" not in shown
        assert "timezone = (hidden)" in shown and "UTC" not in shown
        assert "(hidden)" in await say(h, room, "@admin0:x", "!config alerts timezone")
        # Organizers see them in the organizers room.
        listing = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!config --network alerts")
        assert "timezone = UTC" in listing
        # ...but not in a room where everyone reads the answer.
        await h.join(room, ORGANIZER)
        assert "UTC" not in await say(h, room, ORGANIZER, "!config --network alerts")
        # A member is refused outright.
        assert "only" in await say(h, room, "@m0:x", "!config alerts")


async def test_room_admin_cannot_change_alerts_settings_for_the_network(tmp_path: Path) -> None:
    [room] = rooms = network_rooms(1)
    async with with_admin(tmp_path, rooms) as h:
        refused = await say(h, room, "@admin0:x", "!config alerts remind_after_minutes 1")
        assert "network setting" in refused and "--network alerts remind_after_minutes" in refused
        refused = await say(h, room, "@admin0:x",
                            "!config --network alerts remind_after_minutes 1")
        assert "Only the network's organizers" in refused
        assert await h.db.fetchall("SELECT * FROM core_room_settings") == []
        saved = await say(h, ORGANIZERS_ROOM, ORGANIZER,
                          "!config --network alerts timezone Asia/Tokyo")
        assert "Saved" in saved
        assert alerts(h).global_settings().timezone == "Asia/Tokyo"
        # The bot is not an organizer by being in every room.
        assert not h.runtime.authority.is_organizer(BOT)
