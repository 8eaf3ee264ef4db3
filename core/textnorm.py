"""Text normalisation for matching: Arabic letter-form folding and Latin case/accent folding.

Search and moderation compare what members type with what is stored. Members type Arabic
with or without diacritics, with any of the alef/hamza forms, with taa marbuta or haa, with
tatweel stretching; and Latin with any case and with or without accents. `normalise` maps all
of those spellings of a word to one form, so a plain equality or an index lookup matches them.
It is lossy on purpose: never show its output to a member.
"""

from __future__ import annotations

import unicodedata

__all__ = ["fold_char", "normalise"]

# Arabic harakat, tanwin, shadda, sukun, superscript alef, Quranic annotation marks.
_ARABIC_MARKS = (
    set(range(0x0610, 0x061B)) | set(range(0x064B, 0x0660)) | {0x0670} | set(range(0x06D6, 0x06EE))
)

# Letter forms members use interchangeably; each maps to the bare form.
_ARABIC_LETTERS = {
    "\u0622": "\u0627",  # alef with madda -> alef
    "\u0623": "\u0627",  # alef with hamza above -> alef
    "\u0625": "\u0627",  # alef with hamza below -> alef
    "\u0671": "\u0627",  # alef wasla -> alef
    "\u0672": "\u0627",  # alef with wavy hamza above
    "\u0673": "\u0627",  # alef with wavy hamza below
    "\u0629": "\u0647",  # taa marbuta -> haa (مدرسة / مدرسه)
    "\u0649": "\u064a",  # alef maqsura -> yaa (على / علي)
    "\u0624": "\u0648",  # waw with hamza -> waw
    "\u0626": "\u064a",  # yaa with hamza -> yaa
    "\u06cc": "\u064a",  # Farsi yeh -> yaa
    "\u06a9": "\u0643",  # keheh -> kaf
    "\u0640": "",  # tatweel (kashida) is only stretching
    # Eastern Arabic and Persian digits -> ASCII digits
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
}

# Invisible characters that would split or hide a word: bidi controls, zero-width joiners.
_INVISIBLE = {
    0x200B,
    0x200C,
    0x200D,
    0x200E,
    0x200F,
    0x202A,
    0x202B,
    0x202C,
    0x202D,
    0x202E,
    0x2066,
    0x2067,
    0x2068,
    0x2069,
    0xFEFF,
    0x00AD,
    0x061C,
}

_LATIN_EXTRA = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "þ": "th"}


def fold_char(ch: str) -> str:
    """Fold one (already NFKD-decomposed, lower-cased) character; '' drops it."""
    cp = ord(ch)
    if cp in _ARABIC_MARKS or cp in _INVISIBLE:
        return ""
    mapped = _ARABIC_LETTERS.get(ch)
    if mapped is not None:
        return mapped
    if unicodedata.combining(ch):
        # Latin accents (é -> e) once decomposed; Arabic marks were handled above.
        return ""
    return _LATIN_EXTRA.get(ch, ch)


def _fold_table() -> dict[int, str | None]:
    """fold_char as a str.translate table: one C-level pass instead of a Python call per character."""
    table: dict[int, str | None] = {}
    # Combining marks all live in planes 0 and 1; scanning only those keeps start-up fast.
    for cp in range(0x20000):
        ch = chr(cp)
        if unicodedata.combining(ch) or cp in _ARABIC_MARKS or cp in _INVISIBLE:
            table[cp] = None
    for ch, mapped in (_ARABIC_LETTERS | _LATIN_EXTRA).items():
        table[ord(ch)] = mapped or None
    return table


_FOLD = _fold_table()


def normalise(text: str) -> str:
    """Return the matching form of `text`: same word, any spelling, one string.

    - Arabic: diacritics and tatweel removed, alef/hamza forms to bare alef, taa marbuta to
      haa, alef maqsura to yaa, hamza carriers to their base letter, Arabic-Indic digits to ASCII.
    - Latin and others: Unicode compatibility forms unified (NFKC), case folded, accents removed.
    - Whitespace collapsed to single spaces and trimmed; invisible bidi/zero-width marks removed.
    """
    if text.isascii():
        return " ".join(text.lower().split())
    # Compose first so the hamza forms are single code points (ا + ٔ -> أ) before we fold them,
    # then decompose so Latin accents become separate combining marks we can drop.
    composed = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", composed)
    # NFD splits أ إ آ ؤ ئ into base letter + combining hamza/madda (U+0653..U+0655); those marks
    # are in _ARABIC_MARKS, so dropping them leaves the bare base letter, the folded form we want.
    return " ".join(decomposed.translate(_FOLD).split())
