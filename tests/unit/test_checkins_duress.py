"""Duress is indistinguishable: everything the member's client shows, normal PIN vs duress PIN.

Each test runs one script twice on fresh bots, once with the normal PIN at the
forced step and once with the duress PIN, and compares every event the bot put
in the member's DM (type, content, relations, order; redactions and their
reasons included, and any other action in that room), with event ids replaced
by their place in the DM. The duress run must also have sent the urgent alarm
exactly once, the normal run never.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from core.testing import BOT, MemoryHomeserver, PluginHarness
from tests.unit.checkins_helpers import (
    ALICE,
    BOB,
    BYSTANDER,
    CAROL,
    TEAM,
    accepted_contacts,
    checkins,
    plugin,
    redacted,
    sent_to,
)

NORMAL = "1234"
DURESS = "9911"

Step = str | float  # a command (with {P}: the PIN under test), or seconds to wait
# A step: the member's account identity changes (core holds them for sensitive plugins).
HOLD = "<identity changed>"


class RecordingHomeserver(MemoryHomeserver):
    """The kit's homeserver, also keeping sends and redactions in one list, in order.

    MemoryHomeserver records sends (`sent`) and other actions (`calls`) apart;
    a member's client shows them interleaved, so the order between the two is
    compared too.
    """

    def __init__(self, bot_user_id: str) -> None:
        super().__init__(bot_user_id)
        self.timeline: list[tuple[str, str, str, Any]] = []  # (action, room, type, payload)
        self._recorded: set[str] = set()

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        event_id = await super().send_event(room_id, event_type, content, txn_id)
        if event_id not in self._recorded:  # a repeated transaction is dropped, as Synapse does
            self._recorded.add(event_id)
            self.timeline.append(("send", room_id, event_type,
                                  {"event_id": event_id, "content": content}))
        return event_id

    async def redact(self, room_id: str, event_id: str, reason: str | None = None,
                     txn_id: str | None = None) -> None:
        await super().redact(room_id, event_id, reason, txn_id)
        self.timeline.append(("redact", room_id, "m.room.redaction",
                              {"redacts": event_id, "reason": reason}))


def member_view(h: PluginHarness, dm: str) -> list[tuple[str, str]]:
    """What the member's client shows in the DM, with event ids made comparable.

    The member's own events and the bot's in the DM are named by their place
    ("<in 3>", "<bot 5>"): the runs differ in what the bot sent elsewhere, so
    the homeserver's ids do. Any id from outside the DM stays as it is.
    """
    homeserver = h.homeserver
    assert isinstance(homeserver, RecordingHomeserver)
    names = {event.event_id: f"<in {index}>"
             for index, event in enumerate(homeserver.room(dm).events)}
    names |= {sent.event_id: f"<bot {index}>" for index, sent in enumerate(sent_to(h, dm))}
    view = []
    for action, room, event_type, payload in homeserver.timeline:
        if room != dm:
            continue
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
        for event_id, name in names.items():
            text = text.replace(f'"{event_id}"', f'"{name}"')
        view.append((f"{action} {event_type}", text))
    # Anything else the bot did in the DM (state, membership, power levels) counts too.
    view += [(call.action, call.target) for call in homeserver.calls
             if call.room_id == dm and call.action != "redact"]
    return view


def urgent_alerts(h: PluginHarness) -> list[str]:
    return [s.body for s in h.homeserver.sent if "URGENT" in s.body]


async def run(tmp_path: Path, name: str, steps: Sequence[Step], pin: str, *,
              plugin_config: dict[str, object] | None = None,
              ) -> tuple[list[tuple[str, str]], list[str], PluginHarness]:
    settings = {"reminder_minutes": 10, "grace_minutes": 5, **(plugin_config or {})}
    data_dir = tmp_path / name  # each run a fresh bot, with its own database
    data_dir.mkdir()
    h = checkins(data_dir, settings, homeserver=RecordingHomeserver(BOT))
    if plugin_config and "team_room" in plugin_config:
        h.room(TEAM, [CAROL, BYSTANDER])
    async with h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.send(dm, ALICE, f"!safepin set {NORMAL}")
        await h.send(dm, ALICE, f"!duress set {DURESS}")
        for step in steps:
            if step == HOLD:
                await h.runtime.holds.hold(ALICE, h.clock.now())
            elif isinstance(step, str):
                await h.send(dm, ALICE, step.replace("{P}", pin))
            else:
                await h.advance(step)
        return member_view(h, dm), urgent_alerts(h), h


async def compare(tmp_path: Path, steps: Sequence[Step], recipients: int = 1,
                  **kwargs: object) -> list[str]:
    """Assert both runs look the same to the member; returns the duress run's urgent alerts.

    The alarm goes out once to each of `recipients` (Bob, and the team room when set).
    """
    normal_view, normal_urgent, _ = await run(tmp_path, "normal", steps, NORMAL, **kwargs)  # type: ignore[arg-type]
    duress_view, duress_urgent, _ = await run(tmp_path, "duress", steps, DURESS, **kwargs)  # type: ignore[arg-type]
    assert normal_urgent == []
    assert duress_view == normal_view
    assert len(duress_urgent) == recipients, duress_urgent
    return duress_urgent


SCRIPTS: dict[str, list[Step]] = {
    # The reported case: after `!extend 30m <duress>` status said "no check-in running"
    # and the reminder never came.
    "extend, status, reminder, safe": [
        "!checkin 1h meeting at the old bakery", "!extend 30m {P}", "!checkin status",
        60 * 60 + 25 * 60, "!checkin status", f"!safe {NORMAL}", "!checkin status"],
    "extend then the deadline is missed": [
        "!checkin 20m", "!extend 30m {P}", 20 * 60, 31 * 60 + 5 * 60, "!checkin status",
        f"!extend 10m {NORMAL}", f"!cancel {NORMAL}", f"!safe {NORMAL}", "!checkin status"],
    # A mistyped duration or a deadline too far returned before the PIN was checked.
    "extend with a mistyped duration": [
        "!checkin 1h", "!extend soon {P}", "!checkin status", f"!safe {NORMAL}"],
    "extend too far": ["!checkin 1h", "!extend 999h {P}", "!checkin status"],
    "extend without a check-in": ["!extend 30m {P}", "!checkin status", "!checkin 1h"],
    "cancel": ["!checkin 1h", "!cancel {P}", "!checkin status", 2 * 3600, "!checkin 1h",
               "!checkin status", f"!safe {NORMAL}"],
    "safe": ["!checkin 1h x", "!safe {P}", "!checkin status", 2 * 3600, "!checkin 2h",
             f"!safe {NORMAL}"],
    "safe after the alert went out": ["!checkin 10m", 16 * 60, "!checkin status", "!safe {P}",
                                      "!checkin status", "!checkin 1h"],
    "safe without a check-in": ["!safe {P}", "!checkin status", "!checkin 1h", "!checkin status"],
    "the duress PIN used twice in one check-in": [
        "!checkin 1h", "!extend 30m {P}", "!extend 30m {P}", "!checkin status", "!safe {P}"],
    # Whoever took over the account with a new login has the member confirm it:
    # with the duress PIN, the alarm goes out and everything looks confirmed.
    "held after an identity change, then safe": [
        "!checkin 1h", HOLD, "!checkin status", "!safe {P}", "!checkin status", "!checkin 1h",
        "!checkin status"],
    "held after an identity change, then confirm": [
        "!checkin 1h", HOLD, "!confirm {P}", "!checkin status", f"!safe {NORMAL}"],
    "PIN cleared under pressure": [
        "!checkin 1h", "!safepin clear {P}", "!safe", "!checkin status", "!checkin 1h",
        "!cancel"],
}


@pytest.mark.parametrize("name", list(SCRIPTS))
async def test_duress_looks_exactly_like_the_normal_pin(tmp_path: Path, name: str) -> None:
    [alarm] = await compare(tmp_path, SCRIPTS[name])
    assert ALICE in alarm


async def test_duress_alarm_reaches_the_team_at_once_and_nothing_reaches_the_member(
        tmp_path: Path) -> None:
    steps: list[Step] = ["!checkin 1h crossing at the north gate", "!extend 30m {P}"]
    await compare(tmp_path, steps, recipients=2, plugin_config={"team_room": TEAM})
    _, _, h = await run(tmp_path, "again", steps, DURESS, plugin_config={"team_room": TEAM})
    team = [s.body for s in sent_to(h, TEAM)]
    bob = [s.body for s in h.private(BOB) if "URGENT" in s.body]
    assert len(team) == 1 and "URGENT" in team[0] and "north gate" in team[0]
    assert len(bob) == 1 and "north gate" in bob[0]


async def test_bare_safe_cannot_close_a_checkin_of_a_member_with_only_a_duress_pin(
        tmp_path: Path) -> None:
    """Set before a PIN was required for it (or by hand): a bare `!safe` must not close."""
    async with checkins(tmp_path) as h:
        dm = await accepted_contacts(h, ALICE, BOB)
        refused = await h.reply(dm, ALICE, f"!duress set {DURESS}")
        assert "First set your own PIN" in refused.body
        from bots.checkins.pins import hash_pin
        await plugin(h).store.set_member_field(ALICE, "duress_hash", await hash_pin(DURESS))
        await h.reply(dm, ALICE, "!checkin 1h")
        assert "followed by your PIN" in (await h.reply(dm, ALICE, "!safe")).body
        assert "runs until" in (await h.reply(dm, ALICE, "!checkin status")).body


async def test_pin_commands_leave_nothing_that_tells_a_duress_pin_exists(tmp_path: Path) -> None:
    async with checkins(tmp_path) as h:
        dm = await h.dm(ALICE)
        safe_set = await h.reply(dm, ALICE, f"!safepin set {NORMAL}")
        duress_set = await h.reply(dm, ALICE, f"!duress set {DURESS}")
        assert safe_set.body == duress_set.body == "PIN saved."
        usage = [(await h.reply(dm, ALICE, command)).body for command in ("!duress", "!safepin")]
        assert usage[0] == usage[1]
        history = " ".join(s.body for s in sent_to(h, dm)).lower()
        for word in ("duress", "forced", "alert", "delete"):
            assert word not in history
        # Every PIN command's message is deleted, with or without a PIN in it.
        assert len(redacted(h)) == 4
        # The explanation is in the help.
        explained = (await h.reply(dm, ALICE, "!help duress")).body
        assert "urgent alert" in explained and "safepin set" in explained
        cleared = await h.reply(dm, ALICE, f"!duress clear {DURESS}")
        assert cleared.body == "PIN removed."


async def test_a_held_member_is_refused_until_they_confirm_with_their_safe_pin(
        tmp_path: Path) -> None:
    async with checkins(tmp_path, {"reminder_minutes": 10, "grace_minutes": 5}) as h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.send(dm, ALICE, f"!safepin set {NORMAL}")
        await h.runtime.holds.hold(ALICE, h.clock.now())
        async def answer(command: str) -> str:
            return " ".join(sent.body for sent in (await h.send(dm, ALICE, command)).replies)

        assert "on hold" in await answer("!contacts")
        assert "on hold" in await answer("!checkin 1h")
        assert "isn't right" in await answer("!confirm 0000")
        assert await h.runtime.holds.is_held(ALICE)
        assert "confirmed" in await answer(f"!confirm {NORMAL}")
        assert not await h.runtime.holds.is_held(ALICE)
        assert "on hold" not in await answer("!checkin 1h")
