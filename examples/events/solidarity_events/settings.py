"""Per-room choices: who may announce events, how long before them the reminder goes out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, field_serializer, field_validator

from core.plugin import PluginSettings
from core.timeparse import TimeInputError, format_duration, parse_duration


class EventSettings(PluginSettings):
    min_role: Literal["member", "moderator", "admin"] = Field(
        "member", description="who may announce events in the room (!event add)")
    reminder_before: timedelta = Field(
        timedelta(hours=1), ge=timedelta(minutes=5), le=timedelta(days=7),
        description="how long before an event those who said they come are reminded")
    max_upcoming: int = Field(
        20, ge=1, le=100, description="how many upcoming events a room may have at once")

    # Admins type durations as they do in commands (`!config events reminder_before 2h`,
    # `ساعتين`); pydantic alone reads only seconds or ISO 8601 (`PT2H`).
    @field_validator("reminder_before", mode="before")
    @classmethod
    def _read_duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return timedelta(seconds=parse_duration(value))
            except TimeInputError:
                return value  # ISO 8601 or a mistake: pydantic's own message says which
        return value

    # Stored and shown by `!config` as typed (`1h30m`), not as `PT1H30M`.
    @field_serializer("reminder_before", when_used="json")
    def _show_duration(self, value: timedelta) -> str:
        return format_duration(value.total_seconds())
