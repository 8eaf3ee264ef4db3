"""Who may change the directory, and what members see after a change (the directory cannot be poisoned).

Through the real bot (core.testing.PluginHarness: dispatcher, database, authority, DMs) over a
homeserver in memory. Curators are a network role (config `network.curators`, the curators room at
`network.role_level`, organizers); a room's admins and moderators are not curators. Real Synapse:
tests/integration/test_resources.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bots.admin import AdminPlugin
from bots.resources import ResourcesPlugin
from bots.resources.model import Resource
from bots.resources.store import MIGRATIONS
from core.clock import ManualClock
from core.network import NetworkRole
from core.storage import Database, Migration
from core.testing import Answers, MemoryHomeserver, PluginHarness, Sent

BOT = "@bot:x"
ROOM = "!room:x"  # a room of the network; its admin is not a curator
CURATORS_ROOM = "!curators:x"
ADMIN = "@admin:x"  # admin (100) of ROOM
MODERATOR = "@mod:x"  # moderator (50) of ROOM
MEMBER = "@member:x"
NAMED = "@named:x"  # a curator by config (network.curators)
CURATOR = "@cur:x"  # a curator by the curators room (level 50 there)
LURKER = "@lurker:x"  # a plain member (level 0) of the curators room: not a curator
ORGANIZER = "@org:x"
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC).timestamp()
TODAY = "2026-11-24"
NETWORK = {"rooms": [ROOM], "curators": [NAMED], "curators_room": CURATORS_ROOM}


@dataclass
class Harness:
    """The resources plugin in a running bot, with the directory's own helpers."""

    bot: PluginHarness

    @property
    def hs(self) -> MemoryHomeserver:
        return self.bot.homeserver

    @property
    def plugin(self) -> ResourcesPlugin:
        return self.bot.plugin(ResourcesPlugin)

    async def send(self, sender: str, body: str, room: str = ROOM) -> Answers:
        return await self.bot.send(room, sender, body)

    async def say(self, sender: str, body: str, room: str = ROOM) -> str:
        """Handle one message; returns the bot's last answer, as the member reads it.

        The answer is looked for in that room and in the sender's DM: lookups (`!find`,
        `!more`, `!resource <id>`) are answered there (tests/unit/test_resources_privacy.py).
        """
        answers = [sent for sent in await self.send(sender, body, room)
                   if sent.is_message and (sent.room_id == room
                                           or self.bot.dms.user_of(sent.room_id) == sender)]
        assert answers, f"no answer to {body!r}"
        return answers[-1].plain

    async def react(self, sender: str, event_id: str, key: str = "✅") -> Answers:
        return await self.bot.react(CURATORS_ROOM, sender, event_id, key)

    def posted(self, room: str = CURATORS_ROOM) -> Sent:
        """The bot's last message in a room (the curators' by default)."""
        return self.hs.messages(room)[-1]

    async def seed(self, **fields: Any) -> int:
        data = {"title": "Rainbow Aid", "url": "https://rainbow.example.org",
                "summary": "Lawyers for queer refugees", "categories": ["legal"],
                "countries": ["TR"], "languages": ["en"], "verified_at": dt.date(2026, 10, 1),
                "verified_by": NAMED, **fields}
        return await self.plugin.directory.add(Resource.model_validate(data), NOW)

    async def entry(self, resource_id: int) -> Resource:
        found = await self.plugin.directory.get(resource_id)
        assert found is not None
        return found


