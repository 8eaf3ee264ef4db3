"""Routing: events to enabled plugins, commands to handlers, with isolation.

Each member's events in a room are handled in order by that lane's worker;
members and rooms run concurrently. A handler's exception is logged with an error id, the user gets
an apology with that id, and everything else carries on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core.builtin import CorePlugin
from core.checks import RoleFromSetting
from core.commands import (
    BadArgument,
    CommandError,
    Invocation,
    Signature,
    TooManyArguments,
    find_invocation,
)
from core.crypto.trust import TrustPolicy
from core.events import (
    Media,
    MemberJoined,
    MemberLeft,
    Message,
    Reaction,
    Redaction,
    RoomEvent,
    StateChanged,
)
from core.i18n import Trusted
from core.logsafe import log_exception, new_error_id
from core.messages import CATALOG
from core.network import NetworkRole
from core.plugin import (
    CommandGroup,
    CommandSpec,
    Context,
    Plugin,
    Refusal,
    argument_name,
    message_content,
    usage_line,
)
from core.ratelimit import RateLimiter
from core.roles import Role
from core.runtime import Runtime

log = logging.getLogger(__name__)

Done = Callable[[], None]
Lane = tuple[str, str, bool]  # (room id, sender, safety command)


@dataclass(frozen=True)
class Route:
    """What a command word leads to: one handler, or a group's subcommands."""

    plugin: Plugin
    # The command; for a group, its head (name, help, the loosest of its subcommands' options).
    spec: CommandSpec
    # A group's subcommands by word and alias (empty for a plain command).
    subcommands: Mapping[str, CommandSpec] = field(default_factory=dict, compare=False)

    @property
    def is_group(self) -> bool:
        return bool(self.subcommands)

    def leaves(self) -> list[CommandSpec]:
        """The handlers behind this word, each once, in name order."""
        if not self.is_group:
            return [self.spec]
        return sorted({spec.name: spec for spec in self.subcommands.values()}.values(),
                      key=lambda spec: spec.name)

    def resolve(self, args: str) -> tuple[CommandSpec, str] | None:
        """The handler `args` asks for and the text left for it (None: no such subcommand)."""
        if not self.is_group:
            return self.spec, args
        word, rest = _first_word(args)
        group = self.spec_group
        if not word:
            alone = self.subcommands.get(group.alone) if group and group.alone else None
            return (alone, "") if alone is not None else None
        spec = self.subcommands.get(word.lower())
        if spec is not None:
            return spec, rest
        otherwise = self.subcommands.get(group.otherwise) if group and group.otherwise else None
        return (otherwise, args) if otherwise is not None else None

    @property
    def spec_group(self) -> CommandGroup | None:
        """The group whose subcommands these are (None for a plain command)."""
        return next((spec.group for spec in self.subcommands.values()), None)


