"""The onboarding settings: config defaults, overridden per room with `!config onboarding`.

Two settings act beyond the room that would set them, so they are network
settings (core/room_settings.py `network_scope`), set in config or by
organizers with `!config --network onboarding ...`, never by a room's admins:

- `introductions_room`: where members' introductions are posted. A room
  admin could otherwise send every introduction of their room's newcomers
  (pronouns, why they came) into any room the bot is in, one they do not
  administer or whose members the newcomers never chose to be seen by.
- `directory_space`: whose children `!rooms` lists. A room admin could
  otherwise point it at any space the bot is in and have the bot list (and
  name) the rooms of a private space to everyone.

Both name rooms that may be private, so their values are shown to organizers only.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from core.network import NetworkRole
from core.plugin import PluginSettings
from core.room_settings import network_scope

# Room ids of room version 12 have no server part (`!opaque`); older ones do (`!opaque:server`).
ROOM_ID = re.compile(r"![^\s:]+(?::\S+)?")
ROOM_OR_ALIAS = re.compile(r"![^\s:]+(?::\S+)?|#[^:\s]+:\S+")
Question = Literal["pronouns", "languages", "reason"]

RULES_MAX = 4000
WELCOME_MAX = 1000


class OnboardingSettings(PluginSettings):
    """Texts per language, the code-of-conduct gate, introductions and the room directory."""

    welcome_in_room: bool = Field(True, description="greet newcomers in the room (batched)")
    room_welcome_en: str = Field(
        "", max_length=WELCOME_MAX,
        description="room welcome in English; {names} is replaced by the newcomers (empty = built in)",
    )
    room_welcome_ar: str = Field("", max_length=WELCOME_MAX, description="room welcome in Arabic")
    dm_welcome_en: str = Field(
        "", max_length=WELCOME_MAX,
        description="first paragraph of the private welcome in English (empty = built in)",
    )
    dm_welcome_ar: str = Field("", max_length=WELCOME_MAX,
                               description="first paragraph of the private welcome in Arabic")
    rules_en: str = Field(
        "", max_length=RULES_MAX,
        description="the room's code of conduct in English (empty = the other language's, "
                    "then a built-in default)",
    )
    rules_ar: str = Field("", max_length=RULES_MAX, description="the code of conduct in Arabic")
    gate: bool = Field(
        False, description="newcomers cannot write until they accept the rules (the bot needs "
                           "the power to change power levels)",
    )
    reminder_hours: float = Field(
        24.0, ge=0, le=24 * 30,
        description="remind a newcomer who has not accepted after this many hours (0 = never)",
    )
    remove_after_days: int = Field(
        0, ge=0, le=365,
        description="remove a gated newcomer who has not accepted after this many days (0 = never)",
    )
    batch_seconds: float = Field(
        10.0, ge=0, le=600,
        description="collect joins this long before one room welcome names them all",
    )
    batch_names: int = Field(5, ge=1, le=50, description="newcomers named in one room welcome")
    introductions_room: str = Field(
        "", description="room id where introductions are posted (empty = no introductions; "
                        "a network setting: organizers only)",
        json_schema_extra=network_scope(role=NetworkRole.ORGANIZER),
    )
    intro_questions: list[Question] = Field(
        ["pronouns", "languages", "reason"],
        description="questions asked for an introduction: pronouns, languages, reason",
    )
    directory_space: str = Field(
        "", description="space (room id) whose child rooms `!rooms` lists (a network setting: "
                        "organizers only)",
        json_schema_extra=network_scope(role=NetworkRole.ORGANIZER),
    )
    directory_rooms: list[str] = Field(
        [], description="further rooms (ids or aliases) that `!rooms` lists"
    )

    @field_validator("introductions_room")
    @classmethod
    def _room_id(cls, value: str) -> str:
        value = value.strip()
        if value and not ROOM_ID.fullmatch(value):
            raise ValueError("must be a room id such as !abc:example.org (Room settings → "
                             "Advanced), or empty")
        return value

    @field_validator("directory_space")
    @classmethod
    def _space(cls, value: str) -> str:
        value = value.strip()
        if value and not ROOM_ID.fullmatch(value):
            raise ValueError("must be the space's room id such as !abc:example.org, or empty")
        return value

    @field_validator("directory_rooms")
    @classmethod
    def _rooms(cls, value: list[str]) -> list[str]:
        cleaned = [room.strip() for room in value]
        bad = [room for room in cleaned if not ROOM_OR_ALIAS.fullmatch(room)]
        if bad:
            raise ValueError("each entry must be a room id (!abc:example.org) or alias "
                             "(#name:example.org)")
        if len(cleaned) > 100:
            raise ValueError("at most 100 rooms")
        return cleaned

    def text(self, field: str, language: str) -> str:
        """A per-language text field, e.g. `text("rules", "ar")`; empty when unset."""
        value = getattr(self, f"{field}_{language}", "")
        return value.strip() if isinstance(value, str) else ""
