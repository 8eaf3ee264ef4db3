"""What newcomers read: the batched room welcome and the private welcome, in their language.

Pure functions of the settings and a language, so `!onboarding preview` shows
an admin exactly what the join path sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bots.onboarding.messages import CATALOG
from bots.onboarding.settings import OnboardingSettings
from core.i18n import LANGUAGE_NAMES, LANGUAGES, Trusted, isolate

NAMES_PLACEHOLDER = "{names}"


def t(language: str, key: str, /, **values: object) -> str:
    return CATALOG.text(key, language, **values)


def commands(prefix: str, *words: str) -> Trusted:
    """A command as members type it, e.g. `!agree`."""
    return Trusted(prefix + " ".join(words))


def names_list(language: str, user_ids: Sequence[str], shown: int) -> str:
    """"@a, @b and @c" or "@a, @b and 198 others", each id isolated for bidi."""
    named = [isolate(user_id) for user_id in user_ids[:shown]]
    others = len(user_ids) - len(named)
    separator = t(language, "list_separator")
    if others > 0:
        return t(language, "names_others", names=Trusted(separator.join(named)), count=others)
    if len(named) == 1:
        return named[0]
    return t(language, "names_last", names=Trusted(separator.join(named[:-1])),
             last=Trusted(named[-1]))


@dataclass(frozen=True)
class RoomWelcome:
    text: str
    mentions: tuple[str, ...]


def room_welcome(
    settings: OnboardingSettings, language: str, user_ids: Sequence[str]
) -> RoomWelcome:
    """One message for a batch of newcomers; only the named ones are mentioned (pinged)."""
    names = names_list(language, user_ids, settings.batch_names)
    custom = settings.text("room_welcome", language)
    if custom:
        text = (custom.replace(NAMES_PLACEHOLDER, names) if NAMES_PLACEHOLDER in custom
                else f"{names}: {custom}")
    else:
        text = t(language, "room_welcome", names=Trusted(names))
    return RoomWelcome(text, tuple(user_ids[:settings.batch_names]))


def rules_text(settings: OnboardingSettings, language: str) -> tuple[str, bool]:
    """The room's rules in `language`, else in another language, else the default.

    The flag is True when the built-in default is used (the preview warns admins).
    """
    own = settings.text("rules", language)
    if own:
        return own, False
    for other in LANGUAGES:
        if settings.text("rules", other):
            return settings.text("rules", other), False
    return t(language, "rules_default"), True


def language_choices(prefix: str) -> str:
    """The language offer, in every language, for a member who has chosen none."""
    choices = Trusted(" · ".join(f"{prefix}language {code} ({LANGUAGE_NAMES[code]})"
                                 for code in LANGUAGES))
    return "\n".join(t(code, "dm_choose_language", choices=choices) for code in LANGUAGES)


@dataclass(frozen=True)
class PrivateWelcome:
    """Inputs of the private welcome that are not settings."""

    room_name: str
    language: str
    offer_languages: bool
    gated: bool
    intro_room_name: str | None
    prefix: str


def private_welcome(settings: OnboardingSettings, welcome: PrivateWelcome) -> str:
    """The DM a newcomer receives: language offer, welcome, rules, how to accept, what next."""
    language, prefix, room = welcome.language, welcome.prefix, welcome.room_name
    parts: list[str] = []
    if welcome.offer_languages:
        parts.append(language_choices(prefix))
    parts.append(settings.text("dm_welcome", language) or t(language, "dm_welcome", room=room))
    rules, _ = rules_text(settings, language)
    parts.append(t(language, "dm_rules_header", room=room) + "\n" + rules)
    key = "dm_gate" if welcome.gated else "dm_no_gate"
    parts.append(t(language, key, room=room, agree=commands(prefix, "agree")))
    if welcome.intro_room_name is not None:
        parts.append(t(language, "dm_intro", room=welcome.intro_room_name,
                       intro=commands(prefix, "intro")))
    parts.append(t(language, "dm_more", rooms=commands(prefix, "rooms"),
                   pronouns=commands(prefix, "pronouns", "they/them")))
    return "\n\n".join(parts)
