"""The resource directory plugin: `!find`, `!more`, `!resource`, `!categories`, `!countries`, `!suggest`.

Privacy: a query is parsed and searched, never logged or written anywhere; paging keeps only the
result entries, in memory, for a short while. Lookups are refused in unencrypted rooms unless the
room answers by DM.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError

from bots.resources.fields import FieldsError, known_keys, parse_fields, to_model_data
from bots.resources.guided import CANCEL_WORDS, TIMEOUT_SECONDS, GuidedAdd
from bots.resources.messages import CATALOG
from bots.resources.model import Category, Resource, check_url, describe_errors
from bots.resources.query import Query, QueryError, parse_query
from bots.resources.search import Hit, search
from bots.resources.store import Directory, DuplicateUrl, country_name
from core.actions import ActionError
from core.events import Message, Reaction
from core.i18n import Trusted
from core.logsafe import log_exception, new_error_id
from core.plugin import Context, Plugin, PluginSettings, command, trusted
from core.roles import Role

log = logging.getLogger(__name__)

PAGE_TTL_SECONDS = 30 * 60
# Compared without the emoji variation selector (U+FE0F), which clients add or leave out.
APPROVE = frozenset({"✅", "✔", "👍"})
REJECT = frozenset({"❌", "✖", "👎"})


@dataclass
class Pages:
    """A member's last search: the ranked entries and where the next page goes."""

    hits: list[Hit]
    offset: int
    fuzzy: bool
    room_id: str
    created: float


