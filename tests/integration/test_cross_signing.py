"""The bot's cross-signed identity against a real Synapse (core/crypto).

Device keys are made the way the bot makes them: a matrix-nio client with
encryption logs in and uploads its keys. The checks are done from another
user's point of view with ``/keys/query``, verifying every signature with our
own canonical JSON code.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig, KeysUploadResponse, LoginResponse

from core.crypto import (
    AuthenticationError,
    CrossSigningSession,
    IdentityAction,
    IdentityMismatchError,
    InvalidRecoveryKeyError,
    PasswordRequiredError,
    RecoveryKeyRequiredError,
    WrongPassphraseError,
    WrongRecoveryKeyError,
    ensure_cross_signed_identity,
    reset_identity,
    sign_user_master_key,
)
from core.crypto.api import MatrixApi
from core.crypto.canonical import verify_json
from core.crypto.cross_signing import SECRET_NAMES, CrossSigningKeys
from core.crypto.identity_store import load_identity
from core.crypto.secret_storage import (
    DEFAULT_KEY_TYPE,
    SecretStorageKey,
    fetch_secret,
    open_default_key,
)
from core.homeserver import LocalSynapse, RegisteredUser

pytestmark = pytest.mark.integration

PASSPHRASE = "store passphrase for tests"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    hs = LocalSynapse(tmp_path_factory.mktemp("cross-signing-synapse"))
    try:
        await hs.start()
        yield hs
    finally:
        await hs.stop()


async def register(hs: LocalSynapse, prefix: str) -> RegisteredUser:
    name = f"{prefix}-{next(_numbers)}"
    return await hs.register(name, f"{name}-password")


@asynccontextmanager
async def bot_device(
    hs: LocalSynapse, user: RegisteredUser, store: Path
) -> AsyncIterator[CrossSigningSession]:
    """Log a new nio device in, upload its device keys, yield its session."""
    make_dir(store)
    client = AsyncClient(
        hs.url,
        user.user_id,
        store_path=str(store),
        config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    try:
        login = await client.login(user.password, device_name="solidarity test")
        assert isinstance(login, LoginResponse), login
        upload = await client.keys_upload()
        assert isinstance(upload, KeysUploadResponse), upload
        assert client.olm is not None
        yield CrossSigningSession(
            homeserver=hs.url,
            user_id=user.user_id,
            device_id=login.device_id,
            access_token=login.access_token,
            password=user.password,
            device_ed25519=client.olm.account.identity_keys["ed25519"],
        )
    finally:
        await client.close()


def make_dir(path: Path) -> None:
    path.mkdir(parents=True)


def names(directory: Path) -> list[str]:
    """Sorted names in ``directory``, hidden temporary files included."""
    return sorted(p.name for p in directory.iterdir())


def session_of(user: RegisteredUser) -> CrossSigningSession:
    return CrossSigningSession(
        homeserver=user.homeserver,
        user_id=user.user_id,
        device_id=user.device_id,
        access_token=user.access_token,
        password=user.password,
    )


async def query(observer: RegisteredUser, user_id: str) -> dict[str, Any]:
    async with MatrixApi(session_of(observer)) as api:
        return await api.query_keys([user_id])


def single_key(obj: dict[str, Any]) -> str:
    (public,) = obj["keys"].values()
    assert isinstance(public, str)
    return public


async def assert_cross_signed(
    observer: RegisteredUser, user_id: str, device_ids: list[str], master: str
) -> None:
    """From ``observer``'s view: master as expected, SSK signed by it, devices by SSK."""
    response = await query(observer, user_id)
    assert single_key(response["master_keys"][user_id]) == master
    ssk_obj = response["self_signing_keys"][user_id]
    assert ssk_obj["usage"] == ["self_signing"]
    assert verify_json(ssk_obj, user_id, f"ed25519:{master}", master)
    ssk = single_key(ssk_obj)
    for device_id in device_ids:
        device = response["device_keys"][user_id][device_id]
        assert verify_json(device, user_id, f"ed25519:{ssk}", ssk), device_id
        # The device's own signature is still there.
        own = device["keys"][f"ed25519:{device_id}"]
        assert verify_json(device, user_id, f"ed25519:{device_id}", own)


async def published_master(observer: RegisteredUser, user_id: str) -> str:
    response = await query(observer, user_id)
    return single_key(response["master_keys"][user_id])


