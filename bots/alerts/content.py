"""What an alert looks like in a room: the event content per language, urgent or not."""

from __future__ import annotations

from typing import Any

from bots.alerts.messages import CATALOG
from bots.alerts.store import Alert
from core.i18n import Trusted
from core.plugin import message_content

# Reactions that count as "I have read it".
ACK_KEYS = frozenset({"✅", "✔️", "✔", "☑️", "☑"})


def alert_text(alert: Alert, language: str, prefix: str) -> str:
    """Header, the organizers' text for this language, and how to acknowledge."""
    header = CATALOG.text("alert_header_urgent" if alert.urgent else "alert_header", language)
    footer = CATALOG.text("alert_footer", language, ack=Trusted(f"{prefix}ack"),
                          alert_id=Trusted(alert.id))
    # The organizers' text stands as its own paragraphs, so each line takes its
    # own direction in the reader's client (no isolates needed around it).
    return f"{header}\n\n{alert.versions.for_language(language)}\n\n{footer}"


def alert_content(alert: Alert, language: str, prefix: str, *, room_mention: bool) -> dict[str, Any]:
    """The m.room.message content: m.notice normally; urgent is m.text, with @room when allowed.

    An urgent alert notifies like a person's message (m.text); `room_mention`
    adds the @room ping for rooms where the bot's power level allows it.
    """
    text = alert_text(alert, language, prefix)
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
