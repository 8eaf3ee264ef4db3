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
from core.testing.disk import assert_absent, raw_cells
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
)

ENGLISH = "Raid expected at the Karam shelter tonight"
ARABIC = "مداهمة متوقعة في مأوى الكرم الليلة"
EDITED = "Raid moved to the Nour shelter"


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    try:
        yield h
    finally:
        await close(h)


async def test_alert_texts_are_sealed_at_rest_and_shown_to_organizers(
        harness: Harness, tmp_path: Path) -> None:
    h = harness
    rooms = network(h, 2)
    db_file = tmp_path / "bot.db"
    preview = await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert [en] {ENGLISH}\n[ar] {ARABIC}")
    assert "Preview" in preview
    alert_id = alert_id_of(plain(preview))
    # The draft, before anything is sent: both language versions sealed.
    [stored] = [c for c in raw_cells(db_file) if c.startswith(PREFIX)]
    assert_absent(db_file, ENGLISH, ARABIC)
    assert "on its way" in await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert send")
    await h.delivered()
    assert all(ENGLISH in alerts_in(h, room)[0].content["body"] for room in rooms)
    # An edit after sending is sealed as well (a fresh nonce: not the draft's value).
    assert "edited" in await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert edit {alert_id} {EDITED}")
    await h.delivered()
    assert_absent(db_file, ENGLISH, ARABIC, EDITED)
    row = await h.runtime.db.fetchone("SELECT versions FROM alerts_alerts WHERE id = ?",
                                      (alert_id,))
    assert row is not None and row["versions"].startswith(PREFIX) and row["versions"] != stored
    # The organizers still read the text, opened: `!alert status`.
    status = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, f"!alert status {alert_id}"))
    assert EDITED in status and alert_id in status
    # The audit keeps who did what to which alert, never a text.
    audit = await h.runtime.db.fetchall("SELECT * FROM alerts_audit")
    assert {tuple(r.keys()) for r in audit} == {("id", "at", "actor", "action", "alert_id")}


async def test_an_unsealed_alert_row_from_before_still_reads(harness: Harness,
                                                             tmp_path: Path) -> None:
    h = harness
    network(h, 1)
    versions = Versions({"en": ENGLISH}, ENGLISH)
    # A row as the plugin wrote it before sealing existed.
    await h.runtime.db.execute(
        "INSERT INTO alerts_alerts (id, author, created_at, state, urgent, targets, versions) "
        "VALUES (?, ?, ?, 'done', 0, ?, ?)",
        ("oldone", ORGANIZER, h.clock.now(), json.dumps(Targets().to_json()),
         json.dumps(versions.to_json())),
    )
    status = plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert status oldone"))
    assert ENGLISH in status
    # The next start seals it in place; it reads the same.
    assert await h.plugin.store.seal_old_rows() == 1
    assert await h.plugin.store.seal_old_rows() == 0
    assert not any(ENGLISH in cell for cell in raw_cells(tmp_path / "bot.db"))
    assert ENGLISH in plain(await h.say(ORGANIZERS_ROOM, ORGANIZER, "!alert status oldone"))
    # Written again (an edit), it is sealed.
    store = h.plugin.store
    await store.replace_text("oldone", Versions({"en": EDITED}, EDITED))
    row = await h.runtime.db.fetchone("SELECT versions FROM alerts_alerts WHERE id = 'oldone'")
    assert row is not None and row["versions"].startswith(PREFIX)
    alert = await store.alert("oldone")
    assert alert is not None and alert.versions.fallback == EDITED


async def test_sealed_versions_do_not_open_under_another_passphrase(harness: Harness) -> None:
    h = harness
    store = h.plugin.store
    alert_id = await store.save_draft(ORGANIZER, h.clock.now(), False, Targets(),
                                      Versions({}, ENGLISH), None)
    row = await h.runtime.db.fetchone("SELECT versions FROM alerts_alerts WHERE id = ?",
                                      (alert_id,))
    assert row is not None
    with pytest.raises(SealError):
        Sealer("another passphrase", "@bot:x").open(row["versions"], context=VERSIONS_CONTEXT)
    other = AlertStore(h.runtime.db, h.runtime.sealer)
    found = await other.alert(alert_id)
    assert found is not None and found.versions.fallback == ENGLISH
