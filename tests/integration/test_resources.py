"""The resource directory through a real Synapse and real E2EE members.

Curators are a network role: tests name them in the bot's config (`network.curators`) or point the
network's curators room at a room; the room admin who created a room is not a curator by that.
Lookups (`!find`, `!more`, `!resource <id>`) are answered in the member's DM: in a room the member
shares only with the bot (a DM to the bot) as replies, from a shared room by `lookup`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import sqlite3
from typing import Any

import pytest

from bots.admin import AdminPlugin
from bots.resources import ResourcesPlugin
from bots.resources.model import Resource
from core.cli import NOISY_LOGGERS
from core.matrix.member import Member, Received
from core.network import NetworkRole
from tests.integration.conftest import RunningBot, room_with_bot

pytestmark = pytest.mark.integration

PLUGINS = [AdminPlugin, ResourcesPlugin]


def plugin_of(bot: RunningBot) -> ResourcesPlugin:
    assert bot.bot is not None
    plugin = bot.bot.runtime.plugins["resources"]
    assert isinstance(plugin, ResourcesPlugin)
    return plugin


async def seed(bot: RunningBot, *entries: dict[str, Any]) -> list[int]:
    plugin = plugin_of(bot)
    today = dt.datetime.fromtimestamp(plugin.runtime.clock.now(), dt.UTC).date()
    ids = []
    for fields in entries:
        data = {"categories": ["community"], "countries": ["global"], "languages": ["en"],
                "verified_at": today, "verified_by": "@curator:localhost", **fields}
        ids.append(await plugin.directory.add(Resource.model_validate(data), plugin.runtime.clock.now()))
    return ids


def name_curators(bot: RunningBot, *users: str) -> None:
    """Curators by the bot's config (`network: {curators: [...]}`), as an operator sets them."""
    network = bot.config.network.model_copy(
        update={"curators": [*bot.config.network.curators, *users]})
    bot.config = bot.config.model_copy(update={"network": network})
    assert bot.bot is not None
    bot.bot.runtime.network.config = network


async def point_curators_room(bot: RunningBot, room: str) -> None:
    """The network's curators room (an organizer's stored choice): its moderators are curators."""
    assert bot.bot is not None
    await bot.bot.runtime.network.set_role_room(NetworkRole.CURATOR, room)


def entry_ids(body: str) -> list[int]:
    return [int(found) for found in re.findall(r"#(\d+) ", body)]


async def entries_count(bot: RunningBot) -> int:
    row = await plugin_of(bot).runtime.db.fetchone("SELECT COUNT(*) AS n FROM resources_entries")
    assert row is not None
    return int(row["n"])


MOVED_NOTE = "You wrote a private command"


async def lookup(member: Member, group: str, body: str, timeout: float = 30) -> Received:  # noqa: ASYNC109
    """Type a lookup in a shared room; its answer, which arrives in the member's DM.

    Not a reply (the command is in another room), and after core's note that the
    command was moved; nothing comes back in the group.
    """
    seen = {m.event_id for m in member.received}
    await member.send(group, body)
    return await member.wait_for(
        lambda m: m.event_id not in seen and m.room_id != group and m.sender != member.user_id
        and not m.body.startswith(MOVED_NOTE), timeout)


def answered_in(member: Member, room: str, bot: RunningBot, text: str) -> bool:
    """Did the bot say anything containing `text` in `room`, as `member` saw it?"""
    return any(text in m.body for m in member.received if m.room_id == room and m.sender == bot.user_id)


async def invite(owner: Member, guest: Member, room: str) -> None:
    await owner.client.room_invite(room, guest.user_id)
    await guest.wait_member(room, guest.user_id)
    await owner.wait_member(room, guest.user_id)


