"""Per-user command rate limit (sliding window), so one member cannot flood the bot."""

from __future__ import annotations

from collections import deque

from core.clock import Clock


class RateLimiter:
    def __init__(self, clock: Clock, limit: int, window_seconds: float) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._warned_until: dict[str, float] = {}

    def allow(self, user_id: str) -> bool:
        now = self.clock.monotonic()
        hits = self._hits.setdefault(user_id, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def retry_after(self, user_id: str) -> float:
        hits = self._hits.get(user_id)
        if not hits:
            return 0.0
        return max(0.0, hits[0] + self.window - self.clock.monotonic())

    def should_warn(self, user_id: str) -> bool:
        """Warn once per window, so the polite reply is not itself a flood."""
        now = self.clock.monotonic()
        if self._warned_until.get(user_id, 0.0) > now:
            return False
        self._warned_until[user_id] = now + self.window
        return True
