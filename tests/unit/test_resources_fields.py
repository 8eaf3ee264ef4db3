"""Curators' chat input: key=value fields, the guided exchange, the model's checks, the catalog."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bots.resources.fields import FieldsError, parse_fields, to_model_data
from bots.resources.guided import STEPS, GuidedAdd
from bots.resources.messages import CATALOG
from bots.resources.model import Resource, check_url, language_tag, url_key


def test_catalog_has_every_language_and_placeholder() -> None:
    assert CATALOG.problems() == []


def test_parse_fields_quotes_and_translations() -> None:
    fields = parse_fields(
        'title="Rainbow Aid" url=https://r.example.org categories=legal,asylum\n'
        "countries=TR languages=en,ar title.ar=«مساعدة قوس قزح» summary=\"It's free\""
    )
    assert fields == {
        "title": "Rainbow Aid", "url": "https://r.example.org", "categories": "legal,asylum",
        "countries": "TR", "languages": "en,ar", "title.ar": "مساعدة قوس قزح", "summary": "It's free",
    }
    data = to_model_data(fields)
    assert data["translations"] == {"ar": {"title": "مساعدة قوس قزح"}}
    resource = Resource.model_validate(data)
    assert resource.text_in("ar")[0] == "مساعدة قوس قزح"
    assert resource.text_in("en")[0] == "Rainbow Aid"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("just words", "'just' is not key=value"),
        ('title="unclosed', "the quote \" is not closed"),
        ("colour=red", "colour: unknown key"),
        ("title=a title=b", "title: given twice"),
        ("title.xx-toolong=a", "unknown key"),
    ],
)
def test_parse_fields_refuses_with_a_reason(text: str, problem: str) -> None:
    with pytest.raises(FieldsError) as caught:
        parse_fields(text)
    assert problem in caught.value.problems[0]


def test_edit_merges_and_clears_optional_fields() -> None:
    base = Resource.model_validate({
        "id": 3, "title": "A", "url": "https://a.example.org", "contact": "+90 555",
        "categories": ["legal"], "countries": ["TR"], "languages": ["en"],
        "translations": {"ar": {"title": "أ", "summary": "ب"}},
    }).model_dump(mode="json")
    merged = Resource.model_validate(to_model_data({"contact": "", "summary.ar": ""}, base))
    assert merged.contact is None
    assert merged.translations["ar"].title == "أ" and merged.translations["ar"].summary is None
    assert merged.id == 3


def test_model_checks() -> None:
    for bad in ("ftp://x.org", "https://nohost", "https://exa mple.org", "javascript:alert(1)",
                "https://a.org:port"):
        with pytest.raises(ValueError):
            check_url(bad)
    assert check_url("https://مثال.مصر/صفحة") == "https://مثال.مصر/صفحة"
    assert url_key("https://WWW.Example.org/path/") == url_key("http://example.org/path")
    assert language_tag("AR-eg") == "ar-EG" and language_tag("english") is None
    with pytest.raises(ValidationError) as caught:
        Resource.model_validate({"title": "", "url": "https://x.org", "categories": [],
                                 "countries": ["Narnia"], "languages": ["??"]})
    fields = {error["loc"][0] for error in caught.value.errors()}
    assert fields == {"title", "categories", "countries", "languages"}


def test_guided_exchange_checks_each_answer() -> None:
    exchange = GuidedAdd(started=0.0)
    assert exchange.answer("Queer Clinic") is None
    assert exchange.answer("clinic dot org") is not None  # bad URL: asked again
    assert exchange.current[0] == "url"
    assert exchange.answer("https://clinic.example.org") is None
    assert "did you mean health" in (exchange.answer("helth") or "")
    assert exchange.answer("health, mental_health") is None
    assert exchange.answer("skip") == "required"  # countries are required
    assert exchange.answer("LB") is None
    assert exchange.answer("ar") is None
    while not exchange.done:
        assert exchange.answer("skip") is None  # the rest are optional
    resource = Resource.model_validate(exchange.resource_data())
    assert resource.countries == ["LB"] and len(STEPS) == 9
