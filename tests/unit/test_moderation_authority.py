"""Who may act where in the moderation plugin: each test performs a takeover attempt.

The bot is the real one (core.testing.PluginHarness: database, settings, core
network and authority, dispatcher, DMs and outbox) over a homeserver in memory
that refuses what the bot lacks power for. The network is two rooms (NET,
NET2) and the network moderators' room (MODS, from config); the attacker is
the admin of their own room (EVIL), as an Element DM makes both sides admins,
and a moderator of NET. Room roles never grant network power.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bots.moderation import ModerationPlugin
from bots.moderation.messages import CATALOG
from bots.moderation.network import AUTHORITY_MARK
from bots.moderation.store import LogEntry, ModerationStore
from core.i18n import Trusted
from core.network import NetworkRole
from core.testing import MemoryHomeserver, PluginHarness, Sent

BOT = "@bot:net.org"
NET, NET2, MODS, EVIL, LIST, OURS = "!net:x", "!net2:x", "!mods:x", "!evil:x", "!list:x", "!ours:x"
ATTACKER = "@attacker:evil.org"  # admin of EVIL, moderator of NET
NETMOD = "@netmod:net.org"  # a member of MODS at the role level: a network moderator
ORGANIZER = "@organizer:net.org"
VICTIM = "@victim:net.org"
MEMBER = "@member:net.org"
NETWORK = {"rooms": [NET, NET2], "moderators_room": MODS}


def world() -> MemoryHomeserver:
    """The rooms as the first sync shows them; the bot can ban and redact (90) in each."""
    hs = MemoryHomeserver(BOT)
    hs.add_room(NET, {ATTACKER: 50, VICTIM: 0, MEMBER: 0}, bot_level=90)
    hs.add_room(NET2, [VICTIM, MEMBER], bot_level=90)
    hs.add_room(MODS, {NETMOD: 50}, bot_level=90)
    hs.add_room(EVIL, {ATTACKER: 100, VICTIM: 0, MEMBER: 0}, bot_level=90)
    # Rooms the bot is not in yet (a policy list, the network's own list): it can join them.
    for room in (LIST, OURS):
        hs.add_room(room, bot_level=100).joined.clear()
    return hs


@asynccontextmanager
async def running(path: Path, network: Mapping[str, Any] | None = None,
                  moderation: Mapping[str, Any] | None = None,
                  before: Mapping[str, str] | None = None) -> AsyncIterator[PluginHarness]:
    """The bot with moderation on in NET, NET2 and EVIL (by its own admin).

    `before`: what an older version stored in moderation's state, there when the plugin loads.
    """
    config = {"bot": {"roles": {"organizers": [ORGANIZER]},
                      "rate_limit": {"commands": 1000, "window_seconds": 1}},
              "network": dict(network if network is not None else NETWORK)}
    async with PluginHarness(ModerationPlugin, data_dir=path, config=config, bot_user_id=BOT,
                             plugins={"moderation": dict(moderation or {})},
                             homeserver=world()) as h:
        for room in (NET, NET2, EVIL):
            await h.enable(room, ModerationPlugin)
        if before:  # a database as an older version left it: the values, not the mark
            store: ModerationStore = plugin(h).store
            for key, value in before.items():
                await store.put(key, value)
            await store.put(AUTHORITY_MARK, "")
            await h.restart()
        yield h


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with running(tmp_path) as h:
        yield h


def plugin(h: PluginHarness) -> ModerationPlugin:
    return h.plugin(ModerationPlugin)


def bans(h: PluginHarness) -> set[tuple[str, str]]:
    """Every ban the bot made (lifted or not): (room, user)."""
    return {(call.room_id, call.target) for call in h.homeserver.done("ban")}


def posted_to(h: PluginHarness, room_id: str) -> list[str]:
    return h.homeserver.bodies(room_id)


def private(h: PluginHarness, user_id: str) -> list[str]:
    """What the bot told this member by DM (the outbox's deliveries), as they read it."""
    return [sent.plain for sent in h.private(user_id)]


async def answer(h: PluginHarness, room_id: str, sender: str, body: str,
                 reply_to: str | None = None) -> Sent:
    """The bot's one reply to a command (nothing else said in the room meanwhile)."""
    return await h.answer(room_id, sender, body, reply_to=reply_to)


async def reply(h: PluginHarness, room_id: str, sender: str, body: str,
                reply_to: str | None = None) -> str:
    return (await answer(h, room_id, sender, body, reply_to)).plain


async def said(h: PluginHarness, room_id: str, sender: str, body: str) -> str:
    """A member's message no one acted on; its event id (to reply to, to report)."""
    answers = await h.send(room_id, sender, body)
    assert answers.messages == [], answers.text
    return answers.event_id


async def test_a_room_admin_cannot_make_their_room_the_moderators_room(
        bot: PluginHarness) -> None:
    refused = await reply(bot, EVIL, ATTACKER, "!modroom")
    assert "organizers only" in refused
    assert bot.runtime.network.role_room(NetworkRole.MODERATOR) == MODS
    assert "organizers only" in await reply(bot, EVIL, ATTACKER, "!modroom log")
    assert plugin(bot).network.modlog_room() == MODS
    # So they gain no network power: --all from their room is refused and does nothing.
    answer = await reply(bot, EVIL, ATTACKER, f"!ban {VICTIM} --all takeover")
    assert "Only the network's moderators" in answer and "nothing was done" in answer
    assert bans(bot) == set()
    assert posted_to(bot, MODS) == []


async def test_a_room_moderator_is_refused_all_in_any_language_and_acts_in_their_room(
        bot: PluginHarness) -> None:
    for action in ("ban", "unban", "kick", "mute", "unmute", "redact"):
        refused = await answer(bot, NET, ATTACKER, f"!{action} --all {VICTIM}")
        expected = CATALOG.text("all_needs_network_moderator", "en", flag=Trusted("--all"))
        assert refused.body == expected, action
    assert bot.homeserver.calls == []
    await bot.set_language(ATTACKER, "ar")
    arabic = await reply(bot, NET, ATTACKER, f"!ban {VICTIM} --all")
    assert "لفريق الإشراف على الشبكة فقط" in arabic
    # Without --all the room's moderator acts in the room they moderate, with their own level.
    assert "1" in await reply(bot, NET, ATTACKER, f"!kick {VICTIM}")
    assert bot.homeserver.calls == [("kick", NET, VICTIM)]


async def test_a_network_moderator_acts_in_every_network_room_with_the_bots_authority(
        bot: PluginHarness) -> None:
    # NETMOD has no power in NET or NET2, only in the moderators' room: that is network authority.
    answer = await reply(bot, MODS, NETMOD, f"!ban --all {VICTIM} spam network")
    assert "in 2 room(s)" in answer, answer
    # EVIL turned moderation on but is not part of the network: never reached from here.
    assert bans(bot) == {(NET, VICTIM), (NET2, VICTIM)}


async def test_protected_rooms_setting_narrows_the_network(tmp_path: Path) -> None:
    async with running(tmp_path, moderation={"protected_rooms": [NET2, EVIL]}) as bot:
        answer = await reply(bot, MODS, NETMOD, f"!ban --all {VICTIM}")
        assert "in 1 room(s)" in answer, answer
        assert bans(bot) == {(NET2, VICTIM)}


async def test_policy_lists_change_only_by_network_moderators(bot: PluginHarness) -> None:
    for what in ("subscribe", "unsubscribe", "publish"):
        for room, who in ((EVIL, ATTACKER), (NET, ATTACKER)):
            answer = await reply(bot, room, who, f"!policy {what} {LIST}")
            assert "Only the network's moderators" in answer, (what, room, answer)
    assert bot.homeserver.calls == []
    assert await plugin(bot).store.lists() == [] and plugin(bot).network.own_list() == ""
    # Listing stays a room moderator's command.
    assert "ban rules in all" in await reply(bot, NET, ATTACKER, "!policy list")
    # A network moderator follows the list.
    assert "Following" in await reply(bot, MODS, NETMOD, f"!policy subscribe {LIST}")
    assert await plugin(bot).store.lists() == [LIST]
    assert "Only the network's moderators" in await reply(
        bot, NET, ATTACKER, f"!policy unsubscribe {LIST}")
    assert await plugin(bot).store.lists() == [LIST]


async def test_a_room_moderators_ban_is_not_published_to_the_networks_list(
        tmp_path: Path) -> None:
    async with running(tmp_path, moderation={"own_list": OURS}) as bot:
        hs = bot.homeserver
        hs.room(OURS).joined.append(BOT)
        await reply(bot, NET, ATTACKER, f"!ban {VICTIM} my reasons")
        assert bans(bot) == {(NET, VICTIM)}
        assert ("state", OURS, "m.policy.rule.user") not in hs.calls
        await bot.join(NET2, MEMBER)
        await reply(bot, MODS, NETMOD, f"!ban {MEMBER} --all spam")
        assert ("state", OURS, "m.policy.rule.user") in hs.calls
        # Nor does a room moderator's unban lift the network's rule.
        calls = len(hs.calls)
        await reply(bot, NET, ATTACKER, f"!unban {MEMBER}")
        assert ("unban", NET, MEMBER) in hs.calls[calls:]
        assert all(call.room_id != OURS for call in hs.calls[calls:])
        assert hs.room(OURS).state[("m.policy.rule.user", f"rule:{MEMBER}")]["entity"] == MEMBER


async def test_modlog_shows_a_room_moderator_their_own_room_only(bot: PluginHarness) -> None:
    store = plugin(bot).store
    await store.log(LogEntry(1.0, NET2, NETMOD, "@net2-target:x", "ban", "r", "!ban"))
    await store.log(LogEntry(2.0, EVIL, ATTACKER, "@evil-target:x", "kick", "r", "!kick"))
    await store.log(LogEntry(3.0, NET, ATTACKER, "@net-target:x", "kick", "r", "!kick"))
    own = await reply(bot, EVIL, ATTACKER, "!modlog")
    assert "@evil-target:x" in own and "@net2-target:x" not in own and "@net-target" not in own
    in_net = await reply(bot, NET, ATTACKER, "!modlog")
    assert "@net-target:x" in in_net and "@net2-target:x" not in in_net
    network = await reply(bot, MODS, NETMOD, "!modlog")
    assert all(target in network for target in ("@net2-target", "@evil-target", "@net-target"))


async def test_reports_go_to_the_configured_moderators_room_only(bot: PluginHarness) -> None:
    await bot.send(EVIL, ATTACKER, "!modroom")  # refused
    nasty = await said(bot, NET, VICTIM, "you are all worthless")
    assert (await bot.send(NET, MEMBER, "!report insulting", reply_to=nasty)).replies == []
    assert any("worthless" in body and MEMBER in body for body in posted_to(bot, MODS))
    assert not any("worthless" in body for body in posted_to(bot, EVIL))
    # A room outside the network does not report to the network's moderators.
    before = len(posted_to(bot, MODS))
    elsewhere = await said(bot, EVIL, VICTIM, "hello")
    # Nothing is said in that room either: its own moderator (its admin) gets it by DM.
    said_in_evil = len(posted_to(bot, EVIL))
    assert (await bot.send(EVIL, MEMBER, "!report", reply_to=elsewhere)).replies == []
    assert len(posted_to(bot, MODS)) == before
    assert len(posted_to(bot, EVIL)) == said_in_evil
    assert any("hello" in body for body in private(bot, ATTACKER))


async def report_id(h: PluginHarness) -> str:
    [found] = [str(row["report_event_id"]) for row in await h.db.fetchall(
        "SELECT report_event_id FROM moderation_reports")]
    return found


async def test_reactions_on_reports_need_network_authority(tmp_path: Path) -> None:
    async with running(tmp_path, network={**NETWORK, "role_level": 100}) as bot:
        helper = "@helper:net.org"  # a moderator of the moderators' room, below the role level
        await bot.join(MODS, helper)
        bot.set_level(MODS, helper, 50)
        bot.set_level(MODS, NETMOD, 100)
        nasty = await said(bot, NET, VICTIM, "abuse")
        await bot.send(NET, MEMBER, "!report", reply_to=nasty)
        report = await report_id(bot)
        await bot.react(MODS, helper, report, "🔨")
        assert bans(bot) == set()
        await bot.react(MODS, NETMOD, report, "🔨")
        assert bans(bot) == {(NET, VICTIM)}


async def test_an_organizer_sets_the_moderators_room_in_core(bot: PluginHarness) -> None:
    new = "!newmods:x"
    bot.room(new, {ORGANIZER: 0, "@newmod:net.org": 50})
    await bot.enable(new, ModerationPlugin)
    answer = await reply(bot, new, ORGANIZER, "!modroom")
    assert "Reports will arrive" in answer and "50" in answer
    assert bot.runtime.network.role_room(NetworkRole.MODERATOR) == new
    assert bot.runtime.authority.holds("@newmod:net.org", NetworkRole.MODERATOR)
    assert not bot.runtime.authority.holds(NETMOD, NetworkRole.MODERATOR)


async def test_rooms_stored_by_room_admins_before_the_fix_are_dropped(tmp_path: Path) -> None:
    async with running(tmp_path, before={"management_room": EVIL, "modlog_room": EVIL,
                                         "own_list": EVIL}) as bot:
        network = plugin(bot).network
        assert network.management_room() == MODS
        assert network.modlog_room() == MODS and network.own_list() == ""
        # Set again by the network's people after the upgrade, they stay.
        bot.homeserver.room(OURS).joined.append(BOT)
        bot.set_level(OURS, BOT, 50)
        assert "will be published" in await reply(bot, MODS, NETMOD, f"!policy publish {OURS}")
        await bot.restart()
        assert plugin(bot).network.own_list() == OURS


async def test_the_moderators_room_gets_moderation_turned_on(bot: PluginHarness) -> None:
    assert bot.runtime.settings.is_enabled(MODS, ModerationPlugin)  # from config, at start
    # Pointed elsewhere later (an organizer, through core): turned on with the first report.
    new = "!later:x"
    bot.room(new, [NETMOD], name="Moderators")
    await bot.runtime.network.set_role_room(NetworkRole.MODERATOR, new)
    assert not bot.runtime.settings.is_enabled(new, ModerationPlugin)
    nasty = await said(bot, NET, VICTIM, "abuse")
    await bot.send(NET, MEMBER, "!report", reply_to=nasty)
    assert any("abuse" in body for body in posted_to(bot, new))
    assert bot.runtime.settings.is_enabled(new, ModerationPlugin)


def test_network_settings_are_marked_network_only() -> None:
    from bots.moderation.settings import NETWORK_KEYS, ModerationSettings

    for key in NETWORK_KEYS:
        extra = ModerationSettings.model_fields[key].json_schema_extra
        assert isinstance(extra, dict) and extra.get("scope") == "network", key


# -- network moderators in network rooms (or_network_role) -------------------


async def test_a_network_moderator_acts_in_a_network_room_where_they_have_no_power(
        bot: PluginHarness) -> None:
    for room in (NET, NET2):
        await bot.join(room, NETMOD)
    assert bot.homeserver.power_level(NET, NETMOD) == 0
    assert "Removed" in await reply(bot, NET, NETMOD, f"!kick {VICTIM} spam")
    assert "Muted" in await reply(bot, NET, NETMOD, f"!mute {MEMBER} 1h")
    assert "post again" in await reply(bot, NET, NETMOD, f"!unmute {MEMBER}")
    assert "direct message" in await reply(bot, NET, NETMOD, f"!warn {MEMBER} be kind")
    assert "Banned" in await reply(bot, NET, NETMOD, f"!ban {MEMBER} raid")
    # This room only: NET2, where both are members too, is untouched without --all.
    assert [call for call in bot.homeserver.calls if call.room_id == NET2] == []
    assert ("kick", NET, VICTIM) in bot.homeserver.calls and bans(bot) == {(NET, MEMBER)}
    # In a network room the mod log shows that room's entries, not the network's.
    await plugin(bot).store.log(LogEntry(1.0, NET2, NETMOD, "@elsewhere:x", "ban", "r", "!ban"))
    here = await reply(bot, NET, NETMOD, "!modlog")
    assert VICTIM in here and "@elsewhere:x" not in here
    assert "@elsewhere:x" in await reply(bot, MODS, NETMOD, "!modlog")


async def test_a_network_moderator_has_no_reach_into_rooms_outside_the_network(
        bot: PluginHarness) -> None:
    await bot.join(EVIL, NETMOD)
    for command in (f"!ban {VICTIM}", f"!kick {VICTIM}", f"!mute {VICTIM}", f"!unmute {VICTIM}",
                    f"!redact {VICTIM}", f"!warn {VICTIM} x", "!modlog", "!raid on",
                    f"!ban --all {VICTIM}", "!policy list"):
        answer = await reply(bot, EVIL, NETMOD, command)
        assert "network's rooms" in answer and "Nothing was done" in answer, (command, answer)
    # No action, and nothing sent anywhere but the refusals in EVIL (no DM, no warning).
    assert bot.homeserver.calls == [] and bot.homeserver.created == []
    assert {sent.room_id for sent in bot.homeserver.sent} == {EVIL}


async def test_a_room_moderator_still_acts_in_their_room_only(bot: PluginHarness) -> None:
    # ATTACKER moderates NET (50), holds nothing in NET2 and no network role.
    await bot.join(NET2, ATTACKER)
    for command in (f"!kick {VICTIM}", f"!ban {VICTIM}", "!modlog", "!raid status"):
        answer = await reply(bot, NET2, ATTACKER, command)
        assert "Sorry" in answer and "moderators only" in answer, (command, answer)
    assert bot.homeserver.calls == []
    assert "Removed" in await reply(bot, NET, ATTACKER, f"!kick {VICTIM}")
    assert bot.homeserver.calls == [("kick", NET, VICTIM)]


async def test_a_configured_network_moderator_acts_from_the_moderators_room(
        tmp_path: Path) -> None:
    named = "@named:net.org"  # named in config, no power anywhere
    async with running(tmp_path, network={**NETWORK, "moderators": [named]}) as bot:
        await bot.join(MODS, named)
        answer = await reply(bot, MODS, named, f"!ban --all {VICTIM} raid")
        assert "in 2 room(s)" in answer, answer
        assert bans(bot) == {(NET, VICTIM), (NET2, VICTIM)}
        assert "ban" in await reply(bot, MODS, named, "!modlog")
