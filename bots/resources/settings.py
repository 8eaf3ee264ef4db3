"""The resources plugin's settings: config.yaml defaults, per-room overrides with `!config resources`."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from core.plugin import PluginSettings

# Settings earlier versions had, accepted in a config block (and ignored) so an upgrade
# does not stop the bot: `answer_by_dm` (lookups are always answered in the DM now).
RETIRED_SETTINGS = ("answer_by_dm",)


class ResourcesSettings(PluginSettings):
    results_per_page: int = Field(3, ge=1, le=10, description="results per answer; !more shows the next")
    stale_after_days: int = Field(
        365, ge=1, le=3650, description="entries not verified for this long are marked stale"
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_retired(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(key in data for key in RETIRED_SETTINGS):
            data = {k: v for k, v in data.items() if k not in RETIRED_SETTINGS}
        return data
