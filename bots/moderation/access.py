"""Who may command moderation where, declared on each command instead of opened by hand.

A room's own moderators (their power in the room) command moderation in their
room. Someone let in by network authority alone (`or_network_role`, core.authority)
only in the network's rooms and the network moderators' own rooms, never in any
other room the bot is in. Room power never grants network power.
"""

from __future__ import annotations

from typing import Any

from bots.moderation.enforce import Enforcer
from bots.moderation.network import Network
from bots.moderation.policy_sync import PolicySync
from bots.moderation.settings import ModerationSettings
from bots.moderation.store import ModerationStore
from core.i18n import Trusted
from core.network import NetworkRole
from core.plugin import Check, Context, Plugin, Refusal
from core.roles import Role


class ModerationBase(Plugin[ModerationSettings]):
    """What the moderation plugin's command sets share (ModerationPlugin mixes them in)."""

    store: ModerationStore
    network: Network
    enforcer: Enforcer
    policy: PolicySync

    def network_moderator(self, ctx: Context) -> bool:
        """Network authority (core.authority): organizers and the network's moderators only."""
        return ctx.holds(NetworkRole.MODERATOR)

    def moderators_place(self, room_id: str) -> bool:
        """The network moderators' own rooms (reports, the mod log)."""
        return room_id in {self.network.management_room(), self.network.modlog_room()} - {""}

    def authority(self, ctx: Context, room_id: str) -> int | None:
        """The level a command's sender acts with in `room_id`.

        A network moderator acts with the bot's authority in each network room;
        anyone else (None) with their own level there, so never on a room they
        don't moderate.
        """
        if self.network_moderator(ctx) and self.network.in_network(room_id):
            return self.enforcer.level(room_id, self.runtime.bot_user_id)
        return None


async def reaches(ctx: Context) -> None:
    """May the sender command moderation here (see the module)? Refused when not."""
    plugin = ctx.plugin
    if not isinstance(plugin, ModerationBase):
        raise TypeError(f"{plugin.name} is not the moderation plugin")
    if ctx.role >= Role.MODERATOR:
        return
    if plugin.network_moderator(ctx) and (plugin.network.in_network(ctx.room_id)
                                          or plugin.moderators_place(ctx.room_id)):
        return
    raise Refusal("network_rooms_only")


def speaks_for_network(what: str) -> Check:
    """Only the network's moderators change what the whole network follows or publishes.

    Not `network_role=` on the command: a room's moderators may still list the
    lists (`!policy list`), and this answer names the change refused.
    """

    async def check(ctx: Context) -> None:
        if not ctx.holds(NetworkRole.MODERATOR):
            raise Refusal("policy_needs_network_moderator", what=Trusted(what))

    check.__qualname__ = f"speaks_for_network({what!r})"
    return check


# The options of every moderators' command: a room moderator, or a network moderator
# standing in for one, and then only where `reaches` allows.
MODERATORS: dict[str, Any] = {
    "min_role": Role.MODERATOR,
    "or_network_role": NetworkRole.MODERATOR,
    "checks": (reaches,),
}
