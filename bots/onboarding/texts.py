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


@dataclass(frozen=True)
class Rules:
    """A room's rules as a reader gets them, and the language they are written in."""

    text: str
    language: str
    # The built-in default (the admins set no rules in any language).
    default: bool


def room_rules(settings: OnboardingSettings, language: str, fallback: str = "en") -> Rules:
    """The room's rules in `language`; else in `fallback` (the network's default
    language), then any other; else the built-in default, in `language`."""
    own = settings.text("rules", language)
    if own:
        return Rules(own, language, False)
    for other in dict.fromkeys([fallback, *LANGUAGES]):
        if settings.text("rules", other):
            return Rules(settings.text("rules", other), other, False)
    return Rules(t(language, "rules_default"), language, True)


def rules_block(settings: OnboardingSettings, language: str, room: str,
                fallback: str = "en") -> str:
    """The rules under their header; a reader whose language they lack is told so,
    rather than handed another language's text under a title in theirs."""
    rules = room_rules(settings, language, fallback)
    if rules.language == language:
        header = t(language, "dm_rules_header", room=room)
    else:
        header = t(language, "rules_not_translated", room=room,
                   language=Trusted(t(language, f"language_{language}")),
                   shown=Trusted(t(language, f"language_{rules.language}")))
    return header + "\n" + rules.text


def missing_translations(settings: OnboardingSettings, language: str) -> list[str]:
    """The texts the admins wrote in another language but not in `language`.

    A newcomer reading `language` gets the other language's rules, or the
    built-in welcome instead of the admins' own: `!onboarding preview` says so.
    """
    return [field for field in ("rules", "dm_welcome", "room_welcome")
            if not settings.text(field, language)
            and any(settings.text(field, other) for other in LANGUAGES if other != language)]


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
    # The network's default language: the rules shown when none exist in `language`.
    fallback_language: str = "en"


def private_welcome(settings: OnboardingSettings, welcome: PrivateWelcome) -> str:
    """The DM a newcomer receives: language offer, welcome, rules, how to accept, what next."""
    language, prefix, room = welcome.language, welcome.prefix, welcome.room_name
    parts: list[str] = []
    if welcome.offer_languages:
        parts.append(language_choices(prefix))
    parts.append(settings.text("dm_welcome", language) or t(language, "dm_welcome", room=room))
    parts.append(rules_block(settings, language, room, welcome.fallback_language))
    key = "dm_gate" if welcome.gated else "dm_no_gate"
    parts.append(t(language, key, room=room, agree=commands(prefix, "agree")))
    if welcome.intro_room_name is not None:
        parts.append(t(language, "dm_intro", room=welcome.intro_room_name,
                       intro=commands(prefix, "intro")))
    parts.append(t(language, "dm_more", rooms=commands(prefix, "rooms"),
                   pronouns=commands(prefix, "pronouns", "they/them")))
    return "\n\n".join(parts)
