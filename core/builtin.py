"""Commands every room has: `!help` (generated from the handlers) and `!language`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.i18n import LANGUAGE_NAMES, LANGUAGES, Trusted, normalise_language
from core.messages import CATALOG
from core.plugin import Context, Plugin, command
from core.roles import Role

if TYPE_CHECKING:
    from core.dispatch import Dispatcher, Route


class CorePlugin(Plugin):
    """Help and language choice; always enabled."""

    name = "core"
    catalog = CATALOG
    always_enabled = True
    dispatcher: Dispatcher | None = None

    def _routes(self, ctx: Context) -> list[Route]:
        assert self.dispatcher is not None
        return [
            route
            for route in self.dispatcher.visible_routes(ctx.room_id)
            if (ctx.role >= route.spec.min_role or (
                route.spec.or_network_role is not None and ctx.holds(route.spec.or_network_role)))
            and (route.spec.network_role is None or ctx.holds(route.spec.network_role))
        ]

    @command("help", help="help_help")
    async def help(self, ctx: Context, command_name: str | None = None) -> None:
        """Everything a member may use here, generated from the handlers."""
        assert self.dispatcher is not None
        prefix = self.dispatcher.prefix
        routes = self._routes(ctx)
        if command_name:
            wanted = command_name.removeprefix(prefix).lower()
            route = self.dispatcher.routes.get(wanted)
            if route is None or route not in self.dispatcher.visible_routes(ctx.room_id):
                await self.dispatcher.unknown_command(ctx.event, wanted)
                return
            usage = f"{prefix}{route.spec.name} {route.spec.signature.usage()}".strip()
            text = route.plugin.catalog.text(route.spec.help_key, ctx.language)
            if route.spec.min_role > Role.MEMBER:
                role = ctx.t("role_admin" if route.spec.min_role is Role.ADMIN else "role_moderator")
                text += " " + ctx.t("help_role_note", role=Trusted(role))
            await ctx.reply(ctx.t("help_command", usage=Trusted(usage), text=Trusted(text)))
            return
        lines = [ctx.t("help_header")]
        for route in routes:
            text = route.plugin.catalog.text(route.spec.help_key, ctx.language)
            lines.append(f"• {prefix}{route.spec.name} — {text}")
        lines.append(ctx.t("help_footer", help_command=Trusted(f"{prefix}help <command>")))
        await ctx.reply("\n".join(lines))

    @command("language", help="help_language", aliases=("lang",))
    async def language(self, ctx: Context, first: str | None = None, second: str | None = None) -> None:
        choices = Trusted(", ".join(f"{code} ({LANGUAGE_NAMES[code]})" for code in LANGUAGES))
        if first is None:
            current = Trusted(LANGUAGE_NAMES[ctx.language])
            example = Trusted(f"{self.dispatcher.prefix if self.dispatcher else '!'}language ar")
            await ctx.reply(ctx.t("language_current", language=current, choices=choices,
                                  example=example))
            return
        room_scope = first.lower() == "room" and second is not None
        wanted = second if room_scope else first
        assert wanted is not None
        code = normalise_language(wanted)
        if code is None:
            await ctx.reply(ctx.t("language_unknown", language=wanted[:40], choices=choices))
            return
        if room_scope:
            if ctx.role < Role.ADMIN:
                await ctx.reply(ctx.t("not_allowed_role", command=Trusted("language room"),
                                      role=Trusted(ctx.t("role_admin"))))
                return
            await self.runtime.languages.set_room(ctx.room_id, code)
            ctx.language = self.runtime.languages.for_reader(ctx.sender, ctx.room_id)
            await ctx.reply(self.catalog.text("language_room_set", code))
            return
        await self.runtime.languages.set_user(ctx.sender, code)
        ctx.language = code
        await ctx.reply(ctx.t("language_set"))
