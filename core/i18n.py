"""Message catalogs: every user-facing string, in every supported language.

A catalog keeps each message's translations side by side, so a missing
translation is visible in review and caught by `Catalog.problems()` in tests.
Values supplied by users are wrapped in Unicode bidi isolates so Arabic and
Latin text mix without scrambling the sentence around them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "ar")
LANGUAGE_NAMES = {"en": "English", "ar": "العربية"}
RTL_LANGUAGES = frozenset({"ar"})

FSI = "\u2068"  # first strong isolate: direction taken from the text itself
LRI = "\u2066"  # left-to-right isolate
PDI = "\u2069"  # pop directional isolate
RLM = "\u200f"  # right-to-left mark: a strong R character that shows nothing


ISOLATE_INITIATORS = frozenset("\u2066\u2067\u2068")  # LRI, RLI, FSI


def isolate(text: str) -> str:
    """Wrap user-supplied text so its direction cannot leak into ours.

    The user's own isolates are balanced first: a stray PDI would otherwise
    close our isolate early, and an unclosed one would swallow our PDI.
    """
    if PDI in text or not ISOLATE_INITIATORS.isdisjoint(text):
        depth = 0
        kept = []
        for char in text:
            if char in ISOLATE_INITIATORS:
                depth += 1
            elif char == PDI:
                if depth == 0:
                    continue
                depth -= 1
            kept.append(char)
        text = "".join(kept) + PDI * depth
    return f"{FSI}{text}{PDI}"


# A Latin run an Arabic sentence must show as typed: a command with its
# arguments (`!checkin <when> [note]`), a Matrix id, a link. Its punctuation
# (`!`, `@`, `<`, `:`) is neutral for the bidi algorithm and would otherwise
# take the sentence's direction: Element showed `!safe` as `safe!`.
_LATIN_RUN = re.compile(
    r"(?:[!@#]|https?://|<|\[)[^\s\u0590-\u08ff\u2066-\u2069]*"
    r"(?:[ \t]+[^\s\u0590-\u08ff\u2066-\u2069\u2014\u2022]+)*"
)
_TRAILING = ".,;:?!)»\"'"


def shape_rtl(text: str) -> str:
    """Make a right-to-left message read right in Element (which lays it out with dir=auto).

    Every Latin run (commands, ids, links) outside the isolates already there
    is put in a left-to-right isolate, and each line starts with a right-to-left
    mark, so its first strong character matches its language. Idempotent.
    """
    lines = []
    for line in text.split("\n"):
        shaped = _isolate_latin_runs(line)
        if shaped.strip() and not shaped.startswith(RLM):
            shaped = RLM + shaped
        lines.append(shaped)
    return "\n".join(lines)


def _isolate_latin_runs(line: str) -> str:
    out: list[str] = []
    depth = 0
    position = 0
    while position < len(line):
        char = line[position]
        if char in ISOLATE_INITIATORS:
            depth += 1
        elif char == PDI:
            depth = max(0, depth - 1)
        elif depth == 0:
            match = _LATIN_RUN.match(line, position)
            run = match.group(0).rstrip(_TRAILING) if match else ""
            if len(run) > 1:  # a lone `!` or `[` is punctuation, not a token
                out.append(f"{LRI}{run}{PDI}")
                position += len(run)
                continue
        out.append(char)
        position += 1
    return "".join(out)


class Trusted(str):
    """A value made by the bot itself (e.g. a list of command names) that is not isolated."""


class CatalogError(KeyError):
    """A message id that no catalog holds (a programming error, caught by tests)."""


class Catalog:
    """Messages of one owner (core or a plugin), keyed by a stable id."""

    def __init__(self, owner: str, messages: Mapping[str, Mapping[str, str]]) -> None:
        self.owner = owner
        self.messages = dict(messages)

    def text(self, key: str, language: str, /, **values: Any) -> str:
        """The message in `language` (English when absent), with values filled in."""
        try:
            forms = self.messages[key]
        except KeyError:
            raise CatalogError(f"{self.owner}: no message {key!r}") from None
        template = forms.get(language) or forms["en"]
        text = template.format_map(
            {name: _render(value) for name, value in values.items()}
        )
        return shape_rtl(text) if language in RTL_LANGUAGES and language in forms else text

    def problems(self) -> list[str]:
        """Missing languages or placeholders that differ between languages."""
        found = []
        for key, forms in self.messages.items():
            english = _placeholders(forms.get("en", ""))
            for language in LANGUAGES:
                if not forms.get(language):
                    found.append(f"{self.owner}.{key}: no {language} text")
                elif _placeholders(forms[language]) != english:
                    found.append(f"{self.owner}.{key}: {language} placeholders differ from en")
        return found


def _render(value: Any) -> str:
    if isinstance(value, Trusted | int | float):
        return str(value)
    return isolate(str(value))


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def normalise_language(value: str) -> str | None:
    """`ar`, `AR`, `ar-EG`, `arabic`, `العربية` → `ar`; None if unsupported."""
    cleaned = value.strip().lower().replace("_", "-")
    base = cleaned.split("-", 1)[0]
    if base in LANGUAGES:
        return base
    for code, name in LANGUAGE_NAMES.items():
        if cleaned == name.lower():
            return code
    aliases = {"english": "en", "arabic": "ar", "عربي": "ar", "عربية": "ar"}
    return aliases.get(cleaned)
