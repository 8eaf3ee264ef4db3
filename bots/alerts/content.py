"""What an alert looks like in a room: the event content per language, urgent or not."""

from __future__ import annotations

from typing import Any

from bots.alerts.compose import Versions
from bots.alerts.messages import CATALOG
from bots.alerts.store import Alert
from core.i18n import LANGUAGE_NAMES, Trusted
from core.plugin import message_content

# Reactions that count as "I have read it", compared through core.reactions (a
# client may send each with or without the emoji variation selector).
ACK_KEYS = frozenset({"✅", "✔", "☑"})


def alert_text(alert: Alert, language: str, prefix: str, *, for_room: bool) -> str:
    """Header, the organizers' text, and how to acknowledge.

    A direct message has one reader, whose language is known: it holds their
    version. A room's readers chose their own languages, which the room's may
    not be (an Arabic speaker in an English room), so it holds every version the
    organizers wrote, the room's first, each under its language's name, and the
    way to acknowledge in each of those languages.
    """
    header = CATALOG.text("alert_header_urgent" if alert.urgent else "alert_header", language)
    blocks = room_versions(alert.versions, language) if for_room else [
        (None, alert.versions.for_language(language))]
    marked = len(blocks) > 1
    # The organizers' text stands as its own paragraphs, so each line takes its
    # own direction in the reader's client (no isolates needed around it).
    parts = [header]
    for code, text in blocks:
        parts.append(f"{LANGUAGE_NAMES.get(code, code)}:\n{text}" if marked and code else text)
    footers = dict.fromkeys([language, *(code for code, _ in blocks if code)])
    parts.append("\n".join(
        CATALOG.text("alert_footer", code, ack=Trusted(f"{prefix}ack"), alert_id=Trusted(alert.id))
        for code in footers))
    return "\n\n".join(parts)


def room_versions(versions: Versions, language: str) -> list[tuple[str | None, str]]:
    """Every version for a room, as (language or None for the unmarked text, text).

    The room's language comes first; without a version of its own, what its
    readers got before (the text written before any marker) comes first
    instead. Then the others, in the order the organizer wrote them.
    """
    texts = versions.texts
    unmarked = versions.fallback if versions.language_of_fallback() is None else None
    blocks: list[tuple[str | None, str]] = []
    if language in texts:
        blocks.append((language, texts[language]))
    elif unmarked is not None:
        blocks.append((None, unmarked))
        unmarked = None
    blocks += [(code, text) for code, text in texts.items() if code != language]
    if unmarked is not None:
        blocks.append((None, unmarked))
    return blocks


def alert_content(alert: Alert, language: str, prefix: str, *, room_mention: bool,
                  for_room: bool) -> dict[str, Any]:
    """The m.room.message content: m.notice normally; urgent is m.text, with @room when allowed.

    An urgent alert notifies like a person's message (m.text); `room_mention`
    adds the @room ping for rooms where the bot's power level allows it.
    `for_room`: every version (a room), or the reader's own (a direct message).
    """
    text = alert_text(alert, language, prefix, for_room=for_room)
    if alert.urgent and room_mention:
        text = "@room " + text
    content = message_content(text, (), notice=not alert.urgent)
    content["m.mentions"] = {"room": True} if alert.urgent and room_mention else {}
    return content


def reminder_content(alert: Alert, language: str, prefix: str, event_id: str) -> dict[str, Any]:
    """A reminder that replies to the alert in a room where nobody acknowledged it yet."""
    text = CATALOG.text("reminder", language, ack=Trusted(f"{prefix}ack"),
                        alert_id=Trusted(alert.id))
    content = message_content(text, (), notice=True)
    content["m.relates_to"] = {"m.in_reply_to": {"event_id": event_id}}
    return content


def may_mention_room(power_levels: dict[str, Any] | None, bot_user_id: str) -> bool:
    """Whether the bot's power level reaches the room's `notifications.room` level."""
    levels = power_levels or {}
    users = levels.get("users")
    users = users if isinstance(users, dict) else {}
    bot_level = _int(users.get(bot_user_id), _int(levels.get("users_default"), 0))
    notifications = levels.get("notifications")
    needed = _int(notifications.get("room"), 50) if isinstance(notifications, dict) else 50
    return bot_level >= needed


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
