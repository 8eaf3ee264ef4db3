"""The moderation plugin against a real Synapse with real E2EE members."""

from __future__ import annotations

import pytest

from bots.admin import AdminPlugin
from bots.moderation import ModerationPlugin
from core.network import NetworkRole
from tests.integration.moderation_helpers import (
    add_member,
    config,
    from_bot,
    join_network,
    management_room,
    membership,
    protected_room,
    readable_at_rest,
    set_levels,
    state,
    until,
)

pytestmark = pytest.mark.integration
PLUGINS = [AdminPlugin, ModerationPlugin]
# Moderators here send commands faster than a member may (rate limits have their own tests).
NO_LIMIT = {"commands": 1000, "window_seconds": 1}


async def test_commands_check_power_and_act(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, moderator, target, other = [await make_member() for _ in range(4)]
    room = await protected_room(owner, bot, moderator, target, other)
    await set_levels(owner, room, {moderator.user_id: 50})

    # A moderator cannot act on an admin, on themselves or on the bot.
    refused = await moderator.ask(room, f"!ban {owner.user_id} power grab")
    assert "equal to or above yours" in refused.body
    assert await membership(owner, room, owner.user_id) == "join"
    assert "yourself" in (await moderator.ask(room, f"!kick {moderator.user_id}")).body
    assert "myself" in (await moderator.ask(room, f"!ban {bot.user_id}")).body
    assert "Matrix user id written in full" in (await moderator.ask(room, "!ban alice")).body
    # A member cannot use moderators' commands at all.
    assert "Sorry" in (await target.ask(room, f"!kick {other.user_id}")).body

    muted = await moderator.ask(room, f"!mute {target.user_id}")
    assert "Muted" in muted.body
    assert (await state(owner, room, "m.room.power_levels"))["users"][target.user_id] == -1
    assert "post again" in (await moderator.ask(room, f"!unmute {target.user_id}")).body
    assert target.user_id not in (await state(owner, room, "m.room.power_levels"))["users"]
    # A timed mute ends by itself.
    timed = await moderator.ask(room, f"!mute {target.user_id} 3s cooling off")
    assert "Muted" in timed.body and "ends by itself" in timed.body
    assert (await state(owner, room, "m.room.power_levels"))["users"][target.user_id] == -1

    async def unmuted() -> bool:
        levels = await state(owner, room, "m.room.power_levels")
        return target.user_id not in levels["users"]

    await until(unmuted)

    spam = [await target.send(room, f"spam {n}") for n in range(3)]
    redacted = await moderator.ask(room, f"!redact {target.user_id} 2")
    assert "Removed 2 message(s)" in redacted.body

    async def last_two_redacted() -> bool:
        contents = [await owner.client.room_get_event(room, event_id) for event_id in spam]
        return [bool(c.event.source.get("content")) for c in contents] == [True, False, False]

    await until(last_two_redacted)

    assert "by direct message" in (await moderator.ask(room, f"!warn {other.user_id} be kind")).body
    dm = await other.wait_for(lambda m: m.sender == bot.user_id and "be kind" in m.body)
    assert dm.encrypted and dm.room_id != room and "warning" in dm.body
    assert "Removed" in (await moderator.ask(room, f"!kick {other.user_id} cool off")).body
    assert await membership(owner, room, other.user_id) == "leave"
    assert "Banned" in (await moderator.ask(room, f"!ban {target.user_id} spamming")).body
    assert await membership(owner, room, target.user_id) == "ban"
    log = await moderator.ask(room, f"!modlog {target.user_id}")
    for action in ("ban", "redact", "unmute", "mute"):
        assert action in log.body
    assert "spamming" in log.body
    # Reasons are sealed at rest; the moderator above read them in clear.
    assert readable_at_rest(bot, "spamming", "be kind", "cooling off") == []


async def test_bot_without_power_says_so(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target = await make_member(), await make_member()
    room = await protected_room(owner, bot, target, bot_level=0)
    reply = await owner.ask(room, f"!kick {target.user_id}")
    assert "I need power level 50 and have 0" in reply.body
    assert await membership(owner, room, target.user_id) == "join"


async def test_ban_all_applies_to_every_protected_room(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target, bystander = [await make_member() for _ in range(3)]
    rooms = [await protected_room(owner, bot, target, bystander) for _ in range(2)]
    join_network(bot, moderators=(owner.user_id,))  # --all takes network authority
    reply = await owner.ask(rooms[0], f"!ban --all {target.user_id} raid account")
    assert "in 2 room(s)" in reply.body
    for room in rooms:
        assert await membership(owner, room, target.user_id) == "ban"


async def test_flood_mutes_within_seconds(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target = await make_member(), await make_member()
    room = await protected_room(owner, bot, target)
    await config(owner, room, "flood_messages", "3")
    await config(owner, room, "escalation", "[mute]")
    for n in range(6):
        await target.send(room, f"message number {n}")

    async def muted() -> bool:
        levels = await state(owner, room, "m.room.power_levels")
        return levels.get("users", {}).get(target.user_id) == -1

    await until(muted)


async def test_word_list_redacts_encrypted_message_and_warns_by_dm(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target = await make_member(), await make_member()
    room = await protected_room(owner, bot, target)
    await config(owner, room, "words", "[مدرسة, scam]")
    fine = await target.send(room, "a normal message")
    bad = await target.send(room, "اذهب إلى المدرسه")  # any spelling of a listed word

    async def redacted() -> bool:
        event = await owner.client.room_get_event(room, bad)
        return not event.event.source.get("content")

    await until(redacted)
    kept = await owner.client.room_get_event(room, fine)
    assert kept.event.source.get("content")
    warning = await target.wait_for(lambda m: m.sender == bot.user_id and "warning" in m.body)
    assert warning.encrypted and warning.room_id != room
    # The target joined minutes ago: a newcomer's link is removed too.
    link = await target.send(room, "cheap pills at https://spam.example/buy")

    async def link_redacted() -> bool:
        event = await owner.client.room_get_event(room, link)
        return not event.event.source.get("content")

    await until(link_redacted)
    # And so is a newcomer's image (media reach the protections too).
    newcomer = await make_member()
    await add_member(owner, room, newcomer, bot)
    image = await newcomer.client.room_send(room, "m.room.message", {
        "msgtype": "m.image", "body": "offer.png", "url": "mxc://localhost/abc",
    }, ignore_unverified_devices=True)

    async def image_redacted() -> bool:
        event = await owner.client.room_get_event(room, image.event_id)
        return not event.event.source.get("content")

    await until(image_redacted)


async def test_join_wave_closes_the_room_and_raid_off_reopens(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, regular = await make_member(), await make_member()
    room = await protected_room(owner, bot, regular)
    management = await management_room(owner, bot)
    await owner.client.room_put_state(room, "m.room.join_rules", {"join_rule": "public"})
    await config(owner, room, "joinwave_joins", "3")
    raiders = [await make_member() for _ in range(3)]
    for raider in raiders:
        await raider.client.join(room)

    async def closed() -> bool:
        return (await state(owner, room, "m.room.join_rules")).get("join_rule") == "invite"

    await until(closed)
    alert = await owner.wait_for(lambda m: m.room_id == management and "Raid in" in m.body)
    assert "3 joins" in alert.body
    assert "back to what it was" in (await owner.ask(room, "!raid off")).body
    assert (await state(owner, room, "m.room.join_rules"))["join_rule"] == "public"


async def test_policy_list_bans_and_unbans_across_rooms(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target, bystander, list_owner = [await make_member() for _ in range(4)]
    rooms = [await protected_room(owner, bot, target, bystander) for _ in range(2)]
    join_network(bot, moderators=(owner.user_id,))  # following a list is the network's choice
    # A list room as Draupnir or Mjolnir would publish it: unencrypted, written by someone else.
    list_room = await list_owner.create_room(invite=[bot.user_id], encrypted=False, name="bans")
    reply = await owner.ask(rooms[0], f"!policy subscribe {list_room}")
    assert "Following" in reply.body
    localpart = target.user_id.split(":")[0]
    await list_owner.client.room_put_state(
        list_room, "m.policy.rule.user",
        {"entity": f"{localpart}*:localhost", "recommendation": "m.ban", "reason": "spam network"},
        state_key="rule:target")
    # A malformed rule and an unknown recommendation change nothing.
    await list_owner.client.room_put_state(
        list_room, "m.policy.rule.user", {"entity": "*", "recommendation": "m.ban"}, state_key="bad")
    await list_owner.client.room_put_state(
        list_room, "m.policy.rule.user",
        {"entity": bystander.user_id, "recommendation": "org.example.hug"}, state_key="odd")

    async def banned_everywhere() -> bool:
        return all([await membership(owner, r, target.user_id) == "ban" for r in rooms])

    await until(banned_everywhere)
    for room in rooms:
        assert await membership(owner, room, bystander.user_id) == "join"
    await list_owner.client.room_put_state(list_room, "m.policy.rule.user", {},
                                           state_key="rule:target")

    async def unbanned_everywhere() -> bool:
        return all([await membership(owner, r, target.user_id) == "leave" for r in rooms])

    await until(unbanned_everywhere)
    # Server rules become server ACLs in every protected room.
    await list_owner.client.room_put_state(
        list_room, "m.policy.rule.server", {"entity": "evil.example", "recommendation": "m.ban"},
        state_key="rule:evil")

    async def denied_everywhere() -> bool:
        acls = [await state(owner, r, "m.room.server_acl") for r in rooms]
        return all(acl.get("deny") == ["evil.example"] for acl in acls)

    await until(denied_everywhere)


async def test_followed_list_survives_a_restart(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target, bystander, list_owner = [await make_member() for _ in range(4)]
    room = await protected_room(owner, bot, target, bystander)
    join_network(bot, moderators=(owner.user_id,))
    list_room = await list_owner.create_room(invite=[bot.user_id], encrypted=False, name="bans")
    assert "Following" in (await owner.ask(room, f"!policy subscribe {list_room}")).body
    await bot.restart()
    await list_owner.client.room_put_state(
        list_room, "m.policy.rule.user",
        {"entity": target.user_id, "recommendation": "m.ban", "reason": "after restart"},
        state_key="rule:x")

    async def banned() -> bool:
        return await membership(owner, room, target.user_id) == "ban"

    await until(banned)
    listing = await owner.ask(room, "!policy list")
    assert "1 ban rules in all" in listing.body

    # Banned rooms and banned inviters do not get the bot; other invites still do.
    banned_room = await bystander.create_room(invite=[], name="banned")
    await list_owner.client.room_put_state(
        list_room, "m.policy.rule.room", {"entity": banned_room, "recommendation": "m.ban"},
        state_key="rule:room")
    await until(lambda: _rules_listed(owner, room, 2))
    targets_room = await target.create_room(invite=[], name="lure")
    fine_room = await bystander.create_room(invite=[], name="fine")
    for inviter, invited_to in ((bystander, banned_room), (target, targets_room),
                                (bystander, fine_room)):
        await inviter.client.room_invite(invited_to, bot.user_id)

    async def bot_in(owner_of, room_id: str, expected: str) -> bool:
        return await membership(owner_of, room_id, bot.user_id) == expected

    await until(lambda: bot_in(bystander, fine_room, "join"))
    await until(lambda: bot_in(bystander, banned_room, "leave"))
    await until(lambda: bot_in(target, targets_room, "leave"))


async def _rules_listed(owner, room: str, count: int) -> bool:
    return f"{count} ban rules in all" in (await owner.ask(room, "!policy list")).body


async def test_unreadable_list_room_is_refused_and_nothing_stored(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target, stranger = [await make_member() for _ in range(3)]
    room = await protected_room(owner, bot, target)
    join_network(bot, moderators=(owner.user_id,))
    private = await stranger.create_room(invite=[], encrypted=False, name="private list")
    reply = await owner.ask(room, f"!policy subscribe {private}")
    assert "can't read the list room" in reply.body and "Nothing was changed" in reply.body
    assert "not a room id" in (await owner.ask(room, "!policy subscribe nonsense")).body
    assert bot.bot is not None
    assert await bot.bot.db.fetchall("SELECT * FROM moderation_lists") == []


async def test_own_ban_is_published_as_policy_rule(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target = await make_member(), await make_member()
    room = await protected_room(owner, bot, target)
    join_network(bot, moderators=(owner.user_id,))  # publishing speaks for the network
    our_list = await owner.create_room(invite=[bot.user_id], encrypted=False, name="our bans")
    await owner.wait_member(our_list, bot.user_id)
    await set_levels(owner, our_list, {bot.user_id: 50}, bot)
    assert "will be published" in (await owner.ask(room, f"!policy publish {our_list}")).body
    banned = await owner.ask(room, f"!ban {target.user_id} harassment")
    assert "Banned" in banned.body, banned.body
    rule = await state(owner, our_list, "m.policy.rule.user", f"rule:{target.user_id}")
    assert rule == {"entity": target.user_id, "recommendation": "m.ban", "reason": "harassment"}
    await owner.ask(room, f"!unban {target.user_id}")
    assert await state(owner, our_list, "m.policy.rule.user", f"rule:{target.user_id}") == {}


async def test_report_reaches_moderators_with_excerpt(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target, reporter = [await make_member() for _ in range(3)]
    room = await protected_room(owner, bot, target, reporter)
    management = await management_room(owner, bot)
    nasty = await target.send(room, "you are all worthless")
    command = await reporter.send(room, "!report insulting people",
                                  **{"m.relates_to": {"m.in_reply_to": {"event_id": nasty}}})
    report = await owner.wait_for(lambda m: m.room_id == management and "Report from" in m.body)
    assert report.encrypted
    assert "you are all worthless" in report.body and reporter.user_id in report.body
    assert target.user_id in report.body and "insulting people" in report.body
    assert nasty in report.body  # the link to the message
    thanks = await reporter.wait_for(lambda m: m.sender == bot.user_id and "report reached" in m.body)
    assert thanks.room_id != room

    async def command_removed() -> bool:
        event = await owner.client.room_get_event(room, command)
        return not event.event.source.get("content")

    await until(command_removed)
    # A moderator acts from the report with a reaction.
    await owner.client.room_send(management, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": report.event_id, "key": "🔨"}},
        ignore_unverified_devices=True)

    async def banned() -> bool:
        return await membership(owner, room, target.user_id) == "ban"

    await until(banned)
    done = await owner.wait_for(lambda m: m.room_id == management and "ban on" in m.body)
    assert owner.user_id in done.body and target.user_id in done.body


async def test_slow_or_invalid_pattern_is_refused_in_both_languages(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target = await make_member(), await make_member()
    room = await protected_room(owner, bot, target)
    refused = await owner.ask(room, "!filters add pattern (a+)+$")
    assert "nested repetition" in refused.body and "Nothing was changed" in refused.body
    backref = await owner.ask(room, "!filters add pattern (b+)\\1*c")
    assert "refers back to a group of any length" in backref.body
    invalid = await owner.ask(room, "!filters add pattern (unclosed")
    assert "not a valid regular expression" in invalid.body
    await owner.ask(room, "!language ar")
    arabic = await owner.ask(room, "!filters add pattern (\\w+\\s?)*$")
    assert "تكرار متداخل" in arabic.body and "لم يتغيّر شيء" in arabic.body
    await owner.ask(room, "!language en")
    assert bot.bot is not None
    assert await bot.bot.db.fetchall(
        "SELECT * FROM core_room_settings WHERE room_id = ? AND key = 'patterns'", (room,)) == []
    added = await owner.ask(room, "!filters add pattern fr[e3]{2}\\s*crypto")
    assert "now has 1 pattern rule(s)" in added.body
    assert "fr[e3]{2}" in (await owner.ask(room, "!filters")).body
    spam = await target.send(room, "FREE   crypto for all")

    async def redacted() -> bool:
        event = await owner.client.room_get_event(room, spam)
        return not event.event.source.get("content")

    await until(redacted)


async def test_report_without_moderators_room_reaches_room_moderators_by_dm_only(
        make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target, reporter, moderator = [await make_member() for _ in range(4)]
    room = await protected_room(owner, bot, target, reporter, moderator)
    await set_levels(owner, room, {moderator.user_id: 50})
    assert bot.bot is not None and bot.bot.runtime.network.role_room(NetworkRole.MODERATOR) is None
    nasty = await target.send(room, "you are all worthless")
    command = await reporter.send(room, "!report insulting people",
                                  **{"m.relates_to": {"m.in_reply_to": {"event_id": nasty}}})
    # The room's moderators (the admin too) get it by DM; the reporter is answered by DM.
    for each in (moderator, owner):
        report = await each.wait_for(lambda m: m.sender == bot.user_id and "Report from" in m.body)
        assert report.room_id != room and report.encrypted
        assert "you are all worthless" in report.body and "insulting people" in report.body
        assert reporter.user_id in report.body and target.user_id in report.body
    answer = await reporter.wait_for(lambda m: m.sender == bot.user_id
                                     and "moderator(s) of that room" in m.body)
    assert answer.room_id != room and "2 moderator(s)" in answer.body

    async def command_removed() -> bool:
        event = await owner.client.room_get_event(room, command)
        return not event.event.source.get("content")

    await until(command_removed)
    # The reported member saw nothing from the bot: not in the room, not by DM.
    assert from_bot(bot, target) == []
    assert [m for m in reporter.received if m.sender == bot.user_id and m.room_id == room] == []
    # The DMs went through the durable outbox: nothing of the report readable on disk.
    assert readable_at_rest(bot, "you are all worthless", "insulting people") == []


async def test_anonymous_report_by_reaction_hides_the_reporter(make_bot, make_member) -> None:
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, target, reporter = [await make_member() for _ in range(3)]
    room = await protected_room(owner, bot, target, reporter)
    await config(owner, room, "anonymous_reports", "true")
    management = await management_room(owner, bot)
    nasty = await target.send(room, "some abuse")
    await reporter.client.room_send(room, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": nasty, "key": "🚩"}}, ignore_unverified_devices=True)
    report = await owner.wait_for(lambda m: m.room_id == management and "Report from" in m.body)
    assert reporter.user_id not in report.body and "anonymous" in report.body
    assert "some abuse" in report.body


async def test_a_room_admin_gains_no_network_power(make_bot, make_member) -> None:
    """The takeover: a room admin (not a network moderator) in their own room."""
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, attacker, victim, list_owner = [await make_member() for _ in range(4)]
    network_room = await protected_room(owner, bot, victim, attacker)
    management = await management_room(owner, bot)
    # The attacker's own room (an Element DM makes both sides admins): moderation on there.
    own = await protected_room(attacker, bot, victim, network=False)
    assert "organizers only" in (await attacker.ask(own, "!modroom")).body
    refused = await attacker.ask(own, f"!ban {victim.user_id} --all takeover")
    assert "Only the network's moderators" in refused.body
    assert "nothing was done" in refused.body
    list_room = await list_owner.create_room(invite=[bot.user_id], encrypted=False, name="evil")
    await list_owner.wait_member(list_room, bot.user_id)
    policy = await attacker.ask(own, f"!policy subscribe {list_room}")
    assert "Only the network's moderators" in policy.body
    assert "Only the network's moderators" in (
        await attacker.ask(own, f"!policy publish {list_room}")).body
    # Nothing changed: the victim is still in the network room, the moderators' room is the same.
    assert await membership(owner, network_room, victim.user_id) == "join"
    assert await membership(attacker, own, victim.user_id) == "join"
    assert bot.bot is not None
    assert bot.bot.runtime.network.role_room(NetworkRole.MODERATOR) == management
    assert await bot.bot.db.fetchall("SELECT * FROM moderation_lists") == []
    assert bot.bot.runtime.plugins["moderation"].network.own_list() == ""  # type: ignore[attr-defined]
    # In their own room they still act, on that room only.
    assert "Banned" in (await attacker.ask(own, f"!ban {victim.user_id} my room")).body
    assert await membership(attacker, own, victim.user_id) == "ban"
    assert await membership(owner, network_room, victim.user_id) == "join"
    # And the network's moderators (the moderators' room) still act everywhere in the network.
    done = await owner.ask(management, f"!ban --all {victim.user_id} raid")
    assert "in 1 room(s)" in done.body, done.body
    assert await membership(owner, network_room, victim.user_id) == "ban"


async def test_a_network_moderator_acts_in_network_rooms_only(make_bot, make_member) -> None:
    """Named in config, no power in the room: acts there with the bot's authority."""
    bot = await make_bot(plugins=PLUGINS, rate_limit=NO_LIMIT)
    owner, netmod, target, outsider_owner = [await make_member() for _ in range(4)]
    room = await protected_room(owner, bot, netmod, target)
    other = await protected_room(owner, bot, target)
    outside = await protected_room(outsider_owner, bot, netmod, target, network=False)
    join_network(bot, moderators=(netmod.user_id,))
    assert "Removed" in (await netmod.ask(room, f"!kick {target.user_id} spam")).body
    assert await membership(owner, room, target.user_id) == "leave"
    assert await membership(owner, other, target.user_id) == "join"  # this room only
    # In a room outside the network, network authority reaches nothing.
    refused = await netmod.ask(outside, f"!ban {target.user_id}")
    assert "network's rooms" in refused.body
    assert await membership(outsider_owner, outside, target.user_id) == "join"
