"""One reading of a reaction's key: clients add or leave out the emoji variation selector.

Element sends ✅ as U+2705 and ❤️ as U+2764 U+FE0F; another client may send
either with or without U+FE0F (and some add spaces). Every plugin compares
reactions through `same_reaction` / `normalize_reaction`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

_SELECTORS = "\ufe0e\ufe0f"


def normalize_reaction(key: str) -> str:
    """The key without variation selectors and surrounding space, in NFC."""
    cleaned = unicodedata.normalize("NFC", key.strip())
    return "".join(char for char in cleaned if char not in _SELECTORS)


def same_reaction(key: str, other: str) -> bool:
    return normalize_reaction(key) == normalize_reaction(other)


def reaction_in(key: str, choices: Iterable[str]) -> bool:
    wanted = normalize_reaction(key)
    return any(normalize_reaction(choice) == wanted for choice in choices)
