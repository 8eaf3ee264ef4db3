"""The journeys of issue 16 (items 3, 4 and 8) as members live them, over real E2EE.

Help that fits the reader, forgiving time input, and no silent dead ends:
each test plays a journey against a real Synapse with scripted members
whose clients decrypt what the bot sends, and asserts on that whole
exchange. Contacts, onboarding and alerts (items 5 to 7) have their own
modules (test_checkins*.py, test_onboarding.py, test_alerts.py).

The bot's clock is a ManualClock: the deadlines shown are exact, and the
unencrypted room's one-minute spacing is crossed without waiting a minute.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from bidi import get_display

from bots.admin import AdminPlugin
from bots.alerts import AlertsPlugin
from bots.checkins import CheckinsPlugin
from bots.moderation import ModerationPlugin
from bots.onboarding import OnboardingPlugin
from bots.resources import ResourcesPlugin
from core.clock import ManualClock
from core.config import Config
from core.homeserver import LocalSynapse
from core.i18n import LRI, PDI
from core.matrix.member import Member, Received
from core.network import NetworkRole
from tests.integration.conftest import room_with_bot, unique
from tests.integration.moderation_helpers import add_member, set_levels, until
from tests.integration.test_checkins import ClockedBot

pytestmark = pytest.mark.integration

MakeBot = Callable[..., Awaitable[ClockedBot]]
MakeMember = Callable[..., Awaitable[Member]]

ALL_PLUGINS = [AdminPlugin, CheckinsPlugin, ResourcesPlugin, OnboardingPlugin, ModerationPlugin,
               AlertsPlugin]

# 2023-11-14 22:13:20 UTC, 00:13 on the 15th in Beirut (UTC+2 in November): the
# ManualClock's default start, so every deadline below is known to the minute.
NOW = 1_700_000_000.0

# A command as a member types it: `!` and a lower-case Latin word.
COMMAND = re.compile(r"![a-z][a-z_]*")
# The same with the arguments that follow it, in any script: `!suggest <رابط> [ملاحظة]`.
TYPED = re.compile(r"![a-z][a-z_]*(?: <[^<>\s]+>| \[[^\[\]\s]+\])*")
HIDDEN = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f"))


@pytest.fixture
async def make_journey_bot(
    synapse: LocalSynapse, tmp_path: Path
) -> AsyncIterator[MakeBot]:
    """Bots with every real plugin (or those given) on a ManualClock at NOW."""
    bots: list[ClockedBot] = []

    async def factory(*, plugins: list[Any] | None = None, **bot_options: Any) -> ClockedBot:
        name = unique("jbot")
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
            # The clock stands still, so a rate limit window would never end.
            "bot": {"invites": {"allowed_servers": ["localhost"]},
                    "rate_limit": {"commands": 10_000, "window_seconds": 1}, **bot_options},
            # nio test members are not cross-signed (test_trust.py covers the real policy).
            "crypto": {"trust": "all"},
        })
        running = ClockedBot(config, plugins or ALL_PLUGINS, clock=ManualClock(NOW))
        bots.append(running)
        await running.start()
        return running

    try:
        yield factory
    finally:
        for running in bots:
            await running.stop()


# -- helpers -------------------------------------------------------------------------


async def dm_room(member: Member, bot: ClockedBot) -> str:
    """A direct chat as Element makes one: encrypted, unnamed, the member and the bot."""
    room = await member.create_room(invite=[bot.user_id], name="")
    await member.wait_member(room, bot.user_id)
    assert bot.bot is not None
    dms = bot.bot.dms

    async def bot_takes_it_for_a_dm() -> bool:
        return dms.is_dm(room)

    await until(bot_takes_it_for_a_dm)
    return room


async def group_room(owner: Member, bot: ClockedBot, *others: Member,
                     encrypted: bool = True) -> str:
    """A named room `owner` admins, with the bot and `others` joined (so never a DM)."""
    room = await room_with_bot(owner, bot, encrypted=encrypted)
    for member in others:
        await add_member(owner, room, member, bot)
    return room


async def answer(member: Member, room: str, body: str) -> str:
    """What the member's client shows as the bot's reply, after checking it was encrypted."""
    reply = await member.ask(room, body, 60)
    assert reply.encrypted, f"the reply to {body!r} was not encrypted"
    return reply.body


def sections(help_body: str) -> dict[str, list[str]]:
    """`!help`'s groups: each title line (ends with a colon) and the commands described under it."""
    found: dict[str, list[str]] = {}
    title = ""
    for line in help_body.split("\n"):
        plain = line.translate(HIDDEN).strip()
        if plain.startswith("•"):
            command = COMMAND.search(plain)
            assert command is not None, f"a help line without a command: {plain!r}"
            found[title].append(command.group(0))
        elif plain.endswith(":"):
            title = plain
            found[title] = []
    return {title: names for title, names in found.items() if names}  # not the header