async def test_first_start_creates_identity_and_next_start_keeps_it(
    synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="core.crypto")
    bot = await register(synapse, "bot")
    observer = await register(synapse, "observer")
    local = tmp_path / "secrets" / "cross_signing.json"
    async with bot_device(synapse, bot, tmp_path / "nio") as session:
        outcome = await ensure_cross_signed_identity(
            session, local_store=local, passphrase=PASSPHRASE, recovery_key=None
        )
        assert outcome.action is IdentityAction.CREATED
        assert outcome.device_signed and outcome.device_newly_signed
        assert outcome.recovery_key is not None
        assert outcome.recovery_key not in repr(outcome)
        await assert_cross_signed(observer, bot.user_id, [session.device_id], outcome.master_key)

        # The user-signing key is published (to its owner) and signed by the master key.
        own = await query(bot, bot.user_id)
        usk_obj = own["user_signing_keys"][bot.user_id]
        assert single_key(usk_obj) == outcome.user_signing_key
        assert verify_json(
            usk_obj, bot.user_id, f"ed25519:{outcome.master_key}", outcome.master_key
        )

        # Local copy: mode 0600, same keys.
        assert stat.S_IMODE(local.stat().st_mode) == 0o600
        stored = load_identity(local, PASSPHRASE)
        assert stored is not None and stored.user_id == bot.user_id
        assert stored.keys.master_public == outcome.master_key

        # Secret storage holds the same three keys, under the default key, the
        # way Element reads them.
        async with MatrixApi(session) as api:
            storage_key = await open_default_key(api, outcome.recovery_key)
            default = await api.get_account_data(DEFAULT_KEY_TYPE)
            assert default == {"key": storage_key.key_id}
            secrets = {
                role: await fetch_secret(api, storage_key, name)
                for role, name in SECRET_NAMES.items()
            }
        assert CrossSigningKeys.from_secrets(secrets).to_secrets() == stored.keys.to_secrets()

        # Next start: nothing new, nothing to show.
        again = await ensure_cross_signed_identity(
            session, local_store=local, passphrase=PASSPHRASE, recovery_key=None
        )
        assert again.action is IdentityAction.VERIFIED
        assert again.recovery_key is None
        assert again.device_signed and not again.device_newly_signed
        assert again.master_key == outcome.master_key

        # A wrong store passphrase stops before anything else.
        with pytest.raises(WrongPassphraseError):
            await ensure_cross_signed_identity(
                session, local_store=local, passphrase="wrong", recovery_key=None
            )
    assert await published_master(observer, bot.user_id) == outcome.master_key

    # Our log lines never carry secrets.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("core.crypto"))
    assert "cross-signed device" in ours
    for secret in (outcome.recovery_key, bot.password, session.access_token, *secrets.values()):
        assert secret not in ours


