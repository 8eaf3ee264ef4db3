"""Who may act where in the moderation plugin: each test performs a takeover attempt.

A real Runtime (database, settings, core network and authority), the real
dispatcher and plugin, over a fake homeserver in memory. The network is two
rooms (NET, NET2) and the network moderators' room (MODS, from config); the
attacker is the admin of their own room (EVIL), as an Element DM makes both
sides admins, and a moderator of NET. Room roles never grant network power.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bots.moderation import ModerationPlugin
from bots.moderation.messages import CATALOG
from bots.moderation.store import LogEntry
from core.builtin import CorePlugin
from core.clock import ManualClock
from core.config import Config
from core.dispatch import Dispatcher
from core.events import Message, Reaction, RoomEvent
from core.i18n import Trusted
from core.languages import LanguagePreferences
from core.network import NetworkRole
from core.room_settings import RoomSettings
from core.runtime import Runtime
from core.scheduler import Scheduler
from core.storage import CORE_MIGRATIONS, Database

BOT = "@bot:net.org"
NET, NET2, MODS, EVIL, LIST, OURS = "!net:x", "!net2:x", "!mods:x", "!evil:x", "!list:x", "!ours:x"
ATTACKER = "@attacker:evil.org"  # admin of EVIL, moderator of NET
NETMOD = "@netmod:net.org"  # a member of MODS at the role level: a network moderator
ORGANIZER = "@organizer:net.org"
VICTIM = "@victim:net.org"
MEMBER = "@member:net.org"
_ids = itertools.count()


@dataclass
class FakeHomeserver:
    """RoomView, Sender, RoomActions and DMs in memory; what the bot did is in `calls`."""

    members_of: dict[str, set[str]] = field(default_factory=dict)
    levels: dict[tuple[str, str], int] = field(default_factory=dict)
    events: dict[str, RoomEvent] = field(default_factory=dict)
    state: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    # RoomView
    def is_encrypted(self, room_id: str) -> bool:
        return True

    def power_level(self, room_id: str, user_id: str) -> int:
        return self.levels.get((room_id, user_id), 0)

    def members(self, room_id: str) -> list[str]:
        return sorted(self.members_of.get(room_id, set()))

    def display_name(self, room_id: str) -> str | None:
        return None

    # Sender
    async def send_message(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.send_event(room_id, "m.room.message", content, txn_id)

    # RoomActions
    @property
    def user_id(self) -> str:
        return BOT

    def joined_rooms(self) -> list[str]:
        return sorted(room for room, members in self.members_of.items() if BOT in members)

    def room_name(self, room_id: str) -> str | None:
        return None

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        self.sent.append((room_id, content))
        return f"$sent{next(_ids)}"

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str:
        return f"$react{next(_ids)}"

    async def redact(self, room_id: str, event_id: str, reason: str | None = None,
                     txn_id: str | None = None) -> None:
        self.calls.append(("redact", room_id, event_id))

    async def get_state(self, room_id: str, event_type: str, state_key: str = "",
                        ) -> dict[str, Any] | None:
        if event_type == "m.room.power_levels":
            return {"ban": 50, "kick": 50, "state_default": 50}
        return self.state.get((room_id, event_type, state_key))

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        return [{"type": t, "state_key": k, "content": c}
                for (room, t, k), c in self.state.items() if room == room_id]

    async def send_state(self, room_id: str, event_type: str, content: dict[str, Any],
                         state_key: str = "") -> str:
        self.calls.append(("state", room_id, event_type))
        self.state[(room_id, event_type, state_key)] = content
        return "$state"

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        self.calls.append(("level", room_id, f"{user_id}={level}"))

    async def ban(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self.calls.append(("ban", room_id, user_id))
        self.members_of[room_id].discard(user_id)

    async def unban(self, room_id: str, user_id: str) -> None:
        self.calls.append(("unban", room_id, user_id))

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self.calls.append(("kick", room_id, user_id))

    async def join(self, room: str) -> str:
        self.calls.append(("join", room, ""))
        self.members_of.setdefault(room, set()).add(BOT)
        return room

    async def leave(self, room_id: str) -> None:
        self.calls.append(("leave", room_id, ""))

    async def get_event(self, room_id: str, event_id: str) -> RoomEvent | None:
        return self.events.get(event_id)

    async def recent_events(self, room_id: str, limit: int) -> list[RoomEvent]:
        return []

    # DirectMessages
    def is_dm(self, room_id: str) -> bool:
        return False

    def bans(self) -> set[tuple[str, str]]:
        return {(room, user) for kind, room, user in self.calls if kind == "ban"}

    def posted_to(self, room_id: str) -> list[str]:
        return [str(content.get("body", "")) for room, content in self.sent if room == room_id]


@dataclass
class FakeOutbox:
    """Durable sends, kept: (user or room, body) per key, once per key."""

    queued: dict[str, tuple[str, str]] = field(default_factory=dict)

    async def enqueue(self, owner: str, key: str, content: dict[str, Any], **target: Any) -> bool:
        if key in self.queued:
            return False
        who = target.get("user_id") or target.get("room_id")
        self.queued[key] = (str(who), str(content.get("body", "")))
        return True

    def to(self, user_id: str) -> list[str]:
        return [body for who, body in self.queued.values() if who == user_id]


@dataclass
class Bot:
    hs: FakeHomeserver
    runtime: Runtime
    dispatcher: Dispatcher
    plugin: ModerationPlugin

    async def say(self, room_id: str, sender: str, body: str, reply_to: str | None = None,
                  ) -> list[str]:
        """Dispatch a message; the bot's replies to it."""
        event_id = f"$in{next(_ids)}"
        self.hs.events[event_id] = Message(room_id=room_id, event_id=event_id, sender=sender,
                                           timestamp_ms=0, encrypted=True, body=body,
                                           reply_to=reply_to)
        before = len(self.hs.sent)
        await self.dispatcher.handle(self.hs.events[event_id])
        return [str(content["body"]) for room, content in self.hs.sent[before:]
                if (content.get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id")
                == event_id]

    async def reply(self, room_id: str, sender: str, body: str, reply_to: str | None = None,
                    ) -> str:
        replies = await self.say(room_id, sender, body, reply_to)
        assert len(replies) == 1, replies
        return replies[0]

    async def react(self, room_id: str, sender: str, relates_to: str, key: str) -> None:
        await self.dispatcher.handle(Reaction(room_id=room_id, event_id=f"$r{next(_ids)}",
                                              sender=sender, timestamp_ms=0, encrypted=True,
                                              key=key, relates_to=relates_to))


async def start(path: Path, network: dict[str, Any] | None = None,
                moderation: dict[str, Any] | None = None,
                before: dict[str, str] | None = None) -> Bot:
    hs = FakeHomeserver(members_of={
        NET: {BOT, ATTACKER, VICTIM, MEMBER},
        NET2: {BOT, VICTIM, MEMBER},
        MODS: {BOT, NETMOD},
        EVIL: {BOT, ATTACKER, VICTIM, MEMBER},
    })
    for room in hs.members_of:
        hs.levels[(room, BOT)] = 90
    hs.levels[(EVIL, ATTACKER)] = 100
    hs.levels[(NET, ATTACKER)] = 50
    hs.levels[(MODS, NETMOD)] = 50
    db = Database(path / "db.sqlite")
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    config = Config.model_validate({
        "matrix": {"homeserver": "http://x", "user_id": BOT},
        "bot": {"roles": {"organizers": [ORGANIZER]},
                "rate_limit": {"commands": 1000, "window_seconds": 1}},
        "network": network if network is not None else {"rooms": [NET, NET2],
                                                        "moderators_room": MODS},
        "plugins": {"moderation": moderation or {}},
    })
    clock = ManualClock(1_700_000_000.0)
    runtime = Runtime(
        config=config, db=db, clock=clock, scheduler=Scheduler(db, clock),
        settings=RoomSettings(db, config.plugins), languages=LanguagePreferences(db, "en"),
        sender=hs, rooms=hs, actions=hs, dms=hs, outbox=FakeOutbox(),  # type: ignore[arg-type]
        bot_user_id=BOT,
    )
    await runtime.settings.load()
    await runtime.languages.load()
    await runtime.network.load()
    dispatcher = Dispatcher(runtime)
    core = CorePlugin(runtime)
    core.dispatcher = dispatcher
    plugin = ModerationPlugin(runtime)
    for each in (core, plugin):
        runtime.plugins[each.name] = each
        dispatcher.add_plugin(each)
    for room in (NET, NET2, EVIL):  # moderation on (EVIL: by its own admin)
        await runtime.settings.set_enabled(room, ModerationPlugin, True)
    if before:  # what an older version stored
        from bots.moderation.store import ModerationStore

        old = ModerationStore(db, runtime.sealer)
        await old.migrate()
        for key, value in before.items():
            await old.put(key, value)
    await plugin.setup()
    return Bot(hs, runtime, dispatcher, plugin)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start(tmp_path)
    try:
        yield running
    finally:
        await running.runtime.db.close()


async def test_a_room_admin_cannot_make_their_room_the_moderators_room(bot: Bot) -> None:
    refused = await bot.reply(EVIL, ATTACKER, "!modroom")
    assert "organizers only" in refused
    assert bot.runtime.network.role_room(NetworkRole.MODERATOR) == MODS
    assert "organizers only" in await bot.reply(EVIL, ATTACKER, "!modroom log")
    assert bot.plugin.network.modlog_room() == MODS
    # So they gain no network power: --all from their room is refused and does nothing.
    answer = await bot.reply(EVIL, ATTACKER, f"!ban {VICTIM} --all takeover")
    assert "Only the network's moderators" in answer and "nothing was done" in answer
    assert bot.hs.bans() == set()
    assert bot.hs.posted_to(MODS) == []


async def test_a_room_moderator_is_refused_all_in_any_language_and_acts_in_their_room(
        bot: Bot) -> None:
    for action in ("ban", "unban", "kick", "mute", "unmute", "redact"):
        answer = await bot.reply(NET, ATTACKER, f"!{action} --all {VICTIM}")
        expected = CATALOG.text("all_needs_network_moderator", "en", flag=Trusted("--all"))
        assert answer == expected, action
    assert bot.hs.calls == []
    await bot.runtime.languages.set_user(ATTACKER, "ar")
    arabic = await bot.reply(NET, ATTACKER, f"!ban {VICTIM} --all")
    assert "لفريق الإشراف على الشبكة فقط" in arabic
    # Without --all the room's moderator acts in the room they moderate, with their own level.
    assert "1" in await bot.reply(NET, ATTACKER, f"!kick {VICTIM}")
    assert bot.hs.calls == [("kick", NET, VICTIM)]


async def test_a_network_moderator_acts_in_every_network_room_with_the_bots_authority(
        bot: Bot) -> None:
    # NETMOD has no power in NET or NET2, only in the moderators' room: that is network authority.
    answer = await bot.reply(MODS, NETMOD, f"!ban --all {VICTIM} spam network")
    assert "in 2 room(s)" in answer, answer
    # EVIL turned moderation on but is not part of the network: never reached from here.
    assert bot.hs.bans() == {(NET, VICTIM), (NET2, VICTIM)}


async def test_protected_rooms_setting_narrows_the_network(tmp_path: Path) -> None:
    bot = await start(tmp_path, moderation={"protected_rooms": [NET2, EVIL]})
    try:
        answer = await bot.reply(MODS, NETMOD, f"!ban --all {VICTIM}")
        assert "in 1 room(s)" in answer, answer
        assert bot.hs.bans() == {(NET2, VICTIM)}
    finally:
        await bot.runtime.db.close()


async def test_policy_lists_change_only_by_network_moderators(bot: Bot) -> None:
    for what in ("subscribe", "unsubscribe", "publish"):
        for room, who in ((EVIL, ATTACKER), (NET, ATTACKER)):
            answer = await bot.reply(room, who, f"!policy {what} {LIST}")
            assert "Only the network's moderators" in answer, (what, room, answer)
    assert bot.hs.calls == []
    assert await bot.plugin.store.lists() == [] and bot.plugin.network.own_list() == ""
    # Listing stays a room moderator's command.
    assert "ban rules in all" in await bot.reply(NET, ATTACKER, "!policy list")
    # A network moderator follows the list.
    assert "Following" in await bot.reply(MODS, NETMOD, f"!policy subscribe {LIST}")
    assert await bot.plugin.store.lists() == [LIST]
    assert "Only the network's moderators" in await bot.reply(
        NET, ATTACKER, f"!policy unsubscribe {LIST}")
    assert await bot.plugin.store.lists() == [LIST]


async def test_a_room_moderators_ban_is_not_published_to_the_networks_list(tmp_path: Path) -> None:
    bot = await start(tmp_path, moderation={"own_list": OURS})
    bot.hs.members_of[OURS] = {BOT}
    try:
        await bot.reply(NET, ATTACKER, f"!ban {VICTIM} my reasons")
        assert bot.hs.bans() == {(NET, VICTIM)}
        assert ("state", OURS, "m.policy.rule.user") not in bot.hs.calls
        bot.hs.members_of[NET2].add(MEMBER)
        await bot.reply(MODS, NETMOD, f"!ban {MEMBER} --all spam")
        assert ("state", OURS, "m.policy.rule.user") in bot.hs.calls
        # Nor does a room moderator's unban lift the network's rule.
        calls = len(bot.hs.calls)
        await bot.reply(NET, ATTACKER, f"!unban {MEMBER}")
        assert all(call[1] != OURS for call in bot.hs.calls[calls:])
        assert bot.hs.state[(OURS, "m.policy.rule.user", f"rule:{MEMBER}")]["entity"] == MEMBER
    finally:
        await bot.runtime.db.close()


async def test_modlog_shows_a_room_moderator_their_own_room_only(bot: Bot) -> None:
    store = bot.plugin.store
    await store.log(LogEntry(1.0, NET2, NETMOD, "@net2-target:x", "ban", "r", "!ban"))
    await store.log(LogEntry(2.0, EVIL, ATTACKER, "@evil-target:x", "kick", "r", "!kick"))
    await store.log(LogEntry(3.0, NET, ATTACKER, "@net-target:x", "kick", "r", "!kick"))
    own = await bot.reply(EVIL, ATTACKER, "!modlog")
    assert "@evil-target:x" in own and "@net2-target:x" not in own and "@net-target" not in own
    in_net = await bot.reply(NET, ATTACKER, "!modlog")
    assert "@net-target:x" in in_net and "@net2-target:x" not in in_net
    network = await bot.reply(MODS, NETMOD, "!modlog")
    assert all(target in network for target in ("@net2-target", "@evil-target", "@net-target"))


async def test_reports_go_to_the_configured_moderators_room_only(bot: Bot) -> None:
    await bot.say(EVIL, ATTACKER, "!modroom")  # refused
    nasty = f"$nasty{next(_ids)}"
    bot.hs.events[nasty] = Message(room_id=NET, event_id=nasty, sender=VICTIM, timestamp_ms=0,
                                   encrypted=True, body="you are all worthless")
    assert await bot.say(NET, MEMBER, "!report insulting", reply_to=nasty) == []
    assert any("worthless" in body and MEMBER in body for body in bot.hs.posted_to(MODS))
    assert not any("worthless" in body for body in bot.hs.posted_to(EVIL))
    # A room outside the network does not report to the network's moderators.
    before = len(bot.hs.posted_to(MODS))
    elsewhere = f"$else{next(_ids)}"
    bot.hs.events[elsewhere] = Message(room_id=EVIL, event_id=elsewhere, sender=VICTIM,
                                       timestamp_ms=0, encrypted=True, body="hello")
    # Nothing is said in that room either: its own moderator (its admin) gets it by DM.
    said_in_evil = len(bot.hs.posted_to(EVIL))
    assert await bot.say(EVIL, MEMBER, "!report", reply_to=elsewhere) == []
    assert len(bot.hs.posted_to(MODS)) == before
    assert len(bot.hs.posted_to(EVIL)) == said_in_evil
    assert any("hello" in body for body in bot.runtime.outbox.to(ATTACKER))  # type: ignore[attr-defined]


async def test_reactions_on_reports_need_network_authority(tmp_path: Path) -> None:
    bot = await start(tmp_path, network={"rooms": [NET, NET2], "moderators_room": MODS,
                                         "role_level": 100})
    try:
        helper = "@helper:net.org"  # a moderator of the moderators' room, below the role level
        bot.hs.members_of[MODS].add(helper)
        bot.hs.levels[(MODS, helper)] = 50
        bot.hs.levels[(MODS, NETMOD)] = 100
        nasty = f"$nasty{next(_ids)}"
        bot.hs.events[nasty] = Message(room_id=NET, event_id=nasty, sender=VICTIM,
                                       timestamp_ms=0, encrypted=True, body="abuse")
        await bot.say(NET, MEMBER, "!report", reply_to=nasty)
        [report] = [row["report_event_id"] for row in await bot.runtime.db.fetchall(
            "SELECT report_event_id FROM moderation_reports")]
        await bot.react(MODS, helper, report, "🔨")
        assert bot.hs.bans() == set()
        await bot.react(MODS, NETMOD, report, "🔨")
        assert bot.hs.bans() == {(NET, VICTIM)}
    finally:
        await bot.runtime.db.close()


async def test_an_organizer_sets_the_moderators_room_in_core(bot: Bot) -> None:
    new = "!newmods:x"
    bot.hs.members_of[new] = {BOT, ORGANIZER, "@newmod:net.org"}
    bot.hs.levels[(new, "@newmod:net.org")] = 50
    await bot.runtime.settings.set_enabled(new, ModerationPlugin, True)
    answer = await bot.reply(new, ORGANIZER, "!modroom")
    assert "Reports will arrive" in answer and "50" in answer
    assert bot.runtime.network.role_room(NetworkRole.MODERATOR) == new
    assert bot.runtime.authority.holds("@newmod:net.org", NetworkRole.MODERATOR)
    assert not bot.runtime.authority.holds(NETMOD, NetworkRole.MODERATOR)


async def test_rooms_stored_by_room_admins_before_the_fix_are_dropped(tmp_path: Path) -> None:
    bot = await start(tmp_path, before={"management_room": EVIL, "modlog_room": EVIL,
                                        "own_list": EVIL})
    try:
        network = bot.plugin.network
        assert network.management_room() == MODS
        assert network.modlog_room() == MODS and network.own_list() == ""
        # Set again by the network's people after the upgrade, they stay.
        bot.hs.levels[(OURS, BOT)] = 50
        assert "will be published" in await bot.reply(MODS, NETMOD, f"!policy publish {OURS}")
        bot.plugin.network._cache.clear()
        await network.load()
        assert network.own_list() == OURS
    finally:
        await bot.runtime.db.close()


async def test_the_moderators_room_gets_moderation_turned_on(bot: Bot) -> None:
    assert bot.runtime.settings.is_enabled(MODS, ModerationPlugin)  # from config, at start
    # Pointed elsewhere later (an organizer, through core): turned on with the first report.
    new = "!later:x"
    bot.hs.members_of[new] = {BOT, NETMOD}
    await bot.runtime.network.set_role_room(NetworkRole.MODERATOR, new)
    nasty = f"$nasty{next(_ids)}"
    bot.hs.events[nasty] = Message(room_id=NET, event_id=nasty, sender=VICTIM, timestamp_ms=0,
                                   encrypted=True, body="abuse")
    await bot.say(NET, MEMBER, "!report", reply_to=nasty)
    assert any("abuse" in body for body in bot.hs.posted_to(new))
    assert bot.runtime.settings.is_enabled(new, ModerationPlugin)


def test_network_settings_are_marked_network_only() -> None:
    from bots.moderation.settings import NETWORK_KEYS, ModerationSettings

    for key in NETWORK_KEYS:
        extra = ModerationSettings.model_fields[key].json_schema_extra
        assert isinstance(extra, dict) and extra.get("scope") == "network", key


# -- network moderators in network rooms (or_network_role) -------------------


async def test_a_network_moderator_acts_in_a_network_room_where_they_have_no_power(
        bot: Bot) -> None:
    assert bot.hs.power_level(NET, NETMOD) == 0
    assert "Removed" in await bot.reply(NET, NETMOD, f"!kick {VICTIM} spam")
    assert "Muted" in await bot.reply(NET, NETMOD, f"!mute {MEMBER} 1h")
    assert "post again" in await bot.reply(NET, NETMOD, f"!unmute {MEMBER}")
    assert "direct message" in await bot.reply(NET, NETMOD, f"!warn {MEMBER} be kind")
    assert "Banned" in await bot.reply(NET, NETMOD, f"!ban {MEMBER} raid")
    # This room only: NET2, where both are members too, is untouched without --all.
    assert [call for call in bot.hs.calls if call[1] == NET2] == []
    assert ("kick", NET, VICTIM) in bot.hs.calls and bot.hs.bans() == {(NET, MEMBER)}
    # In a network room the mod log shows that room's entries, not the network's.
    await bot.plugin.store.log(LogEntry(1.0, NET2, NETMOD, "@elsewhere:x", "ban", "r", "!ban"))
    here = await bot.reply(NET, NETMOD, "!modlog")
    assert VICTIM in here and "@elsewhere:x" not in here
    assert "@elsewhere:x" in await bot.reply(MODS, NETMOD, "!modlog")


async def test_a_network_moderator_has_no_reach_into_rooms_outside_the_network(
        bot: Bot) -> None:
    bot.hs.members_of[EVIL].add(NETMOD)
    for command in (f"!ban {VICTIM}", f"!kick {VICTIM}", f"!mute {VICTIM}", f"!unmute {VICTIM}",
                    f"!redact {VICTIM}", f"!warn {VICTIM} x", "!modlog", "!raid on",
                    f"!ban --all {VICTIM}", "!policy list"):
        answer = await bot.reply(EVIL, NETMOD, command)
        assert "network's rooms" in answer and "Nothing was done" in answer, (command, answer)
    assert bot.hs.calls == [] and bot.runtime.outbox.queued == {}  # type: ignore[attr-defined]


async def test_a_room_moderator_still_acts_in_their_room_only(bot: Bot) -> None:
    # ATTACKER moderates NET (50), holds nothing in NET2 and no network role.
    for command in (f"!kick {VICTIM}", f"!ban {VICTIM}", "!modlog", "!raid status"):
        answer = await bot.reply(NET2, ATTACKER, command)
        assert "Sorry" in answer and "moderators only" in answer, (command, answer)
    assert bot.hs.calls == []
    assert "Removed" in await bot.reply(NET, ATTACKER, f"!kick {VICTIM}")
    assert bot.hs.calls == [("kick", NET, VICTIM)]


async def test_a_configured_network_moderator_acts_from_the_moderators_room(
        tmp_path: Path) -> None:
    named = "@named:net.org"  # named in config, no power anywhere
    bot = await start(tmp_path, network={"rooms": [NET, NET2], "moderators_room": MODS,
                                         "moderators": [named]})
    try:
        bot.hs.members_of[MODS].add(named)
        answer = await bot.reply(MODS, named, f"!ban --all {VICTIM} raid")
        assert "in 2 room(s)" in answer, answer
        assert bot.hs.bans() == {(NET, VICTIM), (NET2, VICTIM)}
        assert "ban" in await bot.reply(MODS, named, "!modlog")
    finally:
        await bot.runtime.db.close()
