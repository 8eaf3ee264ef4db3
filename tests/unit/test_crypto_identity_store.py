"""The local encrypted key file (core/crypto/identity_store.py)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from core.crypto.cross_signing import CrossSigningKeys
from core.crypto.errors import LocalStoreError, WrongPassphraseError
from core.crypto.identity_store import (
    StoredIdentity,
    load_identity,
    prepare_identity_file,
    save_identity,
)

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def identity() -> StoredIdentity:
    return StoredIdentity(user_id="@bot:example.org", keys=CrossSigningKeys.generate())


def _same(a: StoredIdentity, b: StoredIdentity) -> bool:
    return a.user_id == b.user_id and a.keys.to_secrets() == b.keys.to_secrets()


def test_round_trip_and_mode_0600(tmp_path: Path, identity: StoredIdentity) -> None:
    path = tmp_path / "new-dir" / "cross_signing.json"
    save_identity(path, identity, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = load_identity(path, PASSPHRASE)
    assert loaded is not None and _same(loaded, identity)
    # Only the expected file: no temporary files left behind.
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    # No private key material in clear.
    text = path.read_text()
    assert all(seed not in text for seed in identity.keys.to_secrets().values())
    assert identity.user_id not in text


def test_missing_file_is_none(tmp_path: Path) -> None:
    assert load_identity(tmp_path / "nothing.json", PASSPHRASE) is None


def test_wrong_passphrase_is_a_clear_error(tmp_path: Path, identity: StoredIdentity) -> None:
    path = tmp_path / "keys.json"
    save_identity(path, identity, PASSPHRASE)
    with pytest.raises(WrongPassphraseError, match="wrong store passphrase") as excinfo:
        load_identity(path, "not the passphrase")
    assert "not the passphrase" not in str(excinfo.value)


def test_tampered_header_is_detected(tmp_path: Path, identity: StoredIdentity) -> None:
    path = tmp_path / "keys.json"
    save_identity(path, identity, PASSPHRASE)
    document = json.loads(path.read_text())
    document["kdf"]["p"] = 2  # authenticated as associated data
    path.write_text(json.dumps(document))
    with pytest.raises(WrongPassphraseError):
        load_identity(path, PASSPHRASE)


@pytest.mark.parametrize(
    "content", [b"", b"not json", b"[]", b'{"format": "solidarity.cross_signing_keys"}']
)
def test_corrupt_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(content)
    with pytest.raises(LocalStoreError):
        load_identity(path, PASSPHRASE)


def test_empty_passphrase_refused(tmp_path: Path, identity: StoredIdentity) -> None:
    with pytest.raises(LocalStoreError, match="empty"):
        save_identity(tmp_path / "keys.json", identity, "")
    with pytest.raises(LocalStoreError, match="empty"):
        load_identity(tmp_path / "keys.json", "")


def test_pending_file_is_invisible_until_commit(tmp_path: Path, identity: StoredIdentity) -> None:
    path = tmp_path / "keys.json"
    with prepare_identity_file(path, identity, PASSPHRASE) as pending:
        assert not path.exists()
        temps = list(tmp_path.iterdir())
        assert len(temps) == 1 and stat.S_IMODE(temps[0].stat().st_mode) == 0o600
    # Left without commit: nothing remains.
    assert list(tmp_path.iterdir()) == []

    with prepare_identity_file(path, identity, PASSPHRASE) as pending:
        pending.commit()
    assert list(tmp_path.iterdir()) == [path]


def test_commit_replaces_older_file_atomically(tmp_path: Path, identity: StoredIdentity) -> None:
    path = tmp_path / "keys.json"
    save_identity(path, identity, PASSPHRASE)
    newer = StoredIdentity(user_id=identity.user_id, keys=CrossSigningKeys.generate())
    save_identity(path, newer, PASSPHRASE)
    loaded = load_identity(path, PASSPHRASE)
    assert loaded is not None and _same(loaded, newer)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keys_repr_shows_no_private_material(identity: StoredIdentity) -> None:
    text = repr(identity)
    assert identity.keys.master_public in text
    assert all(seed not in text for seed in identity.keys.to_secrets().values())
