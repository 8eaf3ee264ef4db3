"""Reading deadlines members type: durations (`2h`, `1h30m`, `45m`) and clock times (`18:30`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "min": 60, "mins": 60, "hr": 3600, "hrs": 3600,
          "د": 60, "س": 3600, "ي": 86400}
_PART = re.compile(r"(\d{1,4})\s*(mins|min|hrs|hr|d|h|m|s|د|س|ي)")
_CLOCK = re.compile(r"([01]?\d|2[0-3])[:.h]([0-5]\d)")
# Arabic-Indic and Eastern Arabic-Indic digits typed on Arabic keyboards.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


class TimeInputError(ValueError):
    """Input the member must correct; `key` names the catalog message explaining how."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_duration(text: str) -> float:
    """Seconds in `2h`, `1h30m`, `45m`, `90s`, `1d`; TimeInputError("bad_duration") otherwise."""
    cleaned = text.strip().lower().translate(_DIGITS).replace(" ", "")
    if not cleaned:
        raise TimeInputError("bad_duration")
    position = 0
    total = 0
    for match in _PART.finditer(cleaned):
        if match.start() != position:
            raise TimeInputError("bad_duration")
        total += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(cleaned) or total <= 0:
        raise TimeInputError("bad_duration")
    return float(total)


def looks_like_clock(text: str) -> bool:
    return _CLOCK.fullmatch(text.strip().translate(_DIGITS)) is not None


def parse_clock(text: str, now: float, zone: ZoneInfo) -> float:
    """The next moment the wall clock in `zone` shows HH:MM (today, or tomorrow if passed)."""
    match = _CLOCK.fullmatch(text.strip().translate(_DIGITS))
    if match is None:
        raise TimeInputError("bad_time")
    hour, minute = int(match.group(1)), int(match.group(2))
    local_now = datetime.fromtimestamp(now, tz=zone)
    candidate = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate.timestamp() <= now:
        # Wall-clock arithmetic: "tomorrow at 18:30" stays 18:30 across a DST change.
        tomorrow = (local_now + timedelta(days=1)).date()
        candidate = datetime(tomorrow.year, tomorrow.month, tomorrow.day, hour, minute, tzinfo=zone)
    return candidate.timestamp()


@dataclass(frozen=True)
class DeadlineLimits:
    """How near and how far a deadline may be, in seconds from now."""

    minimum: float
    maximum: float


def parse_deadline(text: str, now: float, zone: ZoneInfo, limits: DeadlineLimits) -> float:
    """A duration from now or a clock time in the member's zone, checked against the limits."""
    # Anything with a colon was meant as a time of day, and is explained as one.
    as_clock = looks_like_clock(text) or ":" in text
    due = parse_clock(text, now, zone) if as_clock else now + parse_duration(text)
    if due - now < limits.minimum:
        raise TimeInputError("deadline_too_soon")
    if due - now > limits.maximum:
        raise TimeInputError("deadline_too_far")
    return due


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone called `name` (case-insensitive), or None when there is none."""
    cleaned = name.strip()
    if not cleaned or ".." in cleaned or cleaned.startswith("/"):
        return None
    if cleaned not in _zone_names():
        lowered = {zone.lower(): zone for zone in _zone_names()}
        cleaned = lowered.get(cleaned.lower(), "")
        if not cleaned:
            return None
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        return None


_ZONES: frozenset[str] | None = None


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def format_time(timestamp: float, zone: ZoneInfo, now: float) -> str:
    """`18:30` today, `Tue 18:30` within a week, else `2026-12-01 18:30`, with the zone name."""
    moment = datetime.fromtimestamp(timestamp, tz=zone)
    today = datetime.fromtimestamp(now, tz=zone).date()
    if moment.date() == today:
        shown = moment.strftime("%H:%M")
    else:
        shown = moment.strftime("%Y-%m-%d %H:%M")
    return f"{shown} ({zone.key})"


def format_duration(seconds: float) -> str:
    """`1h30m`, `45m`, `20s`: compact and language-neutral."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours and minutes:
        return f"{hours}h{minutes:02d}m"
    if hours:
        return f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def utc() -> ZoneInfo:
    return ZoneInfo("UTC")