def _first_word(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


async def _list_subcommands(plugin: Plugin, ctx: Context) -> None:
    """The head of a group: never run (the dispatcher answers with the subcommands)."""


def group_head(group: CommandGroup, subcommands: list[CommandSpec]) -> CommandSpec:
    """A group as one command for routing and help: loosest roles of its subcommands."""
    roles = {spec.network_role for spec in subcommands}
    stand_ins = {spec.or_network_role for spec in subcommands}
    return CommandSpec(
        name=group.name, help_key=group.help_key,
        min_role=min(spec.min_role for spec in subcommands),
        network_role=roles.pop() if len(roles) == 1 else None,
        or_network_role=stand_ins.pop() if len(stand_ins) == 1 else None,
        aliases=group.aliases,
        encrypted_only=all(spec.encrypted_only for spec in subcommands),
        safety=False,
        private=all(spec.private for spec in subcommands),
        while_held=any(spec.while_held for spec in subcommands),
        handler=_list_subcommands,
        signature=Signature(_list_subcommands),
    )


class Dispatcher:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        cfg = runtime.config.bot
        self.prefix = cfg.command_prefix
        self.limiter = RateLimiter(runtime.clock, cfg.rate_limit.commands,
                                   cfg.rate_limit.window_seconds)
        self.routes: dict[str, Route] = {}
        self._queues: dict[Lane, asyncio.Queue[tuple[RoomEvent, Done | None]]] = {}
        self._workers: dict[Lane, asyncio.Task[None]] = {}
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._unencrypted_noticed: set[str] = set()
        self._unencrypted_room_noticed: dict[str, float] = {}
        # crypto.trust for sensitive plugins; set by the Bot (None: nothing enforced).
        self.trust: TrustPolicy | None = None
        self._untrusted_noticed: set[str] = set()
        self.handled = 0
        self.errors = 0

    def remove_plugin(self, name: str) -> None:
        """Forget a plugin's commands (it failed to start: core.bot leaves it out)."""
        self.routes = {word: route for word, route in self.routes.items()
                       if route.plugin.name != name}

    def add_plugin(self, plugin: Plugin) -> None:
        routes: list[Route] = []
        groups: dict[CommandGroup, list[CommandSpec]] = {}
        for spec in type(plugin).commands():
            if spec.group is None:
                routes.append(Route(plugin, spec))
            else:
                groups.setdefault(spec.group, []).append(spec)
        for command_group, subcommands in groups.items():
            by_word: dict[str, CommandSpec] = {}
            for spec in subcommands:
                for word in (spec.name, *spec.aliases):
                    if word in by_word:
                        raise ValueError(f"subcommand {command_group.name} {word!r} of "
                                         f"{plugin.name} is declared twice")
                    by_word[word] = spec
            for named in (command_group.alone, command_group.otherwise):
                if named is not None and named not in by_word:
                    raise ValueError(f"group {command_group.name} of {plugin.name}: {named!r} "
                                     "is none of its subcommands")
            routes.append(Route(plugin, group_head(command_group, subcommands), by_word))
        for route in routes:
            for name in (route.spec.name, *route.spec.aliases):
                if name in self.routes:
                    other = self.routes[name].plugin.name
                    raise ValueError(f"command {name!r} of {plugin.name} is also in {other}")
                self.routes[name] = route

    # -- queueing ---------------------------------------------------------
    #
    # Each member's events in a room are handled in order (a member's
    # `!config` then `!help` must not swap); different members and rooms run
    # concurrently. One queue per room was measured at half the throughput of a
    # bare nio client, because every command waited for the previous reply's
    # send. A lane's worker exits when its queue is empty.

    def submit(self, event: RoomEvent, done: Done | None = None) -> None:
        """Queue an event for its lane; `done` runs once it is handled.

        Safety commands have a lane of their own: a member's `!safe` must not
        wait behind their own commands that the rate limit is holding back.
        """
        lane = (event.room_id, event.sender, self._is_safety_command(event))
        queue = self._queues.get(lane)
        if queue is None:
            queue = self._queues[lane] = asyncio.Queue()
            self._workers[lane] = asyncio.create_task(
                self._work(lane, queue), name=f"lane {event.room_id} {event.sender}"
            )
        queue.put_nowait((event, done))
        self._idle.clear()
        self._pending += 1

    def _is_safety_command(self, event: RoomEvent) -> bool:
        if not isinstance(event, Message) or event.is_edit:
            return False
        try:
            invocation = find_invocation(
                event.body, prefix=self.prefix, bot_user_id=self.runtime.bot_user_id,
                bot_names=self._bot_names(event.room_id),
                mentioned=self.runtime.bot_user_id in event.mentions,
                in_dm=self.runtime.dms.is_dm(event.room_id), known=self.routes)
        except Exception:  # routing decides properly later; a lane is all this picks
            return False
        route = self.routes.get(invocation.name) if invocation is not None else None
        resolved = route.resolve(invocation.args) if route is not None and invocation else None
        return resolved is not None and resolved[0].safety

    async def drain(self) -> None:
        """Wait until every queued event has been handled."""
        if self._pending:
            await self._idle.wait()

    async def stop(self) -> None:
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        self._queues.clear()

    async def _work(self, lane: Lane, queue: asyncio.Queue[tuple[RoomEvent, Done | None]]) -> None:
        while True:
            try:
                event, done = queue.get_nowait()
            except asyncio.QueueEmpty:
                # Synchronous with submit(): no event can slip in between.
                del self._queues[lane]
                del self._workers[lane]
                return
            try:
                await self.handle(event)
            except Exception as exc:  # the worker must survive anything
                log_exception(log, f"dispatch of {event.event_id}", exc, new_error_id())
            finally:
                self._pending -= 1
                if not self._pending:
                    self._idle.set()
                if done is not None:
                    done()

    # -- handling ---------------------------------------------------------

    async def handle(self, event: RoomEvent) -> None:
        db = self.runtime.db
        if event.sender == self.runtime.bot_user_id and not isinstance(event, MemberJoined):
            return
        if await db.fetchone(
            "SELECT 1 FROM core_handled_events WHERE event_id = ?", (event.event_id,)
        ):
            log.debug("skipping already handled %s", event.event_id)
            return
        if event.encrypted and isinstance(event, StateChanged | MemberJoined | MemberLeft):
            # State comes only from state (core.matrix.client drops such payloads
            # first); a second check here costs nothing.
            log.warning("ignored %s: encrypted state", event.event_id)
        elif isinstance(event, StateChanged):
            # State is public to the homeserver anyway (policy lists, power
            # levels); plugins see it in unencrypted rooms too, without a notice.
            await self._listeners(event, "on_state")
        elif self._refuse_unencrypted(event):
            # Explained once, when a member first writes there: not on the
            # bot's own join, which may be into a public policy-list room.
            if isinstance(event, Message) and not event.is_edit:
                await self._notice_unencrypted(event)
        elif event.sender != self.runtime.bot_user_id:
            await self._route(event)
        await db.execute(
            "INSERT OR IGNORE INTO core_handled_events (event_id, room_id, handled_at) "
            "VALUES (?, ?, ?)",
            (event.event_id, event.room_id, self.runtime.clock.now()),
        )
        self.handled += 1

    def _refuse_unencrypted(self, event: RoomEvent) -> bool:
        return self.runtime.config.bot.require_encryption and not self.runtime.rooms.is_encrypted(
            event.room_id
        )

    async def _notice_unencrypted(self, event: Message) -> None:
        """Tell a member who talks to the bot here, once, why it stays silent.

        Once per member (not once per room: whoever came later would get
        silence), only when the message is meant for the bot (a command or a
        mention: a public room's chatter gets nothing), and at most one notice
        per room a minute. The member is remembered by a keyed hash.
        """
        addressed = self.runtime.bot_user_id in event.mentions or find_invocation(
            event.body, prefix=self.prefix, bot_user_id=self.runtime.bot_user_id,
            bot_names=self._bot_names(event.room_id), mentioned=False) is not None
        if not addressed:
            return
        member = self.runtime.sealer.lookup(event.sender, context="unencrypted_notice")
        key = f"unencrypted_notice:{event.room_id}:{member}"
        if key in self._unencrypted_noticed or await self.runtime.db.fetchone(
            "SELECT 1 FROM core_state WHERE key = ?", (key,)
        ):
            self._unencrypted_noticed.add(key)
            return
        now = self.runtime.clock.now()
        if now - self._unencrypted_room_noticed.get(event.room_id, -3600.0) < 60:
            return  # explained here a moment ago; this member hears it on a later command
        self._unencrypted_room_noticed[event.room_id] = now
        self._unencrypted_noticed.add(key)
        await self.runtime.db.execute(
            "INSERT OR IGNORE INTO core_state (key, value) VALUES (?, ?)", (key, "1")
        )
        language = self.runtime.languages.for_reader(event.sender, event.room_id)
        text = CATALOG.text("unencrypted_room", language)
        content = message_content(text, [event.sender])
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": event.event_id}}
        await self.runtime.sender.send_message(
            event.room_id, content, f"sol-unencrypted-{event.event_id}")

    async def _route(self, event: RoomEvent) -> None:
        if isinstance(event, Message):
            invocation = None
            if not event.is_edit:
                invocation = find_invocation(
                    event.body,
                    prefix=self.prefix,
                    bot_user_id=self.runtime.bot_user_id,
                    bot_names=self._bot_names(event.room_id),
                    mentioned=self.runtime.bot_user_id in event.mentions,
                    # A DM forgives the form (`help`, `! help`, any case); groups stay strict.
                    in_dm=self.runtime.dms.is_dm(event.room_id),
                    known=self.routes,
                )
            if invocation is not None:
                await self._run_command(event, invocation)
                return
            await self._listeners(event, "on_message")
        elif isinstance(event, Media):
            await self._listeners(event, "on_media")
        elif isinstance(event, Reaction):
            await self._listeners(event, "on_reaction")
        elif isinstance(event, MemberJoined):
            await self._listeners(event, "on_member_joined")
        elif isinstance(event, MemberLeft):
            await self._listeners(event, "on_member_left")
        elif isinstance(event, Redaction):
            # e.g. an RSVP withdrawn by removing the reaction
            await self._listeners(event, "on_redaction")

    def _bot_names(self, room_id: str) -> tuple[str, ...]:
        # Element writes the bot's display name (not its id) into a mention's body.
        shown = self.runtime.rooms.display_name(room_id)
        localpart = self.runtime.bot_user_id.split(":", 1)[0].lstrip("@")
        return tuple(name for name in (shown, localpart) if name)

    def enabled_plugins(self, room_id: str) -> list[Plugin]:
        return [
            plugin
            for plugin in self.runtime.plugins.values()
            if self.runtime.settings.is_enabled(room_id, type(plugin))
        ]

    def context(self, plugin: Plugin, event: RoomEvent) -> Context:
        rt = self.runtime
        return Context(
            plugin=plugin,
            event=event,
            language=rt.languages.for_reader(event.sender, event.room_id),
            role=rt.authority.room_role(event.room_id, event.sender),
            is_organizer=rt.authority.is_organizer(event.sender),
            settings=rt.settings.effective(event.room_id, type(plugin)),
            sender=rt.sender,
            rooms=rt.rooms,
        )

    async def _listeners(self, event: RoomEvent, method: str) -> None:
        trusted: bool | None = None
        for plugin in self.enabled_plugins(event.room_id):
            listener = getattr(plugin, method, None)
            if listener is None:
                continue
            if plugin.sensitive and isinstance(event, Message | Reaction):
                if trusted is None:
                    trusted = await self._device_trusted(event)
                if trusted:
                    trusted = not await self.runtime.holds.is_held(event.sender)
                if not trusted:
                    continue  # sensitive plugins act only on trusted devices' messages
            try:
                await listener(self.context(plugin, event), event)
            except Exception as exc:
                self.errors += 1
                log_exception(log, f"{plugin.name}.{method} on {event.event_id}", exc,
                              new_error_id())

    def visible_routes(self, room_id: str) -> list[Route]:
        enabled = {plugin.name for plugin in self.enabled_plugins(room_id)}
        seen: dict[str, Route] = {}
        for route in self.routes.values():
            if route.plugin.name in enabled:
                seen[route.spec.name] = route
        return [seen[name] for name in sorted(seen)]

    async def _run_command(self, event: Message, invocation: Invocation) -> None:
        route = self.routes.get(invocation.name)
        enabled = route is not None and self.runtime.settings.is_enabled(
            event.room_id, type(route.plugin)
        )
        if route is None or not enabled:
            await self.unknown_command(event, invocation.name)
            return
        ctx = self.context(route.plugin, event)
        resolved = route.resolve(invocation.args)
        if resolved is None:
            await self._wait_turn(ctx)
            core = self.runtime.plugins.get("core")
            if isinstance(core, CorePlugin):
                await self._safe_reply(ctx, core.group_text(ctx, route, invocation.args))
            return
        spec, arguments = self._text_for_otherwise(route, *resolved, invocation.args, ctx)
        if not spec.safety:
            await self._wait_turn(ctx)
        shown = Trusted(self.prefix + spec.typed)
        if ctx.role < spec.min_role and not (
                spec.or_network_role is not None and ctx.holds(spec.or_network_role)):
            # Name the role the member would really need (a setting may ask for more).
            needed = max([spec.min_role, *(check.needed(ctx) for check in spec.checks
                                           if isinstance(check, RoleFromSetting))])
            role = ctx.t("role_admin" if needed is Role.ADMIN else "role_moderator")
            await self._safe_reply(ctx, ctx.t("not_allowed_role", command=shown, role=Trusted(role)))
            return
        if spec.network_role is not None and not ctx.holds(spec.network_role):
            key = "not_allowed_organizer" if spec.network_role is NetworkRole.ORGANIZER \
                else f"not_allowed_network_{spec.network_role.value}"
            await self._safe_reply(ctx, ctx.t(key, command=shown))
            return
        if spec.encrypted_only and not ctx.encrypted_room:
            await self._safe_reply(ctx, ctx.t("encrypted_only", command=shown))
            return
        if route.plugin.sensitive and not await self._device_trusted(event):
            await self._refuse_untrusted(ctx, event, shown)
            return
        if route.plugin.sensitive and not spec.while_held and \
                await self.runtime.holds.is_held(event.sender):
            await self._safe_reply(ctx, ctx.t("identity_held", command=shown))
            return
        if spec.private and not self.runtime.dms.is_dm(event.room_id):
            private = await self._to_private(route.plugin, event)
            if private is None:
                return
            ctx = private
        try:
            for check in (*spec.checks, route.plugin.check):
                await check(ctx)
            args, kwargs = spec.signature.bind(arguments, ctx)
            await spec.handler(route.plugin, ctx, *args, **kwargs)
        except Refusal as refusal:
            await self._safe_reply(ctx, ctx.t(refusal.key, **{"command": shown, **refusal.values}))
        except CommandError as error:
            await self._safe_reply(ctx, self._usage_error(ctx, spec, error))
        except Exception as exc:
            self.errors += 1
            error_id = new_error_id()
            log_exception(log, f"command {spec.path} ({route.plugin.name}) on {event.event_id}",
                          exc, error_id)
            await self._safe_reply(ctx, ctx.t("plugin_error", error_id=Trusted(error_id)))

    @staticmethod
    def _text_for_otherwise(route: Route, spec: CommandSpec, arguments: str, whole: str,
                            ctx: Context) -> tuple[CommandSpec, str]:
        """A subcommand's word followed by words it cannot take is text for `otherwise`.

        `!alert Send water to the square` composes that alert: `send` takes no
        words, so they were never meant for it. Other argument errors stay the
        subcommand's (its usage is the answer).
        """
        group = route.spec_group
        otherwise = route.subcommands.get(group.otherwise) if group and group.otherwise else None
        if otherwise is None or otherwise is spec:
            return spec, arguments
        try:
            spec.signature.bind(arguments, ctx)
        except TooManyArguments:
            return otherwise, whole
        except CommandError:
            return spec, arguments  # another mistake: the subcommand's own usage answers it
        return spec, arguments

    async def _to_private(self, plugin: Plugin, event: Message) -> Context | None:
        """Take a private command out of a shared room: redact it, run it in the DM.

        What a member types there (a check-in note with a street, a PIN, a
        search for asylum help) must not stay in front of the group, and
        neither must the answer. Where the bot may not redact, the member is
        told in the DM how to remove the message.
        """
        rt = self.runtime
        removed = True
        try:
            await rt.actions.redact(event.room_id, event.event_id, None,
                                    f"solpriv-{event.event_id}")
        except Exception as exc:  # no power to redact here: the member is told below
            removed = False
            log.info("could not redact a private command in %s (%s)", event.room_id,
                     type(exc).__name__)
        try:
            dm = await rt.dms.room_for(event.sender)
        except Exception as exc:
            log_exception(log, f"DM for a private command {event.event_id}", exc, new_error_id())
            return None
        ctx = self.context(plugin, dataclasses.replace(event, room_id=dm))
        ctx.redirected_from = event.room_id
        room = Trusted(rt.actions.room_name(event.room_id) or event.room_id)
        note = "private_command_moved" if removed else "private_command_remove_it"
        await self._safe_reply(ctx, ctx.t(note, room=room))
        return ctx

    async def _wait_turn(self, ctx: Context) -> None:
        """Hold a member's command until their rate limit allows it: late, never dropped.

        Only this member's lane waits (other members and rooms go on), the
        "slow down" notice is sent once per window, and the sync token stays
        behind the waiting command, so a restart replays it rather than losing it.
        """
        sender = ctx.sender
        if self.limiter.allow(sender):
            return
        if self.limiter.should_warn(sender):
            seconds = max(1, round(self.limiter.retry_after(sender)))
            await self._safe_reply(ctx, ctx.t("rate_limited", seconds=seconds))
        while not self.limiter.allow(sender):
            await self.runtime.clock.sleep(max(0.05, self.limiter.retry_after(sender)))

    async def _device_trusted(self, event: RoomEvent) -> bool:
        if self.trust is None:
            return True
        try:
            return await self.trust.allows(event.sender, event.sender_device)
        except Exception as exc:  # a failed key look-up must not open sensitive plugins
            log_exception(log, "trust check", exc, new_error_id())
            return False

    async def _refuse_untrusted(self, ctx: Context, event: RoomEvent, shown: Trusted) -> None:
        """Say once per member and device why sensitive commands are refused."""
        key = f"untrusted_notice:{event.sender}:{event.sender_device}"
        if key in self._untrusted_noticed or await self.runtime.db.fetchone(
            "SELECT 1 FROM core_state WHERE key = ?", (key,)
        ):
            self._untrusted_noticed.add(key)
            return
        self._untrusted_noticed.add(key)
        await self.runtime.db.execute(
            "INSERT OR IGNORE INTO core_state (key, value) VALUES (?, ?)", (key, "1")
        )
        assert self.trust is not None
        message = "untrusted_device_verified" if self.trust.mode == "verified" \
            else "untrusted_device_cross_signed"
        await self._safe_reply(ctx, ctx.t(message, command=shown))

    def _usage_error(self, ctx: Context, spec: CommandSpec, error: CommandError) -> str:
        values = dict(error.values)
        if isinstance(error, BadArgument):
            values["expected"] = Trusted(
                ctx.t(f"expected_{values['expected']}", choices=Trusted(values.pop("choices")))
            )
        catalog = ctx.plugin.catalog
        if "name" in values:
            values["name"] = Trusted(argument_name(catalog, str(values["name"]), ctx.language))
        usage = Trusted(usage_line(self.prefix, spec, catalog, ctx.language))
        return ctx.t(error.key, **values) + "\n" + ctx.t("usage", usage=usage)

    async def unknown_command(self, event: RoomEvent, name: str) -> None:
        """Answer a command nobody here knows: whose it is when its plugin is off, else the closest.

        A member who types `!modroom` where moderation is off learns which
        plugin it belongs to and who can turn it on, not "I don't know it".
        """
        core = self.runtime.plugins.get("core")
        if core is None:
            return
        ctx = self.context(core, event)
        await self._wait_turn(ctx)
        help_command = Trusted(f"{self.prefix}help")
        route = self.routes.get(name)
        if route is not None and not self.runtime.settings.is_enabled(
                event.room_id, type(route.plugin)):
            await self._safe_reply(ctx, ctx.t(
                "command_plugin_off", command=Trusted(self.prefix + route.spec.name),
                plugin=Trusted(route.plugin.name), role=Trusted(ctx.t("role_admin")),
                enable=Trusted(f"{self.prefix}enable {route.plugin.name}")))
            return
        names = [route.spec.name for route in self.visible_routes(event.room_id)]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        command = name[:40]
        if close:
            await self._safe_reply(ctx, ctx.t("unknown_command", command=command,
                                               suggestion=Trusted(self.prefix + close[0]),
                                               help=help_command))
        else:
            await self._safe_reply(ctx, ctx.t("unknown_command_plain", command=command,
                                               help=help_command))

    async def _safe_reply(self, ctx: Context, text: str) -> None:
        try:
            await ctx.reply(text)
        except Exception as exc:
            log_exception(log, f"reply to {ctx.event.event_id}", exc, new_error_id())
