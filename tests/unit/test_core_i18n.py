"""Message catalogs and bidi isolation (core/i18n.py), and every catalog in the codebase."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import string
from datetime import timedelta
from pathlib import Path

import pytest
from bidi import get_display
from hypothesis import given
from hypothesis import strategies as st

import bots
import core.messages
from core.i18n import (
    FSI,
    LANGUAGES,
    PDI,
    RLM,
    Catalog,
    CatalogError,
    Trusted,
    format_duration,
    isolate,
    join_list,
    language_name,
    normalise_language,
    shape_rtl,
)

REPO = Path(__file__).resolve().parents[2]


def all_catalogs() -> dict[str, Catalog]:
    """core's catalog and every Catalog found in any module under `bots`."""
    found = {"core.messages": core.messages.CATALOG}
    for info in pkgutil.walk_packages(bots.__path__, "bots."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Catalog):
                found.setdefault(f"{value.owner}", value)
                assert name == "CATALOG" or value is found[value.owner]
    return found


CATALOGS = all_catalogs()


def test_catalogs_were_found() -> None:
    assert {"core.messages", "admin"} <= set(CATALOGS)


@pytest.mark.parametrize("owner", sorted(CATALOGS))
def test_catalog_has_no_problems(owner: str) -> None:
    assert CATALOGS[owner].problems() == []


@pytest.mark.parametrize("owner", sorted(CATALOGS))
def test_every_message_renders_in_every_language(owner: str) -> None:
    catalog = CATALOGS[owner]
    for key, forms in catalog.messages.items():
        assert set(forms) <= set(LANGUAGES), f"{owner}.{key}: unknown language"
        names = {n for _, n, _, _ in string.Formatter().parse(forms["en"]) if n}
        for language in LANGUAGES:
            text = catalog.text(key, language, **{name: Trusted("X") for name in names})
            assert "{" not in text.replace("{}", ""), f"{owner}.{key}.{language}: {text}"
            assert text.strip(), f"{owner}.{key}.{language} is empty"


def _source_files() -> list[Path]:
    return sorted([*(REPO / "core").rglob("*.py"), *(REPO / "bots").rglob("*.py")])


def _constant_keys(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constant_keys(node.body) + _constant_keys(node.orelse)
    return []


def test_every_message_key_used_in_code_exists_with_its_placeholders() -> None:
    """`ctx.t("key", ...)` and `CATALOG.text("key", ...)` name real messages and fill them."""
    problems = []
    checked = 0
    for path in _source_files():
        relative = path.relative_to(REPO)
        available = [core.messages.CATALOG]
        if relative.parts[0] == "bots" and len(relative.parts) > 2:
            available += [c for c in CATALOGS.values()
                          if c.owner == relative.parts[1] or c.owner.startswith(relative.parts[1])]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("t", "text") and node.args):
                continue
            if node.func.attr == "text" and not (
                isinstance(node.func.value, ast.Name | ast.Attribute)
                and "catalog" in ast.unparse(node.func.value).lower()
            ):
                continue
            given_names = {k.arg for k in node.keywords}
            for key in _constant_keys(node.args[0]):
                checked += 1
                catalog = next((c for c in available if key in c.messages), None)
                if catalog is None:
                    problems.append(f"{relative}:{node.lineno}: no message {key!r}")
                    continue
                if None in given_names:  # **values: cannot check statically
                    continue
                wanted = {n for _, n, _, _ in string.Formatter().parse(
                    catalog.messages[key]["en"]) if n}
                if not wanted <= given_names:
                    problems.append(f"{relative}:{node.lineno}: {key} needs {sorted(wanted)}")
    assert checked > 20
    assert problems == []


def test_command_help_keys_exist() -> None:
    from core.builtin import CorePlugin
    from core.discovery import discover_plugins

    for plugin in [CorePlugin, *discover_plugins()]:
        for spec in plugin.commands():
            assert spec.help_key in plugin.catalog.messages, f"{plugin.name}: {spec.help_key}"


# -- Catalog ----------------------------------------------------------------

CAT = Catalog("test", {
    "greet": {"en": "Hello {name}, you have {count} items", "ar": "مرحباً {name}، لديك {count} عناصر"},
    "only_en": {"en": "English only"},
    "bad": {"en": "{a} and {b}", "ar": "{a}"},
})


def test_text_isolates_user_values_but_not_trusted_or_numbers() -> None:
    text = CAT.text("greet", "en", name="أحمد", count=3)
    assert text == f"Hello {FSI}أحمد{PDI}, you have 3 items"
    assert CAT.text("greet", "ar", name=Trusted("Bot"), count=2.5) == (
        f"{RLM}مرحباً Bot، لديك 2.5 عناصر")
    # Anything that is not Trusted or a number is user text.
    assert CAT.text("greet", "en", name=["x"], count="7") == (
        f"Hello {FSI}['x']{PDI}, you have {FSI}7{PDI} items"
    )


