"""Argument types by annotation (core/converters.py) and core's one reaction reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.commands import BadArgument, MissingArgument, Signature, register_converter
from core.converters import Emoji, Moment, RoomRef
from core.reactions import normalize_reaction, reaction_in, same_reaction

BEIRUT = ZoneInfo("Asia/Beirut")
# 2026-12-01 10:00 in Beirut.
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=BEIRUT).timestamp()


@dataclass
class Reader:
    language: str = "en"
    zone: ZoneInfo = BEIRUT
    now: float = NOW


async def remind(self: object, ctx: object, after: timedelta, *, note: str) -> None: ...


async def event_add(self: object, ctx: object, when: Moment, *, title: str) -> None: ...


async def rsvp(self: object, ctx: object, room: RoomRef, emoji: Emoji | None = None) -> None: ...


@pytest.mark.parametrize(("text", "seconds", "note"), [
    ("2 hours call Sam", 7200, "call Sam"),
    ("1h30 bake", 5400, "bake"),
    ("half an hour walk", 1800, "walk"),
    ("ساعتين اتصال", 7200, "اتصال"),
    ("2w trip", 14 * 86400, "trip"),
])
def test_a_duration_reads_several_words_and_leaves_the_rest(
        text: str, seconds: int, note: str) -> None:
    args, kwargs = Signature(remind).bind(text, Reader())
    assert args == [timedelta(seconds=seconds)] and kwargs == {"note": note}


def test_a_word_that_is_no_duration_is_refused_as_a_duration() -> None:
    with pytest.raises(BadArgument) as raised:
        Signature(remind).bind("soon call Sam", Reader())
    assert raised.value.values["expected"] == "duration"


def test_a_moment_is_read_in_the_readers_zone() -> None:
    args, kwargs = Signature(event_add).bind("tomorrow 9:00 Picnic in the park", Reader())
    assert datetime.fromtimestamp(args[0], BEIRUT) == datetime(2026, 12, 2, 9, 0, tzinfo=BEIRUT)
    assert kwargs == {"title": "Picnic in the park"}
    args, _ = Signature(event_add).bind("18:30 Meeting", Reader(zone=ZoneInfo("Europe/Berlin")))
    berlin = datetime.fromtimestamp(args[0], ZoneInfo("Europe/Berlin"))
    assert (berlin.hour, berlin.minute) == (18, 30)
    args, _ = Signature(event_add).bind("in 2 hours Meeting", Reader())
    assert args[0] == pytest.approx(NOW + 7200)


def test_a_moment_without_a_reader_or_a_time_is_refused() -> None:
    with pytest.raises(BadArgument):
        Signature(event_add).bind("18:30 Meeting", None)
    with pytest.raises(BadArgument) as raised:
        Signature(event_add).bind("whenever Meeting", Reader())
    assert raised.value.values["expected"] == "moment"
    with pytest.raises(MissingArgument):
        Signature(event_add).bind("", Reader())


def test_rooms_and_emoji() -> None:
    args, _ = Signature(rsvp).bind("#help:example.org ❤️", Reader())
    assert args == ["#help:example.org", "❤"] and args[0].is_alias
    assert Signature(rsvp).bind("!abc:example.org", Reader())[0] == ["!abc:example.org", None]
    with pytest.raises(BadArgument):
        Signature(rsvp).bind("help", Reader())
    with pytest.raises(BadArgument):
        Signature(rsvp).bind("#help:example.org yes", Reader())


class Pin(str):
    """A plugin's own argument type (module level: annotations are resolved by name)."""


def test_a_plugin_registers_its_own_type() -> None:
    def read(word: str, ctx: object) -> tuple[Pin, str]:
        if not (word.isdigit() and len(word) == 4):
            raise ValueError(word)
        return Pin(word), ""

    register_converter(Pin, read, expected="int")

    async def safe(self: object, ctx: object, pin: Pin) -> None: ...

    assert Signature(safe).bind("1234", None) == (["1234"], {})
    with pytest.raises(BadArgument):
        Signature(safe).bind("12", None)


def test_one_reading_of_reactions() -> None:
    assert normalize_reaction(" ❤️ ") == "❤" == normalize_reaction("❤")
    assert same_reaction("✅", "✅\ufe0f")
    assert reaction_in("👍\ufe0f", ["👎", "👍"])
    assert not same_reaction("✅", "❌")


def test_a_duration_setting_reads_and_shows_like_a_command() -> None:
    from pydantic import ValidationError

    from core.converters import DurationSetting
    from core.plugin import PluginSettings

    class Reminders(PluginSettings):
        before: DurationSetting = timedelta(hours=1)

    assert Reminders().model_dump(mode="json") == {"before": "1h"}
    assert Reminders.model_validate({"before": "ساعتين"}).before == timedelta(hours=2)
    assert Reminders.model_validate({"before": "1h30"}).model_dump(mode="json") == \
        {"before": "1h30m"}
    assert Reminders.model_validate({"before": 600}).before == timedelta(minutes=10)
    for bad in ("soon", True, [1]):
        with pytest.raises(ValidationError):
            Reminders.model_validate({"before": bad})