def make_harness(path: Path, network: Mapping[str, Any] | None = None, *,
                 require_encryption: bool = True,
                 resources: Mapping[str, Any] | None = None) -> PluginHarness:
    """The bot (not started): `running` starts it; a test may prepare its database first."""
    hs = MemoryHomeserver(BOT)
    hs.add_room(ROOM, {ADMIN: 100, MODERATOR: 50, MEMBER: 0, NAMED: 0, CURATOR: 0,
                       LURKER: 0, ORGANIZER: 0})
    hs.add_room(CURATORS_ROOM, {CURATOR: 50, LURKER: 0})
    config = {"bot": {"roles": {"organizers": [ORGANIZER]}, "rate_limit": {"commands": 1000},
                      "require_encryption": require_encryption},
              "network": dict(network if network is not None else NETWORK)}
    return PluginHarness(AdminPlugin, ResourcesPlugin, data_dir=path, config=config,
                         plugins={"resources": dict(resources or {})}, homeserver=hs,
                         clock=ManualClock(NOW), bot_user_id=BOT)


@asynccontextmanager
async def running(bot: PluginHarness) -> AsyncIterator[Harness]:
    async with bot:
        yield Harness(bot)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running(make_harness(tmp_path)) as harness:
        yield harness


def ids_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"#(\d+)", text)]


# -- 1. curators are a network role ------------------------------------------------------------


async def test_room_admin_and_moderator_cannot_add_edit_verify_or_remove(h: Harness) -> None:
    entry = await h.seed()
    before = await h.entry(entry)
    for sender in (ADMIN, MODERATOR, MEMBER, LURKER):
        for command in (
            "!resource add title=Fake url=https://fake.example.org categories=legal countries=TR "
            "languages=en",
            f"!resource edit {entry} url=https://fake.example.org",
            f"!resource verify {entry}",
            f"!resource remove {entry}",
            "!resource stale",
            "!resource changes",
            "!resource add",
        ):
            answer = await h.say(sender, command)
            assert "for the network's directory curators only" in answer, (sender, command, answer)
    assert await h.entry(entry) == before
    assert [r.id for r in await h.plugin.directory.all()] == [entry]
    assert await h.plugin.directory.changes() == []
    assert h.plugin._guided == {}


async def test_a_room_admin_cannot_make_themselves_a_curator(h: Harness) -> None:
    assert "curators" not in ResourcesPlugin.Settings.model_fields
    assert "curators_room" not in ResourcesPlugin.Settings.model_fields
    answer = await h.say(ADMIN, f"!config resources curators [{ADMIN}]")
    assert "has no setting curators" in answer
    refused = await h.say(ADMIN, "!resource edit 1 url=https://fake.example.org")
    assert "for the network's directory curators only" in refused


@pytest.mark.parametrize("curator", [NAMED, CURATOR, ORGANIZER])
async def test_network_curators_curate_from_any_room(h: Harness, curator: str) -> None:
    added = await h.say(
        curator, '!resource add title="Queer Clinic" url=https://clinic.example.org '
        "categories=health countries=LB languages=ar")
    [new_id] = ids_in(added)
    shown = await h.say(MEMBER, f"!resource {new_id}")
    assert f"verified {TODAY} by {curator}" in shown
    assert "updated" in await h.say(curator, f"!resource edit {new_id} countries=LB,JO")


async def test_guided_add_by_a_room_admin_is_refused(h: Harness) -> None:
    assert "for the network's directory curators only" in await h.say(ADMIN, "!resource add")
    assert "Name of the organization" in await h.say(NAMED, "!resource add")


# -- 2. an approved suggestion is an unverified draft ------------------------------------------


async def suggest(h: Harness, url: str, note: str) -> str:
    assert "went to the curators" in await h.say(MEMBER, f"!suggest {url} {note}")
    post = h.posted()
    assert url in post.plain
    return post.event_id


