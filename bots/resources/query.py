"""What a member asked `!find` for: words plus `country:`, `lang:` and `category:` filters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bots.resources.countries import GLOBAL
from bots.resources.model import (
    Category,
    category_from,
    closest_category,
    closest_country,
    country_from,
    language_tag,
)
from bots.resources.terms import query_words

MAX_QUERY_CHARS = 300
MAX_WORDS = 12

# Filter names in both languages: `country:TR` or `بلد:TR`.
_FILTERS = {
    "country": "country", "c": "country", "بلد": "country", "دولة": "country", "دوله": "country",
    "lang": "lang", "language": "lang", "l": "lang", "لغة": "lang", "لغه": "lang",
    "category": "category", "cat": "category", "فئة": "category", "فئه": "category",
    "تصنيف": "category",
}
_FILTER = re.compile(r"(?<!\S)([^\s:]+)\s*:\s*(\"[^\"]*\"|\S+)")


class QueryError(Exception):
    """A query the bot cannot run; `key` names the catalog message, `values` fill it."""

    def __init__(self, key: str, **values: str | int) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass
class Query:
    """A parsed search: normalised words and the filters that narrow it."""

    words: list[str] = field(default_factory=list)
    country: str | None = None
    language: str | None = None
    category: Category | None = None
    # The country came from a word in the text ("lawyer Turkey"), not a country: filter.
    country_from_text: bool = False


def parse_query(text: str) -> Query:
    """Parse a `!find` line; raises QueryError with a message the member can act on."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError("query_too_long", limit=MAX_QUERY_CHARS)
    query = Query()
    rest: list[str] = []
    position = 0
    for match in _FILTER.finditer(text):
        name, value = match.group(1), match.group(2).strip('"').strip()
        kind = _FILTERS.get(name.lower())
        if kind is None:
            continue  # "note: something" is just words
        rest.append(text[position:match.start()])
        position = match.end()
        _apply_filter(query, kind, value)
    rest.append(text[position:])
    words = query_words(" ".join(rest))
    if query.country is None:
        words = _country_in_words(query, words)
    if len(words) > MAX_WORDS:
        raise QueryError("query_too_many_words", limit=MAX_WORDS)
    query.words = words
    if not words and query.country is None and query.category is None and query.language is None:
        raise QueryError("query_empty")
    return query


def _apply_filter(query: Query, kind: str, value: str) -> None:
    if not value:
        raise QueryError("filter_empty", name=kind)
    if kind == "country":
        code = country_from(value)
        if code is None:
            hint = closest_country(value)
            if hint:
                raise QueryError("unknown_country_hint", value=value[:40], hint=hint)
            raise QueryError("unknown_country", value=value[:40])
        query.country = code
    elif kind == "lang":
        tag = language_tag(value)
        if tag is None:
            raise QueryError("unknown_language", value=value[:40])
        query.language = tag.split("-", 1)[0]
    else:
        category = category_from(value)
        if category is None:
            hint = closest_category(value)
            if hint:
                raise QueryError("unknown_category_hint", value=value[:40], hint=hint)
            raise QueryError("unknown_category", value=value[:40])
        query.category = category


def _country_in_words(query: Query, words: list[str]) -> list[str]:
    """"asylum lawyer Turkey" means country TR: take the longest country name found in the words.

    Only when other words remain, so that a search for "Jordan" the name still searches text too.
    """
    for size in (3, 2, 1):
        for start in range(len(words) - size + 1):
            candidate = " ".join(words[start:start + size])
            # Two-letter words ("me", "in") are never read as country codes here, only names.
            code = country_from(candidate) if len(candidate) > 2 else None
            if code is not None and code != GLOBAL:
                remaining = words[:start] + words[start + size:]
                if remaining:
                    query.country = code
                    query.country_from_text = True
                    return remaining
    return words
