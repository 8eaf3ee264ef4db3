"""Curators' side of the directory: `!resource` (show, add, edit, remove, verify, stale, changes).

Curators are a network role (core.authority: `network.curators`, the curators room, organizers);
a room's moderators and admins are not curators. Changing what an entry points at or is called
(VETTED_FIELDS) clears its verification until a curator verifies it again, and every change is
recorded (who, when, which fields) for `!resource changes`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bots.resources.base import ResourcesBase, encrypted_lookup
from bots.resources.fields import FieldsError, known_keys, parse_fields, to_model_data
from bots.resources.guided import CANCEL_WORDS, TIMEOUT_SECONDS, GuidedAdd
from bots.resources.model import Category, Resource, describe_errors, draft_title
from bots.resources.settings import ResourcesSettings
from bots.resources.store import (
    COMPARED_FIELDS,
    VETTED_FIELDS,
    Change,
    DuplicateUrl,
    changed_fields,
)
from core.events import Message
from core.network import NetworkRole
from core.plugin import Context, group, trusted


class CurationCommands(ResourcesBase):
    """`!resource` and the guided add; everything but showing an entry is for curators."""

    # `!resource <id>` shows an entry to anyone, in their DM (which entry someone
    # opens is as private as what they search); the other words are the curators'.
    resource = group("resource", help="help_resource", otherwise="show")

    @resource.command("show", help="help_resource_show", private=True, checks=[encrypted_lookup])
    async def show_entry(self, ctx: Context[ResourcesSettings], *, entry: str) -> None:
        word = entry.split(None, 1)[0] if entry.strip() else ""
        if not word.lstrip("#").isdigit():
            await ctx.reply(ctx.t("entry_id_expected", value=word[:40]))
            return
        await self._show(ctx, int(word.lstrip("#")))

    @resource.command("add", help="help_resource_add", network_role=NetworkRole.CURATOR)
    async def add_entry(self, ctx: Context[ResourcesSettings], *, fields: str = "") -> None:
        await self._add(ctx, fields)

    @resource.command("edit", help="help_resource_edit", network_role=NetworkRole.CURATOR)
    async def edit_entry(self, ctx: Context[ResourcesSettings], entry: str, *,
                         fields: str = "") -> None:
        await self._edit(ctx, f"{entry} {fields}")

    @resource.command("remove", help="help_resource_remove", network_role=NetworkRole.CURATOR)
    async def remove_entry(self, ctx: Context[ResourcesSettings], entry: str) -> None:
        await self._remove(ctx, entry)

    @resource.command("verify", help="help_resource_verify", network_role=NetworkRole.CURATOR)
    async def verify_entry(self, ctx: Context[ResourcesSettings], entry: str) -> None:
        await self._verify(ctx, entry)

    @resource.command("stale", help="help_resource_stale", network_role=NetworkRole.CURATOR)
    async def stale_entries(self, ctx: Context[ResourcesSettings]) -> None:
        await self._stale(ctx)

    @resource.command("changes", help="help_resource_changes", network_role=NetworkRole.CURATOR)
    async def entry_changes(self, ctx: Context[ResourcesSettings], entry: str = "") -> None:
        await self._changes(ctx, entry)

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
        if not await self._status_allowed(ctx, fields, "active"):
            return
        data = to_model_data(fields, {})
        data.update(verified_at=self._today(), verified_by=ctx.sender)
        resource = await self._validated(ctx, data)
        if resource is not None:
            await self._store_new(ctx, resource)

    async def _status_allowed(self, ctx: Context, fields: dict[str, str], current: str) -> bool:
        """Only `verify` makes an entry active or brings a draft into search: a status field cannot."""
        wanted = fields.get("status", "").strip().lower()
        leaves_draft = current == "draft" and wanted not in ("", "draft", "removed")
        if leaves_draft or (wanted in ("active", "draft") and wanted != current):
            await ctx.reply(ctx.t("status_by_verify"))
            return False
        return True

    async def _store_new(self, ctx: Context, resource: Resource) -> None:
        change = Change(ctx.sender, "add", tuple(
            name for name in COMPARED_FIELDS if name != "status" and getattr(resource, name)))
        try:
            new_id = await self.directory.add(resource, self._now(), change)
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
        if not await self._status_allowed(ctx, fields, found.status):
            return
        data = to_model_data(fields, found.model_dump(mode="json"))
        resource = await self._validated(ctx, data)
        if resource is None:
            return
        changed = changed_fields(found, resource)
        if not changed:
            await ctx.reply(ctx.t("edit_unchanged", id=found.id or 0))
            return
        vetted = VETTED_FIELDS.intersection(changed)
        if vetted:
            # A new link, contact or name has not been checked by anyone yet.
            resource = resource.model_copy(update={"verified_at": None, "verified_by": None})
        try:
            await self.directory.save(resource, self._now(), Change(ctx.sender, "edit", changed))
        except DuplicateUrl as duplicate:
            await ctx.reply(ctx.t("duplicate_url", id=duplicate.existing_id))
            return
        key = "edited_unverified" if vetted and found.status != "draft" else "edited"
        await ctx.reply(ctx.t(key, id=resource.id or 0))

    async def _remove(self, ctx: Context, rest: str) -> None:
        found, _ = await self._entry(ctx, rest)
        if found is None:
            return
        await self.directory.save(found.model_copy(update={"status": "removed"}), self._now(),
                                  Change(ctx.sender, "remove", ("status",)))
        await ctx.reply(ctx.t("removed", id=found.id or 0))

    async def _verify(self, ctx: Context, rest: str) -> None:
        found, _ = await self._entry(ctx, rest)
        if found is None:
            return
        if found.status == "draft" and found.title == draft_title(found.url):
            # A draft is named after its site's host until a curator names the organization.
            await ctx.reply(ctx.t("verify_draft_unnamed", id=found.id or 0))
            return
        verified = found.model_copy(
            update={"status": "active", "verified_at": self._today(), "verified_by": ctx.sender}
        )
        fields = ("status", "verified") if found.status != "active" else ("verified",)
        await self.directory.save(verified, self._now(), Change(ctx.sender, "verify", fields))
        await ctx.reply(ctx.t("verified", id=found.id or 0))

    async def _changes(self, ctx: Context, rest: str) -> None:
        word = rest.strip().lstrip("#")
        resource_id = int(word) if word.isdigit() else None
        if word and resource_id is None:
            await ctx.reply(ctx.t("resource_usage"))
            return
        changes = await self.directory.changes(resource_id=resource_id, limit=20)
        if not changes:
            await ctx.reply(ctx.t("changes_none"))
            return
        lines = [ctx.t("changes_header")]
        lines.extend(self._change_line(ctx, change) for change in changes)
        await ctx.reply("\n".join(lines))

    async def _stale(self, ctx: Context[ResourcesSettings]) -> None:
        days = ctx.settings.stale_after_days
        stale = await self.directory.stale(self._today(), days)
        if not stale:
            await ctx.reply(ctx.t("stale_none", days=days))
            return
        lines = [ctx.t("stale_header", days=days)]
        for resource in stale[:50]:
            if resource.status == "draft":
                date = ctx.t("draft")
            else:
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
        if not self._is_curator(ctx):  # the role was taken away during the exchange
            await ctx.reply(ctx.t("not_curator"))
            return
        data = exchange.resource_data()
        data.update(verified_at=self._today(), verified_by=ctx.sender)
        resource = await self._validated(ctx, data)
        if resource is not None:
            await self._store_new(ctx, resource)
