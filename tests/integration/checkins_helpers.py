"""A check-ins bot in its own process, so a test can `kill -9` it; its clock is a file the test writes.

    python -m tests.integration.checkins_helpers CONFIG.json CLOCK_FILE

CONFIG.json is a Config as JSON; CLOCK_FILE holds the current time (seconds
since the epoch) and only the test changes it. The process prints "ready"
once its first sync is done.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bots.admin import AdminPlugin
from bots.checkins import CheckinsPlugin
from core.bot import Bot
from core.clock import Clock
from core.config import Config

POLL_SECONDS = 0.02


class FileClock(Clock):
    """Time read from a file the test writes: ManualClock across a process boundary."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> float:
        return float(self.path.read_text())

    def monotonic(self) -> float:
        return self.now()

    async def sleep(self, seconds: float) -> None:
        deadline = self.now() + max(0.0, seconds)
        while self.now() < deadline:
            await asyncio.sleep(POLL_SECONDS)


async def run(config: Config, clock_path: Path) -> None:
    bot = Bot(config, plugins=[AdminPlugin, CheckinsPlugin], clock=FileClock(clock_path))
    await bot.start()
    task = asyncio.create_task(bot.run())
    await bot.connection.synced.wait()
    print("ready", flush=True)
    await task


if __name__ == "__main__":
    settings = Config.model_validate(json.loads(Path(sys.argv[1]).read_text()))
    asyncio.run(run(settings, Path(sys.argv[2])))