async def test_new_device_restores_identity_from_recovery_key(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    bot = await register(synapse, "bot")
    observer = await register(synapse, "observer")
    async with bot_device(synapse, bot, tmp_path / "nio1") as first:
        created = await ensure_cross_signed_identity(
            first, local_store=tmp_path / "one.json", passphrase=PASSPHRASE, recovery_key=None
        )
    assert created.recovery_key is not None
    master = created.master_key

    local = tmp_path / "two.json"
    async with bot_device(synapse, bot, tmp_path / "nio2") as second:
        assert second.device_id != first.device_id

        with pytest.raises(RecoveryKeyRequiredError, match="--recovery-key-file"):
            await ensure_cross_signed_identity(
                second, local_store=local, passphrase=PASSPHRASE, recovery_key=None
            )
        wrong_key = SecretStorageKey.generate().recovery_key()
        with pytest.raises(WrongRecoveryKeyError, match="NOT reset") as excinfo:
            await ensure_cross_signed_identity(
                second, local_store=local, passphrase=PASSPHRASE, recovery_key=wrong_key
            )
        assert wrong_key not in str(excinfo.value)
        with pytest.raises(InvalidRecoveryKeyError, match=r"parity|length|character"):
            await ensure_cross_signed_identity(
                second,
                local_store=local,
                passphrase=PASSPHRASE,
                recovery_key=created.recovery_key[:-1] + "x",
            )
        # Nothing changed anywhere by the failures.
        assert [n for n in names(tmp_path) if "two.json" in n] == []
        assert await published_master(observer, bot.user_id) == master

        restored = await ensure_cross_signed_identity(
            second, local_store=local, passphrase=PASSPHRASE, recovery_key=created.recovery_key
        )
        assert restored.action is IdentityAction.RESTORED
        assert restored.master_key == master and restored.recovery_key is None
        assert restored.device_signed and restored.device_newly_signed
        await assert_cross_signed(
            observer, bot.user_id, [first.device_id, second.device_id], master
        )
        stored = load_identity(local, PASSPHRASE)
        assert stored is not None and stored.keys.master_public == master

        # From now on the local copy is enough.
        again = await ensure_cross_signed_identity(
            second, local_store=local, passphrase=PASSPHRASE, recovery_key=None
        )
        assert again.action is IdentityAction.VERIFIED and not again.device_newly_signed


async def test_reset_needs_password_rolls_back_on_failure_and_replaces_identity(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    bot = await register(synapse, "bot")
    observer = await register(synapse, "observer")
    local = tmp_path / "keys.json"
    async with bot_device(synapse, bot, tmp_path / "nio") as session:
        created = await ensure_cross_signed_identity(
            session, local_store=local, passphrase=PASSPHRASE, recovery_key=None
        )
        assert created.recovery_key is not None
        shutil.copy2(local, tmp_path / "old.json")

        async def unchanged() -> None:
            assert await published_master(observer, bot.user_id) == created.master_key
            stored = load_identity(local, PASSPHRASE)
            assert stored is not None and stored.keys.master_public == created.master_key
            # The old recovery key still opens the old secrets.
            async with MatrixApi(session) as api:
                assert created.recovery_key is not None
                storage_key = await open_default_key(api, created.recovery_key)
                master_seed = await fetch_secret(api, storage_key, SECRET_NAMES["master"])
            assert master_seed == created.keys.to_secrets()["master"]
            assert names(tmp_path) == ["keys.json", "nio", "old.json"]

        with pytest.raises(PasswordRequiredError):
            await reset_identity(
                replace(session, password=None), local_store=local, passphrase=PASSPHRASE
            )
        await unchanged()

        with pytest.raises(AuthenticationError, match="password"):
            await reset_identity(
                replace(session, password="not-the-password"),
                local_store=local,
                passphrase=PASSPHRASE,
            )
        await unchanged()

        reset = await reset_identity(session, local_store=local, passphrase=PASSPHRASE)
        assert reset.action is IdentityAction.RESET
        assert reset.master_key != created.master_key
        assert reset.recovery_key is not None and reset.recovery_key != created.recovery_key
        assert reset.device_signed
        await assert_cross_signed(observer, bot.user_id, [session.device_id], reset.master_key)
        stored = load_identity(local, PASSPHRASE)
        assert stored is not None and stored.keys.master_public == reset.master_key

        # A machine still holding the old identity refuses to go on silently...
        with pytest.raises(IdentityMismatchError, match="reset elsewhere"):
            await ensure_cross_signed_identity(
                session, local_store=tmp_path / "old.json", passphrase=PASSPHRASE, recovery_key=None
            )
        # ...and the old recovery key no longer opens secret storage...
        with pytest.raises(WrongRecoveryKeyError):
            await ensure_cross_signed_identity(
                session,
                local_store=tmp_path / "old.json",
                passphrase=PASSPHRASE,
                recovery_key=created.recovery_key,
            )
        # ...but the new one brings it up to date.
        updated = await ensure_cross_signed_identity(
            session,
            local_store=tmp_path / "old.json",
            passphrase=PASSPHRASE,
            recovery_key=reset.recovery_key,
        )
        assert updated.action is IdentityAction.RESTORED
        assert updated.master_key == reset.master_key


async def test_sign_another_users_master_key(synapse: LocalSynapse, tmp_path: Path) -> None:
    bot = await register(synapse, "bot")
    member = await register(synapse, "member")
    async with (
        bot_device(synapse, bot, tmp_path / "bot-nio") as bot_session,
        bot_device(synapse, member, tmp_path / "member-nio") as member_session,
    ):
        bot_identity = await ensure_cross_signed_identity(
            bot_session, local_store=tmp_path / "bot.json", passphrase=PASSPHRASE, recovery_key=None
        )
        member_identity = await ensure_cross_signed_identity(
            member_session,
            local_store=tmp_path / "member.json",
            passphrase=PASSPHRASE,
            recovery_key=None,
        )

        with pytest.raises(IdentityMismatchError, match="changed since it was verified"):
            await sign_user_master_key(
                bot_session,
                bot_identity.keys,
                member.user_id,
                expected_master_key=bot_identity.master_key,
            )

        assert await sign_user_master_key(
            bot_session,
            bot_identity.keys,
            member.user_id,
            expected_master_key=member_identity.master_key,
        )
        # Already signed: nothing to upload.
        assert not await sign_user_master_key(bot_session, bot_identity.keys, member.user_id)

    # The bot sees the member's master key signed by its user-signing key.
    response = await query(bot, member.user_id)
    master_obj = response["master_keys"][member.user_id]
    usk = bot_identity.user_signing_key
    assert verify_json(master_obj, bot.user_id, f"ed25519:{usk}", usk)
