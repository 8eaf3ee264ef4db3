"""Whom a moderators' command acts on: `@user`, with `--all` before or after for every room.

Read once by a converter (`Target` as the argument's annotation), so the
handler gets the user, whether it is network-wide, and the rest of the line
(the reason) without the flag.
"""

from __future__ import annotations

from typing import NamedTuple

from core.commands import ArgumentContext, register_converter
from core.plugin import MATRIX_USER

ALL_FLAG = "--all"


class Target(NamedTuple):
    user: str
    everywhere: bool


def valid_user(user_id: str) -> bool:
    return len(user_id) <= 255 and MATRIX_USER.fullmatch(user_id) is not None


def read_target(text: str, ctx: ArgumentContext | None = None) -> tuple[Target, str]:
    """(target, the rest without the flag) from `@user reason --all` or `--all @user reason`."""
    words = text.split(maxsplit=1)
    everywhere = bool(words) and words[0] == ALL_FLAG
    if everywhere:
        words = words[1].split(maxsplit=1) if len(words) > 1 else []
    if not words or not valid_user(words[0]):
        raise ValueError(text)
    rest = words[1] if len(words) > 1 else ""
    if ALL_FLAG in rest.split():
        everywhere = True
        rest = " ".join(word for word in rest.split(" ") if word != ALL_FLAG)
    return Target(words[0], everywhere), rest.strip()


register_converter(Target, read_target, expected="target", greedy=True)
