"""Transaction ids from idempotency keys: an action repeated after a crash happens once.

A random transaction id makes every retry a new event; one derived from what
the action is lets the homeserver drop the repeat (MemoryHomeserver drops a
seen transaction id as Synapse does).
"""

from __future__ import annotations

from pathlib import Path

from bots.alerts import AlertsPlugin
from bots.checkins import CheckinsPlugin
from core.testing import PluginHarness

ORGANIZERS, ROOM = "!organizers:test", "!room:test"
ORGANIZER, ADMIN = "@org:test", "@admin:test"


def test_a_plugins_txn_id_is_stable_and_its_own() -> None:
    assert AlertsPlugin.txn_id("status/a1/x") == AlertsPlugin.txn_id("status/a1/x")
    assert AlertsPlugin.txn_id("status/a1/x") != AlertsPlugin.txn_id("status/a1/y")
    assert AlertsPlugin.txn_id("status/a1/x") != CheckinsPlugin.txn_id("status/a1/x")


async def test_the_same_alert_status_edited_again_is_one_edit(tmp_path: Path) -> None:
    config = {"bot": {"roles": {"organizers": [ORGANIZER]}},
              "network": {"organizers_room": ORGANIZERS, "rooms": [ROOM]}}
    async with PluginHarness(AlertsPlugin, data_dir=tmp_path, config=config,
                             plugins={"alerts": {"status_edit_seconds": 0.1}}) as h:
        h.room(ORGANIZERS, {ORGANIZER: 0})
        h.room(ROOM, {ADMIN: 100}, name="Shelter")
        await h.send(ORGANIZERS, ORGANIZER, "!alert Water at the square")
        await h.send(ORGANIZERS, ORGANIZER, "!alert send")
        await h.advance(1)
        plugin = h.plugin(AlertsPlugin)
        (alert_id,) = [a.id for a in await plugin.store.recent(5)]
        edits = len(h.homeserver.edits(ORGANIZERS))
        assert edits >= 1  # the status says where the alert went
        # Nothing changed since: editing again (as after a restart) is dropped.
        await plugin.fanout._edit_status(alert_id)
        await plugin.fanout._edit_status(alert_id)
        assert len(h.homeserver.edits(ORGANIZERS)) == edits
