"""Behaviour protections, escalation and settings validation of the moderation plugin."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bots.moderation.guard import evaluate, step_for
from bots.moderation.protections import (
    Protections,
    check_mentions,
    check_newcomer_link,
    check_newcomer_media,
    has_link,
)
from bots.moderation.settings import ModerationSettings
from bots.moderation.target import Target, read_target, valid_user
from core.events import Message


def message(body: str, sender: str = "@m:x", mentions: frozenset[str] = frozenset()) -> Message:
    return Message(room_id="!r:x", event_id="$e", sender=sender, timestamp_ms=0, encrypted=True,
                   body=body, mentions=mentions)


def test_flood_fires_after_the_limit_within_the_window_only() -> None:
    protections = Protections()
    assert all(protections.check_flood("!r", "@a", t, 3, 10) is None for t in (0, 1, 2))
    assert protections.check_flood("!r", "@a", 3, 3, 10) is not None
    assert protections.check_flood("!r", "@b", 3, 3, 10) is None  # per member
    fresh = Protections()
    assert all(fresh.check_flood("!r", "@a", t * 20, 3, 10) is None for t in range(10))


def test_repeated_identical_messages_fire_in_any_spelling() -> None:
    protections = Protections()
    assert protections.check_repeat("!r", "@a", "BUY NOW", 0, 3, 60) is None
    assert protections.check_repeat("!r", "@a", "buy now", 1, 3, 60) is None
    assert protections.check_repeat("!r", "@a", "buy   now", 2, 3, 60) is not None
    assert protections.check_repeat("!r", "@a", "something else", 3, 3, 60) is None


def test_mentions_and_newcomer_links() -> None:
    body = "@a:x @b:x @c:x hello"
    assert check_mentions(body, frozenset({"@d:x"}), 3) is not None
    assert check_mentions(body, frozenset(), 3) is None
    assert has_link("see https://spam.example") and has_link("visit spam.xyz now")
    assert not has_link("no links, just words.")
    assert check_newcomer_link("go to www.x.org", joined_at=100, now=200, hours=1) is not None
    assert check_newcomer_link("go to www.x.org", joined_at=100, now=100 + 3601, hours=1) is None
    assert check_newcomer_link("go to www.x.org", joined_at=None, now=200, hours=1) is None
    assert check_newcomer_media(joined_at=100, now=200, hours=1) is not None
    assert check_newcomer_media(joined_at=100, now=100 + 3601, hours=1) is None
    assert check_newcomer_media(joined_at=100, now=200, hours=0) is None


def test_join_wave_counts_joins_in_the_window() -> None:
    protections = Protections()
    assert protections.join_wave("!r", 0, 3, 10) is None
    assert protections.join_wave("!r", 1, 3, 10) is None
    assert protections.join_wave("!r", 2, 3, 10) == 3
    assert protections.join_wave("!other", 2, 3, 10) is None
    assert protections.join_wave("!r", 2, 0, 10) is None  # off


def test_word_rule_wins_and_escalation_steps_follow_strikes() -> None:
    settings = ModerationSettings(words=["scam"], escalation=["warn", "redact+mute", "ban"])
    hit = evaluate(Protections(), settings, message("total SCAM here"), 0, None)
    assert hit is not None and hit.protection == "word_list"
    assert step_for(settings, 1) == ["warn"]
    assert step_for(settings, 2) == ["redact", "mute"]
    assert step_for(settings, 9) == ["ban"]


def test_settings_refuse_bad_values_in_both_languages() -> None:
    with pytest.raises(ValidationError) as caught:
        ModerationSettings(patterns=[r"(a+)+$"])
    text = str(caught.value)
    assert "nested repetition" in text and "تكرار" in text
    with pytest.raises(ValidationError):
        ModerationSettings(escalation=["redact+explode"])
    with pytest.raises(ValidationError):
        ModerationSettings(escalation=[])
    assert ModerationSettings(words=["  x ", ""]).words == ["x"]


def test_targets_and_user_ids() -> None:
    assert read_target("@a:x spam --all") == (Target("@a:x", True), "spam")
    assert read_target("--all @a:x being rude") == (Target("@a:x", True), "being rude")
    assert read_target("@a:x") == (Target("@a:x", False), "")
    assert read_target("@a:x  two  spaces") == (Target("@a:x", False), "two  spaces")
    for bad in ["--all", "", "alice spam", "--all alice"]:
        with pytest.raises(ValueError):
            read_target(bad)
    assert valid_user("@a.b_c:example.org:8448")
    for bad in ["a:x", "@a", "@a b:x", "@:x", "@a:x" + "y" * 300]:
        assert not valid_user(bad), bad


def test_every_message_has_english_and_arabic() -> None:
    from bots.moderation.messages import CATALOG

    assert CATALOG.problems() == []
