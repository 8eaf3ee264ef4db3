"""`key=value` fields typed by curators in chat, and the flat form shared with CSV rows.

A flat row uses `title.ar` / `summary.ar` for translations and comma-separated lists; `to_model_data`
turns it into what the Resource model validates.
"""

from __future__ import annotations

import re
from typing import Any

from bots.resources.model import language_tag

EDITABLE = ("title", "url", "categories", "countries", "languages", "summary", "contact", "status")
TRANSLATABLE = ("title", "summary")
_QUOTES = {'"': '"', "“": "”", "«": "»", "'": "'"}
_KEY = re.compile(r"([A-Za-z_]+(?:\.[A-Za-z-]+)?)\s*=\s*")


class FieldsError(Exception):
    """Text that is not `key=value` pairs, or names an unknown key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def known_keys() -> str:
    return ", ".join([*EDITABLE, "title.ar", "summary.ar"])


def parse_fields(text: str) -> dict[str, str]:
    """`title="Rainbow Railroad" url=https://x.org` → {"title": ..., "url": ...}."""
    fields: dict[str, str] = {}
    position = 0
    length = len(text)
    while True:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            return fields
        match = _KEY.match(text, position)
        if not match:
            word = text[position:].split(None, 1)[0]
            raise FieldsError([f"{word[:40]!r} is not key=value"])
        key = match.group(1).lower()
        position = match.end()
        opener = text[position:position + 1]
        if opener in _QUOTES:
            end = text.find(_QUOTES[opener], position + 1)
            if end < 0:
                raise FieldsError([f"{key}: the quote {opener} is not closed"])
            value = text[position + 1:end]
            position = end + 1
        else:
            end = position
            while end < length and not text[end].isspace():
                end += 1
            value = text[position:end]
            position = end
        _check_key(key)
        if key in fields:
            raise FieldsError([f"{key}: given twice"])
        fields[key] = value.strip()


def _check_key(key: str) -> None:
    if key in EDITABLE:
        return
    base, _, language = key.partition(".")
    if base in TRANSLATABLE and language and language_tag(language):
        return
    raise FieldsError([f"{key}: unknown key (known: {known_keys()})"])


def to_model_data(flat: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge flat fields into model data (an existing entry's for edits); '' clears optionals."""
    data: dict[str, Any] = dict(base or {})
    given = data.get("translations") or {}
    if not isinstance(given, dict) or not all(isinstance(v, dict) for v in given.values()):
        return {**data, **flat}  # malformed: the model's validation explains it
    translations: dict[str, dict[str, Any]] = {str(tag): dict(value) for tag, value in given.items()}
    for key, value in flat.items():
        if "." in key:
            field, _, language = key.partition(".")
            tag = language_tag(language) or language
            translations.setdefault(tag, {})[field] = value if value not in ("", None) else None
            continue
        if key in ("contact", "summary") and value in ("", None):
            data[key] = None if key == "contact" else ""
            continue
        if value in ("", None) and key not in ("title", "url", "categories", "countries", "languages"):
            continue
        data[key] = value
    data["translations"] = {
        tag: value for tag, value in translations.items() if value.get("title") or value.get("summary")
    }
    return data
