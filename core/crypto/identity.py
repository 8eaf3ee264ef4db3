"""The bot's cross-signed identity: create it once, keep it, restore it, never lose it.

:func:`ensure_cross_signed_identity` is what the runtime calls at every start:

a. local keys exist and match what the homeserver publishes → make sure this
   device is signed by the self-signing key;
b. no local keys and no identity on the homeserver → create the three keys and
   a secret-storage key, store the private keys in secret storage, publish the
   public keys, save the local copy, sign this device; the recovery key is in
   the outcome, the only time it exists outside secret storage's MACs;
c. no local keys but an identity on the homeserver → restore it from secret
   storage with the operator's recovery key (or stop with a clear error);
   the same if the local keys belong to an older identity.

It never replaces an identity on its own: members would see an "identity
reset" warning for the bot. :func:`reset_identity` does that, and only when the
operator asked for it (the CLI confirms first).

Ordering is chosen so that a failure anywhere leaves a state the next start
can handle: the local file is prepared (written, hidden) first, secret storage
is filled before the public keys are uploaded (and rolled back if the upload
fails), and the local file only appears after the homeserver accepted the keys.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import aiohttp

from .api import CrossSigningSession, MatrixApi
from .cross_signing import (
    SECRET_NAMES,
    CrossSigningKeys,
    PublishedIdentity,
    fetch_published_identity,
    sign_other_master_key,
    sign_own_device,
    upload_cross_signing_keys,
)
from .errors import (
    IdentityError,
    IdentityMismatchError,
    LocalStoreError,
    PasswordRequiredError,
    RecoveryKeyRequiredError,
    SecretStorageError,
)
from .identity_store import StoredIdentity, load_identity, prepare_identity_file, save_identity
from .secret_storage import (
    DEFAULT_KEY_TYPE,
    SecretStorageKey,
    fetch_secret,
    key_description_type,
    open_default_key,
    publish_key,
    restore_account_data,
    set_default_key,
    snapshot_account_data,
    store_secret,
)

__all__ = [
    "IdentityAction",
    "IdentityOutcome",
    "ensure_cross_signed_identity",
    "load_cross_signing_keys",
    "reset_identity",
    "sign_user_master_key",
]

log = logging.getLogger(__name__)

_KEY_NAME = "Solidarity bot recovery key"


class IdentityAction(StrEnum):
    """What :func:`ensure_cross_signed_identity` or :func:`reset_identity` did."""

    VERIFIED = "verified"  # (a) local keys matched the homeserver
    CREATED = "created"  # (b) first start: a new identity
    RESTORED = "restored"  # (c) restored from secret storage with the recovery key
    RESET = "reset"  # (d) replaced on the operator's request


@dataclass(frozen=True)
class IdentityOutcome:
    """Result of setting up the identity.

    ``recovery_key`` is set only when a new secret-storage key was made
    (CREATED, RESET): show it to the operator once and do not keep or log it.
    ``device_signed`` is False only if a new identity was published but signing
    this device failed; the next start signs it (path a).
    ``keys`` are the private keys, for signing other users after verification.
    """

    action: IdentityAction
    master_key: str
    self_signing_key: str
    user_signing_key: str
    device_signed: bool
    device_newly_signed: bool
    keys: CrossSigningKeys = field(repr=False)
    recovery_key: str | None = field(default=None, repr=False)


def _outcome(
    action: IdentityAction,
    keys: CrossSigningKeys,
    *,
    signed: bool,
    newly_signed: bool,
    recovery_key: str | None = None,
) -> IdentityOutcome:
    return IdentityOutcome(
        action=action,
        master_key=keys.master_public,
        self_signing_key=keys.self_signing_public,
        user_signing_key=keys.user_signing_public,
        device_signed=signed,
        device_newly_signed=newly_signed,
        keys=keys,
        recovery_key=recovery_key,
    )


async def load_cross_signing_keys(
    session: CrossSigningSession, *, local_store: Path, passphrase: str
) -> CrossSigningKeys:
    """The private keys from the local store, for a process that did not just run ensure.

    Raises :class:`LocalStoreError` if there is no local identity for this user.
    """
    stored = await asyncio.to_thread(load_identity, local_store, passphrase)
    if stored is None:
        raise LocalStoreError(
            f"no cross-signing keys in {local_store}; start the bot once to create or "
            "restore its identity"
        )
    _check_owner(stored, session, local_store)
    return stored.keys


def _check_owner(stored: StoredIdentity, session: CrossSigningSession, path: Path) -> None:
    if stored.user_id != session.user_id:
        raise LocalStoreError(
            f"{path} holds the cross-signing keys of {stored.user_id}, not {session.user_id}; "
            "point the bot at its own store"
        )


async def ensure_cross_signed_identity(
    session: CrossSigningSession,
    *,
    local_store: Path,
    passphrase: str,
    recovery_key: str | None,
    http: aiohttp.ClientSession | None = None,
) -> IdentityOutcome:
    """Make sure the bot has a cross-signed identity and this device is signed by it.

    See the module docstring for the cases. Raises an :class:`IdentityError`
    subclass whose message says what to do, e.g.
    :class:`RecoveryKeyRequiredError` when the account has an identity this
    machine does not hold, or :class:`WrongRecoveryKeyError`. Never resets.
    """
    async with MatrixApi(session, http) as api:
        stored = await asyncio.to_thread(load_identity, local_store, passphrase)
        if stored is not None:
            _check_owner(stored, session, local_store)
        published = await fetch_published_identity(api, session.user_id)

        if stored is not None and published is not None and published.matches(stored.keys):
            newly = await sign_own_device(api, session, stored.keys)
            return _outcome(IdentityAction.VERIFIED, stored.keys, signed=True, newly_signed=newly)

        if published is None:
            if stored is not None:
                # Re-publishing on our own could resurrect an identity someone
                # removed on purpose; the operator decides.
                raise IdentityMismatchError(
                    f"{local_store} holds cross-signing keys but the homeserver publishes "
                    "none for this account; run `solidarity identity reset` to publish a "
                    "new identity"
                )
            return await _create(api, session, local_store, passphrase, IdentityAction.CREATED)

        if recovery_key is None:
            if stored is not None:
                raise IdentityMismatchError(
                    "the bot's identity on the homeserver is not the one in "
                    f"{local_store} (it was reset elsewhere); pass --recovery-key-file "
                    "with the recovery key of the current identity to restore it"
                )
            raise RecoveryKeyRequiredError(
                "this account already has a cross-signed identity but this machine has no "
                "copy of its keys; pass --recovery-key-file with the recovery key shown "
                "when the identity was created (the identity is NOT reset automatically)"
            )
        return await _restore(api, session, local_store, passphrase, recovery_key, published)


async def reset_identity(
    session: CrossSigningSession,
    *,
    local_store: Path,
    passphrase: str,
    http: aiohttp.ClientSession | None = None,
) -> IdentityOutcome:
    """Replace the bot's identity with a new one (operator-confirmed only).

    Every member will see that the bot's identity changed. Replacing keys the
    homeserver already has needs user-interactive auth, so ``session.password``
    must be set then (:class:`PasswordRequiredError` before anything changes).
    The outcome carries the new recovery key.
    """
    async with MatrixApi(session, http) as api:
        published = await fetch_published_identity(api, session.user_id)
        if published is not None and session.password is None:
            raise PasswordRequiredError(
                "resetting the identity needs the bot account's password (the homeserver "
                "asks for it to replace cross-signing keys); nothing was changed"
            )
        return await _create(api, session, local_store, passphrase, IdentityAction.RESET)


async def sign_user_master_key(
    session: CrossSigningSession,
    keys: CrossSigningKeys,
    target_user_id: str,
    *,
    expected_master_key: str | None = None,
    http: aiohttp.ClientSession | None = None,
) -> bool:
    """Sign ``target_user_id``'s master key with our user-signing key, after verifying them.

    ``expected_master_key`` (unpadded base64) is the key the verification
    established; if the homeserver publishes another one, nothing is signed
    and :class:`IdentityMismatchError` is raised. Returns False if our
    signature was already there.
    """
    async with MatrixApi(session, http) as api:
        return await sign_other_master_key(
            api, session, keys, target_user_id, expected_master_key=expected_master_key
        )


async def _create(
    api: MatrixApi,
    session: CrossSigningSession,
    local_store: Path,
    passphrase: str,
    action: IdentityAction,
) -> IdentityOutcome:
    """Make and publish a new identity (cases b and d)."""
    keys = CrossSigningKeys.generate()
    storage_key = SecretStorageKey.generate()
    stored = StoredIdentity(user_id=session.user_id, keys=keys)
    # Written now (fails early on a full disk or bad permissions), visible later.
    pending = await asyncio.to_thread(prepare_identity_file, local_store, stored, passphrase)
    with pending:
        rollback_types = [DEFAULT_KEY_TYPE, *SECRET_NAMES.values()]
        snapshot = await snapshot_account_data(api, rollback_types)
        # Secret storage first: public keys whose private halves are nowhere
        # recoverable would make the next lost store a forced reset.
        await publish_key(api, storage_key, name=_KEY_NAME)
        try:
            secrets = keys.to_secrets()
            for role, secret_name in SECRET_NAMES.items():
                await store_secret(api, storage_key, secret_name, secrets[role])
            await set_default_key(api, storage_key.key_id)
            await upload_cross_signing_keys(api, session, keys)
        except BaseException:
            # Put the old secrets back: they still belong to the published identity.
            await restore_account_data(api, snapshot)
            raise
        await asyncio.to_thread(pending.commit)
    log.info(
        "%s cross-signing identity; master key %s (secret storage key %s)",
        "created a new" if action is IdentityAction.CREATED else "reset the",
        keys.master_public,
        key_description_type(storage_key.key_id),
    )
    signed = newly = False
    try:
        newly = await sign_own_device(api, session, keys)
        signed = True
    except IdentityError as exc:
        # The identity is published and saved; raising now would lose the
        # recovery key. The next start signs the device (path a).
        log.warning("new identity published, but signing this device failed: %s", exc)
    return _outcome(
        action, keys, signed=signed, newly_signed=newly, recovery_key=storage_key.recovery_key()
    )


async def _restore(
    api: MatrixApi,
    session: CrossSigningSession,
    local_store: Path,
    passphrase: str,
    recovery_key: str,
    published: PublishedIdentity,
) -> IdentityOutcome:
    """Restore the published identity from secret storage (case c)."""
    storage_key = await open_default_key(api, recovery_key)
    secrets = {
        role: await fetch_secret(api, storage_key, secret_name)
        for role, secret_name in SECRET_NAMES.items()
    }
    try:
        keys = CrossSigningKeys.from_secrets(secrets)
    except ValueError as exc:
        raise SecretStorageError(f"secret storage holds an unusable key: {exc}") from None
    if not published.matches(keys):
        raise IdentityMismatchError(
            "the keys in secret storage are not the identity the homeserver publishes "
            "(secret storage is out of date); nothing was changed. If no copy of the "
            "current keys exists anywhere, `solidarity identity reset` is the way out"
        )
    stored = StoredIdentity(user_id=session.user_id, keys=keys)
    await asyncio.to_thread(save_identity, local_store, stored, passphrase)
    log.info("restored the cross-signing identity %s from secret storage", keys.master_public)
    newly = await sign_own_device(api, session, keys)
    return _outcome(IdentityAction.RESTORED, keys, signed=True, newly_signed=newly)
