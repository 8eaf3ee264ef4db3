"""Trusted contacts: a member asks, the contact accepts in their own DM; only accepted ones are alerted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.checkins.messages import CATALOG
from bots.checkins.store import CheckinStore
from core.commands import UserId
from core.i18n import Trusted
from core.plugin import MATRIX_USER, Context, message_content

if TYPE_CHECKING:
    from core.runtime import Runtime

OWNER = "checkins"
MAX_CONTACTS = 10


class ContactBook:
    """`!contacts` and its verbs: list, add, remove (by the member), accept, decline (by the contact)."""

    def __init__(self, runtime: Runtime, store: CheckinStore) -> None:
        self.runtime = runtime
        self.store = store

    def _shown(self, name: str) -> Trusted:
        return Trusted(self.runtime.config.bot.command_prefix + name)

    async def handle(self, ctx: Context, action: str | None, user: str | None) -> None:
        verb = (action or "list").lower()
        if verb == "list":
            await self._list(ctx)
            return
        if verb not in ("add", "remove", "accept", "decline") or user is None:
            await ctx.reply(ctx.t("contacts_usage", contacts=self._shown("contacts")))
            return
        target = UserId(user.strip())
        if MATRIX_USER.fullmatch(target) is None:
            await ctx.reply(ctx.t("not_a_user", user=user[:80]))
            return
        if verb == "add":
            await self._add(ctx, target)
        elif verb == "remove":
            removed = await self.store.remove_contact(ctx.sender, target)
            await ctx.reply(ctx.t("contact_removed" if removed else "contact_unknown",
                                  user=target))
        elif verb == "accept":
            accepted = await self.store.set_contact_accepted(target, ctx.sender)
            if not accepted:
                await ctx.reply(ctx.t("no_request", user=target))
                return
            await ctx.reply(ctx.t("accepted", user=target))
            language = self.runtime.languages.for_reader(target, None)
            await self.runtime.outbox.enqueue(
                OWNER, f"accepted/{target}/{ctx.sender}/{self.runtime.clock.now()}",
                message_content(CATALOG.text("contact_accepted_you", language, user=ctx.sender)),
                user_id=target)
        else:
            state = await self.store.contact_state(target, ctx.sender)
            if state is None:
                await ctx.reply(ctx.t("no_request", user=target))
                return
            await self.store.remove_contact(target, ctx.sender)
            await ctx.reply(ctx.t("declined", user=target))

    async def _list(self, ctx: Context) -> None:
        contacts = await self.store.contacts(ctx.sender)
        if not contacts:
            await ctx.reply(ctx.t("no_contacts", contacts=self._shown("contacts")))
            return
        lines = [ctx.t("contacts_header")]
        for contact, state in contacts:
            lines.append(ctx.t("contact_line_accepted" if state == "accepted"
                               else "contact_line_pending", user=contact))
        await ctx.reply("\n".join(lines))

    async def _add(self, ctx: Context, target: str) -> None:
        if target == ctx.sender:
            await ctx.reply(ctx.t("contact_is_you"))
            return
        if target == self.runtime.bot_user_id:
            await ctx.reply(ctx.t("contact_is_bot"))
            return
        existing = await self.store.contacts(ctx.sender)
        if any(contact == target for contact, _ in existing):
            await ctx.reply(ctx.t("contact_exists", user=target))
            return
        if len(existing) >= MAX_CONTACTS:
            await ctx.reply(ctx.t("too_many_contacts", max=MAX_CONTACTS))
            return
        language = self.runtime.languages.for_reader(target, None)
        request = CATALOG.text("contact_request", language, user=ctx.sender,
                               accept=Trusted(f"{self._shown('contacts')} accept {ctx.sender}"),
                               decline=Trusted(f"{self._shown('contacts')} decline {ctx.sender}"))
        now = self.runtime.clock.now()
        await self.runtime.db.transaction([
            self.store.add_contact_statement(ctx.sender, target, now),
            *self.runtime.outbox.enqueue_statements(
                OWNER, f"request/{ctx.sender}/{target}/{now}", message_content(request),
                user_id=target),
        ])
        self.runtime.outbox.wake()
        await ctx.reply(ctx.t("contact_requested", user=target))
