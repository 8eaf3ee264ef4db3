"""Commands every room has: `!help` (generated from the handlers) and `!language`.

`!help` shows what this reader may use here, grouped by purpose: a newcomer in
a group room sees that room's commands, not the organizers'; an organizer in
the organizers room sees organizing first; a DM leads with safety. Private
commands (check-ins, PINs, look-ups) run in the DM wherever they are typed, so
in a shared room they are named on one short line instead of described.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.checks import RoleFromSetting
from core.i18n import LANGUAGE_NAMES, LANGUAGES, RLM, Trusted, join_list, language_name, normalise_language
from core.messages import CATALOG
from core.network import NetworkRole
from core.plugin import CommandSpec, Context, Plugin, argument_name, command, usage_line
from core.roles import Role

if TYPE_CHECKING:
    from core.dispatch import Dispatcher, Route


class Group(enum.StrEnum):
    """What a command is for; each has a `help_group_<value>` title in core's catalog."""

    SAFETY = "safety"  # check-ins, PINs, contacts
    DIRECTORY = "directory"  # finding help
    ROOM = "room"  # what a member does in this room
    MODERATION = "moderation"  # room settings, moderation
    ORGANIZING = "organizing"  # alerts, roll calls, the network
    OTHER = "other"  # third-party plugins
    BASICS = "basics"  # help, language


PLUGIN_GROUPS: dict[str, Group] = {
    "checkins": Group.SAFETY,
    "resources": Group.DIRECTORY,
    "onboarding": Group.ROOM,
    "moderation": Group.MODERATION,
    "admin": Group.MODERATION,
    "alerts": Group.ORGANIZING,
    "core": Group.BASICS,
}

# Commands whose purpose differs from their plugin's.
COMMAND_GROUPS: dict[str, Group] = {
    "rollcall": Group.ORGANIZING,
    "here": Group.ROOM,
    "report": Group.ROOM,
    "ack": Group.ROOM,
    "subscribe": Group.DIRECTORY,
    "unsubscribe": Group.DIRECTORY,
    "onboarding": Group.MODERATION,  # the admins' preview and status of the gate
}

# Within a group the most useful come first; commands not listed follow by name.
PRIORITY: tuple[str, ...] = (
    # safety
    "checkin", "safe", "extend", "cancel", "contacts", "safepin", "duress", "timezone",
    "confirm",
    # finding help
    "find", "more", "categories", "countries", "suggest", "subscribe", "unsubscribe",
    "resource",
    # this room
    "rules", "agree", "rooms", "report", "intro", "pronouns", "here", "ack",
    "onit",  # this room's (a safety team's) in a group, the last of safety in the DM
    # moderation
    "warn", "mute", "unmute", "kick", "ban", "unban", "redact", "modlog", "raid", "filters",
    "policy", "onboarding", "config", "plugins", "enable", "disable",
    # organizing
    "alert", "rollcall", "network", "modroom",
    # basics
    "help", "language",
)
_RANK = {name: index for index, name in enumerate(PRIORITY)}


@dataclass(frozen=True)
class Reader:
    """Who asks for the help, and where: all `!help` needs to choose."""

    role: Role
    network_roles: frozenset[NetworkRole]
    in_dm: bool = False
    in_organizers_room: bool = False
    encrypted: bool = True

    def holds(self, role: NetworkRole) -> bool:
        return NetworkRole.ORGANIZER in self.network_roles or role in self.network_roles

    @property
    def moderates(self) -> bool:
        return self.role >= Role.MODERATOR or self.holds(NetworkRole.MODERATOR)


# What the handlers themselves check beyond the command's declared roles: a
# command whose handler would only refuse this reader here is not offered.
HANDLER_CHECKS: dict[str, Callable[[Reader], bool]] = {
    "alert": lambda r: r.holds(NetworkRole.ORGANIZER) and r.in_organizers_room,
    "rollcall": lambda r: not r.in_dm and (r.holds(NetworkRole.ORGANIZER)
                                           or r.role >= Role.MODERATOR),
    "network": lambda r: not r.in_dm and (r.holds(NetworkRole.ORGANIZER) or r.role >= Role.ADMIN),
    "modroom": lambda r: not r.in_dm,
    "here": lambda r: not r.in_dm,
    "report": lambda r: not r.in_dm,
}


def group_of(plugin_name: str, spec: CommandSpec, *, in_dm: bool = False) -> Group:
    if spec.name == "onit" and not in_dm:
        return Group.ROOM  # a safety team's room answering an alert, not the reader's safety
    return COMMAND_GROUPS.get(spec.name) or PLUGIN_GROUPS.get(plugin_name, Group.OTHER)


