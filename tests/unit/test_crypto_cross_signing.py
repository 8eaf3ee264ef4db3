"""Cross-signing key objects (core/crypto/cross_signing.py), without a homeserver."""

from __future__ import annotations

from typing import Any

import pytest

from core.crypto.canonical import sign_json, verify_json
from core.crypto.cross_signing import (
    CrossSigningKeys,
    PublishedIdentity,
    build_key_objects,
    parse_identity,
)
from core.crypto.errors import IdentityMismatchError

USER = "@bot:example.org"


def test_key_objects_have_usage_and_master_signatures() -> None:
    keys = CrossSigningKeys.generate()
    objects = build_key_objects(keys, USER)
    master = objects["master_key"]
    assert master == {
        "user_id": USER,
        "usage": ["master"],
        "keys": {f"ed25519:{keys.master_public}": keys.master_public},
    }
    master_id = f"ed25519:{keys.master_public}"
    for name, usage, public in (
        ("self_signing_key", "self_signing", keys.self_signing_public),
        ("user_signing_key", "user_signing", keys.user_signing_public),
    ):
        obj = objects[name]
        assert obj["usage"] == [usage] and obj["keys"] == {f"ed25519:{public}": public}
        assert verify_json(obj, USER, master_id, keys.master_public)
        assert list(obj["signatures"][USER]) == [master_id]


def test_secrets_round_trip_and_bad_secrets() -> None:
    keys = CrossSigningKeys.generate()
    again = CrossSigningKeys.from_secrets(keys.to_secrets())
    assert repr(again) == repr(keys)
    with pytest.raises(ValueError, match="user_signing"):
        CrossSigningKeys.from_secrets({**keys.to_secrets(), "user_signing": "AAAA"})
    with pytest.raises(ValueError, match="master"):
        CrossSigningKeys.from_secrets({"self_signing": "x", "user_signing": "y"})


def _query_response(keys: CrossSigningKeys) -> dict[str, Any]:
    objects = build_key_objects(keys, USER)
    return {
        "master_keys": {USER: objects["master_key"]},
        "self_signing_keys": {USER: objects["self_signing_key"]},
        "user_signing_keys": {USER: objects["user_signing_key"]},
    }


def test_parse_published_identity() -> None:
    keys = CrossSigningKeys.generate()
    published = parse_identity(_query_response(keys), USER)
    assert isinstance(published, PublishedIdentity)
    assert published.matches(keys)
    assert not published.matches(CrossSigningKeys.generate())
    assert parse_identity({"master_keys": {}}, USER) is None
    # Other users' user-signing keys are not shown; still a match.
    response = _query_response(keys)
    del response["user_signing_keys"]
    partial = parse_identity(response, USER)
    assert partial is not None and partial.user_signing is None and partial.matches(keys)


def test_sub_key_not_signed_by_master_is_refused() -> None:
    keys = CrossSigningKeys.generate()
    response = _query_response(keys)
    forged = dict(response["self_signing_keys"][USER])
    forged.pop("signatures")
    intruder = CrossSigningKeys.generate()
    response["self_signing_keys"][USER] = sign_json(
        forged, USER, f"ed25519:{keys.master_public}", intruder.master
    )
    with pytest.raises(IdentityMismatchError, match="not signed by the master key"):
        parse_identity(response, USER)


def test_malformed_master_key_is_refused() -> None:
    response = {"master_keys": {USER: {"user_id": USER, "usage": ["master"], "keys": {}}}}
    with pytest.raises(IdentityMismatchError, match="malformed"):
        parse_identity(response, USER)
