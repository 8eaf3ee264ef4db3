"""Trusted contacts: a member asks, the contact accepts in their own DM; only accepted ones are alerted."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bots.checkins.messages import CATALOG, shown
from bots.checkins.store import CheckinStore
from core.actions import ActionError
from core.commands import UserId
from core.events import Message, Reaction
from core.plugin import MATRIX_USER, Context, Refusal, message_content
from core.reactions import reaction_in
from core.textnorm import normalise

if TYPE_CHECKING:
    from core.runtime import Runtime

OWNER = "checkins"
# Plugin.say, bound: (to, catalog key, once=..., queued=..., values...).
Say = Callable[..., Awaitable[str | None]]
MAX_CONTACTS = 10
# One request per (member, contact) pair in this time, however often the contact
# is removed and added again; and at most this many people asked per member a day.
REQUEST_INTERVAL = 24 * 3600.0
MAX_REQUESTS_PER_DAY = 20

# What a contact may answer to a request, instead of the command. A free-text
# yes makes someone an emergency contact, so it is read conservatively: every
# word must be one of these, at least one must say yes, and anything else (a
# question, a "no", "sure, but who are you", a long message) is not a yes: the
# contact is told how to answer instead. No negation is in either list.
_YES_WORDS = {
    "yes", "yeah", "yep", "yup", "yea", "sure", "ok", "okay", "alright", "accept", "accepted",
    "agree", "agreed", "absolutely", "definitely", "certainly", "gladly", "course", "happy",
    "glad", "pleasure",
    "نعم", "أجل", "بلى", "أكيد", "طبعاً", "بالطبع", "بالتأكيد", "تأكيد", "موافق", "موافقة",
    "أوافق", "قبلت", "أقبل", "حاضر", "تمام", "أيوه", "أيوا", "ماشي", "أوكي", "يسعدني", "سرور",
}
_FILLER_WORDS = {
    "i", "i'll", "i'd", "i'm", "am", "will", "would", "be", "to", "help", "of", "it", "you",
    "with", "my", "for", "the", "a", "and", "always", "anytime", "here", "there", "thanks",
    "thank", "totally", "all", "right", "fine", "that's", "dear", "friend", "love", "very",
    "much", "so", "really", "can", "do", "honoured", "honored", "thing",
    "أنا", "و", "جداً", "جدا", "بكل", "لك", "معك", "هنا", "شكراً", "شكرا", "سأكون", "حبيبي",
    "حبيبتي", "عزيزي", "عزيزتي",
}
_YES_WORDS_FOLDED = frozenset(normalise(word) for word in _YES_WORDS)
_ALLOWED_FOLDED = _YES_WORDS_FOLDED | frozenset(normalise(word) for word in _FILLER_WORDS)
_YES_MARKS = ("✅", "✔", "☑", "👍", "👌")
_NO_MARKS = ("👎", "❌", "✖", "🚫", "⛔", "🙅", "❎")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
MAX_ANSWER_WORDS = 12


def answer_text(body: str) -> str:
    """A reply's own text, without the quoted fallback (`> <@bot> ...` lines) clients prepend."""
    lines = body.splitlines()
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()


def reads_as_yes(text: str) -> bool:
    """Is this answer, beyond doubt, a yes ("yes of course", "نعم بالتأكيد", "👍")?"""
    text = text.strip()
    if not text or len(text) > 200 or "?" in text or "؟" in text:
        return False
    if any(mark in text for mark in _NO_MARKS):
        return False
    words = _WORD.findall(normalise(text.replace("’", "'").replace("`", "'")))
    if len(words) > MAX_ANSWER_WORDS or any(word not in _ALLOWED_FOLDED for word in words):
        return False
    return any(mark in text for mark in _YES_MARKS) or any(
        word in _YES_WORDS_FOLDED for word in words)


def is_yes_reaction(key: str) -> bool:
    """✅ (and its look-alikes) or 👍, in any skin tone."""
    untoned = "".join(c for c in key if not "\U0001f3fb" <= c <= "\U0001f3ff")
    return reaction_in(untoned, _YES_MARKS)


