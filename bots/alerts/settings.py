"""The alerts plugin's settings: every one is the network's, none is settable for one room."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from core.plugin import PluginSettings
from core.room_settings import network_scope

# Settings alerts once had, now the network's (core.network, core.authority).
MOVED_SETTINGS = {
    "organizers_room": "network.organizers_room",
    "organizer_power_level": "network.role_level",
}


class AlertsSettings(PluginSettings):
    """Read through `settings_for(NETWORK)`: config, then organizers' `!config --network`.

    Organizers and the organizers room are core's (network.organizers,
    network.organizers_room, network.role_level), not alerts' settings.
    """

    remind_after_minutes: int = Field(
        0, ge=0, le=10080, json_schema_extra=network_scope(),
        description="remind rooms without acknowledgement after this (0: off)")
    audit_retention_days: int = Field(
        90, ge=1, json_schema_extra=network_scope(),
        description="days the audit and sent alerts' texts are kept")
    timezone: str = Field("UTC", json_schema_extra=network_scope(),
                          description="time zone of `!alert at HH:MM` and shown times")
    status_edit_seconds: float = Field(
        1.0, ge=0.1, le=60, json_schema_extra=network_scope(),
        description="at most one status message edit per this many seconds")

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, where in MOVED_SETTINGS.items():
                if key in data:
                    raise ValueError(f"{key} is no longer an alerts setting: use {where}")
        return data

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone (use a name like UTC or Europe/Berlin)") from None
        return value
