"""Word and regex lists evaluated on decrypted, normalised text, time-bounded.

A member's message must never stall the bot: patterns with nested repetition
are refused when they are configured, every configured pattern is probed
against adversarial inputs, and each evaluation runs under a time budget
(the `regex` module's timeout). A pattern that still runs out of time counts
as "no match" for that message and is reported by index, never with the text.
"""

from __future__ import annotations

import logging
import re
import re._constants as sre_constants  # type: ignore[import-not-found]  # only to find literals
import re._parser as sre_parser  # type: ignore[import-not-found]
from collections.abc import Iterator, Sequence
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
# Time budget of one message's regex evaluation, and of each probe when configuring.
MATCH_TIMEOUT = 0.02
PROBE_TIMEOUT = 0.02
MAX_PATTERN_LENGTH = 500
_PROBES = ("a" * 3000 + "!", "aaaa " * 600 + "!", "x" * 3000 + "\n", "١" * 2000 + "؟")
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
    if HAS_TIMEOUT:
        for probe in _PROBES:
            try:
                compiled.search(probe, timeout=PROBE_TIMEOUT)
            except TimeoutError:
                return "pattern_slow", ""
    return None


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
        """The first rule `text` breaks, or None; never runs longer than the time budget."""
        raw_words = text[:MAX_TEXT].split()
        if self._single:
            for raw in raw_words:
                for form in _word_forms(raw):
                    index = self._single.get(form)
                    if index is not None:
                        return RuleHit("word", index, self.words[index])
        if not self._phrases and not self.patterns:
            return None
        folded_words = [folded for folded in map(fold_word, raw_words) if folded]
        folded = " ".join(folded_words)
        if self._phrases:
            tokens = _WORD.findall(folded)
            joined = f" {' '.join(tokens)} "
            for token in set(tokens):
                for phrase, index in self._phrases.get(token, ()):
                    if phrase in joined:
                        return RuleHit("word", index, self.words[index])
        for index in self._candidates(folded, folded_words):
            compiled = self._compiled[index]
            if compiled is not None and self._search(compiled, folded, index) is not None:
                return RuleHit("pattern", index, self.patterns[index])
        return None

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

    def _search(self, compiled: Any, text: str, index: int) -> Any:
        if not HAS_TIMEOUT:
            return compiled.search(text)
        try:
            return compiled.search(text, timeout=MATCH_TIMEOUT)
        except TimeoutError:
            self.timeouts += 1
            log.warning("moderation pattern %s ran out of time; treated as no match", index)
            return None


# The regex module's fuzzy matching (`{e<=1}`) and version-1 set syntax mean
# something else to the stdlib parser: no literal is assumed for those.
_REGEX_ONLY = re.compile(r"\{[^}]*[eisd]\s*[<=]|\(\?[a-zA-Z]*V1|\\[pPNX]")


def required_literal(pattern: str) -> str:
    """The longest run of characters every match of `pattern` contains (casefolded), or ''."""
    if _REGEX_ONLY.search(pattern):
        return ""
    try:
        parsed = sre_parser.parse(pattern, re.IGNORECASE)
    except Exception:  # valid for the regex module only, or too deep: no shortcut
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
