"""The check-ins plugin end to end in-process: real database, scheduler, outbox, dispatcher."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.test_checkins_harness import Harness

ALICE = "@alice:test"
BOB = "@bob:test"
CAROL = "@carol:test"
TEAM = "!team:test"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path / "bot.db", {"reminder_minutes": 10, "grace_minutes": 5})
    await harness.start()
    yield harness
    await harness.stop()


async def accepted_contacts(h: Harness, owner: str, *contacts: str) -> str:
    dm = h.matrix.add_dm(owner)
    for contact in contacts:
        await h.reply(dm, owner, f"!contacts add {contact}")
        contact_dm = h.matrix.add_dm(contact) if contact not in h.matrix.dm_of else \
            h.matrix.dm_of[contact]
        await h.settle()
        assert any("asks you to be one of their trusted contacts" in s.body
                   for s in h.matrix.to(contact_dm))
        reply = await h.reply(contact_dm, contact, f"!contacts accept {owner}")
        assert "Thank you" in reply.body
    await h.settle()
    return dm


def alerts_to(h: Harness, user: str) -> list[str]:
    return [s.body for s in h.matrix.to(h.matrix.dm_of.get(user, "?")) if "Safety alert" in s.body
            or "URGENT" in s.body]


async def test_checkin_then_safe_alerts_nobody(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    reply = await h.reply(dm, ALICE, "!checkin 2h going to the march")
    assert "Check-in set" in reply.body and "trusted contacts (1)" in reply.body
    assert "Glad you're safe" in (await h.reply(dm, ALICE, "!safe")).body
    await h.advance(3 * 3600)
    assert alerts_to(h, BOB) == []
    row = await h.db.fetchone("SELECT note, state FROM checkins_checkins")
    assert row is not None and row["state"] == "resolved" and row["note"] is None


async def test_missed_checkin_alerts_each_accepted_contact_once(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    await h.reply(dm, ALICE, "!contacts add @dave:test")  # never accepts
    await h.reply(dm, ALICE, "!checkin 30m first date at the cafe")
    await h.advance(20 * 60 + 1)
    assert any("Reminder" in s.body for s in h.matrix.to(dm))
    await h.advance(10 * 60)  # deadline passed, grace not yet
    assert alerts_to(h, BOB) == []
    await h.advance(5 * 60)
    for contact in (BOB, CAROL):
        [alert] = alerts_to(h, contact)
        assert "first date at the cafe" in alert and ALICE in alert and "late" not in alert
    assert alerts_to(h, "@dave:test") == []
    await h.advance(3600)
    assert len(alerts_to(h, BOB)) == 1
    assert any("I alerted 2" in s.body for s in h.matrix.to(dm))


async def test_ack_is_shown_to_the_other_contacts_and_late_safe_sends_all_clear(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.advance(16 * 60)
    [alert] = [s for s in h.matrix.to(h.matrix.dm_of[BOB]) if "Safety alert" in s.body]
    alert_id = alert.body.split("(Alert ")[1].split(")")[0]
    thanks = await h.reply(h.matrix.dm_of[BOB], BOB, f"!onit {alert_id}")
    assert "The others know" in thanks.body
    await h.settle()
    carol_dm = h.matrix.to(h.matrix.dm_of[CAROL])
    assert any(BOB in s.body and "taking care of the alert" in s.body for s in carol_dm)
    assert not any("taking care of the alert" in s.body for s in h.matrix.to(h.matrix.dm_of[BOB]))
    again = await h.reply(h.matrix.dm_of[CAROL], CAROL, f"!onit {alert_id}")
    assert "already on it" in again.body
    assert "told everyone" in (await h.reply(dm, ALICE, "!safe")).body
    await h.settle()
    for contact in (BOB, CAROL):
        assert sum("All clear" in s.body for s in h.matrix.to(h.matrix.dm_of[contact])) == 1


async def test_check_mark_reaction_on_alert_acknowledges(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.advance(16 * 60)
    [alert] = [s for s in h.matrix.to(h.matrix.dm_of[CAROL]) if "Safety alert" in s.body]
    # ✔ as another client sends it (no variation selector, a space): read as ✔️ (core.reactions).
    await h.react(h.matrix.dm_of[CAROL], CAROL, alert.event_id, "✔ ")
    await h.settle()
    bob_dm = h.matrix.to(h.matrix.dm_of[BOB])
    assert any("taking care of the alert" in s.body and CAROL in s.body for s in bob_dm)


async def test_duress_answer_is_identical_and_alert_is_urgent(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.reply(dm, ALICE, "!safepin set 1234")
    await h.reply(dm, ALICE, "!duress set 9911")
    await h.reply(dm, ALICE, "!checkin 2h border crossing")
    normal = await h.reply(dm, ALICE, "!safe 1234")
    await h.reply(dm, ALICE, "!checkin 2h border crossing")
    forced = await h.reply(dm, ALICE, "!safe 9911")
    seen_in_dm = len(h.matrix.to(dm))
    strip = {k: v for k, v in normal.content.items() if k != "m.relates_to"}
    assert {k: v for k, v in forced.content.items() if k != "m.relates_to"} == strip
    await h.settle()
    [urgent] = alerts_to(h, BOB)
    assert "URGENT" in urgent and "border crossing" in urgent
    # Whoever holds the phone sees no running check-in and no trace of the alert.
    status = await h.reply(dm, ALICE, "!checkin status")
    assert "no check-in running" in status.body
    assert h.matrix.to(dm)[seen_in_dm:] == [status]


async def test_duress_without_checkin_and_with_normal_pin(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.reply(dm, ALICE, "!safepin set 1234")
    await h.reply(dm, ALICE, "!duress set 5678")
    assert "followed by your PIN" in (await h.reply(dm, ALICE, "!checkin 1h x") and
                                      await h.reply(dm, ALICE, "!safe")).body
    wrong = await h.reply(dm, ALICE, "!safe 0000")
    assert "isn't right" in wrong.body
    assert "Glad" in (await h.reply(dm, ALICE, "!safe 1234")).body
    plain = await h.reply(dm, ALICE, "!safe 1234")
    forced = await h.reply(dm, ALICE, "!safe 5678")
    assert plain.body == forced.body == "You have no check-in running."
    await h.settle()
    assert len(alerts_to(h, BOB)) == 1 and "URGENT" in alerts_to(h, BOB)[0]


async def test_wrong_pin_answer_gives_no_hint_and_alarm_still_goes(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.reply(dm, ALICE, "!checkin 10m")
    without_pins = await h.reply(dm, ALICE, "!safe 4444")
    await h.reply(dm, ALICE, "!duress set 5678")
    with_duress = await h.reply(dm, ALICE, "!safe 4444")
    assert without_pins.body == with_duress.body
    await h.advance(16 * 60)
    assert len(alerts_to(h, BOB)) == 1


async def test_unencrypted_dm_refuses_every_private_command_and_says_hello_once(
        tmp_path: Path) -> None:
    """ENCRYPTED_DM: the refusal, one hello in the DM, and nothing of the command done.

    (Core already ignores unencrypted rooms unless require_encryption is off.)
    """
    h = Harness(tmp_path / "bot.db", config={"bot": {"require_encryption": False}})
    await h.start()
    try:
        await _refused_while_unencrypted(h)
    finally:
        await h.stop()


async def _refused_while_unencrypted(h: Harness) -> None:
    dm = h.matrix.add_dm(ALICE)
    h.matrix.encrypted.discard(dm)
    for line in ("!checkin 2h at the station", "!safepin set 1234", "!contacts add @bob:test",
                 "!safe", "!extend 30m", "!cancel", "!confirm 1234", "!duress set 5678"):
        reply = await h.reply(dm, ALICE, line)
        assert "only work in a private encrypted chat" in reply.body, line
    await h.settle()
    hellos = [s for s in h.matrix.to(dm) if "our private chat for safety check-ins" in s.body]
    assert len(hellos) == 1
    assert await h.db.fetchone("SELECT 1 FROM checkins_checkins") is None
    assert await h.db.fetchone("SELECT 1 FROM checkins_members") is None
    assert await h.db.fetchone("SELECT 1 FROM checkins_contacts") is None
    # The same member in an encrypted DM is let through.
    h.matrix.encrypted.add(dm)
    assert "Check-in set" in (await h.reply(dm, ALICE, "!checkin 2h")).body


async def test_a_refused_pin_changes_nothing_and_the_pin_message_goes(h: Harness) -> None:
    dm = h.matrix.add_dm(ALICE)
    await h.reply(dm, ALICE, "!safepin set 1234")
    await h.reply(dm, ALICE, "!checkin 2h")
    deadline = (await h.db.fetchone("SELECT deadline FROM checkins_checkins"))["deadline"]
    for line, key in (("!safe", "send !safe followed by your PIN"),
                      ("!safe 9999", "Try !safe again"), ("!extend 30m 9999", "Try !extend again"),
                      ("!cancel 9999", "Try !cancel again")):
        before = len(h.matrix.redacted)
        assert key in (await h.reply(dm, ALICE, line)).body, line
        # The PIN's message is deleted whether it was right or not (none given: none deleted).
        assert len(h.matrix.redacted) == before + (line != "!safe")
    row = await h.db.fetchone("SELECT state, deadline FROM checkins_checkins")
    assert row["state"] == "active" and row["deadline"] == deadline
    assert "Glad you're safe" in (await h.reply(dm, ALICE, "!safe 1234")).body


async def test_bot_down_across_deadline_escalates_once_on_restart_and_says_late(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.restart(advance=2 * 3600)
    await h.settle()
    [alert] = alerts_to(h, BOB)
    assert "late" in alert
    await h.restart(advance=60)
    await h.settle()
    assert len(alerts_to(h, BOB)) == 1


async def test_crash_mid_escalation_reruns_without_duplicates(h: Harness) -> None:
    """The job's handler committed, the process died before the job was deleted and sent."""
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.outbox.stop()  # "kill -9": nothing delivered yet
    await h.clock.advance(16 * 60)
    original = h.plugin.escalator.escalate
    calls = 0

    async def escalate_then_die(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        await original(*args, **kwargs)
        raise SystemExit  # dies after its transaction, before the scheduler deletes the job

    h.plugin.escalator.escalate = escalate_then_die  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await h.scheduler.run_due()
    assert calls == 1
    job = await h.db.fetchone("SELECT payload FROM core_jobs WHERE kind = 'escalate'")
    assert job is not None and "__started" in job["payload"]
    await h.restart()
    await h.settle()
    for contact in (BOB, CAROL):
        assert len(alerts_to(h, contact)) == 1


async def test_failed_contact_dm_falls_back_to_team_room(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.db", {"team_room": TEAM, "escalation": "contacts_then_team"})
    h.matrix.add_room(TEAM, [CAROL])
    await h.start()
    try:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.reply(dm, ALICE, "!checkin 10m")
        h.matrix.failing_rooms.add(h.matrix.dm_of[BOB])
        await h.advance(16 * 60)
        await h.settle()
        team = [s.body for s in h.matrix.to(TEAM)]
        assert len(team) == 1 and "Safety alert" in team[0]
        await h.advance(3600)  # the team step itself adds nothing: same recipient already has it
        assert len([s for s in h.matrix.to(TEAM) if "Safety alert" in s.body]) <= 2
    finally:
        await h.stop()


async def test_team_alerted_after_delay_unless_acknowledged(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.db", {"team_room": TEAM, "team_after_minutes": 15})
    h.matrix.add_room(TEAM, [CAROL])
    await h.start()
    try:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.reply(dm, ALICE, "!checkin 10m")
        await h.advance(16 * 60)
        assert h.matrix.to(TEAM) == []
        await h.advance(15 * 60)
        [team_alert] = h.matrix.to(TEAM)
        reply = await h.reply(TEAM, CAROL, f"!onit {team_alert.body.split('(Alert ')[1][:6]}")
        assert "The others know" in reply.body
        await h.settle()
        assert any("taking care of the alert" in s.body for s in h.matrix.to(h.matrix.dm_of[BOB]))
    finally:
        await h.stop()


async def test_checkin_in_a_group_room_is_removed_there_and_answered_in_the_dm(
        h: Harness) -> None:
    # Found: `!checkin 3h at the safe house on <street>` typed in a group got a
    # public reply, and the message stayed visible although the bot could redact it.
    room = h.matrix.add_room("!group:test", [ALICE, BOB])
    await h.say(room, ALICE, "!checkin 2h secret plans")
    await h.settle()
    assert h.matrix.to(room) == []
    assert h.incoming[-1] in h.matrix.redacted
    dm = h.matrix.dm_of[ALICE]
    answers = [sent.body for sent in h.matrix.to(dm)]
    assert any("removed it there" in body for body in answers), answers
    assert any("Check-in started" in body or "check-in" in body.lower() for body in answers)


async def test_bad_input_gets_clear_answers(h: Harness) -> None:
    dm = h.matrix.add_dm(ALICE)
    soon = (await h.reply(dm, ALICE, "!checkin soon")).body
    assert "couldn't find a duration or a time" in soon and "6pm" in soon and "2 hours" in soon
    assert "too far" in (await h.reply(dm, ALICE, "!checkin 9999h")).body
    assert "don't know the timezone" in (await h.reply(dm, ALICE, "!timezone Mars/Olympus")).body
    assert "Europe/Istanbul" in (await h.reply(dm, ALICE, "!timezone europe/istanbul")).body
    assert "own trusted contact" in (await h.reply(dm, ALICE, f"!contacts add {ALICE}")).body
    assert "not a Matrix user id" in (await h.reply(dm, ALICE, "!contacts add bob")).body
    later = (await h.reply(dm, ALICE, "!extend later")).body
    assert "couldn't read" in later and "half an hour" in later
    assert "no check-in running" in (await h.reply(dm, ALICE, "!extend 10m")).body
    assert await h.db.fetchall("SELECT * FROM checkins_checkins") == []


async def test_clock_time_in_member_timezone(h: Harness) -> None:
    dm = h.matrix.add_dm(ALICE)
    await h.reply(dm, ALICE, "!timezone Europe/Istanbul")
    reply = await h.reply(dm, ALICE, "!checkin 23:59")
    assert "23:59 (Europe/Istanbul)" in reply.body


async def test_extend_moves_the_alert(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.reply(dm, ALICE, "!checkin 10m")
    assert "Extended" in (await h.reply(dm, ALICE, "!extend 1h")).body
    await h.advance(30 * 60)
    assert alerts_to(h, BOB) == []
    await h.advance(50 * 60)
    assert len(alerts_to(h, BOB)) == 1


async def test_arabic_reader_gets_arabic_alert(h: Harness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.runtime.languages.set_user(BOB, "ar")
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.advance(16 * 60)
    [alert] = [s.body for s in h.matrix.to(h.matrix.dm_of[BOB]) if "تنبيه" in s.body]
    assert "لم يصل تأكيد السلامة من" in alert


async def test_note_never_reaches_logs(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    # aiosqlite's own DEBUG output echoes SQL parameters; core must keep it quiet
    # (reported). Everything of ours and of core is captured at DEBUG.
    caplog.set_level(logging.INFO)
    for name in ("bots", "core"):
        caplog.set_level(logging.DEBUG, logger=name)
    with caplog.at_level(logging.DEBUG, logger="bots"):
        await h.reply(dm, ALICE, "!checkin 10m meeting Omar at the safehouse")
        await h.advance(16 * 60)
    assert "safehouse" not in caplog.text


async def test_rollcall_lists_non_responders_to_organizer(h: Harness) -> None:
    organizer = "@org:test"
    room = h.matrix.add_room("!action:test", [organizer, ALICE, BOB, CAROL])
    h.matrix.levels[(room, organizer)] = 50
    refused = await h.reply(room, ALICE, "!rollcall 30m")
    assert "Only organizers" in refused.body
    await h.say(room, organizer, "!rollcall 30m after the march")
    [call] = [s for s in h.matrix.to(room) if "Roll call from" in s.body]
    assert "after the march" in call.body
    assert "marked present" in (await h.reply(room, ALICE, "!here")).body
    await h.react(room, BOB, call.event_id)
    await h.advance(15 * 60 + 1)
    assert any("Roll call in" in s.body for s in h.matrix.to(h.matrix.dm_of[CAROL]))
    assert not any("Roll call in" in s.body for s in h.matrix.to(h.matrix.dm_of.get(ALICE, "?")))
    await h.advance(15 * 60)
    [report] = [s.body for s in h.matrix.to(h.matrix.dm_of[organizer]) if "is over" in s.body]
    assert CAROL in report and ALICE not in report and BOB not in report
    assert "3 of 4 answered" in report
    assert any("Roll call closed: 3 of 4" in s.body for s in h.matrix.to(room))


async def test_crash_after_escalation_still_schedules_the_team_step(tmp_path: Path) -> None:
    h = Harness(tmp_path / "bot.db", {"team_room": TEAM, "team_after_minutes": 15})
    h.matrix.add_room(TEAM, [CAROL])
    await h.start()
    try:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.reply(dm, ALICE, "!checkin 10m")
        await h.clock.advance(16 * 60)
        original = h.plugin.escalator.escalate

        async def escalate_then_die(*args, **kwargs):  # type: ignore[no-untyped-def]
            await original(*args, **kwargs)
            raise SystemExit

        h.plugin.escalator.escalate = escalate_then_die  # type: ignore[method-assign]
        with pytest.raises(SystemExit):
            await h.scheduler.run_due()
        await h.restart()
        await h.settle()
        assert len(alerts_to(h, BOB)) == 1
        assert [j.kind for j in await h.scheduler.pending("checkins", "team")] == ["team"]
        await h.advance(15 * 60)
        assert len([s for s in h.matrix.to(TEAM) if "Safety alert" in s.body]) == 1
    finally:
        await h.stop()
