"""The greeter plugin: `!greet [name]` answers in the reader's language."""

from __future__ import annotations

from core.plugin import Context, Plugin, command
from solidarity_greeter.messages import CATALOG
from solidarity_greeter.settings import GreeterSettings


class GreeterPlugin(Plugin[GreeterSettings]):
    """Greets whoever asks; the greeting is a per-room setting."""

    name = "greeter"
    catalog = CATALOG
    Settings = GreeterSettings

    @command("greet", help="help_greet")
    async def greet(self, ctx: Context[GreeterSettings], name: str | None = None) -> None:
        """Greet `name`, or the sender when no name is given."""
        await ctx.reply(ctx.t("hello", greeting=ctx.settings.greeting, name=name or ctx.sender))
