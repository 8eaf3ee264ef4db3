"""Members suggest organizations; curators approve (✅) or reject (❌) them by reaction.

Suggestions go to the network's curators room (core.network, `network.curators_room`), and only a
network curator's reaction counts. An approved suggestion becomes a draft: named after its site,
unverified and out of search until a curator names it (`!resource edit`) and verifies it. The
member's note is shown to the curators but never becomes the entry's text.
"""

from __future__ import annotations

import logging
import sqlite3

from bots.resources.base import ResourcesBase
from bots.resources.messages import CATALOG
from bots.resources.model import Resource, check_url, draft_title
from bots.resources.query import Query, QueryError, parse_query
from bots.resources.store import Change
from core.events import Reaction
from core.i18n import Trusted
from core.logsafe import log_exception, new_error_id
from core.plugin import Context, command, trusted

log = logging.getLogger(__name__)

# Compared without the emoji variation selector (U+FE0F), which clients add or leave out.
APPROVE = frozenset({"✅", "✔", "👍"})
REJECT = frozenset({"❌", "✖", "👎"})


class SuggestionCommands(ResourcesBase):
    """`!suggest <url> [note]` and the curators' reactions to the posted suggestion."""

    @command("suggest", help="help_suggest")
    async def suggest(self, ctx: Context, url: str, *, note: str = "") -> None:
        try:
            check_url(url)
        except ValueError as problem:
            await ctx.reply(ctx.t("suggest_bad_url", problem=trusted(str(problem))))
            return
        curators_room = self._curators_room()
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
        # The member's words are hints for the curator, not the entry's name or description.
        resource = Resource.model_validate({
            "title": draft_title(url), "url": url, "status": "draft",
            "categories": [hints.category.value if hints.category else "community"],
            "countries": [hints.country or "global"],
            "languages": [hints.language or ctx.language],
        })
        now = self._now()
        statements = self.directory.write_statements(resource, now)
        statements.append(self.directory.change_statement(
            Change(ctx.sender, "draft", ("url",)), now, resource))
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
