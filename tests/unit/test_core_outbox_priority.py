"""Safety messages never wait behind bulk sends in the outbox (core/outbox.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from core.clock import Clock
from core.config import OutboxConfig
from core.outbox import SAFETY, Outbox
from core.storage import CORE_MIGRATIONS, Database


class SlowDMs:
    """First DMs whose rooms take long to create (up to 30 s on a busy homeserver)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def room_for(self, user_id: str) -> str:
        await self.release.wait()
        return f"!dm-{user_id}"


class Homeserver:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        self.sent.append((room_id, content))
        return f"$e{len(self.sent)}"


async def test_a_duress_alarm_overtakes_a_flood_of_first_dms(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.db")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    homeserver, dms = Homeserver(), SlowDMs()
    outbox = Outbox(db, Clock(), homeserver, dms,  # type: ignore[arg-type]
                    OutboxConfig(concurrency=4, per_second=1000))
    # Welcomes to 40 newcomers: every slot is held by a DM room still being created.
    for index in range(40):
        await outbox.enqueue("onboarding", f"welcome/{index}", {"body": "welcome"},
                             user_id=f"@new{index}:localhost")
    outbox.start()
    await asyncio.sleep(0.1)
    await outbox.enqueue("checkins", "duress/1", {"body": "alarm"}, room_id="!team:localhost",
                         priority=SAFETY)

    async def alarm_sent() -> None:
        while not any(room == "!team:localhost" for room, _ in homeserver.sent):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(alarm_sent(), 5)
    assert all(room == "!team:localhost" for room, _ in homeserver.sent)
    dms.release.set()

    async def all_sent() -> None:
        while len(homeserver.sent) < 41:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(all_sent(), 10)
    await outbox.stop()
    await db.close()
