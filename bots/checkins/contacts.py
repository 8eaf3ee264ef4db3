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
# One request per (member, contact) pair in this time, however often the contact
# is removed and added again; and at most this many people asked per member a day.
REQUEST_INTERVAL = 24 * 3600.0
MAX_REQUESTS_PER_DAY = 20


class ContactBook:
    """`!contacts` and its verbs: list, add, remove (by the member); accept, decline, allow (by the contact).

    A request is a message from the bot that someone else chose to send: a
    member must not be able to flood a person with them. Each pair is asked at
    most once per REQUEST_INTERVAL, and a contact who declines blocks further
    requests from that member until they send `!contacts allow @member`.
    """

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
        if verb not in ("add", "remove", "accept", "decline", "allow") or user is None:
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
                OWNER, f"accepted/{target}/{self.store.ref(target, ctx.sender)}/"
                f"{self.runtime.clock.now()}",
                message_content(CATALOG.text("contact_accepted_you", language, user=ctx.sender)),
                user_id=target)
        elif verb == "decline":
            state = await self.store.contact_state(target, ctx.sender)
            last_sent, blocked = await self.store.contact_request(target, ctx.sender)
            if state is None and last_sent is None and not blocked:
                await ctx.reply(ctx.t("no_request", user=target))
                return
            await self.store.remove_contact(target, ctx.sender)
            await self.store.set_request_blocked(target, ctx.sender, True)
            await ctx.reply(ctx.t("declined", user=target,
                                  allow=Trusted(f"{self._shown('contacts')} allow {target}")))
        else:
            _, blocked = await self.store.contact_request(target, ctx.sender)
            if not blocked:
                await ctx.reply(ctx.t("not_blocked", user=target))
                return
            await self.store.set_request_blocked(target, ctx.sender, False)
            await ctx.reply(ctx.t("allowed_again", user=target))

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
        now = self.runtime.clock.now()
        last_sent, blocked = await self.store.contact_request(ctx.sender, target)
        if blocked:
            await ctx.reply(ctx.t("contact_cannot_ask", user=target))
            return
        if last_sent is not None and now - last_sent < REQUEST_INTERVAL:
            # Back on the list, without a new message: the earlier request's
            # `accept` still works.
            await self.runtime.db.transaction([
                self.store.add_contact_statement(ctx.sender, target, now)])
            await ctx.reply(ctx.t("contact_asked_recently", user=target))
            return
        if await self.store.requests_since(ctx.sender, now - REQUEST_INTERVAL) \
                >= MAX_REQUESTS_PER_DAY:
            await ctx.reply(ctx.t("too_many_requests", max=MAX_REQUESTS_PER_DAY))
            return
        language = self.runtime.languages.for_reader(target, None)
        request = CATALOG.text("contact_request", language, user=ctx.sender,
                               accept=Trusted(f"{self._shown('contacts')} accept {ctx.sender}"),
                               decline=Trusted(f"{self._shown('contacts')} decline {ctx.sender}"))
        await self.runtime.db.transaction([
            self.store.add_contact_statement(ctx.sender, target, now),
            self.store.request_sent_statement(ctx.sender, target, now),
            *self.runtime.outbox.enqueue_statements(
                OWNER, f"request/{ctx.sender}/{self.store.ref(ctx.sender, target)}/{now}",
                message_content(request),
                user_id=target),
        ])
        self.runtime.outbox.wake()
        await ctx.reply(ctx.t("contact_requested", user=target))