async def test_approved_suggestion_is_an_unverified_draft_out_of_search(h: Harness) -> None:
    note = "Verified legal aid Istanbul, call +90 555 000"
    post = await suggest(h, "https://fake-aid.example.org", note)
    # A plain member of the curators room: ignored, nothing said.
    assert await h.react(LURKER, post) == []
    assert await h.plugin.directory.all() == []
    await h.react(CURATOR, post)
    approved = h.posted().plain
    assert "draft" in approved
    [draft_id] = ids_in(approved)[:1]
    draft = await h.entry(draft_id)
    assert draft.status == "draft"
    assert draft.verified_at is None and draft.verified_by is None
    assert draft.title == "fake-aid.example.org" and note not in draft.title
    assert "+90" not in draft.summary
    # Members never see it: not in search, not by number, not counted.
    assert "Nothing found" in await h.say(MEMBER, "!find legal aid istanbul")
    assert "Nothing found" in await h.say(MEMBER, "!find fake-aid")
    shown = await h.say(MEMBER, f"!resource {draft_id}")
    assert "waiting for the curators" in shown and "fake-aid.example.org" not in shown
    assert "(TR)" not in await h.say(MEMBER, "!countries")
    # A curator sees it marked as a draft, and it is on the list of entries to check.
    curator_view = await h.say(CURATOR, f"!resource {draft_id}")
    assert "draft" in curator_view and "verified 20" not in curator_view
    assert draft_id in ids_in(await h.say(CURATOR, "!resource stale"))
    # It cannot be made active around verification, nor verified while still unnamed.
    for status in ("active", "stale"):
        assert "only with !resource verify" in await h.say(
            CURATOR, f"!resource edit {draft_id} status={status}")
    assert "still named after its website" in await h.say(CURATOR, f"!resource verify {draft_id}")
    assert (await h.entry(draft_id)).status == "draft"
    await h.say(CURATOR, f'!resource edit {draft_id} title="Istanbul Legal Aid" categories=legal')
    assert "Nothing found" in await h.say(MEMBER, "!find istanbul legal aid")
    assert "verified today" in await h.say(NAMED, f"!resource verify {draft_id}")
    found = await h.say(MEMBER, "!find istanbul legal aid")
    assert ids_in(found)[0] == draft_id
    assert f"verified {TODAY} by {NAMED}" in found


async def test_suggestions_go_to_the_network_curators_room(tmp_path: Path) -> None:
    async with running(make_harness(tmp_path, {"curators": [NAMED]})) as harness:
        answer = await harness.say(MEMBER, "!suggest https://x.example.org hi")
        assert "network.curators_room" in answer
        # An organizer points the role at a room (stored; wins over config).
        await harness.bot.runtime.network.set_role_room(NetworkRole.CURATOR, CURATORS_ROOM)
        post = await suggest(harness, "https://x.example.org", "hi")
        # The admin of another room, a plain member of the curators room: not a curator.
        await harness.bot.join(CURATORS_ROOM, ADMIN)
        assert await harness.react(ADMIN, post) == []
        assert await harness.plugin.directory.all() == []
        await harness.bot.join(CURATORS_ROOM, NAMED)
        await harness.react(NAMED, post, "❌\ufe0f")
        assert "rejected" in harness.posted().plain


# -- 3. an edit of what an entry points at clears its verification -------------------------------


@pytest.mark.parametrize("change", [
    "url=https://fake.example.org", "contact=+90-555-000", 'title="Rainbow Aid (new number)"',
    'title.ar="مساعدة"', 'summary="Call +90 555 000 now"',
])
async def test_edit_of_link_contact_or_name_shows_unverified_to_members(
    h: Harness, change: str
) -> None:
    entry = await h.seed()
    assert f"verified 2026-10-01 by {NAMED}" in await h.say(MEMBER, f"!resource {entry}")
    answer = await h.say(CURATOR, f"!resource edit {entry} {change}")
    assert "unverified until a curator checks it" in answer
    edited = await h.entry(entry)
    assert edited.verified_at is None and edited.verified_by is None
    shown = await h.say(MEMBER, f"!resource {entry}")
    assert "unverified" in shown and "verified 2026" not in shown
    found = await h.say(MEMBER, "!find rainbow")
    assert ids_in(found) == [entry] and "unverified" in found and f"by {NAMED}" not in found
    field_name = change.split("=", 1)[0].split(".", 1)[0]
    field_name = "translations" if field_name == "title" and "title.ar" in change else field_name
    [last] = await h.plugin.directory.changes(resource_id=entry, limit=1)
    assert (last.by, last.action, last.fields) == (CURATOR, "edit", (field_name,))
    listing = await h.say(NAMED, "!resource changes")
    assert f"#{entry} edited" in listing and CURATOR in listing and field_name in listing
    assert "verified today" in await h.say(NAMED, f"!resource verify {entry}")
    verified = await h.entry(entry)
    assert (verified.verified_at, verified.verified_by) == (dt.date(2026, 11, 24), NAMED)
    assert f"verified {TODAY} by {NAMED}" in await h.say(MEMBER, f"!resource {entry}")


