"""Work the sync starts beside itself (saving the token, parking events) is never lost silently."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from core.config import Config
from core.matrix.session import Session
from core.storage import DatabaseUnwritable


def session(tmp_path: Path) -> Session:
    config = Config.model_validate({
        "matrix": {"homeserver": "http://localhost", "user_id": "@bot:test"},
        "storage": {"data_dir": str(tmp_path)},
    })
    return Session(config, passphrase="not used here")


async def test_a_failing_background_task_is_logged_when_it_fails_not_at_close(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    body = " ".join(("secret", "body", "text"))  # not in the traceback's source lines

    async def broken() -> None:
        raise ValueError(body)

    s = session(tmp_path)
    with caplog.at_level(logging.ERROR, logger="core.matrix.session"):
        s.spawn(broken(), "saving the sync token")
        await asyncio.sleep(0.01)
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    told = record.getMessage()
    assert "saving the sync token failed" in told and "ValueError" in told
    assert "secret body text" not in told  # the exception's text may hold what a member wrote
    await s.finish_background()


async def test_an_unwritable_database_is_not_reported_again_for_each_sync(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def refused() -> None:
        raise DatabaseUnwritable("the database cannot be written")

    s = session(tmp_path)
    with caplog.at_level(logging.ERROR, logger="core.matrix.session"):
        for _ in range(3):
            s.spawn(refused(), "saving the sync token")
        await asyncio.sleep(0.01)
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    await s.finish_background()
