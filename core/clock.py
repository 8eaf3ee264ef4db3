"""The one source of time: real in production, controlled in tests."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock time and sleeping; replace with `ManualClock` in tests."""

    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        return time.time()

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock(Clock):
    """A clock that only moves when a test says so.

    Sleepers wake when `advance` moves time past their deadline, so tests never
    wait on real time for scheduled work.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._changed = asyncio.Event()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        deadline = self._now + max(0.0, seconds)
        while self._now < deadline:
            self._changed.clear()
            await self._changed.wait()

    async def advance(self, seconds: float) -> None:
        """Move time forward and let every woken task run."""
        self._now += seconds
        self._changed.set()
        # Give woken sleepers a few loop turns to run their continuations.
        for _ in range(5):
            await asyncio.sleep(0)
