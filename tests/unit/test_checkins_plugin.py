"""The check-ins plugin end to end in-process: real database, scheduler, outbox, dispatcher."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.testing import PluginHarness
from tests.unit.checkins_helpers import (
    ALICE,
    BOB,
    BYSTANDER,
    CAROL,
    DAVE,
    ORGANIZER,
    TEAM,
    accepted_contacts,
    alerts_to,
    answer,
    checkins,
    plugin,
    redacted,
    sent_to,
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with checkins(tmp_path, {"reminder_minutes": 10, "grace_minutes": 5}) as harness:
        yield harness


async def test_checkin_then_safe_alerts_nobody(h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    reply = await h.reply(dm, ALICE, "!checkin 2h going to the march")
    assert "Check-in set" in reply.body and "trusted contacts (1)" in reply.body
    assert "Glad you're safe" in (await h.reply(dm, ALICE, "!safe")).body
    await h.advance(3 * 3600)
    assert alerts_to(h, BOB) == []
    row = await h.db.fetchone("SELECT note, state FROM checkins_checkins")
    assert row is not None and row["state"] == "resolved" and row["note"] is None


async def test_missed_checkin_alerts_each_accepted_contact_once(h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    await answer(h, dm, ALICE, f"!contacts add {DAVE}")  # never accepts
    await h.reply(dm, ALICE, "!checkin 30m first date at the cafe")
    await h.advance(20 * 60 + 1)
    assert any("Reminder" in s.body for s in h.homeserver.messages(dm))
    await h.advance(10 * 60)  # deadline passed, grace not yet
    assert alerts_to(h, BOB) == []
    await h.advance(5 * 60)
    for contact in (BOB, CAROL):
        [alert] = alerts_to(h, contact)
        assert "first date at the cafe" in alert and ALICE in alert and "late" not in alert
    assert alerts_to(h, DAVE) == []
    await h.advance(3600)
    assert len(alerts_to(h, BOB)) == 1
    assert any("I alerted 2" in s.body for s in h.homeserver.messages(dm))


async def test_ack_is_shown_to_the_other_contacts_and_late_safe_sends_all_clear(
        h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.advance(16 * 60)
    [alert] = [s for s in h.private(BOB) if "Safety alert" in s.body]
    alert_id = alert.body.split("(Alert ")[1].split(")")[0]
    thanks = await answer(h, await h.dm(BOB), BOB, f"!onit {alert_id}")
    assert "The others know" in thanks.body
    assert any(BOB in s.body and "taking care of the alert" in s.body for s in h.private(CAROL))
    assert not any("taking care of the alert" in s.body for s in h.private(BOB))
    again = await h.reply(await h.dm(CAROL), CAROL, f"!onit {alert_id}")
    assert "already on it" in again.body
    assert "told everyone" in (await answer(h, dm, ALICE, "!safe")).body
    for contact in (BOB, CAROL):
        assert sum("All clear" in s.body for s in h.private(contact)) == 1


async def test_check_mark_reaction_on_alert_acknowledges(h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.advance(16 * 60)
    [alert] = [s for s in h.private(CAROL) if "Safety alert" in s.body]
    # ✔ as another client sends it (no variation selector, a space): read as ✔️ (core.reactions).
    await h.react(await h.dm(CAROL), CAROL, alert.event_id, "✔ ")
    assert any("taking care of the alert" in s.body and CAROL in s.body for s in h.private(BOB))


async def test_duress_answer_is_identical_and_alert_is_urgent(h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.reply(dm, ALICE, "!safepin set 1234")
    await h.reply(dm, ALICE, "!duress set 9911")
    await h.reply(dm, ALICE, "!checkin 2h border crossing")
    normal = await h.reply(dm, ALICE, "!safe 1234")
    await h.reply(dm, ALICE, "!checkin 2h border crossing")
    forced = await answer(h, dm, ALICE, "!safe 9911")
    seen_in_dm = len(sent_to(h, dm))
    strip = {k: v for k, v in normal.content.items() if k != "m.relates_to"}
    assert {k: v for k, v in forced.content.items() if k != "m.relates_to"} == strip
    [urgent] = alerts_to(h, BOB)
    assert "URGENT" in urgent and "border crossing" in urgent
    # Whoever holds the phone sees no running check-in and no trace of the alert.
    status = await h.reply(dm, ALICE, "!checkin status")
    assert "no check-in running" in status.body
    assert sent_to(h, dm)[seen_in_dm:] == [status]


async def test_duress_without_checkin_and_with_normal_pin(h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.reply(dm, ALICE, "!safepin set 1234")
    await h.reply(dm, ALICE, "!duress set 5678")
    assert "followed by your PIN" in (await h.reply(dm, ALICE, "!checkin 1h x") and
                                      await h.reply(dm, ALICE, "!safe")).body
    wrong = await h.reply(dm, ALICE, "!safe 0000")
    assert "isn't right" in wrong.body
    assert "Glad" in (await h.reply(dm, ALICE, "!safe 1234")).body
    plain = await h.reply(dm, ALICE, "!safe 1234")
    forced = await answer(h, dm, ALICE, "!safe 5678")
    assert plain.body == forced.body == "You have no check-in running."
    assert len(alerts_to(h, BOB)) == 1 and "URGENT" in alerts_to(h, BOB)[0]


async def test_wrong_pin_answer_gives_no_hint_and_alarm_still_goes(h: PluginHarness) -> None:
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
    async with checkins(tmp_path, config={"bot": {"require_encryption": False}}) as h:
        await _refused_while_unencrypted(h)


async def _refused_while_unencrypted(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    h.homeserver.room(dm).encrypted = False
    for line in ("!checkin 2h at the station", "!safepin set 1234", f"!contacts add {BOB}",
                 "!safe", "!extend 30m", "!cancel", "!confirm 1234", "!duress set 5678"):
        reply = await answer(h, dm, ALICE, line)
        assert "only work in a private encrypted chat" in reply.body, line
    hellos = [s for s in sent_to(h, dm) if "our private chat for safety check-ins" in s.body]
    assert len(hellos) == 1
    assert await h.db.fetchone("SELECT 1 FROM checkins_checkins") is None
    assert await h.db.fetchone("SELECT 1 FROM checkins_members") is None
    assert await h.db.fetchone("SELECT 1 FROM checkins_contacts") is None
    # The same member in an encrypted DM is let through.
    h.homeserver.room(dm).encrypted = True
    assert "Check-in set" in (await h.reply(dm, ALICE, "!checkin 2h")).body


async def test_a_refused_pin_changes_nothing_and_the_pin_message_goes(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    await h.reply(dm, ALICE, "!safepin set 1234")
    await h.reply(dm, ALICE, "!checkin 2h")
    deadline = (await h.db.fetchone("SELECT deadline FROM checkins_checkins"))["deadline"]
    for line, key in (("!safe", "send !safe followed by your PIN"),
                      ("!safe 9999", "Try !safe again"), ("!extend 30m 9999", "Try !extend again"),
                      ("!cancel 9999", "Try !cancel again")):
        before = len(redacted(h))
        assert key in (await h.reply(dm, ALICE, line)).body, line
        # The PIN's message is deleted whether it was right or not (none given: none deleted).
        assert len(redacted(h)) == before + (line != "!safe")
    row = await h.db.fetchone("SELECT state, deadline FROM checkins_checkins")
    assert row["state"] == "active" and row["deadline"] == deadline
    assert "Glad you're safe" in (await h.reply(dm, ALICE, "!safe 1234")).body


async def test_bot_down_across_deadline_escalates_once_on_restart_and_says_late(
        h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.restart(advance=2 * 3600)
    [alert] = alerts_to(h, BOB)
    assert "late" in alert
    await h.restart(advance=60)
    assert len(alerts_to(h, BOB)) == 1


async def test_crash_mid_escalation_reruns_without_duplicates(h: PluginHarness) -> None:
    """The job's handler committed, the process died before the job was deleted and sent."""
    dm = await accepted_contacts(h, ALICE, BOB, CAROL)
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.outbox.stop()  # "kill -9": nothing delivered yet
    await h.clock.advance(16 * 60)
    original = plugin(h).escalator.escalate
    calls = 0

    async def escalate_then_die(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        await original(*args, **kwargs)
        raise SystemExit  # dies after its transaction, before the scheduler deletes the job

    plugin(h).escalator.escalate = escalate_then_die  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await h.scheduler.run_due()
    assert calls == 1
    job = await h.db.fetchone("SELECT payload FROM core_jobs WHERE kind = 'escalate'")
    assert job is not None and "__started" in job["payload"]
    await h.restart()
    for contact in (BOB, CAROL):
        assert len(alerts_to(h, contact)) == 1


async def test_failed_contact_dm_falls_back_to_team_room(tmp_path: Path) -> None:
    h = checkins(tmp_path, {"team_room": TEAM, "escalation": "contacts_then_team"})
    h.room(TEAM, [CAROL, BYSTANDER])
    async with h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.reply(dm, ALICE, "!checkin 10m")
        h.homeserver.forbid(await h.dm(BOB), "send")
        await h.advance(16 * 60)
        team = [s.body for s in sent_to(h, TEAM)]
        assert len(team) == 1 and "Safety alert" in team[0]
        await h.advance(3600)  # the team step itself adds nothing: same recipient already has it
        assert len([s for s in sent_to(h, TEAM) if "Safety alert" in s.body]) <= 2


async def test_team_alerted_after_delay_unless_acknowledged(tmp_path: Path) -> None:
    h = checkins(tmp_path, {"team_room": TEAM, "team_after_minutes": 15})
    h.room(TEAM, [CAROL, BYSTANDER])
    async with h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.reply(dm, ALICE, "!checkin 10m")
        await h.advance(16 * 60)
        assert sent_to(h, TEAM) == []
        await h.advance(15 * 60)
        [team_alert] = sent_to(h, TEAM)
        reply = await answer(h, TEAM, CAROL, f"!onit {team_alert.body.split('(Alert ')[1][:6]}")
        assert "The others know" in reply.body
        assert any("taking care of the alert" in s.body for s in h.private(BOB))


async def test_checkin_in_a_group_room_is_removed_there_and_answered_in_the_dm(
        h: PluginHarness) -> None:
    # Found: `!checkin 3h at the safe house on <street>` typed in a group got a
    # public reply, and the message stayed visible although the bot could redact it.
    room = h.room("!group:test", [ALICE, BOB], bot_level=50).room_id
    typed = await h.send(room, ALICE, "!checkin 2h secret plans")
    assert sent_to(h, room) == []
    assert typed.event_id in redacted(h)
    answers = [sent.body for sent in h.private(ALICE)]
    assert any("removed it there" in body for body in answers), answers
    assert any("Check-in started" in body or "check-in" in body.lower() for body in answers)


async def test_bad_input_gets_clear_answers(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
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


async def test_clock_time_in_member_timezone(h: PluginHarness) -> None:
    dm = await h.dm(ALICE)
    await h.reply(dm, ALICE, "!timezone Europe/Istanbul")
    reply = await h.reply(dm, ALICE, "!checkin 23:59")
    assert "23:59 (Europe/Istanbul)" in reply.body


async def test_extend_moves_the_alert(h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.reply(dm, ALICE, "!checkin 10m")
    assert "Extended" in (await h.reply(dm, ALICE, "!extend 1h")).body
    await h.advance(30 * 60)
    assert alerts_to(h, BOB) == []
    await h.advance(50 * 60)
    assert len(alerts_to(h, BOB)) == 1


async def test_arabic_reader_gets_arabic_alert(h: PluginHarness) -> None:
    dm = await accepted_contacts(h, ALICE, BOB)
    await h.set_language(BOB, "ar")
    await h.reply(dm, ALICE, "!checkin 10m")
    await h.advance(16 * 60)
    [alert] = [s.body for s in h.private(BOB) if "تنبيه" in s.body]
    assert "لم يصل تأكيد السلامة من" in alert


async def test_note_never_reaches_logs(h: PluginHarness, caplog: pytest.LogCaptureFixture) -> None:
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


async def test_rollcall_lists_non_responders_to_organizer(h: PluginHarness) -> None:
    room = h.room("!action:test", {ORGANIZER: 50, ALICE: 0, BOB: 0, CAROL: 0}).room_id
    refused = await h.reply(room, ALICE, "!rollcall 30m")
    assert "Only organizers" in refused.body
    await h.send(room, ORGANIZER, "!rollcall 30m after the march")
    [call] = [s for s in h.homeserver.messages(room) if "Roll call from" in s.body]
    assert "after the march" in call.body
    assert "marked present" in (await h.reply(room, ALICE, "!here")).body
    await h.react(room, BOB, call.event_id, "✅")
    await h.advance(15 * 60 + 1)
    assert any("Roll call in" in s.body for s in h.private(CAROL))
    assert not any("Roll call in" in s.body for s in h.private(ALICE))
    await h.advance(15 * 60)
    [report] = [s.body for s in h.private(ORGANIZER) if "is over" in s.body]
    assert CAROL in report and ALICE not in report and BOB not in report
    assert "3 of 4 answered" in report
    assert any("Roll call closed: 3 of 4" in s.body for s in h.homeserver.messages(room))


async def test_crash_after_escalation_still_schedules_the_team_step(tmp_path: Path) -> None:
    h = checkins(tmp_path, {"team_room": TEAM, "team_after_minutes": 15})
    h.room(TEAM, [CAROL, BYSTANDER])
    async with h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.reply(dm, ALICE, "!checkin 10m")
        await h.clock.advance(16 * 60)
        original = plugin(h).escalator.escalate

        async def escalate_then_die(*args, **kwargs):  # type: ignore[no-untyped-def]
            await original(*args, **kwargs)
            raise SystemExit

        plugin(h).escalator.escalate = escalate_then_die  # type: ignore[method-assign]
        with pytest.raises(SystemExit):
            await h.scheduler.run_due()
        await h.restart()
        assert len(alerts_to(h, BOB)) == 1
        assert [j.kind for j in await h.scheduler.pending("checkins", "team")] == ["team"]
        await h.advance(15 * 60)
        assert len([s for s in sent_to(h, TEAM) if "Safety alert" in s.body]) == 1
