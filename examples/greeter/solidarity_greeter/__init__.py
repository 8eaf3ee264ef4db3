"""An installable Solidarity plugin: `!greet [name]` answers in the reader's language."""

from __future__ import annotations

from pydantic import Field

from core.i18n import Catalog
from core.plugin import Context, Plugin, PluginSettings, command

CATALOG = Catalog("greeter", {
    "help_greet": {"en": "Say hello: !greet [name]",
                   "ar": "للتحية: ‎!greet [name]‎"},
    "hello": {"en": "{greeting}, {name}!", "ar": "{greeting}، {name}!"},
})


class GreeterPlugin(Plugin):
    """Greets whoever asks; the greeting is a per-room setting."""

    name = "greeter"
    catalog = CATALOG

    class Settings(PluginSettings):
        greeting: str = Field("Hello", min_length=1, max_length=40,
                              description="the word the bot greets with")

    @command("greet", help="help_greet")
    async def greet(self, ctx: Context, name: str | None = None) -> None:
        greeting = ctx.settings.greeting  # type: ignore[attr-defined]
        await ctx.reply(ctx.t("hello", greeting=greeting, name=name or ctx.sender))
