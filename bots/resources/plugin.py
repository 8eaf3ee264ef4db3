"""The resource directory plugin: lookups (`!find`, `!more`, `!categories`, `!countries`).

Curation (`!resource`) and suggestions (`!suggest`) are in their own modules, mixed in here.
Privacy: a query is parsed and searched, never logged or written anywhere; paging keeps only the
result entries, in memory, for a short while. What someone looks for is theirs alone: `!find` and
`!more` are private commands (core.plugin), so typed in a shared room (encrypted or not) they are
removed there where the bot may and answered in the member's encrypted DM, never in the room.
With `bot.require_encryption` on, core answers nothing in an unencrypted room but its one notice.
"""

from __future__ import annotations

from typing import Any

from bots.resources.base import PAGE_TTL_SECONDS, Pages, encrypted_lookup
from bots.resources.curation import CurationCommands
from bots.resources.messages import CATALOG
from bots.resources.model import Category
from bots.resources.query import QueryError, parse_query
from bots.resources.search import search
from bots.resources.settings import ResourcesSettings
from bots.resources.store import country_name
from bots.resources.suggestions import SuggestionCommands
from core.plugin import Context, command, trusted


class ResourcesPlugin(CurationCommands, SuggestionCommands):
    """A curated, searchable directory of help resources, in English and Arabic."""

    name = "resources"
    catalog = CATALOG
    sensitive = True

    # Core runs these in the member's DM (private=True); ctx.room_id is that DM.
    @command("find", help="help_find", private=True, checks=[encrypted_lookup])
    async def find(self, ctx: Context[ResourcesSettings], *, query: str = "") -> None:
        try:
            parsed = parse_query(query)
        except QueryError as error:
            await ctx.reply(self._query_error(ctx, error))
            return
        result = await search(
            self.runtime.db, parsed, now=self._now(), stale_after_days=ctx.settings.stale_after_days
        )
        if not result.hits:
            self._pages.pop(ctx.sender, None)
            await ctx.reply(ctx.t("no_results"))
            return
        self._forget_expired()
        pages = Pages(result.hits, 0, result.fuzzy, self.runtime.clock.monotonic())
        self._pages[ctx.sender] = pages
        await ctx.reply(self._page(ctx, pages))

    def _query_error(self, ctx: Context, error: QueryError) -> str:
        values: dict[str, Any] = {}
        for key, value in error.values.items():
            # `value` is what the member typed (isolated); the rest is bot-made.
            values[key] = value if key == "value" or isinstance(value, int) else trusted(str(value))
        return ctx.t(error.key, **values)

    def _page(self, ctx: Context[ResourcesSettings], pages: Pages) -> str:
        size = ctx.settings.results_per_page
        chunk = pages.hits[pages.offset:pages.offset + size]
        first, last, total = pages.offset + 1, pages.offset + len(chunk), len(pages.hits)
        header = "results_fuzzy_header" if pages.fuzzy else "results_header"
        parts = [ctx.t(header, first=first, last=last, total=total)]
        parts.extend(self._format(ctx, hit.resource) for hit in chunk)
        pages.offset = last
        if last < total:
            parts.append(ctx.t("results_more"))
        return "\n\n".join(parts)

    @command("more", help="help_more", private=True, checks=[encrypted_lookup])
    async def more(self, ctx: Context[ResourcesSettings]) -> None:
        pages = self._pages.get(ctx.sender)
        expired = pages is None or self.runtime.clock.monotonic() - pages.created > PAGE_TTL_SECONDS
        if pages is None or expired or pages.offset >= len(pages.hits):
            self._pages.pop(ctx.sender, None)
            await ctx.reply(ctx.t("no_more"))
            return
        await ctx.reply(self._page(ctx, pages))

    @command("categories", help="help_categories")
    async def categories(self, ctx: Context) -> None:
        counts, _ = await self.directory.counts()
        lines = [ctx.t("categories_header")]
        for category in Category:
            lines.append(ctx.t("count_line", name=trusted(self._category_name(ctx, category)),
                               code=trusted(category.value), count=counts.get(category.value, 0)))
        await ctx.reply("\n".join(lines))

    @command("countries", help="help_countries")
    async def countries(self, ctx: Context) -> None:
        _, counts = await self.directory.counts()
        if not counts:
            await ctx.reply(ctx.t("countries_none"))
            return
        lines = [ctx.t("countries_header")]
        for code in sorted(counts, key=lambda c: (c != "global", c)):
            name = ctx.t("global") if code == "global" else country_name(code, ctx.language)
            lines.append(ctx.t("count_line", name=trusted(name), code=trusted(code),
                               count=counts[code]))
        await ctx.reply("\n".join(lines))
