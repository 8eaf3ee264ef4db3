"""What a directory entry is: the pydantic model every add, edit and import passes through."""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bots.resources.countries import COUNTRIES, GLOBAL
from core.textnorm import normalise


class Category(enum.StrEnum):
    """The fixed set of categories members filter by."""

    HEALTH = "health"
    MENTAL_HEALTH = "mental_health"
    LEGAL = "legal"
    ASYLUM = "asylum"  # asylum and relocation
    HOUSING = "housing"
    EDUCATION = "education"
    COMMUNITY = "community"
    EMERGENCY = "emergency"


# Words members may type for a category, in both languages (matched after normalise()).
CATEGORY_NAMES: dict[Category, tuple[str, ...]] = {
    Category.HEALTH: ("health", "medical", "صحة", "طبي"),
    Category.MENTAL_HEALTH: ("mental_health", "mental health", "mental", "صحة نفسية", "نفسي"),
    Category.LEGAL: ("legal", "law", "lawyer", "قانوني", "قانون", "محامي"),
    Category.ASYLUM: ("asylum", "relocation", "refugee", "لجوء", "لاجئ", "انتقال"),
    Category.HOUSING: ("housing", "shelter", "سكن", "مأوى"),
    Category.EDUCATION: ("education", "school", "تعليم", "دراسة"),
    Category.COMMUNITY: ("community", "مجتمع"),
    Category.EMERGENCY: ("emergency", "urgent", "طوارئ", "طارئ"),
}

_CATEGORY_LOOKUP = {
    normalise(name).replace("-", " ").replace("_", " "): category
    for category, names in CATEGORY_NAMES.items()
    for name in names
}

# Everyday names of countries whose ISO name is not what people type.
COUNTRY_ALIASES: dict[str, str] = {
    "turkey": "TR", "turkiye": "TR", "تركيا": "TR", "syria": "SY", "سوريا": "SY", "سورية": "SY",
    "uk": "GB", "britain": "GB", "england": "GB", "بريطانيا": "GB", "usa": "US", "america": "US",
    "امريكا": "US", "iran": "IR", "ايران": "IR", "russia": "RU", "روسيا": "RU",
    "lebanon": "LB", "لبنان": "LB", "الاردن": "JO", "jordan": "JO", "مصر": "EG", "egypt": "EG",
    "العراق": "IQ", "iraq": "IQ", "المانيا": "DE", "germany": "DE", "فرنسا": "FR", "هولندا": "NL",
    "palestine": "PS", "فلسطين": "PS", "السعوديه": "SA", "الامارات": "AE", "المغرب": "MA",
    "تونس": "TN", "الجزاير": "DZ", "ليبيا": "LY", "السودان": "SD", "اليمن": "YE", "الكويت": "KW",
    "قطر": "QA", "كندا": "CA", "canada": "CA", "السويد": "SE", "sweden": "SE",
}

_COUNTRY_LOOKUP: dict[str, str] = {}
for _code, (_en, _ar) in COUNTRIES.items():
    _COUNTRY_LOOKUP[normalise(_en)] = _code
    _COUNTRY_LOOKUP[normalise(_ar)] = _code
for _alias, _code in COUNTRY_ALIASES.items():
    _COUNTRY_LOOKUP[normalise(_alias)] = _code

_LANGUAGE_TAG = re.compile(r"^([a-z]{2,3})(-[a-z]{4})?(-(?:[a-z]{2}|\d{3}))?$", re.IGNORECASE)
_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$",
    re.IGNORECASE,
)


def category_from(word: str) -> Category | None:
    """`legal`, `Mental-Health`, `صحة نفسية` → the category; None when unknown."""
    key = normalise(word).replace("-", " ").replace("_", " ")
    return _CATEGORY_LOOKUP.get(key)


def closest_category(word: str) -> str | None:
    names = [c.value for c in Category]
    found = difflib.get_close_matches(word.lower().replace("-", "_"), names, n=1, cutoff=0.5)
    return found[0] if found else None


def country_from(word: str) -> str | None:
    """`tr`, `TR`, `Turkey`, `تركيا`, `global` → `TR` / `global`; None when unknown."""
    cleaned = word.strip()
    if cleaned.upper() in COUNTRIES:
        return cleaned.upper()
    if cleaned.lower() in (GLOBAL, "all", "world", "عالمي"):
        return GLOBAL
    return _COUNTRY_LOOKUP.get(normalise(cleaned))


def closest_country(word: str) -> str | None:
    """The code a mistyped country most likely meant (`TK` → `TR`? no: by name or code)."""
    key = normalise(word)
    by_name = difflib.get_close_matches(key, list(_COUNTRY_LOOKUP), n=1, cutoff=0.6)
    if by_name:
        return _COUNTRY_LOOKUP[by_name[0]]
    by_code = difflib.get_close_matches(word.upper(), list(COUNTRIES), n=1, cutoff=0.5)
    return by_code[0] if by_code else None


