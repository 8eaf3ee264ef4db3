"""The local copy of the cross-signing private keys, encrypted by the store passphrase.

Secret storage on the homeserver is the copy that survives losing the machine;
this file is the copy that lets the bot restart without the recovery key. It
is a small JSON document::

    {"format": "solidarity.cross_signing_keys", "version": 1,
     "kdf": {"algorithm": "scrypt", "salt": ..., "n": ..., "r": ..., "p": ...},
     "cipher": "aes-256-gcm", "nonce": ..., "ciphertext": ...}

The key comes from the passphrase through scrypt (memory-hard, so a stolen
file is expensive to brute-force); AES-GCM authenticates both the ciphertext
and the header (passed as associated data), so a wrong passphrase and a
tampered file are both detected rather than yielding garbage keys.

Writes are atomic and two-phase: :func:`prepare_identity_file` writes and
fsyncs a temporary file with mode 0600 next to the target, and only
:meth:`PendingIdentityFile.commit` renames it into place. The identity code
prepares before talking to the homeserver (so a full disk fails early) and
commits only after the homeserver accepted the keys.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .canonical import canonical_json, unpadded_b64decode, unpadded_b64encode
from .cross_signing import CrossSigningKeys
from .errors import LocalStoreError, WrongPassphraseError

__all__ = [
    "PendingIdentityFile",
    "StoredIdentity",
    "load_identity",
    "prepare_identity_file",
    "save_identity",
]

log = logging.getLogger(__name__)

_FORMAT = "solidarity.cross_signing_keys"
_VERSION = 1
_CIPHER = "aes-256-gcm"
# scrypt cost: 2**15 * 8 * 128 bytes = 32 MiB and ~0.1 s per open, done once
# per start. The limits refuse files that would make us burn memory for minutes.
_SCRYPT_N = 2**15
_SCRYPT_R = 8
_SCRYPT_P = 1
_MAX_SCRYPT_N = 2**20
_MAX_SCRYPT_RP = 16


@dataclass(frozen=True)
class StoredIdentity:
    """The content of the local key file: whose keys, and the keys."""

    user_id: str
    keys: CrossSigningKeys


def _derive_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _check_passphrase(passphrase: str) -> None:
    # An empty passphrase would be a built-in default in disguise.
    if not passphrase:
        raise LocalStoreError("the store passphrase is empty; configure a real secret")


def _encrypt(identity: StoredIdentity, passphrase: str) -> bytes:
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    header: dict[str, Any] = {
        "format": _FORMAT,
        "version": _VERSION,
        "kdf": {
            "algorithm": "scrypt",
            "salt": unpadded_b64encode(salt),
            "n": _SCRYPT_N,
            "r": _SCRYPT_R,
            "p": _SCRYPT_P,
        },
        "cipher": _CIPHER,
        "nonce": unpadded_b64encode(nonce),
    }
    plaintext = canonical_json({"user_id": identity.user_id, **identity.keys.to_secrets()})
    key = _derive_key(passphrase, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, canonical_json(header))
    document = {**header, "ciphertext": unpadded_b64encode(ciphertext)}
    return json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def _decrypt(data: bytes, passphrase: str, path: Path) -> StoredIdentity:
    corrupt = f"the local cross-signing key file {path} is corrupt or not a key file"
    try:
        document = json.loads(data)
        header = {k: v for k, v in document.items() if k != "ciphertext"}
        if document.get("format") != _FORMAT:
            raise LocalStoreError(corrupt)
        if document.get("version") != _VERSION or document.get("cipher") != _CIPHER:
            raise LocalStoreError(f"{path} was written by a newer or unknown version of Solidarity")
        kdf = document["kdf"]
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        if (
            kdf.get("algorithm") != "scrypt"
            or not 2 <= n <= _MAX_SCRYPT_N
            or not 1 <= r <= _MAX_SCRYPT_RP
            or not 1 <= p <= _MAX_SCRYPT_RP
        ):
            raise LocalStoreError(f"{path} uses unsupported key-derivation parameters")
        salt = unpadded_b64decode(kdf["salt"])
        nonce = unpadded_b64decode(document["nonce"])
        ciphertext = unpadded_b64decode(document["ciphertext"])
        aad = canonical_json(header)
    except LocalStoreError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LocalStoreError(corrupt) from None
    key = _derive_key(passphrase, salt, n, r, p)
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        # GCM cannot tell a wrong passphrase from tampering; the passphrase is
        # by far the likelier cause, and both mean "don't use this file".
        raise WrongPassphraseError(
            f"cannot decrypt {path}: wrong store passphrase (or the file was modified). "
            "Use the passphrase the bot was set up with; do not delete the file unless "
            "you have the recovery key"
        ) from None
    try:
        content = json.loads(plaintext)
        user_id = content.pop("user_id")
        if not isinstance(user_id, str):
            raise TypeError
        keys = CrossSigningKeys.from_secrets(content)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LocalStoreError(corrupt) from None
    return StoredIdentity(user_id=user_id, keys=keys)


def load_identity(path: Path, passphrase: str) -> StoredIdentity | None:
    """Read and decrypt the key file; ``None`` if it does not exist.

    Raises :class:`WrongPassphraseError` if the passphrase does not open it and
    :class:`LocalStoreError` if it is unreadable or corrupt. Slow (scrypt):
    call it from a thread in async code.
    """
    _check_passphrase(passphrase)
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LocalStoreError(f"cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by other users; it should have mode 0600", path)
    return _decrypt(data, passphrase, path)


class PendingIdentityFile:
    """A fully written, not yet visible key file; see :func:`prepare_identity_file`.

    Use as a context manager: leaving it without :meth:`commit` removes the
    temporary file, so a failed set-up leaves nothing behind.
    """

    def __init__(self, target: Path, temp: Path) -> None:
        self.target = target
        self._temp: Path | None = temp

    def commit(self) -> None:
        """Atomically move the file into place (replacing any older one)."""
        if self._temp is None:
            raise RuntimeError("this pending key file was already committed or discarded")
        try:
            os.replace(self._temp, self.target)
        except OSError as exc:
            raise LocalStoreError(f"cannot write {self.target}: {exc.strerror}") from None
        self._temp = None
        _fsync_dir(self.target.parent)

    def discard(self) -> None:
        """Remove the temporary file if it was not committed. Safe to call twice."""
        if self._temp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._temp.unlink()
            self._temp = None

    def __enter__(self) -> PendingIdentityFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; not possible on every platform/filesystem.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def prepare_identity_file(
    path: Path, identity: StoredIdentity, passphrase: str
) -> PendingIdentityFile:
    """Encrypt ``identity`` into a mode-0600 temporary file next to ``path``.

    Nothing is visible at ``path`` until :meth:`PendingIdentityFile.commit`.
    Missing parent directories are created with mode 0700.
    """
    _check_passphrase(passphrase)
    data = _encrypt(identity, passphrase)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        # O_EXCL + explicit mode: the file is never readable by others, not
        # even for an instant, whatever the umask.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise LocalStoreError(f"cannot write next to {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise LocalStoreError(f"cannot write next to {path}: {exc.strerror}") from None
    return PendingIdentityFile(path, temp)


def save_identity(path: Path, identity: StoredIdentity, passphrase: str) -> None:
    """Atomically write ``identity`` to ``path`` (mode 0600). Slow: use a thread."""
    with prepare_identity_file(path, identity, passphrase) as pending:
        pending.commit()
