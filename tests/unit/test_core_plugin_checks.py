"""Framework rules checked when a plugin loads, for any plugin (not only this repository's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.discovery import discover_plugins
from core.i18n import Catalog
from core.plugin import Context, Plugin, command, plugin_problems


class Careless(Plugin):
    name = "careless"
    catalog = Catalog("careless", {
        "help_hi": {"en": "Say hi.", "ar": "قل مرحباً."},
        "greeting": {"en": "Hello {name}"},
        "count": {"en": "{n} left", "ar": "بقي {count}"},
    })

    @command("hi", help="help_hi")
    async def hi(self, ctx: Context) -> None: ...

    @command("bye", help="help_byee")
    async def bye(self, ctx: Context) -> None: ...

    async def on_reactions(self, ctx: Context, event: object) -> None:
        """A typo: the dispatcher calls on_reaction, so this was silently never called."""


def test_every_mistake_is_named_with_its_plugin_and_key() -> None:
    problems = plugin_problems(Careless)
    assert any("on_reactions is not a listener" in p for p in problems)
    assert any("careless.greeting: no ar text" in p for p in problems)
    assert any("careless.count: ar placeholders differ" in p for p in problems)
    assert any("!bye has help key 'help_byee'" in p for p in problems)
    assert all(p.startswith("plugin careless:") for p in problems)


def test_the_shipped_plugins_pass() -> None:
    for plugin in discover_plugins():
        assert plugin_problems(plugin) == [], plugin.name


def test_a_bot_given_its_plugins_checks_them_too(tmp_path: Path) -> None:
    from core.bot import Bot
    from core.config import Config, ConfigError

    class Careless(Plugin):
        name = "careless"
        catalog = Catalog("careless", {})

        async def on_reactions(self, ctx: object, event: object) -> None: ...

    config = Config.model_validate({
        "matrix": {"homeserver": "http://localhost", "user_id": "@bot:test"},
        "storage": {"data_dir": str(tmp_path)},
    })
    with pytest.raises(ConfigError, match="on_reactions is not a listener"):
        Bot(config, plugins=[Careless], demo=True)
