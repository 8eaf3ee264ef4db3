"""The moderation plugin's settings: config.yaml defaults, per-room overrides with `!config moderation`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from bots.moderation.messages import CATALOG
from bots.moderation.textrules import MAX_PATTERNS, PatternError, check_pattern
from core.network import NetworkRole
from core.plugin import PluginSettings
from core.room_settings import network_scope

ACTIONS = ("warn", "redact", "mute", "kick", "ban")


def _network() -> dict[str, Any]:
    """A network setting: set only for the whole network (`!config --network`), never by a
    room; its value shown to network moderators (organizers hold every role)."""
    return network_scope(NetworkRole.MODERATOR)


# Settings that change the network, not one room: no room override applies to them.
NETWORK_KEYS = ("protected_rooms", "management_room", "modlog_room", "policy_lists", "own_list",
                "publish_bans", "policy_poll_seconds", "modlog_retention_days")


def _both(key: str, **values: Any) -> str:
    # pydantic's message is what `!config` shows; it cannot know the reader's
    # language, so it carries both.
    return f"{CATALOG.text(key, 'en', **values)} / {CATALOG.text(key, 'ar', **values)}"


class ModerationSettings(PluginSettings):
    """Protections per room, plus the network's moderation rooms and policy lists."""

    flood_messages: int = Field(10, ge=0, le=1000, description="messages allowed per flood window (0 = off)")
    flood_seconds: int = Field(10, ge=1, le=3600, description="flood window in seconds")
    repeat_messages: int = Field(4, ge=0, le=100,
                                 description="identical messages that count as spam (0 = off)")
    repeat_seconds: int = Field(120, ge=1, le=86400, description="window for identical messages")
    max_mentions: int = Field(8, ge=0, le=1000, description="user mentions allowed in one message (0 = off)")
    words: list[str] = Field(default_factory=list,
                             description="words or phrases removed wherever they appear (any spelling)")
    patterns: list[str] = Field(default_factory=list, description=(
        f"regular expressions over the normalised text (at most {MAX_PATTERNS}; slow ones "
        "are refused)"))
    newcomer_hours: float = Field(24, ge=0, le=8760,
                                  description="members who joined less than this ago may not post links")
    joinwave_joins: int = Field(10, ge=0, le=10000, description="joins that make a raid (0 = off)")
    joinwave_seconds: int = Field(60, ge=1, le=86400, description="window for counting joins")
    joinwave_mode: Literal["invite", "knock"] = Field(
        "invite", description="join rule while a raid is on")
    escalation: list[str] = Field(
        default_factory=lambda: ["redact+warn", "redact+mute", "redact+kick", "redact+ban"],
        description="what each strike does, in order (warn, redact, mute, kick, ban joined by +)")
    mute_minutes: int = Field(0, ge=0, le=525600, description=(
        "how long a protection's mute lasts (0 = until a moderator unmutes)"))
    strike_hours: float = Field(24, gt=0, le=8760, description="how long a strike counts")
    report_emoji: str = Field("🚩", min_length=1, max_length=16,
                              description="reaction that reports a message to the moderators")
    anonymous_reports: bool = Field(False, description="hide who reported a message from moderators")
    protected_rooms: list[str] = Field(
        default_factory=list, json_schema_extra=_network(),
        description="narrows --all and policy lists to these network rooms (empty = every "
                    "network room where moderation is on)")
    management_room: str = Field(
        "", json_schema_extra=_network(),
        description="no longer read: reports go to the network moderators' room "
                    "(network.moderators_room, or !modroom by an organizer)")
    modlog_room: str = Field("", json_schema_extra=_network(),
                             description="encrypted room for the mod log (empty = moderators' room)")
    policy_lists: list[str] = Field(default_factory=list, json_schema_extra=_network(),
                                    description="policy list rooms to follow")
    own_list: str = Field("", json_schema_extra=_network(),
                          description="policy list room our bans are published to")
    publish_bans: bool = Field(True, json_schema_extra=_network(),
                               description="publish !ban to own_list as m.policy.rule.user")
    policy_poll_seconds: float = Field(60, ge=1, le=3600, json_schema_extra=_network(), description=(
        "how often list rooms are re-read in full; changes arrive at once through sync, "
        "this only catches up after an outage"))
    modlog_retention_days: int = Field(365, ge=1, le=3650, json_schema_extra=_network(),
                                       description="how long the mod log is kept")

    @field_validator("patterns")
    @classmethod
    def _safe_patterns(cls, patterns: list[str]) -> list[str]:
        if len(patterns) > MAX_PATTERNS:
            raise ValueError(_both("too_many_patterns", most=MAX_PATTERNS, count=len(patterns)))
        for pattern in patterns:
            try:
                check_pattern(pattern)
            except PatternError as error:
                raise ValueError(_both(error.reason, pattern=pattern[:60])) from None
        return patterns

    @field_validator("words")
    @classmethod
    def _clean_words(cls, words: list[str]) -> list[str]:
        cleaned = [word.strip() for word in words if word.strip()]
        if len(cleaned) > 5000:
            raise ValueError(_both("too_many_words"))
        return cleaned

    @field_validator("escalation")
    @classmethod
    def _steps(cls, steps: list[str]) -> list[str]:
        if not steps:
            raise ValueError(_both("escalation_empty"))
        for step in steps:
            parts = [part.strip() for part in step.split("+")]
            unknown = [part for part in parts if part not in ACTIONS]
            if unknown:
                raise ValueError(_both("escalation_unknown", step=step[:40]))
        return [step.replace(" ", "") for step in steps]
