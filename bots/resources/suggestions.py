"""Members suggest organizations; curators approve (✅) or reject (❌) them by reaction.

Suggestions go to the network's curators room (core.network, `network.curators_room`), and only a
network curator's reaction counts. An approved suggestion becomes a draft: named after its site,
unverified and out of search until a curator names it (`!resource edit`) and verifies it. The
member's note is shown to the curators but never becomes the entry's text.

What is kept, and for how long (what a member suggests says what they care about):
- the link and the note are stored sealed (core/sealed.py; contexts "resources.suggestion_url",
  "resources.suggestion_note"): the database file alone does not show them. The curators read the
  note in their (encrypted) room, where the bot posted it; the bot opens it again only for the
  approval's hints.
- who suggested is not stored at all: the post does not name them, nothing asks for it later.
- a decision (✅ or ❌) deletes the suggestion's row: the curators room keeps the post and the
  bot's answer, an approval is in the entry's change history (the curator, the draft's URL), and
  a reaction to a post without its row does nothing, so a decided suggestion stays decided.
- an open suggestion nobody decided on is deleted after OPEN_SUGGESTION_DAYS (a daily job).
Rows written by earlier versions are sealed (and their suggester blanked) at start.
"""

from __future__ import annotations

import logging
import sqlite3

from bots.resources.base import ResourcesBase
from bots.resources.model import Resource, check_url, draft_title
from bots.resources.query import Query, QueryError, parse_query
from bots.resources.store import Change
from core.actions import ActionError
from core.events import Reaction
from core.i18n import Trusted
from core.logsafe import log_exception, new_error_id
from core.plugin import Context, command, trusted
from core.reactions import reaction_in
from core.scheduler import Job
from core.sealed import PREFIX as SEALED_PREFIX

log = logging.getLogger(__name__)

URL_CONTEXT = "resources.suggestion_url"
NOTE_CONTEXT = "resources.suggestion_note"
OPEN_SUGGESTION_DAYS = 90
PRUNE_KIND = "prune_suggestions"
PRUNE_SECONDS = 86400.0
FIRST_PRUNE_SECONDS = 3600.0

# Compared through core.reactions (clients add or leave out U+FE0F).
APPROVE = frozenset({"✅", "✔", "👍"})
REJECT = frozenset({"❌", "✖", "👎"})


class SuggestionCommands(ResourcesBase):
    """`!suggest <url> [note]` and the curators' reactions to the posted suggestion."""

    async def setup(self) -> None:
        await super().setup()
        scheduler = self.runtime.scheduler
        scheduler.register(self.name, PRUNE_KIND, self._prune_job)
        await scheduler.every(self.name, PRUNE_KIND, PRUNE_SECONDS,
                              first_at=self._now() + FIRST_PRUNE_SECONDS)
        await self._seal_old_rows()

    async def _seal_old_rows(self) -> None:
        """Suggestions stored in the clear by earlier versions: seal them, forget who sent them."""
        sealer = self.runtime.sealer
        rows = await self.runtime.db.fetchall(
            "SELECT event_id, url, note FROM resources_suggestions"
            " WHERE url NOT LIKE ? OR note NOT LIKE ? OR suggested_by != ''",
            (SEALED_PREFIX + "%", SEALED_PREFIX + "%"),
        )
        if not rows:
            return
        statements = []
        for row in rows:
            url = sealer.open(row["url"], context=URL_CONTEXT)
            note = sealer.open(row["note"], context=NOTE_CONTEXT)
            statements.append((
                "UPDATE resources_suggestions SET url = ?, note = ?, suggested_by = ''"
                " WHERE event_id = ?",
                (sealer.seal(url, context=URL_CONTEXT), sealer.seal(note, context=NOTE_CONTEXT),
                 row["event_id"]),
            ))
        await self.runtime.db.transaction(statements)
        log.info("sealed %d stored suggestions", len(statements))

    async def _prune_job(self, job: Job) -> None:
        """Daily (scheduler.every): open suggestions nobody decided on go after the window."""
        await self.prune_suggestions()

    async def prune_suggestions(self) -> int:
        before = self._now() - OPEN_SUGGESTION_DAYS * 86400
        return await self.runtime.db.execute(
            "DELETE FROM resources_suggestions WHERE created_at < ?", (before,))

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
        try:
            event_id = await self.say(curators_room, "suggest_post", once=ctx.event.event_id,
                                      url=url, note=note[:1000] or "—")
        except ActionError as exc:  # the curators room is unreachable: say so, keep nothing
            log_exception(log, "suggestion post", exc, new_error_id())
            await ctx.reply(ctx.t("suggest_no_room"))
            return
        sealer = self.runtime.sealer
        await self.runtime.db.execute(
            "INSERT OR IGNORE INTO resources_suggestions"
            " (event_id, curators_room, url, note, suggested_by, created_at)"
            " VALUES (?, ?, ?, ?, '', ?)",  # who suggested is not kept (module docstring)
            (event_id, curators_room, sealer.seal(url, context=URL_CONTEXT),
             sealer.seal(note[:1000], context=NOTE_CONTEXT), self._now()),
        )
        await ctx.reply(ctx.t("suggest_sent"))

    async def on_reaction(self, ctx: Context, event: Reaction) -> None:
        rejected = reaction_in(event.key, REJECT)
        if not rejected and not reaction_in(event.key, APPROVE):
            return
        row = await self.runtime.db.fetchone(
            "SELECT url, note FROM resources_suggestions"
            " WHERE event_id = ? AND curators_room = ? AND state = 'open'",
            (event.relates_to, ctx.room_id),
        )
        if row is None or not self._is_curator(ctx):
            return
        if rejected:
            await self.runtime.db.execute(
                "DELETE FROM resources_suggestions WHERE event_id = ? AND state = 'open'",
                (event.relates_to,),
            )
            await ctx.reply(ctx.t("suggest_rejected"))
            return
        sealer = self.runtime.sealer
        await self._approve(ctx, event.relates_to, sealer.open(row["url"], context=URL_CONTEXT),
                            sealer.open(row["note"], context=NOTE_CONTEXT))

    async def _approve(self, ctx: Context, suggestion: str, url: str, note: str) -> None:
        existing = await self.directory.id_for_url(url)
        if existing is not None:
            # Decided too: the link is in the directory already.
            await self.runtime.db.execute(
                "DELETE FROM resources_suggestions WHERE event_id = ?", (suggestion,))
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
            "DELETE FROM resources_suggestions WHERE event_id = ? AND state = 'open'", (suggestion,)
        ))
        try:
            await self.runtime.db.transaction(statements)
        except sqlite3.IntegrityError:
            return  # another curator approved the same URL at the same moment
        new_id = await self.directory.id_for_url(url)
        await ctx.reply(ctx.t("suggest_approved", id=Trusted(str(new_id))))