def shown_as_typed(body: str) -> list[str]:
    """The commands of an Arabic body that would not read as typed ([] when all do).

    A command must be a contiguous Latin run opened by a left-to-right isolate
    (LRI ... PDI; a `code span` holding it may be the isolated unit), and with its
    arguments (`!checkin <متى>`, `!suggest <رابط> [ملاحظة]`)
    it must come out of the Unicode bidi algorithm, which lays each line out from
    its first strong character as Element's dir=auto does, as it does on its own.
    """
    wrong = []
    for line in body.split("\n"):
        for match in COMMAND.finditer(line):
            start = match.start()
            if line[start - 1:start] == "`":  # a code span is isolated as a whole
                start -= 1
            if line[start - 1:start] != LRI or PDI not in line[match.end():]:
                wrong.append(f"{match.group(0)} not isolated in {line!r}")
        plain = line.translate(HIDDEN)
        shown = get_display(line).translate(HIDDEN)
        for typed in TYPED.findall(plain):
            if get_display(LRI + typed + PDI).translate(HIDDEN) not in shown:
                wrong.append(f"{typed} shown as {shown!r}")
    return wrong


# -- item 3: help that fits the reader ------------------------------------------------

STAFF_COMMANDS = ("!alert", "!rollcall", "!network", "!modroom", "!config", "!enable",
                  "!disable", "!plugins", "!ban", "!kick", "!mute", "!warn", "!onboarding")


async def test_help_fits_the_newcomer_and_a_dm_forgives_the_form(
    make_journey_bot: MakeBot, make_member: MakeMember,
) -> None:
    organizer, owner, newcomer, arabic = (await make_member(), await make_member(),
                                          await make_member(), await make_member())
    bot = await make_journey_bot(roles={"organizers": [organizer.user_id]})
    organizers_room = await room_with_bot(organizer, bot)
    assert bot.bot is not None
    await bot.bot.runtime.network.set_role_room(NetworkRole.ORGANIZER, organizers_room)
    room = await group_room(owner, bot)
    assert "onboarding" in await answer(owner, room, "!enable onboarding")
    await add_member(owner, room, newcomer, bot)
    await add_member(owner, room, arabic, bot)

    # A newcomer in a group room: what this room offers them, grouped by purpose,
    # the most useful first; nothing for staff or organizers.
    shown = await answer(newcomer, room, "!help")
    assert shown.startswith("Commands you can use here:")
    groups = sections(shown)
    assert list(groups) == ["This room:", "Finding help:", "This bot:"]
    assert groups["This room:"][:2] == ["!rules", "!agree"]
    assert not set(COMMAND.findall(shown)) & set(STAFF_COMMANDS)
    # Private commands answer in the DM: named on one line, not described here.
    private = next(line for line in shown.split("\n") if line.startswith("Privately"))
    assert "!checkin" in private and "!find" in private
    assert "!checkin" not in [name for names in groups.values() for name in names]

    # The same room's admin and the organizers (in their room) are offered theirs,
    # so what the newcomer was not shown is there to be left out.
    admin_groups = sections(await answer(owner, room, "!help"))
    title, names = next(iter(admin_groups.items()))
    assert title == "Moderating (room settings, members):" and {"!enable", "!config"} <= set(names)
    organizer_groups = sections(await answer(organizer, organizers_room, "!help"))
    title, names = next(iter(organizer_groups.items()))
    assert title == "Organizing (alerts, roll calls, the network):" and names[0] == "!alert"
    # Nor are the organizers walked through their own check-ins there (named only).
    described = {name for names in organizer_groups.values() for name in names}
    assert not {"!checkin", "!duress", "!safepin"} & described

    # A group room stays strict: a plain "help" is talk between members. The lane
    # handles a member's messages in order, so once the `!help` after it is answered,
    # an answer to "help" would have been sent before.
    plain_help = await newcomer.send(room, "help")
    assert (await answer(newcomer, room, "!help")) == shown
    await bot.idle()
    assert not [m for m in newcomer.received if m.reply_to == plain_help]

    # In the DM the form is forgiven, and safety comes first.
    dm = await dm_room(newcomer, bot)
    for typed in ("help", "Help?", "! help"):
        in_dm = await answer(newcomer, dm, typed)
        assert in_dm.startswith("Commands you can use here:"), typed
        title, names = next(iter(sections(in_dm).items()))
        assert title == "Staying safe (check-ins, PINs, contacts):", typed
        assert names[0] == "!checkin", typed
        assert not set(COMMAND.findall(in_dm)) & set(STAFF_COMMANDS), typed

    # An Arabic reader: the same commands, in Arabic, each as it must be typed.
    assert "بالعربية" in await answer(arabic, room, "!language ar")
    in_arabic = await answer(arabic, room, "!help")
    assert in_arabic.translate(HIDDEN).startswith("الأوامر التي يمكنك استخدامها هنا:")
    assert next(iter(sections(in_arabic))) == "هذه الغرفة:"
    assert set(COMMAND.findall(in_arabic)) == set(COMMAND.findall(shown))
    # `!help checkin` lists its two forms, starting one as typed (no `start` word).
    usage = await answer(arabic, room, "!help checkin")
    lines = [line.translate(HIDDEN) for line in usage.split("\n")]
    assert any(line.startswith("• !checkin <متى> — ") for line in lines), lines
    assert any(line.startswith("• !checkin status — ") for line in lines), lines
    wrong = shown_as_typed(usage) + shown_as_typed(in_arabic)
    assert not wrong, "\n".join(wrong)