def may_use(spec: CommandSpec, reader: Reader) -> bool:
    """Would this command run for `reader` here (as far as help can tell)?"""
    stand_in = spec.or_network_role is not None and reader.holds(spec.or_network_role)
    if spec.min_role > Role.MEMBER:
        # In a DM its creator has full power, but there is no room to run:
        # only a network role makes a room-staff command useful there.
        if reader.in_dm and not stand_in:
            return False
        if reader.role < spec.min_role and not stand_in:
            return False
    if spec.network_role is not None and not reader.holds(spec.network_role):
        return False
    if spec.encrypted_only and not reader.encrypted:
        return False
    check = HANDLER_CHECKS.get(spec.name)
    return check is None or check(reader)


def group_order(reader: Reader) -> tuple[Group, ...]:
    """Which groups come first for this reader here."""
    if reader.in_dm:
        return (Group.SAFETY, Group.DIRECTORY, Group.ROOM, Group.ORGANIZING, Group.MODERATION,
                Group.OTHER, Group.BASICS)
    if reader.in_organizers_room and reader.holds(NetworkRole.ORGANIZER):
        return (Group.ORGANIZING, Group.MODERATION, Group.ROOM, Group.DIRECTORY, Group.SAFETY,
                Group.OTHER, Group.BASICS)
    if reader.moderates:
        return (Group.MODERATION, Group.ROOM, Group.DIRECTORY, Group.ORGANIZING, Group.SAFETY,
                Group.OTHER, Group.BASICS)
    return (Group.ROOM, Group.DIRECTORY, Group.SAFETY, Group.ORGANIZING, Group.MODERATION,
            Group.OTHER, Group.BASICS)


@dataclass(frozen=True)
class Arranged:
    """The help's content: described groups, then private commands named briefly."""

    groups: list[tuple[Group, list[CommandSpec]]]
    # Shared rooms only: private commands answer in the DM, so they are only named.
    private: list[CommandSpec]


def arrange(commands: Iterable[tuple[str, CommandSpec]], reader: Reader) -> Arranged:
    """Filter (plugin name, command) pairs for `reader` and put them in a stable order."""
    order = group_order(reader)
    private_order = group_order(Reader(reader.role, reader.network_roles, in_dm=True))
    by_group: dict[Group, list[CommandSpec]] = {group: [] for group in Group}
    private: list[tuple[int, CommandSpec]] = []
    for plugin_name, spec in commands:
        if not may_use(spec, reader):
            continue
        group = group_of(plugin_name, spec, in_dm=reader.in_dm)
        if spec.private and not reader.in_dm:
            private.append((private_order.index(group), spec))
        else:
            by_group[group].append(spec)
    return Arranged(
        groups=[(group, sorted(by_group[group], key=_rank)) for group in order if by_group[group]],
        private=[spec for _, spec in sorted(private, key=lambda item: (item[0], *_rank(item[1])))],
    )


def _rank(spec: CommandSpec) -> tuple[int, str]:
    return _RANK.get(spec.name, len(_RANK)), spec.name


