"""Word and regex lists of the moderation plugin: normalised matching and time-bounded patterns."""

from __future__ import annotations

import time

import pytest

from bots.moderation.durations import parse_duration
from bots.moderation.textrules import (
    HAS_TIMEOUT,
    PatternError,
    TextRules,
    check_pattern,
    nested_repetition,
    required_literal,
)


def test_words_match_any_spelling_of_arabic_and_latin() -> None:
    rules = TextRules(["مدرسة", "Café", "free money"], [])
    # taa marbuta written as haa, with diacritics and tatweel
    assert rules.match("اذهب إلى المَدرســه الآن") is not None
    assert rules.match("meet at the CAFE tonight").rule == "Café"  # type: ignore[union-attr]
    assert rules.match("get FREE   money here").rule == "free money"  # type: ignore[union-attr]
    assert rules.match("a cafeteria and freedom") is None  # whole words only


def test_invisible_characters_do_not_hide_a_word() -> None:
    rules = TextRules(["spam"], [])
    assert rules.match("s\u200bpam") is not None


def test_patterns_run_on_normalised_text() -> None:
    rules = TextRules([], [r"fr[e3]{2}\s*crypto", r"t\.me/\w+"])
    hit = rules.match("Get FRÉE crypto")
    assert hit is not None and hit.kind == "pattern" and hit.index == 0
    assert rules.match("join t.me/scam now").index == 1  # type: ignore[union-attr]
    assert rules.match("nothing to see") is None


def test_backreferences_work() -> None:
    rules = TextRules([], [r"(\w)\1{5}"])
    assert rules.match("aaaaaaa") is not None
    assert rules.match("abcdef") is None


def test_nested_repetition_is_detected() -> None:
    for slow in [r"(a+)+$", r"(\w*\s)*x", r"((ab)*)+", r"(x+x+)+y", r"([a-z]+)*!"]:
        assert nested_repetition(slow), slow
    for fine in [r"a+b+", r"(ab)+", r"[(+]+", r"\(a+\)+", r"(a|b){2,3}", r"(?:foo)?bar+"]:
        assert not nested_repetition(fine), fine


@pytest.mark.parametrize(("pattern", "reason"), [
    ("", "pattern_empty"),
    ("(unclosed", "pattern_invalid"),
    ("x" * 501, "pattern_too_long"),
    (r"(a+)+$", "pattern_slow"),
    (r"^(\w+\s?)*$", "pattern_slow"),
])
def test_bad_patterns_are_refused_with_a_reason(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError) as caught:
        check_pattern(pattern)
    assert caught.value.reason == reason


@pytest.mark.skipif(not HAS_TIMEOUT, reason="needs the regex module")
def test_a_slow_pattern_that_slipped_through_cannot_stall_a_message() -> None:
    # Built directly (as if stored by an older version), bypassing the settings check.
    rules = TextRules([], [r"(a|aa)+$"])
    started = time.perf_counter()
    assert rules.match("a" * 3000 + "!") is None
    assert time.perf_counter() - started < 1.0
    assert rules.timeouts >= 1


def test_durations() -> None:
    assert parse_duration("30s") == 30
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2D") == 172800
    for bad in ["", "1x", "h", "-1h", "1h junk", "400d", "0m"]:
        assert parse_duration(bad) is None, bad


def test_required_literals_only_name_what_every_match_contains() -> None:
    assert required_literal(r"(?:buy|get)\s+Money5") == "money5"
    assert required_literal(r"\bspam[0-9]{2}(bar)+") == "spam"
    assert required_literal(r"(?!forbidden)xyz") == "xyz"  # never what must be absent
    assert required_literal(r"(?:optional)?yy") == "yy"  # nor what may be absent
    assert required_literal(r"(?:abc){e<=1}") == ""  # regex-module fuzzy match: no shortcut


def test_the_literal_prefilter_never_hides_a_match() -> None:
    patterns = [r"(?:optional)?zz", r"(?i)CASE\s+matters", r"t\.me/\w+", r"(?:abc){e<=1}"]
    rules = TextRules([], patterns)
    assert rules.match("zz").index == 0  # type: ignore[union-attr]
    assert rules.match("case    MATTERS").index == 1  # type: ignore[union-attr]
    assert rules.match("see T.ME/spam").index == 2  # type: ignore[union-attr]
    if HAS_TIMEOUT:
        assert rules.match("abd").index == 3  # type: ignore[union-attr]
