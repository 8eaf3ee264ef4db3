"""Failure ordering of identity creation (core/crypto/identity.py), with a fake homeserver.

The real flows are tested against Synapse in tests/integration; these tests
inject failures Synapse cannot easily be made to produce, to check that
nothing is half-written.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

import core.crypto.identity as identity_module
from core.crypto import (
    CrossSigningSession,
    HomeserverError,
    IdentityAction,
    ensure_cross_signed_identity,
)
from core.crypto.identity_store import load_identity
from core.crypto.secret_storage import DEFAULT_KEY_TYPE

PASSPHRASE = "passphrase"
SESSION = CrossSigningSession(
    homeserver="http://127.0.0.1:1",
    user_id="@bot:example.org",
    device_id="BOTDEVICE",
    access_token="token",
    password="password",
)
OLD_SECRET = {"encrypted": {"oldkey": {"iv": "a", "ciphertext": "b", "mac": "c"}}}


class FakeHomeserver:
    """Just enough of MatrixApi for identity creation; records what was uploaded."""

    def __init__(self, *, fail_put: str | None = None, fail_upload: bool = False) -> None:
        self.account_data: dict[str, dict[str, Any]] = {
            DEFAULT_KEY_TYPE: {"key": "oldkey"},
            "m.cross_signing.master": OLD_SECRET,
        }
        self.fail_put = fail_put
        self.fail_upload = fail_upload
        self.key_uploads = 0

    async def __aenter__(self) -> FakeHomeserver:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def get_account_data(self, event_type: str) -> dict[str, Any] | None:
        return self.account_data.get(event_type)

    async def put_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        if event_type == self.fail_put:
            self.fail_put = None  # only once, so the rollback can succeed
            raise HomeserverError("injected failure", status=500)
        self.account_data[event_type] = dict(content)

    async def raw(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        assert path == "/keys/device_signing/upload"
        self.key_uploads += 1
        if self.fail_upload:
            return 500, {"errcode": "M_UNKNOWN", "error": "injected"}
        return 200, {}

    async def query_keys(self, user_ids: list[str], *, device_ids: Any = ()) -> dict[str, Any]:
        # No identity published, and (for signing) no device keys either.
        return {"master_keys": {}, "device_keys": {}}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeHomeserver:
    server = FakeHomeserver()

    def factory(session: CrossSigningSession, http: object = None) -> FakeHomeserver:
        return server

    monkeypatch.setattr(identity_module, "MatrixApi", factory)
    return server


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _rolled_back(server: FakeHomeserver) -> None:
    assert server.account_data[DEFAULT_KEY_TYPE] == {"key": "oldkey"}
    assert server.account_data["m.cross_signing.master"] == OLD_SECRET
    # Secrets that did not exist before are emptied, not left half-written.
    for name in ("m.cross_signing.self_signing", "m.cross_signing.user_signing"):
        assert server.account_data.get(name, {}) == {}


async def test_secret_storage_failure_uploads_no_keys(fake: FakeHomeserver, tmp_path: Path) -> None:
    fake.fail_put = "m.cross_signing.self_signing"
    with pytest.raises(HomeserverError, match="injected"):
        await ensure_cross_signed_identity(
            SESSION, local_store=tmp_path / "keys.json", passphrase=PASSPHRASE, recovery_key=None
        )
    assert fake.key_uploads == 0
    assert _names(tmp_path) == []
    _rolled_back(fake)


async def test_key_upload_failure_rolls_back_secret_storage(
    fake: FakeHomeserver, tmp_path: Path
) -> None:
    fake.fail_upload = True
    with pytest.raises(HomeserverError, match="HTTP 500"):
        await ensure_cross_signed_identity(
            SESSION, local_store=tmp_path / "keys.json", passphrase=PASSPHRASE, recovery_key=None
        )
    assert fake.key_uploads == 1
    assert _names(tmp_path) == []
    _rolled_back(fake)


async def test_device_signing_failure_keeps_published_identity_and_recovery_key(
    fake: FakeHomeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    local = tmp_path / "keys.json"
    outcome = await ensure_cross_signed_identity(
        SESSION, local_store=local, passphrase=PASSPHRASE, recovery_key=None
    )
    assert outcome.action is IdentityAction.CREATED
    assert not outcome.device_signed and outcome.recovery_key is not None
    stored = load_identity(local, PASSPHRASE)
    assert stored is not None and stored.keys.master_public == outcome.master_key
    assert fake.account_data[DEFAULT_KEY_TYPE]["key"] != "oldkey"
    assert "signing this device failed" in caplog.text
    # Secrets never reach the log.
    assert outcome.recovery_key not in caplog.text
    assert SESSION.access_token not in caplog.text
    for seed in outcome.keys.to_secrets().values():
        assert seed not in caplog.text
