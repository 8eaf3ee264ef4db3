"""Protections that look at behaviour, not words: flood, repeats, mentions, newcomer links, raids.

Everything here is in memory and pure (time is passed in), so the plugin can
evaluate a message in microseconds and unit tests need no clock. Windows are
sliding: only events within the last `seconds` count.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from dataclasses import dataclass

from bots.moderation.textrules import MAX_TEXT, fold_words

LINK = re.compile(r"(?i)\b(?:https?://|www\.|matrix\.to/)|\b[a-z0-9-]{2,}\.(?:com|org|net|io|ru|xyz|"
                  r"top|info|me|link|click|gg|ly|co|app|site|online|shop)\b")
USER_MENTION = re.compile(r"@[^:\s<>\"]+:[A-Za-z0-9.\-]+")
# Bounded memory: a room with thousands of talkative members keeps the most recent ones.
MAX_TRACKED = 5000


@dataclass(frozen=True)
class Hit:
    """A protection that fired: its name (for the mod log) and a bot-made detail."""

    protection: str
    detail: str


class SlidingCounter:
    """Timestamps per key within a window; `add` returns how many fall in the window."""

    def __init__(self) -> None:
        self._events: dict[object, deque[float]] = {}

    def add(self, key: object, now: float, seconds: float) -> int:
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= MAX_TRACKED:
                self._events.pop(next(iter(self._events)))
            events = self._events[key] = deque()
        events.append(now)
        while events and events[0] <= now - seconds:
            events.popleft()
        return len(events)

    def reset(self, key: object) -> None:
        self._events.pop(key, None)


def fingerprint(text: str) -> str:
    """A short digest of a message's normalised text: repeats are compared, never stored."""
    return hashlib.blake2b(fold_words(text[:MAX_TEXT].split()).encode(), digest_size=8).hexdigest()


def count_mentions(body: str, mentions: frozenset[str]) -> int:
    return len(set(mentions) | set(USER_MENTION.findall(body)))


def has_link(body: str) -> bool:
    return bool(LINK.search(body))


class Protections:
    """The behaviour trackers of every protected room."""

    def __init__(self) -> None:
        self.flood = SlidingCounter()
        self.repeats = SlidingCounter()
        self.joins = SlidingCounter()

    def check_flood(self, room_id: str, user_id: str, now: float, limit: int, seconds: float) -> Hit | None:
        if limit <= 0:
            return None
        count = self.flood.add((room_id, user_id), now, seconds)
        if count > limit:
            return Hit("flood", f"{count}/{seconds:g}s")
        return None

    def check_repeat(self, room_id: str, user_id: str, body: str, now: float, limit: int,
                     seconds: float) -> Hit | None:
        if limit <= 0 or not body.strip():
            return None
        count = self.repeats.add((room_id, user_id, fingerprint(body)), now, seconds)
        if count >= limit:
            return Hit("repeat", f"{count}x")
        return None

    def join_wave(self, room_id: str, now: float, limit: int, seconds: float) -> int | None:
        """The join count when this join completes a wave of `limit` within `seconds`."""
        if limit <= 0:
            return None
        count = self.joins.add(room_id, now, seconds)
        return count if count >= limit else None

    def forget_user(self, room_id: str, user_id: str) -> None:
        self.flood.reset((room_id, user_id))


def check_mentions(body: str, mentions: frozenset[str], limit: int) -> Hit | None:
    if limit <= 0:
        return None
    count = count_mentions(body, mentions)
    return Hit("mentions", str(count)) if count > limit else None


def check_newcomer_link(body: str, joined_at: float | None, now: float, hours: float) -> Hit | None:
    if hours <= 0 or joined_at is None or now - joined_at >= hours * 3600:
        return None
    return Hit("newcomer_link", f"<{hours:g}h") if has_link(body) else None


def check_newcomer_media(joined_at: float | None, now: float, hours: float) -> Hit | None:
    """Images, files and stickers from members who joined less than `hours` ago."""
    if hours <= 0 or joined_at is None or now - joined_at >= hours * 3600:
        return None
    return Hit("newcomer_media", f"<{hours:g}h")
