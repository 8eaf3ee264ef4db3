"""The alerts plugin through the real bot (core.testing.PluginHarness), on a homeserver in memory.

MemoryHomeserver drops a send whose transaction id it has seen, as Synapse
does, so "nothing twice" is checked the way it matters. The network and its
helpers: tests/unit/alerts_helpers.py. Real Synapse and E2EE members:
tests/integration/test_alerts.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.testing import wait_for
from tests.unit.alerts_helpers import (
    BOT,
    HELPER,
    MEMBER,
    ORGANIZER,
    ORGANIZERS_ROOM,
    advance_until,
    alerts,
    alerts_bot,
    alerts_in,
    dm_alerts,
    dm_users,
    first_alert_id,
    network_rooms,
    ready_without_firing_jobs,
    say,
    send_alert,
    status_shows,
    tag,
)


async def test_preview_then_send_reaches_every_room_once(tmp_path: Path) -> None:
    rooms = network_rooms(5)
    async with alerts_bot(tmp_path, rooms) as h:
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER,
                            "!alert Meeting point moved to the library")
        assert "Preview" in preview and "5 rooms" in preview
        assert not any(alerts_in(h, room) for room in rooms)  # nothing before confirmation
        answer = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        assert "on its way to 5 rooms" in answer
        for room in rooms:
            [message] = alerts_in(h, room)
            assert "Meeting point moved to the library" in message.body
            assert message.content["msgtype"] == "m.notice"
        # The status message was posted, then edited as deliveries settled.
        status = await status_shows(h, "5 of 5 delivered")
        assert "Delivery finished" in status
        assert all(f"✓ Room {index}" in status for index in range(5))  # one line per room
        # A second send has no draft left: nothing twice.
        assert "no alert waiting" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        assert all(len(alerts_in(h, room)) == 1 for room in rooms)


async def test_non_organizer_refused_without_revealing_the_room(tmp_path: Path) -> None:
    [room] = rooms = network_rooms(1)
    async with alerts_bot(tmp_path, rooms) as h:
        refusal = await say(h, room, "@m0:x", "!alert hello")
        assert "only the network's organizers" in refusal
        assert ORGANIZERS_ROOM not in refusal
        # A member of the organizers room below the configured power level is refused too.
        assert "only the network's organizers" in await say(h, ORGANIZERS_ROOM, MEMBER, "!alert x")
        # An organizer elsewhere is sent to the organizers room (not named).
        await h.join(room, ORGANIZER)
        elsewhere = await say(h, room, ORGANIZER, "!alert hello")
        assert "organizers room only" in elsewhere and ORGANIZERS_ROOM not in elsewhere
        # Power level in the organizers room makes an organizer.
        assert "Preview" in await say(h, ORGANIZERS_ROOM, HELPER, "!alert from a helper")
        rows = await h.db.fetchall("SELECT author FROM alerts_alerts")
        assert [r["author"] for r in rows] == [HELPER]


async def test_bad_input_gets_a_reason_and_stores_nothing(tmp_path: Path) -> None:
    async with alerts_bot(tmp_path, network_rooms(1)) as h:
        assert "Write the alert after the command" in await say(h, ORGANIZERS_ROOM, ORGANIZER,
                                                                "!alert")
        assert "empty" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --urgent")
        unknown = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms atlantis text")
        assert "No room carries the tag" in unknown and "atlantis" in unknown
        assert "Unknown option" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --loud x")
        assert "no alert" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert status zzzzzz")
        # `status` alone asks for no id (the latest alert), and there is none yet.
        assert "No alerts yet" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert status")
        assert "Which alert?" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert cancel")
        assert "Which alert?" in await say(h, ORGANIZERS_ROOM, ORGANIZER,
                                           "!alert retract the last one")
        assert await h.db.fetchall("SELECT * FROM alerts_alerts") == []


async def test_tags_select_rooms_and_dm_subscribers(tmp_path: Path) -> None:
    rooms = network_rooms(4)
    async with alerts_bot(tmp_path, rooms) as h:
        await tag(h, rooms[0], "Syria")
        await tag(h, rooms[1], "syria")
        await tag(h, rooms[2], "legal")
        assert "syria" in await say(h, rooms[0], "@admin0:x", "!network tags")
        refused = await say(h, rooms[0], "@m0:x", "!network tag other")
        assert "admins" in refused
        assert "every alert" in await say(h, rooms[3], "@m3:x", "!subscribe alerts")
        assert "syria" in await say(h, rooms[2], "@m2:x", "!subscribe alerts syria")
        assert "@m1:x" not in dm_users(h)
        await say(h, rooms[1], "@m1:x", "!subscribe alerts legal")
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER,
                            "!alert --rooms syria --dm Border closed")
        assert "2 rooms and 2 members" in preview
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        assert [len(alerts_in(h, room)) for room in rooms] == [1, 1, 0, 0]
        assert dm_users(h) == {"@m3:x", "@m2:x"}  # legal-only subscriber left out
        for user in ("@m3:x", "@m2:x"):
            assert len(dm_alerts(h, user)) == 1
        assert "no more alerts" in await say(h, rooms[3], "@m3:x", "!unsubscribe")


async def test_language_versions_follow_room_and_member_language(tmp_path: Path) -> None:
    english, arabic = rooms = network_rooms(2)
    async with alerts_bot(tmp_path, rooms) as h:
        await h.runtime.languages.set_room(arabic, "ar")
        await h.set_language("@m0:x", "ar")
        await say(h, english, "@m0:x", "!subscribe alerts")
        await say(h, ORGANIZERS_ROOM, ORGANIZER,
                  "!alert --dm [en] Stay home tonight\n[ar] ابقوا في البيوت الليلة")
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        # A room holds every version, its own language's first, each under its name:
        # @m0:x chose Arabic and reads it in the English room too.
        [in_english] = alerts_in(h, english) or [None]
        assert in_english is not None
        body = in_english.body
        assert body.index("English:\nStay home tonight") < body.index(
            "العربية:\nابقوا في البيوت الليلة")
        assert body.startswith("📣 Alert from the organizers")
        # How to acknowledge, in each language the alert speaks.
        assert "React ✅ or send !ack" in body and "تفاعل بـ ✅" in body
        ar_messages = [s for s in h.homeserver.messages(arabic)
                       if "ابقوا في البيوت الليلة" in s.body]
        assert len(ar_messages) == 1
        body = ar_messages[0].body
        assert body.index("العربية:\nابقوا في البيوت الليلة") < body.index(
            "English:\nStay home tonight")
        assert "تنبيه من فريق التنظيم" in body.split("\n")[0]
        # A direct message has one reader, in their language only.
        dm = h.private("@m0:x")
        assert len(dm) == 1 and "ابقوا في البيوت الليلة" in dm[0].body
        assert "Stay home" not in dm[0].body and "العربية:" not in dm[0].body


async def test_failures_are_listed_with_reasons_and_rate_limits_retried(tmp_path: Path) -> None:
    ok, forbidden, limited = rooms = network_rooms(3)
    async with alerts_bot(tmp_path, rooms) as h:
        h.homeserver.forbid(forbidden, "send")
        h.homeserver.limit(limited, 2)
        h.homeserver.refuse_invites("@m0:x")
        await say(h, ok, "@m0:x", "!subscribe alerts")
        await send_alert(h, "--dm Raid warning")
        # Each 429 puts the send back by its retry_after on the (manual) clock.
        assert alerts_in(h, limited) == []
        await advance_until(h, lambda: len(alerts_in(h, limited)) == 1)
        assert h.homeserver.limits_left(limited) == 0  # both 429s were met and waited out
        assert len(alerts_in(h, ok)) == 1 and len(alerts_in(h, limited)) == 1
        assert alerts_in(h, forbidden) == []
        preview_id = await first_alert_id(h)
        report = await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert status {preview_id}")
        assert "Room 1" in report and "M_FORBIDDEN" in report
        assert "Direct messages: 0 of 1 delivered, 1 failed" in report
        final = await status_shows(h, "2 of 4 delivered, 2 failed")
        # The homeserver's reason for the DM: "M_FORBIDDEN: the invite was refused".
        assert "Room 1" in final and "@m0:x" in final and "invite was refused" in final


async def test_acknowledgements_by_reaction_and_command(tmp_path: Path) -> None:
    first, second = rooms = network_rooms(2)
    async with alerts_bot(tmp_path, rooms) as h:
        await send_alert(h, "Check in please")
        [message] = alerts_in(h, first)
        for sender in ("@m0:x", "@admin0:x", "@m0:x"):  # the repeated reaction counts once
            await h.react(first, sender, message.event_id, "✅")
        await h.join(first, "@x:x")
        await h.react(first, "@x:x", message.event_id, "😂")
        assert "recorded" in await say(h, second, "@m1:x", "!ack")
        assert "already" in await say(h, second, "@m1:x", "!ack")
        assert "no alert here" in await say(h, ORGANIZERS_ROOM, HELPER, "!ack")
        alert_id = await first_alert_id(h)
        report = await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert status {alert_id}")
        assert "Room 0: delivered, 2 acknowledged" in report
        assert "Acknowledged by 3 members, in 2 of 2 rooms" in report
        assert "Check in please" in report  # what was sent, with who and when


async def test_edit_and_retract_reach_every_delivery(tmp_path: Path) -> None:
    rooms = network_rooms(3)
    async with alerts_bot(tmp_path, rooms) as h:
        await send_alert(h, "Meet at 6")
        alert_id = await first_alert_id(h)
        edited = await say(h, ORGANIZERS_ROOM, ORGANIZER,
                           f"!alert edit {alert_id}\n[en] Meet at 7 instead\n[ar] اللقاء في السابعة")
        assert "edited in 3 places" in edited
        alert_edits = [e for e in h.homeserver.edits() if e.room_id in rooms]
        assert sorted(e.room_id for e in alert_edits) == sorted(rooms)
        assert all("Meet at 7 instead" in e.content["m.new_content"]["body"] for e in alert_edits)
        retracted = await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert retract {alert_id}")
        assert "removed from 3 places" in retracted
        originals = {alerts_in(h, room)[0].event_id for room in rooms}
        assert {call.target for call in h.homeserver.done("redact")} == originals
        assert "cancelled or retracted" in await say(h, ORGANIZERS_ROOM, ORGANIZER,
                                                     f"!alert retract {alert_id}")
        log = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert log")
        for action in ("composed", "sent", "edited", "retracted"):
            assert action in log


async def test_retracting_mid_fan_out_stops_what_has_not_gone_out(tmp_path: Path) -> None:
    rooms = network_rooms(6)
    async with alerts_bot(tmp_path, rooms, concurrency=2) as h:
        h.homeserver.hold(*rooms)  # two deliveries reach the homeserver and wait there
        await send_alert(h, "Wrong address, ignore", settle=False)
        alert_id = await first_alert_id(h)
        retracted = await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert retract {alert_id}",
                              settle=False)
        assert "4 deliveries that had not gone out yet were stopped" in retracted
        h.homeserver.release()
        await h.settle()
        reached = [room for room in rooms if alerts_in(h, room)]
        assert len(reached) == 2  # the two already handed over, and nothing else ever
        await wait_for(lambda: len(h.homeserver.done("redact")) == 2)
        assert {call.room_id for call in h.homeserver.done("redact")} == set(reached)
        status = await status_shows(h, "4 not sent")
        assert "0 on the way" in status and "stopped before it was sent" in status
        report = await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert status {alert_id}")
        assert report.count("stopped before it was sent") == 4


async def test_scheduled_alert_fires_once_and_can_be_cancelled(tmp_path: Path) -> None:
    [room] = rooms = network_rooms(1)
    async with alerts_bot(tmp_path, rooms) as h:
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert at +30m Vigil starts now")
        assert "It will be sent at" in preview
        assert "will be sent at" in await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        await send_alert(h, "at +40m Second one")
        rows = await h.db.fetchall("SELECT id FROM alerts_alerts ORDER BY due_at")
        second = rows[1]["id"]
        assert "cancelled" in await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert cancel {second}")
        await h.scheduler.run_due()
        assert alerts_in(h, room) == []
        await h.clock.advance(45 * 60)
        await h.scheduler.run_due()
        await h.scheduler.run_due()
        await h.settle()
        [message] = alerts_in(h, room)
        assert "Vigil starts now" in message.body


async def test_restart_mid_fan_out_resumes_without_duplicates(tmp_path: Path) -> None:
    rooms = network_rooms(6)
    h = alerts_bot(tmp_path, rooms)
    # The bot is up but its outbox is not (the "crash" comes before it delivers anything).
    await h.start(ready=False)
    try:
        await send_alert(h, "Evacuate the square")
        assert not any(alerts_in(h, room) for room in rooms)  # queued, nothing delivered yet
        # Two rooms got theirs before the crash, but the outbox never recorded it.
        queued = await h.db.fetchall("SELECT room_id, content, txn_id FROM core_outbox "
                                     "WHERE owner = 'alerts' ORDER BY room_id LIMIT 2")
        for row in queued:
            content = h.runtime.sealer.open_json(row["content"], context="outbox.content")
            await h.homeserver.send_event(row["room_id"], "m.room.message", content,
                                          row["txn_id"])
        # Restart on the same database and homeserver: the catch-up runs in ready().
        await h.restart(ready=False)
        await ready_without_firing_jobs(h)
        assert await h.scheduler.run_due() == 0  # nothing left for a job to do
        await asyncio.wait_for(h.outbox.idle(), 10)
        assert [len(alerts_in(h, room)) for room in rooms] == [1] * 6
        alert_id = await first_alert_id(h)
        assert "Delivery finished" in await status_shows(h, "6 of 6 delivered")
        state = await h.db.fetchone("SELECT state FROM alerts_alerts WHERE id = ?", (alert_id,))
        assert state is not None and state["state"] == "done"
    finally:
        await h.stop()


async def test_reminder_goes_only_to_rooms_without_acknowledgement(tmp_path: Path) -> None:
    acked, silent = rooms = network_rooms(2)
    async with alerts_bot(tmp_path, rooms, alerts={"remind_after_minutes": 30}) as h:
        await send_alert(h, "Roll call")
        await say(h, acked, "@m0:x", "!ack")
        await h.advance(31 * 60)
        reminders = [s for s in h.homeserver.messages() if "Reminder" in s.body]
        assert [s.room_id for s in reminders] == [silent]
        assert reminders[0].in_reply_to == alerts_in(h, silent)[0].event_id


async def test_urgent_alert_mentions_the_room_only_where_the_bot_may(tmp_path: Path) -> None:
    powerful, plain_room = rooms = network_rooms(2)
    async with alerts_bot(tmp_path, rooms) as h:
        h.set_level(powerful, BOT, 50)
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --urgent Leave now")
        assert "URGENT" in preview
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        [loud] = alerts_in(h, powerful)
        [quiet] = alerts_in(h, plain_room)
        assert loud.content["msgtype"] == quiet.content["msgtype"] == "m.text"
        assert loud.body.startswith("@room") and loud.content["m.mentions"] == {"room": True}
        assert "@room" not in quiet.body and quiet.content["m.mentions"] == {}


async def test_organizers_see_every_tag_members_only_their_rooms(tmp_path: Path) -> None:
    first, second = rooms = network_rooms(2)
    async with alerts_bot(tmp_path, rooms) as h:
        h.homeserver.room(first).name = "Damascus"
        await tag(h, first, "syria")
        await tag(h, second, "legal")
        listing = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!network tags")
        assert "syria" in listing and "legal" in listing and "Damascus" in listing
        assert "legal" not in await say(h, first, "@admin0:x", "!network tags")
        assert "removed" in await say(h, first, "@admin0:x", "!network untag syria")
        assert "no tags" in await say(h, first, "@admin0:x", "!network tags")
        # Unknown tags are refused to members without listing the network's tags.
        refusal = await say(h, second, "@m1:x", "!subscribe alerts atlantis")
        assert "atlantis" in refusal and "legal" not in refusal


async def test_results_missed_by_a_crash_are_taken_in_at_start(tmp_path: Path) -> None:
    """The outbox delivered, but the process died before the plugin recorded it."""
    rooms = network_rooms(3)
    async with alerts_bot(tmp_path, rooms) as h:
        await send_alert(h, "Assemble at noon")
        alert_id = await first_alert_id(h)
        await h.db.execute("UPDATE alerts_deliveries SET state = 'queued', event_id = NULL")
        await h.db.execute("UPDATE alerts_alerts SET state = 'sending'")
        await alerts(h).fanout.catch_up()
        deliveries = await alerts(h).store.deliveries(alert_id)
        assert {d.state for d in deliveries} == {"sent"}
        assert {d.event_id for d in deliveries} == {alerts_in(h, room)[0].event_id
                                                    for room in rooms}
        alert = await alerts(h).store.alert(alert_id)
        assert alert is not None and alert.state == "done"
        assert all(len(alerts_in(h, room)) == 1 for room in rooms)


async def test_a_scheduled_alert_due_during_downtime_goes_out_after_ready(tmp_path: Path) -> None:
    """Core fires jobs only after every plugin's ready (rooms known): no waiting of alerts' own."""
    [room] = rooms = network_rooms(1)
    async with alerts_bot(tmp_path, rooms) as h:
        await send_alert(h, "at +5m Curfew at ten")
        await h.restart()
        await h.clock.advance(600)
        assert await h.scheduler.run_due() == 1  # fired once, not pushed back
        await h.settle()
        [message] = alerts_in(h, room)
        assert "Curfew at ten" in message.body
        assert await h.scheduler.pending("alerts", "send") == []


async def test_tagged_rooms_the_bot_cannot_use_are_named_in_the_preview(tmp_path: Path) -> None:
    kept, left, plain_room = rooms = network_rooms(3)
    async with alerts_bot(tmp_path, rooms) as h:
        for room in (kept, left, plain_room):
            await tag(h, room, "legal")
        await h.leave(left, BOT)  # the bot was removed from the room
        h.homeserver.room(plain_room).encrypted = False
        preview = await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert --rooms legal Court at 9")
        assert "1 rooms" in preview
        assert "Skipped Room 1: the bot is no longer in it" in preview
        assert "Skipped Room 2: it is not encrypted" in preview
        await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send")
        assert len(alerts_in(h, kept)) == 1
        assert alerts_in(h, left) == alerts_in(h, plain_room) == []
