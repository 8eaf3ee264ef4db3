"""Reading `!alert` lines: flags, tags, language blocks and send times (bots/alerts/compose.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bots.alerts.compose import ComposeError, normalise_tag, parse_draft, parse_versions, parse_when
from bots.alerts.content import alert_content, may_mention_room, room_versions
from bots.alerts.messages import CATALOG
from bots.alerts.store import Alert

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_catalog_has_english_and_arabic_for_every_message() -> None:
    assert CATALOG.problems() == []


def test_plain_alert_goes_to_every_room_as_a_notice() -> None:
    draft = parse_draft("Meeting point moved to the library.", "en")
    assert draft.targets.rooms_all and not draft.targets.dm and not draft.urgent
    assert draft.versions.fallback == "Meeting point moved to the library."
    assert draft.versions.texts == {}


def test_flags_tags_and_dm() -> None:
    draft = parse_draft("--urgent --rooms Syria,legal --dm Raid reported\nstay home", "en")
    assert draft.urgent
    assert draft.targets.tags == ("syria", "legal") and not draft.targets.rooms_all
    assert draft.targets.dm
    assert draft.versions.fallback == "Raid reported\nstay home"
    assert parse_draft("--rooms=none --dm hi", "en").targets.rooms_none


@pytest.mark.parametrize("line, key", [
    ("", "empty_alert"),
    ("--urgent", "empty_alert"),
    ("--loud text", "unknown_flag"),
    ("--rooms", "bad_rooms"),
    ("--rooms a/b text", "bad_tag"),
    ("--rooms none text", "no_targets"),
    ("[fr] bonjour", "unknown_language"),
    ("[en]\n[ar] مرحبا", "empty_version"),
    ("[en] a\n[en] b", "duplicate_version"),
    ("x" * 4001, "too_long"),
])
def test_bad_lines_are_refused_with_a_reason(line: str, key: str) -> None:
    with pytest.raises(ComposeError) as caught:
        parse_draft(line, "en")
    assert caught.value.key == key


def test_language_blocks_and_fallback() -> None:
    versions = parse_versions("[en] Move to the library\n[ar] انتقلوا إلى المكتبة", "en")
    assert versions.texts == {"en": "Move to the library", "ar": "انتقلوا إلى المكتبة"}
    assert versions.for_language("ar") == "انتقلوا إلى المكتبة"
    # No block of the default language: the first block is what others read.
    only_arabic = parse_versions("[ar] نص\n[en] text", "fr")
    assert only_arabic.fallback == "نص"
    # Text before any marker is what everyone without their own version reads.
    with_head = parse_versions("General text\n[ar] نص عربي", "en")
    assert with_head.fallback == "General text" and with_head.for_language("en") == "General text"
    assert with_head.for_language("ar") == "نص عربي"


def test_bracket_in_the_middle_of_a_line_is_text() -> None:
    versions = parse_versions("Bring [en] flyers", "en")
    assert versions.texts == {} and versions.fallback == "Bring [en] flyers"


def test_tags_are_case_folded_and_checked() -> None:
    assert normalise_tag("Syria") == "syria"
    assert normalise_tag("سوريا") == "سوريا"
    for bad in ("all", "none", "a b", "", "x" * 33):
        with pytest.raises(ComposeError):
            normalise_tag(bad)


def test_relative_and_clock_times() -> None:
    zone = ZoneInfo("UTC")
    when, rest = parse_when("+90m Raid warning", NOW, zone)
    assert when == NOW + timedelta(minutes=90) and rest == "Raid warning"
    when, _ = parse_when("+1d2h x", NOW, zone)
    assert when == NOW + timedelta(days=1, hours=2)
    when, _ = parse_when("18:30 x", NOW, zone)
    assert when == NOW.replace(hour=18, minute=30)
    # A clock time already past today means tomorrow.
    when, _ = parse_when("09:00 x", NOW, zone)
    assert when == NOW.replace(hour=9) + timedelta(days=1)


def test_dates_in_a_time_zone() -> None:
    zone = ZoneInfo("Europe/Berlin")
    when, rest = parse_when("2026-03-11 08:00 --urgent text", NOW, zone)
    assert when == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    assert rest == "--urgent text"
    when, _ = parse_when("2026-03-11T08:00 text", NOW, zone)
    assert when == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("line, key", [
    ("soon text", "bad_time"),
    ("+ text", "bad_time"),
    ("25:00 text", "bad_time"),
    ("2026-03-09 10:00 text", "time_past"),
    ("+90d text", "time_far"),
    ("2026-02-30 10:00 text", "bad_time"),
])
def test_bad_times_are_refused(line: str, key: str) -> None:
    with pytest.raises(ComposeError) as caught:
        parse_when(line, NOW, ZoneInfo("UTC"))
    assert caught.value.key == key


def _alert(urgent: bool) -> Alert:
    draft = parse_draft(("--urgent " if urgent else "") + "[en] Go home\n[ar] عودوا إلى البيت", "en")
    return Alert(id="abc234", author="@o:x", created_at=0, state="sending", urgent=draft.urgent,
                 targets=draft.targets, versions=draft.versions, due_at=None, sent_at=0,
                 version=1, retracted=False, status_room=None, status_event=None, reminded=False)


def test_alert_content_per_language_and_urgency() -> None:
    normal = alert_content(_alert(False), "ar", "!", room_mention=True, for_room=False)
    assert normal["msgtype"] == "m.notice"
    assert "عودوا إلى البيت" in normal["body"] and "Go home" not in normal["body"]
    assert "abc234" in normal["body"] and "!ack" in normal["body"]
    assert normal["m.mentions"] == {}
    urgent = alert_content(_alert(True), "en", "!", room_mention=True, for_room=True)
    assert urgent["msgtype"] == "m.text" and urgent["body"].startswith("@room ")
    assert urgent["m.mentions"] == {"room": True}
    quiet = alert_content(_alert(True), "en", "!", room_mention=False, for_room=True)
    assert quiet["msgtype"] == "m.text" and "@room" not in quiet["body"]


def _blocks(text: str, language: str) -> list[tuple[str | None, str]]:
    return room_versions(parse_versions(text, "en"), language)


def test_a_room_gets_every_version_its_own_language_first() -> None:
    both = "[en] Go home\n[ar] عودوا إلى البيت"
    assert _blocks(both, "en") == [("en", "Go home"), ("ar", "عودوا إلى البيت")]
    assert _blocks(both, "ar") == [("ar", "عودوا إلى البيت"), ("en", "Go home")]
    # Text before any marker is what a room without its own version read: first there,
    # last where the room's language has a version.
    head = "General text\n[ar] نص عربي"
    assert _blocks(head, "en") == [(None, "General text"), ("ar", "نص عربي")]
    assert _blocks(head, "ar") == [("ar", "نص عربي"), (None, "General text")]
    assert _blocks("Only one", "ar") == [(None, "Only one")]


def test_each_block_is_marked_and_acknowledged_in_its_language() -> None:
    body = alert_content(_alert(False), "ar", "!", room_mention=False, for_room=True)["body"]
    assert body.index("العربية:\nعودوا إلى البيت") < body.index("English:\nGo home")
    assert "تفاعل بـ ✅" in body and "React ✅ or send !ack" in body
    # One version: no marker, one way to acknowledge (as before).
    single = parse_draft("Go home", "en")
    alert = Alert(**{**_alert(False).__dict__, "versions": single.versions})
    body = alert_content(alert, "en", "!", room_mention=False, for_room=True)["body"]
    assert "English:" not in body and "تفاعل" not in body and "Go home" in body


def test_alert_html_is_escaped() -> None:
    draft = parse_draft("<b>bold</b> & more", "en")
    alert = _alert(False)
    escaped = alert_content(Alert(**{**alert.__dict__, "versions": draft.versions}), "en", "!",
                            room_mention=False, for_room=True)
    assert "<b>" not in escaped["formatted_body"] and "&lt;b&gt;" in escaped["formatted_body"]


def test_room_mention_needs_the_notifications_level() -> None:
    assert may_mention_room({"users": {"@bot:x": 50}}, "@bot:x")
    assert not may_mention_room({"users": {"@bot:x": 49}}, "@bot:x")
    assert not may_mention_room({"users": {"@bot:x": 50}, "notifications": {"room": 100}}, "@bot:x")
    assert may_mention_room({"users_default": 0, "notifications": {"room": 0}}, "@bot:x")
    assert not may_mention_room(None, "@bot:x")
