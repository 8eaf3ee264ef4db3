"""The onboarding plugin: members' commands and the listeners that start and end an onboarding."""

from __future__ import annotations

import logging

from bots.onboarding.directory import Directory, ListedRoom
from bots.onboarding.flow import Flow
from bots.onboarding.introductions import (
    ANSWER_MAX,
    Introductions,
    introduction,
    question_text,
    too_long,
)
from bots.onboarding.messages import CATALOG
from bots.onboarding.settings import OnboardingSettings
from bots.onboarding.store import Newcomer, OnboardingStore
from bots.onboarding.texts import (
    PrivateWelcome,
    commands,
    missing_translations,
    private_welcome,
    room_rules,
    room_welcome,
    rules_block,
)
from core.events import MemberJoined, MemberLeft, Message, Reaction
from core.i18n import LANGUAGE_NAMES, Trusted, isolate, join_list, normalise_language
from core.logsafe import log_exception, new_error_id
from core.plugin import Context, Plugin, Refusal, command, group, trusted
from core.reactions import reaction_in
from core.roles import Role

log = logging.getLogger(__name__)

PRONOUNS_MAX = 40
ACCEPT_REACTIONS = frozenset({"✅", "✔", "☑"})


async def in_own_dm(ctx: Context) -> None:
    """Only in the sender's own DM with the bot (not core's `in_dm`: a community room
    left with one member beside the bot looks like a DM to that test)."""
    runtime = ctx.plugin.runtime
    if runtime.dms.user_of(ctx.room_id) != ctx.sender:
        raise Refusal("intro_only_dm", intro=commands(runtime.config.bot.command_prefix, "intro"))


