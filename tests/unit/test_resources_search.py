"""Directory search: Arabic folding, filters, ranking, typo fallback, hostile query text."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bots.resources.model import Category, Resource
from bots.resources.query import QueryError, parse_query
from bots.resources.search import search
from bots.resources.store import Directory, DuplicateUrl
from core.storage import Database

TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime.combine(TODAY, dt.time(), dt.UTC).timestamp()


def entry(title: str, url: str, **fields: object) -> Resource:
    data: dict[str, object] = {
        "title": title,
        "url": url,
        "categories": ["community"],
        "countries": ["global"],
        "languages": ["en"],
        "verified_at": TODAY - dt.timedelta(days=30),
        "verified_by": "@curator:example.org",
    }
    data.update(fields)
    return Resource.model_validate(data)


@pytest.fixture
async def directory(tmp_path: Path) -> AsyncIterator[Directory]:
    db = Database(tmp_path / "resources.db")
    await db.open()
    directory = Directory(db)
    await directory.setup()
    entries = [
        entry("Istanbul asylum lawyers", "https://asylum-tr.example.org", summary="Free legal help",
              categories=["legal", "asylum"], countries=["TR"], languages=["en", "ar", "tr"],
              translations={"ar": {"title": "محامو اللجوء في إسطنبول",
                                   "summary": "مساعدة قانونية مجانية"}}),
        entry("خط دعم الصحة النفسية", "https://mental-ar.example.org",
              summary="دعم نفسي عبر الهاتف للأشخاص المُهجَّرين", categories=["mental_health"],
              countries=["LB", "JO"], languages=["ar"]),
        entry("Global crisis line", "https://crisis.example.org", summary="Talk to someone now",
              categories=["emergency", "mental_health"], countries=["global"],
              languages=["en", "ar"]),
        entry("Berlin housing collective", "https://housing-de.example.org",
              summary="Rooms for people in transit", categories=["housing"], countries=["DE"],
              languages=["en", "de"]),
        entry("Ankara legal clinic", "https://ankara-legal.example.org",
              summary="Lawyers for LGBTQIA+ people", categories=["legal"], countries=["TR"],
              languages=["tr", "en"], verified_at=TODAY - dt.timedelta(days=800)),
    ]
    for resource in entries:
        await directory.add(resource, NOW)
    yield directory
    await db.close()


async def titles(directory: Directory, text: str) -> list[str]:
    result = await search(directory.db, parse_query(text), now=NOW, stale_after_days=365)
    return [hit.resource.title for hit in result.hits]


async def test_arabic_with_and_without_diacritics_find_the_same(directory: Directory) -> None:
    plain = await titles(directory, "صحة نفسية")
    marked = await titles(directory, "صِحَّة نَفْسِيَّة")
    haa = await titles(directory, "صحه نفسيه")
    assert plain and plain == marked == haa
    assert "خط دعم الصحة النفسية" in plain


async def test_arabic_article_and_hamza_forms(directory: Directory) -> None:
    # The entry says المُهجَّرين (with the article and shadda); the member types مهجرين.
    assert await titles(directory, "مهجرين") == ["خط دعم الصحة النفسية"]
    # Alef with hamza in the translation (إسطنبول), bare alef in the query.
    assert await titles(directory, "اسطنبول") == ["Istanbul asylum lawyers"]


async def test_latin_case_and_accents_fold(directory: Directory) -> None:
    assert await titles(directory, "BERLÍN") == ["Berlin housing collective"]


async def test_country_filter_keeps_country_and_global(directory: Directory) -> None:
    found = await titles(directory, "line country:DE")
    assert found == ["Global crisis line"]
    found = await titles(directory, "legal country:tr")
    assert set(found) == {"Istanbul asylum lawyers", "Ankara legal clinic"}
    assert await titles(directory, "legal country:DE") == []


async def test_country_named_in_the_words(directory: Directory) -> None:
    found = await titles(directory, "asylum lawyer Turkey")
    assert found[0] == "Istanbul asylum lawyers"
    assert "Berlin housing collective" not in found


async def test_category_and_language_filters(directory: Directory) -> None:
    assert set(await titles(directory, "category:mental_health")) == {
        "خط دعم الصحة النفسية", "Global crisis line"}
    assert set(await titles(directory, "category:صحة_نفسية lang:ar")) == {
        "خط دعم الصحة النفسية", "Global crisis line"}
    assert await titles(directory, "category:housing lang:ar") == []
    assert await titles(directory, "category:housing lang:de") == ["Berlin housing collective"]


async def test_fresh_entries_rank_first(directory: Directory) -> None:
    # Both are legal and in TR; the Ankara clinic was last verified 800 days ago.
    assert await titles(directory, "category:legal country:TR") == [
        "Istanbul asylum lawyers", "Ankara legal clinic"]


async def test_typo_fallback(directory: Directory) -> None:
    result = await search(directory.db, parse_query("housnig"), now=NOW, stale_after_days=365)
    assert result.fuzzy
    assert [hit.resource.title for hit in result.hits] == ["Berlin housing collective"]
    result = await search(directory.db, parse_query("lawyres istanbul"), now=NOW, stale_after_days=365)
    assert result.hits and result.hits[0].resource.title == "Istanbul asylum lawyers"
    assert (await search(directory.db, parse_query("zzzzqqq"), now=NOW, stale_after_days=365)).hits == []


async def test_some_words_match_when_none_has_all(directory: Directory) -> None:
    result = await search(directory.db, parse_query("housing crisis"), now=NOW, stale_after_days=365)
    assert result.fuzzy
    assert {hit.resource.title for hit in result.hits} == {
        "Berlin housing collective", "Global crisis line"}


async def test_removed_entries_are_not_found(directory: Directory) -> None:
    [hit] = (await search(directory.db, parse_query("berlin"), now=NOW, stale_after_days=365)).hits
    removed = hit.resource.model_copy(update={"status": "removed"})
    await directory.save(removed, NOW)
    assert await titles(directory, "berlin") == []
    # Its URL can be listed again.
    await directory.add(entry("Berlin again", "https://housing-de.example.org/"), NOW)
    assert await titles(directory, "berlin") == ["Berlin again"]


async def test_edited_entry_is_found_by_its_new_fields(directory: Directory) -> None:
    [hit] = (await search(directory.db, parse_query("berlin"), now=NOW, stale_after_days=365)).hits
    edited = hit.resource.model_copy(update={"countries": ["DE", "GR"], "title": "Athens housing"})
    await directory.save(edited, NOW)
    assert await titles(directory, "housing country:GR") == ["Athens housing"]
    assert await titles(directory, "athens") == ["Athens housing"]
    assert await titles(directory, "berlin") == []
    # The unchanged words are still indexed exactly once.
    assert await titles(directory, "transit") == ["Athens housing"]


async def test_duplicate_url_refused(directory: Directory) -> None:
    with pytest.raises(DuplicateUrl):
        await directory.add(entry("Copy", "https://www.crisis.example.org/"), NOW)


async def test_stale_listing(directory: Directory) -> None:
    stale = await directory.stale(TODAY, 365)
    assert [r.title for r in stale] == ["Ankara legal clinic"]
    assert [r.title for r in await directory.stale(TODAY, 10)][-1] != "Ankara legal clinic"


@pytest.mark.parametrize(
    "text",
    ['"', '"unclosed', "*", "a*", "NEAR", "NEAR(a b)", "(", ")", "a AND", "OR", "NOT x",
     "title:x", "^start", "{fts_tags}: xctr", "'", "-", "+", "col : ", "\u200f", "ال", "_"],
)
async def test_fts_syntax_never_raises(directory: Directory, text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError:
        return  # a clear answer (empty, unknown filter) is fine; an exception from SQLite is not
    await search(directory.db, query, now=NOW, stale_after_days=365)


@given(st.text(max_size=120))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_any_text_never_raises(directory: Directory, text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError:
        return
    await search(directory.db, query, now=NOW, stale_after_days=365)


def test_query_errors_suggest_closest() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("lawyer country:Turky")
    assert caught.value.key == "unknown_country_hint" and caught.value.values["hint"] == "TR"
    with pytest.raises(QueryError) as caught:
        parse_query("x category:helth")
    assert caught.value.key == "unknown_category_hint" and caught.value.values["hint"] == "health"
    with pytest.raises(QueryError) as caught:
        parse_query("   ")
    assert caught.value.key == "query_empty"
    with pytest.raises(QueryError) as caught:
        parse_query("word " * 100)
    assert caught.value.key == "query_too_long"
    assert parse_query("x category:mental-health").category is Category.MENTAL_HEALTH
    assert parse_query("محامي بلد:تركيا").country == "TR"
