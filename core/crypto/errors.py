"""Errors raised by the cross-signing identity code.

Every error here is an :class:`IdentityError`, so the CLI can catch one type and
print ``str(error)``: the messages say what went wrong *and* what the operator
can do about it. No message ever contains a secret (keys, tokens, passwords,
recovery keys), so they are safe to log.
"""

from __future__ import annotations


class IdentityError(Exception):
    """Base class: the bot's cross-signed identity could not be set up or used."""


class InvalidRecoveryKeyError(IdentityError, ValueError):
    """A recovery key string is malformed (characters, length, prefix or parity)."""


class WrongRecoveryKeyError(IdentityError):
    """A well-formed recovery key does not open the account's secret storage."""


class RecoveryKeyRequiredError(IdentityError):
    """The account already has an identity; restoring it needs the recovery key."""


class SecretStorageError(IdentityError):
    """Secret storage is missing, uses an unsupported algorithm, or a secret is bad."""


class SecretDecryptionError(SecretStorageError):
    """A secret's MAC did not match: wrong key, or the data was tampered with."""


class IdentityMismatchError(IdentityError):
    """Local keys, secret storage and the homeserver disagree about the identity."""


class PasswordRequiredError(IdentityError):
    """The homeserver asks for user-interactive auth and no password was given."""


class AuthenticationError(IdentityError):
    """User-interactive auth with the password failed (wrong password?)."""


class HomeserverError(IdentityError):
    """The homeserver answered a request with an error."""

    def __init__(self, message: str, *, status: int | None = None, errcode: str | None = None):
        super().__init__(message)
        self.status = status
        self.errcode = errcode


class SignatureUploadError(HomeserverError):
    """``/keys/signatures/upload`` reported failures for some signatures."""


class DeviceKeysMissingError(IdentityError):
    """The bot's device has not uploaded its device keys yet."""


class LocalStoreError(IdentityError):
    """The local encrypted key file is unreadable, corrupt or for another user."""


class WrongPassphraseError(LocalStoreError):
    """The store passphrase does not decrypt the local key file."""
