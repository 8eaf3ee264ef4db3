"""Message catalogs: every user-facing string, in every supported language.

A catalog keeps each message's translations side by side, so a missing
translation is visible in review and caught by `Catalog.problems()` in tests.
Values supplied by users are wrapped in Unicode bidi isolates so Arabic and
Latin text mix without scrambling the sentence around them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Literal

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
    # Then more Latin words, and a usage's <argument> and [argument] groups in any
    # script (`!suggest <رابط> [ملاحظة]` is typed as one left-to-right line).
    r"(?:[ \t]+(?:<[^>\n\u2066-\u2069]*>|\[[^\]\n\u2066-\u2069]*\]"
    r"|[^\s\u0590-\u08ff\u2066-\u2069\u2014\u2022]+))*"
)
# A `code span` is one left-to-right unit, Arabic words inside included.
_CODE_SPAN = re.compile(r"`[^`\n\u2066-\u2069]+`")
_TRAILING = ".,;:?!)»\"'("  # a run's last `(` opens the Arabic that follows


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
        elif depth == 0 and char == "`" and (span := _CODE_SPAN.match(line, position)):
            out.append(f"{LRI}{span.group(0)}{PDI}")
            position = span.end()
            continue
        elif depth == 0:
            match = _LATIN_RUN.match(line, position)
            run = match.group(0).rstrip(_TRAILING + " \t") if match else ""
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


# -- words that depend on the reader's language ------------------------------------


def join_list(items: Iterable[str], language: str,
              conjunction: Literal["and", "or"] | None = "and") -> str:
    """`a, b and c` / `أ، ب وج`: a list read as a sentence in `language`.

    Arabic separates with the Arabic comma and joins the last item with و
    (written onto the word) or أو; `conjunction=None` only separates. Items are
    joined as given: isolate user-supplied ones first.
    """
    shown = list(items)
    arabic = language == "ar"
    separator = "، " if arabic else ", "
    if conjunction is None or len(shown) < 2:
        return separator.join(shown)
    if arabic:
        last = f" و{shown[-1]}" if conjunction == "and" else f" أو {shown[-1]}"
    else:
        last = f" {conjunction} {shown[-1]}"
    return separator.join(shown[:-1]) + last


# Arabic counted nouns: (one, two in the oblique case that reads right after
# خلال/بعد/منذ, three to ten, eleven to ninety-nine). `1 ساعة` and `2 ساعة`
# are wrong in Arabic: one and two are said by the noun alone.
_ARABIC_UNITS = {
    "day": ("يوم", "يومين", "أيام", "يوماً"),
    "hour": ("ساعة", "ساعتين", "ساعات", "ساعة"),
    "minute": ("دقيقة", "دقيقتين", "دقائق", "دقيقة"),
    "second": ("ثانية", "ثانيتين", "ثوانٍ", "ثانية"),
}
_ENGLISH_UNITS = {"day": ("day", "days"), "hour": ("h", "h"), "minute": ("min", "min"),
                  "second": ("s", "s")}


def _arabic_count(count: int, unit: str) -> str:
    one, two, few, many = _ARABIC_UNITS[unit]
    if count == 1:
        return one
    if count == 2:
        return two
    rest = count % 100
    if 3 <= rest <= 10:
        return f"{count} {few}"
    if rest >= 11:
        return f"{count} {many}"
    return f"{count} {one}"  # 100, 101, 102…: the noun in the singular


def format_duration(value: timedelta | float, language: str) -> str:
    """A duration as a reader says it: `1 h 59 min` / `ساعة و59 دقيقة`.

    Seconds (a float) or a timedelta; at most the two largest units, so a
    multi-day check-in reads `2 days 3 h`, and seconds only under a minute.
    Rounded down: "1 h 59 min left" must not promise the 2 h that are not left.
    """
    seconds = int(max(0.0, value.total_seconds() if isinstance(value, timedelta) else value))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    first = next((i for i, (count, _) in enumerate(parts) if count), None)
    counted = [(secs, "second")] if first is None else [
        (count, unit) for count, unit in parts[first:first + 2] if count]
    if language == "ar":
        return " و".join(_arabic_count(count, unit) for count, unit in counted)
    return " ".join(
        f"{count} {_ENGLISH_UNITS[unit][count != 1]}" for count, unit in counted)


# Names of the languages people write and search in, in each reader's language.
# A language chooser shows LANGUAGE_NAMES (each in its own script) instead, so
# a reader finds their own language whatever the current one is.
_LANGUAGE_NAMES_IN: dict[str, dict[str, str]] = {
    "en": {
        "am": "Amharic", "ar": "Arabic", "az": "Azerbaijani", "bg": "Bulgarian",
        "bn": "Bengali", "ckb": "Sorani Kurdish", "da": "Danish", "de": "German",
        "el": "Greek", "en": "English", "es": "Spanish", "fa": "Persian", "fi": "Finnish",
        "fr": "French", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "hy": "Armenian",
        "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ka": "Georgian",
        "ko": "Korean", "ku": "Kurdish", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
        "ps": "Pashto", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
        "so": "Somali", "sq": "Albanian", "sr": "Serbian", "sv": "Swedish",
        "sw": "Swahili", "ti": "Tigrinya", "tr": "Turkish", "uk": "Ukrainian",
        "ur": "Urdu", "zh": "Chinese",
    },
    "ar": {
        "am": "الأمهرية", "ar": "العربية", "az": "الأذربيجانية", "bg": "البلغارية",
        "bn": "البنغالية", "ckb": "الكردية السورانية", "da": "الدنماركية", "de": "الألمانية",
        "el": "اليونانية", "en": "الإنجليزية", "es": "الإسبانية", "fa": "الفارسية",
        "fi": "الفنلندية", "fr": "الفرنسية", "he": "العبرية", "hi": "الهندية",
        "hu": "المجرية", "hy": "الأرمنية", "id": "الإندونيسية", "it": "الإيطالية",
        "ja": "اليابانية", "ka": "الجورجية", "ko": "الكورية", "ku": "الكردية",
        "nl": "الهولندية", "no": "النرويجية", "pl": "البولندية", "ps": "البشتو",
        "pt": "البرتغالية", "ro": "الرومانية", "ru": "الروسية", "so": "الصومالية",
        "sq": "الألبانية", "sr": "الصربية", "sv": "السويدية", "sw": "السواحلية",
        "ti": "التغرينية", "tr": "التركية", "uk": "الأوكرانية", "ur": "الأردية",
        "zh": "الصينية",
    },
}


def language_name(code: str, language: str) -> str:
    """`fr` → `French` for an English reader, `الفرنسية` for an Arabic one; unknown codes as given."""
    names = _LANGUAGE_NAMES_IN.get(language, _LANGUAGE_NAMES_IN["en"])
    return names.get(code.strip().lower(), code)
