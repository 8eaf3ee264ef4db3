"""Typed events from raw Matrix events (core/events.py), including hostile shapes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import (
    Media,
    MemberJoined,
    MemberLeft,
    Message,
    Reaction,
    Redaction,
    RoomEvent,
    UnknownEvent,
    from_matrix,
)

ROOM = "!room:example.org"


def event(type_: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": "$e1", "sender": "@alex:example.org",
            "origin_server_ts": 1234, "content": content, **extra}


def test_text_message() -> None:
    converted = from_matrix(
        event("m.room.message", {"msgtype": "m.text", "body": "!help",
                                 "m.mentions": {"user_ids": ["@bot:x", 5]}}),
        ROOM, encrypted=True, sender_device="DEV",
    )
    assert converted == Message(
        room_id=ROOM, event_id="$e1", sender="@alex:example.org", timestamp_ms=1234,
        encrypted=True, sender_device="DEV", body="!help", msgtype="m.text",
        mentions=frozenset({"@bot:x"}),
    )


def test_thread_reply_and_edit() -> None:
    threaded = from_matrix(event("m.room.message", {
        "msgtype": "m.text", "body": "hi",
        "m.relates_to": {"rel_type": "m.thread", "event_id": "$root",
                         "m.in_reply_to": {"event_id": "$prev"}},
    }), ROOM, encrypted=True)
    assert isinstance(threaded, Message)
    assert (threaded.thread_root, threaded.reply_to) == ("$root", "$prev")

    edit = from_matrix(event("m.room.message", {
        "msgtype": "m.text", "body": "* new", "m.new_content": {"body": "new"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$old"},
    }), ROOM, encrypted=True)
    assert isinstance(edit, Message)
    assert (edit.is_edit, edit.body, edit.thread_root) == (True, "new", None)
    assert edit.replaces == "$old" and threaded.replaces is None


def test_malformed_relations_are_ignored() -> None:
    for relates in (
        {"rel_type": "m.thread"},
        {"rel_type": "m.thread", "event_id": {"nested": 1}},
        {"rel_type": "m.thread", "event_id": None, "m.in_reply_to": {"event_id": 7}},
        {"m.in_reply_to": {}},
        {"m.in_reply_to": "$x"},
    ):
        converted = from_matrix(
            event("m.room.message", {"msgtype": "m.text", "body": "x", "m.relates_to": relates}),
            ROOM, encrypted=True,
        )
        assert isinstance(converted, Message)
        assert converted.thread_root is None
        assert converted.reply_to is None


def test_media_messages_and_malformed_messages() -> None:
    image = from_matrix(event("m.room.message", {"msgtype": "m.image", "body": "x.png"}),
                        ROOM, encrypted=False)
    assert isinstance(image, Media) and (image.msgtype, image.body) == ("m.image", "x.png")
    sticker = from_matrix(event("m.sticker", {"body": "cat", "url": "mxc://x/y"}),
                          ROOM, encrypted=True)
    assert isinstance(sticker, Media) and sticker.msgtype == "m.sticker"
    no_type = from_matrix(event("m.room.message", {"body": "x"}), ROOM, encrypted=False)
    assert isinstance(no_type, UnknownEvent)
    no_body = from_matrix(event("m.room.message", {"msgtype": "m.text"}), ROOM, encrypted=False)
    assert isinstance(no_body, UnknownEvent)


def test_reaction() -> None:
    converted = from_matrix(event("m.reaction", {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": "$target", "key": "👍"},
    }), ROOM, encrypted=True)
    assert isinstance(converted, Reaction)
    assert (converted.key, converted.relates_to) == ("👍", "$target")
    assert from_matrix(event("m.reaction", {}), ROOM, encrypted=True) is None


def test_membership() -> None:
    joined = from_matrix(event("m.room.member", {"membership": "join", "displayname": "Alex"},
                               state_key="@alex:example.org"), ROOM, encrypted=False)
    assert isinstance(joined, MemberJoined)
    assert (joined.user_id, joined.display_name) == ("@alex:example.org", "Alex")
    rename = from_matrix(event("m.room.member", {"membership": "join", "displayname": "A"},
                               state_key="@alex:example.org",
                               unsigned={"prev_content": {"membership": "join"}}),
                         ROOM, encrypted=False)
    assert rename is None
    left = from_matrix(event("m.room.member", {"membership": "ban"}, state_key="@x:y",
                             unsigned={"prev_content": {"membership": "join"}}),
                       ROOM, encrypted=False)
    assert isinstance(left, MemberLeft) and left.membership == "ban"
    assert from_matrix(event("m.room.member", {"membership": "join"}), ROOM,
                       encrypted=False) is None  # no state_key


def test_redaction_and_unknown_types() -> None:
    redaction = from_matrix(event("m.room.redaction", {}, redacts="$gone"), ROOM, encrypted=True)
    assert isinstance(redaction, Redaction) and redaction.redacts == "$gone"
    unknown = from_matrix(event("org.example.custom", {"x": 1}), ROOM, encrypted=True)
    assert isinstance(unknown, UnknownEvent) and unknown.type == "org.example.custom"


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(
            ["event_id", "rel_type", "m.in_reply_to", "body", "msgtype", "user_ids"]
        )), inner, max_size=4),
    ),
    max_leaves=12,
)
CONTENT_KEYS = st.sampled_from(["msgtype", "body", "m.relates_to", "m.mentions",
                                "m.new_content", "membership", "displayname", "redacts"])
RELATES = st.fixed_dictionaries({}, optional={
    "rel_type": st.sampled_from(["m.thread", "m.replace", "m.annotation", "other"]),
    "event_id": JSON, "key": JSON, "m.in_reply_to": st.one_of(JSON, st.fixed_dictionaries(
        {}, optional={"event_id": JSON})),
})
CONTENT = st.one_of(
    JSON,
    st.dictionaries(CONTENT_KEYS, JSON, max_size=5),
    st.fixed_dictionaries(
        {"msgtype": st.sampled_from(["m.text", "m.notice", "m.emote"]), "body": st.text()},
        optional={"m.relates_to": RELATES, "m.mentions": JSON, "m.new_content": JSON},
    ),
)
SOURCE = st.fixed_dictionaries(
    {},
    optional={
        "type": st.one_of(st.sampled_from(["m.room.message", "m.reaction", "m.room.member",
                                           "m.room.redaction"]), JSON),
        "content": CONTENT, "event_id": JSON, "sender": JSON, "origin_server_ts": JSON,
        "state_key": JSON, "unsigned": JSON, "redacts": JSON,
    },
)


@settings(max_examples=500)
@given(source=SOURCE, encrypted=st.booleans())
def test_any_event_shape_converts_or_is_skipped(source: dict[str, Any], encrypted: bool) -> None:
    converted = from_matrix(source, ROOM, encrypted=encrypted)
    assert converted is None or isinstance(converted, RoomEvent)
    if isinstance(converted, Message):
        assert isinstance(converted.body, str)
        assert converted.thread_root is None or isinstance(converted.thread_root, str)
        assert converted.reply_to is None or isinstance(converted.reply_to, str)
