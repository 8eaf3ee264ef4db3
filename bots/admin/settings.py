"""Who may change plugins and settings in a room."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.plugin import PluginSettings


class AdminSettings(PluginSettings):
    min_role: Literal["moderator", "admin"] = Field(
        "admin", description="who may change plugins and settings in a room"
    )
