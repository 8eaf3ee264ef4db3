"""Catalog texts show commands as the member types them: with the prefix, as code."""

from __future__ import annotations

from core.plugin import message_content, with_prefix

COMMANDS = {"checkin", "ban", "help"}


def test_a_code_span_naming_a_command_gets_the_prefix() -> None:
    text = "Start one: `checkin 2 hours`, `checkin 6pm`; `!help` already has it; `18:30` is no command."
    assert with_prefix(text, "!", COMMANDS) == (
        "Start one: `!checkin 2 hours`, `!checkin 6pm`; `!help` already has it; "
        "`18:30` is no command.")
    assert with_prefix("`ban @user [reason]`", "?", COMMANDS) == "`?ban @user [reason]`"


def test_member_text_inside_isolates_is_left_as_written() -> None:
    text = "You wrote: \u2068`ban everyone`\u2069. Try `ban @user`."
    assert with_prefix(text, "!", COMMANDS) == "You wrote: \u2068`ban everyone`\u2069. Try `!ban @user`."


def test_code_spans_show_as_code_and_html_stays_escaped() -> None:
    content = message_content("Send `!safe 1234` <b>now</b>")
    assert content["formatted_body"] == "Send <code>!safe 1234</code> &lt;b&gt;now&lt;/b&gt;"
    assert content["body"] == "Send `!safe 1234` <b>now</b>"
