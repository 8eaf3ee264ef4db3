"""Spoken deadlines (English and Arabic), where the note begins, and zones found by city."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bots.checkins.messages import CATALOG
from core.testing import START, PluginHarness
from core.timeparse import (
    DeadlineLimits,
    TimeInputError,
    When,
    find_zone,
    parse_deadline,
    parse_duration,
    read_when,
    resolve,
    suggest_zones,
    zone_named,
)
from tests.unit.checkins_helpers import ORGANIZER, checkins, plugin, redacted

BEIRUT = ZoneInfo("Asia/Beirut")
# Tuesday 2024-03-05, 14:00 in Beirut (UTC+2; summer time starts on the 31st).
NOW = datetime(2024, 3, 5, 14, 0, tzinfo=BEIRUT).timestamp()
LIMITS = DeadlineLimits(60, 72 * 3600)
ALICE = "@alice:test"
H, M = 3600, 60


def local(timestamp: float) -> tuple[int, int, int]:
    moment = datetime.fromtimestamp(timestamp, tz=BEIRUT)
    return moment.day, moment.hour, moment.minute


# -- durations ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [
    ("2 hours", 2 * H), ("2h", 2 * H), ("2 h", 2 * H), ("2hrs", 2 * H), ("90 minutes", 90 * M),
    ("90 min", 90 * M), ("1h30", 90 * M), ("1h30m", 90 * M), ("1h 30m", 90 * M),
    ("1 hour 30 minutes", 90 * M), ("1 hour and 30 minutes", 90 * M), ("an hour", H),
    ("a minute", M), ("half an hour", 30 * M), ("a half hour", 30 * M),
    ("a quarter of an hour", 15 * M), ("an hour and a half", 90 * M),
    ("2 and a half hours", 150 * M), ("1.5h", 90 * M), ("1.5 hours", 90 * M),
    ("two hours", 2 * H), ("in 2 hours", 2 * H), ("for 45 minutes", 45 * M), ("hour", H),
    ("2 HOURS", 2 * H), ("1 day", 24 * H),
    # Arabic, with Western and Eastern Arabic digits
    ("ساعتين", 2 * H), ("ساعتان", 2 * H), ("ساعة", H), ("ساعه", H), ("3 ساعات", 3 * H),
    ("٣ ساعات", 3 * H), ("ثلاث ساعات", 3 * H), ("نصف ساعة", 30 * M), ("نص ساعة", 30 * M),
    ("ربع ساعة", 15 * M), ("30 دقيقة", 30 * M), ("٣٠ دقيقة", 30 * M), ("دقيقتين", 2 * M),
    ("ساعة ونصف", 90 * M), ("ساعة و نص", 90 * M), ("ساعة وربع", 75 * M),
    ("ساعة إلا ربع", 45 * M), ("٣ ساعات ونصف", 210 * M), ("ساعتين و30 دقيقة", 150 * M),
    ("ساعتين و ٣٠ دقيقة", 150 * M), ("بعد ساعتين", 2 * H), ("خلال نصف ساعة", 30 * M),
    ("لمدة ساعة", H), ("30د", 30 * M), ("٢س", 2 * H), ("٢h", 2 * H), ("ساعتيْن", 2 * H),
])
def test_durations_spoken_and_short(text: str, seconds: int) -> None:
    when, note = read_when(text)
    assert (when.seconds, note) == (seconds, "")
    assert parse_duration(text) == seconds
    assert resolve(when, NOW, BEIRUT) == NOW + seconds


# -- clock times ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "day", "hour", "minute"), [
    ("6pm", 5, 18, 0), ("6 pm", 5, 18, 0), ("6PM", 5, 18, 0), ("6 p.m.", 5, 18, 0),
    ("6:30 pm", 5, 18, 30), ("6:30pm", 5, 18, 30), ("18:30", 5, 18, 30), ("18.30", 5, 18, 30),
    ("at 18:30", 5, 18, 30), ("by 6pm", 5, 18, 0), ("six pm", 5, 18, 0),
    ("12pm", 6, 12, 0), ("12am", 6, 0, 0), ("noon", 6, 12, 0), ("midnight", 6, 0, 0),
    ("9:00", 6, 9, 0),  # passed today: tomorrow
    ("tomorrow 9:00", 6, 9, 0), ("tomorrow at 9am", 6, 9, 0), ("9am tomorrow", 6, 9, 0),
    ("tomorrow 18:00", 6, 18, 0), ("today 18:00", 5, 18, 0),
    ("tonight 23:00", 5, 23, 0), ("tonight 11", 5, 23, 0), ("tonight 9:30", 5, 21, 30),
    ("tonight 1:00", 6, 1, 0), ("tonight 12", 6, 0, 0), ("at 20", 5, 20, 0),
    # Arabic
    ("الساعة 6 مساءً", 5, 18, 0), ("الساعة ٦ مساءً", 5, 18, 0), ("الساعة 6 مساء", 5, 18, 0),
    ("٦ م", 5, 18, 0), ("٦:٣٠ م", 5, 18, 30), ("١٨:٣٠", 5, 18, 30), ("الساعة 18:30", 5, 18, 30),
    ("الساعة ستة مساءً", 5, 18, 0), ("3 بعد الظهر", 5, 15, 0), ("الساعة 10 ليلاً", 5, 22, 0),
    ("غداً 9:00", 6, 9, 0), ("غدا ٩:٠٠", 6, 9, 0), ("بكرا 9 الصبح", 6, 9, 0),
    ("غداً الساعة 9 صباحاً", 6, 9, 0), ("الليلة 11", 5, 23, 0), ("الليلة ٢٣:٠٠", 5, 23, 0),
    ("اليوم 18:00", 5, 18, 0), ("حتى الساعة 8 مساءً", 5, 20, 0),
])
def test_clock_times_in_the_members_zone(text: str, day: int, hour: int, minute: int) -> None:
    when, note = read_when(text)
    assert when.is_clock and note == ""
    assert local(resolve(when, NOW, BEIRUT)) == (day, hour, minute)


def test_tomorrow_typed_after_midnight_is_the_coming_morning() -> None:
    late = datetime(2024, 3, 6, 1, 0, tzinfo=BEIRUT).timestamp()
    when, _ = read_when("tomorrow 9:00")
    assert local(resolve(when, late, BEIRUT)) == (6, 9, 0)
    # Passed already this morning: the next day's.
    at_three = datetime(2024, 3, 6, 3, 0, tzinfo=BEIRUT).timestamp()
    assert local(resolve(read_when("tomorrow 2:00")[0], at_three, BEIRUT)) == (7, 2, 0)
    # From 04:00 on, tomorrow is the next calendar day.
    morning = datetime(2024, 3, 6, 4, 0, tzinfo=BEIRUT).timestamp()
    assert local(resolve(when, morning, BEIRUT)) == (7, 9, 0)


def test_a_time_passed_today_is_refused_not_moved() -> None:
    with pytest.raises(TimeInputError, match="time_passed"):
        resolve(read_when("today 9:00")[0], NOW, BEIRUT)


def test_clock_times_keep_the_wall_clock_across_summer_time() -> None:
    # Beirut moves to UTC+3 at midnight between 30 and 31 March 2024.
    before = datetime(2024, 3, 30, 20, 0, tzinfo=BEIRUT).timestamp()
    due = resolve(read_when("tomorrow 9:00")[0], before, BEIRUT)
    assert datetime.fromtimestamp(due, tz=BEIRUT).hour == 9
    assert due - before == 12 * H  # 13 wall-clock hours, one skipped


# -- where the time ends and the note begins ------------------------------------------

@pytest.mark.parametrize(("text", "seconds", "note"), [
    ("2 hours meeting at the bakery", 2 * H, "meeting at the bakery"),
    ("2h meeting at the bakery", 2 * H, "meeting at the bakery"),
    ("2 hours at the bakery", 2 * H, "at the bakery"),
    ("2 hours at 6", 2 * H, "at 6"),
    ("2 hours 30 minutes walk home", 150 * M, "walk home"),
    ("1h30 walk", 90 * M, "walk"),
    ("2h 30", 2 * H, "30"),  # a spaced bare number is not minutes (it may be a PIN)
    ("2h day trip", 2 * H, "day trip"),  # a unit word alone only starts a duration
    ("1 hour 5 people", H, "5 people"),
    ("2 hours and then call mum", 2 * H, "and then call mum"),
    ("2h, bakery", 2 * H, "bakery"),
    ("2h: bakery on Hamra street", 2 * H, "bakery on Hamra street"),
    ("half an hour  two  spaces kept", 30 * M, "two  spaces kept"),
    ("ساعتين اجتماع في المخبز", 2 * H, "اجتماع في المخبز"),
    ("نصف ساعة عند الصيدلية", 30 * M, "عند الصيدلية"),
    ("3 ساعات، مظاهرة", 3 * H, "مظاهرة"),
])
def test_the_note_starts_after_the_longest_time(text: str, seconds: int, note: str) -> None:
    when, rest = read_when(text)
    assert (when.seconds, rest) == (seconds, note)


@pytest.mark.parametrize(("text", "hour", "note"), [
    ("6pm dinner with Omar", 18, "dinner with Omar"),
    ("6pm 3 friends", 18, "3 friends"),
    ("tomorrow 9:00 at the doctor", 9, "at the doctor"),
    ("18:30 home by then", 18, "home by then"),
    ("غداً 9:00 عند الطبيب", 9, "عند الطبيب"),
    ("الساعة 6 مساءً مع سارة", 18, "مع سارة"),
])
def test_the_note_after_a_clock_time(text: str, hour: int, note: str) -> None:
    when, rest = read_when(text)
    assert when.is_clock and when.hour == hour and rest == note


@pytest.mark.parametrize(("text", "key", "about"), [
    ("soon", "bad_when", "soon"),
    ("6", "bad_when", "6"),  # minutes, hours or 6 o'clock?
    ("6 people", "bad_when", "6 people"),
    ("tomorrow meeting", "bad_when", "tomorrow meeting"),
    ("hours", "bad_when", "hours"),
    ("at 6", "ambiguous_hour", "at 6"),
    ("tomorrow 9 dentist", "ambiguous_hour", "tomorrow 9"),
    ("الساعة 6", "ambiguous_hour", "الساعة 6"),
    ("6 o'clock", "ambiguous_hour", "6 o'clock"),
    ("18:30 pm", "bad_time", "18:30 pm"),  # not 18:30 with the note "pm"
    ("13pm", "bad_time", "13pm"),
    ("25:99", "bad_time", "25:99"),
    ("1:2", "bad_time", "1:2"),
    ("", "bad_when", ""),
])
def test_refusals_name_what_was_wrong(text: str, key: str, about: str) -> None:
    with pytest.raises(TimeInputError) as error:
        read_when(text)
    assert (error.value.key, error.value.text) == (key, about)


def test_durations_only_where_a_clock_time_means_nothing() -> None:
    assert read_when("half an hour after the march", clock=False) == (
        When(seconds=1800), "after the march")
    with pytest.raises(TimeInputError, match="bad_duration"):
        read_when("6pm", clock=False)
    with pytest.raises(TimeInputError, match="bad_duration"):
        parse_duration("2 hours x")


def test_limits_still_hold() -> None:
    with pytest.raises(TimeInputError, match="deadline_too_far"):
        parse_deadline("100 hours", NOW, BEIRUT, LIMITS)
    with pytest.raises(TimeInputError, match="deadline_too_soon"):
        parse_deadline("10 seconds", NOW, BEIRUT, LIMITS)
    assert parse_deadline("ساعتين", NOW, BEIRUT, LIMITS) == NOW + 2 * H


# -- zones by city ---------------------------------------------------------------------

@pytest.mark.parametrize(("name", "zone"), [
    ("Beirut", "Asia/Beirut"), ("beirut", "Asia/Beirut"), ("BEIRUT", "Asia/Beirut"),
    ("بيروت", "Asia/Beirut"), ("Damascus", "Asia/Damascus"), ("دمشق", "Asia/Damascus"),
    ("Aleppo", "Asia/Damascus"), ("حلب", "Asia/Damascus"), ("Cairo", "Africa/Cairo"),
    ("القاهرة", "Africa/Cairo"), ("القاهره", "Africa/Cairo"), ("Amman", "Asia/Amman"),
    ("عمّان", "Asia/Amman"), ("Istanbul", "Europe/Istanbul"), ("إسطنبول", "Europe/Istanbul"),
    ("اسطنبول", "Europe/Istanbul"), ("Gaziantep", "Europe/Istanbul"),
    ("غازي عنتاب", "Europe/Istanbul"), ("Berlin", "Europe/Berlin"), ("برلين", "Europe/Berlin"),
    ("Munich", "Europe/Berlin"), ("New York", "America/New_York"),
    ("new_york", "America/New_York"), ("نيويورك", "America/New_York"),
    ("Baghdad", "Asia/Baghdad"), ("غزة", "Asia/Gaza"), ("رام الله", "Asia/Hebron"),
    ("الدار البيضاء", "Africa/Casablanca"), ("Stockholm", "Europe/Stockholm"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"), ("Europe/Istanbul", "Europe/Istanbul"),
    ("asia/beirut", "Asia/Beirut"), ("UTC", "UTC"),
])
def test_zones_found_by_city(name: str, zone: str) -> None:
    found = find_zone(name)
    assert found is not None and found.key == zone


def test_unknown_places_get_the_closest_zones() -> None:
    assert find_zone("Bierut") is None
    assert suggest_zones("Bierut")[0] == "Asia/Beirut"
    assert suggest_zones("Damascos")[0] == "Asia/Damascus"
    assert suggest_zones("بيروتت")[0] == "Asia/Beirut"
    assert suggest_zones("qwxzv") == []
    for bad in ("Mars/Olympus", "", "../../etc/passwd", "/etc/localtime"):
        assert find_zone(bad) is None
    # Stored names stay IANA names: a city is read only when a member types it.
    assert zone_named("Beirut") is None


def test_new_messages_exist_in_both_languages() -> None:
    assert CATALOG.problems() == []
    for key in ("bad_when", "bad_duration", "bad_time", "ambiguous_hour", "time_passed",
                "timezone_suggest"):
        assert CATALOG.messages[key]["ar"] and CATALOG.messages[key]["en"]


# -- end to end ----------------------------------------------------------------------

@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with checkins(tmp_path, {"reminder_minutes": 10, "grace_minutes": 5}) as harness:
        yield harness


async def test_checkin_2_hours_with_a_note(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    reply = await h.reply(dm, ALICE, "!checkin 2 hours meeting at the bakery")
    assert "Check-in set" in reply.body and "(in 2 h)" in reply.body
    checkin = await plugin(h).store.open_checkin(ALICE)
    assert checkin is not None and checkin.deadline == START + 2 * H
    assert checkin.note == "meeting at the bakery"


async def test_checkin_in_arabic_words(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    await h.set_language(ALICE, "ar")
    reply = await h.reply(dm, ALICE, "!checkin ساعتين ونصف اجتماع")
    assert "تم التسجيل" in reply.body and "(خلال ساعتين و30 دقيقة)" in reply.body
    checkin = await plugin(h).store.open_checkin(ALICE)
    assert checkin is not None and checkin.deadline == START + 150 * M
    assert checkin.note == "اجتماع"


async def test_checkin_6pm_in_beirut(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    assert "timezone first" in (await h.reply(dm, ALICE, "!checkin 6pm")).body
    assert await plugin(h).store.open_checkin(ALICE) is None
    set_reply = await h.reply(dm, ALICE, "!timezone Beirut")
    assert "Asia/Beirut" in set_reply.body
    assert h.runtime.zones.chosen(ALICE) == ZoneInfo("Asia/Beirut")  # core's, one place
    reply = await h.reply(dm, ALICE, "!checkin 6pm dinner")
    assert "18:00 (Asia/Beirut)" in reply.body
    checkin = await plugin(h).store.open_checkin(ALICE)
    assert checkin is not None and checkin.note == "dinner"
    assert datetime.fromtimestamp(checkin.deadline, tz=BEIRUT).strftime("%H:%M") == "18:00"


async def test_checkin_tomorrow_in_arabic(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    await h.set_language(ALICE, "ar")
    assert "Asia/Beirut" in (await h.reply(dm, ALICE, "!timezone بيروت")).body
    reply = await h.reply(dm, ALICE, "!checkin غداً ٩:٠٠")
    assert "09:00 (Asia/Beirut)" in reply.body
    checkin = await plugin(h).store.open_checkin(ALICE)
    assert checkin is not None
    # START is 00:13 on 15 November in Beirut: "tomorrow" typed after midnight is this morning.
    assert datetime.fromtimestamp(checkin.deadline, tz=BEIRUT).strftime("%d %H:%M") == "15 09:00"


async def test_timezone_by_city_and_suggestions(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    assert "America/New_York" in (await h.reply(dm, ALICE, "!timezone New York")).body
    assert h.runtime.zones.chosen(ALICE) == ZoneInfo("America/New_York")
    close = (await h.reply(dm, ALICE, "!timezone Bierut")).body
    assert "don't know the timezone" in close and "Asia/Beirut" in close
    assert "!timezone Asia/Beirut" in close
    assert h.runtime.zones.chosen(ALICE) == ZoneInfo("America/New_York")
    unknown = (await h.reply(dm, ALICE, "!timezone qwxzv")).body
    assert "!timezone Beirut" in unknown
    await h.set_language(ALICE, "ar")
    assert "بيروت" in (await h.reply(dm, ALICE, "!timezone qwxzv")).body


async def test_refusals_list_the_accepted_forms(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    refused = (await h.reply(dm, ALICE, "!checkin later tonight")).body
    for form in ("2 hours", "half an hour", "6pm", "18:30", "tomorrow 9:00"):
        assert form in refused, form
    assert "!checkin 2 hours meeting at the bakery" in refused
    ambiguous = (await h.reply(dm, ALICE, "!checkin at 6 bakery")).body
    assert "morning or the evening" in ambiguous and "6pm" in ambiguous
    await h.set_language(ALICE, "ar")
    arabic = (await h.reply(dm, ALICE, "!checkin قريباً")).body
    for form in ("ساعتين", "نصف ساعة", "30 دقيقة", "الساعة 6 مساءً", "غداً 9:00"):
        assert form in arabic, form
    assert await h.db.fetchall("SELECT * FROM checkins_checkins") == []


async def test_extend_with_spoken_durations_and_a_pin(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    await h.reply(dm, ALICE, "!checkin 10m")
    assert "Extended" in (await h.reply(dm, ALICE, "!extend half an hour")).body
    checkin = await plugin(h).store.open_checkin(ALICE)
    assert checkin is not None and checkin.deadline == START + 40 * M
    await h.reply(dm, ALICE, "!safepin set 4821")
    removed = len(redacted(h))
    assert "Extended" in (await h.reply(dm, ALICE, "!extend 2 hours 4821")).body
    assert len(redacted(h)) == removed + 1  # the message with the PIN is gone
    checkin = await plugin(h).store.open_checkin(ALICE)
    assert checkin is not None and checkin.deadline == START + 160 * M
    assert "isn't right" in (await h.reply(dm, ALICE, "!extend ساعة 0000")).body
    wrong = (await h.reply(dm, ALICE, "!extend later 4821")).body
    assert "couldn't read" in wrong and "an hour and a half" in wrong


async def test_rollcall_with_a_spoken_duration(h: PluginHarness) -> None:
    room = h.room("!action:test", {ORGANIZER: 50, ALICE: 0}).room_id
    await h.send(room, ORGANIZER, "!rollcall half an hour after the march")
    [call] = [s for s in h.homeserver.messages(room) if "Roll call from" in s.body]
    assert "within 30 min" in call.body and "after the march" in call.body
    refused = (await h.reply(room, ORGANIZER, "!rollcall soon")).body
    assert "half an hour" in refused
