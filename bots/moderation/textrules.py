r"""Word and regex lists evaluated on decrypted, normalised text, time-bounded.

A member's message must never stall the bot:

- a room has at most `MAX_PATTERNS` patterns;
- patterns with nested repetition (`(a+)+`) or a backreference to a group of
  any length (`(b+)\1*c`, `(\w+)\s\1`) are refused when they are configured,
  and every other pattern is probed against adversarial inputs built from its
  own characters and literals (a run of `b` for `(b+)c`, `abab…` for
  `a.*b.*c.*d`), each probe as long as the longest text evaluated;
- all of a message's patterns together run under one budget
  (`MESSAGE_BUDGET`), each search under the `regex` module's timeout capped
  at what is left of it. The `regex` module releases the GIL while it matches
  a `str`, so the guard runs the patterns in a worker thread
  (`PatternRunner`) and the event loop, and other rooms, go on meanwhile.

A pattern that runs out of time, or is not reached because the budget is
spent, counts as "no match" for that message (a member is never punished
because the bot ran out of time); the scan says which patterns did not
finish, and the guard logs them by index and room, never with the text.
"""

from __future__ import annotations

import asyncio
import logging
import re
import re._constants as sre_constants  # type: ignore[import-not-found]  # only to find literals
import re._parser as sre_parser  # type: ignore[import-not-found]
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.textnorm import normalise

try:  # the `regex` module can stop a runaway match; the stdlib `re` cannot
    import regex as _engine  # type: ignore[import-untyped]

    HAS_TIMEOUT = True
except ImportError:  # pragma: no cover - exercised only without the dependency
    _engine = re
    HAS_TIMEOUT = False

log = logging.getLogger(__name__)

