"""Introductions: questions asked in the DM, answers held in memory only until posted or dropped.

Answers are never written to the database: without the member's explicit
`!intro post` nothing survives, not even a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bots.onboarding.texts import t

ANSWER_MAX = 500
SKIP = frozenset({"-", "skip", "تخطي", "تخطّي"})


@dataclass
class Draft:
    """One member's introduction in progress."""

    room_id: str
    questions: list[str]
    answers: dict[str, str] = field(default_factory=dict)
    asked: int = 0

    @property
    def complete(self) -> bool:
        return self.asked >= len(self.questions)

    @property
    def current(self) -> str | None:
        return None if self.complete else self.questions[self.asked]


class Introductions:
    """Drafts by member id, in memory."""

    def __init__(self) -> None:
        self.drafts: dict[str, Draft] = {}

    def start(self, user_id: str, room_id: str, questions: list[str]) -> Draft:
        draft = Draft(room_id, list(dict.fromkeys(questions)))
        self.drafts[user_id] = draft
        return draft

    def answer(self, user_id: str, text: str) -> Draft | None:
        """Record the answer to the current question; None when no question is open."""
        draft = self.drafts.get(user_id)
        if draft is None or draft.complete:
            return None
        question = draft.questions[draft.asked]
        cleaned = " ".join(text.split())
        if cleaned.casefold() not in SKIP and cleaned:
            draft.answers[question] = cleaned
        draft.asked += 1
        return draft

    def drop(self, user_id: str) -> Draft | None:
        return self.drafts.pop(user_id, None)


def question_text(language: str, question: str) -> str:
    return t(language, f"intro_q_{question}")


def introduction(language: str, user_id: str, draft: Draft) -> str:
    """The post for the introductions room, in that room's language."""
    lines = [t(language, "intro_post_header", user=user_id)]
    for question in draft.questions:
        if question in draft.answers:
            lines.append(t(language, f"intro_line_{question}", value=draft.answers[question]))
    return "\n".join(lines)


def too_long(text: str) -> bool:
    return len(" ".join(text.split())) > ANSWER_MAX
