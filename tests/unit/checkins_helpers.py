"""What the check-ins tests share: the bot with CheckinsPlugin on core.testing, its cast, contacts.

The bot is core.testing.PluginHarness (real dispatcher, storage, DMs, outbox
and scheduler on a manual clock) over its MemoryHomeserver. Members' DMs are
the ones core.dms opens (`await h.dm(user)`); what a member was told there is
`h.private(user)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bots.admin import AdminPlugin
from bots.checkins import CheckinsPlugin
from core.plugin import Plugin
from core.testing import BOT, MemoryHomeserver, PluginHarness, Sent

ALICE = "@alice:test"
BOB = "@bob:test"
CAROL = "@carol:test"
DAVE = "@dave:test"
MALLORY = "@mallory:test"
ORGANIZER = "@org:test"
TEAM = "!team:test"
# A room of the bot and one member is that member's DM for core.dms, so a team
# room with one member of the safety team has this second one.
BYSTANDER = "@erin:test"
# Everyone the tests name has an account: `!contacts add` looks the account up
# first, and the homeserver knows only these and the members of its rooms.
PEOPLE = (ALICE, BOB, CAROL, DAVE, MALLORY, ORGANIZER, BYSTANDER)


def world(homeserver: MemoryHomeserver | None = None) -> MemoryHomeserver:
    """A homeserver (this one, or a new one) on which every member of PEOPLE has an account."""
    homeserver = homeserver or MemoryHomeserver(BOT)
    for user in PEOPLE:
        homeserver.profiles[user] = {"displayname": user[1:].split(":")[0]}
    return homeserver


def checkins(data_dir: Path, settings: Mapping[str, Any] | None = None, *,
             config: Mapping[str, Any] | None = None, admin: bool = False,
             homeserver: MemoryHomeserver | None = None) -> PluginHarness:
    """The bot with check-ins (`settings`: its config block), and `!config` too with `admin`."""
    plugins: tuple[type[Plugin], ...] = (CheckinsPlugin, AdminPlugin) if admin else (CheckinsPlugin,)
    return PluginHarness(*plugins, data_dir=data_dir, config=config,
                         plugins={"checkins": dict(settings or {})}, homeserver=world(homeserver))


def plugin(h: PluginHarness) -> CheckinsPlugin:
    return h.plugin(CheckinsPlugin)


async def answer(h: PluginHarness, room_id: str, sender: str, body: str,
                 **options: Any) -> Sent:
    """The bot's one reply to this message, whatever else it delivered meanwhile (to others).

    `h.reply` wants the reply to be all the bot sent; a command that also tells
    someone (a contact request, an alert's all clear) is answered through this.
    """
    return await h.answer(room_id, sender, body, **options)


def sent_to(h: PluginHarness, room_id: str) -> list[Sent]:
    """Every event the bot sent to the room (messages, edits, reactions), in order."""
    return [sent for sent in h.homeserver.sent if sent.room_id == room_id]


def redacted(h: PluginHarness) -> list[str]:
    """The events the bot removed, in order."""
    return [call.target for call in h.homeserver.done("redact")]


def dm_opened(h: PluginHarness, user_id: str) -> bool:
    """Did the bot make a room for this member (core.dms opens a DM for the first private message)?"""
    return any(user_id in (*room.joined, *room.invited)
               for room in map(h.homeserver.room, h.homeserver.created))


async def accepted_contacts(h: PluginHarness, owner: str, *contacts: str) -> str:
    """`owner` asks each contact, who accepts in their DM; returns the owner's DM."""
    dm = await h.dm(owner)
    for contact in contacts:
        await answer(h, dm, owner, f"!contacts add {contact}")
        assert any("asks you to be one of their trusted contacts" in s.body
                   for s in h.private(contact))
        reply = await answer(h, await h.dm(contact), contact, f"!contacts accept {owner}")
        assert "Thank you" in reply.body
    return dm


def alerts_to(h: PluginHarness, user: str) -> list[str]:
    """The safety alerts (and urgent ones) the member was sent in their DM."""
    return [s.body for s in h.private(user) if "Safety alert" in s.body or "URGENT" in s.body]
