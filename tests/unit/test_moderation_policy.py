"""Policy list events (spec, Mjolnir and Draupnir shapes) and glob matching of the moderation plugin."""

from __future__ import annotations

from bots.moderation.policy import (
    GlobIndex,
    Ignored,
    PolicyIndex,
    PolicyRule,
    Removal,
    parse_policy_event,
    valid_glob,
)

LIST = "!list:example.org"


def event(kind: str = "m.policy.rule.user", state_key: str = "rule1", **content: object) -> dict[str, object]:
    return {"type": kind, "state_key": state_key, "content": content}


def rule(entity: str, key: str = "k", kind: str = "user") -> PolicyRule:
    return PolicyRule(LIST, f"m.policy.rule.{kind}", key, kind, entity, "spam")


def test_spec_rule_is_read() -> None:
    parsed = parse_policy_event(LIST, event(entity="@spam*:evil.org", recommendation="m.ban",
                                            reason="spam"))
    assert parsed == PolicyRule(LIST, "m.policy.rule.user", "rule1", "user", "@spam*:evil.org", "spam")


def test_legacy_mjolnir_types_and_recommendation_are_read() -> None:
    parsed = parse_policy_event(LIST, event("org.matrix.mjolnir.rule.server", entity="evil.org",
                                            recommendation="org.matrix.mjolnir.ban"))
    assert isinstance(parsed, PolicyRule) and parsed.kind == "server" and parsed.reason == ""


def test_empty_content_or_missing_entity_removes_the_rule() -> None:
    assert isinstance(parse_policy_event(LIST, event()), Removal)
    assert isinstance(parse_policy_event(LIST, event(recommendation="m.ban")), Removal)


def test_malformed_events_are_ignored_not_fatal() -> None:
    assert isinstance(parse_policy_event(LIST, event(entity="@x:y", recommendation="m.mute")), Ignored)
    assert isinstance(parse_policy_event(LIST, event(entity=42, recommendation="m.ban")), Ignored)
    assert isinstance(parse_policy_event(LIST, event(entity="*", recommendation="m.ban")), Ignored)
    assert isinstance(parse_policy_event(LIST, event(entity="@*:*", recommendation="m.ban")), Ignored)
    assert isinstance(parse_policy_event(LIST, event(entity="not a user", recommendation="m.ban")),
                      Ignored)
    assert parse_policy_event(LIST, {"type": "m.room.name", "state_key": "", "content": {}}) is None
    assert parse_policy_event(LIST, {"type": "m.policy.rule.user", "content": {}}) is None
    weird = {"type": "m.policy.rule.user", "state_key": "x", "content": "nope"}
    assert isinstance(parse_policy_event(LIST, weird), Removal)


def test_glob_validity_by_kind() -> None:
    assert valid_glob("user", "@*:evil.org")
    assert valid_glob("user", "@spam*:*")
    assert not valid_glob("user", "evil.org")
    assert valid_glob("server", "*.evil.org")
    assert not valid_glob("server", "evil org")
    assert valid_glob("room", "!abc:evil.org")
    assert not valid_glob("room", "abc")


def test_glob_index_matches_exact_prefix_suffix_and_other_globs() -> None:
    index = GlobIndex()
    index.add(rule("@alice:evil.org", "exact"))
    index.add(rule("@spam*:example.org", "prefix"))
    index.add(rule("@*:evil.net", "suffix"))
    index.add(rule("@?ot*", "other"))
    assert index.match("@ALICE:evil.org").state_key == "exact"  # type: ignore[union-attr]
    assert index.match("@spammer1:example.org").state_key == "prefix"  # type: ignore[union-attr]
    assert index.match("@anyone:evil.net").state_key == "suffix"  # type: ignore[union-attr]
    assert index.match("@bot42:good.org").state_key == "other"  # type: ignore[union-attr]
    assert index.match("@friend:example.org") is None
    assert index.match("@spam:example.org.evil") is None  # globs are anchored
    index.remove((LIST, "m.policy.rule.user", "prefix"))
    assert index.match("@spammer1:example.org") is None
    assert len(index) == 3


def test_policy_index_bans_users_through_server_rules_and_replaces_by_key() -> None:
    index = PolicyIndex()
    index.add(rule("*.evil.org", "s", kind="server"))
    assert index.match_user("@x:chat.evil.org") is not None
    assert index.match_user("@x:good.org") is None
    index.add(rule("@x:good.org", "u"))
    assert index.match_user("@x:good.org") is not None
    index.add(rule("@y:good.org", "u"))  # same key: the rule changed
    assert index.match_user("@x:good.org") is None
    assert index.server_globs() == ["*.evil.org"]
    assert len(index.drop_list(LIST)) == 2
    assert index.rules == {}


def test_many_rules_match_quickly_enough_to_be_a_set_lookup() -> None:
    index = PolicyIndex()
    for n in range(20_000):
        index.add(rule(f"@user{n}:spam.org", f"e{n}"))
    for n in range(2_000):
        index.add(rule(f"@bad{n}*:*", f"p{n}"))
    assert index.match_user("@user19999:spam.org") is not None
    assert index.match_user("@bad77xyz:any.org") is not None
    assert index.match_user("@good:any.org") is None
