"""Onboarding data at rest: pronouns sealed in the file, shown in clear to the member; all gone on leaving.

The file is read the way someone holding a seized disk would: with the
`sqlite3` module (every text cell of every table) and as raw bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.onboarding.store import PRONOUNS_CONTEXT
from core.sealed import PREFIX, Sealer, SealError
from core.testing.disk import raw_bytes, raw_cells
from tests.unit.test_onboarding_plugin import (
    INTROS,
    NEWCOMER,
    ORGANIZER,
    ORGANIZERS_ROOM,
    ROOM,
    Harness,
    close,
    make_harness,
)

PRONOUNS = "xe/xem, Karam"


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    try:
        yield h
    finally:
        await close(h)


async def test_pronouns_are_sealed_at_rest_and_shown_to_the_member(harness: Harness) -> None:
    h = harness
    dm = await h.join(ROOM, NEWCOMER)
    assert PRONOUNS in await h.say(dm, NEWCOMER, f"!pronouns {PRONOUNS}")
    cells = raw_cells(h.db_file)
    assert not any("Karam" in cell or "xe/xem" in cell for cell in cells)
    assert PRONOUNS.encode() not in raw_bytes(h.db_file)
    with sqlite3.connect(h.db_file) as connection:
        [(stored,)] = connection.execute(
            "SELECT pronouns FROM onboarding_profiles WHERE user_id = ?", (NEWCOMER,)).fetchall()
    assert stored.startswith(PREFIX)
    with_another_key = Sealer("another passphrase", "@bot:x")
    with pytest.raises(SealError):  # not without the store passphrase
        with_another_key.open(stored, context=PRONOUNS_CONTEXT)
    # The member still reads them, opened.
    assert PRONOUNS in await h.say(dm, NEWCOMER, "!pronouns")
    assert "removed" in await h.say(dm, NEWCOMER, "!pronouns clear")
    assert await h.runtime.db.fetchall("SELECT * FROM onboarding_profiles") == []


async def test_pronouns_typed_in_a_shared_room_are_removed_there_and_answered_privately(
        harness: Harness) -> None:
    h = harness
    dm = await h.join(ROOM, NEWCOMER)
    in_room = len(h.hs.messages(ROOM))
    answer = await h.say(ROOM, NEWCOMER, f"!pronouns {PRONOUNS}", where=dm)
    assert PRONOUNS in answer
    assert any(call.room_id == ROOM for call in h.hs.done("redact"))
    assert not any(PRONOUNS in s.content["body"] for s in h.hs.messages(ROOM)[in_room:])


async def test_old_unsealed_pronouns_still_read_and_are_sealed_on_start(harness: Harness) -> None:
    h = harness
    dm = await h.join(ROOM, NEWCOMER)
    # A row as the plugin wrote it before sealing existed.
    await h.runtime.db.execute(
        "INSERT INTO onboarding_profiles (user_id, pronouns) VALUES (?, ?)", (NEWCOMER, PRONOUNS))
    assert PRONOUNS in await h.say(dm, NEWCOMER, "!pronouns")
    assert await h.plugin.store.seal_old_rows() == 1
    assert await h.plugin.store.seal_old_rows() == 0
    assert not any("Karam" in cell for cell in raw_cells(h.db_file))
    assert PRONOUNS in await h.say(dm, NEWCOMER, "!pronouns")


async def test_leaving_the_network_deletes_everything_onboarding_held(harness: Harness) -> None:
    h = harness
    await h.say(ORGANIZERS_ROOM, ORGANIZER,
                f"!config --network onboarding introductions_room {INTROS}")
    h.bot.room("!second:x", ["@regular:x"], name="Second")  # a group room, not a DM once joined
    await h.runtime.settings.set_enabled("!second:x", type(h.plugin), True)
    dm = await h.join(ROOM, NEWCOMER)
    await h.join("!second:x", NEWCOMER)
    await h.say(dm, NEWCOMER, f"!pronouns {PRONOUNS}")
    await h.say(dm, NEWCOMER, "!intro")  # a draft in memory
    assert NEWCOMER in h.plugin.intros.drafts
    await h.leave(ROOM, NEWCOMER)
    # Still in another room: nothing is forgotten yet.
    assert await h.plugin.store.pronouns(NEWCOMER) == PRONOUNS
    await h.leave("!second:x", NEWCOMER)
    for table in ("onboarding_members", "onboarding_profiles", "onboarding_warnings"):
        rows = await h.runtime.db.fetchall(f"SELECT * FROM {table}")
        assert not any(NEWCOMER in [str(v) for v in tuple(row)] for row in rows), table
    assert NEWCOMER not in h.plugin.intros.drafts
    jobs = await h.runtime.db.fetchall(
        "SELECT payload FROM core_jobs WHERE owner = 'onboarding' AND state = 'pending'")
    assert not any(NEWCOMER in row["payload"] for row in jobs)
    # Not even sealed: no onboarding row holds a sealed value any more.
    assert not any(cell.startswith(PREFIX) for cell in await onboarding_cells(h))


async def onboarding_cells(h: Harness) -> list[str]:
    cells: list[str] = []
    for table in ("onboarding_members", "onboarding_profiles", "onboarding_warnings"):
        for row in await h.runtime.db.fetchall(f"SELECT * FROM {table}"):
            cells += [v for v in tuple(row) if isinstance(v, str)]
    return cells


def test_raw_reader_sees_the_file(tmp_path: Path) -> None:
    """The helpers read what is really on disk (a guard against a vacuous test)."""
    path = tmp_path / "plain.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (x TEXT)")
        connection.execute("INSERT INTO t VALUES ('visible text')")
    assert "visible text" in raw_cells(path)
    assert b"visible text" in raw_bytes(path)
