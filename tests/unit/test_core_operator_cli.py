"""Operator commands over the bot's database: status, jobs, holds (no contents shown)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.cli import main
from core.identity_holds import IdentityHolds
from core.storage import CORE_MIGRATIONS, Database


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "matrix:\n  homeserver: http://127.0.0.1:9\n  user_id: '@bot:localhost'\n"
        f"storage:\n  data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    return path


async def seed(tmp_path: Path) -> None:
    db = Database(tmp_path / "data" / "solidarity.db")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    await db.execute(
        "INSERT INTO core_jobs (id, owner, kind, due_at, payload, created_at, state, attempts) "
        "VALUES ('j1', 'checkins', 'escalate', 1, '{\"note\": \"safe house\"}', 1, 'dead', 8)")
    await db.execute(
        "INSERT INTO core_outbox (owner, key, room_id, event_type, content, txn_id, state, "
        "attempts, next_attempt_at, created_at, priority) VALUES ('checkins', 'k', '!r:x', "
        "'m.room.message', '{\"body\": \"safe house\"}', 't', 'queued', 0, 1, 1, 1)")
    await IdentityHolds(db).hold("@sam:localhost", 1.0)
    await db.close()


def test_status_jobs_and_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    asyncio.run(seed(tmp_path))
    assert main(["status", "-c", str(config)]) == 0
    status = capsys.readouterr().out
    assert "sync: never" in status
    assert "outbox: 1 queued (safety)" in status
    assert "jobs: checkins/escalate: 1 dead" in status
    assert "held after an identity change: 1" in status
    assert main(["jobs", "-c", str(config)]) == 0
    jobs = capsys.readouterr().out
    assert "dead letter j1: checkins/escalate after 8 attempts" in jobs
    assert "safe house" not in status + jobs
    assert main(["holds", "list", "-c", str(config)]) == 0
    assert "@sam:localhost" in capsys.readouterr().out
    assert main(["holds", "release", "@sam:localhost", "-c", str(config)]) == 0
    assert main(["holds", "release", "@sam:localhost", "-c", str(config)]) == 1


def test_status_says_when_the_database_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.integration.faults import ReadOnlyDatabase

    config = write_config(tmp_path)
    asyncio.run(seed(tmp_path))
    assert main(["status", "-c", str(config)]) == 0
    assert "database: writable" in capsys.readouterr().out
    fault = ReadOnlyDatabase(tmp_path / "data" / "solidarity.db")
    asyncio.run(fault.apply())
    try:
        assert main(["status", "-c", str(config)]) == 0
    finally:
        asyncio.run(fault.restore())
    status = capsys.readouterr().out
    assert "database: CANNOT BE WRITTEN (SQLITE_READONLY)" in status
    assert str(tmp_path / "data" / "solidarity.db") in status
    # The rest is still read and shown.
    assert "outbox: 1 queued (safety)" in status
