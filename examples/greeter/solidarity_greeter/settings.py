"""The greeter's settings: defaults from `plugins.greeter` in config, overrides per room."""

from __future__ import annotations

from pydantic import Field

from core.plugin import PluginSettings


class GreeterSettings(PluginSettings):
    greeting: str = Field("Hello", min_length=1, max_length=40,
                          description="the word the bot greets with")
