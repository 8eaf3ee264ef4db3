"""The plugin API: Plugin base class, @command, per-plugin Settings and the Context."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Awaitable, Callable, Container, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

from core.commands import Signature
from core.converters import Emoji, Moment, RoomRef  # registers core's argument types
from core.events import Message, Reaction, RoomEvent
from core.i18n import LRI, PDI, RLM, RTL_LANGUAGES, Catalog, Trusted, format_duration, shape_rtl
from core.network import NetworkRole
from core.roles import Role
from core.timeparse import format_time

if TYPE_CHECKING:
    from core.actions import RoomActions
    from core.runtime import Runtime


class PluginSettings(BaseModel):
    """Base for a plugin's settings: defaults from config, overrides per room."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# A plugin's own Settings type: `class Events(Plugin[EventSettings])` makes
# `self.settings_for(room)` and a handler's `ctx: Context[EventSettings]` typed.
SettingsT = TypeVar("SettingsT", bound=PluginSettings, default=PluginSettings, covariant=True)


Handler = Callable[..., Awaitable[None]]
# A reusable condition on a command, declared beside its handler (core.checks):
# it returns quietly, or raises Refusal with the catalog key that explains why not.
Check = Callable[["Context"], Awaitable[None]]


class Refusal(Exception):
    """A check's "not here, not you": `key` is a catalog message (the plugin's or core's).

    The dispatcher answers it in the reader's language; `command` is filled in
    with the command as typed when the message names it.
    """

    def __init__(self, key: str, /, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class CommandGroup:
    """A command with subcommands (`!alert send`, `!alert status`), declared on the class.

        alert = group("alert", help="help_alert", network_role=NetworkRole.ORGANIZER)

        @alert.command("send", help="help_alert_send")
        async def send(self, ctx: Context, *, text: str) -> None: ...

    Each subcommand has its own signature, help and usage; options given to
    `group()` (roles, checks, private...) apply to every subcommand unless it
    sets its own. `!alert` alone, or with a word that is no subcommand, lists
    the subcommands this reader may use, unless the group names a subcommand
    for that: `alone="list"` runs when nothing follows the group's word
    (`!contacts`), `otherwise="compose"` receives the whole text when its first
    word is no subcommand (`!alert Evacuate now` is `!alert compose Evacuate now`).
    """

    name: str
    help_key: str
    aliases: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()
    alone: str | None = None
    otherwise: str | None = None

    def command(self, name: str, *, help: str, aliases: Sequence[str] = (),
                **options: Any) -> Callable[[Handler], Handler]:
        merged = {**dict(self.defaults), **options}
        return command(name, help=help, aliases=aliases, _group=self, **merged)


def group(name: str, *, help: str, aliases: Sequence[str] = (), alone: str | None = None,
          otherwise: str | None = None, **defaults: Any) -> CommandGroup:
    """Declare the command group `name` (see CommandGroup); `defaults` are @command options."""
    unknown = set(defaults) - _COMMAND_OPTIONS
    if unknown:
        raise TypeError(f"group {name!r}: unknown options {sorted(unknown)}")
    if "checks" in defaults:
        defaults["checks"] = tuple(defaults["checks"])
    return CommandGroup(name=name, help_key=help, aliases=tuple(aliases),
                        defaults=tuple(sorted(defaults.items())), alone=alone,
                        otherwise=otherwise)


@dataclass(frozen=True)
class CommandSpec:
    """What @command records about a handler."""

    # The word that invokes it (a subcommand's own word within its group).
    name: str
    help_key: str
    min_role: Role
    # A network role the command needs, whatever the sender's room role (None: room scope).
    network_role: NetworkRole | None
    # A network role that stands in for `min_role` (a network moderator in any network room).
    or_network_role: NetworkRole | None
    aliases: tuple[str, ...]
    encrypted_only: bool
    # Safety commands (`!safe`, anything carrying a PIN) skip the rate limit.
    safety: bool
    # Private commands typed in a shared room are removed there and answered in the DM.
    private: bool
    # Runs for a member held after an identity change (it is how they confirm).
    while_held: bool
    handler: Handler
    signature: Signature = field(compare=False)
    # Conditions declared beside the handler, run in order after the role checks.
    checks: tuple[Check, ...] = ()
    # The group this is a subcommand of (None: a command of its own).
    group: CommandGroup | None = None

    @property
    def path(self) -> str:
        """The command as typed after the prefix: `help`, `alert send`."""
        return f"{self.group.name} {self.name}" if self.group else self.name

    @property
    def typed(self) -> str:
        """The command as members type it: the group's `otherwise` needs no word of its own.

        `!alert <text>`, `!resource <number>`: usage lines and refusals show this,
        so nobody is taught a word they never need.
        """
        if self.group is not None and self.group.otherwise == self.name:
            return self.group.name
        return self.path


def command(
    name: str,
    *,
    help: str,
    min_role: Role = Role.MEMBER,
    organizers_only: bool = False,
    network_role: NetworkRole | None = None,
    or_network_role: NetworkRole | None = None,
    aliases: Sequence[str] = (),
    encrypted_only: bool = False,
    safety: bool = False,
    private: bool = False,
    while_held: bool = False,
    checks: Sequence[Check] = (),
    _group: CommandGroup | None = None,
) -> Callable[[Handler], Handler]:
    """Mark a plugin method as the command `name`.

    `help` is the catalog key of the one-line help text; arguments come from
    the method's signature after `(self, ctx)`. `min_role` is a role in the
    room where it is typed; `network_role` (or `organizers_only`) a role on
    the network (core.authority), which no room role grants; `or_network_role`
    lets a network role stand in for `min_role` (the command's handler then
    decides what that role may do here). `safety`
    commands are never held back by the rate limit: a member in danger who
    sent a burst must still get `!safe 1234` through at once. `private`
    commands (check-ins, contacts, PINs, look-ups) typed in a shared room are
    redacted there when the bot may (the member is told how otherwise) and run
    as if typed in the member's DM, where every answer goes. A sensitive
    plugin's commands do not run for a member held after an identity change
    (core/identity_holds.py) unless marked `while_held`. `checks` are further
    conditions (core.checks, or the plugin's own `async (ctx) -> None` raising
    Refusal), run after the roles; a plugin may also define `check` for all its
    commands. Subcommands are declared through a group (see `group`).
    """
    if organizers_only:
        network_role = NetworkRole.ORGANIZER

    def mark(handler: Handler) -> Handler:
        spec = CommandSpec(
            name=name,
            help_key=help,
            min_role=min_role,
            network_role=network_role,
            or_network_role=or_network_role,
            aliases=tuple(aliases),
            encrypted_only=encrypted_only,
            safety=safety,
            private=private,
            while_held=while_held,
            handler=handler,
            signature=Signature(handler),
            checks=tuple(checks),
            group=_group,
        )
        handler.__solidarity_command__ = spec  # type: ignore[attr-defined]
        return handler

    return mark


_COMMAND_OPTIONS = frozenset({
    "min_role", "organizers_only", "network_role", "or_network_role", "encrypted_only",
    "safety", "private", "while_held", "checks",
})


# The listeners the dispatcher calls, each `async (ctx, event)`; any other
# `on_*` method of a plugin is a mistake (`on_reactions` was never called).
LISTENERS = frozenset({
    "on_message", "on_media", "on_reaction", "on_redaction", "on_member_joined",
    "on_member_left", "on_state",
})


class Plugin(Generic[SettingsT]):
    """Base class of a plugin: set `name`, `catalog`, optionally `Settings` and migrations.

    Listeners (LISTENERS: `on_message`, `on_media`, `on_reaction`, `on_redaction`,
    `on_member_joined`, `on_member_left`, `on_state`) are optional, each
    `async (ctx, event)`; commands are methods marked with @command. A plugin
    is checked when it loads (`plugin_problems`).
    """

    name: ClassVar[str]
    catalog: ClassVar[Catalog]
    Settings: ClassVar[type[PluginSettings]] = PluginSettings
    # Built-in plugins cannot be disabled in a room.
    always_enabled: ClassVar[bool] = False
    enabled_by_default: ClassVar[bool] = True
    # Sensitive plugins (check-ins, alerts, resource lookups) act only on
    # messages from devices that pass the bot's trust policy (crypto.trust).
    sensitive: ClassVar[bool] = False

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def setup(self) -> None:
        """Called once at start, before any event: run migrations, register jobs."""

    async def ready(self) -> None:
        """Called once after the first sync: rooms, members and DMs are known.

        Jobs due at start fire after every plugin's `ready`, and the outbox
        starts sending then too.
        """

    async def teardown(self) -> None:
        """Called once at shutdown."""

    async def settings_changed(self, room_id: str, key: str) -> None:
        """Called after `!config` stored or reset `key` in `room_id` (NETWORK: for every room).

        For plugins that keep something derived from a setting (a compiled
        rule, a scheduled job's interval). Read the new value with `settings_for`.
        """

    def show_commands(self, text: str) -> str:
        """`checkin 2h` spans of a text with the bot's prefix, as the member types them."""
        return with_prefix(text, self.runtime.config.bot.command_prefix,
                           self.runtime.command_words())

    def settings_for(self, room_id: str) -> SettingsT:
        """This plugin's settings in `room_id` (core.room_settings.NETWORK: the network's), typed."""
        return cast(SettingsT, self.runtime.settings.effective(room_id, type(self)))

    async def check(self, ctx: Context) -> None:
        """A condition on every command of this plugin; raise Refusal to refuse.

        Runs after each command's own checks. An exception other than Refusal
        is the plugin's fault: it is logged with an error id and the member
        gets the usual apology, while the other plugins keep running.
        """

    async def say(
        self, to: str, key: str, /, *, once: str, mentions: Sequence[str] = (),
        queued: bool = False, priority: int | None = None, notice: bool = True,
        **values: Any,
    ) -> str | None:
        """Say the catalog message `key` to a room (`!room`) or a member (`@user`, in their DM).

        The one way a plugin speaks outside a reply. The language is the
        reader's: a member's own choice (also when `to` is their DM room),
        else the room's. `once` is the idempotency key: the transaction id
        derives from it (and from this plugin), so saying the same thing again
        after a crash or a retry posts it once. `queued` sends through the
        durable outbox (paced, retried, exactly once; `priority=core.outbox.SAFETY`
        for what protects someone) and returns None; otherwise the message is
        sent now and its event id returned. Failures raise core.actions.ActionError.
        To queue it in the same transaction as the caller's own writes, use
        `say_statements`.
        """
        if queued:
            await self.runtime.db.transaction(self.say_statements(
                to, key, once=once, mentions=mentions, priority=priority, notice=notice,
                **values))
            self.runtime.outbox.wake()
            return None
        content = self._said(to, key, mentions, notice, values)
        member = to if to.startswith("@") else None
        room_id = await self.runtime.dms.room_for(member) if member else to
        return await self.runtime.sender.send_message(room_id, content, self.txn_id(f"say/{once}"))

    def say_statements(
        self, to: str, key: str, /, *, once: str, mentions: Sequence[str] = (),
        priority: int | None = None, notice: bool = True, **values: Any,
    ) -> list[tuple[str, Sequence[Any]]]:
        """`say(..., queued=True)` as statements for the caller's own transaction.

        All-or-nothing with what the message is about: a check-in marked
        escalated and its alerts queued commit together or not at all. After
        the transaction, `self.runtime.outbox.wake()` sends without waiting for
        the outbox's next look.
        """
        from core.outbox import BULK

        content = self._said(to, key, mentions, notice, values)
        member = to if to.startswith("@") else None
        return self.runtime.outbox.enqueue_statements(
            self.name, once, content, room_id=None if member else to, user_id=member,
            priority=BULK if priority is None else priority)

    def _said(self, to: str, key: str, mentions: Sequence[str], notice: bool,
              values: dict[str, Any]) -> dict[str, Any]:
        """The content of catalog message `key` as whoever reads it at `to` reads it.

        Their language; a `Moment` in a member's own zone (a room's readers: the
        network's default zone), a `timedelta` in words.
        """
        runtime = self.runtime
        member = to if to.startswith("@") else runtime.dms.user_of(to)
        language = runtime.languages.for_reader(member, None if to.startswith("@") else to)
        if any(isinstance(value, Moment | timedelta) for value in values.values()):
            zone = runtime.zones.zone_of(member) if member else runtime.zones.default
            values = reader_values(values, language, zone, runtime.clock.now())
        catalog = self.catalog if key in self.catalog.messages else _core_catalog()
        text = self.show_commands(catalog.text(key, language, **values))
        if language in RTL_LANGUAGES:
            text = shape_rtl(text)
        return message_content(text, mentions, notice)

    @classmethod
    def txn_id(cls, once: str) -> str:
        """The transaction id of this plugin's action named by the idempotency key `once`.

        For the room actions a plugin takes itself (`react`, `edit`, `redact`):
        the homeserver drops a second send with the same id, so an action
        repeated after a crash or a retry happens once. Name what makes the
        action this one (`f"status/{alert_id}/{digest_of_text}"`), not when.
        """
        return "sol" + hashlib.sha256(f"{cls.name}/{once}".encode()).hexdigest()[:32]

    def refuses_invite(self, room_id: str, inviter: str) -> str | None:
        """Why the bot should decline an invite its config allows (a short reason), or None.

        Asked for every invite before the bot joins; e.g. moderation declines rooms
        and inviters banned by a followed policy list.
        """
        return None

    @classmethod
    def commands(cls) -> list[CommandSpec]:
        specs = []
        for attribute in dir(cls):
            spec = getattr(getattr(cls, attribute), "__solidarity_command__", None)
            if isinstance(spec, CommandSpec):
                specs.append(spec)
        return sorted(specs, key=lambda s: s.name)


def plugin_problems(plugin: type[Plugin]) -> list[str]:
    """What would break at run time, found at load: named by plugin and key.

    Unknown `on_*` listeners, catalog messages missing a language or whose
    placeholders differ between languages, and help keys the catalog lacks.
    """
    name = getattr(plugin, "name", plugin.__name__)
    problems = []
    catalog = getattr(plugin, "catalog", None)
    if not isinstance(catalog, Catalog):
        return [f"plugin {name}: has no catalog (core.i18n.Catalog)"]
    for attribute in dir(plugin):
        if attribute.startswith("on_") and attribute not in LISTENERS and callable(
                getattr(plugin, attribute)):
            problems.append(f"plugin {name}: {attribute} is not a listener "
                            f"(listeners: {', '.join(sorted(LISTENERS))})")
    problems += [f"plugin {name}: {problem}" for problem in catalog.problems()]
    helped: dict[str, str] = {}  # command as typed -> its help key
    for spec in plugin.commands():
        helped[spec.path] = spec.help_key
        if spec.group is not None:
            helped[spec.group.name] = spec.group.help_key
    for shown, help_key in sorted(helped.items()):
        if help_key not in catalog.messages:
            problems.append(f"plugin {name}: !{shown} has help key {help_key!r}, "
                            "which its catalog does not hold")
    return problems


class Sender(Protocol):
    """What a Context needs from the connection to talk back."""

    async def send_message(self, room_id: str, content: dict[str, Any], txn_id: str) -> str: ...


class RoomView(Protocol):
    """Read-only facts about a room the bot is in."""

    def is_encrypted(self, room_id: str) -> bool: ...

    def power_level(self, room_id: str, user_id: str) -> int: ...

    def members(self, room_id: str) -> list[str]: ...

    def display_name(self, room_id: str) -> str | None: ...


MATRIX_USER = re.compile(r"@[^:\s<>\"]+:[A-Za-z0-9.\-]+(?::\d+)?")


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _in_member_text(text: str, position: int) -> bool:
    """Is `position` inside a first-strong isolate (FSI: how the catalog wraps member text)?"""
    stack: list[str] = []
    for char in text[:position]:
        if char in "\u2066\u2067\u2068":
            stack.append(char)
        elif char == "\u2069" and stack:
            stack.pop()
    return "\u2068" in stack


def render_html(text: str, mentions: Sequence[str]) -> str:
    """HTML for a plain-text reply: user text escaped, mentioned users as pills.

    A catalog text's `command` spans show as code (Element would show the backticks).
    """
    escaped = html.escape(text, quote=False)
    for user_id in mentions:
        pill = f'<a href="https://matrix.to/#/{html.escape(user_id)}">{html.escape(user_id)}</a>'
        escaped = escaped.replace(html.escape(user_id, quote=False), pill)
    escaped = _CODE_SPAN.sub(r"<code>\1</code>", escaped)
    return escaped.replace("\n", "<br>")


def with_prefix(text: str, prefix: str, commands: Container[str]) -> str:
    """`checkin 2h` in a catalog text becomes `!checkin 2h`: what the member must type.

    Catalogs name commands without the operator's prefix; a code span that starts
    with one of the bot's command words gets it. Member-written text (inside the
    catalog's isolates) is left as written.
    """
    def fix(match: re.Match[str]) -> str:
        body = match.group(1)
        word = body.split(None, 1)[0] if body.strip() else ""
        if _in_member_text(text, match.start()) or body.startswith(prefix) \
                or word.lower() not in commands:
            return match.group(0)
        return f"`{prefix}{body}`"

    return _CODE_SPAN.sub(fix, text)


def message_content(text: str, mentions: Sequence[str] = (), notice: bool = True) -> dict[str, Any]:
    """An m.room.message body: plain text plus escaped HTML, with intentional mentions."""
    return {
        "msgtype": "m.notice" if notice else "m.text",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": render_html(text, mentions),
        "m.mentions": {"user_ids": sorted(set(mentions))},
    }


class Context(Generic[SettingsT]):
    """Everything a handler needs about the event it answers, and how to answer.

    Replies are `m.notice` (bots do not wake other bots), threaded when the
    command was in a thread, otherwise a reply to it. Transaction ids derive
    from the triggering event, so a retry after a crash is deduplicated by the
    homeserver instead of answering twice.
    """

    def __init__(
        self,
        *,
        plugin: Plugin,
        event: RoomEvent,
        language: str,
        role: Role,
        is_organizer: bool,
        settings: SettingsT,
        sender: Sender,
        rooms: RoomView,
    ) -> None:
        self.plugin = plugin
        self.event = event
        self.language = language
        self.role = role
        self.is_organizer = is_organizer
        self.settings = settings
        self._sender = sender
        self.rooms = rooms
        self._sent = 0
        # The shared room a private command was typed in (it runs in the DM instead).
        self.redirected_from: str | None = None

    @property
    def room_id(self) -> str:
        return self.event.room_id

    @property
    def sender(self) -> str:
        return self.event.sender

    @property
    def zone(self) -> ZoneInfo:
        """The sender's time zone (core/zones.py): times they type are read in it."""
        return self.plugin.runtime.zones.zone_of(self.sender)

    @property
    def now(self) -> float:
        return self.plugin.runtime.clock.now()

    def holds(self, role: NetworkRole) -> bool:
        """Does the sender hold this network role (core.authority; organizers hold all)?"""
        return self.plugin.runtime.authority.holds(self.sender, role)

    @property
    def actions(self) -> RoomActions:
        """Room operations beyond replying (ban, state, DMs' rooms...)."""
        return self.plugin.runtime.actions

    @property
    def encrypted_room(self) -> bool:
        return self.rooms.is_encrypted(self.room_id)

    def t(self, key: str, /, **values: Any) -> str:
        """Translate a message of this plugin (falling back to core's) into the reader's language.

        A `Moment` value is shown in the sender's zone, a `timedelta` as the
        reader says it (see `reader_values`).
        """
        catalog = self.plugin.catalog
        if key not in catalog.messages:
            catalog = _core_catalog()
        if any(isinstance(value, Moment | timedelta) for value in values.values()):
            values = reader_values(values, self.language, self.zone, self.now)
        return catalog.text(key, self.language, **values)

    def next_txn_id(self) -> str:
        self._sent += 1
        seed = f"{self.event.event_id}/{self.plugin.name}/{self._sent}"
        return "sol" + hashlib.sha256(seed.encode()).hexdigest()[:32]

    async def reply(
        self, text: str, *, mentions: Sequence[str] = (), notice: bool = True
    ) -> str:
        """Answer the triggering event in its room; returns the new event id."""
        text = self.plugin.show_commands(text)
        if self.language in RTL_LANGUAGES:
            text = shape_rtl(text)  # lines composed from several texts, e.g. !help
        content = message_content(text, mentions, notice)
        if self.redirected_from is not None:
            pass  # the command was in another room: nothing here to reply to
        elif isinstance(self.event, Message) and self.event.thread_root:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": self.event.thread_root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": self.event.event_id},
            }
        elif isinstance(self.event, Message | Reaction):
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": self.event.event_id}}
        return await self._sender.send_message(self.room_id, content, self.next_txn_id())

    async def send(
        self, text: str, *, room_id: str | None = None, mentions: Sequence[str] = (),
        notice: bool = True,
    ) -> str:
        """Post a message (not a reply) in this room or another."""
        content = message_content(text, mentions, notice)
        return await self._sender.send_message(
            room_id or self.room_id, content, self.next_txn_id()
        )



