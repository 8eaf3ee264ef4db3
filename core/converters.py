"""The argument types core ships, registered by annotation (core.commands).

    async def remind(self, ctx, after: timedelta, *, note: str)   # `!remind 2 hours call Sam`
    async def add(self, ctx, when: Moment, *, title: str)         # `!event add tomorrow 9:00 Picnic`
    async def rsvp(self, ctx, room: RoomRef, emoji: Emoji)

Durations and moments are read by core's one time parser (core/timeparse.py)
in English and Arabic; a moment is read in the member's own zone
(core/zones.py). Plugins register their own types the same way.
"""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from core.commands import ArgumentContext, register_converter
from core.reactions import normalize_reaction
from core.timeparse import TimeInputError, format_duration, parse_duration, read_when, resolve, utc


class Moment(float):
    """A point in time (a Unix timestamp) typed as a clock time or a delay: `18:30`, `in 2h`."""


class RoomRef(str):
    """A room id (`!abc:example.org`) or alias (`#help:example.org`), checked for form only."""

    @property
    def is_alias(self) -> bool:
        return self.startswith("#")


class Emoji(str):
    """A reaction key as compared everywhere: without variation selectors (core.reactions)."""


_ROOM = re.compile(r"[!#][^:\s]+:[A-Za-z0-9.\-]+(?::\d+)?")


def _duration(text: str, ctx: ArgumentContext | None) -> tuple[timedelta, str]:
    try:
        when, rest = read_when(text, clock=False)
    except TimeInputError:
        raise ValueError(text) from None
    if when.is_clock or when.seconds is None or when.seconds <= 0:
        raise ValueError(text)
    return timedelta(seconds=when.seconds), rest


def _moment(text: str, ctx: ArgumentContext | None) -> tuple[Moment, str]:
    if ctx is None:
        raise ValueError(text)  # a moment needs the reader's clock and zone
    try:
        when, rest = read_when(text)
        return Moment(resolve(when, ctx.now, ctx.zone or utc())), rest
    except TimeInputError:
        raise ValueError(text) from None


def _room(word: str, ctx: ArgumentContext | None) -> tuple[RoomRef, str]:
    if not _ROOM.fullmatch(word):
        raise ValueError(word)
    return RoomRef(word), ""


def _emoji(word: str, ctx: ArgumentContext | None) -> tuple[Emoji, str]:
    key = normalize_reaction(word)
    if not key or len(key) > 16 or any(char.isalnum() and char.isascii() for char in key):
        raise ValueError(word)
    return Emoji(key), ""


register_converter(timedelta, _duration, expected="duration", greedy=True)
register_converter(Moment, _moment, expected="moment", greedy=True)
register_converter(RoomRef, _room, expected="room")
register_converter(Emoji, _emoji, expected="emoji")


def _duration_setting(value: Any) -> timedelta:
    """A settings value read like a command's duration: `2h`, `90 minutes`, `ساعتين`, or seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration such as 30m, 2h or 1h30")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        with contextlib.suppress(TimeInputError):  # not a duration: the message below says so
            return timedelta(seconds=parse_duration(value))
    raise ValueError("a duration such as 30m, 2h or 1h30")


# A setting that is a duration (`reminder_before: DurationSetting = timedelta(hours=1)`):
# `!config events reminder_before 2h` (or `ساعتين`) reads as a command argument would,
# and it is shown and stored as `2h`, not pydantic's `PT2H`.
DurationSetting = Annotated[
    timedelta,
    BeforeValidator(_duration_setting),
    PlainSerializer(lambda value: format_duration(value.total_seconds()), return_type=str,
                    when_used="json"),
]