def test_user_values_are_not_format_templates() -> None:
    assert CAT.text("greet", "en", name="{count}", count=1) == (
        f"Hello {FSI}{{count}}{PDI}, you have 1 items"
    )


def test_unknown_language_falls_back_to_english() -> None:
    assert CAT.text("only_en", "ar") == "English only"
    assert CAT.text("only_en", "fr") == "English only"


def test_missing_key_raises_catalog_error() -> None:
    with pytest.raises(CatalogError, match="test: no message 'nope'"):
        CAT.text("nope", "en")
    assert issubclass(CatalogError, KeyError)


def test_problems_reports_missing_languages_and_placeholder_mismatches() -> None:
    assert sorted(CAT.problems()) == [
        "test.bad: ar placeholders differ from en",
        "test.only_en: no ar text",
    ]


# -- isolate ------------------------------------------------------------------

BIDI = "\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\u200e\u200f"


def isolate_depths(text: str) -> list[int]:
    depth = 0
    depths = []
    for char in text:
        if char in "\u2066\u2067\u2068":
            depth += 1
        elif char == PDI:
            depth -= 1
        depths.append(depth)
    return depths


def test_isolate_plain_text() -> None:
    assert isolate("hello") == f"{FSI}hello{PDI}"
    assert isolate("") == f"{FSI}{PDI}"
    assert isolate("نص عربي") == f"{FSI}نص عربي{PDI}"


def test_isolate_keeps_balanced_user_isolates() -> None:
    inner = f"a {FSI}b{PDI} c"
    assert isolate(inner) == f"{FSI}{inner}{PDI}"


def test_a_stray_pdi_cannot_escape_the_isolate() -> None:
    wrapped = isolate(f"evil{PDI}\u202etxt.exe")
    depths = isolate_depths(wrapped)
    # Our isolate stays open until our own final PDI, and everything is closed after it.
    assert all(d >= 1 for d in depths[:-1])
    assert depths[-1] == 0
    assert "\u202etxt.exe" in wrapped


def test_an_unclosed_user_isolate_is_closed_inside_ours() -> None:
    wrapped = isolate(f"open{FSI}and never closed")
    assert isolate_depths(wrapped)[-1] == 0
    assert wrapped.endswith(PDI + PDI)


@given(st.text(alphabet=st.one_of(st.sampled_from(BIDI), st.characters())))
def test_isolate_is_always_balanced_and_keeps_the_text(text: str) -> None:
    wrapped = isolate(text)
    assert wrapped.startswith(FSI) and wrapped.endswith(PDI)
    depths = isolate_depths(wrapped)
    assert all(d >= 1 for d in depths[:-1]) and depths[-1] == 0
    # Only unbalanced isolate marks are touched; the rest of the text is kept.
    strip = str.maketrans("", "", "\u2066\u2067\u2068\u2069")
    assert wrapped.translate(strip) == text.translate(strip)


# -- normalise_language -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("ar", "ar"), ("AR", "ar"), (" ar ", "ar"), ("ar-EG", "ar"), ("ar_SA", "ar"),
        ("arabic", "ar"), ("Arabic", "ar"), ("العربية", "ar"), ("عربي", "ar"), ("عربية", "ar"),
        ("en", "en"), ("EN", "en"), ("en-GB", "en"), ("en_US", "en"), ("english", "en"),
        ("English", "en"),
        ("fr", None), ("french", None), ("", None), ("   ", None), ("-", None), ("e", None),
        ("arab", None), ("{ar}", None),
    ],
)
def test_normalise_language(value: str, code: str | None) -> None:
    assert normalise_language(value) == code


@given(st.text())
def test_normalise_language_only_returns_supported_codes(value: str) -> None:
    assert normalise_language(value) in (None, *LANGUAGES)


# -- Arabic that reads right in Element ----------------------------------------

COMMAND = re.compile(r"![a-z][a-z_]*(?: <[a-z_]+>| \[[a-z_]+\])*")
HIDDEN = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f"))


def element_shows(text: str) -> str:
    """What a reader sees: the Unicode bidi algorithm, direction from the first strong character."""
    return get_display(text).translate(HIDDEN)


def test_a_command_inside_arabic_is_shown_as_typed() -> None:
    # Found in Element: "أرسل !safe عندما تكون بأمان" showed `safe!`.
    catalog = Catalog("t", {"m": {"en": "Send !safe when you are safe",
                                  "ar": "أرسل !safe عندما تكون بأمان"}})
    assert "!safe" in element_shows(catalog.text("m", "ar"))
    assert "safe!" in element_shows("أرسل !safe عندما تكون بأمان")  # the finding itself


