"""Safety check-ins against a real Synapse with real E2EE members; the test owns the clock."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bots.admin import AdminPlugin
from bots.checkins import CheckinsPlugin
from core.bot import Bot
from core.clock import ManualClock
from core.config import Config
from core.homeserver import LocalSynapse
from core.matrix.member import Member, Received
from core.plugin import message_content
from tests.integration.conftest import RunningBot, room_with_bot, unique

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

ALERT = "Safety alert"


@dataclass
class ClockedBot(RunningBot):
    """A RunningBot whose time only moves when the test says so."""

    clock: ManualClock = field(default_factory=ManualClock)

    async def start(self) -> None:
        self.bot = Bot(self.config, plugins=self.plugins, clock=self.clock)
        await self.bot.start()
        self.task = asyncio.create_task(self.bot.run())
        await asyncio.wait_for(self.bot.connection.synced.wait(), 30)

    async def advance(self, seconds: float) -> None:
        """Move time on, fire what became due, and wait for the sends it queued."""
        assert self.bot is not None
        await self.clock.advance(seconds)
        await self.bot.scheduler.run_due()
        await self.idle()

    async def idle(self) -> None:
        assert self.bot is not None
        await asyncio.wait_for(self.bot.outbox.idle(), 90)

    async def restart_at(self, advance: float) -> None:
        """Stop, let `advance` seconds pass while down, start again on the same data."""
        await self.stop()
        self.clock = ManualClock(self.clock.now() + advance)
        await self.start()


@pytest.fixture
async def make_checkins_bot(
    synapse: LocalSynapse, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[ClockedBot]]]:
    bots: list[ClockedBot] = []

    async def factory(**checkins: Any) -> ClockedBot:
        name = unique("ckbot")
        password = "bot-password-" + name
        await synapse.register(name, password)
        secrets_dir = tmp_path / name
        secrets_dir.mkdir()
        (secrets_dir / "password").write_text(password)
        (secrets_dir / "passphrase").write_text("test store passphrase")
        config = Config.model_validate({
            "matrix": {"homeserver": synapse.url, "user_id": f"@{name}:localhost",
                       "password": {"file": str(secrets_dir / "password")}},
            "storage": {"data_dir": str(secrets_dir / "data"),
                        "store_passphrase": {"file": str(secrets_dir / "passphrase")}},
            # The clock stands still, so the per-member rate limit window never ends.
            "bot": {"invites": {"allowed_servers": ["localhost"]},
                    "rate_limit": {"commands": 10_000, "window_seconds": 1}},
            # nio test members are not cross-signed (test_trust.py covers the real policy).
            "crypto": {"trust": "all"},
            "plugins": {"checkins": {"grace_minutes": 5, "reminder_minutes": 0, **checkins}},
        })
        running = ClockedBot(config, [AdminPlugin, CheckinsPlugin])
        bots.append(running)
        await running.start()
        return running

    try:
        yield factory
    finally:
        for running in bots:
            await running.stop()


def from_bot(bot: ClockedBot, text: str) -> Callable[[Received], bool]:
    return lambda m: m.sender == bot.user_id and text in m.body


def count(member: Member, bot: ClockedBot, text: str) -> int:
    return sum(1 for m in member.received if m.sender == bot.user_id and text in m.body)


async def dm_with(member: Member, bot: ClockedBot) -> str:
    """An encrypted, unnamed room with only the member and the bot: their DM, as a client makes it."""
    return await room_with_bot(member, bot, name="")


async def befriend(bot: ClockedBot, owner: Member, owner_dm: str, *contacts: Member) -> None:
    """`owner` adds each contact, who accepts in the DM the bot opened with them."""
    for contact in contacts:
        answer = await owner.ask(owner_dm, f"!contacts add {contact.user_id}")
        assert "Request sent" in answer.body
        request = await contact.wait_for(
            lambda m, o=owner: m.sender == bot.user_id and o.user_id in m.body
            and "trusted contacts" in m.body, 60)
        assert request.encrypted
        accepted = await contact.ask(request.room_id, f"!contacts accept {owner.user_id}", 60)
        assert "Thank you" in accepted.body


def alert_id(message: Received) -> str:
    return message.body.split("(Alert ")[1].split(")")[0]


async def test_checkin_then_safe_alerts_nobody(make_checkins_bot, make_member) -> None:
    bot = await make_checkins_bot()
    alice, bob = await make_member(), await make_member()
    dm = await dm_with(alice, bot)
    await befriend(bot, alice, dm, bob)
    set_reply = await alice.ask(dm, "!checkin 2h protest at the square")
    assert set_reply.encrypted and "Check-in set" in set_reply.body
    assert "Glad you're safe" in (await alice.ask(dm, "!safe")).body
    await bot.advance(3 * 3600)
    assert bot.bot is not None
    assert await bot.bot.scheduler.pending("checkins", "escalate") == []
    assert await bot.bot.outbox.items("checkins", "alert/") == []
    row = await bot.bot.db.fetchone("SELECT note, state FROM checkins_checkins")
    assert row is not None and row["state"] == "resolved" and row["note"] is None
    assert count(bob, bot, ALERT) == 0


async def test_missed_checkin_alerts_contacts_once_then_ack_and_all_clear(
    make_checkins_bot, make_member
) -> None:
    bot = await make_checkins_bot()
    alice, bob, carol = await make_member(), await make_member(), await make_member()
    dm = await dm_with(alice, bot)
    await befriend(bot, alice, dm, bob, carol)
    await alice.ask(dm, "!checkin 10m first date, cafe on 5th street")
    await bot.advance(16 * 60)
    bob_alert = await bob.wait_for(from_bot(bot, ALERT), 60)
    carol_alert = await carol.wait_for(from_bot(bot, ALERT), 60)
    for alert in (bob_alert, carol_alert):
        assert alert.encrypted and alice.user_id in alert.body
        assert "cafe on 5th street" in alert.body
    await bot.advance(3600)  # nothing more is due: still one alert each
    assert count(bob, bot, ALERT) == 1 and count(carol, bot, ALERT) == 1
    thanks = await bob.ask(bob_alert.room_id, f"!onit {alert_id(bob_alert)}", 60)
    assert "The others know" in thanks.body
    on_it = await carol.wait_for(from_bot(bot, "taking care of the alert"), 60)
    assert bob.user_id in on_it.body
    assert "told everyone" in (await alice.ask(dm, "!safe")).body
    await bob.wait_for(from_bot(bot, "All clear"), 60)
    await carol.wait_for(from_bot(bot, "All clear"), 60)
    await bot.idle()
    assert count(bob, bot, "All clear") == 1 and count(carol, bot, "All clear") == 1


async def test_duress_answer_is_byte_identical_and_contacts_get_urgent_alert(
    make_checkins_bot, make_member
) -> None:
    bot = await make_checkins_bot()
    alice, bob = await make_member(), await make_member()
    dm = await dm_with(alice, bot)
    await befriend(bot, alice, dm, bob)
    assert (await alice.ask(dm, "!safepin set 5280")).body == "PIN saved."
    assert (await alice.ask(dm, "!duress set 7391")).body == "PIN saved."
    await alice.ask(dm, "!checkin 2h crossing at the north gate")
    normal = await alice.ask(dm, "!safe 5280")
    await alice.ask(dm, "!checkin 2h crossing at the north gate")
    forced = await alice.ask(dm, "!safe 7391")

    def shown(message: Received) -> dict[str, Any]:
        return {k: v for k, v in message.content.items() if k != "m.relates_to"}

    assert shown(forced) == shown(normal)
    assert forced.body.encode() == normal.body.encode()
    urgent = await bob.wait_for(from_bot(bot, "URGENT"), 60)
    assert "north gate" in urgent.body and alice.user_id in urgent.body
    status = await alice.ask(dm, "!checkin status")
    assert "no check-in running" in status.body


async def test_bot_stopped_across_deadline_escalates_once_on_restart(
    make_checkins_bot, make_member
) -> None:
    bot = await make_checkins_bot()
    alice, bob = await make_member(), await make_member()
    dm = await dm_with(alice, bot)
    await befriend(bot, alice, dm, bob)
    await alice.ask(dm, "!checkin 10m")
    await bot.restart_at(advance=2 * 3600)  # down across deadline and grace
    alert = await bob.wait_for(from_bot(bot, ALERT), 90)
    assert "late" in alert.body
    await bot.idle()
    await bot.restart_at(advance=60)
    await bot.advance(60)
    assert count(bob, bot, ALERT) == 1


class DieAfterDelivery:
    """Room actions that let the homeserver accept one alert, then freeze like a killed process.

    The outbox has sent the event but not recorded it: exactly the state a
    `kill -9` between the two leaves behind.
    """

    def __init__(self, actions: Any) -> None:
        self.actions = actions
        self.delivered = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.actions, name)

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        event_id = await self.actions.send_event(room_id, event_type, content, txn_id)
        if ALERT in str(content.get("body", "")):
            self.delivered.set()
            await asyncio.Event().wait()  # never returns: the process is "dead"
        return str(event_id)


async def test_crash_between_alert_send_and_its_record_sends_no_duplicate(
    make_checkins_bot, make_member
) -> None:
    bot = await make_checkins_bot()
    alice, bob = await make_member(), await make_member()
    dm = await dm_with(alice, bot)
    await befriend(bot, alice, dm, bob)
    await alice.ask(dm, "!checkin 10m")
    assert bot.bot is not None
    dying = DieAfterDelivery(bot.bot.outbox.actions)
    bot.bot.outbox.actions = dying  # type: ignore[assignment]
    await bot.clock.advance(16 * 60)
    await bot.bot.scheduler.run_due()
    await asyncio.wait_for(dying.delivered.wait(), 60)
    item = await bot.bot.outbox.items("checkins", "alert/")
    assert [i.state for i in item] == ["queued"]  # sent, but not recorded as sent
    first = await bob.wait_for(from_bot(bot, ALERT), 60)
    await bot.restart_at(advance=60)  # the resend reuses the transaction id
    await bot.idle()
    assert bot.bot is not None
    [item] = await bot.bot.outbox.items("checkins", "alert/")
    # The homeserver recognised the transaction and answered with the first event.
    assert item.state == "sent" and item.event_id == first.event_id
    # A later message in the same DM: once Bob has it, a duplicate would have arrived before.
    await bot.bot.outbox.enqueue("test", "marker", message_content("marker"), user_id=bob.user_id)
    await bob.wait_for(from_bot(bot, "marker"), 60)
    assert count(bob, bot, ALERT) == 1


async def test_rollcall_lists_non_responders_to_the_organizer(make_checkins_bot, make_member) -> None:
    bot = await make_checkins_bot()
    organizer, alice, bob = await make_member(), await make_member(), await make_member()
    room = await room_with_bot(organizer, bot)
    for member in (alice, bob):
        await organizer.client.room_invite(room, member.user_id)
        await member.wait_member(room, member.user_id)
        await organizer.wait_member(room, member.user_id)
    assert bot.bot is not None

    async def bot_sees_everyone() -> None:
        while not {alice.user_id, bob.user_id} <= set(bot.bot.connection.members(room)):  # type: ignore[union-attr]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(bot_sees_everyone(), 30)
    await organizer.send(room, "!rollcall 30m after the march")
    call = await alice.wait_for(from_bot(bot, "Roll call from"), 60)
    assert "after the march" in call.body
    assert "marked present" in (await alice.ask(room, "!here", 60)).body
    await bot.advance(15 * 60 + 1)
    nudge = await bob.wait_for(from_bot(bot, "Roll call in"), 60)
    assert nudge.room_id != room
    await bot.advance(15 * 60)
    report = await organizer.wait_for(from_bot(bot, "is over"), 60)
    assert report.room_id != room
    assert bob.user_id in report.body and alice.user_id not in report.body
    closed = await alice.wait_for(from_bot(bot, "Roll call closed"), 60)
    assert bob.user_id not in closed.body


async def test_checkin_in_a_group_room_is_answered_only_in_the_dm(
        make_checkins_bot, make_member) -> None:
    bot = await make_checkins_bot()
    alice, bob = await make_member(), await make_member()
    room = await room_with_bot(alice, bot)
    await alice.client.room_invite(room, bob.user_id)
    await bob.wait_member(room, bob.user_id)
    assert bot.bot is not None

    async def bot_sees_bob() -> None:
        while bob.user_id not in bot.bot.connection.members(room):  # type: ignore[union-attr]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(bot_sees_bob(), 30)
    typed = await alice.send(room, "!checkin 2h meeting at the safehouse")
    # The answer comes in the DM, never in the group (Bob reads nothing of it).
    moved = await alice.wait_for(from_bot(bot, "private command"), 60)
    assert moved.room_id != room and moved.encrypted
    assert not [m for m in bob.received if m.sender == bot.user_id]
    assert not [m for m in alice.received if m.reply_to == typed and m.room_id == room]


@dataclass
class BotProcess:
    """The bot in a child process (tests/integration/checkins_helpers.py), killable with SIGKILL."""

    user_id: str
    config_path: Path
    clock_path: Path
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.checkins_helpers",
            str(self.config_path), str(self.clock_path),
            stdout=asyncio.subprocess.PIPE, stderr=log, cwd=str(ROOT))
        log.close()
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 90)
        assert line.strip() == b"ready", self.log_path.read_text(errors="replace")[-2000:]

    def advance(self, seconds: float) -> None:
        self.clock_path.write_text(repr(float(self.clock_path.read_text()) + seconds))

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()  # SIGKILL: no shutdown code runs
            await self.process.wait()


async def test_kill_9_during_escalation_sends_no_duplicates(
    synapse: LocalSynapse, make_member, tmp_path: Path
) -> None:
    name = unique("ckproc")
    password = "bot-password-" + name
    await synapse.register(name, password)
    (tmp_path / "password").write_text(password)
    (tmp_path / "passphrase").write_text("test store passphrase")
    config = {
        "matrix": {"homeserver": synapse.url, "user_id": f"@{name}:localhost",
                   "password": {"file": str(tmp_path / "password")}},
        "storage": {"data_dir": str(tmp_path / "data"),
                    "store_passphrase": {"file": str(tmp_path / "passphrase")}},
        # Alerts are safety sends (outbox priority SAFETY: 4 slots, not paced), so
        # more contacts than slots: a kill right after the first alert lands
        # mid-escalation. One bulk send a second keeps the rest slow.
        "bot": {"invites": {"allowed_servers": ["localhost"]},
                "rate_limit": {"commands": 10_000, "window_seconds": 1},
                "outbox": {"per_second": 1}},
        "crypto": {"trust": "all"},
        "plugins": {"checkins": {"grace_minutes": 5, "reminder_minutes": 0}},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "clock").write_text(repr(1_700_000_000.0))
    bot = BotProcess(f"@{name}:localhost", tmp_path / "config.json", tmp_path / "clock",
                     tmp_path / "bot.log")
    try:
        await bot.start()
        alice = await make_member()
        contacts = [await make_member() for _ in range(9)]
        dm = await alice.create_room(invite=[bot.user_id], name="")  # a DM is unnamed
        await alice.wait_member(dm, bot.user_id, 60)
        await befriend(bot, alice, dm, *contacts)  # type: ignore[arg-type]
        await alice.ask(dm, "!checkin 10m", 60)
        bot.advance(16 * 60)
        firsts = [asyncio.ensure_future(c.wait_for(from_bot(bot, ALERT), 90))  # type: ignore[arg-type]
                  for c in contacts]
        await asyncio.wait(firsts, return_when=asyncio.FIRST_COMPLETED)
        await bot.kill()
        before_kill = sum(1 for c in contacts if count(c, bot, ALERT))  # type: ignore[arg-type]
        assert before_kill < len(contacts)  # killed during the escalation, not after it
        await bot.start()
        await asyncio.wait_for(asyncio.gather(*firsts), 120)
        # Each contact's next exchange with the bot comes after anything resent at start.
        for contact, first in zip(contacts, firsts, strict=True):
            status = await contact.ask(first.result().room_id, "!checkin status", 60)
            assert "no check-in running" in status.body
        for contact in contacts:
            assert count(contact, bot, ALERT) == 1, before_kill  # type: ignore[arg-type]
    finally:
        await bot.kill()


async def test_safety_team_room_after_contacts_and_check_mark_ack(
    make_checkins_bot, make_member
) -> None:
    bot = await make_checkins_bot(team_after_minutes=15)
    alice, bob, responder = await make_member(), await make_member(), await make_member()
    team_room = await room_with_bot(responder, bot)
    # The network's admins name the team room in config; the bot reads it at start.
    await bot.stop()
    blocks = {**bot.config.plugins, "checkins": {**bot.config.plugins["checkins"],
                                                 "team_room": team_room}}
    bot.config = bot.config.model_copy(update={"plugins": blocks})
    await bot.start()
    dm = await dm_with(alice, bot)
    await befriend(bot, alice, dm, bob)
    await alice.ask(dm, "!checkin 10m")
    await bot.advance(16 * 60)
    await bob.wait_for(from_bot(bot, ALERT), 60)
    assert count(responder, bot, ALERT) == 0  # the team comes after the contacts
    await bot.advance(15 * 60)
    team_alert = await responder.wait_for(from_bot(bot, ALERT), 60)
    assert team_alert.room_id == team_room and team_alert.encrypted
    await responder.client.room_send(
        team_room, "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": team_alert.event_id,
                          "key": "✅"}},
        ignore_unverified_devices=True)
    on_it = await bob.wait_for(from_bot(bot, "taking care of the alert"), 60)
    assert responder.user_id in on_it.body


async def test_note_and_contact_are_not_in_the_bots_database_file(
    make_checkins_bot, make_member
) -> None:
    """Read as from a seized disk: the typed note and who Alice's contact is are sealed;
    Bob still gets the note in his alert, Alice still sees it and her contact."""
    from core.testing.disk import raw_bytes, raw_cells
    from tests.unit.test_checkins_sealed import checkins_cells

    bot = await make_checkins_bot()
    alice, bob = await make_member(), await make_member()
    dm = await dm_with(alice, bot)
    await befriend(bot, alice, dm, bob)
    note = "sleeping at Yasmin's on Qasr street"
    await alice.ask(dm, f"!checkin 10m {note}")
    assert note in (await alice.ask(dm, "!checkin status")).body
    assert bob.user_id in (await alice.ask(dm, "!contacts")).body
    await bot.advance(16 * 60)
    alert = await bob.wait_for(from_bot(bot, ALERT), 60)
    assert note in alert.body
    assert bot.bot is not None
    path = Path(bot.bot.db.path)
    cells = raw_cells(path)
    blob = raw_bytes(path)
    for word in (note, "Yasmin", "Qasr"):
        assert not any(word in cell for cell in cells), word
        assert word.encode() not in blob, word
    localpart = bob.user_id[1:].split(":")[0]
    for table, values in checkins_cells(path).items():
        assert not any(localpart in v for v in values), table


async def test_spoken_deadlines_and_a_zone_by_city(make_checkins_bot, make_member) -> None:
    bot = await make_checkins_bot()
    alice = await make_member()
    dm = await dm_with(alice, bot)
    refused = await alice.ask(dm, "!checkin later")
    assert "2 hours" in refused.body and "6pm" in refused.body
    assert "Asia/Beirut" in (await alice.ask(dm, "!timezone Beirut")).body
    set_reply = await alice.ask(dm, "!checkin 6pm meeting at the bakery")
    assert set_reply.encrypted and "18:00 (Asia/Beirut)" in set_reply.body
    assert "Extended" in (await alice.ask(dm, "!extend half an hour")).body
    assert "18:30 (Asia/Beirut)" in (await alice.ask(dm, "!checkin status")).body
    assert "Glad you're safe" in (await alice.ask(dm, "!safe")).body
    assert "(in 2 h)" in (await alice.ask(dm, "!checkin ساعتين")).body


async def reply_to(member: Member, room: str, event_id: str, body: str) -> str:
    """A reply as Element sends it: the quoted fallback, then the answer."""
    return await member.send(room, f"> <@bot> the request\n\n{body}",
                             **{"m.relates_to": {"m.in_reply_to": {"event_id": event_id}}})


async def test_contacts_answer_in_words_or_with_a_check_and_a_ghost_is_named(
    make_checkins_bot, make_member
) -> None:
    bot = await make_checkins_bot()
    alice, bob, carol, dave = (await make_member(), await make_member(), await make_member(),
                               await make_member())
    dm = await dm_with(alice, bot)
    ghost = "@ghost-" + unique("nobody") + ":localhost"
    refused = await alice.ask(dm, f"!contacts add {ghost}", 60)
    assert "can't find an account" in refused.body and ghost in refused.body
    assert "Request sent" not in refused.body

    requests = {}
    for contact in (bob, carol, dave):
        sent = await alice.ask(dm, f"!contacts add {contact.user_id}", 60)
        assert "Request sent" in sent.body
        requests[contact.user_id] = await contact.wait_for(
            lambda m: m.sender == bot.user_id and "trusted contacts" in m.body, 60)
        assert "react ✅" in requests[contact.user_id].body
    await bot.idle()  # each request's event id is recorded once its send is reported

    # Bob answers in words, Carol with ✅, Dave with something that is not a yes.
    bob_request = requests[bob.user_id]
    bob_thanks = await bob.wait_reply(
        await reply_to(bob, bob_request.room_id, bob_request.event_id, "yes of course"), 60)
    assert bob_thanks.body.startswith("Thank you. You will be alerted if")
    carol_request = requests[carol.user_id]
    await carol.client.room_send(carol_request.room_id, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": carol_request.event_id, "key": "✅"}},
        ignore_unverified_devices=True)
    await carol.wait_for(from_bot(bot, "Thank you. You will be alerted if"), 60)
    dave_request = requests[dave.user_id]
    hint = await dave.wait_reply(
        await reply_to(dave, dave_request.room_id, dave_request.event_id, "no, sorry"), 60)
    assert "didn't take that as a yes" in hint.body
    assert f"!contacts decline {alice.user_id}" in hint.body

    for contact in (bob, carol):
        told = await alice.wait_for(
            lambda m, c=contact: m.room_id == dm and m.sender == bot.user_id
            and c.user_id in m.body and "accepted to be your trusted contact" in m.body, 60)
        assert told.encrypted
    listed = await alice.ask(dm, "!contacts", 60)
    lines = listed.body.splitlines()
    assert any(bob.user_id in line and line.endswith(": accepted") for line in lines), lines
    assert any(carol.user_id in line and line.endswith(": accepted") for line in lines), lines
    assert any(dave.user_id in line and "not accepted yet" in line for line in lines), lines
    # What Alice saw from the bot in her DM, in order: nothing about Dave accepting.
    seen = [m.body for m in alice.received if m.room_id == dm and m.sender == bot.user_id]
    assert not [body for body in seen if dave.user_id in body and "accepted to be" in body]
    assert sum("accepted to be your trusted contact" in body for body in seen) == 2