# -- item 4: forgiving input ----------------------------------------------------------


async def checkin_set(member: Member, dm: str, typed: str, deadline: str) -> None:
    """`typed` starts a check-in whose answer shows `deadline`; it is then cancelled."""
    reply = await answer(member, dm, typed)
    assert deadline in reply.translate(HIDDEN), f"{typed!r}: {reply!r}"
    cancelled = await answer(member, dm, "!cancel")
    assert "Nobody was alerted" in cancelled or "لم يُنبَّه أحد" in cancelled


async def test_checkin_reads_spoken_times_and_timezone_reads_a_city(
    make_journey_bot: MakeBot, make_member: MakeMember,
) -> None:
    bot = await make_journey_bot(plugins=[AdminPlugin, CheckinsPlugin])
    # 06:13 on 15 November in Beirut: "6pm" is today, and "tomorrow 9:00" the 16th
    # (where 9:00 alone would be today).
    await bot.advance(6 * 3600)
    alice, rania = await make_member(), await make_member()
    dm = await dm_room(alice, bot)

    # A time of day needs a zone: the member is asked for a city, nothing is set.
    first = await answer(alice, dm, "!checkin 6pm")
    assert "!timezone Beirut" in first and "Nothing was set" in first
    zone = await answer(alice, dm, "!timezone Beirut")
    assert zone == "Timezone set to Asia/Beirut. It is now 06:13 (Asia/Beirut)."

    await checkin_set(alice, dm, "!checkin 2 hours", "by 08:13 (Asia/Beirut) (in 2 h)")
    await checkin_set(alice, dm, "!checkin 6pm", "by 18:00 (Asia/Beirut) (in 11 h 46 min)")
    await checkin_set(alice, dm, "!checkin tomorrow 9:00 at the station",
                      "by 2023-11-16 09:00 (Asia/Beirut) (in 1 day 2 h)")

    # A bare number is neither: refused with the forms that are read, and nothing set.
    refused = await answer(alice, dm, "!checkin 2")
    assert "Check-in set" not in refused
    for form in ("2 hours", "half an hour", "18:30", "6pm", "tomorrow 9:00"):
        assert form in refused, form
    assert await answer(alice, dm, "!checkin status") == "You have no check-in running."
    # Without an argument: its usage, with the argument named.
    missing = await answer(alice, dm, "!checkin")
    assert "!checkin <when>" in missing

    # The same in Arabic: a city in Arabic script, spoken durations and times.
    dm_ar = await dm_room(rania, bot)
    assert "بالعربية" in await answer(rania, dm_ar, "!language ar")
    missing_ar = await answer(rania, dm_ar, "!checkin")
    assert "<متى>" in missing_ar and "when" not in missing_ar
    zone_ar = await answer(rania, dm_ar, "!timezone بيروت")
    assert "تم تعيين المنطقة الزمنية إلى Asia/Beirut" in zone_ar.translate(HIDDEN)
    await checkin_set(rania, dm_ar, "!checkin ساعتين", "08:13 (Asia/Beirut)")
    await checkin_set(rania, dm_ar, "!checkin الساعة 6 مساءً", "18:00 (Asia/Beirut)")
    await checkin_set(rania, dm_ar, "!checkin غداً 9:00", "2023-11-16 09:00 (Asia/Beirut)")
    refused_ar = await answer(rania, dm_ar, "!checkin 2")
    assert "تم التسجيل" not in refused_ar and "نصف ساعة" in refused_ar and "18:30" in refused_ar
    wrong = shown_as_typed(missing_ar) + shown_as_typed(refused_ar)
    assert not wrong, "\n".join(wrong)


