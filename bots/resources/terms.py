"""Words as the search index sees them: tokens, light Arabic prefix stemming, tags, FTS5 queries.

Everything a member types reaches FTS5 only as double-quoted tokens made of letters and digits,
so FTS syntax (quotes, `*`, `NEAR`, `AND`, parentheses, column filters) typed by a member is
plain text and can never raise or change the query's meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.textnorm import normalise

_TOKEN = re.compile(r"[^\W_]+")
_ARABIC = re.compile(r"[\u0600-\u06FF]")
# Arabic attaches the article and some prepositions to the word: المحامي, والمحامي, بالمحامي.
# The index holds both the word and its stem, and queries use the stem, so each form finds all.
_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_MIN_STEM = 3

STOP_WORDS = frozenset(
    normalise(word)
    for word in (
        "a an and the of in on for to with near me my i need help find looking at by from or "
        "في من الى إلى على عن مع و او أو عند ل لي اريد أريد ابحث أبحث مساعدة"
    ).split()
)


def tokens(text: str) -> list[str]:
    """The words of `text` in their matching form (see core.textnorm)."""
    return _TOKEN.findall(normalise(text))


def stem(token: str) -> str:
    """`المحامي` → `محامي`; other tokens unchanged."""
    if _ARABIC.match(token):
        for prefix in _ARABIC_PREFIXES:
            if token.startswith(prefix) and len(token) - len(prefix) >= _MIN_STEM:
                return token[len(prefix):]
    return token


def index_words(texts: Iterable[str]) -> list[str]:
    """Every token of `texts` plus the stem of each prefixed Arabic token, for the index."""
    out: list[str] = []
    for text in texts:
        for token in tokens(text):
            out.append(token)
            stemmed = stem(token)
            if stemmed != token:
                out.append(stemmed)
    return out


def query_words(text: str) -> list[str]:
    """The search terms of what a member typed: stems, stop words dropped (unless only those)."""
    words = [stem(token) for token in tokens(text)]
    kept = [word for word in words if word not in STOP_WORDS]
    return _unique(kept or words)


def phrase(term: str, *, prefix: bool = False) -> str:
    """A quoted FTS5 string; tokens hold only letters and digits, but quotes are escaped anyway."""
    quoted = '"' + term.replace('"', '""') + '"'
    return quoted + "*" if prefix else quoted


def tag(kind: str, value: str) -> str:
    """An index tag such as `xctr` (country TR), `xklegal`, `xlar`: one token, no separators."""
    return "x" + kind + re.sub(r"[^a-z0-9]", "", value.lower())


def trigrams(term: str) -> list[str]:
    return _unique(term[i:i + 3] for i in range(len(term) - 2))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance with transpositions counted once (typos swap letters)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        previous2, previous = previous, current
    return previous[-1]


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)
