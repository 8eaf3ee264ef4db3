"""End-to-end-encryption trust for the bot: its cross-signed identity and more.

The public entry points for the bot's own identity are re-exported here; the
submodules hold the building blocks (canonical JSON and signatures, recovery
keys, secret storage, cross-signing, the local encrypted key file).
"""

from .api import CrossSigningSession
from .cross_signing import CrossSigningKeys
from .errors import (
    AuthenticationError,
    DeviceKeysMissingError,
    HomeserverError,
    IdentityError,
    IdentityMismatchError,
    InvalidRecoveryKeyError,
    LocalStoreError,
    PasswordRequiredError,
    RecoveryKeyRequiredError,
    SecretDecryptionError,
    SecretStorageError,
    SignatureUploadError,
    WrongPassphraseError,
    WrongRecoveryKeyError,
)
from .identity import (
    IdentityAction,
    IdentityOutcome,
    ensure_cross_signed_identity,
    load_cross_signing_keys,
    reset_identity,
    sign_user_master_key,
)

__all__ = [
    "AuthenticationError",
    "CrossSigningKeys",
    "CrossSigningSession",
    "DeviceKeysMissingError",
    "HomeserverError",
    "IdentityAction",
    "IdentityError",
    "IdentityMismatchError",
    "IdentityOutcome",
    "InvalidRecoveryKeyError",
    "LocalStoreError",
    "PasswordRequiredError",
    "RecoveryKeyRequiredError",
    "SecretDecryptionError",
    "SecretStorageError",
    "SignatureUploadError",
    "WrongPassphraseError",
    "WrongRecoveryKeyError",
    "ensure_cross_signed_identity",
    "load_cross_signing_keys",
    "reset_identity",
    "sign_user_master_key",
]
