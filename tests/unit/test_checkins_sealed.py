"""Check-ins data at rest: notes and who a member's contacts are are not in the file.

Everything goes through the plugin's own commands; then the database is read
as someone holding a seized disk would: every text cell of every table with
the `sqlite3` module, and the raw bytes of the file and its write-ahead log.
The member still reads their note (`!checkin status`) and contacts (`!contacts`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bots.checkins.store import CONTACT_CONTEXT, MIGRATIONS, NOTE_CONTEXT, TIMEZONE_CONTEXT
from core.sealed import PREFIX, Sealer, SealError
from core.storage import CORE_MIGRATIONS, Database
from core.testing import BOT, START
from core.testing.disk import raw_bytes, raw_cells
from core.zones import MemberZones
from tests.unit.checkins_helpers import (
    ALICE,
    BOB,
    BYSTANDER,
    CAROL,
    TEAM,
    accepted_contacts,
    answer,
    checkins,
    plugin,
)

NOTE = "meeting Karim at the Tahrir flat, back by midnight"
NOTE_WORDS = ("Karim", "Tahrir", "midnight")
BOB_NAME = "bob:test"  # Bob's id without the sigil: also catches it inside keys


def checkins_cells(path: Path) -> dict[str, list[str]]:
    """Text cells of the check-ins tables, by table, read straight from the file."""
    connection = sqlite3.connect(path)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'checkins_%'")]
        return {table: [value for row in connection.execute(f'SELECT * FROM "{table}"')
                        for value in row if isinstance(value, str)] for table in tables}
    finally:
        connection.close()


def cells_naming(path: Path, text: str) -> list[tuple[str, str]]:
    """(table, column) of every text cell in the file that contains `text`."""
    connection = sqlite3.connect(path)
    found: list[tuple[str, str]] = []
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            for row in cursor:
                found += [(table, names[i]) for i, v in enumerate(row)
                          if isinstance(v, str) and text in v]
    finally:
        connection.close()
    return sorted(set(found))


async def test_note_and_contacts_are_sealed_at_rest_and_shown_to_the_member(
        tmp_path: Path) -> None:
    # The DMs core.dms opens have ids that do not spell their member's id.
    h = checkins(tmp_path, {"reminder_minutes": 10, "grace_minutes": 5,
                            "team_room": TEAM, "team_after_minutes": 15})
    h.room(TEAM, [CAROL, BYSTANDER])
    async with h:
        dm = await accepted_contacts(h, ALICE, BOB)
        assert "Check-in set" in (await h.reply(dm, ALICE, f"!checkin 2h {NOTE}")).body
        assert NOTE in (await h.reply(dm, ALICE, "!checkin status")).body
        assert BOB in (await h.reply(dm, ALICE, "!contacts")).body
        await h.advance(2 * 3600 + 6 * 60)  # missed: Bob is alerted, with the note
        [alert] = [s for s in h.private(BOB) if "Safety alert" in s.body]
        assert NOTE in alert.body
        await answer(h, await h.dm(BOB), BOB, f"!onit {alert.body.split('!onit ')[1][:6]}")
        # Still readable to the member, opened.
        assert NOTE in (await h.reply(dm, ALICE, "!checkin status")).body
        assert BOB in (await h.reply(dm, ALICE, "!contacts")).body
        path = h.db_path
        cells = raw_cells(path)
        blob = raw_bytes(path)
        for word in (NOTE, *NOTE_WORDS):
            assert not any(word in cell for cell in cells), f"{word!r} readable in a table"
            assert word.encode() not in blob, f"{word!r} readable in the file"
        # Who Alice's contact is: in no check-ins table (contacts, alerts, acks, requests).
        for table, values in checkins_cells(path).items():
            assert not any(BOB_NAME in v for v in values), table
        # Not even core's outbox: a delivered item forgets its recipient. (Core's
        # table of DM rooms names every member the bot has a DM with, Bob too.)
        assert cells_naming(path, BOB_NAME) == [("core_dm_rooms", "user_id")]
        with sqlite3.connect(path) as connection:
            [(note,)] = connection.execute("SELECT note FROM checkins_checkins").fetchall()
            [(contact,)] = connection.execute("SELECT contact FROM checkins_contacts").fetchall()
        assert note.startswith(PREFIX) and contact.startswith(PREFIX)
        other = Sealer("another passphrase", BOT)
        for value, context in ((note, NOTE_CONTEXT), (contact, CONTACT_CONTEXT)):
            with pytest.raises(SealError):  # not without the store passphrase
                other.open(value, context=context)


async def test_contact_refs_differ_between_members(tmp_path: Path) -> None:
    """Two members with the same contact: the file does not show that they share one."""
    async with checkins(tmp_path) as h:
        await accepted_contacts(h, ALICE, BOB)
        await accepted_contacts(h, CAROL, BOB)
        rows = await h.db.fetchall("SELECT owner, ref FROM checkins_contacts ORDER BY owner")
        assert [r["owner"] for r in rows] == [ALICE, CAROL]
        assert rows[0]["ref"] != rows[1]["ref"]
        assert all(r["ref"].startswith("l1:") for r in rows)
        # Lookups by ref still find each pair.
        carol_dm = await h.dm(CAROL)
        assert "no longer" in (await h.reply(carol_dm, CAROL, f"!contacts remove {BOB}")).body
        assert await plugin(h).store.contacts(CAROL) == []
        assert BOB in (await h.reply(await h.dm(ALICE), ALICE, "!contacts")).body


async def test_old_unsealed_rows_still_read_and_are_sealed_on_start(tmp_path: Path) -> None:
    """A database as version 2 of the plugin left it: contacts, a note, an alert in clear."""
    h = checkins(tmp_path)
    path = h.db_path
    db = Database(path)
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    await db.migrate("checkins", MIGRATIONS[:2])
    alice_dm = f"!dm-{ALICE}"
    await db.transaction([
        ("INSERT INTO checkins_contacts (owner, contact, state, created_at) VALUES (?, ?, ?, ?)",
         (ALICE, BOB, "accepted", START)),
        ("INSERT INTO checkins_contacts (owner, contact, state, created_at) VALUES (?, ?, ?, ?)",
         (ALICE, CAROL, "pending", START + 1)),
        ("INSERT INTO checkins_contact_requests (owner, contact, last_sent, blocked) "
         "VALUES (?, ?, ?, ?)", (ALICE, CAROL, START + 1, 1)),
        ("INSERT INTO checkins_members (user_id, timezone) VALUES (?, ?)",
         (ALICE, "Africa/Cairo")),
        ("INSERT INTO checkins_checkins (id, user_id, room_id, note, created_at, deadline, state, "
         "urgent, late_by, last_seen) VALUES ('abcdef', ?, ?, ?, ?, ?, 'active', 0, 0, ?)",
         (ALICE, alice_dm, NOTE, START, START + 7200, START)),
        ("INSERT INTO checkins_alerts (checkin_id, recipient, kind, outbox_key) "
         "VALUES ('old', ?, 'contact', 'alert/old/1/x')", (BOB,)),
    ])
    await db.close()
    h.room(alice_dm, [ALICE])  # her DM: an encrypted room of the bot and her
    async with h:
        assert not any(word in cell for cell in raw_cells(path) for word in NOTE_WORDS)
        for table, values in checkins_cells(path).items():
            assert not any(BOB_NAME in v or "carol:test" in v or "Cairo" in v
                           for v in values), table
        assert NOTE in (await h.reply(alice_dm, ALICE, "!checkin status")).body
        listed = (await h.reply(alice_dm, ALICE, "!contacts")).body
        assert BOB in listed and CAROL in listed
        assert "Africa/Cairo" in (await h.reply(alice_dm, ALICE, "!timezone")).body
        # Carol's block is kept under the new ref: Alice still cannot ask her again.
        await h.reply(alice_dm, ALICE, f"!contacts remove {CAROL}")
        assert "can't send" in (await h.reply(alice_dm, ALICE, f"!contacts add {CAROL}")).body
        [alert] = await plugin(h).store.alerts("old")
        assert alert.recipient == BOB
        assert await plugin(h).store.seal_old_rows() == 0


async def test_zones_kept_by_check_ins_move_to_core_once_and_leave_no_copy(
        tmp_path: Path) -> None:
    """A version-4 database: members' zones sealed in checkins_members go to core's table.

    Times read and shown afterwards are in the moved zone; the check-ins column
    is gone, and core's copy is sealed too. A zone the member already chose in
    core is kept (core is where `!timezone` writes now).
    """
    async with checkins(tmp_path) as h:  # only for the sealer under the harness's passphrase
        sealer = h.runtime.sealer
    path = h.db_path
    path.unlink()
    db = Database(path)
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    await db.migrate("checkins", MIGRATIONS[:4])
    await db.transaction([
        ("INSERT INTO checkins_members (user_id, timezone, pin_hash) VALUES (?, ?, ?)",
         (ALICE, sealer.seal("Asia/Beirut", context=TIMEZONE_CONTEXT), None)),
        ("INSERT INTO checkins_members (user_id, timezone) VALUES (?, ?)",
         (CAROL, sealer.seal("Europe/Paris", context=TIMEZONE_CONTEXT))),
    ])
    await MemberZones(db, sealer).set(CAROL, ZoneInfo("America/Toronto"))
    await db.close()

    async with checkins(tmp_path) as h:
        columns = [row["name"] for row in await h.db.fetchall(
            "SELECT name FROM pragma_table_info('checkins_members')")]
        assert "timezone" not in columns and await h.db.schema_version("checkins") == 5
        assert h.runtime.zones.chosen(ALICE) == ZoneInfo("Asia/Beirut")
        assert h.runtime.zones.chosen(CAROL) == ZoneInfo("America/Toronto")
        assert cells_naming(path, "Beirut") == [] and cells_naming(path, "Paris") == []
        dm = await h.dm(ALICE)
        # A clock time is read at once (the zone is known) and shown in it.
        assert "23:30 (Asia/Beirut)" in (await h.reply(dm, ALICE, "!checkin 23:30")).body
        await h.restart()
        assert h.runtime.zones.chosen(ALICE) == ZoneInfo("Asia/Beirut")
        assert "Asia/Beirut" in (await h.reply(dm, ALICE, "!timezone")).body
