"""Per-room choices: who may announce events, how long before them the reminder goes out."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from core.converters import DurationSetting
from core.plugin import PluginSettings


class EventSettings(PluginSettings):
    min_role: Literal["member", "moderator", "admin"] = Field(
        "member", description="who may announce events in the room (!event add)")
    # Typed as in commands (`!config events reminder_before 2h`, `ساعتين`), shown as `2h`.
    reminder_before: DurationSetting = Field(
        timedelta(hours=1), ge=timedelta(minutes=5), le=timedelta(days=7),
        description="how long before an event those who said they come are reminded")
    max_upcoming: int = Field(
        20, ge=1, le=100, description="how many upcoming events a room may have at once")
