"""A plugin that fails to start is left out, named; the bot and the other plugins run on."""

from __future__ import annotations

from core.i18n import Catalog
from core.plugin import Context, Plugin, command
from tests.integration.conftest import room_with_bot
from tests.integration.plugins import EchoPlugin


class BrokenAtSetup(Plugin):
    name = "broken"
    catalog = Catalog("broken", {"help_tick": {"en": "Tick.", "ar": "تكّة."}})

    async def setup(self) -> None:
        self.runtime.scheduler.register("broken", "tick", self._tick)
        raise RuntimeError("a migration of this plugin is broken")

    async def _tick(self, job: object) -> None: ...

    @command("tick", help="help_tick")
    async def tick(self, ctx: Context) -> None:
        await ctx.reply("tick")


async def test_a_plugin_that_raises_in_setup_is_left_out_and_the_rest_runs(
        make_bot, make_member) -> None:
    bot = await make_bot(plugins=[EchoPlugin, BrokenAtSetup])
    assert bot.bot is not None
    assert bot.bot.failed_plugins == {"broken": "setup"}
    assert "broken" not in bot.bot.runtime.plugins
    # Its job handler registered before the failure does not fire; its jobs stay stored.
    assert not bot.bot.scheduler.handles("broken", "tick")
    member = await make_member()
    room = await room_with_bot(member, bot)
    assert "still here" in (await member.ask(room, "!echo still here")).body
    unknown = await member.ask(room, "!tick")
    assert "I don't know the command \u2068tick\u2069" in unknown.body
    listing = await member.ask(room, "!help")
    assert "!tick" not in listing.body and "!echo" in listing.body