def language_tag(value: str) -> str | None:
    """A BCP 47 tag in canonical case (`AR-eg` → `ar-EG`); None when malformed."""
    match = _LANGUAGE_TAG.match(value.strip())
    if not match:
        return None
    base, script, region = match.group(1), match.group(2), match.group(3)
    tag = base.lower()
    if script:
        tag += "-" + script[1:].title()
    if region:
        tag += "-" + region[1:].upper()
    return tag


def check_url(value: str) -> str:
    """An http(s) URL with a real host name; raises ValueError saying what is wrong."""
    text = value.strip()
    if any(ch.isspace() for ch in text):
        raise ValueError("a URL cannot contain spaces")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError("a URL must start with https:// (or http://)")
    host = parts.hostname or ""
    try:
        ascii_host = host.encode("idna").decode("ascii")  # a non-Latin domain in its DNS form
        _ = parts.port  # raises on a port that is not a number
    except (UnicodeError, ValueError):
        ascii_host = ""
    if not _HOST.match(ascii_host):
        raise ValueError("the URL has no valid host name (like example.org)")
    return text


def draft_title(url: str) -> str:
    """What an approved suggestion is called until a curator names the organization: its host."""
    return (urlsplit(url.strip()).hostname or url.strip())[:200]


def url_key(url: str) -> str:
    """The form two URLs share when they point at the same place (duplicate detection)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}".lower()


class Translation(BaseModel):
    """Title and summary in one more language."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    summary: str | None = Field(None, max_length=2000)


# A draft is an approved suggestion no curator has checked yet: out of search until verified.
Status = Literal["active", "stale", "removed", "draft"]


class Resource(BaseModel):
    """One organization or service in the directory."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: int | None = None
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field("", max_length=2000)
    translations: dict[str, Translation] = Field(default_factory=dict)
    url: str
    contact: str | None = Field(None, max_length=300)
    categories: list[Category] = Field(min_length=1)
    countries: list[str] = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    verified_at: dt.date | None = None
    verified_by: str | None = Field(None, max_length=255)
    status: Status = "active"

    @field_validator("title", "summary", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("categories", mode="before")
    @classmethod
    def _categories(cls, value: Any) -> Any:
        items = _as_list(value)
        out = []
        for item in items:
            category = category_from(str(item))
            if category is None:
                hint = closest_category(str(item))
                known = ", ".join(c.value for c in Category)
                raise ValueError(
                    f"unknown category {str(item)!r}"
                    + (f" (did you mean {hint}?)" if hint else "")
                    + f"; known: {known}"
                )
            if category not in out:
                out.append(category)
        return out

    @field_validator("countries", mode="before")
    @classmethod
    def _countries(cls, value: Any) -> Any:
        out: list[str] = []
        for item in _as_list(value):
            code = country_from(str(item))
            if code is None:
                hint = closest_country(str(item))
                raise ValueError(
                    f"unknown country {str(item)!r}: use an ISO 3166-1 code like TR or 'global'"
                    + (f" (did you mean {hint}?)" if hint else "")
                )
            if code not in out:
                out.append(code)
        return out

    @field_validator("languages", mode="before")
    @classmethod
    def _languages(cls, value: Any) -> Any:
        out: list[str] = []
        for item in _as_list(value):
            tag = language_tag(str(item))
            if tag is None:
                raise ValueError(f"{str(item)!r} is not a language tag (BCP 47, like en, ar, ar-EG)")
            if tag not in out:
                out.append(tag)
        return out

    @field_validator("translations", mode="before")
    @classmethod
    def _translations(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("translations must map a language tag to a title and summary")
        out: dict[str, Any] = {}
        for key, item in value.items():
            tag = language_tag(str(key))
            if tag is None:
                raise ValueError(f"{key!r} is not a language tag (BCP 47, like en, ar)")
            out[tag] = item
        return out

    def text_in(self, language: str) -> tuple[str, str]:
        """Title and summary in `language` where a translation exists, else the original."""
        for tag, translation in self.translations.items():
            if tag.split("-", 1)[0] == language:
                return translation.title or self.title, translation.summary or self.summary
        return self.title, self.summary

    def is_stale(self, today: dt.date, stale_after_days: int) -> bool:
        if self.status in ("stale", "draft") or self.verified_at is None:
            return True
        return (today - self.verified_at).days > stale_after_days


def _as_list(value: Any) -> list[Any]:
    """Lists arrive as YAML lists or as `a, b; c` text from chat and CSV."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,;،]", value) if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def describe_errors(exc: Any) -> list[str]:
    """pydantic's errors as `field: message` lines (its message is the user's answer)."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "entry"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return lines
