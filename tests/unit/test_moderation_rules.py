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


# -- bounded work per message ---------------------------------------------------------


class FakeClock:
    """A clock that moves `step` seconds each time it is read: time spent by counting."""

    def __init__(self, step: float) -> None:
        self.now, self.step, self.reads = 0.0, step, 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.step
        return self.now


def test_all_of_a_messages_patterns_share_one_budget() -> None:
    # 20 patterns that must all run (no literal to skip them by) and never match.
    patterns = [rf"^{letter}\d" for letter in "cdefghijklmnopqrstu"] + [r"^v\d"]
    rules = TextRules([], patterns)
    clock = FakeClock(step=0.01)  # each pattern "costs" 10 ms
    scan = rules.scan("an ordinary message", budget=0.05, clock=clock)
    # Started at t=0.01; patterns start at 0.02..0.05 (left >= 1 ms), the rest never run.
    assert scan.hit is None and scan.exhausted
    assert scan.ran == 4
    assert scan.skipped == tuple(range(4, 20))
    assert scan.unfinished == tuple(range(4, 20))
    # With time to spare every pattern runs and nothing is left over.
    full = rules.scan("an ordinary message", budget=10.0, clock=FakeClock(step=0.0001))
    assert full.ran == 20 and not full.unfinished and not full.exhausted


def test_a_match_before_the_budget_is_spent_still_counts() -> None:
    rules = TextRules([], [r"^c\d", r"^d\d", r"scam\d"])
    scan = rules.scan("a scam7 here", budget=1.0, clock=FakeClock(step=0.001))
    assert scan.hit is not None and scan.hit.index == 2 and not scan.unfinished


@pytest.mark.skipif(not HAS_TIMEOUT, reason="needs the regex module")
def test_twenty_slow_patterns_stop_at_the_message_budget() -> None:
    # Built directly, as if stored before the stronger checks: each would time out alone.
    slow = [rf"(b+)\1*{letter}" for letter in "cdefghijklmnopqrstuv"]
    rules = TextRules([], slow)
    scan = rules.scan("b" * 4000, budget=0.05)
    assert scan.hit is None and scan.exhausted
    # Each search gets at most 20 ms, so a 50 ms budget lets at most 3 (the last one
    # with what is left) start, give or take the timer's grain; the others never run.
    assert 1 <= scan.ran <= 5
    assert len(scan.timed_out) == scan.ran
    assert len(scan.unfinished) == 20


@pytest.mark.parametrize("pattern", [r"(b+)\1*c", r"(b+)\1c", r"(\w+)\s\1", r"(?P<x>a+)(?P=x)"])
def test_backreferences_to_groups_of_any_length_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError) as caught:
        check_pattern(pattern)
    assert caught.value.reason == "pattern_slow_backreference"


@pytest.mark.skipif(not HAS_TIMEOUT, reason="needs the regex module")
@pytest.mark.parametrize("pattern", [r"a.*b.*c.*d", r"(a|aa)+$", r"(x|xx)+y"])
def test_probes_built_from_the_pattern_catch_what_the_fixed_probes_missed(pattern: str) -> None:
    with pytest.raises(PatternError) as caught:
        check_pattern(pattern)
    assert caught.value.reason == "pattern_slow"


def test_the_probes_of_a_pattern_use_its_own_characters() -> None:
    from bots.moderation.textrules import MAX_TEXT, probes_for

    probes = probes_for(r"(b+)\1*c")
    assert "b" * MAX_TEXT + "!" in probes
    assert all(len(probe) <= MAX_TEXT + 1 for probe in probes)


@pytest.mark.parametrize("pattern", [r"(\w)\1{5}", r"fr[e3]{2}\s*crypto", r"t\.me/\w+",
                                     r"\w+@\w+\.com", r"(?:buy|اشتري)\s+money5",
                                     r"\bspam[0-9]{2}(bar)+", r"money5\.(xyz|top|ru)"])
def test_ordinary_patterns_pass_the_stronger_checks(pattern: str) -> None:
    check_pattern(pattern)


def test_a_room_may_have_at_most_max_patterns() -> None:
    from pydantic import ValidationError

    from bots.moderation.settings import ModerationSettings
    from bots.moderation.textrules import MAX_PATTERNS

    ModerationSettings(patterns=[f"word{n}" for n in range(MAX_PATTERNS)])
    with pytest.raises(ValidationError) as caught:
        ModerationSettings(patterns=[f"word{n}" for n in range(MAX_PATTERNS + 1)])
    message = str(caught.value)
    assert f"at most {MAX_PATTERNS} patterns per room" in message
    assert "نمط على الأكثر في كل غرفة" in message  # and in Arabic


async def test_the_runner_keeps_the_event_loop_free_while_patterns_run() -> None:
    import asyncio

    from bots.moderation.textrules import PatternRunner

    runner = PatternRunner(workers=2, budget=0.05)
    try:
        slow = TextRules([], [rf"(b+)\1*{letter}" for letter in "cdefghijklmnopqrstuv"])
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        beating = asyncio.create_task(heartbeat())
        scan = await runner.scan("!slow:x", slow, "b" * 4000)
        beating.cancel()
        assert scan.exhausted
        # The loop went round while the worker searched (on the loop it would be 0 ticks).
        assert ticks > 1
        # Words are decided on the loop, without a worker.
        words = TextRules(["scam"], [])
        assert (await runner.scan("!other:x", words, "a scam")).hit is not None
    finally:
        runner.close()
