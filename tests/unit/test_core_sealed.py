"""Sealed fields (core/sealed.py): the database file alone reveals nothing sealed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from core.clock import Clock
from core.config import OutboxConfig
from core.outbox import Outbox
from core.sealed import Sealer, SealError
from core.storage import CORE_MIGRATIONS, Database
from tests.unit.test_core_outbox_priority import Homeserver

SECRET = "at the safe house on Main street"


def test_a_sealed_value_opens_only_in_its_place_with_its_passphrase() -> None:
    sealer = Sealer("correct horse", "@bot:localhost")
    sealed = sealer.seal(SECRET, context="checkins.note")
    assert SECRET not in sealed
    assert sealer.open(sealed, context="checkins.note") == SECRET
    with pytest.raises(SealError):
        sealer.open(sealed, context="onboarding.pronouns")
    with pytest.raises(SealError):
        Sealer("wrong horse", "@bot:localhost").open(sealed, context="checkins.note")
    # Rows written before sealing existed are read as they are.
    assert sealer.open("plain old value", context="checkins.note") == "plain old value"


async def test_queued_messages_are_sealed_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    db = Database(path)
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    homeserver = Homeserver()

    class DMs:
        async def room_for(self, user_id: str) -> str:
            return "!dm:localhost"

    outbox = Outbox(db, Clock(), homeserver, DMs(),  # type: ignore[arg-type]
                    OutboxConfig(per_second=1000))
    outbox.sealer = Sealer("store passphrase", "@bot:localhost")
    await outbox.enqueue("checkins", "escalation/1", {"body": SECRET}, user_id="@sam:localhost")
    # What a seized disk shows while the message waits: no text.
    raw = sqlite3.connect(path).execute("SELECT content FROM core_outbox").fetchone()[0]
    assert SECRET not in raw and "Main street" not in raw
    outbox.start()

    async def sent() -> None:
        while not homeserver.sent:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(sent(), 5)
    assert homeserver.sent == [("!dm:localhost", {"body": SECRET})]
    await outbox.stop()
    await db.close()
