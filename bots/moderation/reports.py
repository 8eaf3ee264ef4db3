"""Members report a message privately; moderators see it in their encrypted room and act with reactions."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from bots.moderation.enforce import Enforcer, Outcome
from bots.moderation.messages import CATALOG
from bots.moderation.network import Network
from bots.moderation.store import ModerationStore
from core.actions import ActionError, RoomActions
from core.events import Message
from core.i18n import Trusted
from core.plugin import message_content

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger(__name__)

EXCERPT = 300
# What a moderator's reaction on a report does.
REACTIONS = {"🔨": "ban", "👢": "kick", "🔇": "mute", "🗑️": "redact", "✅": "dismiss"}


class Reports:
    """Files reports in the management room and turns moderators' reactions into actions."""

    def __init__(self, runtime: Runtime, store: ModerationStore, network: Network,
                 enforcer: Enforcer) -> None:
        self.runtime = runtime
        self.store = store
        self.network = network
        self.enforcer = enforcer

    @property
    def actions(self) -> RoomActions:
        return self.runtime.actions

    async def file(self, room_id: str, event_id: str, reporter: str, reason: str, *,
                   anonymous: bool, seed: str) -> str:
        """Post the report; returns '' when filed, else the catalog key of the problem."""
        # Only the network's rooms report to the network's moderators, whose room comes
        # from config or an organizer (core.network), never from a room admin.
        if not self.network.in_network(room_id):
            return "reports_not_network"
        management = self.network.management_room()
        if not management:
            return "reports_no_room"
        if not self.runtime.rooms.is_encrypted(management):
            return "reports_room_unencrypted"
        # Moderators' reactions on the report arrive only where the plugin is on (an organizer
        # may have pointed the role at a new room since start).
        plugin = type(self.network.plugin)
        if not self.runtime.settings.is_enabled(management, plugin):
            await self.runtime.settings.set_enabled(management, plugin, True)
        try:
            event = await self.actions.get_event(room_id, event_id)
        except ActionError:
            event = None
        if event is None:
            return "report_unknown_event"
        if isinstance(event, Message):
            excerpt = event.body[:EXCERPT] + ("…" if len(event.body) > EXCERPT else "")
        else:
            excerpt = self.network.text(management, "report_no_text")
        who = (Trusted(self.network.text(management, "report_anonymous")) if anonymous
               else reporter)
        posted = await self.network.post(
            management, "report_posted", seed=f"report/{seed}",
            mentions=(), reporter=who, target=event.sender, room=self.network.room_label(room_id),
            link=Trusted(f"https://matrix.to/#/{room_id}/{event_id}"), excerpt=excerpt,
            reason=reason or "-", how=Trusted(" ".join(f"{k} {v}" for k, v in REACTIONS.items())))
        if posted is None:
            return "reports_room_unencrypted"
        await self.store.add_report(posted, management, room_id, event_id, event.sender,
                                    self.runtime.clock.now())
        for key in REACTIONS:
            txn = "solmodr" + hashlib.sha256(f"{posted}/{key}".encode()).hexdigest()[:32]
            try:
                await self.actions.react(management, posted, key, txn)
            except ActionError:
                break  # the buttons are a convenience; the report itself is posted
        return ""

    async def confirm(self, reporter: str, seed: str) -> None:
        """Thank the reporter in their DM, so the room does not see who reported."""
        language = self.runtime.languages.for_reader(reporter, None)
        text = CATALOG.text("report_thanks", language)
        outbox = getattr(self.runtime, "outbox", None)
        if outbox is None:
            return
        await outbox.enqueue("moderation", f"report-thanks:{seed}", message_content(text),
                             user_id=reporter)

    async def on_moderator_reaction(self, management: str, report_event: str, key: str,
                                    moderator: str) -> Outcome | None:
        """A network moderator reacted on a report: act in the reported room.

        The caller checks network authority; the action carries the bot's authority
        in the reported (network) room, as `--all` does.
        """
        action = REACTIONS.get(key) or REACTIONS.get(key + "\ufe0f")
        if action is None:
            return None
        report = await self.store.report(report_event)
        if report is None or report["management_room"] != management or report["closed"]:
            return None
        room_id, target = report["room_id"], report["target"]
        if action == "dismiss":
            await self.store.close_report(report_event)
            await self.network.post(management, "report_dismissed", seed=f"dismiss/{report_event}",
                                    moderator=moderator)
            return Outcome(room_id, "dismiss", True)
        authority = self.enforcer.level(room_id, self.runtime.bot_user_id) \
            if self.network.in_network(room_id) else None
        outcome = await self.enforcer.act(
            room_id, action, target, actor=moderator, actor_level=authority, reason="report",
            trigger=f"report {report_event}",
            event_id=report["event_id"] if action == "redact" else None)
        if outcome.done:
            await self.store.close_report(report_event)
            await self.network.post(management, "report_acted", seed=f"acted/{report_event}/{action}",
                                    moderator=moderator, action=Trusted(action), target=target)
        else:
            problem = self.network.text(management, outcome.problem, **outcome.values)
            await self.network.post(management, "report_action_refused",
                                    seed=f"refused/{report_event}/{action}/{moderator}",
                                    action=Trusted(action), problem=Trusted(problem))
        return outcome