def test_a_message_starting_with_a_command_is_laid_out_right_to_left() -> None:
    text = shape_rtl("!checkin <when> [note] — ابدأ تسجيل وصول")
    assert text.startswith(RLM)
    assert "!checkin <when> [note]" in element_shows(text)
    assert shape_rtl(text) == text


@pytest.mark.parametrize("owner", sorted(CATALOGS))
def test_every_command_in_every_arabic_message_appears_as_typed(owner: str) -> None:
    catalog = CATALOGS[owner]
    for key, forms in catalog.messages.items():
        arabic = forms.get("ar")
        if not arabic:
            continue
        values = {name: Trusted(f"!{name}") if "command" in name else "x"
                  for name in _placeholders_of(arabic)}
        shown = element_shows(catalog.text(key, "ar", **values))
        for command in COMMAND.findall(arabic.format_map(
                {name: str(value) for name, value in values.items()})):
            assert command in shown, f"{owner}.{key}: {command!r} shows as {shown!r}"


def _placeholders_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# -- durations, lists and language names in the reader's language ----------------

M, H, D = 60, 3600, 86400


@pytest.mark.parametrize(("seconds", "english", "arabic"), [
    (0, "0 s", "0 ثانية"),
    (20, "20 s", "20 ثانية"),
    (60, "1 min", "دقيقة"),
    (2 * M, "2 min", "دقيقتين"),
    (5 * M, "5 min", "5 دقائق"),
    (30 * M, "30 min", "30 دقيقة"),
    (H, "1 h", "ساعة"),
    (H + 59 * M, "1 h 59 min", "ساعة و59 دقيقة"),  # the finding: "1h59m" in Arabic text
    (H + 59 * M + 59, "1 h 59 min", "ساعة و59 دقيقة"),  # never more time than is left
    (2 * H + 5 * M, "2 h 5 min", "ساعتين و5 دقائق"),
    (12 * H, "12 h", "12 ساعة"),
    (D, "1 day", "يوم"),
    (D + 2 * H + 10 * M, "1 day 2 h", "يوم وساعتين"),
    (3 * D, "3 days", "3 أيام"),
    (14 * D, "14 days", "14 يوماً"),
    (100 * D, "100 days", "100 يوم"),
    (-5, "0 s", "0 ثانية"),
])
def test_format_duration(seconds: int, english: str, arabic: str) -> None:
    assert format_duration(seconds, "en") == english
    assert format_duration(timedelta(seconds=seconds), "ar") == arabic
    assert format_duration(float(seconds), "fr") == english  # other languages read English


def test_an_arabic_duration_has_no_latin_units() -> None:
    for seconds in range(0, 3 * D, 997):
        assert not re.search(r"[a-z]", format_duration(seconds, "ar"))


@pytest.mark.parametrize(("items", "language", "conjunction", "joined"), [
    ([], "en", "and", ""),
    (["a"], "ar", "and", "a"),
    (["a", "b"], "en", "and", "a and b"),
    (["a", "b", "c"], "en", "and", "a, b and c"),
    (["a", "b", "c"], "en", "or", "a, b or c"),
    (["أ", "ب"], "ar", "and", "أ وب"),
    (["أ", "ب", "ج"], "ar", "and", "أ، ب وج"),
    (["أ", "ب", "ج"], "ar", "or", "أ، ب أو ج"),
    (["a", "b", "c"], "en", None, "a, b, c"),
    (["أ", "ب", "ج"], "ar", None, "أ، ب، ج"),
])
def test_join_list(items: list[str], language: str, conjunction: str | None, joined: str) -> None:
    assert join_list(iter(items), language, conjunction) == joined  # type: ignore[arg-type]


def test_join_list_keeps_isolated_items_whole() -> None:
    names = [isolate("@bob:x"), isolate("@sara:y"), isolate("@ali:z")]
    shown = element_shows(shape_rtl("رحّبوا بـ " + join_list(names, "ar")))
    assert all(name in shown for name in ("@bob:x", "@sara:y", "@ali:z"))


@pytest.mark.parametrize(("code", "reader", "name"), [
    ("en", "en", "English"), ("ar", "en", "Arabic"), ("fr", "en", "French"),
    ("es", "en", "Spanish"), ("en", "ar", "الإنجليزية"), ("ar", "ar", "العربية"),
    ("fr", "ar", "الفرنسية"), ("es", "ar", "الإسبانية"), ("FA", "ar", "الفارسية"),
    ("fr", "de", "French"), ("xx", "ar", "xx"),
])
def test_language_name(code: str, reader: str, name: str) -> None:
    assert language_name(code, reader) == name


def test_every_language_has_a_name_in_every_reader_language() -> None:
    for reader in LANGUAGES:
        for code in LANGUAGES:
            assert language_name(code, reader) != code