# Longest text evaluated per message: spam fits in far less, and it bounds the cost.
MAX_TEXT = 4000
# Time budget of one pattern's search, of all of a message's patterns together, and of
# each probe when configuring.
MATCH_TIMEOUT = 0.02
MESSAGE_BUDGET = 0.05
PROBE_TIMEOUT = 0.02
# The regex module's timeout has a floor below which it is not worth starting a search.
MIN_SEARCH_TIMEOUT = 0.001
MAX_PATTERN_LENGTH = 500
# Patterns per room (settings refuse more); the trigram index keeps 500 cheap per message.
MAX_PATTERNS = 500
_PROBES = ("a" * MAX_TEXT + "!", "aaaa " * (MAX_TEXT // 5) + "!", "x" * MAX_TEXT + "\n",
           "١" * MAX_TEXT + "؟", "a " * (MAX_TEXT // 2) + "!")
# Characters and literals taken from a pattern for its own probes, at most.
_PROBE_CHARS = 8
_PROBE_LITERALS = 6
_WORD = re.compile(r"\w+", re.UNICODE)
# Arabic writes the article and some particles onto the word (والمدرسة, بالمدرسة):
# a listed word matches with them too. Longest first; normalised forms.
_AR_PROCLITICS = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_QUANTIFIER_AFTER = re.compile(r"[*+]|\{\d*,\d*\}|\{\d{2,}\}")


class PatternError(ValueError):
    """A configured pattern was refused; `reason` says why (a catalog key)."""

    def __init__(self, pattern: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {pattern[:60]}")
        self.pattern = pattern
        self.reason = reason
        self.detail = detail


def nested_repetition(pattern: str) -> bool:
    """True when a repeated group itself contains repetition, like `(a+)+` or `(\\w*\\s)*`."""
    stack: list[bool] = []  # per open group: does it contain a quantifier?
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":  # a character class is one atom
            end = i + 1
            if end < len(pattern) and pattern[end] == "^":
                end += 1
            if end < len(pattern) and pattern[end] == "]":
                end += 1
            while end < len(pattern) and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            i = end + 1
            if stack and _QUANTIFIER_AFTER.match(pattern, i):
                stack[-1] = True
            continue
        if char == "(":
            stack.append(False)
        elif char == ")" and stack:
            inner = stack.pop()
            repeated = bool(_QUANTIFIER_AFTER.match(pattern, i + 1))
            if inner and repeated:
                return True
            if stack and (inner or repeated):
                stack[-1] = True
        elif char in "*+{" and stack and _QUANTIFIER_AFTER.match(pattern, i):
            stack[-1] = True
        i += 1
    return False


def check_pattern(pattern: str) -> None:
    """Refuse a pattern that is invalid, too long or could run for a long time."""
    problem = pattern_problem(pattern)
    if problem is not None:
        raise PatternError(pattern, *problem)


@lru_cache(maxsize=4096)
def pattern_problem(pattern: str) -> tuple[str, str] | None:
    """(reason, detail) when `pattern` is refused, else None; cached, since the
    settings model re-validates the whole list whenever a room's settings are read."""
    if not pattern.strip():
        return "pattern_empty", ""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return "pattern_too_long", ""
    try:
        compiled = _engine.compile(pattern, _engine.IGNORECASE)
    except Exception as exc:  # re.error / regex.error, and RecursionError on deep nesting
        return "pattern_invalid", str(getattr(exc, "msg", "")) or ""
    if nested_repetition(pattern):
        return "pattern_slow", ""
    parsed = _parse(pattern)
    if parsed is not None and unbounded_backreference(parsed):
        return "pattern_slow_backreference", ""
    if HAS_TIMEOUT:
        for probe in probes_for(pattern):
            try:
                compiled.search(probe, timeout=PROBE_TIMEOUT)
            except TimeoutError:
                return "pattern_slow", ""
    return None


def _parse(pattern: str) -> Any:
    """The stdlib parser's tree of `pattern`, or None (regex-module-only syntax, too deep)."""
    if _REGEX_ONLY.search(pattern):
        return None
    try:
        return sre_parser.parse(pattern, re.IGNORECASE)
    except Exception:
        return None


def unbounded_backreference(parsed: Any) -> bool:
    """True when a backreference refers to a group that can be any length.

    `(b+)\\1*c` and `(\\w+)\\s\\1` try every length of the group against every
    repetition of it: quadratic or worse in the text's length, which a member
    controls. A backreference to a group of bounded length (`(\\w)\\1{5}`) is fine.
    """
    widths: dict[int, int] = {}
    refs: list[int] = []

    def walk(items: Any) -> None:
        for op, value in items:
            if op is sre_constants.SUBPATTERN:
                if value[0] is not None:
                    widths[value[0]] = value[-1].getwidth()[1]
                walk(value[-1])
            elif op is sre_constants.GROUPREF:
                refs.append(value)
            elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
                        sre_constants.POSSESSIVE_REPEAT):
                walk(value[2])
            elif op is sre_constants.BRANCH:
                for branch in value[1]:
                    walk(branch)
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT, sre_constants.ATOMIC_GROUP):
                walk(value[-1] if op is not sre_constants.ATOMIC_GROUP else value)
            elif op is sre_constants.GROUPREF_EXISTS:
                refs.append(value[0])
                walk(value[1])
                if value[2] is not None:
                    walk(value[2])

    walk(parsed)
    return any(widths.get(ref, 0) >= sre_constants.MAXREPEAT for ref in refs)


def probes_for(pattern: str) -> list[str]:
    """Adversarial texts for `pattern`: the fixed probes, then runs and cycles of its own
    characters and literals, each as long as the longest text a message is cut to.

    A pattern that backtracks badly does so on long runs of what it matches
    (`(b+)c` on `bbbb…`, `a.*b.*c.*d` on `abab…`); fixed probes of `a` and `x` never
    reach a pattern about `b`.
    """
    probes = list(_PROBES)
    parsed = _parse(pattern)
    if parsed is None:
        return probes
    chars: list[str] = []
    for char in _chars_of(list(parsed)):
        folded = char.casefold()[:1]
        if folded and folded not in chars:
            chars.append(folded)
        if len(chars) >= _PROBE_CHARS:
            break
    literals = sorted({run.casefold() for run in _all_runs(list(parsed)) if len(run) > 1},
                      key=len, reverse=True)[:_PROBE_LITERALS]
    for char in chars:
        stop = "!" if char != "!" else "?"
        probes.append(char * MAX_TEXT + stop)
    if len(chars) > 2:  # the pattern's characters in turn, the last left out (never completing)
        probes.append(_fill("".join(chars[:-1])) + "!")
        probes.append(_fill(" ".join(chars[:-1]) + " ") + "!")
    for literal in literals:
        probes.append(_fill(literal) + "!")
        probes.append(_fill(literal + " ") + "!")
    return probes


def _fill(unit: str) -> str:
    return (unit * (MAX_TEXT // len(unit) + 1))[:MAX_TEXT]


_CATEGORY_SAMPLE = {
    sre_constants.CATEGORY_DIGIT: "1", sre_constants.CATEGORY_NOT_DIGIT: "a",
    sre_constants.CATEGORY_SPACE: " ", sre_constants.CATEGORY_NOT_SPACE: "a",
    sre_constants.CATEGORY_WORD: "a", sre_constants.CATEGORY_NOT_WORD: " ",
}


def _chars_of(items: list[Any]) -> Iterator[str]:
    """Characters the pattern's atoms match, in pattern order (one sample per class)."""
    for op, value in items:
        if op is sre_constants.LITERAL:
            yield chr(value)
        elif op is sre_constants.ANY:
            yield "a"
        elif op is sre_constants.IN:
            for kind, item in value:
                if kind is sre_constants.LITERAL:
                    yield chr(item)
                    break
                if kind is sre_constants.RANGE:
                    yield chr(item[0])
                    break
                if kind is sre_constants.CATEGORY and item in _CATEGORY_SAMPLE:
                    yield _CATEGORY_SAMPLE[item]
                    break
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
                    sre_constants.POSSESSIVE_REPEAT):
            yield from _chars_of(list(value[2]))
        elif op is sre_constants.SUBPATTERN:
            yield from _chars_of(list(value[-1]))
        elif op is sre_constants.ATOMIC_GROUP:
            yield from _chars_of(list(value))
        elif op is sre_constants.BRANCH:
            for branch in value[1]:
                yield from _chars_of(list(branch))
        elif op is sre_constants.CATEGORY and value in _CATEGORY_SAMPLE:
            yield _CATEGORY_SAMPLE[value]


def _all_runs(items: list[Any]) -> Iterator[str]:
    """Every run of literal characters in the pattern, optional or not."""
    run: list[str] = []
    for op, value in items:
        if op is sre_constants.LITERAL:
            run.append(chr(value))
            continue
        if run:
            yield "".join(run)
            run = []
        if op is sre_constants.SUBPATTERN:
            yield from _all_runs(list(value[-1]))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
                    sre_constants.POSSESSIVE_REPEAT):
            yield from _all_runs(list(value[2]))
        elif op is sre_constants.BRANCH:
            for branch in value[1]:
                yield from _all_runs(list(branch))
    if run:
        yield "".join(run)


@dataclass(frozen=True)
class RuleHit:
    """Which rule matched: `kind` is "word" or "pattern", `index` its position in the list."""

    kind: str
    index: int
    rule: str


class TextRules:
    """A compiled word list and pattern list; build with `TextRules.build` (cached).

    Cost per message stays flat as lists grow: words are set lookups on the
    message's folded words (each distinct word is normalised once, then
    cached), and a pattern runs only when a literal it requires appears in the
    text (found through a trigram index), so 500 patterns cost a few dict
    lookups for a message that cannot match any of them.
    """

    def __init__(self, words: Sequence[str], patterns: Sequence[str]) -> None:
        self.words = tuple(words)
        self.patterns = tuple(patterns)
        self._single: dict[str, int] = {}
        # first word of a phrase -> [(" phrase ", index)]: only phrases whose first word occurs are tried.
        self._phrases: dict[str, list[tuple[str, int]]] = {}
        for index, word in enumerate(words):
            folded = " ".join(_WORD.findall(normalise(word)))
            if not folded:
                continue
            if " " in folded:
                self._phrases.setdefault(folded.split(" ", 1)[0], []).append((f" {folded} ", index))
            else:
                self._single.setdefault(folded, index)
        self._compiled: list[Any] = []
        # trigram -> [(required literal, pattern index)]; patterns without one always run.
        self._by_trigram: dict[str, list[tuple[str, int]]] = {}
        # folded word -> the (literal, index) entries its trigrams point at; words repeat a lot.
        self._word_entries: dict[str, tuple[tuple[str, int], ...]] = {}
        self._always: list[int] = []
        for index, pattern in enumerate(patterns):
            try:
                self._compiled.append(_engine.compile(pattern, _engine.IGNORECASE))
            except Exception:
                # Settings are validated on the way in; a pattern stored by an
                # older version that no longer compiles is skipped, not fatal.
                self._compiled.append(None)
                continue
            literal = required_literal(pattern)
            # Keyed inside one word of the literal, so only the message's words need trigrams.
            piece = max(literal.split(), key=len, default="")
            if len(piece) >= 3:
                self._by_trigram.setdefault(piece[:3], []).append((literal, index))
            else:
                self._always.append(index)
        self.timeouts = 0

    @staticmethod
    def build(words: Sequence[str], patterns: Sequence[str]) -> TextRules:
        return _cached(tuple(words), tuple(patterns))

    def __bool__(self) -> bool:
        return bool(self._single or self._phrases or any(c is not None for c in self._compiled))

    def match(self, text: str) -> RuleHit | None:
        """The first rule `text` breaks, or None; never runs longer than the message budget."""
        return self.scan(text).hit

    def scan(self, text: str, *, budget: float = MESSAGE_BUDGET,
             clock: Callable[[], float] = time.perf_counter) -> Scan:
        """Words, then patterns under one budget for all of them; says what did not finish."""
        pending = self.prepare(text)
        if isinstance(pending, Scan):
            return pending
        return self.run_patterns(pending, budget=budget, clock=clock)

    def prepare(self, text: str) -> Scan | PendingPatterns:
        """The cheap part (words, phrases, which patterns can apply): a finished Scan, or
        the patterns still to run on the folded text (`run_patterns`, off the event loop)."""
        raw_words = text[:MAX_TEXT].split()
        if self._single:
            for raw in raw_words:
                for form in _word_forms(raw):
                    index = self._single.get(form)
                    if index is not None:
                        return Scan(RuleHit("word", index, self.words[index]))
        if not self._phrases and not self.patterns:
            return Scan(None)
        folded_words = [folded for folded in map(fold_word, raw_words) if folded]
        folded = " ".join(folded_words)
        if self._phrases:
            tokens = _WORD.findall(folded)
            joined = f" {' '.join(tokens)} "
            for token in set(tokens):
                for phrase, index in self._phrases.get(token, ()):
                    if phrase in joined:
                        return Scan(RuleHit("word", index, self.words[index]))
        candidates = [index for index in self._candidates(folded, folded_words)
                      if self._compiled[index] is not None]
        if not candidates:
            return Scan(None)
        return PendingPatterns(folded, tuple(candidates))

    def run_patterns(self, pending: PendingPatterns, *, budget: float = MESSAGE_BUDGET,
                     clock: Callable[[], float] = time.perf_counter) -> Scan:
        """Run the candidate patterns in order until one matches or the budget is spent.

        Each search may take `MATCH_TIMEOUT`, and never more than what is left of
        `budget`; once less than `MIN_SEARCH_TIMEOUT` is left, the remaining
        patterns are not started. Thread-safe: nothing here changes `self`
        except the `timeouts` counter.
        """
        started = clock()
        timed_out: list[int] = []
        ran = 0
        for position, index in enumerate(pending.candidates):
            left = budget - (clock() - started)
            if left < MIN_SEARCH_TIMEOUT:
                return Scan(None, ran=ran, timed_out=tuple(timed_out),
                            skipped=pending.candidates[position:])
            ran += 1
            found, finished = self._search(self._compiled[index], pending.folded,
                                           min(MATCH_TIMEOUT, left))
            if not finished:
                timed_out.append(index)
            elif found is not None:
                return Scan(RuleHit("pattern", index, self.patterns[index]), ran=ran,
                            timed_out=tuple(timed_out))
        return Scan(None, ran=ran, timed_out=tuple(timed_out))

    def _candidates(self, folded: str, folded_words: list[str]) -> list[int]:
        chosen = set(self._always)
        if self._by_trigram:
            for word in set(folded_words):
                entries = self._word_entries.get(word)
                if entries is None:
                    entries = self._entries_of(word)
                chosen.update(index for literal, index in entries if literal in folded)
        return sorted(chosen)

    def _entries_of(self, word: str) -> tuple[tuple[str, int], ...]:
        found: list[tuple[str, int]] = []
        for gram in {word[start:start + 3] for start in range(len(word) - 2)}:
            found.extend(self._by_trigram.get(gram, ()))
        if len(self._word_entries) >= 65536:
            self._word_entries.clear()  # bounded memory; rebuilt from the next messages
        entries = self._word_entries[word] = tuple(found)
        return entries

    def _search(self, compiled: Any, text: str, timeout: float) -> tuple[Any, bool]:
        """(match or None, finished in time)."""
        if not HAS_TIMEOUT:
            return compiled.search(text), True
        try:
            return compiled.search(text, timeout=timeout), True
        except TimeoutError:
            self.timeouts += 1
            return None, False


@dataclass(frozen=True)
class PendingPatterns:
    """Patterns that may match a message, still to run on its folded text."""

    folded: str
    candidates: tuple[int, ...]


@dataclass(frozen=True)
class Scan:
    """What one message's rules found; `timed_out` and `skipped` (pattern indices) did not
    finish, which counts as no match for them."""

    hit: RuleHit | None
    ran: int = 0
    timed_out: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()

    @property
    def unfinished(self) -> tuple[int, ...]:
        return self.timed_out + self.skipped

    @property
    def exhausted(self) -> bool:
        """The budget ran out before every pattern that could apply was tried."""
        return bool(self.skipped)


class PatternRunner:
    """Runs rooms' patterns in worker threads, one message of a room at a time.

    The `regex` module releases the GIL while it searches a `str`, so a slow
    search holds a worker, never the event loop. A room waits for its own
    previous message only: with `workers` threads, one room's rules occupy at
    most one of them, for at most one budget per message, and the other rooms'
    messages go on in the others.
    """

    def __init__(self, workers: int = 4, budget: float = MESSAGE_BUDGET) -> None:
        self.budget = budget
        self._pool = ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix="moderation-rules")
        self._rooms: dict[str, asyncio.Lock] = {}

    async def scan(self, room_id: str, rules: TextRules, text: str) -> Scan:
        pending = rules.prepare(text)
        if isinstance(pending, Scan):
            return pending
        lock = self._rooms.get(room_id)
        if lock is None:
            if len(self._rooms) > 10000:
                self._rooms = {room: held for room, held in self._rooms.items() if held.locked()}
            lock = self._rooms[room_id] = asyncio.Lock()
        async with lock:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._pool, lambda: rules.run_patterns(pending, budget=self.budget))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# The regex module's fuzzy matching (`{e<=1}`) and version-1 set syntax mean
