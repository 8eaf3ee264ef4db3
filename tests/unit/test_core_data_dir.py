"""The data folder holds the crypto store and the database: only its owner may enter."""

from __future__ import annotations

from pathlib import Path

from core.bot import Bot
from core.config import Config


def test_an_existing_data_folder_is_closed_to_others(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    password = tmp_path / "password"
    password.write_text("x")
    config = Config.model_validate({
        "matrix": {"homeserver": "http://127.0.0.1:9", "user_id": "@bot:localhost",
                   "password": {"file": str(password)}},
        "storage": {"data_dir": str(data)},
    })
    Bot(config, plugins=[], demo=True)
    assert data.stat().st_mode & 0o777 == 0o700