class ContactBook:
    """What `!contacts` and its subcommands do: list, add, remove (by the member);
    accept, decline, allow (by the contact).

    A request is a message from the bot that someone else chose to send: a
    member must not be able to flood a person with them. Each pair is asked at
    most once per REQUEST_INTERVAL, and a contact who declines blocks further
    requests from that member until they send `!contacts allow @member`.
    """

    def __init__(self, runtime: Runtime, store: CheckinStore, say: Say) -> None:
        self.runtime = runtime
        self.store = store
        # The plugin's say(): messages outside a reply, in each reader's language.
        self.say = say

    def member_named(self, user: str | None) -> UserId:
        """The account a verb is about, or a Refusal: none given (how to use `!contacts`), not an id."""
        if user is None:
            raise Refusal("contacts_usage", contacts=shown(self.runtime, "contacts"))
        target = UserId(user.strip())
        if MATRIX_USER.fullmatch(target) is None:
            raise Refusal("not_a_user", user=user[:80])
        return target

    async def usage(self, ctx: Context) -> None:
        await ctx.reply(ctx.t("contacts_usage", contacts=shown(self.runtime, "contacts")))

    async def remove(self, ctx: Context, target: str) -> None:
        removed = await self.store.remove_contact(ctx.sender, target)
        await ctx.reply(ctx.t("contact_removed" if removed else "contact_unknown", user=target))

    async def decline(self, ctx: Context, owner: str) -> None:
        """The sender declines `owner`'s request, and blocks further ones until `allow`."""
        state = await self.store.contact_state(owner, ctx.sender)
        last_sent, blocked = await self.store.contact_request(owner, ctx.sender)
        if state is None and last_sent is None and not blocked:
            await ctx.reply(ctx.t("no_request", user=owner))
            return
        await self.store.remove_contact(owner, ctx.sender)
        await self.store.set_request_blocked(owner, ctx.sender, True)
        await ctx.reply(ctx.t("declined", user=owner,
                              allow=shown(self.runtime, "contacts", "allow", owner)))

    async def allow(self, ctx: Context, owner: str) -> None:
        """The sender lets `owner` ask again after declining."""
        _, blocked = await self.store.contact_request(owner, ctx.sender)
        if not blocked:
            await ctx.reply(ctx.t("not_blocked", user=owner))
            return
        await self.store.set_request_blocked(owner, ctx.sender, False)
        await ctx.reply(ctx.t("allowed_again", user=owner))

    async def accept(self, ctx: Context, owner: str) -> None:
        """The sender accepts `owner`'s request; `owner` is told."""
        if not await self.store.set_contact_accepted(owner, ctx.sender):
            already = await self.store.contact_state(owner, ctx.sender) == "accepted"
            await ctx.reply(ctx.t("contact_already_accepted" if already else "no_request",
                                  user=owner))
            return
        await ctx.reply(ctx.t("accepted", user=owner))
        await self.say(owner, "contact_accepted_you", queued=True, user=ctx.sender,
                       once=f"accepted/{owner}/{self.store.ref(owner, ctx.sender)}/"
                       f"{self.runtime.clock.now()}")

    async def _request_to(self, event_id: str, contact: str) -> str | None:
        """The member whose request to `contact` was the message `event_id`, if it was one.

        Only the person asked can answer a request: a message's id is known to the
        people in the room, but the ref binds the request to the member and the contact.
        """
        found = await self.store.request_by_event(event_id)
        if found is None:
            return None
        owner, ref = found
        return owner if ref == self.store.ref(owner, contact) else None

    async def answered_by_reply(self, ctx: Context, event: Message) -> bool:
        """A reply to a request: a clear yes accepts it; anything else is told how to answer.

        False when the message answers no request (it is someone else's to handle).
        """
        if event.reply_to is None:
            return False
        owner = await self._request_to(event.reply_to, ctx.sender)
        if owner is None:
            return False
        if reads_as_yes(answer_text(event.body)):
            await self.accept(ctx, owner)
            return True
        await ctx.reply(ctx.t(
            "contact_reply_unclear", user=owner,
            accept=shown(self.runtime, "contacts", "accept", owner),
            decline=shown(self.runtime, "contacts", "decline", owner)))
        return True

    async def answered_by_reaction(self, ctx: Context, event: Reaction) -> bool:
        """✅ or 👍 on a pending request accepts it; on anything else it is not ours (False)."""
        if not is_yes_reaction(event.key):
            return False
        owner = await self._request_to(event.relates_to, ctx.sender)
        if owner is None:
            return False
        # A reaction to a request answered already (or withdrawn) changes nothing and says nothing.
        if await self.store.contact_state(owner, ctx.sender) == "pending":
            await self.accept(ctx, owner)
        return True

    async def show(self, ctx: Context) -> None:
        contacts = await self.store.contacts(ctx.sender)
        if not contacts:
            await ctx.reply(ctx.t("no_contacts", contacts=shown(self.runtime, "contacts")))
            return
        lines = [ctx.t("contacts_header")]
        for contact, state in contacts:
            lines.append(ctx.t("contact_line_accepted" if state == "accepted"
                               else "contact_line_pending", user=contact))
        await ctx.reply("\n".join(lines))

    async def add(self, ctx: Context, target: str) -> None:
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
        try:
            await self.runtime.actions.profile(target)
        except ActionError as exc:
            if exc.not_found:
                await ctx.reply(ctx.t("contact_no_such_user", user=target))
                return
            # Profiles shown only to users who share a room, a server down: this proves
            # nothing about the account, so the request goes out as before.
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
                               accept=shown(self.runtime, "contacts", "accept", ctx.sender),
                               decline=shown(self.runtime, "contacts", "decline", ctx.sender))
        ref = self.store.ref(ctx.sender, target)
        key = f"request/{ctx.sender}/{ref}/{now}"
        await self.runtime.db.transaction([
            self.store.add_contact_statement(ctx.sender, target, now),
            self.store.request_sent_statement(ctx.sender, target, now),
            # Its event id, once sent (plugin._on_outbox_result), lets a ✅ or a reply answer it.
            self.store.request_message_statement(key, ctx.sender, ref, now),
            *self.runtime.outbox.enqueue_statements(
                OWNER, key, message_content(request), user_id=target),
        ])
        self.runtime.outbox.wake()
        await ctx.reply(ctx.t("contact_requested", user=target))
