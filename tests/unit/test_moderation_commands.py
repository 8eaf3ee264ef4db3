"""Moderation's commands on the plugin SDK: groups keep their words, the guard is declared once.

`!policy`, `!filters` and `!raid` became command groups; typed alone they
still do what they always did. Who may command moderation where (`reaches`)
is a check on every moderators' command rather than a line in each handler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.moderation.access import MODERATORS, reaches
from bots.moderation.messages import CATALOG
from tests.unit.test_moderation_authority import (
    EVIL,
    LIST,
    MODS,
    NET,
    NETMOD,
    VICTIM,
    Bot,
    start,
)

MODERATOR = "@attacker:evil.org"  # a moderator of NET (level 50), admin of EVIL


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start(tmp_path)
    try:
        yield running
    finally:
        await running.runtime.db.close()


def en(key: str) -> str:
    return CATALOG.text(key, "en")


async def test_groups_typed_alone_do_what_they_always_did(bot: Bot) -> None:
    assert await bot.reply(NET, MODERATOR, "!raid") == en("no_raid")
    assert await bot.reply(NET, MODERATOR, "!raid status") == en("no_raid")
    assert await bot.reply(NET, MODERATOR, "!filters") == en("rules_empty")
    listed = await bot.reply(NET, MODERATOR, "!policy")
    assert listed == await bot.reply(NET, MODERATOR, "!policy list")
    assert en("own_list_none") in listed


async def test_filters_add_and_remove_by_subcommand(bot: Bot) -> None:
    assert "1" in await bot.reply(NET, MODERATOR, "!filters add word scam link")
    assert "scam link" in await bot.reply(NET, MODERATOR, "!filters")
    # Missing kind or text: told how to write it, nothing stored.
    assert await bot.reply(NET, MODERATOR, "!filters add word") == en("rules_usage")
    assert await bot.reply(NET, MODERATOR, "!filters remove") == en("rules_usage")
    assert "0" in await bot.reply(NET, MODERATOR, "!filters remove word 1")
    assert await bot.reply(NET, MODERATOR, "!filters") == en("rules_empty")


async def test_an_unknown_subcommand_lists_the_ones_there_are(bot: Bot) -> None:
    answer = await bot.reply(NET, MODERATOR, "!raid maybe")
    assert "maybe" in answer and "raid on" in answer and "raid off" in answer


async def test_every_moderators_command_is_guarded_by_the_same_check(bot: Bot) -> None:
    commands = {spec.path: spec for spec in type(bot.plugin).commands()}
    guarded = {path for path, spec in commands.items() if reaches in spec.checks}
    assert {"ban", "unban", "kick", "mute", "unmute", "redact", "warn", "modlog", "raid on",
            "raid off", "raid status", "policy list", "policy subscribe", "policy publish",
            "policy unsubscribe"} <= guarded
    assert MODERATORS["checks"] == (reaches,)
    # A network moderator outside the network's rooms is refused by it, before anything.
    for line in ("!raid on", f"!ban {VICTIM}", f"!policy subscribe {LIST}", "!modlog"):
        assert await bot.reply(EVIL, NETMOD, line) == en("network_rooms_only"), line
    assert bot.hs.calls == []
    # In the moderators' room, the same person reads the network's log.
    assert await bot.reply(MODS, NETMOD, "!modlog") == en("modlog_empty")


async def test_a_bad_target_is_a_usage_error_naming_the_form(bot: Bot) -> None:
    answer = await bot.reply(NET, MODERATOR, "!ban alice spam")
    assert "Matrix user id written in full" in answer and "!ban <user> [reason]" in answer
    assert bot.hs.calls == []
    # `--all` before the user is read as the flag, not as the user.
    answer = await bot.reply(NET, MODERATOR, f"!kick --all {VICTIM}")
    assert "Only the network's moderators" in answer
