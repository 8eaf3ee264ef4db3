"""The check-ins plugin's settings: per room, and the network's own (network_scope)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.plugin import PluginSettings
from core.room_settings import network_scope


class CheckinsSettings(PluginSettings):
    reminder_minutes: int = Field(
        10, ge=0, le=720, description="DM reminder this many minutes before a deadline (0: none)")
    grace_minutes: int = Field(
        5, ge=0, le=120, description="minutes after a missed deadline before anyone is alerted")
    escalation: Literal["contacts", "team", "contacts_then_team", "contacts_and_team"] = Field(
        "contacts_then_team", description="who is alerted: contacts, the safety-team room, "
        "contacts then the team if nobody acknowledges, or both at once")
    team_after_minutes: int = Field(
        15, ge=0, le=1440, description="contacts_then_team: minutes before the team is alerted")
    # The network's choices: set only with `!config --network` (organizers), never
    # a room's override, and shown only to organizers (core.room_settings).
    team_room: str = Field(
        "", json_schema_extra=network_scope(),
        description="room id of the network's encrypted safety-team room ('' for none)")
    # '' (the default): not chosen. A member who set no zone is then asked for
    # one before a clock time (`!checkin 23:30`) is read; times shown are in
    # bot.default_timezone. An explicit zone (even "UTC") is the network's
    # choice, used for them. Members' own zones are core's (core/zones.py).
    default_timezone: str = Field(
        "", json_schema_extra=network_scope(),
        description="IANA zone for members who set none ('': ask them before reading "
        "a clock time)")
    min_minutes: int = Field(1, ge=1, description="shortest check-in, in minutes")
    max_hours: int = Field(72, ge=1, le=24 * 30, description="longest check-in, in hours")
    note_retention_hours: int = Field(
        0, ge=0, le=24 * 30,
        description="hours a note is kept after a check-in ends (0: delete at once)")
    rollcall_max_hours: int = Field(24, ge=1, le=168, description="longest roll call, in hours")
    retention_days: int = Field(
        30, ge=1, le=365, json_schema_extra=network_scope(),
        description="days a duress alarm or an escalation nobody resolved is kept, "
        "with its alerts, before it is deleted")