# -- item 8: no silent dead ends -------------------------------------------------------


async def handled(bot: ClockedBot, event_id: str) -> None:
    """Wait until the bot has handled `event_id` and sent whatever it answered."""
    assert bot.bot is not None
    db = bot.bot.db

    async def done() -> bool:
        return await db.fetchone(
            "SELECT 1 FROM core_handled_events WHERE event_id = ?", (event_id,)) is not None

    await until(done)
    await bot.idle()


async def caught_up(reader: Member, writer: Member, room: str) -> None:
    """Wait until `reader` has everything sent to `room` so far: `writer`'s new message.

    A room's timeline is one order, so an answer the bot sent before it (see
    `handled`) has reached the reader too: "nothing came" is then an observation.
    """
    marker = await writer.send(room, f"marker {unique('m')}")
    await reader.wait_for(lambda m: m.event_id == marker, 60)


async def as_moderator(owner: Member, room: str, member: Member, bot: ClockedBot) -> None:
    """Give `member` power level 50 in `room` and wait until the bot reads them as a moderator."""
    await set_levels(owner, room, {member.user_id: 50})
    assert bot.bot is not None
    connection = bot.bot.connection

    async def bot_sees() -> bool:
        return connection.power_level(room, member.user_id) == 50

    await until(bot_sees)


async def test_a_plugin_that_is_off_says_whose_command_it_is_and_who_turns_it_on(
    make_journey_bot: MakeBot, make_member: MakeMember,
) -> None:
    bot = await make_journey_bot()
    owner, member, rania, moderator = (await make_member(), await make_member(),
                                       await make_member(), await make_member())
    room = await group_room(owner, bot, member, rania, moderator)
    await as_moderator(owner, room, moderator, bot)
    off = ("!modroom belongs to the moderation plugin, which is off in this room. "
           "A room admin can turn it on with !enable moderation.")
    assert await answer(member, room, "!modroom") == off
    assert await answer(member, room, "!help modroom") == off

    # In Arabic: the plugin and the command that turns it on, each as typed.
    assert "بالعربية" in await answer(rania, room, "!language ar")
    for typed in ("!report", "!help report"):
        shown = await answer(rania, room, typed)
        plain = shown.translate(HIDDEN)
        assert "!report" in plain and "moderation" in plain and "!enable moderation" in plain
        assert "لا أعرف" not in plain  # not "I don't know the command"
        wrong = shown_as_typed(shown)
        assert not wrong, "\n".join(wrong)

    # Neither a member nor a moderator may turn plugins on here: the refusal names
    # the role that may (a moderator passes !enable's declared role, not its setting).
    for who in (member, moderator):
        assert await answer(who, room, "!enable moderation") == \
            "Sorry, !enable is for room admins only."
    assert await answer(member, room, "!modroom") == off  # still off

    # Once the admin turns it on, the same command is the plugin's own.
    assert "moderation" in await answer(owner, room, "!enable moderation")
    assert await answer(member, room, "!help report") != off
    assert "!report" in await answer(member, room, "!help report")


async def test_an_unencrypted_room_explains_itself_once_to_each_member(
    make_journey_bot: MakeBot, make_member: MakeMember,
) -> None:
    bot = await make_journey_bot(plugins=[AdminPlugin])
    owner, amal, basel = await make_member(), await make_member(), await make_member()
    room = await group_room(owner, bot, amal, basel, encrypted=False)
    explained = "This room is not end-to-end encrypted, so I won't work here"

    def explanations() -> list[Received]:
        return [m for m in amal.received
                if m.sender == bot.user_id and m.room_id == room and explained in m.body]

    # Chatter is not for the bot: nothing.
    await handled(bot, await amal.send(room, "hello everyone"))
    await caught_up(amal, owner, room)
    assert explanations() == []
    # Amal's command is explained (in the clear: the room has no encryption).
    first = await amal.ask(room, "!help", 60)
    assert explained in first.body and not first.encrypted
    # Basel's, a moment later, waits for the room's one-minute spacing...
    early = await basel.send(room, "!help")
    await handled(bot, early)
    await caught_up(amal, owner, room)
    assert [m.reply_to for m in explanations()] == [first.reply_to]
    # ...and is explained on his next command once the minute has passed.
    await bot.advance(61)
    second = await basel.ask(room, "!checkin 2h", 60)
    assert explained in second.body
    # Amal heard it already: her next command, and anyone's chatter, get nothing.
    await handled(bot, await amal.send(room, "!help"))
    await handled(bot, await basel.send(room, "is anyone here?"))
    await caught_up(amal, owner, room)
    assert [m.reply_to for m in explanations()] == [first.reply_to, second.reply_to]