async def test_edit_of_where_it_serves_keeps_verification(h: Harness) -> None:
    entry = await h.seed()
    assert "updated" in await h.say(CURATOR, f"!resource edit {entry} countries=TR,GR")
    assert f"verified 2026-10-01 by {NAMED}" in await h.say(MEMBER, f"!resource {entry}")
    [last] = await h.plugin.directory.changes(resource_id=entry)
    assert last.fields == ("countries",)
    assert "nothing changed" in await h.say(CURATOR, f"!resource edit {entry} countries=TR,GR")


async def test_curators_see_the_last_change_and_its_author(h: Harness) -> None:
    entry = await h.seed()
    await h.say(CURATOR, f"!resource edit {entry} url=https://rainbow.example.org/new")
    curator_view = await h.say(NAMED, f"!resource {entry}")
    assert f"edited 2026-11-24 12:00 by {CURATOR}: url" in curator_view
    member_view = await h.say(MEMBER, f"!resource {entry}")
    assert CURATOR not in member_view  # who edited is for curators
    await h.say(NAMED, f"!resource remove {entry}")
    actions = [c.action for c in await h.plugin.directory.changes(resource_id=entry)]
    assert actions == ["remove", "edit"]


async def test_migration_keeps_entries_searchable(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    await db.open()
    await db.migrate("resources", [MIGRATIONS[0]])
    from bots.resources.store import Directory

    old = Directory(db)
    resource = Resource.model_validate({
        "title": "Old shelter", "url": "https://old.example.org", "categories": ["housing"],
        "countries": ["global"], "languages": ["en"]})
    await db.transaction(old.write_statements(resource, NOW))
    await db.migrate("resources", MIGRATIONS)
    assert isinstance(MIGRATIONS[1], Migration) and MIGRATIONS[1].version == 2
    from bots.resources.query import parse_query
    from bots.resources.search import search

    result = await search(db, parse_query("shelter"), now=NOW, stale_after_days=365)
    assert [hit.resource.title for hit in result.hits] == ["Old shelter"]
    [row] = await old.all()
    assert row.id is not None
    await old.save(row.model_copy(update={"status": "draft"}), NOW)
    assert (await search(db, parse_query("shelter"), now=NOW, stale_after_days=365)).hits == []
    await old.save(row, NOW)
    assert len((await search(db, parse_query("shelter"), now=NOW, stale_after_days=365)).hits) == 1
    await db.execute("INSERT INTO resources_fts (resources_fts) VALUES ('integrity-check')")
    await db.close()


async def test_an_import_is_recorded_in_the_history(h: Harness, tmp_path: Path) -> None:
    from bots.resources.importer import import_file

    entry = await h.seed()
    path = tmp_path / "entries.yaml"
    path.write_text(
        f"- id: {entry}\n  title: Rainbow Aid\n  url: https://rainbow.example.org/v2\n"
        "  categories: legal\n  countries: TR\n  languages: en\n"
        "- title: Crisis line\n  url: https://crisis.example.org\n  categories: emergency\n"
        "  countries: global\n  languages: en\n", encoding="utf-8")
    assert await import_file(h.plugin.directory, path, NOW + 60) == (1, 1)
    recorded = await h.plugin.directory.changes()
    assert sorted((c.resource_id, c.action, c.by) for c in recorded) == [
        (entry, "import", "import"), (entry + 1, "import", "import")]
