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
from collections.abc import Sequence
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
    if not pattern.strip():
        raise PatternError(pattern, "pattern_empty")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(pattern, "pattern_too_long")
    try:
        compiled = _engine.compile(pattern, _engine.IGNORECASE)
    except Exception as exc:  # re.error / regex.error, and RecursionError on deep nesting
        raise PatternError(pattern, "pattern_invalid", str(getattr(exc, "msg", "")) or "") from None
    if nested_repetition(pattern):
        raise PatternError(pattern, "pattern_slow")
    if HAS_TIMEOUT:
        for probe in _PROBES:
            try:
                compiled.search(probe, timeout=PROBE_TIMEOUT)
            except TimeoutError:
                raise PatternError(pattern, "pattern_slow") from None


@dataclass(frozen=True)
class RuleHit:
    """Which rule matched: `kind` is "word" or "pattern", `index` its position in the list."""

    kind: str
    index: int
    rule: str


class TextRules:
    """A compiled word list and pattern list; build with `TextRules.build` (cached)."""

    def __init__(self, words: Sequence[str], patterns: Sequence[str]) -> None:
        self.words = tuple(words)
        self.patterns = tuple(patterns)
        self._single: dict[str, int] = {}
        self._phrases: list[tuple[str, int]] = []
        for index, word in enumerate(words):
            folded = " ".join(_WORD.findall(normalise(word)))
            if not folded:
                continue
            if " " in folded:
                self._phrases.append((f" {folded} ", index))
            else:
                self._single.setdefault(folded, index)
        self._compiled: list[Any] = []
        for pattern in patterns:
            try:
                self._compiled.append(_engine.compile(pattern, _engine.IGNORECASE))
            except Exception:
                # Settings are validated on the way in; a pattern stored by an
                # older version that no longer compiles is skipped, not fatal.
                self._compiled.append(None)
        usable = [f"(?:{p})" for p, c in zip(patterns, self._compiled, strict=True) if c is not None]
        self._combined: Any = None
        if usable:
            try:
                self._combined = _engine.compile("|".join(usable), _engine.IGNORECASE)
            except Exception:
                self._combined = None  # e.g. back-references: evaluated one by one
        self.timeouts = 0

    @staticmethod
    def build(words: Sequence[str], patterns: Sequence[str]) -> TextRules:
        return _cached(tuple(words), tuple(patterns))

    def __bool__(self) -> bool:
        return bool(self._single or self._phrases or self._combined or any(self._compiled))

    def match(self, text: str) -> RuleHit | None:
        """The first rule `text` breaks, or None; never runs longer than the time budget."""
        folded = normalise(text[:MAX_TEXT])
        if self._single or self._phrases:
            tokens = _WORD.findall(folded)
            for token in tokens:
                for form in _forms(token):
                    index = self._single.get(form)
                    if index is not None:
                        return RuleHit("word", index, self.words[index])
            if self._phrases:
                joined = f" {' '.join(tokens)} "
                for phrase, index in self._phrases:
                    if phrase in joined:
                        return RuleHit("word", index, self.words[index])
        if not self.patterns:
            return None
        return self._match_patterns(folded)

    def _match_patterns(self, folded: str) -> RuleHit | None:
        if self._combined is not None and self._search(self._combined, folded, -1) is None:
            return None
        for index, compiled in enumerate(self._compiled):
            if compiled is not None and self._search(compiled, folded, index) is not None:
                return RuleHit("pattern", index, self.patterns[index])
        return None

    def _search(self, compiled: Any, text: str, index: int) -> Any:
        if not HAS_TIMEOUT:
            return compiled.search(text)
        try:
            return compiled.search(text, timeout=MATCH_TIMEOUT)
        except TimeoutError:
            self.timeouts += 1
            log.warning("moderation pattern %s ran out of time; treated as no match", index)
            return None


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
