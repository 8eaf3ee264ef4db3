"""examples/events: the issue-15 sketch on the plugin SDK, tested as its author would (core.testing).

The plugin is the installed package (`pip install -e examples/events`), found
through the `solidarity.plugins` entry point; the tests run it in the real
framework against a homeserver in memory, on a clock that moves only when told.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from solidarity_events import EventsPlugin
from solidarity_events.store import EventStore

from core.discovery import discover_plugins, validate_plugin_blocks
from core.plugin import plugin_problems
from core.room_settings import NETWORK
from core.testing import START, PluginHarness, Sent

ROOM, OTHER = "!room:test", "!other:test"
ALICE, SAM, NOOR, MOD = "@alice:test", "@sam:test", "@noor:test", "@mod:test"
CHECK = "\u2705"

# START is 2023-11-14 22:13:20 UTC; "tomorrow 18:00" read in UTC is this:
TOMORROW_18 = datetime(2023, 11, 15, 18, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with PluginHarness(EventsPlugin, data_dir=tmp_path) as harness:
        harness.room(ROOM, {ALICE: 0, SAM: 0, NOOR: 0, MOD: 50}, name="Mutual aid")
        harness.room(OTHER, {ALICE: 0, SAM: 0})
        yield harness


async def announce(h: PluginHarness, command: str, room: str = ROOM, sender: str = ALICE
                   ) -> Sent:
    """Send `!event add ...`; returns the announcement (after checking the bot's ✅ under it)."""
    answers = await h.send(room, sender, command)
    announcement = answers.one()
    assert announcement.room_id == room and announcement.in_reply_to is None
    [button] = [s for s in answers if s.is_reaction]
    assert button.relates_to == {"rel_type": "m.annotation", "event_id": announcement.event_id,
                                 "key": CHECK}
    return announcement


async def listed(h: PluginHarness, sender: str = ALICE, room: str = ROOM) -> str:
    return (await h.reply(room, sender, "!event list")).plain


async def dm_texts(h: PluginHarness, member: str) -> list[str]:
    return h.homeserver.bodies(await h.dms.room_for(member))


# -- installed like any third-party plugin ----------------------------------------------

def test_the_installed_package_is_found_through_its_entry_point() -> None:
    plugins = {plugin.name: plugin for plugin in discover_plugins()}
    events = plugins["events"]
    assert events is EventsPlugin and events.__module__ == "solidarity_events.plugin"
    assert [spec.path for spec in events.commands()] == ["event add", "event cancel",
                                                         "event list"]
    assert plugin_problems(events) == []
    # Its config block is validated like a built-in plugin's, durations as admins type them.
    assert validate_plugin_blocks({"events": {"reminder_before": "2h"}}, [events]) == []
    assert validate_plugin_blocks({"events": {"reminder_before": "1m"}}, [events])


# -- add and list -------------------------------------------------------------------------

async def test_an_event_is_announced_and_listed(h: PluginHarness) -> None:
    # 22:13 UTC now: "in 2 hours" is after midnight, so both show their date.
    announcement = await announce(h, "!event add tomorrow 18:00 Picnic in the park")
    assert announcement.plain.splitlines()[:2] == [
        "📅 Event #1: Picnic in the park", "When: 2023-11-15 18:00 (UTC)"]
    assert "reminder by direct message 1 h before" in announcement.plain
    await announce(h, "!event add in 2 hours Call with the lawyer", sender=SAM)
    assert (await listed(h)).splitlines() == [
        "Upcoming events here:",
        "#2 · 2023-11-15 00:13 (UTC) · Call with the lawyer · coming: 0",
        "#1 · 2023-11-15 18:00 (UTC) · Picnic in the park · coming: 0",
    ]
    # Numbers and lists are per room.
    assert "No upcoming events here" in await listed(h, room=OTHER)
    other = await announce(h, "!event add tomorrow 9:00 Breakfast", room=OTHER)
    assert other.plain.startswith("📅 Event #1: Breakfast")


async def test_a_time_is_read_in_the_senders_zone(h: PluginHarness) -> None:
    await h.runtime.zones.set(ALICE, ZoneInfo("America/New_York"))  # UTC-5 in November
    announcement = await announce(h, "!event add tomorrow 18:00 Picnic")
    assert "When: 2023-11-15 18:00 (America/New_York)" in announcement.plain
    # Sam, in UTC, reads the same moment on their own clock.
    assert "2023-11-15 23:00 (UTC) · Picnic" in await listed(h, SAM)


async def test_bad_input_is_explained(h: PluginHarness) -> None:
    answer = await h.reply(ROOM, ALICE, "!event add someday Picnic")
    assert "a time such as 18:30" in answer.plain and "!event add <when> <title>" in answer.plain
    assert "title" in (await h.reply(ROOM, ALICE, "!event add tomorrow 18:00")).plain
    too_long = await h.reply(ROOM, ALICE, "!event add tomorrow 18:00 " + "x" * 201)
    assert "at most 200 characters" in too_long.plain
    assert "more than a year" in (await h.reply(ROOM, ALICE, "!event add in 400 days Far")).plain
    assert "No upcoming events here" in await listed(h)  # none of these was stored
    # `!event` alone lists its subcommands.
    assert "!event add" in (await h.reply(ROOM, ALICE, "!event")).plain


async def test_a_room_limits_its_upcoming_events(tmp_path: Path) -> None:
    async with PluginHarness(EventsPlugin, data_dir=tmp_path,
                             plugins={"events": {"max_upcoming": 1}}) as h:
        h.room(ROOM, [ALICE])
        await announce(h, "!event add in 1 hour One")
        refused = await h.reply(ROOM, ALICE, "!event add in 2 hours Two")
        assert "already has 1 upcoming events" in refused.plain
        # Once the first has started it no longer counts.
        await h.advance(HOUR + 1)
        await announce(h, "!event add in 2 hours Two")


async def test_who_may_announce_is_a_room_setting(h: PluginHarness) -> None:
    await h.runtime.settings.set_value(ROOM, EventsPlugin, "min_role", "moderator")
    refused = await h.reply(ROOM, ALICE, "!event add tomorrow 18:00 Picnic")
    assert refused.plain == "Sorry, !event add is for room moderators only."
    await announce(h, "!event add tomorrow 18:00 Picnic", sender=MOD)
    # Listing stays open to every member; other rooms keep the default.
    assert "#1 · " in await listed(h, ALICE)
    await announce(h, "!event add tomorrow 18:00 Picnic", room=OTHER)


# -- RSVP by reaction ---------------------------------------------------------------------

async def test_a_check_reaction_says_i_come_and_removing_it_withdraws(h: PluginHarness) -> None:
    announcement = await announce(h, "!event add tomorrow 18:00 Picnic")
    alice_yes = await h.react(ROOM, ALICE, announcement.event_id, CHECK)
    assert alice_yes.messages == []  # the reaction itself is the answer
    await h.react(ROOM, SAM, announcement.event_id, "👍")  # not an RSVP
    assert "coming: 1" in await listed(h)
    # A second ✅ from another client (with U+FE0F) is the same member, counted once...
    await h.react(ROOM, ALICE, announcement.event_id, CHECK + "\ufe0f")
    assert "coming: 1" in await listed(h)
    # ...and they still come while one of their reactions remains.
    await h.redact(ROOM, ALICE, alice_yes.event_id)
    assert "coming: 1" in await listed(h)
    alice_again = h.homeserver.room(ROOM).events
    [second] = [e for e in alice_again if getattr(e, "key", "") == CHECK + "\ufe0f"]
    await h.redact(ROOM, ALICE, second.event_id)
    assert "coming: 0" in await listed(h)


async def test_reactions_elsewhere_are_not_rsvps(h: PluginHarness) -> None:
    announcement = await announce(h, "!event add tomorrow 18:00 Picnic")
    other = await h.send(ROOM, SAM, "see you there")
    await h.react(ROOM, ALICE, other.event_id, CHECK)
    assert "coming: 0" in await listed(h)
    # Removing a reaction the plugin never counted changes nothing.
    counted = await h.react(ROOM, SAM, announcement.event_id, CHECK)
    unrelated = await h.react(ROOM, ALICE, announcement.event_id, "🎉")
    await h.redact(ROOM, ALICE, unrelated.event_id)
    assert "coming: 1" in await listed(h)
    await h.redact(ROOM, SAM, counted.event_id)
    assert "coming: 0" in await listed(h)


async def test_who_comes_and_what_is_planned_are_sealed_at_rest(h: PluginHarness) -> None:
    announcement = await announce(h, "!event add tomorrow 18:00 Meeting at the bakery")
    await h.react(ROOM, SAM, announcement.event_id, CHECK)
    rows = [dict(row) for table in ("events_events", "events_rsvps")
            for row in await h.db.fetchall(f"SELECT * FROM {table}")]
    stored = repr(rows)
    assert "bakery" not in stored and SAM not in stored and ALICE not in stored
    assert "coming: 1" in await listed(h)  # and they still open


async def test_the_same_command_handled_again_stores_one_event(h: PluginHarness) -> None:
    store = EventStore(h.db, h.runtime.sealer)
    first = await store.add(ROOM, source_event="$cmd", creator=ALICE, title="Picnic",
                            starts_at=TOMORROW_18, now=START)
    again = await store.add(ROOM, source_event="$cmd", creator=ALICE, title="Picnic",
                            starts_at=TOMORROW_18, now=START)
    assert again == first and first.number == 1
    assert len(await store.upcoming(ROOM, START)) == 1


# -- the reminder -------------------------------------------------------------------------

async def test_the_reminder_goes_once_to_those_coming_at_the_right_time(
        h: PluginHarness) -> None:
    await h.set_language(NOOR, "ar")
    await h.runtime.zones.set(NOOR, ZoneInfo("Asia/Beirut"))
    announcement = await announce(h, "!event add tomorrow 18:00 Picnic")
    for member in (ALICE, NOOR, SAM):
        await h.react(ROOM, member, announcement.event_id, CHECK)
    withdrawn = h.homeserver.room(ROOM).events[-1]
    await h.redact(ROOM, SAM, withdrawn.event_id)  # Sam changed plans
    for member in (ALICE, NOOR, SAM):
        await h.dm(member)

    due = TOMORROW_18 - HOUR  # the default lead time
    await h.advance(due - h.clock.now() - 1)
    assert [await dm_texts(h, m) for m in (ALICE, NOOR, SAM)] == [[], [], []]

    await h.advance(1)
    assert await dm_texts(h, ALICE) == [
        "⏰ Reminder: Picnic in Mutual aid starts in 1 h (18:00 (UTC))."]
    assert await dm_texts(h, NOOR) == [
        "⏰ تذكير: تبدأ الفعالية Picnic في Mutual aid بعد ساعة (20:00 (Asia/Beirut))."]
    assert await dm_texts(h, SAM) == []

    # Once: not again as time goes on, nor after a restart.
    await h.advance(HOUR / 2)
    await h.restart(advance=HOUR)
    assert [len(await dm_texts(h, m)) for m in (ALICE, NOOR)] == [1, 1]
    assert await h.runtime.scheduler.pending(EventsPlugin.name) == []


async def test_a_member_who_left_the_room_is_not_reminded(h: PluginHarness) -> None:
    announcement = await announce(h, "!event add tomorrow 18:00 Picnic")
    await h.react(ROOM, ALICE, announcement.event_id, CHECK)
    await h.react(ROOM, SAM, announcement.event_id, CHECK)
    await h.react(ROOM, NOOR, announcement.event_id, CHECK)
    await h.leave(ROOM, SAM, membership="ban")  # e.g. removed as an infiltrator
    assert "coming: 2" in await listed(h)
    # Noor left while the bot was not listening: the room's members say so at reminder time.
    h.homeserver.room(ROOM).joined.remove(NOOR)
    await h.advance(TOMORROW_18 - HOUR - h.clock.now())
    assert len(await dm_texts(h, ALICE)) == 1
    assert await dm_texts(h, SAM) == [] and await dm_texts(h, NOOR) == []


async def test_a_new_lead_time_moves_the_reminders_not_sent_yet(h: PluginHarness) -> None:
    announcement = await announce(h, "!event add tomorrow 18:00 Picnic")
    await h.react(ROOM, ALICE, announcement.event_id, CHECK)
    await h.runtime.settings.set_value(ROOM, EventsPlugin, "reminder_before", "2h")
    await h.advance(TOMORROW_18 - 2 * HOUR - h.clock.now())
    assert await dm_texts(h, ALICE) == [
        "⏰ Reminder: Picnic in Mutual aid starts in 2 h (18:00 (UTC))."]
    # A network-wide change after it was sent does not send it again.
    await h.runtime.settings.set_value(NETWORK, EventsPlugin, "reminder_before", "30m")
    await h.advance(2 * HOUR)
    assert len(await dm_texts(h, ALICE)) == 1


async def test_an_event_sooner_than_the_lead_time_has_no_reminder(h: PluginHarness) -> None:
    announcement = await announce(h, "!event add in 30 minutes Quick call")
    assert "reminder" not in announcement.plain
    await h.react(ROOM, ALICE, announcement.event_id, CHECK)
    await h.advance(HOUR)
    assert await dm_texts(h, ALICE) == []


# -- cancel -------------------------------------------------------------------------------

async def test_only_the_creator_or_a_moderator_may_cancel(h: PluginHarness) -> None:
    await announce(h, "!event add tomorrow 18:00 Picnic")
    await announce(h, "!event add tomorrow 19:00 Dinner")
    refused = await h.reply(ROOM, SAM, "!event cancel 1")
    assert refused.plain == "Only whoever announced event #1, or a room moderator, may cancel it."
    cancelled = (await h.send(ROOM, ALICE, "!event cancel 1")).one()
    assert cancelled.plain == "❌ Event #1 (Picnic, 2023-11-15 18:00 (UTC)) is cancelled."
    await h.send(ROOM, MOD, "!event cancel 2")
    assert "No upcoming events here" in await listed(h)
    assert "no upcoming event #1" in (await h.reply(ROOM, MOD, "!event cancel 1")).plain
    # Another room's event #1 is not this room's.
    await announce(h, "!event add tomorrow 18:00 Elsewhere", room=OTHER)
    assert "no upcoming event #2" in (await h.reply(OTHER, ALICE, "!event cancel 2")).plain


async def test_a_cancelled_event_tells_those_coming_and_reminds_nobody(h: PluginHarness) -> None:
    announcement = await announce(h, "!event add tomorrow 18:00 Picnic")
    await h.set_language(SAM, "ar")
    await h.react(ROOM, SAM, announcement.event_id, CHECK)
    await h.send(ROOM, ALICE, "!event cancel 1")
    assert await dm_texts(h, SAM) == [
        "❌ أُلغيت الفعالية Picnic (2023-11-15 18:00 (UTC)) في Mutual aid، وكانت مشاركتك فيها مسجّلة."]
    await h.react(ROOM, NOOR, announcement.event_id, CHECK)  # too late: ignored
    await h.advance(TOMORROW_18 - h.clock.now())
    assert len(await dm_texts(h, SAM)) == 1
    assert await dm_texts(h, NOOR) == []


# -- Arabic -------------------------------------------------------------------------------

async def test_arabic_members_and_rooms(h: PluginHarness) -> None:
    await h.runtime.languages.set_room(ROOM, "ar")
    announcement = await announce(h, "!event add غداً 18:00 نزهة في الحديقة", sender=SAM)
    assert announcement.plain.splitlines()[:2] == [
        "📅 الفعالية رقم 1: نزهة في الحديقة", "الموعد: 2023-11-15 18:00 (UTC)"]
    assert "قبل الموعد بـساعة" in announcement.plain
    await announce(h, "!event add بعد ساعتين اجتماع", sender=SAM)
    await h.react(ROOM, ALICE, announcement.event_id, CHECK)
    await h.set_language(SAM, "ar")
    lines = (await listed(h, SAM)).splitlines()
    assert lines[0] == "الفعاليات القادمة هنا:"
    assert lines[2] == "رقم 1 · 2023-11-15 18:00 (UTC) · نزهة في الحديقة · الحضور: 1"
    refused = await h.reply(ROOM, NOOR, "!event cancel 1")
    assert refused.plain == "إلغاء الفعالية رقم 1 لمن أعلن عنها أو لفريق إشراف الغرفة فقط."
    # An English member in the Arabic room still reads English.
    await h.set_language(ALICE, "en")
    assert (await listed(h, ALICE)).startswith("Upcoming events here:")


async def test_events_are_forgotten_a_day_after_they_start(h: PluginHarness) -> None:
    announcement = await announce(h, "!event add in 2 hours Call")
    await h.react(ROOM, ALICE, announcement.event_id, CHECK)
    await h.advance(2 * HOUR + 25 * HOUR)
    await listed(h)
    assert await h.db.fetchall("SELECT id FROM events_events") == []
    assert await h.db.fetchall("SELECT reaction_id FROM events_rsvps") == []
