"""Durations, clock times, timezones, PIN hashing and the catalog of the check-ins plugin."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.checkins.messages import CATALOG
from bots.checkins.pins import hash_pin_sync, valid_pin, verify_pin_sync
from core.timeparse import (
    DeadlineLimits,
    TimeInputError,
    format_duration,
    parse_clock,
    parse_deadline,
    parse_duration,
    zone_named,
)

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
LIMITS = DeadlineLimits(60, 72 * 3600)


@pytest.mark.parametrize(("text", "seconds"), [
    ("2h", 7200), ("30m", 1800), ("1h30m", 5400), ("1h 30m", 5400), ("90s", 90), ("1d", 86400),
    ("٢h", 7200), ("45min", 2700), ("2H", 7200),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "2", "h", "0m", "2h-", "-2h", "2x", "m30",
                                  "1.30h", "hours", "2 hours 6pm"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(TimeInputError) as error:
        parse_duration(text)
    assert error.value.key == "bad_duration"


def test_clock_time_is_today_or_tomorrow_in_the_members_zone() -> None:
    istanbul = ZoneInfo("Europe/Istanbul")  # UTC+3: now is 01:13 on the 15th there
    due = parse_clock("18:30", NOW, istanbul)
    shown = datetime.fromtimestamp(due, tz=istanbul)
    assert (shown.day, shown.hour, shown.minute) == (15, 18, 30)
    earlier = parse_clock("00:30", NOW, istanbul)
    assert datetime.fromtimestamp(earlier, tz=istanbul).day == 16


def test_deadline_limits() -> None:
    with pytest.raises(TimeInputError, match="deadline_too_far"):
        parse_deadline("100h", NOW, ZoneInfo("UTC"), LIMITS)
    with pytest.raises(TimeInputError, match="deadline_too_soon"):
        parse_deadline("10s", NOW, ZoneInfo("UTC"), LIMITS)
    with pytest.raises(TimeInputError, match="bad_time"):
        parse_deadline("25:99", NOW, ZoneInfo("UTC"), LIMITS)
    assert parse_deadline("2h", NOW, ZoneInfo("UTC"), LIMITS) == NOW + 7200


def test_zone_names() -> None:
    assert zone_named("Europe/Istanbul") == ZoneInfo("Europe/Istanbul")
    assert zone_named("europe/istanbul") == ZoneInfo("Europe/Istanbul")
    for bad in ("Mars/Olympus", "", "../../etc/passwd", "/etc/localtime"):
        assert zone_named(bad) is None


@given(st.integers(min_value=1, max_value=99 * 3600))
def test_formatted_durations_parse_back(seconds: int) -> None:
    rounded = seconds - seconds % 60 if seconds >= 60 else seconds
    assert parse_duration(format_duration(rounded)) == rounded


def test_pins_hash_and_verify() -> None:
    stored = hash_pin_sync("4821")
    assert stored.startswith("scrypt$") and "4821" not in stored
    assert verify_pin_sync("4821", stored)
    assert not verify_pin_sync("4822", stored)
    assert not verify_pin_sync("4821", None)
    assert hash_pin_sync("4821") != stored  # salted
    assert valid_pin("4821") and not valid_pin("12") and not valid_pin("12 34")


def test_catalog_is_complete_in_english_and_arabic() -> None:
    assert CATALOG.problems() == []
