"""A test kit for plugins: the real bot on a homeserver in memory and a clock that waits.

`PluginHarness` runs the plugins under test with the bot's own Dispatcher,
storage (SQLite in the test's folder), room settings, DMs, network and
authority, scheduler and outbox; `MemoryHomeserver` stands in for Matrix and
records everything the bot sent (`Sent`: room, type, content, transaction
id) and every other action (`Call`: redactions, state, bans, levels...).
Time is a ManualClock: nothing scheduled happens until the test advances it.

Example (a pytest test; `asyncio_mode = "auto"`)::

    from core.testing import PluginHarness
    from solidarity_greeter import GreeterPlugin

    ROOM, ALICE, MOD = "!room:test", "@alice:test", "@mod:test"

    async def test_a_moderator_changes_the_greeting(tmp_path):
        async with PluginHarness(GreeterPlugin, data_dir=tmp_path) as h:
            h.room(ROOM, {ALICE: 0, MOD: 50})
            assert (await h.reply(ROOM, ALICE, "!greet")).plain == "Hello, @alice:test!"
            await h.runtime.settings.set_value(ROOM, GreeterPlugin, "greeting", "Salaam")
            answer = await h.reply(ROOM, ALICE, "!greet Sam")
            assert answer.plain == "Salaam, Sam!"
            assert answer.in_reply_to == h.homeserver.room(ROOM).events[-1].event_id
            await h.set_language(ALICE, "ar")
            assert "Sam" in (await h.reply(ROOM, ALICE, "!greet Sam")).plain

Members act with `send` (any message or command), `reply` (exactly one
message expected), `answer` (the one reply, others may be told too),
`react`, `redact`, `join`, `leave`, `set_state`, `media`; each returns the
`Answers` the bot sent meanwhile, outbox deliveries included (`send(...,
settle=False)`: without waiting for deliveries); `private(user)` is what
the bot told a member in their DMs.
Roles: power levels per room (`room(id, {user: level})`,
`set_level`), network roles from config (`config={"bot": {"roles":
{"organizers": [...]}}, "network": {"moderators_room": ...}}`). Time:
`advance(seconds)` fires due jobs and delivers queued sends; `restart()`
starts a new bot process on the same database and homeserver.
`core.testing.disk` reads the database file as someone holding a seized disk
would (`assert_absent(h.db_path, "a sealed text")`).
"""

from core.testing.harness import BOT, START, Answers, PluginHarness, wait_for
from core.testing.homeserver import Call, MemoryHomeserver, Room, Sent

__all__ = ["BOT", "START", "Answers", "Call", "MemoryHomeserver", "PluginHarness", "Room", "Sent",
           "wait_for"]
