"""What the directory's command groups share: the clock, curators, showing an entry.

What a member looks up is theirs: `!find`, `!more` and `!resource <id>` are private commands
(core.plugin), moved to the member's DM, while the curators' `!resource` words stay where they
are typed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from bots.resources.guided import TIMEOUT_SECONDS, GuidedAdd
from bots.resources.model import Category, Resource
from bots.resources.search import Hit
from bots.resources.settings import ResourcesSettings
from bots.resources.store import Change, Directory, country_name
from core.i18n import join_list, language_name
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
        """`!resource <id>`, answered in the member's DM (core moved it there)."""
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
