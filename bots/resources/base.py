"""What the directory's command groups share: settings, the clock, curators, answering privately."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from bots.resources.guided import TIMEOUT_SECONDS, GuidedAdd
from bots.resources.model import Category, Resource
from bots.resources.search import Hit
from bots.resources.store import Change, Directory, country_name
from core.actions import ActionError
from core.network import NetworkRole
from core.plugin import Context, Plugin, PluginSettings, trusted

PAGE_TTL_SECONDS = 30 * 60


@dataclass
class Pages:
    """A member's last search: the ranked entries and where the next page goes."""

    hits: list[Hit]
    offset: int
    fuzzy: bool
    room_id: str
    created: float


class ResourcesBase(Plugin):
    """Shared state and helpers of the resources plugin's command groups (not a plugin itself)."""

    class Settings(PluginSettings):
        results_per_page: int = Field(3, ge=1, le=10, description="results per answer; !more shows the next")
        stale_after_days: int = Field(
            365, ge=1, le=3650, description="entries not verified for this long are marked stale"
        )
        answer_by_dm: bool = Field(
            False, description="answer lookups by direct message instead of in the room"
        )

    directory: Directory
    _pages: dict[str, Pages]
    _guided: dict[tuple[str, str], GuidedAdd]

    async def setup(self) -> None:
        self.directory = Directory(self.runtime.db)
        await self.directory.setup()
        self._pages = {}
        self._guided = {}

    def _settings(self, ctx: Context) -> Any:
        return ctx.settings

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

    async def _answer_room(self, ctx: Context) -> str | None:
        """Where a lookup's answer goes, or None after telling the member it was refused."""
        dms = getattr(self.runtime, "dms", None)
        private = ctx.encrypted_room and dms is not None and dms.is_dm(ctx.room_id)
        if self._settings(ctx).answer_by_dm and dms is not None and not private:
            try:
                room_id: str = await dms.room_for(ctx.sender)
            except ActionError:
                await ctx.reply(ctx.t("dm_failed"))
                return None
            if room_id != ctx.room_id:
                await ctx.reply(ctx.t("sent_by_dm"))
                return room_id
        if not ctx.encrypted_room:
            await ctx.reply(ctx.t("lookup_unencrypted"))
            return None
        return ctx.room_id

    async def _say(self, ctx: Context, room_id: str, text: str) -> None:
        if room_id == ctx.room_id:
            await ctx.reply(text)
        else:
            await ctx.send(text, room_id=room_id)

    def _category_name(self, ctx: Context, category: Category) -> str:
        return ctx.t(f"cat_{category.value}")

    def _format(self, ctx: Context, resource: Resource) -> str:
        title, summary = resource.text_in(ctx.language)
        lines = [ctx.t("entry_line", id=resource.id or 0, title=title, url=resource.url)]
        if summary:
            lines.append(summary)
        if resource.contact:
            lines.append(ctx.t("entry_contact", contact=resource.contact))
        lines.append(ctx.t(
            "entry_details",
            categories=trusted(", ".join(self._category_name(ctx, c) for c in resource.categories)),
            countries=trusted(", ".join(
                country_name(c, ctx.language) if c != "global" else ctx.t("global")
                for c in resource.countries)),
            languages=trusted(", ".join(resource.languages)),
        ))
        stale_days = self._settings(ctx).stale_after_days
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

    async def _show(self, ctx: Context, resource_id: int) -> None:
        target = await self._answer_room(ctx)
        if target is None:
            return
        found = await self.directory.get(resource_id)
        if found is None:
            await self._say(ctx, target, ctx.t("entry_unknown", id=resource_id))
        elif found.status == "draft" and not self._is_curator(ctx):
            # An unvetted link is shown to curators only.
            await self._say(ctx, target, ctx.t("entry_awaiting_review", id=resource_id))
        elif found.status == "removed":
            await self._say(ctx, target, ctx.t("entry_removed", id=resource_id))
        else:
            text = self._format(ctx, found)
            if self._is_curator(ctx):
                latest = await self.directory.changes(resource_id=resource_id, limit=1)
                if latest:
                    text += "\n" + self._change_line(ctx, latest[0])
            await self._say(ctx, target, text)

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
