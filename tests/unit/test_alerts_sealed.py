"""Alert texts at rest: sealed in the database file, shown in clear to the organizers.

The file is read the way someone holding a seized disk would: with the
`sqlite3` module (every text cell of every table) and as raw bytes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.alerts.compose import Targets, Versions
from bots.alerts.store import VERSIONS_CONTEXT, AlertStore
from core.sealed import PREFIX, Sealer, SealError
from core.testing import PluginHarness
from core.testing.disk import assert_absent, raw_cells
from tests.unit.alerts_helpers import (
    BOT,
    ORGANIZER,
    ORGANIZERS_ROOM,
    alert_id_of,
    alerts,
    alerts_bot,
    alerts_in,
    network_rooms,
    say,
)

ENGLISH = "Raid expected at the Karam shelter tonight"
ARABIC = "مداهمة متوقعة في مأوى الكرم الليلة"
EDITED = "Raid moved to the Nour shelter"


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with alerts_bot(tmp_path, network_rooms(1)) as h:
        yield h


async def test_alert_texts_are_sealed_at_rest_and_shown_to_organizers(tmp_path: Path) -> None:
    rooms = network_rooms(2)
    async with alerts_bot(tmp_path, rooms) as h:
        db_file = h.db_path
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert [en] {ENGLISH}\n[ar] {ARABIC}")
        assert "Preview" in preview
        alert_id = alert_id_of(preview)
        # The draft, before anything is sent: both language versions sealed.
        [stored] = [c for c in raw_cells(db_file) if c.startswith(PREFIX)]
        assert_absent(db_file, ENGLISH, ARABIC)
        assert "on its way" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        assert all(ENGLISH in alerts_in(h, room)[0].body for room in rooms)
        # An edit after sending is sealed as well (a fresh nonce: not the draft's value).
        assert "edited" in await say(h, ORGANIZERS_ROOM, ORGANIZER,
                                     f"!alert edit {alert_id} {EDITED}")
        assert_absent(db_file, ENGLISH, ARABIC, EDITED)
        row = await h.db.fetchone("SELECT versions FROM alerts_alerts WHERE id = ?", (alert_id,))
        assert row is not None and row["versions"].startswith(PREFIX) and row["versions"] != stored
        # The organizers still read the text, opened: `!alert status`.
        status = await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert status {alert_id}")
        assert EDITED in status and alert_id in status
        # The audit keeps who did what to which alert, never a text.
        audit = await h.db.fetchall("SELECT * FROM alerts_audit")
        assert {tuple(r.keys()) for r in audit} == {("id", "at", "actor", "action", "alert_id")}


async def test_an_unsealed_alert_row_from_before_still_reads(harness: PluginHarness) -> None:
    h = harness
    versions = Versions({"en": ENGLISH}, ENGLISH)
    # A row as the plugin wrote it before sealing existed.
    await h.db.execute(
        "INSERT INTO alerts_alerts (id, author, created_at, state, urgent, targets, versions) "
        "VALUES (?, ?, ?, 'done', 0, ?, ?)",
        ("oldone", ORGANIZER, h.clock.now(), json.dumps(Targets().to_json()),
         json.dumps(versions.to_json())),
    )
    status = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert status oldone")
    assert ENGLISH in status
    # The next start seals it in place; it reads the same.
    store = alerts(h).store
    assert await store.seal_old_rows() == 1
    assert await store.seal_old_rows() == 0
    assert not any(ENGLISH in cell for cell in raw_cells(h.db_path))
    assert ENGLISH in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert status oldone")
    # Written again (an edit), it is sealed.
    await store.replace_text("oldone", Versions({"en": EDITED}, EDITED))
    row = await h.db.fetchone("SELECT versions FROM alerts_alerts WHERE id = 'oldone'")
    assert row is not None and row["versions"].startswith(PREFIX)
    alert = await store.alert("oldone")
    assert alert is not None and alert.versions.fallback == EDITED


async def test_sealed_versions_do_not_open_under_another_passphrase(
        harness: PluginHarness) -> None:
    h = harness
    store = alerts(h).store
    alert_id = await store.save_draft(ORGANIZER, h.clock.now(), False, Targets(),
                                      Versions({}, ENGLISH), None)
    row = await h.db.fetchone("SELECT versions FROM alerts_alerts WHERE id = ?", (alert_id,))
    assert row is not None
    with pytest.raises(SealError):
        Sealer("another passphrase", BOT).open(row["versions"], context=VERSIONS_CONTEXT)
    other = AlertStore(h.db, h.runtime.sealer)
    found = await other.alert(alert_id)
    assert found is not None and found.versions.fallback == ENGLISH