class CorePlugin(Plugin):
    """Help and language choice; always enabled."""

    name = "core"
    catalog = CATALOG
    always_enabled = True
    dispatcher: Dispatcher | None = None

    def reader(self, ctx: Context) -> Reader:
        """Who `ctx`'s sender is where they wrote, as `!help` needs it."""
        rt = self.runtime
        return Reader(
            role=ctx.role,
            network_roles=frozenset(role for role in NetworkRole if ctx.holds(role)),
            in_dm=rt.dms.is_dm(ctx.room_id),
            in_organizers_room=rt.network.role_room(NetworkRole.ORGANIZER) == ctx.room_id,
            encrypted=ctx.encrypted_room,
        )

    @command("help", help="help_help")
    async def help(self, ctx: Context, command_name: str | None = None,
                   subcommand: str | None = None) -> None:
        """What this member may use here, grouped by purpose, generated from the handlers."""
        assert self.dispatcher is not None
        prefix = self.dispatcher.prefix
        if not command_name:
            await ctx.reply(self.help_text(ctx))
            return
        wanted = command_name.removeprefix(prefix).lower()
        route = self.dispatcher.routes.get(wanted)
        if route is None or route not in self.dispatcher.visible_routes(ctx.room_id):
            await self.dispatcher.unknown_command(ctx.event, wanted)
            return
        resolved = route.resolve(subcommand or "") if subcommand else None
        if route.is_group and resolved is None:
            await ctx.reply(self.group_text(ctx, route, subcommand or ""))
            return
        spec = resolved[0] if resolved else route.spec
        usage = usage_line(prefix, spec, route.plugin.catalog, ctx.language)
        text = route.plugin.catalog.text(spec.help_key, ctx.language)
        if spec.min_role > Role.MEMBER:
            role = ctx.t("role_admin" if spec.min_role is Role.ADMIN else "role_moderator")
            text += " " + ctx.t("help_role_note", role=Trusted(role))
        await ctx.reply(ctx.t("help_command", usage=Trusted(usage), text=Trusted(text)))

    def offered(self, route: Route, spec: CommandSpec, ctx: Context, reader: Reader) -> bool:
        """May this reader use `spec` here, counting a role its plugin's settings ask for?

        `!config admin min_role admin` makes `!config` an admins' command in that
        room: a moderator is not offered it.
        """
        if not may_use(spec, reader):
            return False
        roles = [check for check in spec.checks if isinstance(check, RoleFromSetting)]
        if not roles or (spec.or_network_role is not None and reader.holds(spec.or_network_role)):
            return True
        assert self.dispatcher is not None
        own = self.dispatcher.context(route.plugin, ctx.event)
        return all(reader.role >= check.needed(own) for check in roles)

    def group_text(self, ctx: Context, route: Route, args: str) -> str:
        """A group's help: what it is for, then the subcommands this reader may use here.

        The answer to the group typed alone, to a word that is none of its
        subcommands (named first), and to `!help <group>`.
        """
        assert self.dispatcher is not None
        prefix = self.dispatcher.prefix
        reader = self.reader(ctx)
        lines = []
        word = args.split(None, 1)[0] if args.strip() else ""
        if word:
            lines.append(ctx.t("unknown_subcommand", command=Trusted(prefix + route.spec.name),
                               word=word[:40]))
        lines.append(route.plugin.catalog.text(route.spec.help_key, ctx.language))
        for spec in route.leaves():
            if self.offered(route, spec, ctx, reader):
                usage = usage_line(prefix, spec, route.plugin.catalog, ctx.language)
                text = route.plugin.catalog.text(spec.help_key, ctx.language)
                lines.append(f"• {usage} — {text}")
        lines.append(ctx.t("help_footer", help_command=Trusted(
            f"{prefix}help {route.spec.name} <{ctx.t('help_subcommand_word')}>")))
        return "\n".join(lines)

    def help_text(self, ctx: Context) -> str:
        """The `!help` list for `ctx`'s reader, in their language."""
        assert self.dispatcher is not None
        prefix = self.dispatcher.prefix
        reader = self.reader(ctx)
        routes = [route for route in self.dispatcher.visible_routes(ctx.room_id)
                  if any(self.offered(route, spec, ctx, reader) for spec in route.leaves())]
        plugin_of = {route.spec.name: route.plugin for route in routes}
        arranged = arrange(((route.plugin.name, route.spec) for route in routes), reader)
        lines = [ctx.t("help_header")]
        for group, specs in arranged.groups:
            title = "help_group_room_dm" if group is Group.ROOM and reader.in_dm \
                else f"help_group_{group.value}"
            lines += ["", ctx.t(title)]
            for spec in specs:
                text = plugin_of[spec.name].catalog.text(spec.help_key, ctx.language)
                lines.append(f"• {prefix}{spec.name} — {text}")
        if arranged.private:
            names = _joined(ctx, [f"{prefix}{spec.name}" for spec in arranged.private])
            lines += ["", ctx.t("help_private", commands=names)]
        lines += ["", ctx.t("help_footer", help_command=Trusted(
            f"{prefix}help <{argument_name(self.catalog, 'command_name', ctx.language)}>"))]
        return "\n".join(lines)

    @command("language", help="help_language", aliases=("lang",))
    async def language(self, ctx: Context, first: str | None = None, second: str | None = None) -> None:
        # Each choice in its own script, so a reader finds theirs whatever the current language.
        choices = Trusted(join_list((f"{code} ({LANGUAGE_NAMES[code]})" for code in LANGUAGES),
                                    ctx.language, "or"))
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
            await ctx.reply(ctx.t("language_unknown", language=language_name(wanted[:40], ctx.language),
                                  choices=choices))
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


def _joined(ctx: Context, names: Sequence[str]) -> Trusted:
    # The catalog marks an Arabic text's direction; a separator between names needs none.
    return Trusted(ctx.t("help_list_separator").lstrip(RLM).join(names))
