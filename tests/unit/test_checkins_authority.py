"""Check-ins' network settings against room admins: the safety-team room is the network's.

Each test is an attack a room admin could try: set `checkins team_room` for their
room (or their DM) so escalations come to them, change it for the network, or read
the safety-team room's id with `!config checkins`.
"""

from __future__ import annotations

from pathlib import Path

from bots.checkins import CheckinsPlugin
from core.room_settings import NETWORK
from core.testing import PluginHarness
from tests.unit.checkins_helpers import (
    ALICE,
    BOB,
    BYSTANDER,
    MALLORY,  # admin of her own room, not an organizer
    ORGANIZER,
    TEAM,
    checkins,
    sent_to,
)

ORGANIZERS = "!organizers:test"
CELL = "!cell:test"
EVIL = "!evil:test"


def make(tmp_path: Path) -> PluginHarness:
    h = checkins(tmp_path, {"team_room": TEAM, "escalation": "team"},
                 config={"network": {"organizers_room": ORGANIZERS, "rooms": [CELL]}},
                 admin=True)
    h.room(TEAM, [BOB, BYSTANDER])
    h.room(EVIL, {MALLORY: 100, BYSTANDER: 0})
    h.room(ORGANIZERS, {ORGANIZER: 100})
    h.room(CELL, {MALLORY: 100, ALICE: 0})
    return h


def alerts_in(h: PluginHarness, room: str) -> list[str]:
    return [s.body for s in sent_to(h, room) if "Safety alert" in s.body or "URGENT" in s.body]


async def test_room_admin_cannot_point_escalations_at_their_room(tmp_path: Path) -> None:
    async with make(tmp_path) as h:
        refused = (await h.reply(CELL, MALLORY, f"!config checkins team_room {EVIL}")).body
        assert "network setting" in refused and "--network checkins team_room" in refused
        # Their DM is a room they administer too: refused the same way.
        dm = await h.dm(ALICE)
        h.set_level(dm, ALICE, 100)
        assert "network setting" in (await h.reply(dm, ALICE,
                                                   f"!config checkins team_room {EVIL}")).body
        assert "network setting" in (await h.reply(CELL, MALLORY,
                                                   "!config checkins team_room default")).body
        assert await h.db.fetchall("SELECT * FROM core_room_settings") == []
        # A room's override stored anyway (before the field was network-scoped) is ignored.
        for room in (CELL, dm):
            await h.db.execute(
                "INSERT INTO core_room_settings (room_id, plugin, key, value) VALUES (?,?,?,?)",
                (room, "checkins", "team_room", f'"{EVIL}"'))
        await h.restart()
        await h.reply(dm, ALICE, "!checkin 10m")
        await h.advance(16 * 60)
        assert alerts_in(h, EVIL) == []
        assert len(alerts_in(h, TEAM)) == 1


async def test_room_admin_cannot_change_the_team_room_for_the_network(tmp_path: Path) -> None:
    async with make(tmp_path) as h:
        refused = (await h.reply(CELL, MALLORY,
                                 f"!config --network checkins team_room {EVIL}")).body
        assert "Only the network's organizers" in refused
        # Power in a room is no network power, even in the organizers room below role level.
        await h.join(ORGANIZERS, MALLORY)
        refused = (await h.reply(ORGANIZERS, MALLORY,
                                 f"!config --network checkins team_room {EVIL}")).body
        # Core refuses it as a room command (!config is for room moderators) or as a
        # network one; either way nothing is stored.
        assert "Only the network's organizers" in refused or "moderators only" in refused
        assert await h.db.fetchall("SELECT * FROM core_room_settings") == []
        # The organizer (a member of the organizers room at its role level) may.
        saved = (await h.reply(ORGANIZERS, ORGANIZER,
                               f"!config --network checkins team_room {EVIL}")).body
        assert "Saved" in saved
        assert h.runtime.settings.effective(NETWORK, CheckinsPlugin).team_room == EVIL  # type: ignore[attr-defined]


async def test_config_checkins_hides_the_team_room_from_room_admins(tmp_path: Path) -> None:
    async with make(tmp_path) as h:
        for command in ("!config checkins", "!config checkins team_room"):
            shown = (await h.reply(CELL, MALLORY, command)).body
            assert TEAM not in shown and "(hidden)" in shown
        assert "grace_minutes = 5" in (await h.reply(CELL, MALLORY, "!config checkins")).body
        # Arabic readers are told too.
        await h.reply(CELL, MALLORY, "!language ar")
        assert "(مخفي)" in (await h.reply(CELL, MALLORY, "!config checkins team_room")).body
        # The organizer sees it in the organizers room, not in a room others read.
        assert TEAM in (await h.reply(ORGANIZERS, ORGANIZER, "!config --network checkins")).body
        await h.join(CELL, ORGANIZER)
        assert TEAM not in (await h.reply(CELL, ORGANIZER, "!config --network checkins")).body
        # ...and in their own DM with the bot.
        dm = await h.dm(ORGANIZER)
        assert TEAM in (await h.reply(dm, ORGANIZER, "!config --network checkins team_room")).body


async def test_rollcall_is_room_scoped(tmp_path: Path) -> None:
    """A room's moderator calls the roll in their room only; an organizer anywhere."""
    async with make(tmp_path) as h:
        await h.join(EVIL, ALICE)
        assert "Only organizers and moderators" in (await h.reply(EVIL, ALICE,
                                                                  "!rollcall 1h")).body
        started = await h.send(CELL, MALLORY, "!rollcall 1h")
        assert any("Roll call" in s.body for s in sent_to(h, CELL)), started.text
        await h.join(EVIL, ORGANIZER)
        await h.send(EVIL, ORGANIZER, "!rollcall 1h")
        assert any("Roll call from" in s.body for s in sent_to(h, EVIL))
