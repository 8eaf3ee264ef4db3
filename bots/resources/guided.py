"""The guided `!resource add`: one question at a time, each answer checked before the next.

State lives in memory only (a restart forgets an unfinished exchange, which then simply has
to be started again); nothing is written until every answer is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bots.resources.fields import to_model_data
from bots.resources.model import Resource

# (field, catalog key of the question, required)
STEPS: tuple[tuple[str, str, bool], ...] = (
    ("title", "ask_title", True),
    ("url", "ask_url", True),
    ("categories", "ask_categories", True),
    ("countries", "ask_countries", True),
    ("languages", "ask_languages", True),
    ("summary", "ask_summary", False),
    ("contact", "ask_contact", False),
    ("title.ar", "ask_title_ar", False),
    ("summary.ar", "ask_summary_ar", False),
)
SKIP_WORDS = frozenset({"skip", "-", "تخطي", "تخط"})
CANCEL_WORDS = frozenset({"cancel", "stop", "الغاء", "إلغاء"})
TIMEOUT_SECONDS = 15 * 60

# Placeholders that satisfy the model while earlier answers are checked one field at a time.
_PLACEHOLDER: dict[str, Any] = {
    "title": "x", "url": "https://example.org", "categories": ["community"],
    "countries": ["global"], "languages": ["en"],
}


@dataclass
class GuidedAdd:
    """One curator's exchange in one room."""

    started: float
    answers: dict[str, str] = field(default_factory=dict)
    step: int = 0

    @property
    def current(self) -> tuple[str, str, bool]:
        return STEPS[self.step]

    @property
    def done(self) -> bool:
        return self.step >= len(STEPS)

    def answer(self, text: str) -> str | None:
        """Record an answer; returns a problem to show, or None when accepted."""
        name, _, required = self.current
        value = text.strip()
        if value.lower() in SKIP_WORDS:
            if required:
                return "required"
            self.step += 1
            return None
        candidate = {**self.answers, name: value}
        data = to_model_data(candidate, {})
        try:
            Resource.model_validate({**_PLACEHOLDER, **data})
        except ValidationError as exc:
            field_name = name.split(".", 1)[0]
            for error in exc.errors():
                loc = error["loc"]
                if loc and (loc[0] == field_name or loc[0] == "translations"):
                    return str(error["msg"]).removeprefix("Value error, ")
        self.answers[name] = value
        self.step += 1
        return None

    def resource_data(self) -> dict[str, Any]:
        return to_model_data(self.answers, {})