async def test_arabic_search_with_and_without_diacritics(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    member = await make_member()
    room = await room_with_bot(member, bot)
    [arabic, _other] = await seed(
        bot,
        {"title": "Mental health line", "url": "https://mh.example.org", "summary": "Support by phone",
         "categories": ["mental_health"], "languages": ["ar", "en"],
         "translations": {"ar": {"title": "خط الصحة النفسية", "summary": "دعم نفسي بالهاتف"}}},
        {"title": "Housing desk", "url": "https://housing.example.org", "categories": ["housing"]},
    )
    plain = await member.ask(room, "!find صحة نفسية")
    marked = await member.ask(room, "!find صِحَّة نَفْسِيَّة")
    assert entry_ids(plain.body) == entry_ids(marked.body) == [arabic]
    assert "Mental health line" in plain.body  # the member reads English
    await member.ask(room, "!language ar")
    in_arabic = await member.ask(room, "!find mental")
    assert "خط الصحة النفسية" in in_arabic.body
    assert "دعم نفسي بالهاتف" in in_arabic.body


async def test_filters_paging_and_typos(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    member = await make_member()
    room = await room_with_bot(member, bot)
    turkish = await seed(bot, *(
        {"title": f"Legal aid {n}", "url": f"https://legal{n}.example.org", "categories": ["legal"],
         "countries": ["TR"]} for n in range(5)
    ))
    german = await seed(bot, {"title": "Legal aid Berlin", "url": "https://berlin.example.org",
                              "categories": ["legal"], "countries": ["DE"]})
    first = await member.ask(room, "!find legal aid country:TR")
    assert "1–3 of 5" in first.body
    assert set(entry_ids(first.body)) <= set(turkish)
    second = await member.ask(room, "!more")
    assert "4–5 of 5" in second.body
    assert set(entry_ids(first.body) + entry_ids(second.body)) == set(turkish)
    done = await member.ask(room, "!more")
    assert "No more results" in done.body
    berlin = await member.ask(room, "!find category:legal country:de")
    assert entry_ids(berlin.body) == german
    typo = await member.ask(room, "!find berlni")
    assert "closest" in typo.body and entry_ids(typo.body) == german
    unknown = await member.ask(room, "!find legal country:Turky")
    assert "Did you mean" in unknown.body and "TR" in unknown.body
    wrong_category = await member.ask(room, "!find x category:helth")
    assert "health" in wrong_category.body


async def test_fts_syntax_in_a_query_gets_an_answer(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    member = await make_member()
    room = await room_with_bot(member, bot)
    await seed(bot, {"title": "Crisis line", "url": "https://crisis.example.org"})
    for text in ['!find "unclosed NEAR(crisis *', "!find crisis) OR (", "!find ***", "!find"]:
        reply = await member.ask(room, text)
        assert "something went wrong" not in reply.body
    empty = await member.ask(room, "!find")
    assert "What are you looking for" in empty.body
    found = await member.ask(room, '!find "crisis" AND NOT')
    assert "Crisis line" in found.body


async def test_curators_add_edit_verify_remove(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    guest = await make_member()
    room = await room_with_bot(owner, bot)
    await invite(owner, guest, room)
    name_curators(bot, owner.user_id)
    refused = await guest.ask(room, "!resource add title=X url=https://x.example.org")
    assert "for the network's directory curators only" in refused.body
    bad = await owner.ask(
        room, '!resource add title="Rainbow Aid" url=notaurl categories=legal countries=TR languages=en'
    )
    assert "Nothing was saved" in bad.body and "https://" in bad.body
    wrong = await owner.ask(
        room, '!resource add title="Rainbow Aid" url=https://rainbow.example.org categories=lgal '
        "countries=TR languages=en"
    )
    assert "did you mean legal" in wrong.body
    assert await entries_count(bot) == 0
    added = await owner.ask(
        room, '!resource add title="Rainbow Aid" url=https://rainbow.example.org categories=legal '
        'countries=TR languages=en,ar summary="Lawyers for queer refugees" title.ar="مساعدة قوس قزح"'
    )
    [new_id] = [int(n) for n in re.findall(r"#(\d+)", added.body)]
    duplicate = await owner.ask(
        room, "!resource add title=Again url=https://www.rainbow.example.org/ categories=legal "
        "countries=TR languages=en"
    )
    assert f"#{new_id}" in duplicate.body and await entries_count(bot) == 1
    found = await lookup(guest, room, "!find queer refugees")
    assert entry_ids(found.body) == [new_id] and found.encrypted
    edited = await owner.ask(room, f"!resource edit {new_id} countries=TR,GR")
    assert "updated" in edited.body
    greece = await lookup(guest, room, "!find lawyers country:GR")
    assert entry_ids(greece.body) == [new_id]
    shown = await lookup(guest, room, f"!resource {new_id}")
    assert "rainbow.example.org" in shown.body and f"by {owner.user_id}" in plain(shown.body)
    moved = await owner.ask(room, f"!resource edit {new_id} url=https://rainbow.example.org/help")
    assert "unverified until a curator checks it" in moved.body
    unverified = await lookup(guest, room, f"!resource {new_id}")
    assert "unverified" in unverified.body and f"by {owner.user_id}" not in plain(unverified.body)
    verified = await owner.ask(room, f"!resource verify {new_id}")
    assert "verified today" in verified.body
    again = await lookup(guest, room, "!find queer refugees")
    assert "/help" in again.body and f"by {owner.user_id}" in plain(again.body)
    changes = await owner.ask(room, "!resource changes")
    assert f"#{new_id} edited" in changes.body and "url" in changes.body
    removed = await owner.ask(room, f"!resource remove {new_id}")
    assert "removed" in removed.body
    gone = await lookup(guest, room, "!find queer refugees")
    assert "Nothing found" in gone.body
    # What the guest looked up was answered only in their DM, never in the shared room.
    assert not answered_in(guest, room, bot, "rainbow.example.org")
    assert not answered_in(owner, room, bot, "Nothing found")


async def test_stale_entries_marked_and_listed(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    room = await room_with_bot(owner, bot)
    name_curators(bot, owner.user_id)
    old = dt.date(2020, 1, 1)
    [stale_id, _fresh] = await seed(
        bot,
        {"title": "Old shelter", "url": "https://old.example.org", "verified_at": old},
        {"title": "New shelter", "url": "https://new.example.org"},
    )
    found = await owner.ask(room, "!find shelter")
    assert "not verified since 2020-01-01" in found.body
    listing = await owner.ask(room, "!resource stale")
    assert entry_ids(listing.body) == [stale_id]
    await owner.ask(room, "!config resources stale_after_days 3000")
    assert "Every entry was verified" in (await owner.ask(room, "!resource stale")).body


async def test_guided_add(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    room = await room_with_bot(owner, bot)
    name_curators(bot, owner.user_id)
    assert "Name of the organization" in (await owner.ask(room, "!resource add")).body
    assert "website" in (await owner.ask(room, "Queer Health Clinic")).body
    again = await owner.ask(room, "clinic.example")
    assert "try again" in again.body
    await owner.ask(room, "https://clinic.example.org")
    await owner.ask(room, "health")
    await owner.ask(room, "LB")
    await owner.ask(room, "ar, en")
    await owner.ask(room, "Free, confidential care")
    await owner.ask(room, "skip")
    await owner.ask(room, "عيادة صحية")
    done = await owner.ask(room, "skip")
    assert "Added entry" in done.body
    found = await owner.ask(room, "!find confidential care country:LB")
    assert "Queer Health Clinic" in found.body


async def test_suggestion_approved_by_reaction_is_a_draft_until_verified(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    guest = await make_member()
    room = await room_with_bot(owner, bot)
    curators = await room_with_bot(owner, bot)
    await invite(owner, guest, room)
    await point_curators_room(bot, curators)  # the owner is its admin: a curator
    thanks = await guest.ask(room, "!suggest https://izmir-queer.example.org Queer refugee support in Izmir")
    assert "went to the curators" in thanks.body
    post = await owner.wait_for(
        lambda m: m.room_id == curators and "izmir-queer.example.org" in m.body, 30
    )
    # The curators read the note in their room; the bot's database file does not show it.
    assert "Queer refugee support in Izmir" in post.body
    assert bot.bot is not None
    with sqlite3.connect(bot.bot.db.path) as raw:
        cells = {table: [str(value) for row in raw.execute(f'SELECT * FROM "{table}"')
                         for value in row]
                 for (table,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not [c for values in cells.values() for c in values if "Queer refugee" in c]
    # Nor who suggested it (the plugin keeps no suggester).
    assert not [c for table, values in cells.items() if table.startswith("resources_")
                for c in values if guest.user_id in c]
    # A reaction from someone who is not a curator there is ignored: the guest is not in that room,
    # and unknown reactions do nothing.
    await owner.client.room_send(
        curators, "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": post.event_id, "key": "✅"}},
        ignore_unverified_devices=True,
    )
    approved = await owner.wait_for(lambda m: m.room_id == curators and "Saved as draft" in m.body, 30)
    new_id = int(re.findall(r"#(\d+)", approved.body)[0])
    # Unvetted: not verified, not found, and not shown to members, whatever the note said.
    draft = await plugin_of(bot).directory.get(new_id)
    assert draft is not None and draft.status == "draft" and draft.verified_by is None
    assert "Queer refugee" not in draft.title
    assert "Nothing found" in (await lookup(guest, room, "!find queer refugee izmir")).body
    hidden = await lookup(guest, room, f"!resource {new_id}")
    assert "waiting for the curators" in hidden.body and "izmir-queer" not in hidden.body
    await owner.ask(curators, f'!resource edit {new_id} title="Izmir Queer Refugee Support" '
                              'summary="Support for queer refugees in Izmir"')
    assert "verified today" in (await owner.ask(curators, f"!resource verify {new_id}")).body
    found = await lookup(guest, room, "!find queer refugee izmir")
    assert entry_ids(found.body)[0] == new_id
    assert "izmir-queer.example.org" in found.body and f"by {owner.user_id}" in plain(found.body)


async def test_lookup_in_an_unencrypted_room_is_answered_only_in_the_encrypted_dm(
        make_bot, make_member) -> None:
    """Without bot.require_encryption (with it, core answers nothing there but its notice)."""
    bot = await make_bot(plugins=PLUGINS, require_encryption=False)
    member = await make_member()
    room = await room_with_bot(member, bot, encrypted=False)
    await seed(bot, {"title": "Crisis line", "url": "https://crisis.example.org"})
    answer = await lookup(member, room, "!find crisis")
    assert "Crisis line" in answer.body and answer.encrypted
    note = await member.wait_for(lambda m: m.room_id == answer.room_id and MOVED_NOTE in m.body, 30)
    assert "delete it yourself" in note.body  # the bot has no power to redact in that room
    shown = await lookup(member, room, "!resource 1")
    assert "crisis.example.org" in shown.body and shown.room_id == answer.room_id
    await member.ask(room, "!categories")  # not a lookup: answered in the room (a later event)
    assert not answered_in(member, room, bot, "Crisis line")
    assert not answered_in(member, room, bot, "crisis.example.org")
    setting = await member.ask(room, "!config resources answer_by_dm true")
    assert "has no setting answer_by_dm" in plain(setting.body)


async def test_find_in_a_group_is_removed_there_and_answered_in_the_dm(make_bot, make_member) -> None:
    """`!find asylum` in a group tells nobody there what the member needs."""
    bot = await make_bot(plugins=PLUGINS)
    admin = await make_member()
    member = await make_member()
    group = await room_with_bot(admin, bot)
    await invite(admin, member, group)
    await seed(bot, {"title": "Asylum Lawyers Izmir", "url": "https://asylum.example.org",
                     "categories": ["legal"]})
    levels = await admin.client.room_get_state_event(group, "m.room.power_levels")
    content = dict(levels.content)  # type: ignore[union-attr]
    content["users"] = {**content.get("users", {}), bot.user_id: 50}
    await admin.client.room_put_state(group, "m.room.power_levels", content)

    async def bot_may_redact() -> None:
        while bot.bot is not None and bot.bot.connection.power_level(group, bot.user_id) < 50:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(bot_may_redact(), 30)
    seen = {m.event_id for m in member.received}
    typed = await member.send(group, "!find asylum")
    answer = await member.wait_for(
        lambda m: m.event_id not in seen and "Asylum Lawyers Izmir" in m.body, 30)
    assert answer.room_id != group and answer.encrypted and answer.sender == bot.user_id
    note = await member.wait_for(lambda m: m.room_id == answer.room_id and MOVED_NOTE in m.body, 30)
    assert "I removed it there" in note.body
    event = await admin.client.room_get_event(group, typed)
    assert not event.event.source.get("content"), "the search is still readable in the group"  # type: ignore[union-attr]
    # Nothing was answered in the group: a later reply there comes first.
    await admin.ask(group, "!categories")
    for someone in (admin, member):
        assert not [m for m in someone.received if m.room_id == group and m.sender == bot.user_id
                    and (m.reply_to == typed or "Asylum" in m.body)]


async def test_categories_and_countries(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    member = await make_member()
    room = await room_with_bot(member, bot)
    await seed(bot, {"title": "A", "url": "https://a.example.org", "categories": ["legal"],
                     "countries": ["TR", "SY"]})
    categories = await member.ask(room, "!categories")
    assert "legal" in categories.body and "mental health" in categories.body
    countries = await member.ask(room, "!countries")
    assert "Türkiye (TR): 1" in countries.body and "(SY): 1" in countries.body
    await member.ask(room, "!language ar")
    assert "تركيا" in (await member.ask(room, "!countries")).body
    await asyncio.sleep(0)


async def test_only_curators_reactions_count_and_rejection(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS)
    owner = await make_member()
    guest = await make_member()
    room = await room_with_bot(owner, bot)
    curators = await room_with_bot(owner, bot)
    await invite(owner, guest, room)
    await invite(owner, guest, curators)  # a plain member of the curators room, not a curator
    await point_curators_room(bot, curators)
    await guest.ask(room, "!suggest https://spam.example.org Totally legit")
    post = await owner.wait_for(lambda m: m.room_id == curators and "spam.example.org" in m.body, 30)

    async def react(member: Member, key: str) -> str:
        response = await member.client.room_send(
            curators, "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": post.event_id, "key": key}},
            ignore_unverified_devices=True,
        )
        return str(response.event_id)  # type: ignore[union-attr]

    marker = await react(guest, "✅")
    assert bot.bot is not None
    await wait_handled(bot, marker)
    assert await entries_count(bot) == 0
    await react(owner, "❌\ufe0f")
    await owner.wait_for(lambda m: m.room_id == curators and "Suggestion rejected" in m.body, 30)
    late = await react(owner, "✅")  # a decided suggestion stays decided
    await wait_handled(bot, late)
    assert await entries_count(bot) == 0
    assert "Nothing found" in (await lookup(guest, room, "!find legit")).body


async def test_queries_are_never_logged(make_bot, make_member, caplog) -> None:
    bot = await make_bot(plugins=PLUGINS)
    member = await make_member()
    room = await room_with_bot(member, bot)
    await seed(bot, {"title": "Crisis line", "url": "https://crisis.example.org"})
    # As `solidarity run` sets it up: DEBUG everywhere except the libraries that log contents.
    for name in NOISY_LOGGERS:
        caplog.set_level(logging.ERROR, logger=name)
    with caplog.at_level(logging.DEBUG):
        await member.ask(room, "!find crisis secretword")
        await member.ask(room, "!find zzsecretzz country:Narnia")
        await member.ask(room, "!more")
    assert "secretword" not in caplog.text and "zzsecretzz" not in caplog.text
    assert "Narnia" not in caplog.text


async def test_room_admin_who_is_not_a_curator_cannot_add_or_edit(make_bot, make_member) -> None:
    """The poisoning: the admin of a room (its creator) tries to point a verified entry elsewhere."""
    bot = await make_bot(plugins=PLUGINS)
    admin = await make_member()
    guest = await make_member()
    curator = await make_member()
    room = await room_with_bot(admin, bot)
    await invite(admin, guest, room)
    name_curators(bot, curator.user_id)
    [entry] = await seed(bot, {"title": "Rainbow Aid", "url": "https://rainbow.example.org",
                               "categories": ["legal"]})
    before = await plugin_of(bot).directory.get(entry)
    for command in (
        f"!resource edit {entry} url=https://fake-aid.example.org",
        f"!resource edit {entry} contact=+90-555-000-0000",
        "!resource add title=Fake url=https://fake-aid.example.org categories=legal "
        "countries=global languages=en",
        f"!resource verify {entry}",
        f"!resource remove {entry}",
    ):
        refused = await admin.ask(room, command)
        assert "for the network's directory curators only" in refused.body, command
    # Nor can the admin make themselves a curator with a room setting.
    setting = await admin.ask(room, f"!config resources curators [{admin.user_id}]")
    assert "has no setting curators" in plain(setting.body)
    assert "for the network's directory curators only" in (
        await admin.ask(room, f"!resource edit {entry} url=https://fake-aid.example.org")).body
    assert await plugin_of(bot).directory.get(entry) == before
    assert await entries_count(bot) == 1
    found = await lookup(guest, room, "!find rainbow")
    assert "rainbow.example.org" in found.body and "fake-aid" not in found.body
    assert "by @curator:localhost" in plain(found.body)


def plain(body: str) -> str:
    """A body without the bidi isolates the catalog puts around user text."""
    return body.replace("\u2068", "").replace("\u2069", "")


async def wait_handled(bot: RunningBot, event_id: str) -> None:
    assert bot.bot is not None
    db = bot.bot.db

    async def handled() -> None:
        while not await db.fetchone("SELECT 1 FROM core_handled_events WHERE event_id = ?", (event_id,)):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(handled(), 30)