class OnboardingPlugin(Plugin[OnboardingSettings]):
    """Welcomes newcomers, holds them to the code of conduct, introductions and the room directory."""

    name = "onboarding"
    catalog = CATALOG
    Settings = OnboardingSettings
    # Greeting every room the bot is in would surprise admins: they turn it on per room.
    enabled_by_default = False

    async def setup(self) -> None:
        self.store = OnboardingStore(self.runtime.db, self.runtime.sealer)
        await self.store.migrate()
        self.flow = Flow(self.runtime, self.store, self)
        self.directory = Directory(self.runtime.actions, self.runtime.network)
        self.intros = Introductions()
        self.flow.register()
        self.runtime.languages.watch_users(self.flow.language_changed)
        await self.flow.start_sweeps()

    @property
    def prefix(self) -> str:
        return self.runtime.config.bot.command_prefix

    def _in_dm(self, ctx: Context) -> bool:
        return self.runtime.dms.user_of(ctx.room_id) == ctx.sender

    # -- listeners ----------------------------------------------------------------

    async def on_member_joined(self, ctx: Context, event: MemberJoined) -> None:
        await self.flow.joined(event)

    async def on_member_left(self, ctx: Context, event: MemberLeft) -> None:
        forgotten = await self.flow.left(event)
        if forgotten:
            self.intros.drop(event.user_id)

    async def on_reaction(self, ctx: Context, event: Reaction) -> None:
        if not reaction_in(event.key, ACCEPT_REACTIONS):
            return
        newcomer = await self.store.by_rules_event(event.relates_to)
        if newcomer is None or newcomer.user_id != event.sender or not newcomer.pending:
            return
        await self._accept(ctx, [newcomer])

    async def on_message(self, ctx: Context, event: Message) -> None:
        draft = self.intros.drafts.get(ctx.sender)
        if draft is None or draft.complete or not self._in_dm(ctx):
            return
        if too_long(event.body):
            await ctx.reply(ctx.t("intro_answer_too_long", length=len(event.body.strip()),
                                  limit=ANSWER_MAX))
            return
        self.intros.answer(ctx.sender, event.body)
        await self._next_question(ctx)

    # -- members' commands ------------------------------------------------------------

    @command("agree", help="help_agree", aliases=("accept",))
    async def agree(self, ctx: Context) -> None:
        """Accept the rules waiting for you (all of them from the DM, this room's elsewhere)."""
        if self._in_dm(ctx):
            waiting = await self.store.of_user(ctx.sender, "pending")
        else:
            own = await self.store.get(ctx.room_id, ctx.sender)
            waiting = [own] if own is not None and own.pending else []
        if not waiting:
            await ctx.reply(ctx.t("agree_nothing"))
            return
        await self._accept(ctx, waiting)

    def _welcome_language(self, user_id: str, newcomers: list[Newcomer]) -> str:
        """The language their private welcome came in: their own choice, else the room's.

        In the DM, which has no language of its own, the reader's would be the
        network default: a ✅ under an Arabic welcome must not be thanked in English.
        """
        return self.runtime.languages.for_reader(
            user_id, newcomers[0].room_id if newcomers else None)

    async def _accept(self, ctx: Context, waiting: list[Newcomer]) -> None:
        ctx.language = self._welcome_language(ctx.sender, waiting)
        outcome = await self.flow.accept(waiting)
        lines = []
        if outcome.released or outcome.plain:
            key = "agreed_gate" if outcome.released else "agreed"
            lines.append(ctx.t(key, rooms=self._room_names(ctx, outcome.released + outcome.plain)))
        if outcome.stuck:
            lines.append(ctx.t("agree_power_failed", rooms=self._room_names(ctx, outcome.stuck)))
        lines.append(await self._directory_text(ctx, [n.room_id for n in waiting], hint=False))
        await ctx.reply("\n\n".join(lines))

    def _room_names(self, ctx: Context, room_ids: list[str]) -> Trusted:
        # Each name is the admins' text: isolated one by one, then joined by the bot.
        return trusted(join_list((isolate(self.flow.room_label(room_id)) for room_id in room_ids),
                                 ctx.language))

    @command("rules", help="help_rules")
    async def rules(self, ctx: Context) -> None:
        """This room's rules; from the DM, those of every room you joined."""
        if self._in_dm(ctx):
            joined = await self.store.of_user(ctx.sender)
            ctx.language = self._welcome_language(ctx.sender, joined)
            rooms = [n.room_id for n in joined]
        else:
            rooms = [ctx.room_id]
        parts = [rules_block(self.flow.settings(room_id), ctx.language,
                             self.flow.room_label(room_id), self.runtime.languages.default)
                 for room_id in rooms]
        if not parts:
            await ctx.reply(ctx.t("agree_nothing"))
            return
        await ctx.reply("\n\n".join(parts))

    @command("rooms", help="help_rooms")
    async def rooms(self, ctx: Context) -> None:
        """The rooms of the network you may join, with links.

        In the DM, from the directories of every room you joined; in a shared
        room, from that room's only: the answer there is read by everyone, and
        must not hint at which other rooms you are in.
        """
        if self._in_dm(ctx):
            rooms = [n.room_id for n in await self.store.of_user(ctx.sender)]
        else:
            rooms = [ctx.room_id]
        # How to list rooms is for those who may `!config` here; the DM is no room to set it in.
        hint = not self._in_dm(ctx) and ctx.role >= Role.MODERATOR
        await ctx.reply(await self._directory_text(ctx, rooms, hint=hint))

    async def _listed(self, ctx: Context, rooms: list[str]) -> list[ListedRoom]:
        spaces: list[str] = []
        extra: list[str] = []
        for room_id in dict.fromkeys(rooms):
            settings = self.flow.settings(room_id)
            if settings.directory_space:
                spaces.append(settings.directory_space)
            extra.extend(settings.directory_rooms)
        listed = await self.directory.rooms(spaces, extra)
        members = self.runtime.rooms
        return [room for room in listed if ctx.sender not in members.members(room.address)]

    def _directory_hint(self, ctx: Context) -> str:
        return ctx.t("rooms_none_hint", command=commands(
            self.prefix, "config onboarding directory_rooms", "[\"#room:example.org\"]"))

    async def _directory_text(self, ctx: Context, rooms: list[str], *, hint: bool) -> str:
        """The rooms to join; when none, how to list some only for `hint` (room admins)."""
        listed = await self._listed(ctx, rooms)
        if not listed:
            text = ctx.t("rooms_none")
            return text + "\n" + self._directory_hint(ctx) if hint else text
        lines = [ctx.t("rooms_header")]
        lines += [f"• {room.name} — {room.link}" for room in listed]
        return "\n".join(lines)

    # Private: pronouns typed in a shared room are removed there and answered in the DM.
    @command("pronouns", help="help_pronouns", private=True)
    async def pronouns(self, ctx: Context, *, value: str = "") -> None:
        """Pronouns are stored only when you set them, and removed with `clear`."""
        clear = commands(self.prefix, "pronouns", "clear")
        example = commands(self.prefix, "pronouns", "they/them")
        wanted = " ".join(value.split())
        if not wanted:
            current = await self.store.pronouns(ctx.sender)
            if current is None:
                await ctx.reply(ctx.t("pronouns_none", example=example))
            else:
                await ctx.reply(ctx.t("pronouns_current", pronouns=current, clear=clear))
            return
        if wanted.lower() in ("clear", "remove", "none", "حذف"):
            await self.store.clear_pronouns(ctx.sender)
            await ctx.reply(ctx.t("pronouns_cleared"))
            return
        if len(wanted) > PRONOUNS_MAX:
            await ctx.reply(ctx.t("pronouns_too_long", limit=PRONOUNS_MAX, example=example))
            return
        await self.store.set_pronouns(ctx.sender, wanted)
        await ctx.reply(ctx.t("pronouns_set", pronouns=wanted, clear=clear))

    # -- introductions -------------------------------------------------------------------

    # Answer a few questions in the DM; nothing is posted or kept without `intro post`.
    # `!intro` alone starts, as it always did (an empty alias: core's groups have no
    # default subcommand yet).
    intro = group("intro", help="help_intro", alone="start", checks=[in_own_dm])

    @intro.command("start", help="help_intro_start")
    async def intro_start(self, ctx: Context[OnboardingSettings]) -> None:
        target: tuple[str, list[str]] | None = None
        for newcomer in reversed(await self.store.of_user(ctx.sender)):
            settings = self.flow.settings(newcomer.room_id)
            room = self.flow.intro_room(settings)
            if room is not None and settings.intro_questions:
                target = (room, list(settings.intro_questions))
                break
        if target is None:
            await ctx.reply(ctx.t("intro_unavailable"))
            return
        self.intros.start(ctx.sender, *target)
        await ctx.reply(ctx.t("intro_start", room=self.flow.room_label(target[0])))
        await self._next_question(ctx)

    @intro.command("cancel", help="help_intro_cancel")
    async def intro_cancel(self, ctx: Context[OnboardingSettings]) -> None:
        self.intros.drop(ctx.sender)
        await ctx.reply(ctx.t("intro_cancelled"))

    async def _next_question(self, ctx: Context) -> None:
        draft = self.intros.drafts[ctx.sender]
        if draft.current is not None:
            await ctx.reply(question_text(ctx.language, draft.current))
            return
        if not draft.answers:
            self.intros.drop(ctx.sender)
            await ctx.reply(ctx.t("intro_nothing"))
            return
        language = self.runtime.languages.for_reader(None, draft.room_id)
        await ctx.reply(ctx.t(
            "intro_preview", room=self.flow.room_label(draft.room_id),
            text=trusted(introduction(language, ctx.sender, draft)),
            post=commands(self.prefix, "intro", "post"), cancel=commands(self.prefix, "intro", "cancel"),
        ))

    @intro.command("post", help="help_intro_post")
    async def intro_post(self, ctx: Context[OnboardingSettings]) -> None:
        draft = self.intros.drafts.get(ctx.sender)
        if draft is None or not draft.complete or not draft.answers:
            await ctx.reply(ctx.t("intro_no_draft", intro=commands(self.prefix, "intro")))
            return
        if not await self._still_the_intro_room(ctx.sender, draft.room_id):
            # The organizers moved or removed the introductions room since the draft began.
            self.intros.drop(ctx.sender)
            await ctx.reply(ctx.t("intro_room_changed", intro=commands(self.prefix, "intro")))
            return
        language = self.runtime.languages.for_reader(None, draft.room_id)
        try:
            await ctx.send(introduction(language, ctx.sender, draft), room_id=draft.room_id,
                           mentions=[ctx.sender], notice=False)
        except Exception as exc:  # not in the room, or not allowed to write there
            log_exception(log, "introduction post", exc, new_error_id())
            await ctx.reply(ctx.t("intro_post_failed", room=self.flow.room_label(draft.room_id),
                                  post=commands(self.prefix, "intro", "post"),
                                  cancel=commands(self.prefix, "intro", "cancel")))
            return
        self.intros.drop(ctx.sender)
        await ctx.reply(ctx.t("intro_posted", room=self.flow.room_label(draft.room_id)))

    async def _still_the_intro_room(self, user_id: str, room_id: str) -> bool:
        for newcomer in await self.store.of_user(user_id):
            if self.flow.intro_room(self.flow.settings(newcomer.room_id)) == room_id:
                return True
        return False

    # -- room admins ------------------------------------------------------------------------

    # What a newcomer sees and who waits: the room's moderators and admins.
    onboarding = group("onboarding", help="help_onboarding", min_role=Role.MODERATOR)

    @onboarding.command("preview", help="help_onboarding_preview")
    async def onboarding_preview(self, ctx: Context[OnboardingSettings],
                                 language: str | None = None) -> None:
        """Exactly what a newcomer sees, in `language` (en, ar) or the reader's."""
        code = normalise_language(language) if language else None
        await ctx.reply(await self._preview(ctx, code or ctx.language))

    @onboarding.command("status", help="help_onboarding_status")
    async def onboarding_status(self, ctx: Context[OnboardingSettings]) -> None:
        """The gate and who waits."""
        await ctx.reply(await self._status(ctx))

    async def _preview(self, ctx: Context[OnboardingSettings], language: str) -> str:
        settings = ctx.settings
        shown = Trusted(LANGUAGE_NAMES[language])
        parts = []
        if settings.welcome_in_room:
            welcome = room_welcome(settings, language, [ctx.sender])
            parts.append(ctx.t("preview_room", language=shown) + "\n" + welcome.text)
        else:
            parts.append(ctx.t("preview_room_off"))
        room = self.flow.intro_room(settings) if settings.intro_questions else None
        intro_room = self.flow.room_label(room) if room else None
        dm = private_welcome(settings, PrivateWelcome(
            room_name=self.flow.room_label(ctx.room_id), language=language,
            offer_languages=True, gated=settings.gate, intro_room_name=intro_room,
            prefix=self.prefix, fallback_language=self.runtime.languages.default,
        ))
        parts.append(ctx.t("preview_dm", language=shown) + "\n" + dm)
        # What the admin should fix, after what newcomers see (and never in what they see).
        notes = []
        named = Trusted(ctx.t(f"language_{language}"))
        if room_rules(settings, language, self.runtime.languages.default).default:
            notes.append(ctx.t("preview_default_rules", language=named, command=commands(
                self.prefix, f"config onboarding rules_{language}", "…")))
        for field in missing_translations(settings, language):
            notes.append(ctx.t(f"preview_missing_{field}", language=named, command=commands(
                self.prefix, f"config onboarding {field}_{language}", "…")))
        if not await self._listed(ctx, [ctx.room_id]):
            notes.append(ctx.t("preview_no_directory", rooms=commands(self.prefix, "rooms")) + " "
                         + self._directory_hint(ctx))
        if notes:
            parts.append("\n".join(notes))
        return "\n\n———\n\n".join(parts)

    async def _status(self, ctx: Context[OnboardingSettings]) -> str:
        settings = ctx.settings
        counts = await self.store.counts(ctx.room_id)
        gate = Trusted(ctx.t("status_on" if settings.gate else "status_off"))
        text = ctx.t("status", gate=gate, waiting=counts.get("pending", 0),
                     done=counts.get("agreed", 0))
        if settings.gate:
            needed = await self.flow.power_missing(ctx.room_id)
            if needed is not None:
                text += "\n" + ctx.t("status_no_power", level=needed)
        return text