__all__ = ["CommandGroup", "CommandSpec", "Context", "Emoji", "Moment", "Plugin",
           "PluginSettings", "Refusal", "RoomRef", "command", "group", "trusted"]


def reader_values(values: dict[str, Any], language: str, zone: ZoneInfo,
                  now: float) -> dict[str, Any]:
    """Catalog values as a reader reads them: times in their zone, durations in their words.

    A `Moment` becomes `18:30 (Asia/Beirut)` (with the date when not today), a
    `timedelta` `2 h 30 min` / `ساعتين و30 دقيقة`; both are bot-made, so not
    isolated as member text is. Other values are left as they are.
    """
    shown = dict(values)
    for name, value in values.items():
        if isinstance(value, Moment):
            shown[name] = Trusted(format_time(float(value), zone, now))
        elif isinstance(value, timedelta):
            shown[name] = Trusted(format_duration(value, language))
    return shown


def argument_name(catalog: Catalog, name: str, language: str) -> str:
    """An argument's name as the reader reads it: `arg_<name>` in the plugin's or core's catalog.

    Usage lines are read by people: `!checkin <متى> [ملاحظة]`, not `<when> [note]`.
    An argument without such a message keeps its name as written in the code.
    """
    key = f"arg_{name}"
    for source in (catalog, _core_catalog()):
        if key in source.messages:
            # The catalog marks a whole message's direction; a word inside a line needs none.
            return source.text(key, language).lstrip(RLM)
    return name


def usage_line(prefix: str, spec: CommandSpec, catalog: Catalog, language: str) -> str:
    """The command as typed with its arguments, named in the reader's language.

    In a right-to-left language the whole line is one left-to-right isolate:
    it is typed left to right, Arabic argument names included.
    """
    arguments = spec.signature.usage(lambda name: argument_name(catalog, name, language))
    line = f"{prefix}{spec.typed} {arguments}".strip()
    return f"{LRI}{line}{PDI}" if language in RTL_LANGUAGES else line


def _core_catalog() -> Catalog:
    from core.messages import CATALOG

    return CATALOG


def trusted(text: str) -> Trusted:
    """Mark bot-made text (not user input) so the catalog does not isolate it."""
    return Trusted(text)
