"""Room tags (`!network`) set by the network's organizers, and members' DM subscriptions (`!subscribe`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from bots.alerts.compose import normalise_tag
from core.i18n import Trusted, isolate, join_list
from core.network import NetworkRole
from core.plugin import Context, command
from core.roles import Role

if TYPE_CHECKING:
    from bots.alerts.store import AlertStore
    from core.runtime import Runtime


class NetworkCommands:
    """Commands of the alerts plugin that shape who an alert reaches (mixed into AlertsPlugin)."""

    runtime: Runtime
    store: AlertStore

    if TYPE_CHECKING:
        # Provided by AlertsPlugin, which mixes these commands in.
        def organizers_room(self) -> str | None: ...

    @property
    def _prefix(self) -> str:
        return self.runtime.config.bot.command_prefix

    # -- room tags -------------------------------------------------------------------

    @command("network", help="help_network")
    async def network(self, ctx: Context, action: Literal["tag", "untag", "tags"],
                      tag: str | None = None, room: str | None = None) -> None:
        """Tags (country, topic) that alerts target: set by the network's organizers.

        A tag decides which rooms an alert reaches, so tagging has network effect
        and needs network authority (core.authority), never a room role: a room
        admin who is not an organizer may see and remove their own room's tags
        (opting out, as `!disable alerts` does), not add one. Only network rooms
        (core.network) are tagged. Organizers tag the room they write in, or from
        the organizers room any network room by id (`!network tag syria !room:x`).
        """
        organizer = ctx.holds(NetworkRole.ORGANIZER)
        in_organizers_room = organizer and ctx.room_id == self.organizers_room()
        if action == "tags" and room is None and in_organizers_room:
            await self._all_tags(ctx)
            return
        if room is not None and not in_organizers_room:
            # Naming another room is for organizers in their room: replies name rooms.
            await ctx.reply(ctx.t("tag_other_room_organizers"))
            return
        target = room or ctx.room_id
        if not organizer and ctx.role < Role.ADMIN:
            await ctx.reply(ctx.t("network_admins_only"))
            return
        if action == "tags":
            tags = await self.store.tags_of(target)
            listed = Trusted(join_list([isolate(tag) for tag in tags], ctx.language))
            await ctx.reply(ctx.t("room_tags", tags=listed) if tags else ctx.t("room_no_tags"))
            return
        if tag is None:
            await ctx.reply(ctx.t("tag_missing", prefix=Trusted(self._prefix)))
            return
        cleaned = normalise_tag(tag)  # a ComposeError (Refusal) says why a tag is unusable
        if action == "tag":
            if not organizer:
                await ctx.reply(ctx.t("tag_organizers_only", tag=cleaned))
                return
            if not self.runtime.network.contains(target):
                await ctx.reply(ctx.t("tag_not_network"))
                return
            added = await self.store.add_tag(target, cleaned, ctx.sender)
            key = "tag_added" if added else "tag_exists"
        else:
            removed = await self.store.remove_tag(target, cleaned)
            key = "tag_removed" if removed else "tag_absent"
        if room is None:
            await ctx.reply(ctx.t(key, tag=cleaned))
        else:
            shown = self.runtime.actions.room_name(room) or room
            await ctx.reply(ctx.t(f"{key}_there", tag=cleaned, room=shown))

    async def _all_tags(self, ctx: Context) -> None:
        tagged = await self.store.all_tags()
        if not tagged:
            await ctx.reply(ctx.t("no_tags_yet"))
            return
        names = self.runtime.actions.room_name
        lines = [ctx.t("all_tags_header")]
        for tag, rooms in tagged.items():
            # An inventory, not a sentence: separated only (a name is its room admins' text).
            shown = join_list([isolate(names(room) or room) for room in rooms], ctx.language, None)
            lines.append(ctx.t("tag_line", tag=tag, count=len(rooms), rooms=Trusted(shown)))
        await ctx.reply("\n".join(lines))

    # -- DM subscriptions ------------------------------------------------------------

    @command("subscribe", help="help_subscribe")
    async def subscribe(self, ctx: Context, what: Literal["alerts"], tag: str | None = None) -> None:
        """Get organizers' alerts by direct message (all, or those for one tag)."""
        cleaned = ""
        if tag is not None:
            cleaned = normalise_tag(tag)
            if cleaned not in await self.store.all_tags():
                await ctx.reply(ctx.t("subscribe_unknown_tag", tag=cleaned))
                return
        added = await self.store.subscribe(ctx.sender, cleaned)
        key = "subscribed_tag" if cleaned else "subscribed_all"
        await ctx.reply(ctx.t(key if added else "already_subscribed", tag=cleaned,
                              unsubscribe=Trusted(f"{self._prefix}unsubscribe")))

    @command("unsubscribe", help="help_unsubscribe")
    async def unsubscribe(self, ctx: Context, what: Literal["alerts"] | None = None,
                          tag: str | None = None) -> None:
        """Stop alerts by direct message (all, or one tag's)."""
        cleaned = None
        if tag is not None:
            cleaned = normalise_tag(tag)
        removed = await self.store.unsubscribe(ctx.sender, cleaned)
        await ctx.reply(ctx.t("unsubscribed" if removed else "not_subscribed"))
