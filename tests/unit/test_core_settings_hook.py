"""Typed settings (Plugin[S].settings_for) and the hook when a setting changes."""

from __future__ import annotations

from pathlib import Path

from core.i18n import Catalog
from core.plugin import Plugin, PluginSettings
from core.room_settings import NETWORK
from core.testing import PluginHarness

ROOM = "!group:test"


class RuleSettings(PluginSettings):
    pattern: str = "spam"


class Rules(Plugin[RuleSettings]):
    name = "rules"
    catalog = Catalog("rules", {})
    Settings = RuleSettings

    def __init__(self, runtime: object) -> None:
        super().__init__(runtime)  # type: ignore[arg-type]
        self.changes: list[tuple[str, str, str]] = []

    async def settings_changed(self, room_id: str, key: str) -> None:
        # e.g. recompile a rule from the new value
        self.changes.append((room_id, key, self.settings_for(room_id).pattern))
        if room_id == "!boom:test":
            raise RuntimeError("a plugin's own bug")


async def test_a_change_reaches_the_plugin_with_the_new_value(tmp_path: Path) -> None:
    async with PluginHarness(Rules, data_dir=tmp_path) as h:
        rules = h.plugin(Rules)
        settings = h.runtime.settings
        await settings.set_value(ROOM, Rules, "pattern", "scam")
        await settings.set_value(NETWORK, Rules, "pattern", "fraud")
        await settings.reset_value(ROOM, Rules, "pattern")
        assert rules.changes == [(ROOM, "pattern", "scam"), (NETWORK, "pattern", "fraud"),
                                 (ROOM, "pattern", "fraud")]
        # A watcher that raises does not undo the stored value or stop the others.
        await settings.set_value("!boom:test", Rules, "pattern", "kept")
        assert rules.settings_for("!boom:test").pattern == "kept"
        assert isinstance(rules.settings_for(ROOM), RuleSettings)
