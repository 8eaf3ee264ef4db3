"""Ranked search over the directory's FTS5 index: exact words, then typo and any-word fallbacks.

Ranking is text relevance (bm25, a word in the name counting four times one in the summary)
scaled up for an entry in the asked country (rather than global) and for a recent verification.
Work per query is bounded whatever the directory's size: each pass ranks at most CANDIDATES
matches of the name and CANDIDATES of the whole text (the most recently added first), so a very
common word ("health" in a fifth of 100,000 entries) costs the same as a rare one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bots.resources.countries import GLOBAL
from bots.resources.model import Resource
from bots.resources.query import Query
from bots.resources.terms import edit_distance, phrase, tag, trigrams
from core.storage import Database

CANDIDATES = 100
MAX_HITS = 50
COUNTRY_BOOST = 0.5
FRESHNESS_BOOST = 0.25
# Longer words also match indexed words they begin with a short ending ("lawyer" → "lawyers",
# "محامي" → "محامين"): at most this many, each at most MAX_ENDING letters longer. Every extra
# word costs bm25 a pass over its postings, so the set stays small.
PREFIX_EXPANSIONS = 3
MAX_ENDING = 3
MIN_PREFIX = 4

_PASS = (
    "SELECT * FROM (SELECT rowid, bm25(resources_fts, 4.0, 1.0, 0.0) FROM resources_fts"
    " WHERE resources_fts MATCH ? ORDER BY rowid DESC LIMIT ?)"
)


@dataclass
class Hit:
    """One search result; the entry is parsed only when shown (most results never are)."""

    id: int
    data: str
    country_match: bool
    _parsed: Resource | None = field(default=None, repr=False)

    @property
    def resource(self) -> Resource:
        if self._parsed is None:
            self._parsed = Resource.model_validate({**json.loads(self.data), "id": self.id})
        return self._parsed


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    # True when the exact words found nothing and corrected or any-word matching was used.
    fuzzy: bool


async def search(
    db: Database, query: Query, *, now: float, stale_after_days: int, limit: int = MAX_HITS
) -> SearchResult:
    """Entries for `query`, best first."""
    filters = _filters(query)
    rank = _Ranker(db, query, now, stale_after_days, limit)
    if not query.words:
        return SearchResult(await rank([filters]), False)
    options = await _expand_all(db, query.words)
    hits = await rank(_passes(_all_of(options), filters))
    if hits:
        return SearchResult(hits, False)
    corrected = [await _correct(db, word) for word in query.words]
    if corrected != [[word] for word in query.words]:
        hits = await rank(_passes(_all_of(corrected), filters))
        if hits:
            return SearchResult(hits, True)
    if len(query.words) > 1:
        # No entry has every word: rank those that have some of them.
        alternatives = sorted({word for choice in options + corrected for word in choice})
        hits = await rank(_passes("(" + " OR ".join(map(phrase, alternatives)) + ")", filters))
        if hits:
            return SearchResult(hits, True)
    return SearchResult([], False)


@dataclass
class _Ranker:
    db: Database
    query: Query
    now: float
    stale_after_days: int
    limit: int

    async def __call__(self, matches: list[str]) -> list[Hit]:
        country = f",{self.query.country}," if self.query.country not in (None, GLOBAL) else ""
        passes = " UNION ALL ".join([_PASS] * len(matches))
        params: list[Any] = []
        for match in matches:
            params += [match, CANDIDATES]
        # Candidates are ranked over a narrow covering index (id, verified_ts, countries); the wide
        # rows (JSON, index text) are read only for the few that make the cut.
        rows = await self.db.fetchall(
            f"WITH hits(id, score) AS ({passes}),"
            " best AS (SELECT id, MIN(score) AS score FROM hits GROUP BY id),"
            " ranked AS (SELECT e.id AS id, ? != '' AND instr(e.countries, ?) > 0 AS country_match,"
            "   best.score"
            # bm25 is negative (lower is better), so the boosts multiply it away from zero.
            "   * (1.0 + CASE WHEN ? != '' AND instr(e.countries, ?) > 0 THEN ? ELSE 0.0 END)"
            "   * (1.0 + ? * MAX(0.0, 1.0 - (? - COALESCE(e.verified_ts, 0.0)) / ?)) AS score,"
            "   COALESCE(e.verified_ts, 0.0) AS verified"
            "   FROM best JOIN resources_entries e INDEXED BY resources_entries_rank ON e.id = best.id"
            "   ORDER BY score, verified DESC, e.id DESC LIMIT ?)"
            " SELECT r.id, r.country_match, x.data FROM ranked r"
            " JOIN resources_entries x ON x.id = r.id ORDER BY r.score, r.verified DESC, r.id DESC",
            (*params, country, country, country, country, COUNTRY_BOOST, FRESHNESS_BOOST,
             self.now, self.stale_after_days * 86400.0, self.limit),
        )
        return [Hit(int(row["id"]), row["data"], bool(row["country_match"])) for row in rows]


async def _expand_all(db: Database, words: list[str]) -> list[list[str]]:
    """Each word with the indexed words it begins, shortest first (bounded); one query for all."""
    long_words = [word for word in words if len(word) >= MIN_PREFIX]
    found: dict[str, list[str]] = {word: [] for word in long_words}
    if long_words:
        part = "SELECT ? AS word, term FROM (SELECT term FROM resources_vocabulary" \
               " WHERE term > ? AND term < ? ORDER BY term LIMIT 64)"
        params: list[str] = []
        for word in long_words:
            params += [word, word, word + "\U0010ffff"]
        for row in await db.fetchall(" UNION ALL ".join([part] * len(long_words)), params):
            if len(row["term"]) - len(row["word"]) <= MAX_ENDING:
                found[row["word"]].append(row["term"])
    return [
        [word, *sorted(found.get(word, []), key=lambda t: (len(t), t))[:PREFIX_EXPANSIONS - 1]]
        for word in words
    ]


async def _correct(db: Database, word: str) -> list[str]:
    """The word when the index knows it, else its closest known spellings (trigram candidates)."""
    if len(word) < 3 or await db.fetchone(
        "SELECT 1 FROM resources_vocabulary WHERE term = ?", (word,)
    ):
        return [word]
    rows = await db.fetchall(
        "SELECT term FROM resources_trigrams WHERE resources_trigrams MATCH ? ORDER BY rank LIMIT 40",
        (" OR ".join(phrase(gram) for gram in trigrams(word)),),
    )
    allowed = 1 if len(word) <= 4 else 2
    scored = sorted((edit_distance(word, row["term"]), row["term"]) for row in rows)
    close = [(distance, term) for distance, term in scored if distance <= allowed]
    if not close:
        return [word]
    best = close[0][0]
    return [term for distance, term in close if distance == best][:3]


def _all_of(options: list[list[str]]) -> str:
    return "(" + " AND ".join(
        "(" + " OR ".join(phrase(word) for word in choice) + ")" for choice in options
    ) + ")"


def _passes(words: str, filters: str) -> list[str]:
    """A pass over names only (the strongest matches) and one over the whole text.

    With filters the match set is already narrow, and each pass would pay bm25's document
    counts for the filter tags again, so one pass over the whole text is enough.
    """
    anywhere = _and(f"{{fts_title fts_body}} : {words}", filters)
    if filters:
        return [anywhere]
    return [_and(f"fts_title : {words}", filters), anywhere]


def _filters(query: Query) -> str:
    parts = []
    if query.country and query.country != GLOBAL:
        parts.append(f"fts_tags : ({phrase(tag('c', query.country))} OR {phrase(tag('c', GLOBAL))})")
    elif query.country == GLOBAL:
        parts.append(f"fts_tags : {phrase(tag('c', GLOBAL))}")
    if query.category is not None:
        parts.append(f"fts_tags : {phrase(tag('k', query.category.value))}")
    if query.language is not None:
        parts.append(f"fts_tags : {phrase(tag('l', query.language))}")
    return " AND ".join(parts)


def _and(*parts: str) -> str:
    return " AND ".join(part for part in parts if part)
