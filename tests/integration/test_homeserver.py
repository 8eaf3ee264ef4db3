"""LocalSynapse against a real Synapse: start, register, restart, rate limits."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from core.homeserver import LocalSynapse, RegisteredUser, RegistrationError

pytestmark = pytest.mark.integration


async def whoami(session: aiohttp.ClientSession, user: RegisteredUser) -> dict[str, object]:
    async with session.get(
        f"{user.homeserver}/_matrix/client/v3/account/whoami",
        headers={"Authorization": f"Bearer {user.access_token}"},
    ) as resp:
        assert resp.status == 200, await resp.text()
        body: dict[str, object] = await resp.json()
        return body


async def test_register_and_restart_keeps_users(tmp_path: Path) -> None:
    hs = LocalSynapse(tmp_path / "hs")
    try:
        await hs.start()
        assert hs.url == f"http://127.0.0.1:{hs.port}"
        assert hs.server_name == "localhost"

        alice = await hs.register("alice", "alice-password", admin=True)
        bob = await hs.register("bob", "bob-password")
        assert alice.user_id == "@alice:localhost"
        assert bob.user_id == "@bob:localhost"
        assert alice.homeserver == hs.url
        assert alice.device_id and alice.access_token != bob.access_token

        with pytest.raises(RegistrationError) as excinfo:
            await hs.register("bob", "secret-never-shown")
        assert excinfo.value.errcode == "M_USER_IN_USE"
        assert "secret-never-shown" not in str(excinfo.value)

        async with aiohttp.ClientSession() as session:
            me = await whoami(session, alice)
            assert me["user_id"] == alice.user_id
            assert me["device_id"] == alice.device_id
            assert (await whoami(session, bob))["user_id"] == bob.user_id

            url = hs.url
            await hs.stop()
            await hs.stop()  # idempotent
            assert not hs.running
            await hs.start()
            assert hs.url == url

            # Same database, same secrets: the old token still works.
            assert (await whoami(session, alice))["user_id"] == alice.user_id
            carol = await hs.register("carol", "carol-password")
            assert carol.user_id == "@carol:localhost"
    finally:
        await hs.stop()


async def test_rate_limited_instance_starts(tmp_path: Path) -> None:
    async with LocalSynapse(tmp_path / "hs", rate_limited=True) as hs:
        assert hs.running
        user = await hs.register("dave", "dave-password")
        async with aiohttp.ClientSession() as session:
            assert (await whoami(session, user))["user_id"] == "@dave:localhost"
    assert not hs.running
    config = (tmp_path / "hs" / "homeserver.yaml").read_text()
    assert "rc_message" not in config
