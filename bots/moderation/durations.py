"""Durations moderators type (`30s`, `10m`, `1h30m`, `2d`) turned into seconds."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d{1,6})\s*([smhdw])", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# A moderation window longer than a year is a typo, not an intention.
MAX_SECONDS = 366 * 86400


def parse_duration(text: str) -> int | None:
    """Seconds in `text`, or None when it is not a duration (or longer than a year)."""
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned:
        return None
    total = 0
    position = 0
    for match in _PART.finditer(cleaned):
        if match.start() != position:
            return None
        total += int(match.group(1)) * _UNITS[match.group(2).lower()]
        position = match.end()
    if position != len(cleaned) or total <= 0 or total > MAX_SECONDS:
        return None
    return total
