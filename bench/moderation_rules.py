"""Bounded work per message: a room's slow regex rules, before vs after the per-message budget.

A measurement, not a test: it prints figures and asserts nothing about time.

    .venv/bin/python bench/moderation_rules.py            # ~15 s
    .venv/bin/python bench/moderation_rules.py --messages 5

A room holds 20 slow patterns (`(b+)\\1*c`-like, as stored before the stronger
checks) and members send adversarial messages (4,000 times `b`). "Before" is the
previous matcher, reproduced here: every pattern in turn on the event loop, each
under its own 20 ms timeout, no total. "After" is `PatternRunner` (worker threads,
one 50 ms budget per message for all patterns). Figures:

1. pattern time per adversarial message (wall, p50 / max);
2. the event loop's longest stall while such a message is evaluated (a task
   ticking every 1 ms measures the largest gap between ticks);
3. another room's ordinary message (20 ordinary patterns) sent while the slow
   room's message is being evaluated: time until its rules are decided;
4. the cost of the worker hop for an ordinary message (thread vs inline);
5. configuration: how many of the 20 slow patterns the old and the new checks
   accept, and the new check's time per pattern (probes included).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bots.moderation import textrules
from bots.moderation.textrules import (
    MATCH_TIMEOUT,
    PatternRunner,
    TextRules,
    fold_words,
    nested_repetition,
    pattern_problem,
)

SLOW = [rf"(b+)\1*{letter}" for letter in "cdefghijklmnopqrstuv"]
ORDINARY = [rf"fr[e3]{{2}}\s*crypto{n}" for n in range(10)] + [rf"t\.me/spam{n}\w*" for n in range(10)]
ATTACK = "b" * 4000
CHAT = "the meeting is at six tomorrow, see t.me/spam3channel for the rota"
OLD_PROBES = ("a" * 3000 + "!", "aaaa " * 600 + "!", "x" * 3000 + "\n", "١" * 2000 + "؟")


def old_check(pattern: str) -> bool:
    """The previous configuration check: True when it accepted the pattern."""
    compiled = textrules._engine.compile(pattern, textrules._engine.IGNORECASE)
    if nested_repetition(pattern):
        return False
    for probe in OLD_PROBES:
        try:
            compiled.search(probe, timeout=0.02)
        except TimeoutError:
            return False
    return True


def old_match(rules: TextRules, text: str) -> object:
    """The previous matcher: each candidate pattern under its own timeout, no total, inline."""
    folded = fold_words(text[:textrules.MAX_TEXT].split())
    for compiled in rules._compiled:
        try:
            found = compiled.search(folded, timeout=MATCH_TIMEOUT)
        except TimeoutError:
            continue
        if found is not None:
            return found
    return None


async def stall_while(work: object) -> tuple[float, float]:
    """(seconds the work took, the longest gap between 1 ms ticks of another task meanwhile)."""
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)
    started = time.perf_counter()
    await work  # type: ignore[misc]
    took = time.perf_counter() - started
    await asyncio.sleep(0.002)
    task.cancel()
    return took, max(gaps)


async def inline(call: object) -> object:
    return call()  # type: ignore[operator]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def run(messages: int) -> None:
    slow = TextRules([], SLOW)
    ordinary = TextRules([], ORDINARY)
    runner = PatternRunner()
    try:
        print(f"1. pattern time per adversarial message, 20 slow patterns, {messages} messages")
        for label, evaluate in (
            ("before (inline, 20 ms each, no total)", lambda: inline(lambda: old_match(slow, ATTACK))),
            ("after (worker, 50 ms per message)   ", lambda: runner.scan("!slow:x", slow, ATTACK)),
        ):
            times = []
            for _ in range(messages):
                started = time.perf_counter()
                await evaluate()
                times.append(time.perf_counter() - started)
            print(f"   {label}: p50 {ms(statistics.median(times))}  max {ms(max(times))}")
        before_took = statistics.median([(await stall_while(
            inline(lambda: old_match(slow, ATTACK))))[0] for _ in range(3)])

        print("2. longest event-loop stall while one adversarial message is evaluated")
        stalls_before = [(await stall_while(inline(lambda: old_match(slow, ATTACK))))[1]
                         for _ in range(messages)]
        stalls_after = [(await stall_while(runner.scan("!slow:x", slow, ATTACK)))[1]
                        for _ in range(messages)]
        b, a = statistics.median(stalls_before), statistics.median(stalls_after)
        print(f"   before: {ms(b)}   after: {ms(a)}   ratio {b / a:.0f}x")

        print("3. another room's ordinary message sent during the slow room's message")
        for label, slow_call, other_call in (
            ("before", lambda: inline(lambda: old_match(slow, ATTACK)),
             lambda: inline(lambda: old_match(ordinary, CHAT))),
            ("after ", lambda: runner.scan("!slow:x", slow, ATTACK),
             lambda: runner.scan("!other:x", ordinary, CHAT)),
        ):
            waits = []
            for _ in range(messages):
                # Both arrive together, the slow room's message first (as the loop would run them).
                arrived = time.perf_counter()
                first = asyncio.ensure_future(slow_call())
                second = asyncio.ensure_future(other_call())
                await second
                waits.append(time.perf_counter() - arrived)
                await first
            print(f"   {label}: other room decided after p50 {ms(statistics.median(waits))}"
                  f"  max {ms(max(waits))}")

        print("4. an ordinary message with 20 candidate patterns: worker hop vs inline")
        for label, call in (("inline", lambda: inline(lambda: ordinary.scan(CHAT))),
                            ("worker", lambda: runner.scan("!other:x", ordinary, CHAT))):
            times = []
            for _ in range(300):
                started = time.perf_counter()
                await call()
                times.append(time.perf_counter() - started)
            print(f"   {label}: p50 {statistics.median(times) * 1e6:.0f} us"
                  f"  p99 {sorted(times)[int(len(times) * 0.99)] * 1e6:.0f} us")
        print(f"   (for scale: one adversarial message before took {ms(before_took)})")
    finally:
        runner.close()

    print("5. configuration checks on the 20 slow patterns")
    accepted_old = sum(old_check(pattern) for pattern in SLOW)
    started = time.perf_counter()
    accepted_new = sum(pattern_problem(pattern) is None for pattern in SLOW)
    per = (time.perf_counter() - started) / len(SLOW)
    print(f"   old check accepted {accepted_old}/20, new check accepted {accepted_new}/20 "
          f"({pattern_problem(SLOW[0])[0]}); new check {per * 1e6:.0f} us per pattern")  # type: ignore[index]
    ordinary_started = time.perf_counter()
    pattern_problem.cache_clear()
    assert all(pattern_problem(pattern) is None for pattern in ORDINARY)
    print(f"   new check on 20 ordinary patterns: "
          f"{ms((time.perf_counter() - ordinary_started) / len(ORDINARY))} per pattern (probes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10, help="adversarial messages per figure")
    args = parser.parse_args()
    asyncio.run(run(args.messages))


if __name__ == "__main__":
    main()
