"""Invite policy: which invites the bot accepts, and what it learns from the invite.

The bot joins a room only when invited by a user or server the config
allows, and no plugin refuses it (an InviteListener says why it would). The
inviter is read from the invite event itself, never from the rest of the
stripped state: that is written by the inviting server and may claim that
an allowed organizer invited the bot. A room the inviter marked as a direct
chat is reported once joined; that mark is a hint only (core.dms checks the
room before treating it as a member's DM).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from nio import JoinError, SyncResponse
from nio.events import InviteMemberEvent

from core.config import Config
from core.matrix.session import Session, reason

log = logging.getLogger(__name__)


class InviteListener(Protocol):
    def refuses_invite(self, room_id: str, inviter: str) -> str | None:
        """A reason to decline an invite the config allows, or None."""

    async def joined_direct(self, room_id: str, member: str) -> None:
        """Told after joining a room a member opened as a DM with the bot."""


class Invites:
    """Answers the invites of each sync: join, or decline (with the reason logged)."""

    def __init__(self, session: Session, config: Config, listener: InviteListener) -> None:
        self._session = session
        self._config = config
        self.listener = listener

    async def handle(self, response: SyncResponse) -> None:
        client = self._session.nio
        user_id = self._session.user_id
        for room_id, info in response.rooms.invite.items():
            inviter_id = inviter(info.invite_state, user_id)
            refusal = self.listener.refuses_invite(room_id, inviter_id) if inviter_id else None
            if refusal is not None:
                await client.room_leave(room_id)
                log.info("declined invite to %s: %s", room_id, refusal)
            elif inviter_id and self._allowed(inviter_id):
                joined = await client.join(room_id)
                if isinstance(joined, JoinError):
                    log.warning("could not join %s: %s", room_id, reason(joined))
                else:
                    log.info("joined %s (invited by an allowed user)", room_id)
                    if is_direct(info.invite_state, user_id):
                        await self.listener.joined_direct(room_id, inviter_id)
            else:
                await client.room_leave(room_id)
                log.info("rejected invite to %s from a user not allowed by config", room_id)

    def _allowed(self, inviter_id: str) -> bool:
        invites = self._config.bot.invites
        server = inviter_id.split(":", 1)[1] if ":" in inviter_id else ""
        return inviter_id in invites.allowed_users or server in invites.allowed_servers


def invite_event(invite_state: list[Any], user_id: str) -> InviteMemberEvent | None:
    """The invite itself: the last invite membership of the bot in `invite_state`.

    The rest of `invite_state` is stripped state the inviting server wrote, and
    it may hold any number of fake member events about the bot (claiming an
    allowed organizer invited it). The homeserver appends the invite event it
    received last (MSC4319), so only that one names the inviter.
    """
    for event in reversed(invite_state):
        if (isinstance(event, InviteMemberEvent) and event.state_key == user_id
                and event.membership == "invite"):
            return event
    return None


def is_direct(invite_state: list[Any], user_id: str) -> bool:
    """Whether the inviter marked the invite as a DM: a hint only (core.dms checks the room)."""
    invite = invite_event(invite_state, user_id)
    content = invite.content if invite is not None else None
    return isinstance(content, dict) and content.get("is_direct") is True


def inviter(invite_state: list[Any], user_id: str) -> str | None:
    invite = invite_event(invite_state, user_id)
    sender = invite.sender if invite is not None else None
    return sender if isinstance(sender, str) else None
