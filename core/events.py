"""Framework-owned typed events: what plugins see instead of nio's types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RoomEvent:
    """Anything that happened in a room, as the bot saw it."""

    room_id: str
    event_id: str
    sender: str
    timestamp_ms: int
    encrypted: bool
    # The sending device (from the Megolm session) when the event was
    # encrypted; trust decisions need it.
    sender_device: str | None = None


@dataclass(frozen=True)
class Message(RoomEvent):
    """A text-like message (m.text, m.notice, m.emote)."""

    body: str = ""
    msgtype: str = "m.text"
    # Users mentioned intentionally (m.mentions.user_ids).
    mentions: frozenset[str] = field(default_factory=frozenset)
    thread_root: str | None = None
    reply_to: str | None = None
    # True for edits (m.replace); their body is the new text.
    is_edit: bool = False
    # For an edit, the event it replaces (e.g. to redact the original too).
    replaces: str | None = None


@dataclass(frozen=True)
class Media(RoomEvent):
    """An image, file, video, audio, location or sticker; body is its caption or file name."""

    msgtype: str = ""
    body: str = ""


@dataclass(frozen=True)
class Reaction(RoomEvent):
    """An annotation (emoji reaction) on another event."""

    key: str = ""
    relates_to: str = ""


@dataclass(frozen=True)
class MemberJoined(RoomEvent):
    """A user joined the room (not a profile change)."""

    user_id: str = ""
    display_name: str | None = None


@dataclass(frozen=True)
class MemberLeft(RoomEvent):
    """A user left, was kicked or banned."""

    user_id: str = ""
    membership: str = "leave"


@dataclass(frozen=True)
class Redaction(RoomEvent):
    redacts: str = ""


@dataclass(frozen=True)
class StateChanged(RoomEvent):
    """A state event the framework does not model otherwise (power levels,
    policy rules, space children, join rules...), with its new content.

    An empty content means the state was removed (e.g. a revoked policy rule).
    """

    type: str = ""
    state_key: str = ""
    content: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class UnknownEvent(RoomEvent):
    """An event type the framework does not model; plugins may ignore it."""

    type: str = ""


TEXT_MSGTYPES = frozenset({"m.text", "m.notice", "m.emote"})


def from_matrix(
    source: dict[str, object], room_id: str, *, encrypted: bool, sender_device: str | None = None
) -> RoomEvent | None:
    """Build a typed event from a (decrypted) client-server event dict.

    Returns None for events that carry nothing a plugin acts on (e.g. a
    membership change that is only a new display name).
    """
    content = source.get("content")
    if not isinstance(content, dict):
        content = {}
    event_type = str(source.get("type", ""))
    common: dict[str, object] = dict(
        room_id=room_id,
        event_id=str(source.get("event_id", "")),
        sender=str(source.get("sender", "")),
        timestamp_ms=_int(source.get("origin_server_ts")),
        encrypted=encrypted,
        sender_device=sender_device,
    )
    relates = content.get("m.relates_to")
    relates = relates if isinstance(relates, dict) else {}
    if event_type == "m.room.message":
        msgtype = content.get("msgtype")
        body = content.get("body")
        if not isinstance(msgtype, str) or msgtype not in TEXT_MSGTYPES:
            if not isinstance(msgtype, str) or not msgtype:
                return UnknownEvent(**common, type=f"m.room.message/{msgtype}")  # type: ignore[arg-type]
            return Media(**common, msgtype=msgtype,  # type: ignore[arg-type]
                         body=body if isinstance(body, str) else "")
        if not isinstance(body, str):
            return UnknownEvent(**common, type=f"m.room.message/{msgtype}")  # type: ignore[arg-type]
        is_edit = relates.get("rel_type") == "m.replace"
        new_content = content.get("m.new_content")
        if is_edit and isinstance(new_content, dict) and isinstance(new_content.get("body"), str):
            body = new_content["body"]
        mentions = content.get("m.mentions")
        user_ids = mentions.get("user_ids") if isinstance(mentions, dict) else None
        reply = relates.get("m.in_reply_to")
        return Message(
            **common,  # type: ignore[arg-type]
            body=body,
            msgtype=str(msgtype),
            mentions=frozenset(u for u in user_ids if isinstance(u, str))
            if isinstance(user_ids, list) else frozenset(),
            # Relations come from any room member: a malformed one is ignored, never fatal.
            thread_root=_str(relates.get("event_id"))
            if relates.get("rel_type") == "m.thread" else None,
            reply_to=_str(reply.get("event_id")) if isinstance(reply, dict) else None,
            is_edit=is_edit,
            replaces=_str(relates.get("event_id")) if is_edit else None,
        )
    if event_type == "m.sticker":
        body = content.get("body")
        return Media(**common, msgtype="m.sticker",  # type: ignore[arg-type]
                     body=body if isinstance(body, str) else "")
    if event_type == "m.reaction":
        if relates.get("rel_type") != "m.annotation":
            return None
        return Reaction(**common, key=str(relates.get("key", "")),  # type: ignore[arg-type]
                        relates_to=str(relates.get("event_id", "")))
    if event_type == "m.room.member":
        user_id = source.get("state_key")
        if not isinstance(user_id, str):
            return None
        membership = content.get("membership")
        unsigned = source.get("unsigned")
        prev = unsigned.get("prev_content") if isinstance(unsigned, dict) else None
        previous = prev.get("membership") if isinstance(prev, dict) else None
        if membership == "join" and previous != "join":
            name = content.get("displayname")
            return MemberJoined(**common, user_id=user_id,  # type: ignore[arg-type]
                                display_name=name if isinstance(name, str) else None)
        if membership in ("leave", "ban") and previous in ("join", "invite", "knock"):
            return MemberLeft(**common, user_id=user_id,  # type: ignore[arg-type]
                              membership=str(membership))
        return None
    if event_type == "m.room.redaction":
        redacts = source.get("redacts") or content.get("redacts")
        return Redaction(**common, redacts=str(redacts or ""))  # type: ignore[arg-type]
    state_key = source.get("state_key")
    if isinstance(state_key, str):
        return StateChanged(**common, type=event_type, state_key=state_key,  # type: ignore[arg-type]
                            content=dict(content))
    return UnknownEvent(**common, type=event_type)  # type: ignore[arg-type]


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
