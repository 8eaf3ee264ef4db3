"""Organizer alerts against a real Synapse, with real E2EE members decrypting what they get."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from nio import RoomGetEventResponse

from bots.admin import AdminPlugin
from bots.alerts import AlertsPlugin
from core.matrix.member import Member
from core.network import NetworkRole
from tests.integration.conftest import RunningBot, room_with_bot

pytestmark = pytest.mark.integration

MakeBot = Callable[..., Awaitable[RunningBot]]
MakeMember = Callable[..., Awaitable[Member]]


def configure(bot: RunningBot, **settings: Any) -> None:
    """Set the alerts block of the running bot's config.

    The plugin reads its network-wide settings from the config on each use,
    and a restart keeps the same Config object.
    """
    bot.config.plugins.setdefault("alerts", {}).update(settings)


async def network_room(owner: Member, bot: RunningBot) -> str:
    """A room with the bot that is one of the network's (network.rooms; the rooms exist
    only now, and a restart keeps the same Config object, so the list is extended)."""
    room = await room_with_bot(owner, bot)
    bot.config.network.rooms.append(room)
    return room


def plain(text: str) -> str:
    return text.replace("\u2068", "").replace("\u2069", "")


async def invite(owner: Member, room: str, guest: Member) -> None:
    await owner.client.room_invite(room, guest.user_id)
    await guest.wait_member(room, guest.user_id)
    await owner.wait_member(room, guest.user_id)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:  # noqa: ASYNC109
    async def poll() -> None:
        while not await check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


@dataclass
class Network:
    bot: RunningBot
    organizer: Member
    organizers_room: str

    async def ask(self, body: str) -> str:
        return plain((await self.organizer.ask(self.organizers_room, body)).body)

    async def alert_id(self) -> str:
        assert self.bot.bot is not None
        row = await self.bot.bot.db.fetchone(
            "SELECT id FROM alerts_alerts ORDER BY created_at DESC LIMIT 1")
        assert row is not None
        return str(row["id"])


async def start_network(make_bot: MakeBot, make_member: MakeMember, **bot_options: Any) -> Network:
    organizer = await make_member()
    bot = await make_bot(plugins=[AdminPlugin, AlertsPlugin],
                         roles={"organizers": [organizer.user_id]}, **bot_options)
    room = await room_with_bot(organizer, bot)
    assert bot.bot is not None
    # The network's organizers room (as organizers set it; stored, so kept over restarts).
    await bot.bot.runtime.network.set_role_room(NetworkRole.ORGANIZER, room)
    configure(bot, status_edit_seconds=0.2)
    return Network(bot, organizer, room)


async def test_alert_reaches_tagged_rooms_and_subscribers_decrypted_in_their_language(
    make_bot: MakeBot, make_member: MakeMember,
) -> None:
    net = await start_network(make_bot, make_member)
    bot = net.bot
    alice, bashir, sami = await make_member(), await make_member(), await make_member()
    room_a = await network_room(alice, bot)
    room_b = await network_room(bashir, bot)
    untagged = await network_room(alice, bot)
    await invite(alice, room_a, sami)
    # Tags decide where alerts go: a room's admin cannot add one, organizers do.
    assert "only the network's organizers" in (await alice.ask(room_a, "!network tag Syria")).body
    assert "tagged" in await net.ask(f"!network tag Syria {room_a}")
    assert "tagged" in await net.ask(f"!network tag syria {room_b}")
    await bashir.ask(room_b, "!language room ar")
    await sami.ask(room_a, "!language ar")
    await sami.ask(room_a, "!subscribe alerts syria")

    # A member who is not an organizer is refused, and not told where organizers meet.
    refusal = await alice.ask(room_a, "!alert --rooms syria Fake alert")
    assert "only the network's organizers" in refusal.body
    assert net.organizers_room not in refusal.body

    preview = await net.ask("!alert --rooms syria --dm [en] Border crossing closed\n"
                            "[ar] المعبر مغلق")
    assert "Preview" in preview and "2 rooms and 1 members" in preview
    sent = await net.ask("!alert send")
    assert "on its way to 2 rooms and 1 members" in sent
    alert_id = await net.alert_id()

    in_a = await alice.wait_for(lambda m: m.room_id == room_a and "Border crossing closed" in m.body)
    assert in_a.encrypted and in_a.sender == bot.user_id
    assert in_a.content["msgtype"] == "m.notice" and alert_id in in_a.body
    in_b = await bashir.wait_for(lambda m: m.room_id == room_b and "المعبر مغلق" in m.body)
    # A room holds every version, its own language's first.
    assert in_b.encrypted and in_b.body.index("المعبر مغلق") < in_b.body.index("Border crossing")
    in_dm = await sami.wait_for(
        lambda m: m.room_id not in (room_a, room_b) and "المعبر مغلق" in m.body)
    assert in_dm.encrypted and in_dm.sender == bot.user_id
    assert "Border crossing" not in in_dm.body  # a direct message: its reader's version only
    assert bot.bot is not None and bot.bot.dms.user_of(in_dm.room_id) == sami.user_id

    # Acknowledgements: a ✅ reaction in one room, `!ack` in the other, `!ack` in the DM.
    await alice.client.room_send(room_a, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": in_a.event_id, "key": "✅"}},
        ignore_unverified_devices=True)
    assert alert_id in (await bashir.ask(room_b, "!ack")).body  # answered in the room's Arabic
    assert "شكراً" in (await sami.ask(in_dm.room_id, "!ack")).body

    async def three_acks() -> bool:
        assert bot.bot is not None
        row = await bot.bot.db.fetchone("SELECT COUNT(*) AS n FROM alerts_acks WHERE alert_id = ?",
                                        (alert_id,))
        return row is not None and row["n"] == 3

    await wait_until(three_acks)
    report = await net.ask(f"!alert status {alert_id}")
    assert "Acknowledged by 2 members, in 2 of 2 rooms" in report
    assert "Direct messages: 1 of 1 delivered, 0 failed, 1 acknowledged" in report

    # The status message in the organizers room was edited to the final count.
    await net.organizer.wait_for(lambda m: m.room_id == net.organizers_room
                                 and "3 of 3 delivered" in plain(m.body)
                                 and "m.new_content" in m.content)
    # Nothing went to the untagged room.
    assert not [m for m in alice.received if m.room_id == untagged and alert_id in m.body]


async def test_edit_and_retract_apply_everywhere(make_bot: MakeBot, make_member: MakeMember) -> None:
    net = await start_network(make_bot, make_member)
    alice, bashir = await make_member(), await make_member()
    rooms = [await network_room(alice, net.bot), await network_room(bashir, net.bot)]
    outsider = await room_with_bot(alice, net.bot)  # the bot is there; not the network's
    await invite(alice, rooms[0], bashir)  # rooms with two people are not taken for DMs
    await invite(bashir, rooms[1], alice)
    await bashir.ask(rooms[1], "!language room ar")
    await net.ask("!alert [en] Meet at six\n[ar] اللقاء في السادسة")
    await net.ask("!alert send")
    alert_id = await net.alert_id()
    originals = [
        await alice.wait_for(lambda m: m.room_id == rooms[0] and "Meet at six" in m.body),
        await bashir.wait_for(lambda m: m.room_id == rooms[1] and "اللقاء في السادسة" in m.body),
    ]
    edited = await net.ask(f"!alert edit {alert_id} [en] Meet at seven\n[ar] اللقاء في السابعة")
    assert "edited in 2 places" in edited
    for member, room, original, text in ((alice, rooms[0], originals[0], "Meet at seven"),
                                         (bashir, rooms[1], originals[1], "اللقاء في السابعة")):
        edit = await member.wait_for(lambda m, r=room, t=text: m.room_id == r  # type: ignore[misc]
                                     and "m.new_content" in m.content
                                     and m.sender == net.bot.user_id
                                     and t in m.content["m.new_content"]["body"])
        assert edit.encrypted
        assert edit.content["m.relates_to"] == {"rel_type": "m.replace", "event_id": original.event_id}

    retracted = await net.ask(f"!alert retract {alert_id}")
    assert "removed from 2 places" in retracted
    for member, room, original in ((alice, rooms[0], originals[0]), (bashir, rooms[1], originals[1])):
        response = await member.client.room_get_event(room, original.event_id)
        assert isinstance(response, RoomGetEventResponse)
        assert "redacted_because" in response.event.source.get("unsigned", {})
    log = await net.ask("!alert log")
    for action in ("sent", "edited", "retracted"):
        assert action in log
    assert not [m for m in alice.received if m.room_id == outsider and "Meet at" in m.body]


async def test_restart_mid_fan_out_resumes_without_duplicates(
    make_bot: MakeBot, make_member: MakeMember,
) -> None:
    # One send per second: the bot is stopped while most of the alert is still queued.
    net = await start_network(make_bot, make_member, outbox={"per_second": 1, "concurrency": 1})
    members = [await make_member() for _ in range(4)]
    rooms = [await network_room(member, net.bot) for member in members]
    for member, room in zip(members, rooms, strict=True):
        await invite(member, room, net.organizer)
    await net.ask("!alert Evacuate the square")
    await net.ask("!alert send")
    await members[0].wait_for(lambda m: m.room_id == rooms[0] and "Evacuate the square" in m.body)
    await net.bot.restart()
    assert net.bot.bot is not None
    for member, room in zip(members, rooms, strict=True):
        await member.wait_for(lambda m, r=room: m.room_id == r and "Evacuate the square" in m.body)
    await asyncio.wait_for(net.bot.bot.outbox.idle(), 60)
    for member, room in zip(members, rooms, strict=True):
        # The reply to `!ack` comes after anything the bot sent before it, so
        # a duplicate alert would already be in `received`.
        await member.ask(room, "!ack")
        copies = [m for m in member.received if m.room_id == room and "Evacuate the square" in m.body]
        assert len(copies) == 1
    alert_id = await net.alert_id()
    report = await net.ask(f"!alert status {alert_id}")
    assert "Acknowledged by 4 members, in 4 of 4 rooms" in report


async def test_scheduled_alert_fires_once(make_bot: MakeBot, make_member: MakeMember) -> None:
    net = await start_network(make_bot, make_member)
    member = await make_member()
    room = await network_room(member, net.bot)
    await invite(member, room, net.organizer)
    preview = await net.ask("!alert at +2h Vigil starts now")
    assert "It will be sent at" in preview
    assert "will be sent at" in await net.ask("!alert send")
    alert_id = await net.alert_id()
    assert not [m for m in member.received if "Vigil" in m.body]
    # Bring the job forward instead of waiting two hours (same job id: rescheduled).
    bot = net.bot.bot
    assert bot is not None
    await bot.scheduler.schedule("alerts", "send", bot.clock.now(), {"alert_id": alert_id},
                                 job_id=f"alerts-send-{alert_id}")
    await member.wait_for(lambda m: m.room_id == room and "Vigil starts now" in m.body)
    await net.bot.restart()
    assert net.bot.bot is not None
    await asyncio.wait_for(net.bot.bot.outbox.idle(), 30)
    await member.ask(room, "!ack")
    assert len([m for m in member.received if "Vigil starts now" in m.body]) == 1
    # After the restart alerts keeps one recurring row (the prune); the catch-up
    # ran in ready(), it is no job.
    jobs = await net.bot.bot.db.fetchall(
        "SELECT id, kind FROM core_jobs WHERE owner = 'alerts' ORDER BY id")
    assert [(r["id"], r["kind"]) for r in jobs] == [("every:alerts:prune", "prune")]


async def named_network_room(owner: Member, bot: RunningBot, name: str) -> str:
    """A network room with a name (as room_with_bot, which names every room alike)."""
    room = await owner.create_room(invite=[bot.user_id], name=name)
    await owner.wait_member(room, bot.user_id)
    assert bot.bot is not None
    connection = bot.bot.connection

    async def bot_knows() -> bool:
        return (room in connection.nio.rooms and connection.is_encrypted(room)
                and bot.bot is not None and bot.bot.runtime.actions.room_name(room) == name)

    await wait_until(bot_knows)
    bot.config.network.rooms.append(room)
    return room


async def test_every_reader_finds_their_version_and_organizers_see_where_it_goes(
    make_bot: MakeBot, make_member: MakeMember,
) -> None:
    net = await start_network(make_bot, make_member)
    bot = net.bot
    assert bot.bot is not None
    alice, sami, bashir, carol = [await make_member() for _ in range(4)]
    english = await named_network_room(alice, bot, "Neighbourhood")
    arabic = await named_network_room(bashir, bot, "Mutual aid")
    curators = await named_network_room(carol, bot, "Curators")
    await bot.bot.runtime.network.set_role_room(NetworkRole.CURATOR, curators)
    await invite(alice, english, sami)
    await invite(bashir, arabic, alice)
    await invite(carol, curators, sami)  # rooms with two people are not taken for DMs
    await bashir.ask(arabic, "!language room ar")
    # Sami chose Arabic; the room they read alerts in speaks English.
    await sami.ask(english, "!language ar")

    preview = await net.ask("!alert [en] Clinic closed tomorrow\n[ar] العيادة مغلقة غداً")
    assert "Goes to 2 rooms" in preview
    assert "Rooms: Mutual aid, Neighbourhood" in preview or \
        "Rooms: Neighbourhood, Mutual aid" in preview
    assert "Staff rooms left out (add --staff to include them): Curators" in preview
    assert not any(room in preview for room in (english, arabic, curators))
    await net.ask("!alert send")
    alert_id = await net.alert_id()

    # Sami finds the Arabic version in the English room, after the room's English one.
    seen = await sami.wait_for(lambda m: m.room_id == english and alert_id in m.body)
    assert seen.encrypted and seen.sender == bot.user_id
    assert seen.body.index("English:\nClinic closed tomorrow") < \
        seen.body.index("العربية:\nالعيادة مغلقة غداً")
    assert "React ✅ or send !ack" in seen.body and "تفاعل بـ ✅" in seen.body
    in_arabic = await alice.wait_for(lambda m: m.room_id == arabic and alert_id in m.body)
    assert in_arabic.body.index("العربية:\nالعيادة مغلقة غداً") < \
        in_arabic.body.index("English:\nClinic closed tomorrow")
    thanks = (await sami.ask(english, "!ack")).body
    assert "شكراً" in thanks and alert_id in thanks  # answered in the language Sami chose

    # The status message, edited to the end, names the rooms; `status` alone is this alert.
    status = await net.organizer.wait_for(lambda m: m.room_id == net.organizers_room
                                          and "2 of 2 delivered" in plain(m.body)
                                          and "m.new_content" in m.content)
    final = plain(status.content["m.new_content"]["body"])
    assert "✓ Neighbourhood" in final and "✓ Mutual aid" in final
    assert english not in final and arabic not in final
    report = await net.ask("!alert status")
    assert report.startswith(f"Alert {alert_id} (delivered)")
    assert "Neighbourhood: delivered, 1 acknowledged" in report
    assert "Mutual aid: delivered, 0 acknowledged" in report
    # The curators room got nothing (the `!ack` reply came after anything sent before it).
    assert not [m for m in carol.received if m.room_id == curators and alert_id in m.body]
