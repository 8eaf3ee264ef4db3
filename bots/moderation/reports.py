"""Members report a message privately; moderators see it in their encrypted room and act with
reactions, or, without a moderators' room, get it by direct message."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from bots.moderation.enforce import Enforcer, Outcome
from bots.moderation.messages import CATALOG
from bots.moderation.network import Network
from bots.moderation.store import ModerationStore
from core.actions import ActionError, RoomActions
from core.events import Message, RoomEvent
from core.i18n import Trusted
from core.plugin import message_content
from core.reactions import same_reaction
from core.roles import Role

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger(__name__)

EXCERPT = 300
# Without a moderators' room, a report reaches at most this many of the room's moderators.
MAX_DM_MODERATORS = 20
# What a moderator's reaction on a report does.
REACTIONS = {"🔨": "ban", "👢": "kick", "🔇": "mute", "🗑️": "redact", "✅": "dismiss"}


class Reports:
    """Files reports where moderators read them and turns moderators' reactions into actions.

    Nothing about a report is said in the room it came from: the reported member
    may read it. The command or reaction is removed, the reporter is answered by DM.
    """

    def __init__(self, runtime: Runtime, store: ModerationStore, network: Network,
                 enforcer: Enforcer) -> None:
        self.runtime = runtime
        self.store = store
        self.network = network
        self.enforcer = enforcer

    @property
    def actions(self) -> RoomActions:
        return self.runtime.actions

    async def submit(self, room_id: str, event_id: str | None, reporter: str, reason: str, *,
                     anonymous: bool, seed: str, remove: str | None = None) -> str:
        """Take a member's report (`!report` or the report emoji) without the room seeing it.

        `remove` (the command or the reaction) is redacted first, where the bot has
        the power. The report goes to the network moderators' room; when there is
        none (or the room is outside the network, or the report could not be posted
        there), to the room's own moderators by direct message. The reporter hears
        the outcome only in their DM. Returns the catalog key they were sent.
        """
        removed = True
        if remove is not None:
            try:
                await self.actions.redact(room_id, remove, None)
            except ActionError as error:
                removed = False
                log.info("report in %s: the report itself not removed (%s)", room_id,
                         error.reason[:80])
        key, values = await self._deliver(room_id, event_id, reporter, reason,
                                          anonymous=anonymous, seed=seed)
        await self.tell_reporter(reporter, key, seed, removed=removed, **values)
        return key

    async def _deliver(self, room_id: str, event_id: str | None, reporter: str, reason: str, *,
                       anonymous: bool, seed: str) -> tuple[str, dict[str, int]]:
        if not event_id:
            return "report_how", {}
        try:
            event = await self.actions.get_event(room_id, event_id)
        except ActionError:
            event = None
        if event is None:
            return "report_unknown_event", {}
        problem = await self.file(room_id, event, reporter, reason, anonymous=anonymous, seed=seed)
        if not problem:
            return "report_thanks", {}
        # Never dropped: without a moderators' room the room's own moderators hear it.
        log.info("report in %s not filed in the moderators' room (%s): to the room's "
                 "moderators by DM", room_id, problem)
        count = await self.to_room_moderators(room_id, event, reporter, reason,
                                              anonymous=anonymous, seed=seed)
        if count:
            return "report_sent_to_room_moderators", {"count": count}
        log.warning("report in %s reached no moderator: the room has none the bot can tell",
                    room_id)
        return "report_no_moderator", {}

    async def file(self, room_id: str, event: RoomEvent, reporter: str, reason: str, *,
                   anonymous: bool, seed: str) -> str:
        """Post the report in the network moderators' room; '' when filed, else why not."""
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
        excerpt = self._excerpt(event, self.network.language(management))
        who = (Trusted(self.network.text(management, "report_anonymous")) if anonymous
               else reporter)
        posted = await self.network.post(
            management, "report_posted", seed=f"report/{seed}",
            mentions=(), reporter=who, target=event.sender, room=self.network.room_label(room_id),
            link=Trusted(f"https://matrix.to/#/{room_id}/{event.event_id}"), excerpt=excerpt,
            reason=reason or "-", how=Trusted(" ".join(f"{k} {v}" for k, v in REACTIONS.items())))
        if posted is None:
            return "reports_room_unencrypted"
        await self.store.add_report(posted, management, room_id, event.event_id, event.sender,
                                    self.runtime.clock.now())
        for key in REACTIONS:
            txn = "solmodr" + hashlib.sha256(f"{posted}/{key}".encode()).hexdigest()[:32]
            try:
                await self.actions.react(management, posted, key, txn)
            except ActionError:
                break  # the buttons are a convenience; the report itself is posted
        return ""

    def room_moderators(self, room_id: str, exclude: set[str]) -> list[str]:
        """Members of the room at the moderator level (its real power levels), most
        powerful first, at most MAX_DM_MODERATORS; never the bot or anyone in `exclude`."""
        rooms, authority = self.runtime.rooms, self.runtime.authority
        skip = {*exclude, self.runtime.bot_user_id}
        found = [member for member in rooms.members(room_id)
                 if member not in skip and authority.room_role(room_id, member) >= Role.MODERATOR]
        found.sort(key=lambda member: (-rooms.power_level(room_id, member), member))
        return found[:MAX_DM_MODERATORS]

    async def to_room_moderators(self, room_id: str, event: RoomEvent, reporter: str, reason: str,
                                 *, anonymous: bool, seed: str) -> int:
        """The report by direct message to each of the room's moderators (not the reported
        member); how many were queued. Exactly once per moderator and report."""
        count = 0
        for moderator in self.room_moderators(room_id, {event.sender}):
            language = self.runtime.languages.for_reader(moderator, None)
            who = (Trusted(CATALOG.text("report_anonymous", language)) if anonymous
                   else reporter)
            text = CATALOG.text(
                "report_dm", language, reporter=who, target=event.sender,
                room=self.network.room_label(room_id),
                link=Trusted(f"https://matrix.to/#/{room_id}/{event.event_id}"),
                excerpt=self._excerpt(event, language), reason=reason or "-")
            try:
                await self.runtime.outbox.enqueue(
                    "moderation", f"report-dm:{seed}:{moderator}", message_content(text),
                    user_id=moderator)
            except ActionError as error:
                log.warning("report DM to a moderator of %s not queued (%s)", room_id,
                            error.reason[:80])
                continue
            count += 1
        return count

    @staticmethod
    def _excerpt(event: RoomEvent, language: str) -> str:
        if isinstance(event, Message):
            return event.body[:EXCERPT] + ("…" if len(event.body) > EXCERPT else "")
        return CATALOG.text("report_no_text", language)

    async def tell_reporter(self, reporter: str, key: str, seed: str, *, removed: bool = True,
                            **values: int) -> None:
        """The reporter hears how their report went in their DM, never in the room."""
        language = self.runtime.languages.for_reader(reporter, None)
        text = CATALOG.text(key, language, **values)
        if not removed:
            text += "\n" + CATALOG.text("report_not_removed", language)
        try:
            await self.runtime.outbox.enqueue("moderation", f"report-answer:{seed}",
                                              message_content(text), user_id=reporter)
        except ActionError as error:
            log.warning("answer to a reporter not queued (%s)", error.reason[:80])

    async def on_moderator_reaction(self, management: str, report_event: str, key: str,
                                    moderator: str) -> Outcome | None:
        """A network moderator reacted on a report: act in the reported room.

        The caller checks network authority; the action carries the bot's authority
        in the reported (network) room, as `--all` does.
        """
        action = next((a for emoji, a in REACTIONS.items() if same_reaction(emoji, key)), None)
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