# something else to the stdlib parser: no literal is assumed for those.
_REGEX_ONLY = re.compile(r"\{[^}]*[eisd]\s*[<=]|\(\?[a-zA-Z]*V1|\\[pPNX]")


def required_literal(pattern: str) -> str:
    """The longest run of characters every match of `pattern` contains (casefolded), or ''."""
    parsed = _parse(pattern)  # None: valid for the regex module only, or too deep: no shortcut
    if parsed is None:
        return ""
    best = max(_literal_runs(list(parsed)), key=len, default="")
    return best.casefold()


def _literal_runs(items: list[Any]) -> Iterator[str]:
    run: list[str] = []
    for op, value in items:
        if op is sre_constants.LITERAL:
            run.append(chr(value))
            continue
        if run:
            yield "".join(run)
            run = []
        if op is sre_constants.SUBPATTERN:
            yield from _literal_runs(list(value[-1]))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and value[0] >= 1:
            yield from _literal_runs(list(value[2]))
    if run:
        yield "".join(run)


def fold_words(raw_words: Sequence[str]) -> str:
    """`normalise` of a text already split on whitespace (the same result, word by word, cached)."""
    return " ".join(folded for folded in map(fold_word, raw_words) if folded)


@lru_cache(maxsize=65536)
def fold_word(word: str) -> str:
    """`normalise` of one whitespace-separated word, cached: messages reuse words."""
    return normalise(word)


@lru_cache(maxsize=65536)
def _word_forms(word: str) -> tuple[str, ...]:
    forms: list[str] = []
    for token in _WORD.findall(fold_word(word)):
        forms.extend(_forms(token))
    return tuple(forms)


def _forms(token: str) -> tuple[str, ...]:
    """The token, and for Arabic the token without an attached article or particle."""
    if not token or not "\u0600" <= token[0] <= "\u06ff":
        return (token,)
    forms = [token]
    for prefix in _AR_PROCLITICS:
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            forms.append(token[len(prefix):])
    return tuple(forms)


@lru_cache(maxsize=256)
def _cached(words: tuple[str, ...], patterns: tuple[str, ...]) -> TextRules:
    return TextRules(words, patterns)
