"""Chat-side administration: `!plugins`, `!enable`, `!disable`, `!config`."""

from __future__ import annotations

import json

from bots.admin.messages import CATALOG
from bots.admin.settings import AdminSettings
from core.checks import role_from_setting
from core.i18n import Trusted, join_list
from core.network import NetworkRole
from core.plugin import Context, Plugin, command
from core.roles import Role
from core.room_settings import NETWORK, SettingError, is_network_scoped, viewer_role

NETWORK_FLAG = "--network"


# The room role `!config admin min_role` names (admins by default).
ROOM_STAFF = role_from_setting("min_role")


class AdminPlugin(Plugin[AdminSettings]):
    """Lets room admins configure the other plugins for their room."""

    name = "admin"
    catalog = CATALOG
    always_enabled = True
    Settings = AdminSettings

    def _plugin(self, name: str) -> type[Plugin] | None:
        return self.runtime.plugin_class(name.lower())

    def _names(self, ctx: Context) -> Trusted:
        names = sorted(p for p in self.runtime.plugins if p != "core")
        return Trusted(join_list(names, ctx.language, None))

    @command("plugins", help="help_plugins", min_role=Role.MODERATOR, checks=[ROOM_STAFF])
    async def plugins(self, ctx: Context[AdminSettings]) -> None:
        lines = [ctx.t("plugins_header")]
        for name in sorted(self.runtime.plugins):
            plugin = type(self.runtime.plugins[name])
            if name == "core":
                continue
            if plugin.always_enabled:
                state = ctx.t("plugin_builtin")
            else:
                on = self.runtime.settings.is_enabled(ctx.room_id, plugin)
                state = ctx.t("plugin_on" if on else "plugin_off")
            lines.append(f"• {name}: {state}")
        await ctx.reply("\n".join(lines))

    @command("enable", help="help_enable", min_role=Role.MODERATOR, checks=[ROOM_STAFF])
    async def enable(self, ctx: Context, plugin: str) -> None:
        await self._switch(ctx, plugin, True)

    @command("disable", help="help_disable", min_role=Role.MODERATOR, checks=[ROOM_STAFF])
    async def disable(self, ctx: Context, plugin: str) -> None:
        await self._switch(ctx, plugin, False)

    async def _switch(self, ctx: Context, name: str, on: bool) -> None:
        plugin = self._plugin(name)
        if plugin is None or plugin.name == "core":
            await ctx.reply(ctx.t("unknown_plugin", name=name[:60], names=self._names(ctx)))
            return
        shown = Trusted(plugin.name)
        if plugin.always_enabled:
            await ctx.reply(ctx.t("cannot_disable", name=shown))
            return
        if self.runtime.settings.is_enabled(ctx.room_id, plugin) == on:
            await ctx.reply(ctx.t("already_enabled" if on else "already_disabled", name=shown))
            return
        await self.runtime.settings.set_enabled(ctx.room_id, plugin, on)
        await ctx.reply(ctx.t("enabled" if on else "disabled", name=shown))

    # `--network` needs network authority, not a room role (an organizer need not
    # moderate the room they write in: `or_network_role`); the room's own settings
    # are checked against min_role below.
    @command("config", help="help_config", min_role=Role.MODERATOR,
             or_network_role=NetworkRole.ORGANIZER)
    async def config(
        self, ctx: Context, plugin: str, key: str | None = None, *, value: str = ""
    ) -> None:
        room_id = ctx.room_id
        if plugin == NETWORK_FLAG:
            # `config --network <plugin> [key] [value]`: for every room of the network.
            # Network authority from core only: no room role grants it.
            if not ctx.holds(NetworkRole.ORGANIZER):
                await ctx.reply(ctx.t("network_organizers_only"))
                return
            if key is None:
                await ctx.reply(ctx.t("network_usage"))
                return
            room_id, plugin = NETWORK, key
            words = value.split(maxsplit=1)
            key, value = (words[0], words[1] if len(words) > 1 else "") if words else (None, "")
        else:
            await ROOM_STAFF(ctx)  # refuses (Refusal) unless the room role the setting names
        await self._configure(ctx, room_id, plugin, key, value)

    async def _configure(self, ctx: Context, room_id: str, plugin: str, key: str | None,
                         value: str) -> None:
        target = self._plugin(plugin)
        if target is None or target.name == "core":
            await ctx.reply(ctx.t("unknown_plugin", name=plugin[:60], names=self._names(ctx)))
            return
        shown = Trusted(target.name)
        fields = target.Settings.model_fields
        settings = self.runtime.settings
        if key is None:
            if not fields:
                await ctx.reply(ctx.t("no_settings", name=shown))
                return
            effective = settings.effective(room_id, target).model_dump(mode="json")
            changed = settings.overridden(room_id, target)
            header = "network_settings_header" if room_id == NETWORK else "settings_header"
            lines = [ctx.t(header, name=shown, marker=Trusted("*"))]
            hidden = False
            for field_name in fields:
                mark = " *" if field_name in changed else ""
                if self._may_see(ctx, target, field_name):
                    lines.append(f"• {field_name} = {_show(effective[field_name])}{mark}")
                else:
                    hidden = True
                    lines.append(f"• {field_name} = {ctx.t('hidden_value')}{mark}")
            if hidden:
                lines.append(ctx.t("hidden_note"))
            await ctx.reply("\n".join(lines))
            return
        if key not in fields:
            await ctx.reply(ctx.t("unknown_setting", name=shown, key=key[:60],
                                  keys=Trusted(join_list(fields, ctx.language, None))))
            return
        if not value:
            if not self._may_see(ctx, target, key):
                await ctx.reply(f"{key} = {ctx.t('hidden_value')}\n{ctx.t('hidden_note')}")
                return
            effective = settings.effective(room_id, target).model_dump(mode="json")
            await ctx.reply(f"{key} = {_show(effective[key])}")
            return
        if room_id != NETWORK and is_network_scoped(target, key):
            # Names private rooms or changes the network's behaviour: never one room's choice.
            await ctx.reply(ctx.t("network_setting_only", key=Trusted(key), usage=Trusted(
                f"{self.runtime.config.bot.command_prefix}config {NETWORK_FLAG} "
                f"{target.name} {key} <value>")))
            return
        try:
            if value.strip().lower() == "default":
                await settings.reset_value(room_id, target, key)
                effective = settings.effective(room_id, target).model_dump(mode="json")
                await ctx.reply(ctx.t("setting_reset", key=Trusted(key),
                                      value=_show(effective[key])))
                return
            saved = await settings.set_value(room_id, target, key, value)
        except SettingError as error:
            await ctx.reply(ctx.t("setting_refused", problems="\n".join(error.problems)))
            return
        await ctx.reply(ctx.t("setting_saved", key=Trusted(key), value=_show(saved)))


    def _may_see(self, ctx: Context, plugin: type[Plugin], key: str) -> bool:
        """May this reply show the value of `key`? Network-scoped values (private rooms,
        network choices) are shown only to holders of the field's network role, and only
        where no one else reads them: a room that holds a network role, or the sender's
        own direct message with the bot."""
        role = viewer_role(plugin, key)
        if role is None:
            return True
        if not ctx.holds(role):
            return False
        dms = self.runtime.dms
        own_dm = dms.is_dm(ctx.room_id) and dms.user_of(ctx.room_id) == ctx.sender
        return own_dm or ctx.room_id in self.runtime.network.role_rooms()


def _show(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
