"""What a member looks for, or suggests, stays theirs.

- Lookups (`!find`, `!more`, `!resource <id>`) are answered in the member's DM, never in a shared
  room; typed there, the command is redacted where the bot may (otherwise the member is told how).
- Suggestions are sealed at rest, keep no suggester, go once decided, and expire when nobody does.

Through the real bot over a homeserver in memory (core.testing, as test_resources_curation);
real Synapse: tests/integration/test_resources.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bots.resources import ResourcesPlugin
from bots.resources.store import MIGRATIONS
from bots.resources.suggestions import OPEN_SUGGESTION_DAYS, PRUNE_KIND
from core.discovery import validate_plugin_blocks
from core.storage import Database
from tests.unit.test_resources_curation import (
    ADMIN,
    BOT,
    CURATOR,
    CURATORS_ROOM,
    MEMBER,
    ROOM,
    Harness,
    ids_in,
    make_harness,
    running,
)

NOTE = "I need an asylum lawyer near Izmir, call me on +90 555 123"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running(make_harness(tmp_path)) as harness:
        yield harness


def bodies(h: Harness, room: str) -> list[str]:
    """What the bot said in a room, as members read it."""
    return h.hs.bodies(room)


def private(h: Harness, user: str, since: int = 0) -> list[str]:
    """What the bot told a member in their DM."""
    return [sent.plain for sent in h.bot.private(user)[since:]]


async def typed(h: Harness, sender: str, body: str, room: str = ROOM) -> str:
    """Handle one message; returns its event id."""
    return (await h.send(sender, body, room)).event_id


def redacted(h: Harness) -> list[tuple[str, str]]:
    return [(call.room_id, call.target) for call in h.hs.done("redact")]


def may_redact(h: Harness, room: str = ROOM) -> None:
    """The bot gets a moderator's level in the room, so the power to remove members' messages."""
    h.bot.set_level(room, BOT, 50)


# -- lookups go to the DM ------------------------------------------------------------------------


async def test_find_in_a_group_is_removed_there_and_answered_in_the_dm(h: Harness) -> None:
    entry = await h.seed(title="Asylum Lawyers Izmir", summary="Free asylum counselling")
    may_redact(h)
    event_id = await typed(h, MEMBER, "!find asylum")
    assert (ROOM, event_id) in redacted(h)
    assert bodies(h, ROOM) == []  # not a word in the group, not even a pointer
    moved, answer = private(h, MEMBER)
    assert "I removed it there" in moved
    assert ids_in(answer) == [entry] and "Asylum Lawyers Izmir" in answer


async def test_without_power_to_redact_the_member_is_told_in_the_dm(h: Harness) -> None:
    await h.seed(title="Asylum Lawyers Izmir")
    await typed(h, MEMBER, "!find asylum")
    assert redacted(h) == [] and bodies(h, ROOM) == []
    note, answer = private(h, MEMBER)
    assert "delete it yourself" in note and "Asylum Lawyers Izmir" in answer


async def test_more_and_resource_show_are_answered_in_the_dm(h: Harness) -> None:
    ids = [await h.seed(title=f"Legal aid {n}", url=f"https://legal{n}.example.org")
           for n in range(4)]
    may_redact(h)
    await typed(h, MEMBER, "!find legal aid")
    more = await typed(h, MEMBER, "!more")
    show = await typed(h, MEMBER, f"!resource {ids[0]}")
    assert {(ROOM, more), (ROOM, show)} <= set(redacted(h))
    assert bodies(h, ROOM) == []
    dm = private(h, MEMBER)
    assert any("4–4 of 4" in body for body in dm)
    assert any("legal0.example.org" in body and "verified" in body for body in dm)
    # Typed in the DM itself: answered there, nothing to remove, no note.
    before = len(private(h, MEMBER))
    await typed(h, MEMBER, f"!resource {ids[1]}", room=await h.bot.dm(MEMBER))
    [answer] = private(h, MEMBER, before)
    assert "legal1.example.org" in answer and len(redacted(h)) == 3


async def test_curators_work_stays_in_the_room_it_is_typed_in(h: Harness) -> None:
    entry = await h.seed()
    may_redact(h)
    await typed(h, CURATOR, "!resource stale")
    await typed(h, CURATOR, f"!resource edit {entry} countries=TR,GR")
    assert redacted(h) == []
    assert any("updated" in body for body in bodies(h, ROOM))
    assert private(h, CURATOR) == []


async def test_a_lookup_in_an_unencrypted_room_is_answered_only_by_core_s_notice(
    h: Harness,
) -> None:
    """bot.require_encryption (the default): core answers nothing there, and routes nothing."""
    await h.seed(title="Crisis line", url="https://crisis.example.org")
    h.hs.room(ROOM).encrypted = False
    may_redact(h)
    await typed(h, MEMBER, "!find crisis")
    await typed(h, MEMBER, "!resource 1")
    [notice] = bodies(h, ROOM)
    assert "not end-to-end encrypted" in notice and "Crisis" not in notice
    assert private(h, MEMBER) == []


async def test_without_require_encryption_an_unencrypted_room_gets_nothing_either(
    tmp_path: Path,
) -> None:
    async with running(make_harness(tmp_path, require_encryption=False)) as harness:
        await harness.seed(title="Crisis line", url="https://crisis.example.org")
        harness.hs.room(ROOM).encrypted = False
        await typed(harness, MEMBER, "!find crisis")
        await typed(harness, MEMBER, "!resource 1")
        assert bodies(harness, ROOM) == []
        dm = private(harness, MEMBER)
        assert sum("delete it yourself" in body for body in dm) == 2
        assert sum("Crisis line" in body for body in dm) == 2


async def test_an_unencrypted_dm_is_refused(tmp_path: Path) -> None:
    async with running(make_harness(tmp_path, require_encryption=False)) as harness:
        await harness.seed(title="Crisis line", url="https://crisis.example.org")
        dm = await harness.bot.dm(MEMBER)
        harness.hs.room(dm).encrypted = False
        for command in ("!find crisis", "!more", "!resource 1"):
            answer = await harness.say(MEMBER, command, room=dm)
            assert "not end-to-end encrypted" in answer and "Crisis" not in answer, command


async def test_answer_by_dm_is_retired(h: Harness) -> None:
    assert "answer_by_dm" not in ResourcesPlugin.Settings.model_fields
    # An operator's old config still starts the bot; the key means nothing now.
    assert validate_plugin_blocks({"resources": {"answer_by_dm": True}}, [ResourcesPlugin]) == []
    assert validate_plugin_blocks({"resources": {"answer_by_dmm": True}}, [ResourcesPlugin])
    answer = await h.say(ADMIN, "!config resources answer_by_dm true")
    assert "has no setting answer_by_dm" in answer


# -- suggestions at rest ------------------------------------------------------------------------


def raw_cells(path: Path) -> str:
    """Every text cell of every table, read with sqlite3 (not the bot), plus the raw files."""
    cells: list[str] = []
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                cells += [value for value in row if isinstance(value, str)]
    files = [path, path.with_name(path.name + "-wal")]
    raw = b"".join(file.read_bytes() for file in files if file.exists())
    return "\n".join(cells) + raw.decode("utf-8", "replace")


async def suggest(h: Harness, url: str, note: str) -> str:
    assert "went to the curators" in await h.say(MEMBER, f"!suggest {url} {note}")
    return h.posted().event_id


async def suggestion_rows(h: Harness) -> list[Any]:
    return list(await h.bot.db.fetchall("SELECT * FROM resources_suggestions"))


async def test_a_suggestion_is_sealed_at_rest_and_curators_still_read_it(
    h: Harness,
) -> None:
    post = await suggest(h, "https://izmir-asylum.example.org", f"category:legal country:TR {NOTE}")
    raw = raw_cells(h.bot.db_path)
    assert "asylum lawyer" not in raw and "+90 555 123" not in raw
    assert "izmir-asylum" not in raw  # the link they suggested says as much
    [row] = await suggestion_rows(h)
    assert MEMBER not in raw and row["suggested_by"] == ""
    assert row["note"].startswith("sealed1:") and row["url"].startswith("sealed1:")
    # The curators read it in their room; the bot opens it for the approval's hints.
    shown = h.posted().plain
    assert NOTE in shown and "izmir-asylum.example.org" in shown
    await h.react(CURATOR, post)
    [draft_id] = ids_in(h.posted().plain)[:1]
    draft = await h.entry(draft_id)
    assert draft.url == "https://izmir-asylum.example.org"
    assert [c.value for c in draft.categories] == ["legal"] and draft.countries == ["TR"]


async def test_a_decision_leaves_nothing_of_the_suggestion(h: Harness) -> None:
    approved = await suggest(h, "https://one.example.org", NOTE)
    rejected = await suggest(h, "https://two.example.org", NOTE)
    assert len(await suggestion_rows(h)) == 2
    await h.react(CURATOR, approved)
    assert "draft" in h.posted().plain
    await h.react(CURATOR, rejected, "❌")
    assert "rejected" in h.posted().plain
    assert await suggestion_rows(h) == []
    # Decided stays decided: a late ✅ on the rejected post does nothing.
    assert await h.react(CURATOR, rejected) == []
    assert [r.url for r in await h.plugin.directory.all()] == ["https://one.example.org"]
    # Who approved is in the entry's history, as every curator's change is.
    [change] = await h.plugin.directory.changes()
    assert (change.by, change.action) == (CURATOR, "draft")


async def test_an_approval_of_a_known_link_is_a_decision_too(h: Harness) -> None:
    post = await suggest(h, "https://late.example.org", NOTE)
    await h.seed(title="Late", url="https://late.example.org")
    await h.react(CURATOR, post)
    assert "already entry" in h.posted().plain
    assert await suggestion_rows(h) == []


async def test_open_suggestions_expire_after_the_window(h: Harness) -> None:
    old = await suggest(h, "https://old.example.org", NOTE)
    [job] = await h.bot.scheduler.pending("resources", PRUNE_KIND)
    await h.bot.advance((OPEN_SUGGESTION_DAYS - 1) * 86400)
    await suggest(h, "https://new.example.org", NOTE)
    await h.bot.advance(0)
    assert len(await suggestion_rows(h)) == 2  # nothing is old enough yet
    await h.bot.advance(2 * 86400)
    assert len(await suggestion_rows(h)) == 1
    # A reaction to an expired suggestion does nothing.
    assert await h.react(CURATOR, old) == [] and await h.plugin.directory.all() == []
    assert job.id == (await h.bot.scheduler.pending("resources", PRUNE_KIND))[0].id


async def test_suggestions_stored_in_the_clear_are_sealed_at_start(tmp_path: Path) -> None:
    """Rows of an earlier version: decided ones go (migration 3), open ones are sealed."""
    bot = make_harness(tmp_path)
    db = Database(bot.db_path)
    await db.open()
    await db.migrate("resources", MIGRATIONS[:2])
    for event_id, state in (("$open", "open"), ("$done", "approved")):
        await db.execute(
            "INSERT INTO resources_suggestions (event_id, curators_room, url, note, "
            "suggested_by, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event_id, CURATORS_ROOM, f"https://{state}.example.org", f"{state}: {NOTE}",
             MEMBER, state, 0.0))
    await db.close()
    async with running(bot) as harness:
        [row] = await suggestion_rows(harness)
        assert row["event_id"] == "$open" and row["suggested_by"] == ""
        assert NOTE not in "\n".join(str(v) for v in tuple(row))
        # Sealed, it still opens: the curator's approval works.
        await harness.react(CURATOR, "$open")
        assert [r.url for r in await harness.plugin.directory.all()] == ["https://open.example.org"]
