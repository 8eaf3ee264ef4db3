"""Reading what an organizer typed: flags, target tags, language blocks and send times.

Pure functions, no I/O: every problem is a `ComposeError` (a core Refusal)
whose `key` names the catalog message the organizer gets, so the dispatcher
answers in their language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from core.i18n import LANGUAGES, Trusted, join_list, normalise_language
from core.plugin import Refusal

MAX_VERSION_CHARS = 4000
MAX_SCHEDULE_DAYS = 60
TAG = re.compile(r"[\w-]{1,32}")
# `[ar]` or `[en]` alone at the start of a line opens that language's block.
LANGUAGE_MARKER = re.compile(r"^[ \t]*\[([A-Za-z]{2,3}(?:-[A-Za-z]{2})?)\][ \t]*", re.MULTILINE)
ALERT_ID = re.compile(r"[a-z0-9]{6}")
RELATIVE = re.compile(r"\+?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?", re.IGNORECASE)
CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


class ComposeError(Refusal):
    """Something the organizer typed cannot be used; `key` is the catalog message.

    A tuple value is a list, shown as a sentence in the reader's language
    (`shown_in`), which a parser that does not know the reader cannot do.
    """

    def shown_in(self, language: str) -> ComposeError:
        """The same refusal with its lists written out in `language`."""
        return ComposeError(self.key, **{
            name: Trusted(join_list(value, language, "or")) if isinstance(value, tuple) else value
            for name, value in self.values.items()})


@dataclass(frozen=True)
class Targets:
    """Where an alert goes: every room (`rooms_all`), tagged rooms, and DM subscribers.

    `staff`: the network's staff rooms (moderators, curators, the safety team)
    too, which an alert leaves out unless asked: they are where people work on
    reports and emergencies, not where members read the network's news.
    """

    rooms_all: bool = True
    tags: tuple[str, ...] = ()
    dm: bool = False
    staff: bool = False

    @property
    def rooms_none(self) -> bool:
        return not self.rooms_all and not self.tags

    def to_json(self) -> dict[str, Any]:
        return {"all": self.rooms_all, "tags": list(self.tags), "dm": self.dm,
                "staff": self.staff}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Targets:
        # Alerts stored before the flag existed (a scheduled one) did not ask for it.
        return cls(bool(data["all"]), tuple(data["tags"]), bool(data["dm"]),
                   bool(data.get("staff", False)))


@dataclass(frozen=True)
class Versions:
    """The alert text per language; `fallback` is read by everyone without their own."""

    texts: dict[str, str] = field(default_factory=dict)
    fallback: str = ""

    def for_language(self, language: str) -> str:
        return self.texts.get(language) or self.fallback

    def language_of_fallback(self) -> str | None:
        for language, text in self.texts.items():
            if text == self.fallback:
                return language
        return None

    def to_json(self) -> dict[str, Any]:
        return {"texts": self.texts, "fallback": self.fallback}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Versions:
        return cls(dict(data["texts"]), str(data["fallback"]))


@dataclass(frozen=True)
class Draft:
    """A parsed `!alert` line before it is stored."""

    versions: Versions
    targets: Targets
    urgent: bool


def normalise_tag(raw: str) -> str:
    """A room tag as stored: case-folded, validated; ComposeError when unusable."""
    tag = raw.strip().casefold()
    if not TAG.fullmatch(tag) or tag in ("all", "none"):
        raise ComposeError("bad_tag", tag=raw[:40])
    return tag


def parse_rooms(value: str) -> tuple[bool, tuple[str, ...]]:
    """`all`, `none` or `tag[,tag]` → (every room?, tags)."""
    cleaned = value.strip().casefold()
    if cleaned == "all":
        return True, ()
    if cleaned == "none":
        return False, ()
    tags = [normalise_tag(part) for part in cleaned.split(",") if part.strip()]
    if not tags:
        raise ComposeError("bad_rooms", value=value[:40])
    return False, tuple(dict.fromkeys(tags))


def parse_draft(text: str, default_language: str) -> Draft:
    """`[--urgent] [--rooms all|tag[,tag]|none] [--dm] [--staff] <text>` → Draft, or ComposeError."""
    urgent = dm = staff = False
    rooms_all: bool = True
    tags: tuple[str, ...] = ()
    rest = text.lstrip()
    while rest.startswith("--"):
        word, _, after = _first_word(rest)
        name, equals, inline = word.partition("=")
        if name == "--urgent" and not equals:
            urgent = True
        elif name == "--dm" and not equals:
            dm = True
        elif name == "--staff" and not equals:
            staff = True
        elif name == "--rooms":
            if equals:
                value = inline
            else:
                value, _, after = _first_word(after)
            if not value:
                raise ComposeError("bad_rooms", value="")
            rooms_all, tags = parse_rooms(value)
        else:
            raise ComposeError("unknown_flag", flag=word[:40])
        rest = after.lstrip()
    targets = Targets(rooms_all, tags, dm, staff)
    if targets.rooms_none and not dm:
        raise ComposeError("no_targets")
    return Draft(parse_versions(rest, default_language), targets, urgent)


def parse_versions(text: str, default_language: str) -> Versions:
    """Split `[en] ... [ar] ...` blocks; text before any marker is the fallback."""
    markers = list(LANGUAGE_MARKER.finditer(text))
    head = text[: markers[0].start()].strip() if markers else text.strip()
    texts: dict[str, str] = {}
    for index, marker in enumerate(markers):
        language = normalise_language(marker.group(1))
        if language is None:
            raise ComposeError("unknown_language", marker=marker.group(0).strip()[:12],
                               languages=LANGUAGES)
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        body = text[marker.end():end].strip()
        if not body:
            raise ComposeError("empty_version", language=language)
        if language in texts:
            raise ComposeError("duplicate_version", language=language)
        texts[language] = body
    fallback = head or texts.get(default_language) or next(iter(texts.values()), "")
    if not fallback:
        raise ComposeError("empty_alert")
    for body in (fallback, *texts.values()):
        if len(body) > MAX_VERSION_CHARS:
            raise ComposeError("too_long", limit=MAX_VERSION_CHARS)
    return Versions(texts, fallback)


def parse_when(text: str, now: datetime, zone: tzinfo) -> tuple[datetime, str]:
    """The send time at the start of `text` and the rest of the line.

    Accepts `+90m`, `+2h`, `+1d2h`, `HH:MM` (the next such time in `zone`),
    `YYYY-MM-DD HH:MM` and `YYYY-MM-DDTHH:MM`. `now` must be timezone-aware.
    """
    word, _, rest = _first_word(text.lstrip())
    when: datetime | None = None
    if word.startswith("+") and len(word) > 1:
        match = RELATIVE.fullmatch(word)
        if match and any(match.groups()):
            days, hours, minutes = (int(part or 0) for part in match.groups())
            when = now + timedelta(days=days, hours=hours, minutes=minutes)
    elif CLOCK.fullmatch(word):
        hour, minute = _clock(word)
        local_now = now.astimezone(zone)
        when = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if when <= local_now:
            when += timedelta(days=1)
    else:
        date_part, _, time_part = word.partition("T")
        if not time_part:
            time_part, _, rest_after = _first_word(rest.lstrip())
            if CLOCK.fullmatch(time_part):
                rest = rest_after
        try:
            day = datetime.strptime(date_part, "%Y-%m-%d")
        except ValueError:
            day = None
        if day is not None and CLOCK.fullmatch(time_part):
            hour, minute = _clock(time_part)
            when = day.replace(hour=hour, minute=minute, tzinfo=zone)
    if when is None:
        raise ComposeError("bad_time", value=word[:40])
    if when <= now:
        raise ComposeError("time_past")
    if when - now > timedelta(days=MAX_SCHEDULE_DAYS):
        raise ComposeError("time_far", days=MAX_SCHEDULE_DAYS)
    return when, rest


def _clock(word: str) -> tuple[int, int]:
    match = CLOCK.fullmatch(word)
    assert match is not None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ComposeError("bad_time", value=word)
    return hour, minute


def _first_word(text: str) -> tuple[str, str, str]:
    """The first whitespace-separated word, the separator and the untouched rest."""
    match = re.match(r"(\S*)(\s?)", text)
    assert match is not None
    return match.group(1), match.group(2), text[match.end():]
