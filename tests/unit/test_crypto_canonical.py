"""Canonical JSON and Ed25519 JSON signatures (core/crypto/canonical.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.crypto.canonical import (
    CanonicalJsonError,
    canonical_json,
    private_key_from_seed,
    public_key_b64,
    seed_of,
    sign_json,
    unpadded_b64decode,
    unpadded_b64encode,
    verify_json,
)

# Examples from the spec appendix "Canonical JSON".
CANONICAL_EXAMPLES = [
    ("{}", "{}"),
    ('{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}'),
    ('{"b": "2", "a": "1"}', '{"a":"1","b":"2"}'),
    (
        '{"auth": {"success": true, "mxid": "@john.doe:example.com", "profile": '
        '{"display_name": "John Doe", "three_pids": [{"medium": "email", '
        '"address": "john.doe@example.org"}, {"medium": "msisdn", "address": "123456789"}]}}}',
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
        '"three_pids":[{"address":"john.doe@example.org","medium":"email"},'
        '{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ),
    ('{"a": "日本語"}', '{"a":"日本語"}'),
    ('{"本": 2, "日": 1}', '{"日":1,"本":2}'),
    ('{"a": "\\u65E5"}', '{"a":"日"}'),
    ('{"a": null}', '{"a":null}'),
]

# The spec appendix's signing test vectors: this seed, entity "domain", key "ed25519:1".
SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
SPEC_SIGNATURES = [
    ({}, "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"),
    (
        {"one": 1, "two": "Two"},
        "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw",
    ),
]


@pytest.mark.parametrize(("given", "expected"), CANONICAL_EXAMPLES)
def test_canonical_json_spec_examples(given: str, expected: str) -> None:
    assert canonical_json(json.loads(given)) == expected.encode("utf-8")


def test_canonical_json_escapes_only_what_it_must() -> None:
    assert canonical_json({"a": 'q"\\\n\x01é'}) == '{"a":"q\\"\\\\\\n\\u0001é"}'.encode()


@pytest.mark.parametrize("bad", [{"x": 1.5}, {"x": 2**53}, {"x": -(2**53)}, {1: "x"}, {"x": {1}}])
def test_canonical_json_rejects_ambiguous_values(bad: Any) -> None:
    with pytest.raises(CanonicalJsonError):
        canonical_json(bad)


def test_canonical_json_accepts_safe_integer_bounds_and_bools() -> None:
    assert canonical_json({"a": 2**53 - 1, "b": True}) == b'{"a":9007199254740991,"b":true}'


@pytest.mark.parametrize(("obj", "signature"), SPEC_SIGNATURES)
def test_sign_json_matches_spec_vectors(obj: dict[str, Any], signature: str) -> None:
    key = private_key_from_seed(unpadded_b64decode(SPEC_SEED))
    signed = sign_json(obj, "domain", "ed25519:1", key)
    assert signed["signatures"] == {"domain": {"ed25519:1": signature}}
    assert "signatures" not in obj  # the input is not modified
    assert verify_json(signed, "domain", "ed25519:1", public_key_b64(key))


def test_sign_verify_round_trip_keeps_existing_signatures_and_ignores_unsigned() -> None:
    key = Ed25519PrivateKey.generate()
    other = Ed25519PrivateKey.generate()
    obj = {"user_id": "@bot:x", "keys": {"a": "b"}, "unsigned": {"age": 3}}
    once = sign_json(obj, "@bot:x", "ed25519:one", key)
    twice = sign_json(once, "@bot:x", "ed25519:two", other)
    assert set(twice["signatures"]["@bot:x"]) == {"ed25519:one", "ed25519:two"}
    # unsigned and other signatures are not covered by a signature.
    twice["unsigned"] = {"age": 99}
    assert verify_json(twice, "@bot:x", "ed25519:one", public_key_b64(key))
    assert verify_json(twice, "@bot:x", "ed25519:two", public_key_b64(other))


def test_verify_json_detects_tampering_wrong_key_and_missing_signature() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign_json({"n": 1}, "s", "ed25519:k", key)
    public = public_key_b64(key)
    assert not verify_json({**signed, "n": 2}, "s", "ed25519:k", public)
    assert not verify_json(signed, "s", "ed25519:k", public_key_b64(Ed25519PrivateKey.generate()))
    assert not verify_json(signed, "other", "ed25519:k", public)
    assert not verify_json(signed, "s", "ed25519:k", "not base64!")
    assert not verify_json({"n": 1}, "s", "ed25519:k", public)


def test_seed_round_trip_and_unpadded_base64() -> None:
    key = Ed25519PrivateKey.generate()
    assert public_key_b64(private_key_from_seed(seed_of(key))) == public_key_b64(key)
    assert "=" not in unpadded_b64encode(b"\x00")
    assert unpadded_b64decode("AA") == unpadded_b64decode("AA==") == b"\x00"
    with pytest.raises(ValueError):
        unpadded_b64decode("A*A")
    with pytest.raises(ValueError):
        private_key_from_seed(b"short")