class ResourcesPlugin(Plugin):
    """A curated, searchable directory of help resources, in English and Arabic."""

    name = "resources"
    catalog = CATALOG
    sensitive = True

    class Settings(PluginSettings):
        results_per_page: int = Field(3, ge=1, le=10, description="results per answer; !more shows the next")
        stale_after_days: int = Field(
            365, ge=1, le=3650, description="entries not verified for this long are marked stale"
        )
        curators: list[str] = Field(
            default_factory=list, description="user ids who may curate besides the room's moderators"
        )
        curators_room: str | None = Field(
            None, description="room id where !suggest posts go for ✅/❌ review"
        )
        answer_by_dm: bool = Field(
            False, description="answer lookups by direct message instead of in the room"
        )

    async def setup(self) -> None:
        self.directory = Directory(self.runtime.db)
        await self.directory.setup()
        self._pages: dict[str, Pages] = {}
        self._guided: dict[tuple[str, str], GuidedAdd] = {}

    # -- helpers ------------------------------------------------------------

    def _settings(self, ctx: Context) -> Any:
        return ctx.settings

    def _now(self) -> float:
        return self.runtime.clock.now()

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._now(), dt.UTC).date()

    def _is_curator(self, ctx: Context) -> bool:
        return ctx.role >= Role.MODERATOR or ctx.sender in self._settings(ctx).curators

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
        if resource.verified_at is None:
            lines.append(ctx.t("entry_never_verified"))
        elif resource.is_stale(self._today(), stale_days):
            lines.append(ctx.t("entry_stale", date=trusted(resource.verified_at.isoformat())))
        else:
            lines.append(ctx.t("entry_verified", date=trusted(resource.verified_at.isoformat()),
                               by=resource.verified_by or "?"))
        return "\n".join(lines)

    # -- lookups ------------------------------------------------------------

    @command("find", help="help_find")
    async def find(self, ctx: Context, *, query: str = "") -> None:
        target = await self._answer_room(ctx)
        if target is None:
            return
        try:
            parsed = parse_query(query)
        except QueryError as error:
            await self._say(ctx, target, self._query_error(ctx, error))
            return
        result = await search(
            self.runtime.db, parsed, now=self._now(), stale_after_days=self._settings(ctx).stale_after_days
        )
        if not result.hits:
            self._pages.pop(ctx.sender, None)
            await self._say(ctx, target, ctx.t("no_results"))
            return
        self._forget_expired()
        pages = Pages(result.hits, 0, result.fuzzy, target, self.runtime.clock.monotonic())
        self._pages[ctx.sender] = pages
        await self._say(ctx, target, self._page(ctx, pages))

    def _forget_expired(self) -> None:
        """Drop old result lists and abandoned guided adds, so memory stays bounded."""
        now = self.runtime.clock.monotonic()
        for sender in [s for s, p in self._pages.items() if now - p.created > PAGE_TTL_SECONDS]:
            del self._pages[sender]
        for key in [k for k, g in self._guided.items() if now - g.started > TIMEOUT_SECONDS]:
            del self._guided[key]

    def _query_error(self, ctx: Context, error: QueryError) -> str:
        values: dict[str, Any] = {}
        for key, value in error.values.items():
            # `value` is what the member typed (isolated); the rest is bot-made.
            values[key] = value if key == "value" or isinstance(value, int) else trusted(str(value))
        return ctx.t(error.key, **values)

    def _page(self, ctx: Context, pages: Pages) -> str:
        size = self._settings(ctx).results_per_page
        chunk = pages.hits[pages.offset:pages.offset + size]
        first, last, total = pages.offset + 1, pages.offset + len(chunk), len(pages.hits)
        header = "results_fuzzy_header" if pages.fuzzy else "results_header"
        parts = [ctx.t(header, first=first, last=last, total=total)]
        parts.extend(self._format(ctx, hit.resource) for hit in chunk)
        pages.offset = last
        if last < total:
            parts.append(ctx.t("results_more"))
        return "\n\n".join(parts)

    @command("more", help="help_more")
    async def more(self, ctx: Context) -> None:
        pages = self._pages.get(ctx.sender)
        expired = pages is None or self.runtime.clock.monotonic() - pages.created > PAGE_TTL_SECONDS
        if pages is None or expired or pages.offset >= len(pages.hits):
            self._pages.pop(ctx.sender, None)
            await ctx.reply(ctx.t("no_more"))
            return
        if pages.room_id == ctx.room_id and not ctx.encrypted_room:
            await ctx.reply(ctx.t("lookup_unencrypted"))
            return
        await self._say(ctx, pages.room_id, self._page(ctx, pages))

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

    # -- !resource ----------------------------------------------------------

    @command("resource", help="help_resource")
    async def resource(self, ctx: Context, action: str, *, rest: str = "") -> None:
        verb = action.lower()
        if verb.lstrip("#").isdigit():
            await self._show(ctx, int(verb.lstrip("#")))
            return
        handlers = {"add": self._add, "edit": self._edit, "remove": self._remove,
                    "verify": self._verify, "stale": self._stale}
        handler = handlers.get(verb)
        if handler is None:
            await ctx.reply(ctx.t("entry_id_expected", value=action[:40]))
            return
        if not self._is_curator(ctx):
            await ctx.reply(ctx.t("not_curator"))
            return
        await handler(ctx, rest)

    async def _show(self, ctx: Context, resource_id: int) -> None:
        target = await self._answer_room(ctx)
        if target is None:
            return
        found = await self.directory.get(resource_id)
        if found is None:
            await self._say(ctx, target, ctx.t("entry_unknown", id=resource_id))
        elif found.status == "removed":
            await self._say(ctx, target, ctx.t("entry_removed", id=resource_id))
        else:
            await self._say(ctx, target, self._format(ctx, found))

    async def _entry(self, ctx: Context, rest: str) -> tuple[Resource | None, str]:
        word, _, remainder = rest.strip().partition(" ")
        if not word.lstrip("#").isdigit():
            await ctx.reply(ctx.t("resource_usage"))
            return None, ""
        resource_id = int(word.lstrip("#"))
        found = await self.directory.get(resource_id)
        if found is None:
            await ctx.reply(ctx.t("entry_unknown", id=resource_id))
            return None, ""
        if found.status == "removed":
            await ctx.reply(ctx.t("entry_removed", id=resource_id))
            return None, ""
        return found, remainder

    async def _validated(self, ctx: Context, data: dict[str, Any]) -> Resource | None:
        try:
            return Resource.model_validate(data)
        except ValidationError as exc:
            await ctx.reply(ctx.t("fields_problem", problems="\n".join(describe_errors(exc))))
            return None

    async def _fields(self, ctx: Context, text: str) -> dict[str, str] | None:
        try:
            return parse_fields(text)
        except FieldsError as error:
            await ctx.reply(ctx.t("fields_problem", problems="\n".join(error.problems)) + "\n"
                            + ctx.t("fields_syntax", keys=trusted(known_keys())))
            return None

    async def _add(self, ctx: Context, rest: str) -> None:
        if not rest.strip():
            await self._start_guided(ctx)
            return
        fields = await self._fields(ctx, rest)
        if fields is None:
            return
        data = to_model_data(fields, {})
        data.update(verified_at=self._today(), verified_by=ctx.sender)
        resource = await self._validated(ctx, data)
        if resource is not None:
            await self._store_new(ctx, resource)

    async def _store_new(self, ctx: Context, resource: Resource) -> None:
        try:
            new_id = await self.directory.add(resource, self._now())
        except DuplicateUrl as duplicate:
            await ctx.reply(ctx.t("duplicate_url", id=duplicate.existing_id))
            return
        await ctx.reply(ctx.t("added", id=new_id))

    async def _edit(self, ctx: Context, rest: str) -> None:
        found, remainder = await self._entry(ctx, rest)
        if found is None:
            return
        fields = await self._fields(ctx, remainder)
        if fields is None:
            return
        if not fields:
            await ctx.reply(ctx.t("fields_syntax", keys=trusted(known_keys())))
            return
        data = to_model_data(fields, found.model_dump(mode="json"))
        resource = await self._validated(ctx, data)
        if resource is None:
            return
        try:
            await self.directory.save(resource, self._now())
        except DuplicateUrl as duplicate:
            await ctx.reply(ctx.t("duplicate_url", id=duplicate.existing_id))
            return
        await ctx.reply(ctx.t("edited", id=resource.id or 0))

    async def _remove(self, ctx: Context, rest: str) -> None:
        found, _ = await self._entry(ctx, rest)
        if found is None:
            return
        await self.directory.save(found.model_copy(update={"status": "removed"}), self._now())
        await ctx.reply(ctx.t("removed", id=found.id or 0))

    async def _verify(self, ctx: Context, rest: str) -> None:
        found, _ = await self._entry(ctx, rest)
        if found is None:
            return
        verified = found.model_copy(
            update={"status": "active", "verified_at": self._today(), "verified_by": ctx.sender}
        )
        await self.directory.save(verified, self._now())
        await ctx.reply(ctx.t("verified", id=found.id or 0))

    async def _stale(self, ctx: Context, rest: str) -> None:
        days = self._settings(ctx).stale_after_days
        stale = await self.directory.stale(self._today(), days)
        if not stale:
            await ctx.reply(ctx.t("stale_none", days=days))
            return
        lines = [ctx.t("stale_header", days=days)]
        for resource in stale[:50]:
            date = resource.verified_at.isoformat() if resource.verified_at else ctx.t("never")
            lines.append(ctx.t("stale_line", id=resource.id or 0, title=resource.title,
                               date=trusted(date)))
        await ctx.reply("\n".join(lines))

    # -- guided add ---------------------------------------------------------

    async def _start_guided(self, ctx: Context) -> None:
        self._forget_expired()
        exchange = GuidedAdd(started=self.runtime.clock.monotonic())
        self._guided[(ctx.room_id, ctx.sender)] = exchange
        await ctx.reply(ctx.t("guided_start") + "\n" + self._question(ctx, exchange))

    def _question(self, ctx: Context, exchange: GuidedAdd) -> str:
        _, key, _ = exchange.current
        if key == "ask_categories":
            return ctx.t(key, choices=trusted(", ".join(c.value for c in Category)))
        return ctx.t(key)

    async def on_message(self, ctx: Context, event: Message) -> None:
        key = (ctx.room_id, ctx.sender)
        exchange = self._guided.get(key)
        if exchange is None or event.is_edit:
            return
        if self.runtime.clock.monotonic() - exchange.started > TIMEOUT_SECONDS:
            del self._guided[key]
            return
        if event.body.strip().lower() in CANCEL_WORDS:
            del self._guided[key]
            await ctx.reply(ctx.t("guided_cancelled"))
            return
        problem = exchange.answer(event.body)
        if problem == "required":
            await ctx.reply(ctx.t("guided_required"))
            return
        if problem is not None:
            await ctx.reply(ctx.t("guided_invalid", problem=problem) + "\n" + self._question(ctx, exchange))
            return
        if not exchange.done:
            await ctx.reply(self._question(ctx, exchange))
            return
        del self._guided[key]
        data = exchange.resource_data()
        data.update(verified_at=self._today(), verified_by=ctx.sender)
        resource = await self._validated(ctx, data)
        if resource is not None:
            await self._store_new(ctx, resource)

    # -- suggestions --------------------------------------------------------

    @command("suggest", help="help_suggest")
    async def suggest(self, ctx: Context, url: str, *, note: str = "") -> None:
        try:
            check_url(url)
        except ValueError as problem:
            await ctx.reply(ctx.t("suggest_bad_url", problem=trusted(str(problem))))
            return
        curators_room = self._settings(ctx).curators_room
        if not curators_room:
            await ctx.reply(ctx.t("suggest_no_room"))
            return
        existing = await self.directory.id_for_url(url)
        if existing is not None:
            await ctx.reply(ctx.t("suggest_known", id=existing))
            return
        language = self.runtime.languages.for_reader(None, curators_room)
        text = CATALOG.text("suggest_post", language, url=url, note=note[:1000] or "—")
        try:
            event_id = await ctx.send(text, room_id=curators_room)
        except Exception as exc:  # the curators room is unreachable: say so, keep nothing
            log_exception(log, "suggestion post", exc, new_error_id())
            await ctx.reply(ctx.t("suggest_no_room"))
            return
        await self.runtime.db.execute(
            "INSERT OR IGNORE INTO resources_suggestions"
            " (event_id, curators_room, url, note, suggested_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, curators_room, url, note[:1000], ctx.sender, self._now()),
        )
        await ctx.reply(ctx.t("suggest_sent"))

    async def on_reaction(self, ctx: Context, event: Reaction) -> None:
        key = event.key.replace("\ufe0f", "").strip()
        if key not in APPROVE and key not in REJECT:
            return
        row = await self.runtime.db.fetchone(
            "SELECT url, note FROM resources_suggestions"
            " WHERE event_id = ? AND curators_room = ? AND state = 'open'",
            (event.relates_to, ctx.room_id),
        )
        if row is None or not self._is_curator(ctx):
            return
        if key in REJECT:
            await self.runtime.db.execute(
                "UPDATE resources_suggestions SET state = 'rejected', decided_by = ?"
                " WHERE event_id = ? AND state = 'open'",
                (ctx.sender, event.relates_to),
            )
            await ctx.reply(ctx.t("suggest_rejected"))
            return
        await self._approve(ctx, event.relates_to, row["url"], row["note"])

    async def _approve(self, ctx: Context, suggestion: str, url: str, note: str) -> None:
        existing = await self.directory.id_for_url(url)
        if existing is not None:
            await ctx.reply(ctx.t("suggest_duplicate", id=existing))
            return
        try:
            hints = parse_query(note) if note else Query()
        except QueryError:
            hints = Query()
        host = urlsplit(url).hostname or url
        first_line = note.strip().splitlines()[0][:200] if note.strip() else host
        resource = Resource.model_validate({
            "title": first_line, "summary": note, "url": url,
            "categories": [hints.category.value if hints.category else "community"],
            "countries": [hints.country or "global"],
            "languages": [hints.language or ctx.language],
            "verified_at": self._today(), "verified_by": ctx.sender,
        })
        statements = self.directory.write_statements(resource, self._now())
        statements.append((
            "UPDATE resources_suggestions SET state = 'approved', decided_by = ?"
            " WHERE event_id = ? AND state = 'open'",
            (ctx.sender, suggestion),
        ))
        try:
            await self.runtime.db.transaction(statements)
        except sqlite3.IntegrityError:
            return  # another curator approved the same URL at the same moment
        new_id = await self.directory.id_for_url(url)
        await self.runtime.db.execute(
            "UPDATE resources_suggestions SET resource_id = ? WHERE event_id = ?", (new_id, suggestion)
        )
        await ctx.reply(ctx.t("suggest_approved", id=Trusted(str(new_id))))

