"""What the directory's command groups share: the clock, curators, answering privately.

What a member looks up is theirs: `!find` and `!more` are private commands (core.plugin), and
showing one entry (`!resource <id>`) says as much about what someone needs, so it is moved to
the member's DM in the same way (`_in_private`) while the curators' `!resource` verbs stay
where they are typed. That one is by hand: `!resource 12` is not a subcommand word, and core's
groups have no handler for the words that are none (see `CurationCommands.resource`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

from bots.resources.guided import TIMEOUT_SECONDS, GuidedAdd
from bots.resources.model import Category, Resource
from bots.resources.search import Hit
from bots.resources.settings import ResourcesSettings
from bots.resources.store import Change, Directory, country_name
from core.i18n import Trusted, join_list, language_name
from core.logsafe import log_exception, new_error_id
from core.network import NetworkRole
from core.plugin import Context, Plugin, Refusal, trusted

log = logging.getLogger(__name__)

PAGE_TTL_SECONDS = 30 * 60


@dataclass
class Pages:
    """A member's last search: the ranked entries and how far `!more` got (in memory only)."""

    hits: list[Hit]
    offset: int
    fuzzy: bool
    created: float


async def encrypted_lookup(ctx: Context) -> None:
    """A lookup is answered only where nobody but the member can read it.

    Core moves private commands to the member's DM, which the bot opens encrypted,
    before checks run; this refuses in the one case left, a DM that is not encrypted
    (its history would lie readable on the homeserver).
    """
    if not ctx.encrypted_room:
        raise Refusal("lookup_unencrypted")


class ResourcesBase(Plugin[ResourcesSettings]):
    """Shared state and helpers of the resources plugin's command groups (not a plugin itself)."""

    Settings = ResourcesSettings
    directory: Directory
    _pages: dict[str, Pages]
    _guided: dict[tuple[str, str], GuidedAdd]

    async def setup(self) -> None:
        self.directory = Directory(self.runtime.db)
        await self.directory.setup()
        self._pages = {}
        self._guided = {}

    def _now(self) -> float:
        return self.runtime.clock.now()

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._now(), dt.UTC).date()

    def _is_curator(self, ctx: Context) -> bool:
        """A network curator (core.authority): no room role, however high, makes one."""
        return ctx.holds(NetworkRole.CURATOR)

    def _curators_room(self) -> str | None:
        """Where suggestions go for review: the network's curators room (core.network)."""
        return self.runtime.network.role_room(NetworkRole.CURATOR)

    async def _in_private(self, ctx: Context[ResourcesSettings]
                          ) -> Context[ResourcesSettings] | None:
        """The member's DM to answer a lookup in, as core does for private commands.

        Typed in the DM (or already moved there by core), `ctx` itself. Typed in a
        shared room: the message is redacted there where the bot may (otherwise the
        member is told in the DM how to delete it) and the returned Context answers in
        the DM. None when no DM could be had (the member is told, without the query).
        """
        dms = self.runtime.dms
        if ctx.redirected_from is not None or dms.is_dm(ctx.room_id):
            return ctx
        event = ctx.event
        removed = True
        try:
            await ctx.actions.redact(ctx.room_id, event.event_id, None,
                                     f"solpriv-{event.event_id}")
        except Exception as exc:  # no power to redact here: the member is told below
            removed = False
            log.info("could not redact a lookup (%s)", type(exc).__name__)
        try:
            dm = await dms.room_for(ctx.sender)
        except Exception as exc:
            log_exception(log, "DM for a lookup", exc, new_error_id())
            await ctx.reply(ctx.t("dm_failed"))
            return None
        rt = self.runtime
        private = Context(
            plugin=self, event=dataclasses.replace(event, room_id=dm),
            language=rt.languages.for_reader(ctx.sender, dm),
            role=rt.authority.room_role(dm, ctx.sender),
            is_organizer=rt.authority.is_organizer(ctx.sender),
            settings=self.settings_for(dm), sender=rt.sender, rooms=rt.rooms,
        )
        private.redirected_from = ctx.room_id
        room = Trusted(ctx.actions.room_name(ctx.room_id) or ctx.room_id)
        note = "private_command_moved" if removed else "private_command_remove_it"
        await private.reply(private.t(note, room=room))
        return private

    def _category_name(self, ctx: Context, category: Category) -> str:
        return ctx.t(f"cat_{category.value}")

    def _format(self, ctx: Context[ResourcesSettings], resource: Resource) -> str:
        title, summary = resource.text_in(ctx.language)
        lines = [ctx.t("entry_line", id=resource.id or 0, title=title, url=resource.url)]
        if summary:
            lines.append(summary)
        if resource.contact:
            lines.append(ctx.t("entry_contact", contact=resource.contact))
        lines.append(ctx.t(
            "entry_details",
            categories=trusted(join_list((self._category_name(ctx, c) for c in resource.categories),
                                         ctx.language)),
            countries=trusted(join_list((
                country_name(c, ctx.language) if c != "global" else ctx.t("global")
                for c in resource.countries), ctx.language)),
            languages=trusted(join_list((language_name(code, ctx.language) for code in resource.languages),
                                        ctx.language)),
        ))
        stale_days = ctx.settings.stale_after_days
        if resource.status == "draft":
            lines.append(ctx.t("entry_draft"))
        elif resource.verified_at is None:
            lines.append(ctx.t("entry_unverified"))
        elif resource.is_stale(self._today(), stale_days):
            lines.append(ctx.t("entry_stale", date=trusted(resource.verified_at.isoformat())))
        else:
            lines.append(ctx.t("entry_verified", date=trusted(resource.verified_at.isoformat()),
                               by=resource.verified_by or "?"))
        return "\n".join(lines)

    async def _show(self, ctx: Context[ResourcesSettings], resource_id: int) -> None:
        """`!resource <id>`: which entry someone opens is as private as what they search."""
        private = await self._in_private(ctx)
        if private is None:
            return
        ctx = private
        try:
            await encrypted_lookup(ctx)  # what `!find` declares, answered here in the DM
        except Refusal as refusal:
            await ctx.reply(ctx.t(refusal.key))
            return
        found = await self.directory.get(resource_id)
        if found is None:
            await ctx.reply(ctx.t("entry_unknown", id=resource_id))
        elif found.status == "draft" and not self._is_curator(ctx):
            # An unvetted link is shown to curators only.
            await ctx.reply(ctx.t("entry_awaiting_review", id=resource_id))
        elif found.status == "removed":
            await ctx.reply(ctx.t("entry_removed", id=resource_id))
        else:
            text = self._format(ctx, found)
            if self._is_curator(ctx):
                latest = await self.directory.changes(resource_id=resource_id, limit=1)
                if latest:
                    text += "\n" + self._change_line(ctx, latest[0])
            await ctx.reply(text)

    def _change_line(self, ctx: Context, change: Change) -> str:
        when = dt.datetime.fromtimestamp(change.at, dt.UTC).strftime("%Y-%m-%d %H:%M")
        return ctx.t(
            "change_line", id=change.resource_id or 0, date=trusted(when), by=change.by,
            action=trusted(ctx.t(f"action_{change.action}")),
            fields=trusted(", ".join(change.fields) or "—"),
        )

    def _forget_expired(self) -> None:
        """Drop old result lists and abandoned guided adds, so memory stays bounded."""
        now = self.runtime.clock.monotonic()
        for sender in [s for s, p in self._pages.items() if now - p.created > PAGE_TTL_SECONDS]:
            del self._pages[sender]
        for key in [k for k, g in self._guided.items() if now - g.started > TIMEOUT_SECONDS]:
            del self._guided[key]
