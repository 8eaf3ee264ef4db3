"""Moderation data at rest: what people typed is sealed in the file, moderators still read it.

Everything goes through the plugin's own paths (commands, a report, a followed
list); the database file is then read the way someone holding a seized disk
would: every text cell of every table with `sqlite3`, and the raw bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.moderation.policy_sync import read_list
from bots.moderation.store import LOG_REASON, REPORT_TARGET, LogEntry
from core.sealed import PREFIX, SealError
from core.testing import PluginHarness
from core.testing.disk import assert_absent, raw_cells
from tests.unit.test_moderation_authority import (
    ATTACKER,
    LIST,
    MEMBER,
    MODS,
    NET,
    NETMOD,
    VICTIM,
    bans,
    plugin,
    posted_to,
    reply,
    report_id,
    running,
    said,
)

BAN_REASON = "threatened Yasmin outside the Karam shelter"
WARN_REASON = "stop messaging Rania about her asylum case"
REPORTED_TEXT = "I know where Huda sleeps now, the blue door on Nour street"
REPORT_REASON = "stalking Huda since the vigil"
POLICY_REASON = "doxxed Samira's home address"
STALKER = "@stalker:evil.org"


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with running(tmp_path) as h:
        yield h


def db_file(bot: PluginHarness) -> Path:
    return bot.db_path


async def test_mod_log_reasons_are_sealed_and_shown_to_moderators(bot: PluginHarness) -> None:
    assert "Banned" in await reply(bot, NET, ATTACKER, f"!ban {VICTIM} {BAN_REASON}")
    assert "direct message" in await reply(bot, NET, ATTACKER, f"!warn {MEMBER} {WARN_REASON}")
    assert_absent(db_file(bot), BAN_REASON, WARN_REASON)
    reasons = [row[0] for row in sqlite3.connect(db_file(bot)).execute(
        "SELECT reason FROM moderation_log")]
    assert len(reasons) == 2 and all(reason.startswith(PREFIX) for reason in reasons)
    # The moderators read them in clear, the room's and the network's alike.
    for room, who in ((NET, ATTACKER), (MODS, NETMOD)):
        log = await reply(bot, room, who, "!modlog")
        assert BAN_REASON in log and WARN_REASON in log, log


async def test_rows_written_before_sealing_still_read(bot: PluginHarness) -> None:
    await bot.db.execute(
        "INSERT INTO moderation_log (at, room_id, actor, target, action, reason, trigger) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (1.0, NET, ATTACKER, VICTIM, "kick", "old plain", "!kick"))
    assert "old plain" in await reply(bot, NET, ATTACKER, "!modlog")
    # A sealed reason moved to another column does not open there.
    sealed = bot.runtime.sealer.seal("x", context=LOG_REASON)
    with pytest.raises(SealError):
        bot.runtime.sealer.open(sealed, context=REPORT_TARGET)
    entry = LogEntry(2.0, NET, ATTACKER, VICTIM, "ban", "", "!ban")
    await plugin(bot).store.log(entry)  # no reason: stored empty, shown as "-"
    assert [e.reason for e in await plugin(bot).store.recent_log(VICTIM, 5)] == ["", "old plain"]


async def test_a_report_leaves_no_reporter_excerpt_reason_or_target_readable(
        bot: PluginHarness) -> None:
    await bot.join(NET, STALKER)
    nasty = await said(bot, NET, STALKER, REPORTED_TEXT)
    answers = await bot.send(NET, MEMBER, f"!report {REPORT_REASON}", reply_to=nasty)
    assert answers.replies == []
    # The moderators got all of it, in their encrypted room.
    [posted] = [body for body in posted_to(bot, MODS) if REPORTED_TEXT in body]
    assert REPORT_REASON in posted and MEMBER in posted and STALKER in posted
    path = db_file(bot)
    assert_absent(path, REPORTED_TEXT, REPORT_REASON)
    # Neither who reported nor who was reported, nor which message, in the report's row.
    report_cells = raw_cells(path, "moderation_reports")
    assert report_cells, "the report is stored"
    for value in (MEMBER, STALKER, nasty):
        assert not any(value in cell for cell in report_cells), value
    assert not any(MEMBER in cell for table in ("moderation_log", "moderation_state",
                                                "moderation_strikes")
                   for cell in raw_cells(path, table))
    # The plugin still knows whom a moderator's reaction acts on.
    report = await report_id(bot)
    await bot.react(MODS, NETMOD, report, "🔨")
    assert (NET, STALKER) in bans(bot)
    await bot.react(MODS, NETMOD, report, "🗑️")  # closed: nothing more happens
    assert ("redact", NET, nasty) not in bot.homeserver.calls


async def test_a_reported_message_is_redacted_through_the_sealed_event_id(
        bot: PluginHarness) -> None:
    await bot.join(NET, STALKER)
    nasty = await said(bot, NET, STALKER, REPORTED_TEXT)
    await bot.send(NET, MEMBER, "!report", reply_to=nasty)
    await bot.react(MODS, NETMOD, await report_id(bot), "🗑️")
    assert ("redact", NET, nasty) in bot.homeserver.calls


async def test_policy_rule_reasons_are_sealed_and_reload(bot: PluginHarness) -> None:
    bot.homeserver.room(LIST).state[("m.policy.rule.user", "rule:1")] = {
        "entity": "@doxxer:evil.org", "recommendation": "m.ban", "reason": POLICY_REASON}
    assert "Following" in await reply(bot, MODS, NETMOD, f"!policy subscribe {LIST}")
    assert_absent(db_file(bot), POLICY_REASON)
    [rule] = await plugin(bot).store.rules()
    assert rule.reason == POLICY_REASON and rule.entity == "@doxxer:evil.org"
    # A restart reads the same rule back in clear: the next read of the list (before the
    # first sync's, which `ready` would do) changes nothing.
    await bot.restart(ready=False)
    [rule] = await plugin(bot).store.rules()
    assert rule.reason == POLICY_REASON
    result = await plugin(bot).policy.apply(LIST, read_list(
        LIST, await bot.homeserver.room_state(LIST)))
    assert result.added == [] and result.removed == []
