"""core.textnorm.normalise: every spelling of a word folds to one form."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.textnorm import fold_char, normalise


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("صِحَّة نَفْسِيَّة", "صحة نفسية"),  # diacritics
        ("صحة نفسية", "صحه نفسيه"),  # taa marbuta vs haa
        ("أمان", "امان"),  # alef with hamza above
        ("إسطنبول", "اسطنبول"),  # alef with hamza below
        ("آمن", "امن"),  # alef with madda
        ("مـــحـــامـــي", "محامي"),  # tatweel
        ("على", "علي"),  # alef maqsura
        ("مسؤول", "مسوول"),  # waw with hamza
        ("لاجئ", "لاجي"),  # yaa with hamza
        ("ﻻجئ", "لاجئ"),  # presentation-form ligature
        ("٢٠٢٤", "2024"),  # Arabic-Indic digits
        ("Café", "cafe"),
        ("STRASSE", "straße"),
        ("São Paulo", "sao paulo"),
        ("Ärzte", "arzte"),
        ("  many \t spaces\n", "many spaces"),
        ("a\u200bsylum", "asylum"),  # zero-width space
        ("\u2067محامي\u2069", "محامي"),  # bidi isolates
    ],
)
def test_spellings_fold_together(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


def test_distinct_words_stay_distinct() -> None:
    assert normalise("محامي") != normalise("صحة")
    assert normalise("legal") != normalise("health")
    assert normalise("Sao Paulo") == "sao paulo"


def test_arabic_folded_form() -> None:
    assert normalise("أَسْرَة") == "اسره"


@given(st.text())
def test_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(st.text())
def test_no_surrounding_or_double_whitespace(text: str) -> None:
    out = normalise(text)
    assert out == out.strip()
    assert "  " not in out


def _reference(text: str) -> str:
    """The per-character definition normalise's translate table must agree with."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    return " ".join("".join(fold_char(ch) for ch in decomposed).split())


@given(st.text())
def test_translate_table_matches_fold_char(text: str) -> None:
    assert normalise(text) == _reference(text)


@given(st.text(alphabet=st.characters(min_codepoint=0x0600, max_codepoint=0x06FF) | st.sampled_from(" éÀßﻻ")))
def test_translate_table_matches_fold_char_on_arabic(text: str) -> None:
    assert normalise(text) == _reference(text)
