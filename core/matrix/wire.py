"""The homeserver's answers made safe before nio parses them.

Anything a member or a remote server writes reaches the bot inside a sync
(or /messages) body, and nio parses it without guarding against shapes the
spec does not allow: an event without `content`, an `unsigned` that is a
number, a member event whose content is a list. One such event raised inside
nio's sync, so the sync token was never stored and the same batch stopped the
bot after every restart. Here every event of an impossible shape is dropped
(logged by id, counted) before nio sees it, so no event can stop the sync.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def well_formed(event: object, *, stripped: bool = False) -> bool:
    """True when `event` has the shape the spec gives every event (stripped state: fewer keys)."""
    if not isinstance(event, dict):
        return False
    if not isinstance(event.get("type"), str) or not isinstance(event.get("content"), dict):
        return False
    if "state_key" in event and not isinstance(event["state_key"], str):
        return False
    if not isinstance(event.get("sender"), str):
        return False
    unsigned = event.get("unsigned", {})
    if not isinstance(unsigned, dict):
        return False
    prev = unsigned.get("prev_content", {})
    redacted = unsigned.get("redacted_because", {})
    if not (isinstance(prev, dict) and isinstance(redacted, dict)):
        return False
    timestamp = event.get("origin_server_ts", 0)
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        return False
    if "event_id" in event and not isinstance(event["event_id"], str):
        return False
    return stripped or ("event_id" in event and "origin_server_ts" in event)


def _keep(events: object, where: str, *, stripped: bool = False) -> tuple[list[Any], int]:
    if not isinstance(events, list):
        return [], 1 if events is not None else 0
    kept = []
    dropped = 0
    for event in events:
        if well_formed(event, stripped=stripped):
            kept.append(event)
            continue
        dropped += 1
        event_id = event.get("event_id") if isinstance(event, dict) else None
        log.warning("dropped a malformed event %s in %s",
                    event_id if isinstance(event_id, str) else "(no id)", where)
    return kept, dropped


def _section(room: dict[str, Any], name: str, room_id: str, *, stripped: bool = False) -> int:
    section = room.get(name)
    if section is None:
        return 0
    if not isinstance(section, dict):
        room[name] = {"events": []}
        return 1
    kept, dropped = _keep(section.get("events"), room_id, stripped=stripped)
    section["events"] = kept
    return dropped


def clean_sync(body: dict[str, Any]) -> int:
    """Drop malformed events from a /sync body in place; returns how many were dropped."""
    rooms = body.get("rooms")
    if not isinstance(rooms, dict):
        return 0
    dropped = 0
    for kind in ("join", "leave", "invite", "knock"):
        group = rooms.get(kind)
        if group is None:
            continue
        if not isinstance(group, dict):
            rooms[kind] = {}
            dropped += 1
            continue
        for room_id, room in list(group.items()):
            if not isinstance(room, dict):
                del group[room_id]
                dropped += 1
                continue
            if kind == "invite":
                dropped += _section(room, "invite_state", room_id, stripped=True)
            elif kind == "knock":
                dropped += _section(room, "knock_state", room_id, stripped=True)
            else:
                for name in ("timeline", "state"):
                    dropped += _section(room, name, room_id)
    return dropped


def clean_messages(body: dict[str, Any]) -> int:
    """Drop malformed events from a /messages body in place; returns how many were dropped."""
    dropped = 0
    for name in ("chunk", "state"):
        if name in body:
            body[name], count = _keep(body[name], "a /messages answer")
            dropped += count
    return dropped
