"""Durations moderators type (`30s`, `10m`, `1h30m`, `2d`, `2 hours`, `ساعتين`) in seconds.

Read by core's one time parser (core/timeparse.py), so every form a check-in
accepts works here too; moderation only adds its own bounds.
"""

from __future__ import annotations

from core.timeparse import TimeInputError
from core.timeparse import parse_duration as read_duration

# A moderation window longer than a year is a typo, not an intention.
MAX_SECONDS = 366 * 86400


def parse_duration(text: str) -> int | None:
    """Whole seconds in `text`, or None when it is not a duration (or longer than a year)."""
    if not text.strip():
        return None
    try:
        seconds = round(read_duration(text))
    except TimeInputError:
        return None
    return seconds if 0 < seconds <= MAX_SECONDS else None
